//! What an op builder sees ([`Context`]) and what it returns ([`Built`]).

use crate::attributes::Attributes;
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::{Graph, Op, ValueId};
use cryptflow_ring::Tensor;
use std::collections::{HashMap, HashSet};

/// The result of one op builder.
#[derive(Debug)]
pub(crate) enum Built {
    /// One graph node computing `op` from `inputs`; it writes the ONNX node's first output.
    Node { op: Op, inputs: Vec<ValueId> },
    /// No node: the ONNX node's first output is this constant (e.g. `Constant`).
    Constant(Tensor<f32>),
}

/// The graph built so far, seen from one node. Every non-empty input of the node has
/// already been resolved to a value (initializers converted to constants).
#[derive(Debug)]
pub(crate) struct Context<'a> {
    /// The node's name, synthesized as `<OpType>_<index>` when the model has none.
    pub(crate) node_name: &'a str,
    /// The model's ai.onnx opset version.
    pub(crate) opset: i64,
    pub(crate) graph: &'a Graph,
    pub(crate) ids: &'a HashMap<String, ValueId>,
    /// Static shapes the model states in `value_info` and for the graph output (used to
    /// resolve padding and the opset < 13 Softmax).
    pub(crate) hints: &'a HashMap<String, Vec<usize>>,
    /// The values that depend on the graph input's values (not only on its shape).
    pub(crate) dynamic: &'a HashSet<ValueId>,
}

impl<'a> Context<'a> {
    pub(crate) fn attributes(&self, node: &'a NodeProto) -> Attributes<'a> {
        Attributes::new(self.node_name, node)
    }

    /// The value of input `index`, which the operator requires; `role` names it in errors.
    pub(crate) fn input(
        &self,
        node: &NodeProto,
        index: usize,
        role: &'static str,
    ) -> Result<ValueId, ImportError> {
        let name = node.input.get(index).map_or("", String::as_str);
        if name.is_empty() {
            return Err(ImportError::MissingInput {
                node: self.node_name.to_owned(),
                op: node.op_type().to_owned(),
                index,
                role,
            });
        }
        self.ids
            .get(name)
            .copied()
            .ok_or_else(|| ImportError::UnknownValue {
                node: self.node_name.to_owned(),
                value: name.to_owned(),
            })
    }

    /// The value of an optional input, `None` when the node leaves it out.
    pub(crate) fn optional_input(
        &self,
        node: &NodeProto,
        index: usize,
    ) -> Result<Option<ValueId>, ImportError> {
        match node.input.get(index).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(_) => self.input(node, index, "optional").map(Some),
        }
    }

    /// The `axes` of a node that takes them as an attribute before opset
    /// `input_from` and as the optional constant input 1 from then on (Squeeze,
    /// Unsqueeze, the reductions); `None` when absent.
    pub(crate) fn axes(
        &self,
        node: &NodeProto,
        input_from: i64,
    ) -> Result<Option<Vec<i64>>, ImportError> {
        if self.opset < input_from {
            Ok(self.attributes(node).ints("axes")?.map(<[i64]>::to_vec))
        } else {
            self.optional_input(node, 1)?
                .map(|id| self.constant_ints(node, id, "axes"))
                .transpose()
        }
    }

    pub(crate) fn constant(&self, id: ValueId) -> Option<&'a Tensor<f32>> {
        self.graph.constant(id)
    }

    /// The constant behind a value, or [`ImportError::NotConstant`].
    pub(crate) fn require_constant(
        &self,
        node: &NodeProto,
        id: ValueId,
        role: &'static str,
    ) -> Result<&'a Tensor<f32>, ImportError> {
        self.constant(id)
            .ok_or_else(|| self.not_constant(node, id, role))
    }

    pub(crate) fn not_constant(
        &self,
        node: &NodeProto,
        id: ValueId,
        role: &'static str,
    ) -> ImportError {
        ImportError::NotConstant {
            node: self.node_name.to_owned(),
            op: node.op_type().to_owned(),
            input: self.graph.name(id).to_owned(),
            role,
        }
    }

    /// Whether a value is known at compile time: a constant, or computed from constants
    /// and tensor shapes only (the compiler folds it).
    pub(crate) fn is_static(&self, id: ValueId) -> bool {
        !self.dynamic.contains(&id)
    }

    /// Checks that a value does not depend on the graph input's values, else
    /// [`ImportError::NotConstant`].
    pub(crate) fn require_static(
        &self,
        node: &NodeProto,
        id: ValueId,
        role: &'static str,
    ) -> Result<(), ImportError> {
        if self.is_static(id) {
            Ok(())
        } else {
            Err(self.not_constant(node, id, role))
        }
    }

    /// The integers of a constant input (axes, pads), or [`ImportError::NotConstant`];
    /// a value that is not a whole number is [`ImportError::InvalidTensor`].
    pub(crate) fn constant_ints(
        &self,
        node: &NodeProto,
        id: ValueId,
        role: &'static str,
    ) -> Result<Vec<i64>, ImportError> {
        let tensor = self.require_constant(node, id, role)?;
        tensor
            .data()
            .iter()
            .map(|&v| {
                // Whole and below 2^63 in magnitude: the cast is exact.
                if v.fract() == 0.0 && v.abs() < 9.2e18 {
                    Ok(v as i64)
                } else {
                    Err(ImportError::InvalidTensor {
                        tensor: self.name(id).to_owned(),
                        reason: format!("{role} must hold integers but holds {v}"),
                    })
                }
            })
            .collect()
    }

    /// The one value of a constant scalar input (a bound, a padding value), or
    /// [`ImportError::NotConstant`] / [`ImportError::InvalidTensor`].
    pub(crate) fn constant_scalar(
        &self,
        node: &NodeProto,
        id: ValueId,
        role: &'static str,
    ) -> Result<f32, ImportError> {
        match self.require_constant(node, id, role)?.data() {
            [value] => Ok(*value),
            data => Err(ImportError::InvalidTensor {
                tensor: self.name(id).to_owned(),
                reason: format!("{role} must be a scalar but holds {} values", data.len()),
            }),
        }
    }

    /// The shape of a value when known: the graph input's, a constant's, or the one the
    /// model states in `value_info`.
    pub(crate) fn shape(&self, id: ValueId) -> Option<&'a [usize]> {
        self.graph
            .shape(id)
            .or_else(|| self.constant(id).map(Tensor::shape))
            .or_else(|| self.hints.get(self.graph.name(id)).map(Vec::as_slice))
    }

    pub(crate) fn name(&self, id: ValueId) -> &'a str {
        self.graph.name(id)
    }
}
