//! The plan against plans computed by hand from the constants in the parent module.

use super::*;
use crate::passes::liveness::plan_frees;
use cryptflow_ir::Instruction;
use cryptflow_ring::Scale;

const MIB: u64 = 1 << 20;

/// x[1, n] → ReLU → y: the only big working set is the ReLU's batch of n.
fn relu(n: usize) -> Program {
    let mut p = Program {
        scale: Scale::new(12).expect("valid"),
        softmax: None,
        slot_shapes: vec![vec![1, n], vec![1, n]],
        input: 0,
        output: 1,
        weight_shapes: vec![],
        instructions: vec![Instruction {
            kernel: Kernel::Relu,
            inputs: vec![0],
            output: 1,
            free: vec![],
            comparison_bits: 64,
            source: "relu".into(),
        }],
    };
    plan_frees(&mut p);
    p
}

/// By hand: 12 MiB base, input and output live (8 B each per element).
fn fixed(n: u64) -> u64 {
    12 * MIB + 16 * n
}

#[test]
fn pieces_cover_a_batch_in_order_and_an_empty_batch_has_none() {
    assert_eq!(
        pieces(10, Some(4)).collect::<Vec<_>>(),
        [(0, 4), (4, 4), (8, 2)]
    );
    assert_eq!(pieces(10, None).collect::<Vec<_>>(), [(0, 10)]);
    assert_eq!(pieces(0, Some(4)).count(), 0);
    assert_eq!(pieces(0, None).count(), 0);
}

#[test]
fn unbounded_keeps_every_batch_whole_and_estimates_its_peak() {
    let n = 400_000;
    let plan = plan(&relu(n), None).expect("unbounded always plans");
    assert_eq!(plan.pieces, [None]);
    assert_eq!(plan.extra_rounds, 0);
    assert_eq!(plan.step_extra_rounds, [0]);
    let client = fixed(n as u64) + 320 * n as u64;
    assert_eq!(plan.peak_mib[1], client.div_ceil(MIB));
    assert_eq!(
        plan.peak_mib[2],
        (fixed(n as u64) + 96 * n as u64).div_ceil(MIB)
    );
}

#[test]
fn a_budget_gets_the_largest_piece_that_fits() {
    // 64 MiB: 12 MiB + 6.4 MB + 320·p ≤ 64 MiB ⇒ p ≤ 150393, so two granules
    // (131072); 400000 elements in 4 pieces: 3 extra, 24 more rounds.
    let plan = plan(&relu(400_000), Some(64)).expect("fits");
    assert_eq!(plan.pieces, [Some(131_072)]);
    assert_eq!(plan.extra_rounds, 24);
    assert_eq!(plan.step_extra_rounds, [24]);
    assert!(
        plan.peak_mib.iter().all(|&m| m <= 64),
        "{:?}",
        plan.peak_mib
    );
}

#[test]
fn a_budget_that_fits_the_whole_batch_changes_nothing() {
    let whole = plan(&relu(400_000), None).expect("plans");
    let roomy = plan(&relu(400_000), Some(whole.peak_mib[1])).expect("fits");
    assert_eq!(roomy.pieces, [None]);
    assert_eq!(roomy.peak_mib, whole.peak_mib);
}

#[test]
fn a_budget_too_small_is_refused_with_the_smallest_that_works() {
    // The smallest plan: one granule, 12 MiB + 6.4 MB + 320 · 65536 = 39.96 MB → 39 MiB.
    let needed = (fixed(400_000) + 320 * PIECE_GRANULE as u64).div_ceil(MIB);
    assert_eq!(needed, 39);
    let error = plan(&relu(400_000), Some(20)).expect_err("too small");
    assert_eq!(error.needed_mib, needed);
    assert_eq!((error.step, error.source_node.as_str()), (0, "relu"));
    assert!(error
        .to_string()
        .contains("smallest budget that works is 39 MiB"));
    // And that budget is met.
    let plan = plan(&relu(400_000), Some(needed)).expect("the named budget works");
    assert_eq!(plan.pieces, [Some(PIECE_GRANULE)]);
}

/// x[1, 1000] · W[4000, 1000]ᵀ → y[1, 4000]: one 32 MB weight.
fn one_product() -> Program {
    let mut p = relu(1000);
    p.weight_shapes = vec![vec![4000, 1000]];
    p.slot_shapes[1] = vec![1, 4000];
    p.instructions[0].kernel = Kernel::MatMul {
        rows: 1,
        inner: 1000,
        out: 4000,
        weight: 0,
        bias: None,
    };
    p
}

/// By hand, P0 with blocks of `words`: 12 MiB, x and y live (40 kB), 3 × (block + x +
/// y) words of working set, the block three times (weight, masked, bytes out) and the
/// next block twice on the masking thread: 12 MiB + 160 kB + 64 B per block word.
fn owner_with_blocks(words: u64) -> u64 {
    12 * MIB + 160_000 + 64 * words
}

