//! Wrapping matrix product over Z_2^64, the hot kernel of every linear layer.
//!
//! Hand-written because no maintained crate multiplies u64 matrices modulo 2^64 (BLAS
//! libraries work on floats). The kernel is register-tiled: an 8×8 block of C lives in
//! registers while the inner dimension streams through a packed 8-column panel of B.
//! Written in plain wrapping arithmetic so that the compiler vectorizes it; `pulp`
//! (the safe runtime dispatch behind faer) compiles it a second time for AVX-512 and
//! picks that copy where the CPU has it, where `vpmullq` multiplies eight 64-bit lanes
//! at once (AVX2 has no 64-bit lane multiply). Measured on ResNet50's 64×576×3136
//! product on this project's 2-core Xeon: 74 ms scalar, 24 ms with AVX-512 (criterion
//! bench `cargo bench -p cryptflow-ring --bench gemm`). Elsewhere the same code runs
//! scalar (or AVX2-vectorized adds), with the same result bit for bit: wrapping
//! arithmetic has no rounding.

use rayon::prelude::*;

/// Rows of A and columns of B handled by one register tile (8 rows × one 8-lane
/// vector: eight independent accumulators, enough to hide the multiply's latency).
const TILE: usize = 8;

/// C = A·B (mod 2^64) for row-major A (m×k) and B (k×n).
///
/// # Panics
/// If the slice lengths do not match the dimensions (a programming error: callers pass
/// tensors whose shapes the compiler has checked).
pub fn matmul(a: &[u64], b: &[u64], m: usize, k: usize, n: usize) -> Vec<u64> {
    let mut c = vec![0u64; m * n];
    matmul_into(a, b, &mut c, m, k, n);
    c
}

/// C += A·B (mod 2^64); see [`matmul`].
pub fn matmul_into(a: &[u64], b: &[u64], c: &mut [u64], m: usize, k: usize, n: usize) {
    assert_eq!(a.len(), m * k, "A is not {m}x{k}");
    assert_eq!(b.len(), k * n, "B is not {k}x{n}");
    assert_eq!(c.len(), m * n, "C is not {m}x{n}");
    if k == 0 || m == 0 || n == 0 {
        // An empty sum (C is unchanged, and B has no rows to slice), or an empty C.
        return;
    }
    let threads = rayon::current_num_threads();
    if threads < 2 || m < 2 * TILE || m.saturating_mul(k).saturating_mul(n) < PARALLEL_MACS {
        pulp::Arch::new().dispatch(Product { a, b, c, m, k, n });
        return;
    }
    // Row blocks of C (and A) on the cores, each packing its own panels of B.
    let rows = m.div_ceil(threads).next_multiple_of(TILE);
    c.par_chunks_mut(rows * n)
        .zip(a.par_chunks(rows * k))
        .for_each(|(c, a)| {
            let m = c.len() / n;
            pulp::Arch::new().dispatch(Product { a, b, c, m, k, n });
        });
}

/// Products of at least this many multiply-adds run on all cores (rayon's pool): the
/// model owner's product is the online phase's only large computation, while the
/// other two parties wait for it. Smaller ones are not worth a fork.
const PARALLEL_MACS: usize = 1 << 22;

/// One product, for `pulp` to compile once per instruction set.
struct Product<'a> {
    a: &'a [u64],
    b: &'a [u64],
    c: &'a mut [u64],
    m: usize,
    k: usize,
    n: usize,
}

impl pulp::WithSimd for Product<'_> {
    type Output = ();

    // Everything below is `inline(always)`, so it is compiled inside pulp's
    // target-feature function, for its instruction set.
    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _: S) {
        let Product { a, b, c, m, k, n } = self;
        if n < TILE / 2 {
            columns_by_dot(a, b, c, (m, k, n));
        } else if m < TILE / 2 {
            rows_by_axpy(a, b, c, (m, k, n));
        } else {
            panels(a, b, c, (m, k, n));
        }
    }
}

/// C += A·B by 8×8 tiles: each 8-column panel of B is packed contiguous (k × 8 words,
/// zero beyond n) and every row tile of A runs over it, so B is read from memory once.
/// Rows of A past the last full tile are copied into a zero-padded tile.
#[inline(always)]
fn panels(a: &[u64], b: &[u64], c: &mut [u64], (m, k, n): (usize, usize, usize)) {
    let full_rows = m - m % TILE;
    let mut last_rows = vec![0u64; if full_rows < m { TILE * k } else { 0 }];
    last_rows[..(m - full_rows) * k].copy_from_slice(&a[full_rows * k..]);
    let mut panel = vec![0u64; k * TILE];
    for j in (0..n).step_by(TILE) {
        let cols = TILE.min(n - j);
        for (p, row) in panel.chunks_exact_mut(TILE).enumerate() {
            row[..cols].copy_from_slice(&b[p * n + j..p * n + j + cols]);
        }
        for i in (0..m).step_by(TILE) {
            let (tile, at) = if i < full_rows {
                (&a[i * k..(i + TILE) * k], i)
            } else {
                (&last_rows[..], full_rows)
            };
            let acc = tile_8x8(tile, &panel, k);
            for (r, acc_row) in acc.iter().enumerate().take(TILE.min(m - at)) {
                let c_row = &mut c[(at + r) * n + j..(at + r) * n + j + cols];
                for (cv, &v) in c_row.iter_mut().zip(acc_row) {
                    *cv = cv.wrapping_add(v);
                }
            }
        }
    }
}

