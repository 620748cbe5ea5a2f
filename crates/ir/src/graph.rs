use crate::op::Op;
use cryptflow_ring::Tensor;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use thiserror::Error;

/// Index of a value (an edge of the graph) in [`Graph::values`].
pub type ValueId = usize;

#[derive(Debug, Error, PartialEq)]
#[non_exhaustive]
pub enum GraphError {
    #[error("value `{name}` is used by node `{node}` before anything produces it")]
    UseBeforeDefinition { name: String, node: String },
    #[error("value `{name}` is produced twice (by `{first}` and `{second}`)")]
    ProducedTwice {
        name: String,
        first: String,
        second: String,
    },
    #[error("the graph output `{name}` is never produced")]
    OutputNotProduced { name: String },
}

/// A named edge of the graph. `shape` is `None` until shape inference has run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Value {
    pub name: String,
    pub shape: Option<Vec<usize>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Node {
    pub name: String,
    pub op: Op,
    pub inputs: Vec<ValueId>,
    pub output: ValueId,
}

/// A float dataflow graph with one input and one output; nodes are in topological order.
#[derive(Clone, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Graph {
    pub values: Vec<Value>,
    pub nodes: Vec<Node>,
    /// Constant tensors (weights, biases, shapes) by value.
    pub constants: BTreeMap<ValueId, Tensor<f32>>,
    pub input: ValueId,
    pub output: ValueId,
}

impl Graph {
    /// Adds a value and returns its id.
    pub fn add_value(&mut self, name: impl Into<String>, shape: Option<Vec<usize>>) -> ValueId {
        self.values.push(Value {
            name: name.into(),
            shape,
        });
        self.values.len() - 1
    }

    pub fn constant(&self, id: ValueId) -> Option<&Tensor<f32>> {
        self.constants.get(&id)
    }

    pub fn name(&self, id: ValueId) -> &str {
        &self.values[id].name
    }

    pub fn shape(&self, id: ValueId) -> Option<&[usize]> {
        self.values[id].shape.as_deref()
    }

    /// Checks that nodes are in topological order, each value has one producer and the
    /// output is produced.
    pub fn validate(&self) -> Result<(), GraphError> {
        let mut producer: Vec<Option<&str>> = vec![None; self.values.len()];
        let mut defined = vec![false; self.values.len()];
        defined[self.input] = true;
        for &c in self.constants.keys() {
            defined[c] = true;
        }
        for node in &self.nodes {
            for &i in &node.inputs {
                if !defined[i] {
                    return Err(GraphError::UseBeforeDefinition {
                        name: self.name(i).to_owned(),
                        node: node.name.clone(),
                    });
                }
            }
            if let Some(first) = producer[node.output] {
                return Err(GraphError::ProducedTwice {
                    name: self.name(node.output).to_owned(),
                    first: first.to_owned(),
                    second: node.name.clone(),
                });
            }
            producer[node.output] = Some(&node.name);
            defined[node.output] = true;
        }
        if !defined[self.output] {
            return Err(GraphError::OutputNotProduced {
                name: self.name(self.output).to_owned(),
            });
        }
        Ok(())
    }
}