#[test]
fn a_weight_too_large_for_the_budget_is_blocked_by_output_units() {
    let p = one_product();
    let whole = plan(&p, None).expect("unbounded");
    assert_eq!(whole.blocks, [None]);
    // 32 MiB: 64 B × words ≤ 32 MiB − 12 MiB − 160 kB ⇒ ≤ 325180 words a block. The
    // limits tried halve from 2^23 words; 2^22 and up hold the whole weight, 2^19
    // gives 524 rows (524000 words, too many), 2^18 gives 262 rows: the first to fit.
    let planned = plan(&p, Some(32)).expect("fits in blocks");
    assert_eq!(planned.blocks, [Some(262)]);
    assert_eq!(planned.extra_rounds, 0, "blocks go one way");
    assert_eq!(
        planned.peak_mib[0],
        owner_with_blocks(262_000).div_ceil(MIB)
    );
    // 16 MiB: ≤ 63036 words; 2^16 gives 65 rows (65000), 2^15 gives 32.
    assert_eq!(plan(&p, Some(16)).expect("fits").blocks, [Some(32)]);
}

#[test]
fn the_smallest_blocks_set_the_smallest_budget() {
    // 13 MiB leaves 13884 words a block; the smallest blocks tried are 32 rows (2^15
    // words), needing 12 MiB + 160 kB + 64 × 32000 B = 14.1 MiB.
    let error = plan(&one_product(), Some(13)).expect_err("too small even in blocks");
    assert_eq!(error.party, Party::ModelOwner);
    assert_eq!(error.needed_mib, owner_with_blocks(32_000).div_ceil(MIB));
    assert_eq!(error.needed_mib, 15);
    assert!(plan(&one_product(), Some(15)).is_ok());
}

#[test]
fn a_weight_used_twice_is_not_blocked() {
    // The client keeps a weight used twice whole, so the plan does not cut it.
    let mut p = one_product();
    p.slot_shapes = vec![vec![1, 1000], vec![1, 4000], vec![1, 4000]];
    let mut second = p.instructions[0].clone();
    second.output = 2;
    p.instructions.push(second);
    p.output = 2;
    plan_frees(&mut p);
    assert!(plan(&p, Some(32)).is_err());
    assert_eq!(weight_blocks(&p, Some(1 << 15)), [None, None]);
    assert_eq!(weight_blocks(&one_product(), Some(1 << 15)), [Some(32)]);
}

#[test]
fn max_pool_levels_are_batches_of_their_own() {
    let geometry = cryptflow_ring::pool::PoolGeometry {
        channels: 1,
        in_height: 4,
        in_width: 4,
        kernel: [3, 3],
        strides: [1, 1],
        pads: [0, 0, 0, 0],
        ceil_mode: false,
    };
    // Four windows of 9: 9 → 5 → 3 → 2 → 1, so 4, 2, 1, 1 selects per window.
    assert_eq!(
        select_batches(&Kernel::MaxPool(geometry), 16),
        [16, 8, 4, 4]
    );
    let clip = Kernel::Clip {
        min: Some(0.0),
        max: Some(6.0),
    };
    assert_eq!(select_batches(&clip, 5), [10]);
    assert!(select_batches(&Kernel::Add, 5).is_empty());
}

/// x[1, 1000] · W0[1000, 2000] → y[1, 2000] · W1[2000, 500] → z[1, 500].
fn two_products() -> Program {
    let matmul = |inner, out, weight| Kernel::MatMul {
        rows: 1,
        inner,
        out,
        weight,
        bias: None,
    };
    let mut p = Program {
        scale: Scale::new(12).expect("valid"),
        softmax: None,
        slot_shapes: vec![vec![1, 1000], vec![1, 2000], vec![1, 500]],
        input: 0,
        output: 2,
        weight_shapes: vec![vec![1000, 2000], vec![2000, 500]],
        instructions: vec![
            Instruction {
                kernel: matmul(1000, 2000, 0),
                inputs: vec![0],
                output: 1,
                free: vec![],
                comparison_bits: 64,
                source: "fc1".into(),
            },
            Instruction {
                kernel: matmul(2000, 500, 1),
                inputs: vec![1],
                output: 2,
                free: vec![],
                comparison_bits: 64,
                source: "fc2".into(),
            },
        ],
    };
    plan_frees(&mut p);
    p
}

#[test]
fn the_model_owner_holds_the_weight_in_use_and_the_next_not_the_whole_model() {
    let plan = plan(&two_products(), None).expect("plans");
    let (w0, w1) = (1000 * 2000 * 8, 2000 * 500 * 8);
    // By hand, step 0: 12 MiB, x and y live (24 kB), 3 × (W0 + x + y) words of working
    // set; P0 holds W0 three times (weight, masked, bytes out) and the masking thread
    // W1 twice (weight and mask); P1 and P2 hold W0's masked form or mask once.
    let common0 = 12 * MIB + 24_000 + 3 * 8 * (2_000_000 + 1000 + 2000);
    // Step 1: x freed; y and z live (20 kB); nothing is left to mask ahead.
    let common1 = 12 * MIB + 20_000 + 3 * 8 * (1_000_000 + 2000 + 500);
    let owner = (common0 + 3 * w0 + 2 * w1).max(common1 + 3 * w1);
    assert_eq!(plan.peak_mib[0], owner.div_ceil(MIB));
    assert_eq!(
        plan.peak_mib[1],
        (common0 + w0).max(common1 + w1).div_ceil(MIB)
    );
}
