use super::*;
use crate::testing::{reconstruct, share, streams, subtract};
use crate::StreamId;
use cryptflow_ring::Seed;

/// Runs the whole protocol; returns P0's and P1's output shares.
fn run<F: Bilinear>(f: &F, w: &[u64], x: &[u64], master: u64) -> (Vec<u64>, Vec<u64>) {
    let setup = streams(master, StreamId::for_weight(0));
    let mut s = streams(master, StreamId::for_step(3, 0));
    let (x0, x1) = share(x, master + 100);
    // Setup: P0 and the helper draw B; P0 sends F.
    let b_owner = weight_mask(f.weight_len(), &mut { setup.owner_helper });
    let b_helper = weight_mask(f.weight_len(), &mut { setup.helper_owner });
    let masked = receive_masked_weight(masked_weight(w, b_owner).into_words(), f.weight_len())
        .expect("setup");
    // One use.
    let c1 = deal(f, &b_helper, &mut s.helper_owner, &mut s.helper_client);
    let (client, e) = client_start(f, &x1, &mut s.client_helper);
    let z0 = owner_finish(f, w, &x0, e.into_words(), &mut s.owner_helper).expect("owner");
    let z1 = client
        .finish(f, masked.words(), c1.into_words())
        .expect("client");
    (z0, z1)
}

fn conv_geometry() -> ConvGeometry {
    ConvGeometry {
        in_channels: 4,
        in_height: 9,
        in_width: 8,
        out_channels: 6,
        kernel: [3, 3],
        strides: [2, 1],
        pads: [1, 1, 1, 1],
        dilations: [1, 1],
        groups: 2,
    }
}

#[test]
fn convolution_matches_cleartext_bit_exactly() {
    let g = conv_geometry();
    let mut data = Prg::new(Seed::from_u64(11));
    let (w, x) = (data.u64s(g.weight_len()), data.u64s(g.input_len()));
    let (z0, z1) = run(&g, &w, &x, 1);
    assert_eq!(reconstruct(&z0, &z1), conv::conv2d(&g, &x, &w));
}

#[test]
fn matrix_product_matches_cleartext_bit_exactly() {
    let mut data = Prg::new(Seed::from_u64(12));
    for rows in [1, 3] {
        let f = MatMulShape {
            rows,
            inner: 7,
            out: 5,
        };
        let (w, x) = (data.u64s(f.weight_len()), data.u64s(f.input_len()));
        let (z0, z1) = run(&f, &w, &x, 2);
        // Independent reference: Y[r][o] = Σ_i X[r][i]·W[o][i].
        let expected: Vec<u64> = (0..rows * 5)
            .map(|idx| {
                let (r, o) = (idx / 5, idx % 5);
                (0..7).fold(0u64, |acc, i| {
                    acc.wrapping_add(x[r * 7 + i].wrapping_mul(w[o * 7 + i]))
                })
            })
            .collect();
        assert_eq!(reconstruct(&z0, &z1), expected);
    }
}

#[test]
fn elementwise_product_matches_cleartext_bit_exactly() {
    let f = Elementwise { len: 9 };
    assert_eq!((f.input_len(), f.weight_len(), f.output_len()), (9, 9, 9));
    let mut data = Prg::new(Seed::from_u64(14));
    let (w, x) = (data.u64s(9), data.u64s(9));
    let (z0, z1) = run(&f, &w, &x, 5);
    let expected: Vec<u64> = (0..9).map(|i| w[i].wrapping_mul(x[i])).collect();
    assert_eq!(reconstruct(&z0, &z1), expected);
}

#[test]
fn wrong_length_messages_are_rejected() {
    let f = MatMulShape {
        rows: 1,
        inner: 3,
        out: 2,
    };
    let mut prg = Prg::new(Seed::from_u64(1));
    let err = owner_finish(&f, &[0; 6], &[0; 3], vec![0; 2], &mut prg).unwrap_err();
    assert_eq!(
        err,
        ProtocolError::MalformedMessage {
            from: Party::Client,
            message: "masked input",
            expected: 3,
            actual: 2
        }
    );
    assert!(receive_masked_weight(vec![0; 5], 6).is_err());
}

