//! Lowering: the shaped float graph becomes the fixed-point program over Z_2^64.
//!
//! Scale placement: every activation is at scale s. Weights are encoded at s, so a
//! linear layer's output is at 2s; its bias is encoded at 2s and added there, and a
//! `Truncate` by s follows. Average pooling divides window sums by the window size
//! locally and keeps the scale (no reciprocal, so it is exact to one unit at every
//! scale). Comparisons, additions and reshapes keep the scale.

use crate::{geometry, CompileError};
use cryptflow_ir::{
    Graph, Instruction, Kernel, Node, Op, Program, SlotId, ValueId, WeightId, Weights,
};
use cryptflow_ring::{fixed, Scale, Tensor};
use std::collections::HashMap;

mod activation;
mod elementwise;
mod reduce;
mod slice;
pub(crate) mod spline;

use spline::Smooth;

pub(crate) use reduce::{reduced_axes, reduced_shape};
pub(crate) use slice::slice_axes;

/// Lowers a graph whose shapes have been inferred.
pub fn lower(graph: &Graph, scale: Scale) -> Result<Lowered, CompileError> {
    let input_shape = graph.shape(graph.input).unwrap_or(&[]).to_vec();
    if let Some(&batch) = input_shape.first() {
        if batch != 1 && input_shape.len() > 1 {
            return Err(CompileError::Batch { batch });
        }
    }
    let mut lowering = Lowering {
        graph,
        scale,
        slot_shapes: Vec::new(),
        slot_of: HashMap::new(),
        instructions: Vec::new(),
        weight_shapes: Vec::new(),
        weights: Vec::new(),
        real_weights: Vec::new(),
        softmax: None,
    };
    let input = lowering.new_slot(input_shape);
    lowering.slot_of.insert(graph.input, input);
    for node in &graph.nodes {
        lowering.node(node)?;
    }
    let output = *lowering
        .slot_of
        .get(&graph.output)
        .ok_or_else(|| CompileError::Unsupported {
            node: graph.name(graph.output).to_owned(),
            op: "output",
            reason: "the model output is a constant".into(),
        })?;
    let program = Program {
        scale,
        softmax: lowering.softmax,
        slot_shapes: lowering.slot_shapes,
        input,
        output,
        weight_shapes: lowering.weight_shapes,
        instructions: lowering.instructions,
    };
    Ok(Lowered {
        program,
        weights: Weights {
            tensors: lowering.weights,
        },
        real_weights: lowering.real_weights,
    })
}

/// The lowering's result: the program, its encoded weights, and the same weights as
/// reals (aligned by [`WeightId`]) for the float reference.
#[derive(Debug)]
pub struct Lowered {
    pub program: Program,
    pub weights: Weights,
    pub real_weights: Vec<Tensor<f32>>,
}

struct Lowering<'g> {
    graph: &'g Graph,
    scale: Scale,
    slot_shapes: Vec<Vec<usize>>,
    slot_of: HashMap<ValueId, SlotId>,
    instructions: Vec<Instruction>,
    weight_shapes: Vec<Vec<usize>>,
    weights: Vec<Tensor<u64>>,
    /// The same weights as reals, for the float reference.
    real_weights: Vec<Tensor<f32>>,
    /// The axis of a trailing Softmax, left to the client.
    softmax: Option<usize>,
}

