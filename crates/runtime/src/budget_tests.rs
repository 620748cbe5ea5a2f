//! A run under a memory budget against the unbounded run with the same seeds: the
//! pieces must draw what the whole batches draw, so the output is bit-identical, and
//! cost exactly the rounds the plan says.

use crate::client::client_session;
use crate::helper::helper_session;
use crate::owner::owner_session;
use crate::report::Recorder;
use crate::session::SessionOptions;
use crate::{decode_output, encode_input, plain};
use cryptflow_compiler::passes::liveness::plan_frees;
use cryptflow_compiler::passes::memory;
use cryptflow_ir::{Instruction, Kernel, Program, Weights};
use cryptflow_net::MemoryTransport;
use cryptflow_protocol::PairwiseSeeds;
use cryptflow_ring::conv::ConvGeometry;
use cryptflow_ring::pool::PoolGeometry;
use cryptflow_ring::{Prg, Scale, Seed, Tensor};

/// x[1, 16, 128, 128] → Clip(0, 6) → MaxPool 2×2: a 524288-element select batch (the
/// Clip's two bounds) and max-tree levels of 131072 and 65536.
fn program() -> Program {
    let geometry = PoolGeometry {
        channels: 16,
        in_height: 128,
        in_width: 128,
        kernel: [2, 2],
        strides: [2, 2],
        pads: [0; 4],
        ceil_mode: false,
    };
    let mut program = Program {
        scale: Scale::new(12).expect("valid"),
        softmax: None,
        slot_shapes: vec![
            vec![1, 16, 128, 128],
            vec![1, 16, 128, 128],
            vec![1, 16, 64, 64],
            vec![1, 16, 64, 64],
        ],
        input: 0,
        output: 3,
        weight_shapes: vec![],
        instructions: vec![
            Instruction {
                kernel: Kernel::Clip {
                    min: Some(0.0),
                    max: Some(6.0),
                },
                inputs: vec![0],
                output: 1,
                free: vec![],
                comparison_bits: 64,
                source: "relu6".into(),
            },
            Instruction {
                kernel: Kernel::MaxPool(geometry),
                inputs: vec![1],
                output: 2,
                free: vec![],
                comparison_bits: 64,
                source: "pool".into(),
            },
            // Local truncation of shares: the output depends on the dealt randomness
            // (by one unit here and there), so identity means the same draws.
            Instruction {
                kernel: Kernel::Truncate { bits: 4 },
                inputs: vec![2],
                output: 3,
                free: vec![],
                comparison_bits: 64,
                source: "truncate".into(),
            },
        ],
    };
    plan_frees(&mut program);
    program
}

/// One run with fixed seeds: the output and the rounds.
fn run(program: &Program, input: &Tensor<f32>, seed: u64, budget: Option<u64>) -> (Vec<f32>, u64) {
    run_with(program, &Weights { tensors: vec![] }, input, seed, budget)
}

fn run_with(
    program: &Program,
    weights: &Weights,
    input: &Tensor<f32>,
    seed: u64,
    budget: Option<u64>,
) -> (Vec<f32>, u64) {
    let [s0, s1, s2] = PairwiseSeeds::for_test(seed);
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    std::thread::scope(|scope| {
        let owner = scope.spawn(|| {
            owner_session(
                &mut t0,
                program,
                weights,
                s0,
                SessionOptions::within(budget),
                Recorder::new(),
            )
        });
        let helper = scope.spawn(|| {
            helper_session(
                &mut t2,
                program,
                s2,
                SessionOptions::within(budget),
                Recorder::new(),
            )
        });
        let prediction = client_session(
            &mut t1,
            program,
            input,
            s1,
            SessionOptions::within(budget),
            Recorder::new(),
        )
        .expect("client");
        owner.join().expect("P0 thread").expect("owner");
        helper.join().expect("P2 thread").expect("helper");
        (prediction.output.data().to_vec(), prediction.report.rounds)
    })
}

