//! Constant folding: a node whose inputs are all constants is evaluated in float at
//! compile time, and `Shape` of a value whose shape is known becomes a constant. This
//! removes the Shape → Gather → Unsqueeze → Concat → Reshape chains that exporters emit
//! for a flatten, and the ConstantOfShape placeholders of weights.

use crate::CompileError;
use cryptflow_ir::{Node, Op};
use cryptflow_ring::{layout, size, Tensor};

/// Evaluates `node` on constant inputs. `None` when the operator is not one that is
/// folded (the compiler then lowers it as a secure step).
pub fn evaluate(node: &Node, inputs: &[&Tensor<f32>]) -> Result<Option<Tensor<f32>>, CompileError> {
    let shape_err = |detail: String| CompileError::shape(node, detail);
    let first = inputs.first().copied();
    let out = match (&node.op, first) {
        (Op::Identity | Op::Cast, Some(x)) => x.clone(),
        (Op::Shape, Some(x)) => vector(x.shape().iter().map(|&d| d as f32).collect()),
        (Op::ConstantOfShape { value }, Some(shape)) => {
            let dims = dims_of(shape)
                .ok_or_else(|| shape_err("the shape must hold non-negative integers".into()))?;
            let n = size::elements("ConstantOfShape's output", &dims)
                .map_err(|e| shape_err(e.to_string()))?;
            Tensor::new(dims, vec![*value; n]).map_err(|e| shape_err(e.to_string()))?
        }
        (Op::Add | Op::Sub | Op::Mul | Op::Div | Op::Sum, Some(_)) => {
            let f: fn(f32, f32) -> f32 = match node.op {
                Op::Sub => |a, b| a - b,
                Op::Mul => |a, b| a * b,
                Op::Div => |a, b| a / b,
                _ => |a, b| a + b,
            };
            let mut acc = inputs[0].clone();
            for next in &inputs[1..] {
                acc = broadcast_binary(&acc, next, f).ok_or_else(|| {
                    shape_err(format!(
                        "cannot broadcast {:?} with {:?}",
                        acc.shape(),
                        next.shape()
                    ))
                })?;
            }
            acc
        }
        (Op::Unsqueeze { axes }, Some(x)) => {
            let dims = unsqueeze_dims(x.shape(), axes)
                .ok_or_else(|| shape_err(format!("cannot unsqueeze axes {axes:?}")))?;
            x.clone()
                .reshaped(dims)
                .map_err(|e| shape_err(e.to_string()))?
        }
        (Op::Squeeze { axes }, Some(x)) => {
            let dims = squeeze_dims(x.shape(), axes)
                .ok_or_else(|| shape_err(format!("cannot squeeze axes {axes:?}")))?;
            x.clone()
                .reshaped(dims)
                .map_err(|e| shape_err(e.to_string()))?
        }
        (Op::Transpose { perm }, Some(x)) => transpose(x, perm)
            .ok_or_else(|| shape_err(format!("perm {perm:?} does not fit {:?}", x.shape())))?,
        (Op::Reshape, Some(x)) if inputs.len() == 2 => {
            let dims = super::shapes::reshape(node, x.shape(), inputs[1].data())?;
            x.clone()
                .reshaped(dims)
                .map_err(|e| shape_err(e.to_string()))?
        }
        (Op::Flatten { axis }, Some(x)) => {
            let rank = x.shape().len() as i64;
            let axis = if *axis < 0 { axis + rank } else { *axis }.clamp(0, rank) as usize;
            let dims = vec![
                x.shape()[..axis].iter().product(),
                x.shape()[axis..].iter().product(),
            ];
            x.clone()
                .reshaped(dims)
                .map_err(|e| shape_err(e.to_string()))?
        }
        (Op::Gather { axis }, Some(data)) if inputs.len() == 2 => gather(data, inputs[1], *axis)
            .ok_or_else(|| shape_err("gather indices out of range".into()))?,
        (Op::Concat { axis }, Some(x)) => {
            let rank = x.shape().len() as i64;
            let axis = if *axis < 0 { axis + rank } else { *axis } as usize;
            let mut dims = x.shape().to_vec();
            dims[axis] = inputs
                .iter()
                .map(|t| t.shape().get(axis).copied().unwrap_or(0))
                .sum();
            let parts: Vec<(&[f32], &[usize])> =
                inputs.iter().map(|t| (t.data(), t.shape())).collect();
            Tensor::new(dims, layout::concat(&parts, axis)).map_err(|e| shape_err(e.to_string()))?
        }
        (
            Op::Slice {
                starts,
                ends,
                axes,
                steps,
            },
            Some(x),
        ) => {
            let axes = super::lower::slice_axes(x.shape(), starts, ends, axes, steps)
                .map_err(shape_err)?;
            let dims = axes.iter().map(|a| a.count).collect();
            Tensor::new(dims, layout::slice(x.data(), x.shape(), &axes))
                .map_err(|e| shape_err(e.to_string()))?
        }
        (Op::Neg, Some(x)) => x.clone().map(|v| -v),
        _ => return Ok(None),
    };
    Ok(Some(out))
}

