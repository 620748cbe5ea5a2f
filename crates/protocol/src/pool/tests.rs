use super::*;
use crate::testing::{drive_pair, reconstruct, share, streams};
use crate::StreamId;
use cryptflow_ring::Seed;

const W: crate::relu::Width = crate::relu::Width::FULL;

fn geometry() -> PoolGeometry {
    PoolGeometry {
        channels: 3,
        in_height: 7,
        in_width: 6,
        kernel: [3, 3],
        strides: [2, 2],
        pads: [1, 1, 1, 1],
        ceil_mode: false,
    }
}

/// Runs max pooling on all parties; returns the opened output.
fn run(x: &[u64], windows: &[Vec<usize>], master: u64) -> Vec<u64> {
    run_with_transcript(x, windows, master).0
}

fn run_with_transcript(
    x: &[u64],
    windows: &[Vec<usize>],
    master: u64,
) -> (Vec<u64>, crate::testing::Transcript) {
    let sizes = max_tree_sizes(windows);
    let mut s = streams(master, StreamId::for_step(2, 0));
    let message = MaxPoolCorrelation::deal(&sizes, W, &mut s.helper_owner, &mut s.helper_client);
    let c0 = MaxPoolCorrelation::draw(&mut s.owner_helper, &sizes, W);
    let c1 = MaxPoolCorrelation::for_client(&sizes, W, &mut s.client_helper, message.into_words())
        .expect("dealt");
    let (x0, x1) = share(x, master + 1);
    let (p0, s0) = SecureMaxPool::start(Party::ModelOwner, &x0, windows, c0).expect("P0");
    let (p1, s1) = SecureMaxPool::start(Party::Client, &x1, windows, c1).expect("P1");
    let (z0, z1, transcript) = drive_pair((p0, s0), (p1, s1), |p, m| p.step(m).expect("step"));
    (reconstruct(&z0, &z1), transcript)
}

#[test]
fn the_rounds_of_every_tree_level_follow_the_ones_before() {
    let windows = geometry().windows();
    let x: Vec<u64> = (0..geometry().input_len() as u64).collect();
    let (_, transcript) = run_with_transcript(&x, &windows, 4);
    let levels = max_tree_sizes(&windows).len();
    let rounds: Vec<u16> = transcript.labels.iter().map(|(_, r)| *r).collect();
    let expected: Vec<u16> = (0..levels as u16 * W.rounds()).collect();
    assert_eq!(rounds, expected, "one round number per round, never reused");
}

#[test]
fn max_pool_matches_cleartext_with_padding_and_odd_windows() {
    let g = geometry();
    let windows = g.windows();
    let x: Vec<u64> = Prg::new(Seed::from_u64(1))
        .u64s(g.input_len())
        .iter()
        .map(|r| ((*r as i64) >> 30) as u64)
        .collect();
    let out = run(&x, &windows, 1);
    assert_eq!(out, ideal_max_pool(&x, &windows));
    // The reference itself: a window's maximum is one of its elements and ≥ all others.
    for (w, m) in windows.iter().zip(&out) {
        assert!(w.iter().any(|&i| x[i] == *m));
        assert!(w.iter().all(|&i| (x[i] as i64) <= *m as i64));
    }
}

#[test]
fn tree_sizes_follow_window_sizes() {
    assert_eq!(max_tree_sizes(&[vec![0, 1, 2, 3]]), vec![2, 1]);
    assert_eq!(max_tree_sizes(&[vec![0, 1, 2], vec![3]]), vec![1, 1]);
    assert!(max_tree_sizes(&[vec![0], vec![1]]).is_empty());
}

#[test]
fn max_pool_of_a_constant_input_is_that_constant() {
    // Every comparison is a tie: max(a, b) = b + ReLU(0) must give b.
    let g = geometry();
    let x = vec![42u64; g.input_len()];
    let out = run(&x, &g.windows(), 2);
    assert!(out.iter().all(|&v| v == 42));
}

#[test]
fn window_sums_are_linear_and_match_a_direct_sum() {
    let g = geometry();
    let x: Vec<u64> = (0..g.input_len() as u64).collect();
    let plane = g.out_height() * g.out_width();
    let (x0, x1) = share(&x, 3);
    let shared = reconstruct(&window_sums(&x0, &g), &window_sums(&x1, &g));
    assert_eq!(shared, window_sums(&x, &g));
    // Output 0 of channel 0: window rows 0..2, cols 0..2 (padding excluded) = 0+1+6+7.
    assert_eq!(shared[0], 14);
    // Channel 1, position 1: rows 0..2, cols 1..4 of plane 1 (offset 42).
    let direct: u64 = [0, 1, 2, 6, 7, 8].iter().map(|i| 42 + 1 + i).sum();
    assert_eq!(shared[plane + 1], direct);
    // Every output against a direct loop over the 7×6 planes: 3×3 windows, stride 2,
    // one row and column of padding, so a 4×3 output plane.
    let (h, w, out_w) = (7i64, 6i64, 3usize);
    assert_eq!(plane, 12);
    for (j, &got) in shared.iter().enumerate() {
        let (c, p) = (j / plane, j % plane);
        let (oy, ox) = ((p / out_w) as i64, (p % out_w) as i64);
        let mut sum = 0u64;
        for iy in (2 * oy - 1..=2 * oy + 1).filter(|iy| (0..h).contains(iy)) {
            for ix in (2 * ox - 1..=2 * ox + 1).filter(|ix| (0..w).contains(ix)) {
                sum += (c as i64 * h * w + iy * w + ix) as u64;
            }
        }
        assert_eq!(got, sum, "output {j}");
    }
}

#[test]
fn a_max_pool_correlation_is_one_relu_correlation_per_level_in_order() {
    // The runtime's single ReLU batch takes its correlation from into_levels().
    let levels =
        MaxPoolCorrelation::draw(&mut Prg::new(Seed::from_u64(4)), &[3, 1], W).into_levels();
    let mut prg = Prg::new(Seed::from_u64(4));
    let expected = [
        ReluCorrelation::draw(&mut prg, 3, W),
        ReluCorrelation::draw(&mut prg, 1, W),
    ];
    assert_eq!(levels, expected);
}

#[test]
fn the_max_tree_s_levels_are_the_batches_the_helper_deals_for() {
    // The share-holders run `MaxTree`'s levels; the helper deals for `max_tree_sizes`:
    // if the two disagreed, the honest helper would be blamed for a malformed message.
    let windows = geometry().windows();
    let x: Vec<u64> = (0..geometry().input_len() as u64).collect();
    let mut tree = MaxTree::new(&x, &windows);
    let mut levels = Vec::new();
    while let Some(differences) = tree.differences() {
        levels.push(differences.len());
        tree.combine(&vec![0; differences.len()]);
    }
    assert_eq!(levels, max_tree_sizes(&windows));
    assert!(
        levels.len() >= 3,
        "padding gives windows of 4, 6 and 9: {levels:?}"
    );
}
