//! Builds small ONNX models in code, as the prost structs, for the import tests.

// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use cryptflow_onnx::proto::attribute_proto::AttributeType;
use cryptflow_onnx::proto::tensor_proto::DataType;
use cryptflow_onnx::proto::tensor_shape_proto::{dimension, Dimension};
use cryptflow_onnx::proto::type_proto;
use cryptflow_onnx::proto::{
    AttributeProto, GraphProto, ModelProto, NodeProto, OperatorSetIdProto, TensorProto,
    TensorShapeProto, TypeProto, ValueInfoProto,
};
use prost::Message;

/// A dimension of a graph input: fixed or symbolic.
#[derive(Clone, Copy, Debug)]
pub enum Dim {
    Fixed(i64),
    Symbolic(&'static str),
}

pub fn tensor_info(name: &str, elem_type: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            denotation: None,
            value: Some(match *d {
                Dim::Fixed(v) => dimension::Value::DimValue(v),
                Dim::Symbolic(p) => dimension::Value::DimParam(p.into()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: Some(name.into()),
        r#type: Some(TypeProto {
            denotation: None,
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: Some(elem_type as i32),
                shape: Some(TensorShapeProto { dim }),
            })),
        }),
        ..Default::default()
    }
}

pub fn float_info(name: &str, dims: &[Dim]) -> ValueInfoProto {
    tensor_info(name, DataType::Float, dims)
}

/// An output (or value_info) with no shape.
pub fn output(name: &str) -> ValueInfoProto {
    ValueInfoProto {
        name: Some(name.into()),
        ..Default::default()
    }
}

pub fn node(
    op: &str,
    name: &str,
    inputs: &[&str],
    outputs: &[&str],
    attribute: Vec<AttributeProto>,
) -> NodeProto {
    NodeProto {
        op_type: Some(op.into()),
        name: (!name.is_empty()).then(|| name.into()),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute,
        ..Default::default()
    }
}

fn attribute(name: &str, kind: AttributeType) -> AttributeProto {
    AttributeProto {
        name: Some(name.into()),
        r#type: Some(kind as i32),
        ..Default::default()
    }
}

pub fn ints(name: &str, values: &[i64]) -> AttributeProto {
    AttributeProto {
        ints: values.to_vec(),
        ..attribute(name, AttributeType::Ints)
    }
}

pub fn int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        i: Some(value),
        ..attribute(name, AttributeType::Int)
    }
}

pub fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        f: Some(value),
        ..attribute(name, AttributeType::Float)
    }
}

pub fn string(name: &str, value: &str) -> AttributeProto {
    AttributeProto {
        s: Some(value.as_bytes().to_vec()),
        ..attribute(name, AttributeType::String)
    }
}

pub fn tensor_attr(name: &str, value: TensorProto) -> AttributeProto {
    AttributeProto {
        t: Some(value),
        ..attribute(name, AttributeType::Tensor)
    }
}

/// A float32 tensor stored as little-endian `raw_data` (as PyTorch writes it).
pub fn raw_floats(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(DataType::Float as i32),
        raw_data: Some(data.iter().flat_map(|v| v.to_le_bytes()).collect()),
        ..Default::default()
    }
}

/// A float32 tensor stored in `float_data`.
pub fn floats(name: &str, dims: &[i64], data: &[f32]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: dims.to_vec(),
        data_type: Some(DataType::Float as i32),
        float_data: data.to_vec(),
        ..Default::default()
    }
}

pub fn int64s(name: &str, data: &[i64]) -> TensorProto {
    TensorProto {
        name: Some(name.into()),
        dims: vec![data.len() as i64],
        data_type: Some(DataType::Int64 as i32),
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

/// `count` floats 0, 0.01, 0.02, ...
pub fn ramp(count: usize) -> Vec<f32> {
    (0..count).map(|i| i as f32 / 100.0).collect()
}

pub fn model(
    opset: i64,
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
    input: Vec<ValueInfoProto>,
    output: Vec<ValueInfoProto>,
) -> ModelProto {
    ModelProto {
        ir_version: Some(8),
        producer_name: Some("cryptflow-onnx tests".into()),
        opset_import: vec![OperatorSetIdProto {
            domain: Some(String::new()),
            version: Some(opset),
        }],
        graph: Some(GraphProto {
            name: Some("test".into()),
            node: nodes,
            initializer,
            input,
            output,
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// x [N, 1, 28, 28] -> Conv(4, 5x5) -> Relu -> MaxPool(2x2, stride 2) -> Flatten -> Gemm(10).
pub fn small_cnn() -> ModelProto {
    model(
        13,
        vec![
            node(
                "Conv",
                "conv1",
                &["x", "conv.w", "conv.b"],
                &["c1"],
                vec![
                    ints("kernel_shape", &[5, 5]),
                    ints("strides", &[1, 1]),
                    ints("pads", &[0, 0, 0, 0]),
                ],
            ),
            node("Relu", "relu1", &["c1"], &["r1"], vec![]),
            node(
                "MaxPool",
                "pool1",
                &["r1"],
                &["p1"],
                vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])],
            ),
            node("Flatten", "flat", &["p1"], &["f1"], vec![int("axis", 1)]),
            node(
                "Gemm",
                "fc",
                &["f1", "fc.w", "fc.b"],
                &["y"],
                vec![float("alpha", 1.0), float("beta", 1.0), int("transB", 1)],
            ),
        ],
        vec![
            raw_floats("conv.w", &[4, 1, 5, 5], &ramp(100)),
            floats("conv.b", &[4], &[0.5, -0.5, 1.0, -1.0]),
            raw_floats("fc.w", &[10, 576], &ramp(5760)),
            floats("fc.b", &[10], &ramp(10)),
        ],
        vec![float_info(
            "x",
            &[
                Dim::Symbolic("N"),
                Dim::Fixed(1),
                Dim::Fixed(28),
                Dim::Fixed(28),
            ],
        )],
        vec![output("y")],
    )
}

pub fn encode(model: &ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

pub fn import(model: &ModelProto) -> Result<cryptflow_ir::Graph, cryptflow_onnx::ImportError> {
    cryptflow_onnx::import_bytes(&encode(model))
}

/// A float32 scalar (no dimensions) stored in `float_data`.
pub fn scalar(name: &str, value: f32) -> TensorProto {
    floats(name, &[], &[value])
}

/// x (float32, `dims`) -> `nodes` -> y, with the given initializers; the graph output
/// has no stated shape.
pub fn chain(
    opset: i64,
    dims: &[i64],
    nodes: Vec<NodeProto>,
    initializer: Vec<TensorProto>,
) -> ModelProto {
    let dims: Vec<Dim> = dims.iter().map(|&d| Dim::Fixed(d)).collect();
    model(
        opset,
        nodes,
        initializer,
        vec![float_info("x", &dims)],
        vec![output("y")],
    )
}

/// The op of the last node of the imported graph (the one that writes `y`).
pub fn last_op(model: &ModelProto) -> cryptflow_ir::Op {
    let graph = import(model).unwrap_or_else(|e| panic!("{e}"));
    graph.nodes.last().expect("a node").op.clone()
}

/// The names of the inputs of the last node of `graph`.
pub fn last_inputs(graph: &cryptflow_ir::Graph) -> Vec<&str> {
    let node = graph.nodes.last().expect("a node");
    node.inputs.iter().map(|&id| graph.name(id)).collect()
}
