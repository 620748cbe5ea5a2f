//! Shape inference with constant folding: gives every value of the graph its shape,
//! checking each node's inputs on the way (the first place a malformed model is caught
//! with the node named), and replaces nodes computable at compile time by constants
//! ([`super::fold`]).

use super::{fold, lower};
use crate::{geometry, CompileError};
use cryptflow_ir::{Graph, Node, Op};
use cryptflow_ring::{size, Tensor};

/// Fills `shape` of every value. Constants keep their tensor's shape.
pub fn infer_shapes(graph: &mut Graph) -> Result<(), CompileError> {
    graph.validate()?;
    let Some(input_shape) = graph.shape(graph.input) else {
        return Err(CompileError::UnknownInputShape {
            name: graph.name(graph.input).to_owned(),
        });
    };
    size::nonempty_elements("the input", input_shape).map_err(|e| CompileError::InputShape {
        name: graph.name(graph.input).to_owned(),
        detail: e.to_string(),
    })?;
    let constant_shapes: Vec<_> = graph
        .constants
        .iter()
        .map(|(&id, t)| (id, t.shape().to_vec()))
        .collect();
    for (id, shape) in constant_shapes {
        graph.values[id].shape = Some(shape);
    }
    let mut folded = Vec::with_capacity(graph.nodes.len());
    for index in 0..graph.nodes.len() {
        let node = &graph.nodes[index];
        let inputs: Vec<&[usize]> = node
            .inputs
            .iter()
            .map(|&i| graph.shape(i).unwrap_or(&[]))
            .collect();
        // The shape rule checks the node's inputs (axes in range, shapes that agree)
        // before folding evaluates it, so folding only ever sees well-formed nodes.
        // Shape, ConstantOfShape and Gather are only ever folded: their output shape
        // depends on values, and folding checks them itself.
        let rule = match node.op {
            Op::Shape | Op::ConstantOfShape { .. } | Op::Gather { .. } => None,
            _ => Some(output_shape(graph, node, &inputs)?),
        };
        if let Some(shape) = &rule {
            // Every shape later passes multiply out is checked here, where it is made.
            size::elements("the output", shape)
                .map_err(|e| CompileError::shape(node, e.to_string()))?;
        }
        if let Some(constant) = fold_node(graph, node)? {
            if rule
                .as_ref()
                .is_some_and(|r| r.as_slice() != constant.shape())
            {
                return Err(CompileError::shape(
                    node,
                    format!(
                        "folding gives shape {:?} but the shape rule {rule:?}",
                        constant.shape()
                    ),
                ));
            }
            let output = node.output;
            graph.values[output].shape = Some(constant.shape().to_vec());
            graph.constants.insert(output, constant);
            folded.push(true);
            continue;
        }
        folded.push(false);
        let shape = rule.ok_or_else(|| {
            CompileError::unsupported(node, "its inputs must be constants or have known shapes")
        })?;
        let output = node.output;
        graph.values[output].shape = Some(shape);
    }
    let mut index = 0;
    graph.nodes.retain(|_| {
        index += 1;
        !folded[index - 1]
    });
    Ok(())
}

/// The node's value if it can be computed now: all inputs constant, or the shape of a
/// value whose shape is known.
fn fold_node(graph: &Graph, node: &Node) -> Result<Option<Tensor<f32>>, CompileError> {
    if let (Op::Shape, Some(shape)) = (&node.op, node.inputs.first().and_then(|&i| graph.shape(i)))
    {
        let dims: Vec<f32> = shape.iter().map(|&d| d as f32).collect();
        return Ok(Tensor::new(vec![dims.len()], dims).ok());
    }
    let constants: Option<Vec<&Tensor<f32>>> =
        node.inputs.iter().map(|&i| graph.constant(i)).collect();
    match constants {
        Some(inputs) if !inputs.is_empty() => fold::evaluate(node, &inputs),
        _ => Ok(None),
    }
}

fn arity(node: &Node, inputs: &[&[usize]], min: usize, max: usize) -> Result<(), CompileError> {
    if inputs.len() < min || inputs.len() > max {
        return Err(CompileError::shape(
            node,
            format!("expects {min}..={max} inputs, got {}", inputs.len()),
        ));
    }
    Ok(())
}