/// Permutes a constant's axes (an empty `perm` reverses them).
fn transpose(x: &Tensor<f32>, perm: &[usize]) -> Option<Tensor<f32>> {
    let rank = x.shape().len();
    let perm: Vec<usize> = if perm.is_empty() {
        (0..rank).rev().collect()
    } else {
        perm.to_vec()
    };
    let mut seen = vec![false; rank];
    if perm.len() != rank
        || perm
            .iter()
            .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
    {
        return None;
    }
    let dims = perm.iter().map(|&p| x.shape()[p]).collect();
    Tensor::new(dims, layout::transpose(x.data(), x.shape(), &perm)).ok()
}

/// An axis of a tensor of `rank`, counting from the end when negative.
fn axis_in(axis: i64, rank: usize) -> Option<usize> {
    let rank = i64::try_from(rank).ok()?;
    let axis = if axis < 0 { axis + rank } else { axis };
    (0..rank).contains(&axis).then_some(axis as usize)
}

/// The dims of a squeeze: the given axes, each of size 1, or every 1 when none are
/// given. `None` when an axis is out of range or not of size 1.
pub fn squeeze_dims(shape: &[usize], axes: &[i64]) -> Option<Vec<usize>> {
    let axes: Vec<usize> = axes
        .iter()
        .map(|&a| axis_in(a, shape.len()).filter(|&a| shape[a] == 1))
        .collect::<Option<_>>()?;
    Some(
        shape
            .iter()
            .enumerate()
            .filter(|&(i, &d)| {
                if axes.is_empty() {
                    d != 1
                } else {
                    !axes.contains(&i)
                }
            })
            .map(|(_, &d)| d)
            .collect(),
    )
}

/// The dims of an unsqueeze: a 1 inserted at each axis of the result. `None` when an
/// axis is out of range or repeated.
pub fn unsqueeze_dims(shape: &[usize], axes: &[i64]) -> Option<Vec<usize>> {
    let rank = shape.len() + axes.len();
    let mut ones: Vec<usize> = axes
        .iter()
        .map(|&a| axis_in(a, rank))
        .collect::<Option<_>>()?;
    ones.sort_unstable();
    if ones.windows(2).any(|w| w[0] == w[1]) {
        return None;
    }
    let mut rest = shape.iter();
    (0..rank)
        .map(|i| {
            if ones.binary_search(&i).is_ok() {
                Some(1)
            } else {
                rest.next().copied()
            }
        })
        .collect()
}

fn vector(values: Vec<f32>) -> Tensor<f32> {
    let n = values.len();
    Tensor::new(vec![n], values).unwrap_or_else(|_| Tensor::zeros(vec![0]))
}

fn dims_of(t: &Tensor<f32>) -> Option<Vec<usize>> {
    t.data()
        .iter()
        .map(|&v| (v >= 0.0 && v.fract() == 0.0).then_some(v as usize))
        .collect()
}

fn gather(data: &Tensor<f32>, indices: &Tensor<f32>, axis: i64) -> Option<Tensor<f32>> {
    let rank = data.shape().len() as i64;
    let axis = if axis < 0 { axis + rank } else { axis } as usize;
    let dim = *data.shape().get(axis)?;
    let outer: usize = data.shape()[..axis].iter().product();
    let inner: usize = data.shape()[axis + 1..].iter().product();
    // Few indices can still ask for a large output.
    let n = size::elements("Gather's output", &[outer, indices.len(), inner]).ok()?;
    let mut out = Vec::with_capacity(n);
    for o in 0..outer {
        for &i in indices.data() {
            let i = if i < 0.0 { i + dim as f32 } else { i } as usize;
            if i >= dim {
                return None;
            }
            out.extend_from_slice(&data.data()[(o * dim + i) * inner..(o * dim + i + 1) * inner]);
        }
    }
    let mut dims = data.shape()[..axis].to_vec();
    dims.extend_from_slice(indices.shape());
    dims.extend_from_slice(&data.shape()[axis + 1..]);
    Tensor::new(dims, out).ok()
}