/// Where each block's weight mask comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum BlockMasks {
    /// The next words of the weight's mask stream (the protocol).
    Continued,
    /// Broken: every block's B from the start of the stream again, one pad reused.
    Restarted,
}

/// The protocol with W, F and B in blocks of `per_block` output units: P0 masks and
/// sends F block by block, the helper draws B block by block from the same stream.
/// Returns P0's and P1's shares and the blocks of F that P1 received.
fn run_blocked<F: Bilinear>(
    f: &F,
    w: &[u64],
    x: &[u64],
    master: u64,
    per_block: usize,
    masks: BlockMasks,
) -> (Vec<u64>, Vec<u64>, Vec<Vec<u64>>) {
    let setup = || streams(master, StreamId::for_weight(0));
    let (mut owner_masks, mut helper_masks) = (setup().owner_helper, setup().helper_owner);
    let mut s = streams(master, StreamId::for_step(3, 0));
    let (x0, x1) = share(x, master + 100);
    let (mut client, e) = client_start(f, &x1, &mut s.client_helper);
    let mut owner = OwnerLinear::start(f, &x0, e.into_words(), &mut s.owner_helper).expect("owner");
    let mut dealer = Dealer::start(f, &mut s.helper_owner, &mut s.helper_client);
    let unit = unit_len(f);
    let mut received = Vec::new();
    for units in blocks(f, Some(per_block)) {
        if masks == BlockMasks::Restarted {
            (owner_masks, helper_masks) = (setup().owner_helper, setup().helper_owner);
        }
        let words = units.start * unit..units.end * unit;
        let mask = weight_mask(words.len(), &mut owner_masks);
        let sent = masked_weight(&w[words.clone()], mask).into_words();
        let masked = receive_masked_weight(sent, words.len()).expect("a block of F");
        client.add_block(f, units.clone(), masked.words());
        received.push(masked.into_words());
        owner.add_block(f, units.clone(), &w[words.clone()]);
        dealer.add_block(f, units, &weight_mask(words.len(), &mut helper_masks));
    }
    let c1 = dealer.finish().into_words();
    let z1 = client.finish_blocks(f, c1).expect("client");
    (owner.finish(), z1, received)
}

/// P1's view of a blocked weight: with B continued from block to block, the
/// difference of two blocks of F says nothing of W; with one pad reused (the broken
/// variant, which still computes the right product) it is W₀ − W₁, learnt by P1.
#[test]
fn a_mask_reused_across_weight_blocks_is_caught_by_the_client() {
    let f = MatMulShape {
        rows: 1,
        inner: 4,
        out: 4,
    };
    let mut data = Prg::new(Seed::from_u64(23));
    let (w, x) = (data.u64s(f.weight_len()), data.u64s(f.input_len()));
    let weight_difference = subtract(&w[..8], &w[8..]);
    for masks in [BlockMasks::Continued, BlockMasks::Restarted] {
        let (z0, z1, seen) = run_blocked(&f, &w, &x, 9, 2, masks);
        assert_eq!(reconstruct(&z0, &z1), f.apply(&w, &x), "{masks:?} computes");
        let leaked = subtract(&seen[0], &seen[1]) == weight_difference;
        assert_eq!(leaked, masks == BlockMasks::Restarted, "{masks:?}");
    }
}