fn output_shape(
    graph: &Graph,
    node: &Node,
    inputs: &[&[usize]],
) -> Result<Vec<usize>, CompileError> {
    match &node.op {
        Op::Conv(attrs) => {
            arity(node, inputs, 2, 3)?;
            let g = geometry::conv(node, attrs, inputs[0], inputs[1])?;
            Ok(geometry::window_output(
                inputs[0],
                g.out_channels,
                g.out_height(),
                g.out_width(),
            ))
        }
        Op::Gemm(attrs) => {
            arity(node, inputs, 2, 3)?;
            let (a, b) = (matrix(node, inputs[0])?, matrix(node, inputs[1])?);
            let (m, k) = if attrs.trans_a {
                (a[1], a[0])
            } else {
                (a[0], a[1])
            };
            let (k2, n) = if attrs.trans_b {
                (b[1], b[0])
            } else {
                (b[0], b[1])
            };
            if k != k2 {
                return Err(CompileError::shape(
                    node,
                    format!("inner dimensions differ: {k} vs {k2}"),
                ));
            }
            Ok(vec![m, n])
        }
        Op::MatMul => {
            arity(node, inputs, 2, 2)?;
            let (a, b) = (inputs[0], matrix(node, inputs[1])?);
            let Some((&k, lead)) = a.split_last() else {
                return Err(CompileError::shape(node, "input A is a scalar"));
            };
            if k != b[0] {
                return Err(CompileError::shape(
                    node,
                    format!("inner dimensions differ: {k} vs {}", b[0]),
                ));
            }
            Ok(lead.iter().copied().chain([b[1]]).collect())
        }
        Op::PRelu => {
            arity(node, inputs, 2, 2)?;
            broadcast(node, inputs[0], inputs[1])
        }
        Op::Reduce {
            axes,
            keep_dims,
            noop_with_empty_axes,
            ..
        } => {
            let reduced = lower::reduced_axes(inputs[0].len(), axes, *noop_with_empty_axes)
                .ok_or_else(|| {
                    CompileError::shape(
                        node,
                        format!("axes {axes:?} are not distinct axes of {:?}", inputs[0]),
                    )
                })?;
            Ok(lower::reduced_shape(inputs[0], &reduced, *keep_dims))
        }
        Op::Slice {
            starts,
            ends,
            axes,
            steps,
        } => lower::slice_axes(inputs[0], starts, ends, axes, steps)
            .map(|axes| axes.iter().map(|a| a.count).collect())
            .map_err(|reason| CompileError::shape(node, reason)),
        Op::Relu
        | Op::Neg
        | Op::HardSigmoid { .. }
        | Op::HardSwish
        | Op::Sigmoid
        | Op::Tanh
        | Op::Softplus
        | Op::Identity
        | Op::Cast
        | Op::Clip { .. }
        | Op::LeakyRelu { .. }
        | Op::Softmax { .. }
        | Op::BatchNormalization { .. } => Ok(inputs[0].to_vec()),
        Op::Sum | Op::Sub | Op::Mul | Op::Div => {
            arity(node, inputs, 1, usize::MAX)?;
            inputs[1..]
                .iter()
                .try_fold(inputs[0].to_vec(), |acc, s| broadcast(node, &acc, s))
        }
        Op::Concat { axis } => {
            let rank = inputs[0].len() as i64;
            let axis = if *axis < 0 { axis + rank } else { *axis };
            if !(0..rank).contains(&axis) {
                return Err(CompileError::shape(
                    node,
                    format!("axis {axis} is out of range for rank {rank}"),
                ));
            }
            let axis = axis as usize;
            let mut out = inputs[0].to_vec();
            for s in &inputs[1..] {
                if s.len() != out.len()
                    || s.iter()
                        .zip(&out)
                        .enumerate()
                        .any(|(i, (a, b))| i != axis && a != b)
                {
                    return Err(CompileError::shape(
                        node,
                        format!(
                            "cannot concatenate {:?} with {s:?} on axis {axis}",
                            inputs[0]
                        ),
                    ));
                }
                out[axis] += s[axis];
            }
            Ok(out)
        }
        Op::Transpose { perm } => {
            let rank = inputs[0].len();
            let perm: Vec<usize> = if perm.is_empty() {
                (0..rank).rev().collect()
            } else {
                perm.clone()
            };
            let mut seen = vec![false; rank];
            if perm.len() != rank
                || perm
                    .iter()
                    .any(|&p| p >= rank || std::mem::replace(&mut seen[p], true))
            {
                return Err(CompileError::shape(
                    node,
                    format!("perm {perm:?} is not a permutation of {rank} axes"),
                ));
            }
            Ok(perm.iter().map(|&p| inputs[0][p]).collect())
        }
        Op::Squeeze { axes } => fold::squeeze_dims(inputs[0], axes).ok_or_else(|| {
            CompileError::shape(
                node,
                format!("axes {axes:?} are not axes of size 1 of {:?}", inputs[0]),
            )
        }),
        Op::Unsqueeze { axes } => fold::unsqueeze_dims(inputs[0], axes).ok_or_else(|| {
            CompileError::shape(
                node,
                format!(
                    "axes {axes:?} are not distinct axes of {:?} unsqueezed",
                    inputs[0]
                ),
            )
        }),
        Op::Pad { pads, .. } => {
            let rank = inputs[0].len();
            if pads.len() != 2 * rank || pads.iter().any(|&p| p < 0) {
                return Err(CompileError::unsupported(
                    node,
                    format!("pads {pads:?} must be {} non-negative values", 2 * rank),
                ));
            }
            Ok((0..rank)
                .map(|i| inputs[0][i] + pads[i] as usize + pads[rank + i] as usize)
                .collect())
        }
        Op::MaxPool(attrs) | Op::AveragePool { attrs, .. } => {
            let g = geometry::pool(node, attrs, inputs[0])?;
            Ok(geometry::window_output(
                inputs[0],
                g.channels,
                g.out_height(),
                g.out_width(),
            ))
        }
        Op::GlobalAveragePool => {
            let [_, c, _, _] = geometry::image_dims(node, inputs[0])?;
            Ok(geometry::window_output(inputs[0], c, 1, 1))
        }
        Op::Add => {
            arity(node, inputs, 2, 2)?;
            broadcast(node, inputs[0], inputs[1])
        }
        Op::Flatten { axis } => {
            let rank = inputs[0].len() as i64;
            let axis = if *axis < 0 { axis + rank } else { *axis };
            if !(0..=rank).contains(&axis) {
                return Err(CompileError::shape(
                    node,
                    format!("axis {axis} is out of range for rank {rank}"),
                ));
            }
            let (head, tail) = inputs[0].split_at(axis as usize);
            Ok(vec![head.iter().product(), tail.iter().product()])
        }
        Op::Reshape => {
            arity(node, inputs, 2, 2)?;
            let target = graph.constant(node.inputs[1]).ok_or_else(|| {
                CompileError::unsupported(node, "the target shape must be a constant")
            })?;
            reshape(node, inputs[0], target.data())
        }
        _ => Err(CompileError::unsupported(
            node,
            "no shape rule for this operator",
        )),
    }
}

