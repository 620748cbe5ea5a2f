//! The import loop: decode, check the signature, run each node's builder in order.

use crate::builders::builder;
use crate::context::{Built, Context};
use crate::error::ImportError;
use crate::proto::{GraphProto, ModelProto, NodeProto, TensorProto};
use crate::signature::{input_shape, shape_hints, single_input, single_output};
use crate::tensor::to_f32;
use crate::SUPPORTED_OPSETS;
use cryptflow_ir::{Graph, GraphError, Node, Op, ValueId};
use prost::Message;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// Reads and imports an ONNX model file.
pub fn import_file(path: &Path) -> Result<Graph, ImportError> {
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => ImportError::FileNotFound {
            path: path.to_owned(),
        },
        _ => ImportError::Unreadable {
            path: path.to_owned(),
            source,
        },
    })?;
    import_bytes(&bytes)
}

/// Imports the bytes of an ONNX model file (a serialized `ModelProto`).
pub fn import_bytes(bytes: &[u8]) -> Result<Graph, ImportError> {
    let model = ModelProto::decode(bytes).map_err(|source| ImportError::Decode { source })?;
    import_model(&model)
}

/// Imports a decoded model.
pub fn import_model(model: &ModelProto) -> Result<Graph, ImportError> {
    let graph = model.graph.as_ref().ok_or(ImportError::NoGraph)?;
    let opset = opset(model, "").ok_or(ImportError::MissingOpset)?;
    if !SUPPORTED_OPSETS.contains(&opset) {
        return Err(ImportError::UnsupportedOpset { version: opset });
    }
    Importer::new(model, graph, opset).run()
}

fn is_default_domain(domain: &str) -> bool {
    matches!(domain, "" | "ai.onnx")
}

/// The version the model imports for `domain`.
fn opset(model: &ModelProto, domain: &str) -> Option<i64> {
    let default = is_default_domain(domain);
    model
        .opset_import
        .iter()
        .find(|set| set.domain() == domain || (default && is_default_domain(set.domain())))
        .map(|set| set.version())
}

struct Importer<'a> {
    model: &'a ModelProto,
    proto: &'a GraphProto,
    opset: i64,
    graph: Graph,
    ids: HashMap<String, ValueId>,
    /// Who defines each value, for messages.
    producers: HashMap<ValueId, String>,
    initializers: HashMap<&'a str, &'a TensorProto>,
    hints: HashMap<String, Vec<usize>>,
    /// Extra node outputs, which are not imported: name -> (node, op type).
    dropped: HashMap<&'a str, (String, &'a str)>,
    /// Values that depend on the graph input's values; see [`Context::is_static`].
    dynamic: HashSet<ValueId>,
}

impl<'a> Importer<'a> {
    fn new(model: &'a ModelProto, proto: &'a GraphProto, opset: i64) -> Self {
        Importer {
            model,
            proto,
            opset,
            graph: Graph::default(),
            ids: HashMap::new(),
            producers: HashMap::new(),
            initializers: proto.initializer.iter().map(|t| (t.name(), t)).collect(),
            hints: shape_hints(proto),
            dropped: HashMap::new(),
            dynamic: HashSet::new(),
        }
    }

    fn run(mut self) -> Result<Graph, ImportError> {
        // Old writers (IR < 4) list initializers among the graph inputs, and some also list
        // values that a node produces (e.g. weights made by ConstantOfShape): neither is
        // the model's input.
        let mut not_inputs: HashSet<&str> = self.initializers.keys().copied().collect();
        not_inputs.extend(
            self.proto
                .node
                .iter()
                .flat_map(|n| n.output.iter().map(String::as_str)),
        );
        let input = single_input(self.proto, &not_inputs)?;
        let output = single_output(self.proto)?;
        let shape = input_shape(input)?;
        let id = self.define(input.name(), Some(shape), "the graph input".into());
        self.graph.input = id;
        self.dynamic.insert(id);
        for (index, node) in self.proto.node.iter().enumerate() {
            self.node(index, node)?;
        }
        self.graph.output = match self.resolve(output.name(), "the graph output") {
            Err(ImportError::UnknownValue { value, .. }) => {
                return Err(GraphError::OutputNotProduced { name: value }.into())
            }
            other => other?,
        };
        self.graph.validate()?;
        Ok(self.graph)
    }

