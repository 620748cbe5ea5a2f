//! A small CNN with every kernel, run by the three parties on threads over the
//! in-memory transport, against the cleartext twin and an independent float reference.

mod common;
use common::random;
use cryptflow_compiler::compile;
use cryptflow_ir::{ConvAttrs, GemmAttrs, Graph, Op, PoolAttrs};
use cryptflow_net::MemoryTransport;
use cryptflow_ring::{Prg, Seed, Tensor};
use cryptflow_runtime::{plain, run_client, run_helper, run_model_owner, RuntimeError};

fn conv_attrs(k: usize, pad: usize, groups: usize) -> ConvAttrs {
    ConvAttrs {
        kernel: [k, k],
        strides: [1, 1],
        pads: [pad; 4],
        dilations: [1, 1],
        groups,
    }
}

/// input [1,2,8,8] → conv 3x3 (4 ch, bias) → relu → maxpool 3x3 s2 p1 → depthwise conv
/// → add (skip) → avgpool 2x2 → flatten → gemm (→ 5, bias) → add constant.
fn model(seed: u64) -> Graph {
    let mut prg = Prg::new(Seed::from_u64(seed));
    let mut g = Graph::default();
    let mut constant = |g: &mut Graph, name: &str, shape: Vec<usize>, scale: f32| {
        let n = shape.iter().product();
        let id = g.add_value(name, None);
        g.constants.insert(
            id,
            Tensor::new(shape, random(&mut prg, n, scale)).expect("sized"),
        );
        id
    };
    let x = g.add_value("x", Some(vec![1, 2, 8, 8]));
    let w1 = constant(&mut g, "w1", vec![4, 2, 3, 3], 1.0);
    let b1 = constant(&mut g, "b1", vec![4], 0.5);
    let w2 = constant(&mut g, "w2", vec![4, 1, 3, 3], 1.0);
    let w3 = constant(&mut g, "w3", vec![5, 16], 1.0);
    let b3 = constant(&mut g, "b3", vec![5], 0.5);
    let c = constant(&mut g, "c", vec![1, 5], 0.5);
    let names = [
        "conv1", "relu", "pool", "dw", "add", "avg", "flat", "fc", "out",
    ];
    let v: Vec<usize> = names.iter().map(|n| g.add_value(*n, None)).collect();
    let pool = |k, s, p| PoolAttrs {
        kernel: [k, k],
        strides: [s, s],
        pads: [p; 4],
        ceil_mode: false,
    };
    let ops = [
        (Op::Conv(conv_attrs(3, 1, 1)), vec![x, w1, b1]),
        (Op::Relu, vec![v[0]]),
        (Op::MaxPool(pool(3, 2, 1)), vec![v[1]]),
        (Op::Conv(conv_attrs(3, 1, 4)), vec![v[2], w2]),
        (Op::Add, vec![v[3], v[2]]),
        (
            Op::AveragePool {
                attrs: pool(2, 2, 0),
                count_include_pad: false,
            },
            vec![v[4]],
        ),
        (Op::Flatten { axis: 1 }, vec![v[5]]),
        (
            Op::Gemm(GemmAttrs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            }),
            vec![v[6], w3, b3],
        ),
        (Op::Add, vec![v[7], c]),
    ];
    common::push_nodes(&mut g, &names, &v, ops.into());
    g.input = x;
    g.output = v[8];
    g
}

/// Runs the three parties on threads; returns the client's output.
fn secure(
    compiled: &cryptflow_compiler::Compiled,
    input: &Tensor<f32>,
) -> Result<Vec<f32>, RuntimeError> {
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    let (program, weights) = (compiled.program.clone(), compiled.weights.clone());
    let owner = std::thread::spawn(move || run_model_owner(&mut t0, &program, &weights));
    let helper = std::thread::spawn(move || run_helper(&mut t2));
    let prediction = run_client(&mut t1, input);
    // A failed client hangs up, as its process would by exiting.
    drop(t1);
    let (owner, helper) = (
        owner.join().expect("P0 thread"),
        helper.join().expect("P2 thread"),
    );
    let output = prediction?.output.into_data();
    owner?;
    helper?;
    Ok(output)
}

/// Independent float reference, written from the operator definitions.
mod reference {
    // The reference spells out every dimension rather than sharing the geometry type
    // under test.
    #[allow(clippy::too_many_arguments)]
    pub fn conv(
        x: &[f32],
        c: usize,
        h: usize,
        w: usize,
        wt: &[f32],
        m: usize,
        k: usize,
        pad: usize,
        groups: usize,
    ) -> Vec<f32> {
        let cg = c / groups;
        let mut out = vec![0.0; m * h * w];
        for o in 0..m {
            let g = o / (m / groups);
            for y in 0..h {
                for xx in 0..w {
                    let mut acc = 0.0;
                    for ci in 0..cg {
                        for ky in 0..k {
                            for kx in 0..k {
                                let (iy, ix) = (
                                    y as isize + ky as isize - pad as isize,
                                    xx as isize + kx as isize - pad as isize,
                                );
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    acc += x[((g * cg + ci) * h + iy as usize) * w + ix as usize]
                                        * wt[((o * cg + ci) * k + ky) * k + kx];
                                }
                            }
                        }
                    }
                    out[(o * h + y) * w + xx] = acc;
                }
            }
        }
        out
    }
}

