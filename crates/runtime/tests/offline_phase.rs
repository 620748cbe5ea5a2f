//! The offline phase (`SessionOptions::offline_phase`): P1's products with the masked
//! weights and the helper's dealing of them before the input is shared. Any party
//! asking turns it on for all three; the result is the cleartext twin's, every party
//! sends exactly the bytes of the interleaved run (the same messages, reordered); a
//! memory budget rules it out.

mod common;
use common::random;

use cryptflow_compiler::{compile, Compiled};
use cryptflow_ir::{ConvAttrs, GemmAttrs, Graph, Op, PoolAttrs};
use cryptflow_net::MemoryTransport;
use cryptflow_ring::{Prg, Seed, Tensor};
use cryptflow_runtime::{
    plain, run_client_within, run_helper_within, run_model_owner_within, PartyReport, Prediction,
    SessionOptions,
};

/// x [1, 2, 6, 6] → conv → relu → conv → maxpool 2×2 → flatten → gemm (→ 3): linear
/// steps between comparisons, so the helper's offline order differs from the
/// program's.
fn compiled() -> Compiled {
    let mut prg = Prg::new(Seed::from_u64(15));
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
    let w0 = constant(&mut g, "w0", vec![3, 2, 3, 3]);
    let w1 = constant(&mut g, "w1", vec![4, 3, 3, 3]);
    let fc = constant(&mut g, "fc", vec![3, 36]);
    let conv = Op::Conv(ConvAttrs {
        kernel: [3, 3],
        strides: [1, 1],
        pads: [1; 4],
        dilations: [1, 1],
        groups: 1,
    });
    let names = ["conv0", "relu", "conv1", "pool", "flat", "fc"];
    let v: Vec<usize> = names.iter().map(|n| g.add_value(*n, None)).collect();
    let ops = [
        (conv.clone(), vec![x, w0]),
        (Op::Relu, vec![v[0]]),
        (conv, vec![v[1], w1]),
        (
            Op::MaxPool(PoolAttrs {
                kernel: [2, 2],
                strides: [2, 2],
                pads: [0; 4],
                ceil_mode: false,
            }),
            vec![v[2]],
        ),
        (Op::Flatten { axis: 1 }, vec![v[3]]),
        (
            Op::Gemm(GemmAttrs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            }),
            vec![v[4], fc],
        ),
    ];
    common::push_nodes(&mut g, &names, &v, ops.into());
    g.input = x;
    g.output = v[5];
    compile(g, 12).expect("compiles")
}

fn input() -> Tensor<f32> {
    let data = random(&mut Prg::new(Seed::from_u64(19)), 72, 1.0);
    Tensor::new(vec![1, 2, 6, 6], data).expect("sized")
}

/// One secure run with each party's options; the client's prediction and the
/// owner's and helper's reports.
fn secure(
    compiled: &Compiled,
    [o0, o1, o2]: [SessionOptions; 3],
) -> (Prediction, PartyReport, PartyReport) {
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    let (program, weights) = (compiled.program.clone(), compiled.weights.clone());
    let owner = std::thread::spawn(move || run_model_owner_within(&mut t0, &program, &weights, o0));
    let helper = std::thread::spawn(move || run_helper_within(&mut t2, o2));
    let prediction = run_client_within(&mut t1, &input(), o1).expect("client");
    let owner = owner.join().expect("thread").expect("owner");
    let helper = helper.join().expect("thread").expect("helper");
    (prediction, owner, helper)
}

fn twin(compiled: &Compiled) -> Vec<f32> {
    let encoded = cryptflow_runtime::encode_input(&compiled.program, &input()).expect("encodes");
    let out = plain::run(&compiled.program, &compiled.weights, encoded);
    cryptflow_runtime::decode_output(&compiled.program, &out).into_data()
}

const OFFLINE: SessionOptions = SessionOptions {
    memory_budget_mib: None,
    offline_phase: true,
};
const PLAIN: SessionOptions = SessionOptions {
    memory_budget_mib: None,
    offline_phase: false,
};

#[test]
fn any_party_asking_runs_the_offline_phase_with_the_interleaved_messages() {
    let compiled = compiled();
    let expected = twin(&compiled);
    let (interleaved, owner, helper) = secure(&compiled, [PLAIN; 3]);
    assert_eq!(interleaved.report.offline_seconds, 0.0);
    let sent = |p: &Prediction, o: &PartyReport, h: &PartyReport| {
        [
            o.comm.bytes_sent,
            p.report.comm.bytes_sent,
            h.comm.bytes_sent,
        ]
    };
    let interleaved_sent = sent(&interleaved, &owner, &helper);
    for asker in 0..3 {
        let mut options = [PLAIN; 3];
        options[asker] = OFFLINE;
        let (prediction, owner, helper) = secure(&compiled, options);
        assert!(
            prediction.report.offline_seconds > 0.0,
            "party {asker} asked; no offline phase ran"
        );
        assert!(prediction.report.offline_seconds <= prediction.report.setup_seconds);
        for (s, t) in prediction.output.data().iter().zip(&expected) {
            assert!(
                (s - t).abs() < 1e-2,
                "{:?} vs {expected:?}",
                prediction.output
            );
        }
        assert_eq!(sent(&prediction, &owner, &helper), interleaved_sent);
        assert_eq!(prediction.report.rounds, interleaved.report.rounds);
        // The helper dealt out of order, and reports its steps in the program's.
        let kernels: Vec<&str> = compiled
            .program
            .instructions
            .iter()
            .map(|i| i.kernel.name())
            .collect();
        let reported: Vec<&str> = helper.layers.iter().map(|l| l.kernel).collect();
        assert_eq!(reported, kernels);
    }
}

#[test]
fn a_memory_budget_rules_the_offline_phase_out() {
    let compiled = compiled();
    let budget = SessionOptions {
        memory_budget_mib: Some(4096),
        offline_phase: false,
    };
    let (prediction, _, _) = secure(&compiled, [budget, OFFLINE, PLAIN]);
    assert_eq!(prediction.report.offline_seconds, 0.0);
    for (s, t) in prediction.output.data().iter().zip(&twin(&compiled)) {
        assert!((s - t).abs() < 1e-2);
    }
}
