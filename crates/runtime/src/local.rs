//! Kernels that are local on shares and identical in the clear: they are linear with
//! public coefficients. Constants the model owner holds (biases) are added by P0 only;
//! in the clear "P0 only" is simply "once".

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

/// Elementwise `a − b`.
pub fn sub(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(a, b)| a.wrapping_sub(*b)).collect()
}

/// Elementwise `a · b` (a public or model-owner factor times a share).
pub fn mul(a: &[u64], b: &[u64]) -> Vec<u64> {
    a.iter().zip(b).map(|(a, b)| a.wrapping_mul(*b)).collect()
}

/// Concatenates tensors of the given shapes along `axis`.
pub fn concat<T: Copy>(parts: &[(&[T], &[usize])], axis: usize) -> Vec<T> {
    let outer: usize = parts.first().map_or(1, |(_, s)| s[..axis].iter().product());
    let mut out = Vec::with_capacity(parts.iter().map(|(d, _)| d.len()).sum());
    for o in 0..outer {
        for (data, shape) in parts {
            let block: usize = shape[axis..].iter().product();
            out.extend_from_slice(&data[o * block..(o + 1) * block]);
        }
    }
    out
}

/// Permutes the axes of a tensor of `shape`: output axis i is input axis `perm[i]`.
pub fn transpose<T: Copy>(data: &[T], shape: &[usize], perm: &[usize]) -> Vec<T> {
    let rank = shape.len();
    let mut strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut index = vec![0usize; rank];
    let mut out = Vec::with_capacity(data.len());
    for _ in 0..data.len() {
        let source: usize = (0..rank).map(|i| index[i] * strides[perm[i]]).sum();
        out.push(data[source]);
        for axis in (0..rank).rev() {
            index[axis] += 1;
            if index[axis] < out_shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

/// Pads a tensor of `shape` with `fill`; `pads` holds all begins, then all ends.
pub fn pad<T: Copy>(data: &[T], shape: &[usize], pads: &[usize], fill: T) -> Vec<T> {
    let rank = shape.len();
    let out_shape: Vec<usize> = (0..rank)
        .map(|i| shape[i] + pads[i] + pads[rank + i])
        .collect();
    let total: usize = out_shape.iter().product();
    let mut out = vec![fill; total];
    let mut index = vec![0usize; rank];
    for &value in data {
        let mut target = 0;
        for axis in 0..rank {
            target = target * out_shape[axis] + index[axis] + pads[axis];
        }
        out[target] = value;
        for axis in (0..rank).rev() {
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

#[cfg(test)]
mod layout_tests {
    use super::*;

    #[test]
    fn concat_along_channels_and_last_axis() {
        let a = [1, 2, 3, 4];
        let b = [5, 6];
        // [1, 2, 2] ++ [1, 1, 2] along axis 1.
        assert_eq!(
            concat(&[(&a, &[1, 2, 2]), (&b, &[1, 1, 2])], 1),
            vec![1, 2, 3, 4, 5, 6]
        );
        // [2, 2] ++ [2, 1] along axis 1.
        assert_eq!(
            concat(&[(&a, &[2, 2]), (&b, &[2, 1])], 1),
            vec![1, 2, 5, 3, 4, 6]
        );
    }

    #[test]
    fn transpose_matches_index_definition() {
        // shape [2, 3, 4], perm [2, 0, 1]: out[k][i][j] = in[i][j][k].
        let data: Vec<u64> = (0..24).collect();
        let out = transpose(&data, &[2, 3, 4], &[2, 0, 1]);
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..4 {
                    assert_eq!(out[(k * 2 + i) * 3 + j], data[(i * 3 + j) * 4 + k]);
                }
            }
        }
    }

    #[test]
    fn pad_places_the_input_inside_the_fill() {
        // [1, 2] padded by one column left and two right: [[9, 1, 2, 9, 9]].
        assert_eq!(pad(&[1, 2], &[1, 2], &[0, 1, 0, 2], 9), vec![9, 1, 2, 9, 9]);
        let out = pad(&[1, 2, 3, 4], &[2, 2], &[1, 0, 0, 1], 0);
        assert_eq!(out, vec![0, 0, 0, 1, 2, 0, 3, 4, 0]);
    }
}
