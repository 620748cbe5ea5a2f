use super::*;
use crate::testing::{reconstruct, run_pair, share, streams};
use crate::StreamId;
use cryptflow_ring::Seed;

/// Runs the whole protocol on shares of x and y; returns both output shares.
fn run(x: &[u64], y: &[u64], map: &[usize], master: u64) -> (Vec<u64>, Vec<u64>) {
    let shape = ProductShape {
        map,
        y_len: y.len(),
    };
    let mut s = streams(master, StreamId::for_step(5, 2));
    let correction = deal(&shape, &mut s.helper_owner, &mut s.helper_client);
    let t0 = TripleShare::for_owner(&shape, &mut s.owner_helper);
    let t1 = TripleShare::for_client(&shape, &mut s.client_helper, correction.into_words())
        .expect("sized");
    let ((x0, x1), (y0, y1)) = (share(x, master + 1), share(y, master + 2));
    let p0 = SecureProduct::start(Party::ModelOwner, &shape, (&x0, &y0), t0).expect("P0");
    let p1 = SecureProduct::start(Party::Client, &shape, (&x1, &y1), t1).expect("P1");
    let (p0, m0) = (ProductStep::new(p0.0), p0.1);
    let (p1, m1) = (ProductStep::new(p1.0), p1.1);
    let (z0, z1, transcript) = run_pair((p0, m0), (p1, m1), |p, m| p.step(m).expect("step"));
    assert_eq!(transcript.owner.len(), 1, "one round");
    assert_eq!(
        transcript.owner[0].len(),
        x.len() + y.len(),
        "|X| + |Y| words"
    );
    (z0, z1)
}

#[test]
fn elementwise_product_matches_cleartext_bit_exactly() {
    let mut data = Prg::new(Seed::from_u64(31));
    let (x, y) = (data.u64s(17), data.u64s(17));
    let map: Vec<usize> = (0..17).collect();
    let (z0, z1) = run(&x, &y, &map, 1);
    // Independent reference: the wrapping product of each pair.
    let expected: Vec<u64> = (0..17).map(|i| x[i].wrapping_mul(y[i])).collect();
    assert_eq!(reconstruct(&z0, &z1), expected);
    assert_eq!(ideal_product(&x, &y, &map), expected);
}

#[test]
fn a_broadcast_factor_matches_cleartext_and_opens_its_own_size() {
    // X [2 channels, 3 positions] times a per-channel Y [2].
    let mut data = Prg::new(Seed::from_u64(32));
    let (x, y) = (data.u64s(6), data.u64s(2));
    let map = [0, 0, 0, 1, 1, 1];
    let (z0, z1) = run(&x, &y, &map, 2);
    let expected: Vec<u64> = (0..6).map(|i| x[i].wrapping_mul(y[i / 3])).collect();
    assert_eq!(reconstruct(&z0, &z1), expected);
}

#[test]
fn fixed_point_values_multiply_to_scale_twice() {
    // 1.5 · −2.25 at scale 8: −3.375 at scale 16, exactly.
    let enc = |v: f64, s: u32| (v * f64::from(1u32 << s)).round() as i64 as u64;
    let (z0, z1) = run(&[enc(1.5, 8)], &[enc(-2.25, 8)], &[0], 3);
    assert_eq!(reconstruct(&z0, &z1)[0] as i64, enc(-3.375, 16) as i64);
}

#[test]
fn a_malformed_opening_or_correction_is_refused_naming_its_sender() {
    let map = [0, 1];
    let shape = ProductShape {
        map: &map,
        y_len: 2,
    };
    let mut s = streams(4, StreamId::for_step(1, 2));
    let err =
        TripleShare::for_client(&shape, &mut s.client_helper, vec![0; 3]).expect_err("3 of 2");
    assert!(err.to_string().contains("P2"), "{err}");
    assert!(err.to_string().contains("multiplication-triple"), "{err}");
    let t0 = TripleShare::for_owner(&shape, &mut s.owner_helper);
    let (p0, _) = SecureProduct::start(Party::ModelOwner, &shape, (&[1, 2], &[3, 4]), t0.clone())
        .expect("P0");
    let err = p0.finish(vec![0; 3]).expect_err("3 of 4 words");
    assert_eq!(
        err,
        ProtocolError::MalformedMessage {
            from: Party::Client,
            message: "product opening",
            expected: 4,
            actual: 3,
        }
    );
    let err = SecureProduct::start(Party::Helper, &shape, (&[1, 2], &[3, 4]), t0.clone());
    assert!(matches!(err, Err(ProtocolError::WrongParty { .. })));
    let short = SecureProduct::start(Party::ModelOwner, &shape, (&[1], &[3, 4]), t0.clone());
    assert!(short.is_err(), "an X unlike the shape");
    let outside = ProductShape {
        map: &[0, 2],
        y_len: 2,
    };
    let err = SecureProduct::start(Party::ModelOwner, &outside, (&[1, 2], &[3, 4]), t0);
    assert!(err.is_err(), "a map index outside Y");
}

#[test]
fn a_matrix_product_of_two_shared_matrices_matches_cleartext_bit_exactly() {
    let f = MatrixProduct {
        rows: 3,
        inner: 4,
        cols: 2,
    };
    let mut data = Prg::new(Seed::from_u64(33));
    let (x, y) = (data.u64s(12), data.u64s(8));
    let mut s = streams(6, StreamId::for_step(2, 2));
    let correction = deal(&f, &mut s.helper_owner, &mut s.helper_client);
    let t0 = TripleShare::for_owner(&f, &mut s.owner_helper);
    let t1 =
        TripleShare::for_client(&f, &mut s.client_helper, correction.into_words()).expect("sized");
    let ((x0, x1), (y0, y1)) = (share(&x, 7), share(&y, 8));
    let (p0, m0) = SecureProduct::start(Party::ModelOwner, &f, (&x0, &y0), t0).expect("P0");
    let (p1, m1) = SecureProduct::start(Party::Client, &f, (&x1, &y1), t1).expect("P1");
    assert_eq!(m0.words.len(), 12 + 8, "|X| + |Y| words");
    let z0 = p0.finish(m1.words).expect("P0");
    let z1 = p1.finish(m0.words).expect("P1");
    // Independent reference: Z[r][c] = Σ_i X[r][i]·Y[i][c].
    let expected: Vec<u64> = (0..6)
        .map(|idx| {
            let (r, c) = (idx / 2, idx % 2);
            (0..4).fold(0u64, |acc, i| {
                acc.wrapping_add(x[r * 4 + i].wrapping_mul(y[i * 2 + c]))
            })
        })
        .collect();
    assert_eq!(reconstruct(&z0, &z1), expected);
}