#[test]
fn a_run_in_pieces_is_bit_identical_to_the_whole_run_and_costs_the_planned_rounds() {
    let program = program();
    // The smallest budget that works gives the smallest pieces.
    let smallest = memory::plan(&program, Some(1)).expect_err("1 MiB is too small");
    let plan = memory::plan(&program, Some(smallest.needed_mib)).expect("the named budget");
    let piece = Some(memory::PIECE_GRANULE);
    assert_eq!(plan.pieces, [piece, piece, None]);
    // Clip: 524288 in 8 pieces; the tree: 131072 in 2, 65536 in 1.
    assert_eq!(plan.extra_rounds, 8 * memory::ROUNDS_PER_PIECE);
    let mut prg = Prg::new(Seed::from_u64(3));
    let values = prg
        .u64s(program.slot_len(0))
        .iter()
        .map(|r| (*r % 16_000) as f32 / 1000.0 - 8.0)
        .collect();
    let input = Tensor::new(vec![1, 16, 128, 128], values).expect("sized");
    let (whole, whole_rounds) = run(&program, &input, 7, None);
    let (pieces, piece_rounds) = run(&program, &input, 7, Some(smallest.needed_mib));
    assert!(whole == pieces, "the output changed under the budget");
    // Not by chance: other seeds give another output.
    let (other, _) = run(&program, &input, 9, None);
    assert!(
        other != whole,
        "the output does not depend on the randomness"
    );
    assert_eq!(piece_rounds, whole_rounds + plan.extra_rounds);
    // And it is the right output (the clear ReLU6 then max).
    let x = input.data();
    for (i, &out) in whole.iter().enumerate().step_by(97) {
        let (c, r, col) = (i / 4096, i / 64 % 64, i % 64);
        let at =
            |dr: usize, dc: usize| x[c * 16384 + (2 * r + dr) * 128 + 2 * col + dc].clamp(0.0, 6.0);
        let max = at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1)) / 16.0;
        assert!((out - max).abs() < 1e-3, "{i}: {out} vs {max}");
    }
}

#[test]
fn a_budget_too_small_is_refused_by_all_three_before_the_protocol() {
    let program = program();
    let input = Tensor::new(vec![1, 16, 128, 128], vec![0.0; 262_144]).expect("sized");
    let weights = Weights { tensors: vec![] };
    let [s0, s1, s2] = PairwiseSeeds::for_test(8);
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    // Only the helper has a small budget: the others must refuse too.
    let errors = std::thread::scope(|scope| {
        let owner = scope.spawn(|| {
            owner_session(
                &mut t0,
                &program,
                &weights,
                s0,
                SessionOptions::default(),
                Recorder::new(),
            )
        });
        let helper = scope.spawn(|| {
            helper_session(
                &mut t2,
                &program,
                s2,
                SessionOptions::within(Some(8)),
                Recorder::new(),
            )
        });
        let client = client_session(
            &mut t1,
            &program,
            &input,
            s1,
            SessionOptions::default(),
            Recorder::new(),
        );
        [
            owner.join().expect("P0").err(),
            client.err(),
            helper.join().expect("P2").err(),
        ]
    });
    for error in errors {
        let text = error.expect("refused").to_string();
        assert!(
            text.contains("a memory budget of 8 MiB is too small"),
            "{text}"
        );
        assert!(text.contains("the smallest budget that works is"), "{text}");
    }
}

#[test]
fn a_malformed_budget_is_refused_naming_its_sender() {
    let program = program();
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    use cryptflow_net::Transport;
    use cryptflow_ring::Party;
    t0.send(Party::Client, vec![1, 2, 3]).expect("send");
    t2.send(
        Party::Client,
        [u64::MAX, 0].iter().flat_map(|w| w.to_le_bytes()).collect(),
    )
    .expect("send");
    match crate::session::agree_plan(&mut t1, &program, SessionOptions::default()) {
        Err(crate::RuntimeError::MalformedMessage { from, what }) => {
            assert_eq!((from, what), (Party::ModelOwner, "memory budget"));
        }
        other => panic!("expected a malformed budget, got {other:?}"),
    }
}

#[test]
fn an_offline_phase_flag_other_than_yes_or_no_is_refused_naming_its_sender() {
    let program = program();
    let [mut t0, mut t1, mut t2] = MemoryTransport::triple();
    use cryptflow_net::Transport;
    use cryptflow_ring::Party;
    let words = |budget: u64, flag: u64| {
        [budget, flag]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect()
    };
    t0.send(Party::Client, words(u64::MAX, 1)).expect("send");
    t2.send(Party::Client, words(u64::MAX, 2)).expect("send");
    match crate::session::agree_plan(&mut t1, &program, SessionOptions::default()) {
        Err(crate::RuntimeError::MalformedMessage { from, what }) => {
            assert_eq!((from, what), (Party::Helper, "memory budget"));
        }
        other => panic!("expected a malformed flag, got {other:?}"),
    }
}

/// A 3×3 convolution, stride 1, padded to keep a `side` × `side` image's size.
fn same_conv(in_channels: usize, out_channels: usize, side: usize, groups: usize) -> ConvGeometry {
    ConvGeometry {
        in_channels,
        in_height: side,
        in_width: side,
        out_channels,
        kernel: [3, 3],
        strides: [1, 1],
        pads: [1; 4],
        dilations: [1, 1],
        groups,
    }
}

