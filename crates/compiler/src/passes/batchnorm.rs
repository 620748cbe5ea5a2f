//! BatchNorm folding (inference): `y = γ·(x − μ)/√(σ² + ε) + β = a·x + b`.
//!
//! After a convolution whose output feeds only the BatchNorm, `a` and `b` fold into the
//! convolution's weights and bias, so the BatchNorm costs nothing. Elsewhere it becomes
//! a multiplication by the constant `a` and an addition of `b`, per channel.

use crate::CompileError;
use cryptflow_ir::{Graph, Node, Op, ValueId};
use cryptflow_ring::Tensor;

pub fn fold_batchnorms(graph: &mut Graph) -> Result<(), CompileError> {
    let mut index = 0;
    while index < graph.nodes.len() {
        let node = graph.nodes[index].clone();
        let Op::BatchNormalization { epsilon } = node.op else {
            index += 1;
            continue;
        };
        let (a, b) = affine(graph, &node, epsilon)?;
        let x = node.inputs[0];
        let producer = graph.nodes.iter().position(|n| n.output == x);
        let single_use =
            graph.nodes.iter().filter(|n| n.inputs.contains(&x)).count() == 1 && graph.output != x;
        match producer {
            Some(p) if single_use && matches!(graph.nodes[p].op, Op::Conv(_)) => {
                fold_into_conv(graph, p, &a, &b, node.output)?;
                graph.nodes.remove(index);
            }
            _ => {
                index += replace_with_affine(graph, index, &node, a, b);
            }
        }
    }
    Ok(())
}

/// Per-channel `a = γ/√(σ² + ε)` and `b = β − μ·a`.
fn affine(graph: &Graph, node: &Node, epsilon: f32) -> Result<(Vec<f32>, Vec<f32>), CompileError> {
    let param = |i: usize| {
        node.inputs
            .get(i)
            .and_then(|&v| graph.constant(v))
            .map(|t| t.data().to_vec())
            .ok_or_else(|| {
                CompileError::unsupported(node, "scale, bias, mean and variance must be constants")
            })
    };
    let (gamma, beta, mean, var) = (param(1)?, param(2)?, param(3)?, param(4)?);
    let channels = gamma.len();
    if [beta.len(), mean.len(), var.len()]
        .iter()
        .any(|&l| l != channels)
    {
        return Err(CompileError::shape(
            node,
            "scale, bias, mean and variance differ in length",
        ));
    }
    let a: Vec<f32> = (0..channels)
        .map(|c| gamma[c] / (var[c] + epsilon).sqrt())
        .collect();
    let b = (0..channels).map(|c| beta[c] - mean[c] * a[c]).collect();
    Ok((a, b))
}

fn fold_into_conv(
    graph: &mut Graph,
    conv: usize,
    a: &[f32],
    b: &[f32],
    output: ValueId,
) -> Result<(), CompileError> {
    let node = graph.nodes[conv].clone();
    let weight = graph
        .constant(node.inputs[1])
        .cloned()
        .ok_or_else(|| CompileError::unsupported(&node, "the weight must be a constant"))?;
    let out_channels = weight.shape()[0];
    if out_channels != a.len() {
        return Err(CompileError::shape(
            &node,
            format!(
                "{} output channels but the BatchNorm has {}",
                out_channels,
                a.len()
            ),
        ));
    }
    let per_channel = weight.len() / out_channels.max(1);
    let scaled: Vec<f32> = weight
        .data()
        .iter()
        .enumerate()
        .map(|(i, w)| w * a[i / per_channel])
        .collect();
    let old_bias = node
        .inputs
        .get(2)
        .and_then(|&v| graph.constant(v))
        .map(|t| t.data().to_vec())
        .unwrap_or_else(|| vec![0.0; out_channels]);
    let bias: Vec<f32> = (0..out_channels)
        .map(|c| old_bias[c] * a[c] + b[c])
        .collect();
    let w_id = add_constant(
        graph,
        format!("{}.folded_weight", node.name),
        Tensor::new(weight.shape().to_vec(), scaled),
    );
    let b_id = add_constant(
        graph,
        format!("{}.folded_bias", node.name),
        Tensor::new(vec![out_channels], bias),
    );
    let conv_node = &mut graph.nodes[conv];
    conv_node.inputs.truncate(1);
    conv_node.inputs.extend([w_id, b_id]);
    conv_node.output = output;
    Ok(())
}