impl Lowering<'_> {
    fn new_slot(&mut self, shape: Vec<usize>) -> SlotId {
        self.slot_shapes.push(shape);
        self.slot_shapes.len() - 1
    }

    fn shape(&self, value: ValueId) -> Vec<usize> {
        self.graph.shape(value).unwrap_or(&[]).to_vec()
    }

    /// The slot of a node's secret (activation) input.
    fn activation(&self, node: &Node, index: usize) -> Result<SlotId, CompileError> {
        let value = node.inputs[index];
        self.slot_of.get(&value).copied().ok_or_else(|| {
            CompileError::unsupported(
                node,
                format!("input `{}` is a constant where an activation is expected; fold it before export", self.graph.name(value)),
            )
        })
    }

    /// A node's constant (weight) input.
    fn constant(&self, node: &Node, index: usize) -> Result<&'_ Tensor<f32>, CompileError> {
        let value = node.inputs[index];
        self.graph.constant(value).ok_or_else(|| {
            CompileError::unsupported(
                node,
                format!(
                    "input `{}` must be a constant (weights): products of two secret tensors are not supported",
                    self.graph.name(value)
                ),
            )
        })
    }

    /// Encodes a weight at `scale_bits` fractional bits.
    fn weight(
        &mut self,
        node: &Node,
        name: &str,
        values: &[f32],
        shape: Vec<usize>,
        scale_bits: u32,
    ) -> Result<WeightId, CompileError> {
        let encoded = values
            .iter()
            .map(|&v| fixed::encode_bits(f64::from(v), scale_bits))
            .collect::<Option<Vec<u64>>>()
            .ok_or_else(|| CompileError::WeightOutOfRange {
                node: node.name.clone(),
                name: name.to_owned(),
                scale: scale_bits,
            })?;
        let tensor = Tensor::new(shape.clone(), encoded)
            .map_err(|e| CompileError::shape(node, e.to_string()))?;
        self.real_weights.push(
            Tensor::new(shape.clone(), values.to_vec())
                .map_err(|e| CompileError::shape(node, e.to_string()))?,
        );
        self.weight_shapes.push(shape);
        self.weights.push(tensor);
        Ok(self.weights.len() - 1)
    }

    fn emit(
        &mut self,
        node: &Node,
        kernel: Kernel,
        inputs: Vec<SlotId>,
        shape: Vec<usize>,
    ) -> SlotId {
        let output = self.new_slot(shape);
        self.instructions.push(Instruction {
            kernel,
            inputs,
            output,
            free: Vec::new(),
            comparison_bits: 64,
            source: node.name.clone(),
        });
        output
    }

    /// Emits a kernel whose output is at scale 2s, followed by the truncation to s.
    fn emit_rescaled(
        &mut self,
        node: &Node,
        kernel: Kernel,
        inputs: Vec<SlotId>,
        shape: Vec<usize>,
    ) -> SlotId {
        let wide = self.emit(node, kernel, inputs, shape.clone());
        let bits = self.scale.bits();
        self.emit(node, Kernel::Truncate { bits }, vec![wide], shape)
    }

    fn node(&mut self, node: &Node) -> Result<(), CompileError> {
        let out_shape = self.shape(node.output);
        let s = self.scale.bits();
        let slot = match &node.op {
            Op::Conv(attrs) => {
                let x = self.activation(node, 0)?;
                let w = self.constant(node, 1)?.clone();
                let g = geometry::conv(node, attrs, &self.shape(node.inputs[0]), w.shape())?;
                // A 1-D weight [M, C/g, k] is the same elements as its 2-D form.
                let shape = vec![
                    g.out_channels,
                    g.in_channels / g.groups,
                    g.kernel[0],
                    g.kernel[1],
                ];
                let weight = self.weight(node, "W", w.data(), shape, s)?;
                let bias = match node.inputs.get(2) {
                    Some(_) => {
                        let b = self.constant(node, 2)?.clone();
                        if b.len() != g.out_channels {
                            return Err(CompileError::shape(
                                node,
                                format!(
                                    "bias has {} elements, expected {}",
                                    b.len(),
                                    g.out_channels
                                ),
                            ));
                        }
                        Some(self.weight(node, "B", b.data(), vec![g.out_channels], 2 * s)?)
                    }
                    None => None,
                };
                self.emit_rescaled(
                    node,
                    Kernel::Conv {
                        geometry: g,
                        weight,
                        bias,
                    },
                    vec![x],
                    out_shape,
                )
            }
            Op::Gemm(attrs) => self.gemm(node, attrs, out_shape)?,
            Op::MatMul => {
                let x = self.activation(node, 0)?;
                let b = self.constant(node, 1)?.clone();
                let (inner, out) = (b.shape()[0], b.shape()[1]);
                let rows = out_shape.iter().product::<usize>() / out.max(1);
                let wt = transpose(b.data(), inner, out);
                let weight = self.weight(node, "B", &wt, vec![out, inner], s)?;
                self.emit_rescaled(
                    node,
                    Kernel::MatMul {
                        rows,
                        inner,
                        out,
                        weight,
                        bias: None,
                    },
                    vec![x],
                    out_shape,
                )
            }
            Op::Relu => {
                let x = self.activation(node, 0)?;
                self.emit(node, Kernel::Relu, vec![x], out_shape)
            }
            Op::MaxPool(attrs) => {
                let x = self.activation(node, 0)?;
                let g = geometry::pool(node, attrs, &self.shape(node.inputs[0]))?;
                self.emit(node, Kernel::MaxPool(g), vec![x], out_shape)
            }
            Op::AveragePool {
                attrs,
                count_include_pad,
            } => {
                let x = self.activation(node, 0)?;
                let g = geometry::pool(node, attrs, &self.shape(node.inputs[0]))?;
                let plane = g.out_height() * g.out_width();
                let counts: Vec<usize> = if *count_include_pad {
                    g.padded_counts()[..plane].to_vec()
                } else {
                    g.windows()[..plane].iter().map(Vec::len).collect()
                };
                let divisors = counts.iter().map(|&c| c as u32).collect();
                self.emit(
                    node,
                    Kernel::AvgPool {
                        geometry: g,
                        divisors,
                    },
                    vec![x],
                    out_shape,
                )
            }
            Op::GlobalAveragePool => {
                let x = self.activation(node, 0)?;
                let g = geometry::global_pool(node, &self.shape(node.inputs[0]))?;
                let divisors = vec![(g.in_height * g.in_width) as u32];
                self.emit(
                    node,
                    Kernel::AvgPool {
                        geometry: g,
                        divisors,
                    },
                    vec![x],
                    out_shape,
                )
            }
            Op::Add | Op::Sum => self.sum(node, out_shape)?,
            Op::Sub => self.sub(node, out_shape)?,
            Op::Mul | Op::Div => self.multiply(node, out_shape)?,
            Op::Clip { min, max } => {
                let x = self.activation(node, 0)?;
                // A bound beyond what the ring holds at this scale bounds nothing.
                let fits = |b: &f32| fixed::encode(f64::from(*b), self.scale).is_some();
                let (min, max) = (min.filter(fits), max.filter(fits));
                if min.is_none() && max.is_none() {
                    // No bound: the identity, without a secure comparison.
                    self.slot_of.insert(node.output, x);
                    return Ok(());
                }
                self.emit(node, Kernel::Clip { min, max }, vec![x], out_shape)
            }
            Op::LeakyRelu { alpha } => {
                let x = self.activation(node, 0)?;
                self.emit_rescaled(
                    node,
                    Kernel::LeakyRelu { alpha: *alpha },
                    vec![x],
                    out_shape,
                )
            }
            Op::Concat { axis } => {
                let inputs = (0..node.inputs.len())
                    .map(|i| self.activation(node, i))
                    .collect::<Result<Vec<_>, _>>()?;
                let rank = out_shape.len() as i64;
                let axis = if *axis < 0 { axis + rank } else { *axis } as usize;
                self.emit(node, Kernel::Concat { axis }, inputs, out_shape)
            }
            Op::Transpose { perm } => {
                let x = self.activation(node, 0)?;
                let rank = out_shape.len();
                let perm = if perm.is_empty() {
                    (0..rank).rev().collect()
                } else {
                    perm.clone()
                };
                self.emit(node, Kernel::Transpose { perm }, vec![x], out_shape)
            }
            Op::Pad { pads, value } => {
                if fixed::encode(f64::from(*value), self.scale).is_none() {
                    return Err(CompileError::unsupported(
                        node,
                        format!(
                            "pad value {value} does not fit fixed point at scale {}",
                            self.scale
                        ),
                    ));
                }
                let x = self.activation(node, 0)?;
                let pads = pads.iter().map(|&p| p as usize).collect();
                self.emit(
                    node,
                    Kernel::Pad {
                        pads,
                        value: *value,
                    },
                    vec![x],
                    out_shape,
                )
            }
            Op::PRelu => self.prelu(node, out_shape)?,
            Op::Slice {
                starts,
                ends,
                axes,
                steps,
            } => {
                let input = self.shape(node.inputs[0]);
                let axes = slice_axes(&input, starts, ends, axes, steps)
                    .map_err(|reason| CompileError::shape(node, reason))?;
                self.slice(node, axes, out_shape)?
            }
            Op::Neg => {
                let x = self.activation(node, 0)?;
                self.emit(node, Kernel::Neg, vec![x], out_shape)
            }
            Op::HardSigmoid { alpha, beta } => {
                let x = self.activation(node, 0)?;
                self.hard_sigmoid(node, x, (*alpha, *beta), out_shape)?
            }
            Op::HardSwish => self.hard_swish(node, out_shape)?,
            Op::Sigmoid => self.smooth(node, Smooth::Sigmoid, out_shape)?,
            Op::Tanh => self.smooth(node, Smooth::Tanh, out_shape)?,
            Op::Softplus => self.smooth(node, Smooth::Softplus, out_shape)?,
            Op::Reduce {
                kind,
                axes,
                noop_with_empty_axes,
                ..
            } => self.reduce(node, *kind, axes, *noop_with_empty_axes, out_shape)?,
            Op::Softmax { axis } => {
                if node.output != self.graph.output {
                    return Err(CompileError::unsupported(
                        node,
                        "Softmax is supported only as the model's last step",
                    ));
                }
                let x = self.activation(node, 0)?;
                let rank = out_shape.len() as i64;
                self.softmax = Some(if *axis < 0 { axis + rank } else { *axis } as usize);
                x
            }
            Op::Flatten { .. }
            | Op::Reshape
            | Op::Identity
            | Op::Cast
            | Op::Squeeze { .. }
            | Op::Unsqueeze { .. } => {
                let x = self.activation(node, 0)?;
                self.emit(node, Kernel::Reshape, vec![x], out_shape)
            }
            _ => {
                return Err(CompileError::unsupported(
                    node,
                    "no lowering for this operator",
                ))
            }
        };
        self.slot_of.insert(node.output, slot);
        Ok(())
    }

    fn gemm(
        &mut self,
        node: &Node,
        attrs: &cryptflow_ir::GemmAttrs,
        out_shape: Vec<usize>,
    ) -> Result<SlotId, CompileError> {
        if attrs.trans_a {
            return Err(CompileError::unsupported(
                node,
                "transA=1 on an activation is not supported",
            ));
        }
        let x = self.activation(node, 0)?;
        let b = self.constant(node, 1)?.clone();
        let (rows, out) = (out_shape[0], out_shape[1]);
        let inner = b.len() / out.max(1);
        let mut w = if attrs.trans_b {
            b.data().to_vec()
        } else {
            transpose(b.data(), inner, out)
        };
        w.iter_mut().for_each(|v| *v *= attrs.alpha);
        let weight = self.weight(node, "B", &w, vec![out, inner], self.scale.bits())?;
        let bias = match node.inputs.get(2) {
            Some(_) => {
                let c = self.constant(node, 2)?.clone();
                let values: Vec<f32> = match c.len() {
                    n if n == out => c.data().iter().map(|v| v * attrs.beta).collect(),
                    1 => vec![c.data()[0] * attrs.beta; out],
                    _ => {
                        return Err(CompileError::unsupported(
                            node,
                            format!(
                                "bias C of shape {:?} is not supported (expected {out} elements)",
                                c.shape()
                            ),
                        ))
                    }
                };
                Some(self.weight(node, "C", &values, vec![out], 2 * self.scale.bits())?)
            }
            None => None,
        };
        Ok(self.emit_rescaled(
            node,
            Kernel::MatMul {
                rows,
                inner,
                out,
                weight,
                bias,
            },
            vec![x],
            out_shape,
        ))
    }
}

