//! Data movement on row-major tensors of any element type: concatenation, axis
//! permutation, constant padding, strided slicing. Shared by the compiler (folding constants), the
//! cleartext and float runs, and the share-holders (on shares: these are linear).

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

/// One axis of a strided slice: element `begin + k·step` for k in 0..count.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SliceAxis {
    pub begin: usize,
    pub step: i64,
    pub count: usize,
}

impl SliceAxis {
    /// Whether every index the axis takes lies in `0..dim`.
    pub fn fits(&self, dim: usize) -> bool {
        let last = i128::from(self.step) * (self.count as i128 - 1) + self.begin as i128;
        self.step != 0
            && (self.count == 0 || (self.begin < dim && (0..dim as i128).contains(&last)))
    }
}

/// The strided slice of a tensor of `shape`, one [`SliceAxis`] per axis (each checked
/// with [`SliceAxis::fits`] by the caller).
pub fn slice<T: Copy>(data: &[T], shape: &[usize], axes: &[SliceAxis]) -> Vec<T> {
    let rank = shape.len();
    let mut strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * shape[i + 1];
    }
    let total: usize = axes.iter().map(|a| a.count).product();
    let mut out = Vec::with_capacity(total);
    let mut index = vec![0usize; rank];
    for _ in 0..total {
        let source: usize = (0..rank)
            .map(|i| {
                let at = axes[i].begin as i64 + axes[i].step * index[i] as i64;
                at as usize * strides[i]
            })
            .sum();
        out.push(data[source]);
        for axis in (0..rank).rev() {
            index[axis] += 1;
            if index[axis] < axes[axis].count {
                break;
            }
            index[axis] = 0;
        }
    }
    out
}

/// Whether a tensor of shape `from` broadcasts to shape `to` (NumPy's rule, never
/// widening `to`).
pub fn broadcasts(from: &[usize], to: &[usize]) -> bool {
    to.len().checked_sub(from.len()).is_some_and(|offset| {
        from.iter()
            .zip(&to[offset..])
            .all(|(&f, &t)| f == 1 || f == t)
    })
}

/// For each element of a tensor of shape `to`, the index of the element of a tensor of
/// shape `from` that NumPy broadcasting puts there; `None` if `from` does not broadcast
/// to `to` (more axes, or an axis neither 1 nor `to`'s).
pub fn broadcast_map(from: &[usize], to: &[usize]) -> Option<Vec<usize>> {
    if !broadcasts(from, to) {
        return None;
    }
    let offset = to.len() - from.len();
    let total: usize = to.iter().product();
    let mut map = Vec::with_capacity(total);
    for flat in 0..total {
        let (mut rest, mut source, mut stride) = (flat, 0, 1);
        for axis in (0..to.len()).rev() {
            let coord = rest % to[axis];
            rest /= to[axis];
            if axis >= offset {
                let dim = from[axis - offset];
                if dim != 1 {
                    source += coord * stride;
                }
                stride *= dim;
            }
        }
        map.push(source);
    }
    Some(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_matches_index_definition() {
        // shape [3, 4]: rows 2, 0 (step -2), columns 1, 2, 3.
        let data: Vec<u64> = (0..12).collect();
        let axes = [
            SliceAxis {
                begin: 2,
                step: -2,
                count: 2,
            },
            SliceAxis {
                begin: 1,
                step: 1,
                count: 3,
            },
        ];
        assert!(axes[0].fits(3) && axes[1].fits(4));
        assert_eq!(slice(&data, &[3, 4], &axes), vec![9, 10, 11, 1, 2, 3]);
        assert!(
            !SliceAxis {
                begin: 1,
                step: 2,
                count: 2
            }
            .fits(3),
            "index 3 of 3"
        );
        assert!(
            !SliceAxis {
                begin: 0,
                step: -1,
                count: 2
            }
            .fits(3),
            "index -1"
        );
        assert!(!SliceAxis {
            begin: 0,
            step: 0,
            count: 1
        }
        .fits(3));
    }

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
    fn broadcast_map_follows_numpy() {
        // [2, 1] to [2, 3]: each row repeats its one element.
        assert_eq!(
            broadcast_map(&[2, 1], &[2, 3]),
            Some(vec![0, 0, 0, 1, 1, 1])
        );
        // [3] to [2, 3]: each row is the vector.
        assert_eq!(broadcast_map(&[3], &[2, 3]), Some(vec![0, 1, 2, 0, 1, 2]));
        // [1, 2, 1, 1] to [1, 2, 2, 2]: a per-channel value over each plane.
        let map = broadcast_map(&[1, 2, 1, 1], &[1, 2, 2, 2]);
        assert_eq!(map, Some(vec![0, 0, 0, 0, 1, 1, 1, 1]));
        assert_eq!(broadcast_map(&[2, 3], &[2, 3]), Some((0..6).collect()));
        assert_eq!(broadcast_map(&[2], &[2, 3]), None, "2 against 3");
        assert_eq!(broadcast_map(&[1, 2, 3], &[2, 3]), None, "more axes");
    }

    #[test]
    fn pad_places_the_input_inside_the_fill() {
        // [1, 2] padded by one column left and two right: [[9, 1, 2, 9, 9]].
        assert_eq!(pad(&[1, 2], &[1, 2], &[0, 1, 0, 2], 9), vec![9, 1, 2, 9, 9]);
        let out = pad(&[1, 2, 3, 4], &[2, 2], &[1, 0, 0, 1], 0);
        assert_eq!(out, vec![0, 0, 0, 1, 2, 0, 3, 4, 0]);
    }
}