fn matrix<'a>(node: &Node, shape: &'a [usize]) -> Result<&'a [usize], CompileError> {
    if shape.len() == 2 {
        Ok(shape)
    } else {
        Err(CompileError::shape(
            node,
            format!("expects a 2-D matrix, got shape {shape:?}"),
        ))
    }
}

/// ONNX (numpy) multidirectional broadcasting.
fn broadcast(node: &Node, a: &[usize], b: &[usize]) -> Result<Vec<usize>, CompileError> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| {
        if i + s.len() >= rank {
            s[i + s.len() - rank]
        } else {
            1
        }
    };
    (0..rank)
        .map(|i| match (dim(a, i), dim(b, i)) {
            (x, y) if x == y => Ok(x),
            (1, y) => Ok(y),
            (x, 1) => Ok(x),
            (x, y) => Err(CompileError::shape(
                node,
                format!("cannot broadcast {a:?} with {b:?} (dimension {x} vs {y})"),
            )),
        })
        .collect()
}

pub(crate) fn reshape(
    node: &Node,
    input: &[usize],
    target: &[f32],
) -> Result<Vec<usize>, CompileError> {
    let too_large = |e: size::SizeError| CompileError::shape(node, e.to_string());
    let total = size::elements("the input", input).map_err(too_large)?;
    let mut out = Vec::with_capacity(target.len());
    let mut infer = None;
    for (i, &d) in target.iter().enumerate() {
        match d as i64 {
            0 => out.push(
                *input
                    .get(i)
                    .ok_or_else(|| CompileError::shape(node, "0 refers past the input's rank"))?,
            ),
            -1 if infer.is_none() => {
                infer = Some(i);
                out.push(1);
            }
            d if d > 0 => out.push(d as usize),
            _ => {
                return Err(CompileError::shape(
                    node,
                    format!("invalid target shape {target:?}"),
                ))
            }
        }
    }
    let known = size::elements("the target shape", &out).map_err(too_large)?;
    if let Some(i) = infer {
        if known == 0 || !total.is_multiple_of(known) {
            return Err(CompileError::shape(
                node,
                format!("cannot reshape {input:?} to {target:?}"),
            ));
        }
        out[i] = total / known;
    }
    if size::elements("the target shape", &out).map_err(too_large)? != total {
        return Err(CompileError::shape(
            node,
            format!("cannot reshape {input:?} ({total} elements) to {out:?}"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptflow_ir::{ConvAttrs, PoolAttrs};
    use cryptflow_ring::Tensor;

    fn node(op: Op, inputs: Vec<usize>, output: usize) -> Node {
        Node {
            name: format!("n{output}"),
            op,
            inputs,
            output,
        }
    }

    #[test]
    fn infers_a_small_cnn() {
        let mut g = Graph::default();
        let x = g.add_value("x", Some(vec![1, 1, 28, 28]));
        let w = g.add_value("w", None);
        g.constants.insert(w, Tensor::zeros(vec![20, 1, 5, 5]));
        let c = g.add_value("c", None);
        let p = g.add_value("p", None);
        let f = g.add_value("f", None);
        let shape = g.add_value("shape", None);
        g.constants.insert(
            shape,
            Tensor::new(vec![2], vec![0.0, -1.0]).expect("2 elements"),
        );
        let r = g.add_value("r", None);
        let conv = ConvAttrs {
            kernel: [5, 5],
            strides: [1, 1],
            pads: [0; 4],
            dilations: [1, 1],
            groups: 1,
        };
        let pool = PoolAttrs {
            kernel: [2, 2],
            strides: [2, 2],
            pads: [0; 4],
            ceil_mode: false,
        };
        g.nodes = vec![
            node(Op::Conv(conv), vec![x, w], c),
            node(Op::MaxPool(pool), vec![c], p),
            node(Op::Flatten { axis: 1 }, vec![p], f),
            node(Op::Reshape, vec![p, shape], r),
        ];
        g.input = x;
        g.output = f;
        infer_shapes(&mut g).expect("valid graph");
        assert_eq!(g.shape(c), Some(&[1, 20, 24, 24][..]));
        assert_eq!(g.shape(p), Some(&[1, 20, 12, 12][..]));
        assert_eq!(g.shape(f), Some(&[1, 2880][..]));
        assert_eq!(g.shape(r), Some(&[1, 2880][..]));
    }

    #[test]
    fn rejects_mismatched_gemm_with_the_node_named() {
        let mut g = Graph::default();
        let x = g.add_value("x", Some(vec![1, 784]));
        let w = g.add_value("w", None);
        g.constants.insert(w, Tensor::zeros(vec![10, 783]));
        let y = g.add_value("y", None);
        let attrs = cryptflow_ir::GemmAttrs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        };
        g.nodes = vec![Node {
            name: "fc".into(),
            op: Op::Gemm(attrs),
            inputs: vec![x, w],
            output: y,
        }];
        g.input = x;
        g.output = y;
        let err = infer_shapes(&mut g).unwrap_err();
        assert_eq!(
            err.to_string(),
            "node `fc` (Gemm): inner dimensions differ: 784 vs 783"
        );
    }

    #[test]
    fn broadcasting_follows_numpy() {
        let n = node(Op::Add, vec![], 0);
        assert_eq!(
            broadcast(&n, &[1, 3, 4, 4], &[3, 1, 1]).expect("ok"),
            vec![1, 3, 4, 4]
        );
        assert!(broadcast(&n, &[1, 3], &[4]).is_err());
    }
}