fn transpose(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let mut t = vec![0.0; data.len()];
    for r in 0..rows {
        for c in 0..cols {
            t[c * rows + r] = data[r * cols + c];
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::elementwise::broadcast_to;
    use super::*;

    use cryptflow_ir::GemmAttrs;

    /// x [1, 3] → Gemm (W [2, 3], transB, bias) → Relu → Div by 4.
    fn small_graph() -> Graph {
        let mut g = Graph::default();
        let x = g.add_value("x", Some(vec![1, 3]));
        let w = g.add_value("w", Some(vec![2, 3]));
        g.constants.insert(
            w,
            Tensor::new(vec![2, 3], vec![1.0, 0.5, -1.0, 2.0, 0.0, 0.25]).expect("sized"),
        );
        let b = g.add_value("b", Some(vec![2]));
        g.constants
            .insert(b, Tensor::new(vec![2], vec![0.5, -0.5]).expect("sized"));
        let four = g.add_value("four", Some(vec![]));
        g.constants
            .insert(four, Tensor::new(vec![], vec![4.0]).expect("scalar"));
        let (y, r, d) = (
            g.add_value("y", Some(vec![1, 2])),
            g.add_value("r", Some(vec![1, 2])),
            g.add_value("d", Some(vec![1, 2])),
        );
        let gemm = GemmAttrs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        };
        g.nodes = vec![
            Node {
                name: "fc".into(),
                op: Op::Gemm(gemm),
                inputs: vec![x, w, b],
                output: y,
            },
            Node {
                name: "relu".into(),
                op: Op::Relu,
                inputs: vec![y],
                output: r,
            },
            Node {
                name: "quarter".into(),
                op: Op::Div,
                inputs: vec![r, four],
                output: d,
            },
        ];
        g.input = x;
        g.output = d;
        g
    }

    #[test]
    fn lowering_places_scales_and_truncations() {
        let scale = Scale::new(8).expect("valid");
        let lowered = lower(&small_graph(), scale).expect("lowers");
        let kernels: Vec<&str> = lowered
            .program
            .instructions
            .iter()
            .map(|i| i.kernel.name())
            .collect();
        // Products come out at 2s and are truncated back; ReLU keeps the scale.
        assert_eq!(
            kernels,
            vec!["MatMul", "Truncate", "Relu", "Scale", "Truncate"]
        );
        let tensors = &lowered.weights.tensors;
        // W at s = 8 bits: 0.5 → 128, −1 → 2^64 − 256.
        assert_eq!(tensors[0].data()[1], 128);
        assert_eq!(tensors[0].data()[2], 256u64.wrapping_neg());
        // The bias is added to a product, so it is encoded at 2s: 0.5 → 2^15.
        assert_eq!(tensors[1].data()[0], 1 << 15);
        // Division by 4 becomes multiplication by 0.25 at s, broadcast to the shape.
        assert_eq!(tensors[2].data(), &[64, 64]);
        assert_eq!(lowered.real_weights[2].data(), &[0.25, 0.25]);
        assert!(matches!(
            lowered.program.instructions[1].kernel,
            Kernel::Truncate { bits: 8 }
        ));
    }

    #[test]
    fn a_product_of_two_activations_is_a_mul_then_a_truncation() {
        let mut g = small_graph();
        let r = g.nodes[1].output;
        g.nodes[2].op = Op::Mul;
        g.nodes[2].inputs = vec![r, r];
        let lowered = lower(&g, Scale::new(8).expect("valid")).expect("lowers");
        let kernels: Vec<&Kernel> = lowered
            .program
            .instructions
            .iter()
            .map(|i| &i.kernel)
            .collect();
        let mul = kernels
            .iter()
            .position(|k| **k == Kernel::Mul)
            .expect("a Mul");
        assert_eq!(kernels[mul + 1], &Kernel::Truncate { bits: 8 });
        let inputs = &lowered.program.instructions[mul].inputs;
        assert_eq!(inputs[0], inputs[1], "r · r reads one slot twice");
    }

    #[test]
    fn a_product_of_activations_that_broadcast_both_ways_is_refused_with_the_node_named() {
        // [1, 2] · [2, 1] is [2, 2]: neither factor is the output's shape.
        let mut g = small_graph();
        let r = g.nodes[1].output;
        let column = g.add_value("column", Some(vec![2, 1]));
        g.nodes[2] = Node {
            name: "to_column".into(),
            op: Op::Reshape,
            inputs: vec![r, g.nodes[2].inputs[1]],
            output: column,
        };
        let out = g.add_value("outer", Some(vec![2, 2]));
        g.nodes.push(Node {
            name: "outer".into(),
            op: Op::Mul,
            inputs: vec![r, column],
            output: out,
        });
        g.output = out;
        let err = lower(&g, Scale::new(8).expect("valid")).unwrap_err();
        assert!(err.to_string().starts_with("node `outer` (Mul):"), "{err}");
        assert!(err.to_string().contains("broadcast"), "{err}");
    }

    #[test]
    fn clip_bounds_beyond_the_ring_are_dropped() {
        let mut g = small_graph();
        g.nodes[1].op = Op::Clip {
            min: Some(0.0),
            max: Some(1e30),
        };
        let lowered = lower(&g, Scale::new(8).expect("valid")).expect("lowers");
        assert!(matches!(
            lowered.program.instructions[2].kernel,
            Kernel::Clip {
                min: Some(_),
                max: None
            }
        ));
        g.nodes[1].op = Op::Clip {
            min: Some(-1e30),
            max: None,
        };
        let lowered = lower(&g, Scale::new(8).expect("valid")).expect("lowers");
        let kernels: Vec<&str> = lowered
            .program
            .instructions
            .iter()
            .map(|i| i.kernel.name())
            .collect();
        assert_eq!(kernels, vec!["MatMul", "Truncate", "Scale", "Truncate"]);
    }

    #[test]
    fn broadcast_expands_per_channel_constants() {
        let out = broadcast_to(&[1.0, 2.0], &[2, 1, 1], &[1, 2, 2, 2]);
        assert_eq!(out, vec![1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0]);
    }
}