/// Replaces the BatchNorm at `index` by Mul and Add nodes; returns how many nodes now
/// stand where it stood.
fn replace_with_affine(
    graph: &mut Graph,
    index: usize,
    node: &Node,
    a: Vec<f32>,
    b: Vec<f32>,
) -> usize {
    let x = node.inputs[0];
    let rank = graph.shape(x).map_or(4, <[usize]>::len);
    // Channels are axis 1: shape [C, 1, 1, ...] broadcasts over the spatial axes.
    let mut dims = vec![a.len()];
    dims.extend(std::iter::repeat_n(1, rank.saturating_sub(2)));
    let a_id = add_constant(
        graph,
        format!("{}.scale", node.name),
        Tensor::new(dims.clone(), a),
    );
    let b_id = add_constant(graph, format!("{}.shift", node.name), Tensor::new(dims, b));
    let shape = graph.shape(x).map(<[usize]>::to_vec);
    let scaled = graph.add_value(format!("{}.scaled", node.name), shape);
    let mul = Node {
        name: format!("{}.mul", node.name),
        op: Op::Mul,
        inputs: vec![x, a_id],
        output: scaled,
    };
    let add = Node {
        name: format!("{}.add", node.name),
        op: Op::Add,
        inputs: vec![scaled, b_id],
        output: node.output,
    };
    graph.nodes.splice(index..=index, [mul, add]);
    2
}

fn add_constant(
    graph: &mut Graph,
    name: String,
    tensor: Result<Tensor<f32>, cryptflow_ring::TensorError>,
) -> ValueId {
    let tensor = tensor.unwrap_or_else(|_| Tensor::zeros(vec![0]));
    let id = graph.add_value(name, Some(tensor.shape().to_vec()));
    graph.constants.insert(id, tensor);
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptflow_ir::ConvAttrs;

    fn bn_graph(with_second_use: bool) -> Graph {
        let mut g = Graph::default();
        let x = g.add_value("x", Some(vec![1, 1, 3, 3]));
        let w = g.add_value("w", Some(vec![2, 1, 1, 1]));
        g.constants.insert(
            w,
            Tensor::new(vec![2, 1, 1, 1], vec![1.0, 2.0]).expect("sized"),
        );
        let c = g.add_value("c", Some(vec![1, 2, 3, 3]));
        let params: Vec<ValueId> = [[2.0, 4.0], [1.0, -1.0], [0.5, 0.0], [3.0, 15.0]]
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let id = g.add_value(format!("p{i}"), Some(vec![2]));
                g.constants
                    .insert(id, Tensor::new(vec![2], v.to_vec()).expect("sized"));
                id
            })
            .collect();
        let y = g.add_value("y", Some(vec![1, 2, 3, 3]));
        let conv = ConvAttrs {
            kernel: [1, 1],
            strides: [1, 1],
            pads: [0; 4],
            dilations: [1, 1],
            groups: 1,
        };
        g.nodes.push(Node {
            name: "conv".into(),
            op: Op::Conv(conv),
            inputs: vec![x, w],
            output: c,
        });
        let mut bn_inputs = vec![c];
        bn_inputs.extend(params);
        g.nodes.push(Node {
            name: "bn".into(),
            op: Op::BatchNormalization { epsilon: 1.0 },
            inputs: bn_inputs,
            output: y,
        });
        g.input = x;
        g.output = y;
        if with_second_use {
            let z = g.add_value("z", Some(vec![1, 2, 3, 3]));
            g.nodes.push(Node {
                name: "relu".into(),
                op: Op::Relu,
                inputs: vec![c],
                output: z,
            });
        }
        g
    }

    #[test]
    fn a_conv_then_batchnorm_folds_into_the_conv() {
        let mut g = bn_graph(false);
        fold_batchnorms(&mut g).expect("folds");
        assert_eq!(g.nodes.len(), 1);
        let conv = &g.nodes[0];
        assert_eq!(conv.output, g.output);
        // a = γ/√(σ²+ε) = [2/2, 4/4] = [1, 1]; b = β − μ·a = [1 − 0.5, −1 − 0].
        let w = g.constant(conv.inputs[1]).expect("folded weight");
        assert_eq!(w.data(), &[1.0, 2.0]);
        let bias = g.constant(conv.inputs[2]).expect("folded bias");
        assert_eq!(bias.data(), &[1.0 - 0.5 * 1.0, -1.0 - 0.0 * 1.0]);
    }

    #[test]
    fn a_shared_conv_output_keeps_the_batchnorm_as_mul_and_add() {
        let mut g = bn_graph(true);
        fold_batchnorms(&mut g).expect("rewrites");
        let ops: Vec<&str> = g.nodes.iter().map(|n| n.op.name()).collect();
        assert_eq!(ops, vec!["Conv", "Mul", "Add", "Relu"]);
        let scale = g.constant(g.nodes[1].inputs[1]).expect("scale");
        assert_eq!(scale.shape(), &[2, 1, 1]);
    }
}
