//! Comparisons narrowed below 64 bits (the `comparison_bits` of each step): the three
//! parties agree with the cleartext twin at the same widths, a width that holds the
//! values computes exactly what the 64-bit program does with fewer rounds and bytes,
//! and outside its range both the twin and the secure run read the wrapped sign.

mod common;
use common::random;

use cryptflow_compiler::{compile, Compiled};
use cryptflow_ir::{ConvAttrs, Graph, Op, PoolAttrs};
use cryptflow_net::MemoryTransport;
use cryptflow_ring::{Prg, Seed, Tensor};
use cryptflow_runtime::{plain, run_client, run_helper, run_model_owner, Prediction};

/// x [1, 2, 6, 6] → conv 3×3 (3 ch) → relu → maxpool 2×2 → clip [−1, 2] → leaky relu
/// → flatten → gemm (→ 4): every comparing kernel.
fn model() -> Graph {
    let mut prg = Prg::new(Seed::from_u64(5));
    let mut g = Graph::default();
    let x = g.add_value("x", Some(vec![1, 2, 6, 6]));
    let mut constant = |g: &mut Graph, name: &str, shape: Vec<usize>| {
        let n = shape.iter().product();
        let id = g.add_value(name, None);
        let data = random(&mut prg, n, 1.0);
        g.constants
            .insert(id, Tensor::new(shape, data).expect("sized"));
        id
    };
    let w = constant(&mut g, "w", vec![3, 2, 3, 3]);
    let fc = constant(&mut g, "fc", vec![4, 27]);
    let names = ["conv", "relu", "pool", "clip", "leaky", "flat", "fc"];
    let v: Vec<usize> = names.iter().map(|n| g.add_value(*n, None)).collect();
    let ops = [
        (
            Op::Conv(ConvAttrs {
                kernel: [3, 3],
                strides: [1, 1],
                pads: [1; 4],
                dilations: [1, 1],
                groups: 1,
            }),
            vec![x, w],
        ),
        (Op::Relu, vec![v[0]]),
        (
            Op::MaxPool(PoolAttrs {
                kernel: [2, 2],
                strides: [2, 2],
                pads: [0; 4],
                ceil_mode: false,
            }),
            vec![v[1]],
        ),
        (
            Op::Clip {
                min: Some(-1.0),
                max: Some(2.0),
            },
            vec![v[2]],
        ),
        (Op::LeakyRelu { alpha: 0.1 }, vec![v[3]]),
        (Op::Flatten { axis: 1 }, vec![v[4]]),
        (
            Op::Gemm(cryptflow_ir::GemmAttrs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            }),
            vec![v[5], fc],
        ),
    ];
    common::push_nodes(&mut g, &names, &v, ops.into());
    g.input = x;
    g.output = v[6];
    g
}

/// The model compiled at scale 12 with every comparison at `bits`.
fn compiled_at(bits: u32) -> Compiled {
    let mut compiled = compile(model(), 12).expect("compiles");
    for ins in &mut compiled.program.instructions {
        if ins.kernel.compares() {
            ins.comparison_bits = bits;
        }
    }
    compiled.program.validate().expect("valid");
    compiled
}

fn input(scale: f32) -> Tensor<f32> {
    let data = random(&mut Prg::new(Seed::from_u64(9)), 72, scale);
    Tensor::new(vec![1, 2, 6, 6], data).expect("sized")
}

fn secure(compiled: &Compiled, input: &Tensor<f32>) -> Prediction {
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    let (program, weights) = (compiled.program.clone(), compiled.weights.clone());
    let owner = std::thread::spawn(move || run_model_owner(&mut t0, &program, &weights));
    let helper = std::thread::spawn(move || run_helper(&mut t2));
    let prediction = run_client(&mut t1, input).expect("client");
    owner.join().expect("thread").expect("owner");
    helper.join().expect("thread").expect("helper");
    prediction
}

fn twin(compiled: &Compiled, input: &Tensor<f32>) -> Vec<f32> {
    let encoded = cryptflow_runtime::encode_input(&compiled.program, input).expect("encodes");
    let out = plain::run(&compiled.program, &compiled.weights, encoded);
    cryptflow_runtime::decode_output(&compiled.program, &out).into_data()
}

fn assert_close(secure: &[f32], twin: &[f32]) {
    for (s, t) in secure.iter().zip(twin) {
        assert!((s - t).abs() < 1e-2, "{secure:?} vs {twin:?}");
    }
}

#[test]
fn the_graph_has_every_comparing_kernel() {
    let compiled = compiled_at(64);
    let comparing: Vec<&str> = compiled
        .program
        .instructions
        .iter()
        .filter(|i| i.kernel.compares())
        .map(|i| i.kernel.name())
        .collect();
    assert_eq!(comparing, ["Relu", "MaxPool", "Clip", "LeakyRelu"]);
}

#[test]
fn a_width_that_holds_the_values_computes_the_exact_program_with_less() {
    // Inputs below 2, weights below 0.5: every compared value is far below 2^(31 − 12).
    let x = input(4.0);
    let (exact, narrow) = (compiled_at(64), compiled_at(32));
    assert_eq!(
        twin(&narrow, &x),
        twin(&exact, &x),
        "the twins agree bit for bit"
    );
    let (wide, thin) = (secure(&exact, &x), secure(&narrow, &x));
    assert_close(thin.output.data(), &twin(&narrow, &x));
    assert_close(wide.output.data(), &twin(&exact, &x));
    // Relu, MaxPool (two levels), Clip, LeakyRelu: five selects, one round fewer each.
    assert_eq!(wide.report.rounds - thin.report.rounds, 5);
    let sent = |p: &Prediction| p.report.comm.bytes_sent;
    assert!(
        sent(&thin) * 10 < sent(&wide) * 8,
        "{} vs {} bytes",
        sent(&thin),
        sent(&wide)
    );
}

#[test]
fn outside_its_range_a_narrow_width_is_wrong_alike_in_the_twin_and_the_secure_run() {
    // At 8 bits and scale 12 every value of magnitude ≥ 2^−5 wraps: the twin shows it,
    // and the secure run computes what the twin says, not the exact result.
    let x = input(4.0);
    let (exact, narrow) = (compiled_at(64), compiled_at(8));
    assert_ne!(twin(&narrow, &x), twin(&exact, &x));
    assert_close(secure(&narrow, &x).output.data(), &twin(&narrow, &x));
}
