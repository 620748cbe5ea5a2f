//! What an op builder sees ([`Context`]) and what it returns ([`Built`]).

use crate::attributes::Attributes;
use crate::error::ImportError;
use crate::proto::NodeProto;
use cryptflow_ir::{Graph, Op, ValueId};
use cryptflow_ring::Tensor;
use std::collections::HashMap;

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
    /// Static shapes the model states in `value_info` (used only to resolve padding).
    pub(crate) hints: &'a HashMap<String, Vec<usize>>,
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
