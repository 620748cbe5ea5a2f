//! The kernels of ImageNet-class models (unfoldable BatchNorm as Mul + Add, Clip, LeakyRelu,
//! Concat, Transpose, Pad, Sub, Div, a trailing Softmax) run by the three parties agree
//! with the cleartext twin.

mod common;
use common::random;

use cryptflow_compiler::compile;
use cryptflow_ir::{ConvAttrs, Graph, Node, Op};
use cryptflow_net::MemoryTransport;
use cryptflow_ring::{Prg, Seed, Tensor};
use cryptflow_runtime::{plain, run_client, run_helper, run_model_owner};

fn model() -> Graph {
    let mut prg = Prg::new(Seed::from_u64(77));
    let mut g = Graph::default();
    let mut constant = |g: &mut Graph, shape: Vec<usize>, scale: f32, offset: f32| {
        let n = shape.iter().product();
        let id = g.add_value(format!("k{}", g.values.len()), None);
        let data = random(&mut prg, n, scale)
            .iter()
            .map(|v| v + offset)
            .collect();
        g.constants
            .insert(id, Tensor::new(shape, data).expect("sized"));
        id
    };
    let x = g.add_value("x", Some(vec![1, 2, 6, 6]));
    let w = constant(&mut g, vec![4, 2, 3, 3], 1.0, 0.0);
    let bn: Vec<usize> = vec![
        constant(&mut g, vec![4], 0.5, 1.0),
        constant(&mut g, vec![4], 0.5, 0.0),
        constant(&mut g, vec![4], 0.5, 0.0),
        constant(&mut g, vec![4], 0.5, 1.0),
    ];
    // After the concat there are 8 channels; padded and transposed they are 8×6.
    let divisor = constant(&mut g, vec![8, 1, 1], 0.5, 2.0);
    let shift = constant(&mut g, vec![1], 0.2, 0.3);
    let fc = constant(&mut g, vec![3, 8 * 8 * 6], 0.3, 0.0);
    let names = [
        "conv", "bn", "clip", "leaky", "cat", "pad", "tr", "div", "sub", "flat", "fc", "soft",
    ];
    let v: Vec<usize> = names.iter().map(|n| g.add_value(*n, None)).collect();
    let conv = ConvAttrs {
        kernel: [3, 3],
        strides: [1, 1],
        pads: [1; 4],
        dilations: [1, 1],
        groups: 1,
    };
    let mut bn_inputs = vec![v[0]];
    bn_inputs.extend(bn);
    let nodes = [
        (Op::Conv(conv), vec![x, w]),
        (Op::BatchNormalization { epsilon: 1e-5 }, bn_inputs),
        (
            Op::Clip {
                min: Some(0.0),
                max: Some(6.0),
            },
            vec![v[1]],
        ),
        // Uses the conv output a second time, so the BatchNorm cannot fold.
        (Op::LeakyRelu { alpha: 0.1 }, vec![v[0]]),
        (Op::Concat { axis: 1 }, vec![v[2], v[3]]),
        (
            Op::Pad {
                pads: vec![0, 0, 0, 1, 0, 0, 0, 1],
                value: 0.5,
            },
            vec![v[4]],
        ),
        (
            Op::Transpose {
                perm: vec![0, 1, 3, 2],
            },
            vec![v[5]],
        ),
        (Op::Div, vec![v[6], divisor]),
        (Op::Sub, vec![v[7], shift]),
        (Op::Flatten { axis: 1 }, vec![v[8]]),
        (
            Op::Gemm(cryptflow_ir::GemmAttrs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            }),
            vec![v[9], fc],
        ),
        (Op::Softmax { axis: -1 }, vec![v[10]]),
    ];
    for (i, (op, inputs)) in nodes.into_iter().enumerate() {
        g.nodes.push(Node {
            name: names[i].into(),
            op,
            inputs,
            output: v[i],
        });
    }
    g.input = x;
    g.output = v[11];
    g
}

#[test]
fn secure_run_agrees_with_the_twin_on_the_new_kernels() {
    let compiled = compile(model(), 12).expect("compiles");
    let kernels: Vec<&str> = compiled
        .program
        .instructions
        .iter()
        .map(|i| i.kernel.name())
        .collect();
    for expected in [
        "Scale",
        "AddConstant",
        "Clip",
        "LeakyRelu",
        "Concat",
        "Pad",
        "Transpose",
    ] {
        assert!(
            kernels.contains(&expected),
            "{expected} missing from {kernels:?}"
        );
    }
    assert_eq!(compiled.program.softmax, Some(1));
    compiled.program.validate().expect("a valid program");

    let input = Tensor::new(
        vec![1, 2, 6, 6],
        random(&mut Prg::new(Seed::from_u64(9)), 72, 4.0),
    )
    .expect("sized");
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    let (program, weights) = (compiled.program.clone(), compiled.weights.clone());
    let owner = std::thread::spawn(move || run_model_owner(&mut t0, &program, &weights));
    let helper = std::thread::spawn(move || run_helper(&mut t2));
    let secure = run_client(&mut t1, &input).expect("client");
    owner.join().expect("thread").expect("owner");
    helper.join().expect("thread").expect("helper");

    let encoded = cryptflow_runtime::encode_input(&compiled.program, &input).expect("encodes");
    let twin = cryptflow_runtime::decode_output(
        &compiled.program,
        &plain::run(&compiled.program, &compiled.weights, encoded),
    );
    let total: f32 = secure.output.data().iter().sum();
    assert!((total - 1.0).abs() < 1e-4, "softmax output sums to {total}");
    for (s, p) in secure.output.data().iter().zip(twin.data()) {
        assert!(
            (s - p).abs() < 1e-2,
            "{:?} vs {:?}",
            secure.output.data(),
            twin.data()
        );
    }
}