/// Blocking splits the sums, not the randomness: every block size gives each party
/// the share of the whole run, bit for bit (uneven last blocks included).
#[test]
fn blocked_weights_give_the_shares_of_the_whole_run() {
    let conv = ConvGeometry {
        groups: 1,
        ..conv_geometry()
    };
    assert_eq!(conv.units(), 6);
    let product = MatMulShape {
        rows: 3,
        inner: 7,
        out: 5,
    };
    let mut data = Prg::new(Seed::from_u64(21));
    let (w, x) = (data.u64s(conv.weight_len()), data.u64s(conv.input_len()));
    let whole = run(&conv, &w, &x, 7);
    assert_eq!(reconstruct(&whole.0, &whole.1), conv::conv2d(&conv, &x, &w));
    for per_block in [1, 2, 4, 6, 100] {
        let (z0, z1, _) = run_blocked(&conv, &w, &x, 7, per_block, BlockMasks::Continued);
        assert_eq!((z0, z1), whole, "{per_block}");
    }
    let (w, x) = (
        data.u64s(product.weight_len()),
        data.u64s(product.input_len()),
    );
    let whole = run(&product, &w, &x, 8);
    for per_block in [1, 2, 3, 5] {
        let (z0, z1, _) = run_blocked(&product, &w, &x, 8, per_block, BlockMasks::Continued);
        assert_eq!((z0, z1), whole, "{per_block}");
    }
}

#[test]
fn blocks_cover_the_units_in_order_and_unsplittable_maps_are_one() {
    let product = MatMulShape {
        rows: 1,
        inner: 2,
        out: 5,
    };
    let got: Vec<_> = blocks(&product, Some(2)).collect();
    assert_eq!(got, [0..2, 2..4, 4..5]);
    assert_eq!(blocks(&product, None).collect::<Vec<_>>(), vec![0..5]);
    assert_eq!(unit_len(&product), 2);
    // Grouped convolutions and elementwise products are one block whatever is asked.
    assert_eq!(conv_geometry().units(), 1);
    let f = Elementwise { len: 9 };
    assert_eq!(blocks(&f, Some(2)).collect::<Vec<_>>(), vec![0..1]);
}

#[test]
fn prepared_before_the_input_gives_the_same_message_and_share() {
    // The offline/online split: P1's f(F, A) + C₁ computed before X₁ exists, then E
    // and Z₁ from X₁; same words as the interleaved run, and a correct product.
    let g = conv_geometry();
    let mut data = Prg::new(Seed::from_u64(21));
    let (w, x) = (data.u64s(g.weight_len()), data.u64s(g.input_len()));
    let setup = streams(5, StreamId::for_weight(0));
    let b = weight_mask(g.weight_len(), &mut { setup.owner_helper });
    let masked = masked_weight(&w, b.clone());
    let (x0, x1) = share(&x, 105);
    let interleaved = {
        let mut s = streams(5, StreamId::for_step(3, 0));
        let c1 = deal(&g, &b, &mut s.helper_owner, &mut s.helper_client);
        let (client, e) = client_start(&g, &x1, &mut s.client_helper);
        let z1 = client
            .finish(&g, masked.words(), c1.into_words())
            .expect("client");
        (e.into_words(), z1)
    };
    let mut s = streams(5, StreamId::for_step(3, 0));
    let c1 = deal(&g, &b, &mut s.helper_owner, &mut s.helper_client);
    let prepared = client_prepare(&g, masked.words(), &mut s.client_helper, c1.into_words())
        .expect("prepared");
    assert_eq!(prepared.input_len(), g.input_len());
    let (z1, e) = prepared.finish(&x1);
    let e = e.into_words();
    assert_eq!((e.clone(), z1.clone()), interleaved);
    let z0 = owner_finish(&g, &w, &x0, e, &mut s.owner_helper).expect("owner");
    assert_eq!(reconstruct(&z0, &z1), conv::conv2d(&g, &x, &w));
}

#[test]
fn a_prepared_use_refuses_a_short_correction() {
    let f = MatMulShape {
        rows: 1,
        inner: 3,
        out: 2,
    };
    let mut s = streams(6, StreamId::for_step(1, 0));
    let error = client_prepare(&f, &[0; 6], &mut s.client_helper, vec![0; 1]).unwrap_err();
    assert!(matches!(
        error,
        ProtocolError::MalformedMessage {
            from: Party::Helper,
            expected: 2,
            actual: 1,
            ..
        }
    ));
}
