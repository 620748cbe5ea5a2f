//! Structure-aware ONNX: small graphs of the supported operators built from `arbitrary`
//! choices, imported with `cryptflow_onnx::import_model` and compiled like
//! [`crate::onnx_compile`]. Byte-level mutation of protobuf rarely produces a new
//! well-formed node; this reaches the op builders, shape inference and lowering with
//! odd attributes, ranks and constant inputs in every run.

use arbitrary::{Arbitrary, Unstructured};
use cryptflow_onnx::proto::attribute_proto::AttributeType;
use cryptflow_onnx::proto::tensor_proto::DataType;
use cryptflow_onnx::proto::tensor_shape_proto::{dimension, Dimension};
use cryptflow_onnx::proto::{
    type_proto, AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};

const OPS: &[&str] = &[
    "Conv",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Gemm",
    "MatMul",
    "Relu",
    "LeakyRelu",
    "Clip",
    "Softmax",
    "BatchNormalization",
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Sum",
    "Flatten",
    "Reshape",
    "Squeeze",
    "Unsqueeze",
    "Transpose",
    "Concat",
    "Pad",
    "Shape",
    "Gather",
    "Cast",
    "ConstantOfShape",
    "Identity",
    "Dropout",
    "Constant",
];

const INT_ATTRS: &[&str] = &[
    "axis",
    "group",
    "ceil_mode",
    "count_include_pad",
    "transA",
    "transB",
    "to",
    "keepdims",
    "allowzero",
    "is_test",
    "broadcast",
    "training_mode",
    "storage_order",
];
const INTS_ATTRS: &[&str] = &[
    "kernel_shape",
    "strides",
    "pads",
    "dilations",
    "perm",
    "axes",
    "value_ints",
];
const FLOAT_ATTRS: &[&str] = &[
    "alpha",
    "beta",
    "epsilon",
    "min",
    "max",
    "value_float",
    "momentum",
];
const STRING_ATTRS: &[(&str, &[&str])] = &[
    (
        "auto_pad",
        &["NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID", "bad"],
    ),
    ("mode", &["constant", "reflect", "edge", "wrap"]),
];

#[derive(Arbitrary, Debug)]
pub struct GraphSpec {
    opset: u8,
    input: Vec<Dim>,
    nodes: Vec<NodeSpec>,
    /// Declare a shape for the output (some builders read it).
    output_shape: Option<Vec<Dim>>,
}

#[derive(Arbitrary, Debug)]
enum Dim {
    Fixed(u8),
    /// Any i64: sizes whose products overflow, negative and zero dims.
    Large(i64),
    Symbolic,
}

#[derive(Arbitrary, Debug)]
struct NodeSpec {
    op: u8,
    inputs: Vec<InputSpec>,
    attributes: Vec<AttrSpec>,
}

#[derive(Arbitrary, Debug)]
enum InputSpec {
    /// The output of the node this many values back (the graph input at the start).
    Value(u8),
    /// A float initializer.
    Floats { dims: Vec<u8>, values: Vec<i8> },
    /// A 1-D int64 initializer (shapes, axes, pads, indices).
    Ints(Vec<i8>),
    /// The same with any values.
    LargeInts(Vec<i64>),
    /// An omitted optional input.
    Empty,
}

#[derive(Arbitrary, Debug)]
enum AttrSpec {
    Int(u8, i8),
    Ints(u8, Vec<i8>),
    LargeInts(u8, Vec<i64>),
    Float(u8, i8),
    String(u8, u8),
    Tensor { dims: Vec<u8>, values: Vec<i8> },
}

/// Builds a model from the bytes and imports and compiles it.
pub fn onnx_graph(data: &[u8]) {
    build(data, true)
}

/// [`onnx_graph`] without the guards for known open bugs (see `known.rs`).
pub fn onnx_graph_unguarded(data: &[u8]) {
    build(data, false)
}

fn build(data: &[u8], guarded: bool) {
    if let Ok(spec) = GraphSpec::arbitrary_take_rest(Unstructured::new(data)) {
        crate::onnx::check_compiles(cryptflow_onnx::import_model(&spec.model()), guarded);
    }
}

fn pick<'a>(names: &[&'a str], i: u8) -> &'a str {
    names[usize::from(i) % names.len()]
}

fn dims(dims: &[Dim]) -> TensorShapeProto {
    let dim = dims
        .iter()
        .take(5)
        .map(|d| Dimension {
            denotation: None,
            value: Some(match d {
                Dim::Fixed(v) => dimension::Value::DimValue(i64::from(v % 9)),
                Dim::Large(v) => dimension::Value::DimValue(*v),
                Dim::Symbolic => dimension::Value::DimParam("N".into()),
            }),
        })
        .collect();
    TensorShapeProto { dim }
}