fn float_forward(g: &Graph, x: &[f32]) -> Vec<f32> {
    let k = |name: &str| {
        let id = g.values.iter().position(|v| v.name == name).expect("named");
        g.constants[&id].data().to_vec()
    };
    let mut a = reference::conv(x, 2, 8, 8, &k("w1"), 4, 3, 1, 1);
    let b1 = k("b1");
    a.iter_mut()
        .enumerate()
        .for_each(|(i, v)| *v = (*v + b1[i / 64]).max(0.0));
    let mut p = vec![f32::MIN; 4 * 16];
    for c in 0..4 {
        for y in 0..4 {
            for xx in 0..4 {
                for dy in 0..3 {
                    for dx in 0..3 {
                        let (iy, ix) = ((2 * y + dy) as isize - 1, (2 * xx + dx) as isize - 1);
                        if (0..8).contains(&iy) && (0..8).contains(&ix) {
                            let v = a[(c * 8 + iy as usize) * 8 + ix as usize];
                            p[(c * 4 + y) * 4 + xx] = p[(c * 4 + y) * 4 + xx].max(v);
                        }
                    }
                }
            }
        }
    }
    let d = reference::conv(&p, 4, 4, 4, &k("w2"), 4, 3, 1, 4);
    let s: Vec<f32> = d.iter().zip(&p).map(|(a, b)| a + b).collect();
    let mut avg = [0.0; 16];
    for c in 0..4 {
        for y in 0..2 {
            for xx in 0..2 {
                let at = |dy: usize, dx: usize| s[(c * 4 + 2 * y + dy) * 4 + 2 * xx + dx];
                avg[(c * 2 + y) * 2 + xx] = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0;
            }
        }
    }
    let (w3, b3, c) = (k("w3"), k("b3"), k("c"));
    (0..5)
        .map(|o| (0..16).map(|i| avg[i] * w3[o * 16 + i]).sum::<f32>() + b3[o] + c[o])
        .collect()
}

#[test]
fn secure_run_matches_cleartext_twin_and_float_reference() {
    for seed in 1..4 {
        let graph = model(seed);
        let compiled = compile(graph.clone(), 12).expect("compiles");
        let input = Tensor::new(
            vec![1, 2, 8, 8],
            random(&mut Prg::new(Seed::from_u64(seed + 50)), 128, 2.0),
        )
        .expect("sized");
        let secure_out = secure(&compiled, &input).expect("secure run");
        let encoded = cryptflow_runtime::encode_input(&compiled.program, &input).expect("encodes");
        let plain_out = cryptflow_runtime::decode_output(
            &compiled.program,
            &plain::run(&compiled.program, &compiled.weights, encoded),
        );
        let float_out = float_forward(&graph, input.data());
        for i in 0..5 {
            // Truncation differs by at most one unit per truncation between the secure and
            // the cleartext run; a handful of layers keeps that far below 1e-2.
            assert!(
                (secure_out[i] - plain_out.data()[i]).abs() < 1e-2,
                "seed {seed} [{i}]: {secure_out:?} vs {:?}",
                plain_out.data()
            );
            assert!(
                (plain_out.data()[i] - float_out[i]).abs() < 2e-2,
                "seed {seed} [{i}]: {:?} vs {float_out:?}",
                plain_out.data()
            );
        }
    }
}

#[test]
fn wrong_input_shape_is_reported_by_the_client() {
    let compiled = compile(model(1), 12).expect("compiles");
    let input = Tensor::new(vec![1, 3, 8, 8], vec![0.0; 192]).expect("sized");
    let err = secure(&compiled, &input).unwrap_err();
    assert_eq!(
        err.to_string(),
        "the input has shape [1, 3, 8, 8] but the model expects [1, 2, 8, 8]"
    );
}

#[test]
fn non_finite_input_is_rejected() {
    let compiled = compile(model(1), 12).expect("compiles");
    let mut data = vec![0.0; 128];
    data[7] = f32::NAN;
    let input = Tensor::new(vec![1, 2, 8, 8], data).expect("sized");
    let err = cryptflow_runtime::encode_input(&compiled.program, &input).unwrap_err();
    assert!(err.to_string().contains("holds NaN at index 7"), "{err}");
}
