//! Attested mode end to end on the three parties' threads: the same output as the
//! semi-honest protocol, and every kind of host fault by every party, early (in the
//! prelude) and late (in the protocol), caught with the culprit named by every
//! honest party and no panic.

mod common;
use common::random;

use cryptflow_attest::{Digest, SoftwareRoot};
use cryptflow_compiler::compile;
use cryptflow_ir::{ConvAttrs, GemmAttrs, Graph, Op, PoolAttrs};
use cryptflow_net::fault::{Fault, FaultKind, FaultyHost};
use cryptflow_net::{MemoryTransport, Misbehaviour, NetError, Transport};
use cryptflow_ring::{Party, Prg, Seed, Tensor};
use cryptflow_runtime::{
    run_client, run_client_attested, run_helper, run_helper_attested, run_model_owner,
    run_model_owner_attested, Attestation, RuntimeError,
};
use std::time::Duration;

/// input [1,1,6,6] → conv 3x3 (3 ch, bias) → relu → maxpool 2x2 → flatten → gemm (→ 4).
fn model() -> cryptflow_compiler::Compiled {
    let mut prg = Prg::new(Seed::from_u64(3));
    let mut g = Graph::default();
    let x = g.add_value("x", Some(vec![1, 1, 6, 6]));
    let mut constant = |g: &mut Graph, name: &str, shape: Vec<usize>| {
        let id = g.add_value(name, None);
        let n = shape.iter().product();
        let t = Tensor::new(shape, random(&mut prg, n, 1.0)).expect("sized");
        g.constants.insert(id, t);
        id
    };
    let (w1, b1) = (
        constant(&mut g, "w1", vec![3, 1, 3, 3]),
        constant(&mut g, "b1", vec![3]),
    );
    let w2 = constant(&mut g, "w2", vec![4, 12]);
    let names = ["conv", "relu", "pool", "flat", "fc"];
    let v: Vec<usize> = names.iter().map(|n| g.add_value(*n, None)).collect();
    let ops = [
        (
            Op::Conv(ConvAttrs {
                kernel: [3, 3],
                strides: [1, 1],
                pads: [0; 4],
                dilations: [1, 1],
                groups: 1,
            }),
            vec![x, w1, b1],
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
        (Op::Flatten { axis: 1 }, vec![v[2]]),
        (
            Op::Gemm(GemmAttrs {
                alpha: 1.0,
                beta: 1.0,
                trans_a: false,
                trans_b: true,
            }),
            vec![v[3], w2],
        ),
    ];
    common::push_nodes(&mut g, &names, &v, ops.into());
    g.input = x;
    g.output = v[4];
    compile(g, cryptflow_compiler::DEFAULT_SCALE.into()).expect("compiles")
}

fn input() -> Tensor<f32> {
    Tensor::new(
        vec![1, 1, 6, 6],
        random(&mut Prg::new(Seed::from_u64(4)), 36, 1.0),
    )
    .expect("sized")
}

/// Each party's outcome: the client's output, or an error; and each party's count
/// of messages sent before the end-of-session confirmations.
struct Run {
    outcomes: [Result<Vec<f32>, RuntimeError>; 3],
    sent: [u64; 3],
}

fn attested(fault: Option<Fault>, code_of_helper: Option<Digest>) -> Run {
    let compiled = model();
    let x = input();
    let root = SoftwareRoot::generate().expect("root");
    let transports = MemoryTransport::triple_with_timeout(Duration::from_millis(400));
    std::thread::scope(|scope| {
        let handles: Vec<_> = transports
            .into_iter()
            .map(|t| {
                let (compiled, x, root) = (&compiled, &x, &root);
                scope.spawn(move || {
                    let mut host = FaultyHost::new(t, fault);
                    let me = host.me();
                    let attestation = Attestation {
                        root,
                        code_override: (me == Party::Helper).then_some(code_of_helper).flatten(),
                        memory_budget_mib: None,
                        offline_phase: false,
                    };
                    let result = match me {
                        Party::ModelOwner => run_model_owner_attested(
                            &mut host,
                            &compiled.program,
                            &compiled.weights,
                            &attestation,
                        )
                        .map(|r| (Vec::new(), r.comm.messages_sent)),
                        Party::Client => run_client_attested(&mut host, x, &attestation)
                            .map(|p| (p.output.into_data(), p.report.comm.messages_sent)),
                        Party::Helper => run_helper_attested(&mut host, &attestation)
                            .map(|r| (Vec::new(), r.comm.messages_sent)),
                    };
                    // A failed party hangs up, as its process would by exiting.
                    drop(host);
                    result
                })
            })
            .collect();
        let mut sent = [0; 3];
        let mut outcomes = Vec::new();
        for (i, h) in handles.into_iter().enumerate() {
            let r = h.join().expect("no party panics");
            outcomes.push(r.map(|(out, n)| {
                sent[i] = n;
                out
            }));
        }
        Run {
            outcomes: outcomes.try_into().unwrap_or_else(|_| unreachable!()),
            sent,
        }
    })
}

fn semi_honest() -> Vec<f32> {
    let compiled = model();
    let x = input();
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    let (program, weights) = (compiled.program.clone(), compiled.weights.clone());
    let owner = std::thread::spawn(move || run_model_owner(&mut t0, &program, &weights));
    let helper = std::thread::spawn(move || run_helper(&mut t2));
    let out = run_client(&mut t1, &x)
        .expect("semi-honest run")
        .output
        .into_data();
    owner.join().expect("P0").expect("P0 ok");
    helper.join().expect("P2").expect("P2 ok");
    out
}

#[test]
fn attested_mode_gives_the_semi_honest_output() {
    let run = attested(None, None);
    let out = run.outcomes[1].as_ref().expect("client output").clone();
    for o in &run.outcomes {
        assert!(o.is_ok(), "{:?}", o.as_ref().err());
    }
    let reference = semi_honest();
    assert_eq!(out.len(), reference.len());
    // Local truncation's ±1 in the last bit depends on the (fresh) masks.
    let ulp = 1.0 / (1u64 << cryptflow_compiler::DEFAULT_SCALE) as f32;
    for (a, b) in out.iter().zip(&reference) {
        assert!((a - b).abs() <= 4.0 * ulp, "{a} vs {b}");
    }
}

#[test]
fn a_helper_running_other_code_stops_the_session_before_any_input() {
    let run = attested(None, Some(Digest([7; 32])));
    for party in [Party::ModelOwner, Party::Client] {
        let err = run.outcomes[party.index()].as_ref().expect_err("refused");
        assert_eq!(err.culprit(), Some(Party::Helper), "{party}: {err}");
        assert!(err.to_string().contains("runs other code"), "{err}");
    }
}

fn fault(party: Party, kind: FaultKind, message: u64) -> Option<Fault> {
    Some(Fault {
        party,
        kind,
        message,
    })
}

const KINDS: [FaultKind; 4] = [
    FaultKind::Flip,
    FaultKind::Drop,
    FaultKind::Replay,
    FaultKind::Reorder,
];

/// Every honest party (all but the culprit) fails naming the culprit.
fn assert_named(run: &Run, culprit: Party, what: &str) {
    for party in Party::ALL.into_iter().filter(|&p| p != culprit) {
        let err = run.outcomes[party.index()]
            .as_ref()
            .expect_err(&format!("{what}: {party} must abort"));
        assert_eq!(err.culprit(), Some(culprit), "{what}: {party} said: {err}");
    }
}

#[test]
fn every_fault_by_every_party_in_the_prelude_is_named() {
    for party in Party::ALL {
        // P0's messages 0 and 1 are the program, 2..6 its prelude; the others' 0..4
        // their prelude (two hellos, two tokens).
        for message in [0, 1, 2, 3, 5] {
            for kind in KINDS {
                let run = attested(fault(party, kind, message), None);
                assert_named(&run, party, &format!("{party} {kind:?} #{message}"));
            }
        }
    }
}

#[test]
fn every_fault_by_every_party_late_in_the_protocol_is_named() {
    let honest = attested(None, None);
    for party in Party::ALL {
        // The party's last protocol message (the confirmations come after it).
        let last = honest.sent[party.index()] - 1;
        for kind in KINDS {
            let run = attested(fault(party, kind, last), None);
            assert_named(&run, party, &format!("{party} {kind:?} #{last}"));
        }
    }
}

#[test]
fn a_flipped_protocol_message_is_reported_as_changed_with_its_index() {
    let honest = attested(None, None);
    let k = honest.sent[0] - 1;
    let run = attested(fault(Party::ModelOwner, FaultKind::Flip, k), None);
    match &run.outcomes[1] {
        Err(RuntimeError::Net(NetError::HostMisbehaved { culprit, what })) => {
            assert_eq!(*culprit, Party::ModelOwner);
            assert_eq!(*what, Misbehaviour::Changed { message: Some(k) });
        }
        other => panic!("{:?}", other.as_ref().err()),
    }
}