fn info(name: &str, shape: Option<&[Dim]>) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(DataType::Float as i32),
                shape: shape.map(dims),
            })),
        }),
        ..Default::default()
    }
}

/// A float tensor of small dims; the values repeat to fill it (zeros if none).
fn float_tensor(name: &str, dims: &[u8], values: &[i8]) -> TensorProto {
    let dims: Vec<i64> = dims.iter().take(4).map(|d| i64::from(d % 7)).collect();
    let len: i64 = dims.iter().product();
    let data = (0..len as usize)
        .map(|i| {
            values
                .get(i % values.len().max(1))
                .map_or(0.0, |&v| f32::from(v) / 8.0)
        })
        .collect();
    TensorProto {
        name: Some(name.into()),
        dims,
        data_type: Some(DataType::Float as i32),
        float_data: data,
        ..Default::default()
    }
}

fn attribute(spec: &AttrSpec) -> AttributeProto {
    let named = |name: &str, kind: AttributeType| AttributeProto {
        name: Some(name.into()),
        r#type: Some(kind as i32),
        ..Default::default()
    };
    match spec {
        AttrSpec::Int(n, v) => AttributeProto {
            i: Some(i64::from(*v)),
            ..named(pick(INT_ATTRS, *n), AttributeType::Int)
        },
        AttrSpec::Ints(n, v) => AttributeProto {
            ints: v.iter().take(8).map(|&x| i64::from(x)).collect(),
            ..named(pick(INTS_ATTRS, *n), AttributeType::Ints)
        },
        AttrSpec::LargeInts(n, v) => AttributeProto {
            ints: v.iter().take(8).copied().collect(),
            ..named(pick(INTS_ATTRS, *n), AttributeType::Ints)
        },
        AttrSpec::Float(n, v) => AttributeProto {
            f: Some(f32::from(*v) / 8.0),
            ..named(pick(FLOAT_ATTRS, *n), AttributeType::Float)
        },
        AttrSpec::String(n, v) => {
            let (name, values) = STRING_ATTRS[usize::from(*n) % STRING_ATTRS.len()];
            AttributeProto {
                s: Some(pick(values, *v).as_bytes().to_vec()),
                ..named(name, AttributeType::String)
            }
        }
        AttrSpec::Tensor { dims, values } => AttributeProto {
            t: Some(float_tensor("", dims, values)),
            ..named("value", AttributeType::Tensor)
        },
    }
}

impl GraphSpec {
    /// The ONNX model these choices describe.
    pub fn model(&self) -> ModelProto {
        let mut values = vec!["x".to_owned()];
        let mut initializer = Vec::new();
        let mut node = Vec::new();
        for (i, spec) in self.nodes.iter().take(8).enumerate() {
            let mut input = Vec::new();
            for (j, arg) in spec.inputs.iter().take(4).enumerate() {
                let name = format!("c{i}_{j}");
                input.push(match arg {
                    InputSpec::Value(back) => {
                        values[values.len() - 1 - usize::from(*back) % values.len()].clone()
                    }
                    InputSpec::Floats { dims, values } => {
                        initializer.push(float_tensor(&name, dims, values));
                        name
                    }
                    InputSpec::Ints(_) | InputSpec::LargeInts(_) => {
                        let data: Vec<i64> = match arg {
                            InputSpec::Ints(v) => v.iter().take(8).map(|&x| i64::from(x)).collect(),
                            InputSpec::LargeInts(v) => v.iter().take(8).copied().collect(),
                            _ => Vec::new(),
                        };
                        initializer.push(TensorProto {
                            name: Some(name.clone()),
                            dims: vec![data.len() as i64],
                            data_type: Some(DataType::Int64 as i32),
                            int64_data: data,
                            ..Default::default()
                        });
                        name
                    }
                    InputSpec::Empty => String::new(),
                });
            }
            let output = format!("v{i}");
            node.push(NodeProto {
                op_type: Some(pick(OPS, spec.op).into()),
                input,
                output: vec![output.clone()],
                attribute: spec.attributes.iter().take(6).map(attribute).collect(),
                ..Default::default()
            });
            values.push(output);
        }
        let last = values.last().cloned().unwrap_or_default();
        ModelProto {
            ir_version: Some(8),
            opset_import: vec![OperatorSetIdProto {
                domain: Some(String::new()),
                version: Some(5 + i64::from(self.opset % 18)),
            }],
            graph: Some(GraphProto {
                name: Some("fuzz".into()),
                node,
                initializer,
                input: vec![info("x", Some(&self.input))],
                output: vec![info(&last, self.output_shape.as_deref())],
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}
