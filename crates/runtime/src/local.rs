//! Kernels that are local on shares and identical in the clear: they are linear with
//! public coefficients. Constants the model owner holds (biases) are added by P0 only;
//! in the clear "P0 only" is simply "once".

pub use cryptflow_ring::layout::{concat, pad, slice, transpose};

/// Adds a per-channel bias to a `[channels, plane]` tensor.
pub fn add_channel_bias(values: &mut [u64], bias: &[u64]) {
    let plane = values.len() / bias.len().max(1);
    for (channel, chunk) in values.chunks_mut(plane.max(1)).enumerate() {
        let b = bias[channel % bias.len()];
        chunk.iter_mut().for_each(|v| *v = v.wrapping_add(b));
    }
}

/// Adds a bias to each row of a `[rows, out]` tensor.
pub fn add_row_bias(values: &mut [u64], bias: &[u64]) {
    for row in values.chunks_mut(bias.len().max(1)) {
        row.iter_mut()
            .zip(bias)
            .for_each(|(v, b)| *v = v.wrapping_add(*b));
    }
}

/// Elementwise `a + b`.
pub fn add(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(a, b)| a.wrapping_add(*b)).collect()
}

/// Elementwise `a − b`.
pub fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(a, b)| a.wrapping_sub(*b)).collect()
}

/// Elementwise `a · b` (a public or model-owner factor times a share).
pub fn mul(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(a, b)| a.wrapping_mul(*b)).collect()
}

/// The index into the second factor of each element of a product (NumPy broadcasting
/// of `y_shape` to `x_shape`). Programs are validated before they run, which checks the
/// shapes broadcast; were one not, the empty map gives an empty product rather than an
/// index out of bounds.
pub(crate) fn product_map(x_shape: &[usize], y_shape: &[usize]) -> Vec<usize> {
    cryptflow_ring::layout::broadcast_map(y_shape, x_shape).unwrap_or_default()
}

/// `x ⊙ y[map]` in any ring or field (the clear and float runs).
pub(crate) fn broadcast_mul<T: Copy + std::ops::Mul<Output = T>>(
    x: &[T],
    y: &[T],
    map: &[usize],
) -> Vec<T> {
    x.iter().zip(map).map(|(&a, &j)| a * y[j]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn biases_go_to_their_channel_and_column() {
        let mut v = vec![0u64; 6];
        add_channel_bias(&mut v, &[1, 2]);
        assert_eq!(v, vec![1, 1, 1, 2, 2, 2]);
        let mut m = vec![0u64; 6];
        add_row_bias(&mut m, &[1, 2, 3]);
        assert_eq!(m, vec![1, 2, 3, 1, 2, 3]);
    }
}