/// A[8 rows, k] · P for a packed panel P (k × 8): the tile's sums.
#[inline(always)]
fn tile_8x8(rows: &[u64], panel: &[u64], k: usize) -> [[u64; TILE]; TILE] {
    let mut acc = [[0u64; TILE]; TILE];
    let rows: [&[u64]; TILE] = std::array::from_fn(|r| &rows[r * k..(r + 1) * k]);
    for (p, bp) in panel.chunks_exact(TILE).enumerate() {
        for (acc_row, row) in acc.iter_mut().zip(&rows) {
            let av = row[p];
            for (acc, &bv) in acc_row.iter_mut().zip(bp) {
                *acc = acc.wrapping_add(av.wrapping_mul(bv));
            }
        }
    }
    acc
}

/// C += A·B for an A of few rows (a depthwise convolution's one filter per group):
/// each row of C adds a multiple of every row of B, where padding A to a tile would
/// multiply mostly zeros.
#[inline(always)]
fn rows_by_axpy(a: &[u64], b: &[u64], c: &mut [u64], (m, k, n): (usize, usize, usize)) {
    for (a_row, c_row) in a.chunks_exact(k).zip(c.chunks_exact_mut(n)).take(m) {
        for (&av, b_row) in a_row.iter().zip(b.chunks_exact(n)) {
            for (cv, &bv) in c_row.iter_mut().zip(b_row) {
                *cv = cv.wrapping_add(av.wrapping_mul(bv));
            }
        }
    }
}

/// C += A·B for a B of few columns (a matrix–vector product, a fully connected layer
/// on one input): each column of B is gathered contiguous and dotted with every row of
/// A, where padding B to a tile would multiply mostly zeros.
#[inline(always)]
fn columns_by_dot(a: &[u64], b: &[u64], c: &mut [u64], (m, k, n): (usize, usize, usize)) {
    let mut column = vec![0u64; k];
    for j in 0..n {
        for (p, v) in column.iter_mut().enumerate() {
            *v = b[p * n + j];
        }
        for (r, a_row) in a.chunks_exact(k).enumerate().take(m) {
            let dot = a_row
                .iter()
                .zip(&column)
                .fold(0u64, |acc, (x, y)| acc.wrapping_add(x.wrapping_mul(*y)));
            c[r * n + j] = c[r * n + j].wrapping_add(dot);
        }
    }
}

/// C += A·B over reals (f64), for the float reference; not a hot path.
pub fn matmul_real_into(a: &[f64], b: &[f64], c: &mut [f64], m: usize, k: usize, n: usize) {
    for i in 0..m {
        let c_row = &mut c[i * n..(i + 1) * n];
        for (p, &av) in a[i * k..(i + 1) * k].iter().enumerate() {
            for (cv, &bv) in c_row.iter_mut().zip(&b[p * n..(p + 1) * n]) {
                *cv += av * bv;
            }
        }
    }
}

/// Transposes a row-major `rows×cols` matrix.
pub fn transpose<T: Copy + Default>(a: &[T], rows: usize, cols: usize) -> Vec<T> {
    let mut t = vec![T::default(); a.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = a[r * cols + c];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn naive(a: &[u64], b: &[u64], m: usize, k: usize, n: usize) -> Vec<u64> {
        let mut c = vec![0u64; m * n];
        for i in 0..m {
            for j in 0..n {
                for p in 0..k {
                    c[i * n + j] =
                        c[i * n + j].wrapping_add(a[i * k + p].wrapping_mul(b[p * n + j]));
                }
            }
        }
        c
    }

    proptest! {
        #[test]
        fn matches_naive_product(m in 1usize..21, k in 1usize..9, n in 1usize..21, seed: u64) {
            let mut prg = crate::Prg::new(crate::Seed::from_u64(seed));
            let a = prg.u64s(m * k);
            let b = prg.u64s(k * n);
            prop_assert_eq!(matmul(&a, &b, m, k, n), naive(&a, &b, m, k, n));
        }

        #[test]
        fn the_scalar_build_matches_too(m in 1usize..21, k in 1usize..9, n in 1usize..21, seed: u64) {
            // The copy a CPU without AVX-512 runs (the dispatched one is tested above).
            let mut prg = crate::Prg::new(crate::Seed::from_u64(seed));
            let (a, b) = (prg.u64s(m * k), prg.u64s(k * n));
            let mut c = vec![0u64; m * n];
            pulp::WithSimd::with_simd(Product { a: &a, b: &b, c: &mut c, m, k, n }, pulp::Scalar::new());
            prop_assert_eq!(c, naive(&a, &b, m, k, n));
        }
    }

    #[test]
    fn a_product_large_enough_for_all_cores_matches_naive() {
        // Over PARALLEL_MACS, with a row count that leaves the last block short.
        let (m, k, n) = (43, 300, 400);
        assert!(m * k * n >= PARALLEL_MACS);
        let mut prg = crate::Prg::new(crate::Seed::from_u64(77));
        let (a, b) = (prg.u64s(m * k), prg.u64s(k * n));
        let mut c = prg.u64s(m * n);
        let mut expected = naive(&a, &b, m, k, n);
        expected
            .iter_mut()
            .zip(&c)
            .for_each(|(e, c0)| *e = e.wrapping_add(*c0));
        matmul_into(&a, &b, &mut c, m, k, n);
        assert_eq!(c, expected);
    }

    #[test]
    fn an_empty_inner_dimension_adds_nothing() {
        for (m, n) in [(4, 8), (8, 4), (5, 5)] {
            let mut c = vec![7u64; m * n];
            matmul_into(&[], &[], &mut c, m, 0, n);
            assert_eq!(c, vec![7u64; m * n], "{m}x0x{n}");
        }
    }

    #[test]
    fn transpose_twice_is_identity() {
        let a: Vec<u64> = (0..12).collect();
        assert_eq!(transpose(&transpose(&a, 3, 4), 4, 3), a);
        assert_eq!(transpose(&a, 3, 4)[1], 4);
    }
}