    fn node(&mut self, index: usize, node: &'a NodeProto) -> Result<(), ImportError> {
        let op_type = node.op_type();
        let name = match node.name() {
            "" => format!("{op_type}_{index}"),
            name => name.to_owned(),
        };
        let domain = node.domain();
        let Some(build) = is_default_domain(domain)
            .then(|| builder(op_type))
            .flatten()
        else {
            return Err(ImportError::UnsupportedOp {
                op: op_type.to_owned(),
                node: name,
                opset: opset(self.model, domain).unwrap_or(0),
                domain: if domain.is_empty() { "ai.onnx" } else { domain }.to_owned(),
            });
        };
        for input in node.input.iter().filter(|input| !input.is_empty()) {
            self.resolve(input, &name)?;
        }
        let output = node
            .output
            .first()
            .filter(|output| !output.is_empty())
            .ok_or_else(|| ImportError::NoOutput {
                node: name.clone(),
                op: op_type.to_owned(),
            })?;
        if let Some(first) = self.defined_by(output) {
            return Err(GraphError::ProducedTwice {
                name: output.clone(),
                first,
                second: name,
            }
            .into());
        }
        let context = Context {
            node_name: &name,
            opset: self.opset,
            graph: &self.graph,
            ids: &self.ids,
            hints: &self.hints,
            dynamic: &self.dynamic,
        };
        let built = build(node, &context)?;
        let id = self.define(output, None, name.clone());
        match built {
            Built::Node { op, inputs } => {
                // Shape reads only the (static) shape of its input.
                if op != Op::Shape && inputs.iter().any(|i| self.dynamic.contains(i)) {
                    self.dynamic.insert(id);
                }
                self.graph.nodes.push(Node {
                    name: name.clone(),
                    op,
                    inputs,
                    output: id,
                });
            }
            Built::Constant(tensor) => {
                self.graph.constants.insert(id, tensor);
            }
        }
        for extra in node.output.iter().skip(1).filter(|extra| !extra.is_empty()) {
            self.dropped.insert(extra, (name.clone(), op_type));
        }
        Ok(())
    }

    /// The value named `name`, converting an initializer on its first use.
    fn resolve(&mut self, name: &str, consumer: &str) -> Result<ValueId, ImportError> {
        if let Some(&id) = self.ids.get(name) {
            return Ok(id);
        }
        if let Some(proto) = self.initializers.get(name) {
            let tensor = to_f32(proto, name)?;
            let id = self.define(name, None, "an initializer".into());
            self.graph.constants.insert(id, tensor);
            return Ok(id);
        }
        if let Some((node, op)) = self.dropped.get(name) {
            return Err(ImportError::UnsupportedOutput {
                node: node.clone(),
                op: (*op).to_owned(),
                output: name.to_owned(),
                consumer: consumer.to_owned(),
            });
        }
        Err(ImportError::UnknownValue {
            node: consumer.to_owned(),
            value: name.to_owned(),
        })
    }

    /// Who already defines `name`, if anyone.
    fn defined_by(&self, name: &str) -> Option<String> {
        match self.ids.get(name) {
            Some(id) => self.producers.get(id).cloned(),
            None if self.initializers.contains_key(name) => Some("an initializer".into()),
            None => self.dropped.get(name).map(|(node, _)| node.clone()),
        }
    }

    fn define(&mut self, name: &str, shape: Option<Vec<usize>>, producer: String) -> ValueId {
        let id = self.graph.add_value(name, shape);
        self.ids.insert(name.to_owned(), id);
        self.producers.insert(id, producer);
        id
    }
}
