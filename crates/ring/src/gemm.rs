//! Wrapping matrix product over Z_2^64, the hot kernel of every linear layer.
//!
//! Hand-written because no maintained crate multiplies u64 matrices modulo 2^64 (BLAS
//! libraries work on floats). x86-64 AVX2 has no 64-bit lane multiply, so the kernel is a
//! scalar register-tiled one: a 4×4 block of C lives in registers while the inner
//! dimension streams through, which keeps the multipliers busy instead of the caches.

/// Rows of A and columns of B handled by one register tile.
const TILE: usize = 4;

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
    if k == 0 {
        // An empty sum: C is unchanged (and B has no rows to slice).
        return;
    }
    let full_rows = m - m % TILE;
    let full_cols = n - n % TILE;
    if m <= n {
        // A is the smaller operand: hold one 4-column panel of B, packed contiguous
        // (k × 4 words, in L1/L2), and run every row tile over it, so B is read from
        // memory once and A (the smaller) is the one streamed again per panel. The
        // other order walks B's columns with stride n for every row tile, which for
        // ResNet50's early layers (B = 576 × 3136 words) is 3× slower.
        let mut panel = vec![0u64; k * TILE];
        for j in (0..full_cols).step_by(TILE) {
            for (p, row) in panel.chunks_exact_mut(TILE).enumerate() {
                row.copy_from_slice(&b[p * n + j..p * n + j + TILE]);
            }
            for i in (0..full_rows).step_by(TILE) {
                tile_4x4(a, &panel, c, (i, j), k, (TILE, n));
            }
        }
        for i in (0..full_rows).step_by(TILE) {
            for j in full_cols..n {
                for r in i..i + TILE {
                    c[r * n + j] = c[r * n + j].wrapping_add(dot_column(a, b, r, j, k, n));
                }
            }
        }
        remaining_rows(a, b, c, full_rows, k, n);
        return;
    }
    for i in (0..full_rows).step_by(TILE) {
        for j in (0..full_cols).step_by(TILE) {
            tile_4x4(a, &b[j..], c, (i, j), k, (n, n));
        }
        for j in full_cols..n {
            for r in i..i + TILE {
                c[r * n + j] = c[r * n + j].wrapping_add(dot_column(a, b, r, j, k, n));
            }
        }
    }
    remaining_rows(a, b, c, full_rows, k, n);
}

/// C's rows from `first` on (fewer than a tile), row by row.
fn remaining_rows(a: &[u64], b: &[u64], c: &mut [u64], first: usize, k: usize, n: usize) {
    let m = c.len() / n.max(1);
    for r in first..m {
        let a_row = &a[r * k..(r + 1) * k];
        let c_row = &mut c[r * n..(r + 1) * n];
        for (p, &av) in a_row.iter().enumerate() {
            let b_row = &b[p * n..(p + 1) * n];
            for (cv, &bv) in c_row.iter_mut().zip(b_row) {
                *cv = cv.wrapping_add(av.wrapping_mul(bv));
            }
        }
    }
}

fn dot_column(a: &[u64], b: &[u64], row: usize, col: usize, k: usize, n: usize) -> u64 {
    let a_row = &a[row * k..(row + 1) * k];
    a_row.iter().enumerate().fold(0u64, |acc, (p, &av)| {
        acc.wrapping_add(av.wrapping_mul(b[p * n + col]))
    })
}

/// C[i..i+4, j..j+4] += A[i..i+4, :] · B', where row p of B' is
/// `b[p · b_stride .. p · b_stride + 4]` (B itself from column j, or a packed panel).
#[inline(always)]
fn tile_4x4(
    a: &[u64],
    b: &[u64],
    c: &mut [u64],
    (i, j): (usize, usize),
    k: usize,
    (b_stride, n): (usize, usize),
) {
    let mut acc = [[0u64; TILE]; TILE];
    let rows = [
        &a[i * k..(i + 1) * k],
        &a[(i + 1) * k..(i + 2) * k],
        &a[(i + 2) * k..(i + 3) * k],
        &a[(i + 3) * k..(i + 4) * k],
    ];
    for p in 0..k {
        let bp = &b[p * b_stride..p * b_stride + TILE];
        for r in 0..TILE {
            let av = rows[r][p];
            for s in 0..TILE {
                acc[r][s] = acc[r][s].wrapping_add(av.wrapping_mul(bp[s]));
            }
        }
    }
    for (r, acc_row) in acc.iter().enumerate() {
        let c_row = &mut c[(i + r) * n + j..(i + r) * n + j + TILE];
        for (cv, &v) in c_row.iter_mut().zip(acc_row) {
            *cv = cv.wrapping_add(v);
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
        fn matches_naive_product(m in 1usize..11, k in 1usize..9, n in 1usize..11, seed: u64) {
            let mut prg = crate::Prg::new(crate::Seed::from_u64(seed));
            let a = prg.u64s(m * k);
            let b = prg.u64s(k * n);
            prop_assert_eq!(matmul(&a, &b, m, k, n), naive(&a, &b, m, k, n));
        }
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