/// numpy broadcasting of a binary float operation.
pub fn broadcast_binary(
    a: &Tensor<f32>,
    b: &Tensor<f32>,
    f: fn(f32, f32) -> f32,
) -> Option<Tensor<f32>> {
    let rank = a.shape().len().max(b.shape().len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() >= rank {
            s[i + s.len() - rank]
        } else {
            1
        }
    };
    let dims: Vec<usize> = (0..rank)
        .map(|i| match (dim(a.shape(), i), dim(b.shape(), i)) {
            (x, y) if x == y => Some(x),
            (1, y) => Some(y),
            (x, 1) => Some(x),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let index = |s: &[usize], flat: usize| {
        let (mut rest, mut idx, mut stride) = (flat, 0, 1);
        for axis in (0..rank).rev() {
            let coord = rest % dims[axis];
            rest /= dims[axis];
            let d = dim(s, axis);
            if axis + s.len() >= rank {
                idx += if d == 1 { 0 } else { coord * stride };
                stride *= d;
            }
        }
        idx
    };
    // Broadcasting can multiply two modest shapes into one beyond memory.
    let n = size::elements("a broadcast constant", &dims).ok()?;
    let data = (0..n)
        .map(|k| f(a.data()[index(a.shape(), k)], b.data()[index(b.shape(), k)]))
        .collect();
    Tensor::new(dims, data).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(op: Op) -> Node {
        Node {
            name: "n".into(),
            op,
            inputs: vec![],
            output: 0,
        }
    }

    fn t(shape: Vec<usize>, data: Vec<f32>) -> Tensor<f32> {
        Tensor::new(shape, data).expect("sized")
    }

    #[test]
    fn the_pytorch_flatten_chain_folds() {
        let x = Tensor::<f32>::zeros(vec![1, 512, 7, 7]);
        let shape = evaluate(&node(Op::Shape), &[&x])
            .expect("ok")
            .expect("folds");
        assert_eq!(shape.data(), &[1.0, 512.0, 7.0, 7.0]);
        let zero = t(vec![], vec![0.0]);
        let batch = evaluate(&node(Op::Gather { axis: 0 }), &[&shape, &zero])
            .expect("ok")
            .expect("folds");
        assert_eq!((batch.shape(), batch.data()), (&[][..], &[1.0][..]));
        let unsq = evaluate(&node(Op::Unsqueeze { axes: vec![0] }), &[&batch])
            .expect("ok")
            .expect("folds");
        let minus_one = t(vec![1], vec![-1.0]);
        let target = evaluate(&node(Op::Concat { axis: 0 }), &[&unsq, &minus_one])
            .expect("ok")
            .expect("folds");
        assert_eq!(target.data(), &[1.0, -1.0]);
    }

    #[test]
    fn constant_of_shape_and_broadcast_arithmetic() {
        let filled = evaluate(
            &node(Op::ConstantOfShape { value: 2.5 }),
            &[&t(vec![2], vec![2.0, 3.0])],
        )
        .expect("ok")
        .expect("folds");
        assert_eq!(filled.shape(), &[2, 3]);
        let row = t(vec![3], vec![1.0, 2.0, 3.0]);
        let sum = evaluate(&node(Op::Mul), &[&filled, &row])
            .expect("ok")
            .expect("folds");
        assert_eq!(sum.data(), &[2.5, 5.0, 7.5, 2.5, 5.0, 7.5]);
        assert!(evaluate(&node(Op::Relu), &[&row]).expect("ok").is_none());
    }

    #[test]
    fn a_transposed_weight_folds() {
        // nn.Linear(bias=False) exports Transpose(W) → MatMul.
        let w = t(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let wt = evaluate(&node(Op::Transpose { perm: vec![] }), &[&w])
            .expect("ok")
            .expect("folds");
        assert_eq!(
            (wt.shape(), wt.data()),
            (&[3, 2][..], &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0][..])
        );
        let flat = evaluate(&node(Op::Flatten { axis: 0 }), &[&w])
            .expect("ok")
            .expect("folds");
        assert_eq!(flat.shape(), &[1, 6]);
    }

    #[test]
    fn squeeze_without_axes_drops_all_ones() {
        assert_eq!(squeeze_dims(&[1, 3, 1, 2], &[]), Some(vec![3, 2]));
        assert_eq!(squeeze_dims(&[1, 3, 1, 2], &[-2]), Some(vec![1, 3, 2]));
        // An axis that is not of size 1, or not an axis at all.
        assert_eq!(squeeze_dims(&[1, 3, 1, 2], &[1]), None);
        assert_eq!(squeeze_dims(&[1, 3], &[2]), None);
        assert_eq!(squeeze_dims(&[1, 3], &[-3]), None);
        assert_eq!(unsqueeze_dims(&[3, 2], &[0, -1]), Some(vec![1, 3, 2, 1]));
        assert_eq!(unsqueeze_dims(&[3, 2], &[1, 1]), None);
        assert_eq!(unsqueeze_dims(&[3, 2], &[3]), None);
    }
}