/// `kernel` on x of `input_shape` into `output_shape`, then a truncation by the scale
/// (so the output depends on the dealt randomness), with random weights of `shapes`.
fn linear_program(
    kernel: Kernel,
    input_shape: Vec<usize>,
    output_shape: Vec<usize>,
    shapes: Vec<Vec<usize>>,
) -> (Program, Weights) {
    let instruction = |kernel, input, source: &str| Instruction {
        kernel,
        inputs: vec![input],
        output: input + 1,
        free: vec![],
        comparison_bits: 64,
        source: source.into(),
    };
    let mut program = Program {
        scale: Scale::new(12).expect("valid"),
        softmax: None,
        slot_shapes: vec![input_shape, output_shape.clone(), output_shape],
        input: 0,
        output: 2,
        weight_shapes: shapes.clone(),
        instructions: vec![
            instruction(kernel, 0, "linear"),
            instruction(Kernel::Truncate { bits: 12 }, 1, "truncate"),
        ],
    };
    plan_frees(&mut program);
    let mut prg = Prg::new(Seed::from_u64(5));
    let tensors = shapes
        .into_iter()
        .map(|shape| {
            let len = shape.iter().product();
            let data = (prg.u64s(len).iter())
                .map(|r| plain::encode((*r % 2000) as f32 / 1000.0 - 1.0, program.scale))
                .collect();
            Tensor::new(shape, data).expect("sized")
        })
        .collect();
    (program, Weights { tensors })
}

/// Under the smallest budget the weight is cut into blocks of output units: the run
/// sends and draws what the whole run does (bit-identical output, the same rounds) and
/// computes the product the plaintext evaluator does.
#[test]
fn a_run_with_blocked_weights_is_bit_identical_to_the_whole_run() {
    let conv = same_conv(128, 128, 8, 1);
    let programs = [
        linear_program(
            Kernel::Conv {
                geometry: conv,
                weight: 0,
                bias: Some(1),
            },
            vec![1, 128, 8, 8],
            vec![1, 128, 8, 8],
            vec![vec![128, 128, 3, 3], vec![128]],
        ),
        // Three rows: each block is a column band of the output.
        linear_program(
            Kernel::MatMul {
                rows: 3,
                inner: 4096,
                out: 256,
                weight: 0,
                bias: None,
            },
            vec![3, 4096],
            vec![3, 256],
            vec![vec![256, 4096]],
        ),
    ];
    for (program, weights) in &programs {
        let smallest = memory::plan(program, Some(1)).expect_err("1 MiB is too small");
        let budget = Some(smallest.needed_mib);
        let plan = memory::plan(program, budget).expect("the named budget");
        let units = memory::weight_units(&program.instructions[0].kernel)
            .expect("splits")
            .0;
        assert!(
            plan.block(0).is_some_and(|b| b < units),
            "not blocked: {:?}",
            plan.blocks
        );
        let mut prg = Prg::new(Seed::from_u64(4));
        let shape = program.slot_shapes[0].clone();
        let values = (prg.u64s(program.slot_len(0)).iter())
            .map(|r| (*r % 2000) as f32 / 1000.0 - 1.0)
            .collect();
        let input = Tensor::new(shape, values).expect("sized");
        let (whole, whole_rounds) = run_with(program, weights, &input, 7, None);
        let (blocked, blocked_rounds) = run_with(program, weights, &input, 7, budget);
        assert!(whole == blocked, "the output changed in blocks");
        assert_eq!(blocked_rounds, whole_rounds, "blocks cost no rounds");
        let (other, _) = run_with(program, weights, &input, 9, None);
        assert!(other != whole, "the output does not depend on the seeds");
        let encoded = encode_input(program, &input).expect("encodes");
        let twin = decode_output(program, &plain::run(program, weights, encoded));
        for (s, t) in blocked.iter().zip(twin.data()) {
            assert!((s - t).abs() <= 2.0 / 4096.0, "{s} vs {t}");
        }
    }
}

/// The plan sizes the model owner's blocks by the compiler's rule, the protocol cuts
/// them by `Bilinear::units`: the two must split every kernel alike (a grouped
/// convolution not at all).
#[test]
fn the_plan_and_the_protocol_split_weights_alike() {
    use cryptflow_protocol::linear::{self, Bilinear, MatMulShape};
    let conv = |groups| same_conv(8, 16, 5, groups);
    let cases: Vec<(Kernel, Box<dyn Bilinear>)> = vec![
        (
            Kernel::Conv {
                geometry: conv(1),
                weight: 0,
                bias: None,
            },
            Box::new(conv(1)),
        ),
        (
            Kernel::Conv {
                geometry: conv(2),
                weight: 0,
                bias: None,
            },
            Box::new(conv(2)),
        ),
        (
            Kernel::MatMul {
                rows: 3,
                inner: 7,
                out: 5,
                weight: 0,
                bias: None,
            },
            Box::new(MatMulShape {
                rows: 3,
                inner: 7,
                out: 5,
            }),
        ),
    ];
    for (kernel, f) in &cases {
        let protocol = (f.units() > 1).then(|| (f.units(), linear::unit_len(f.as_ref())));
        assert_eq!(memory::weight_units(kernel), protocol, "{}", kernel.name());
    }
}
