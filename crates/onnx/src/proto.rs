//! The ONNX protobuf messages (`ModelProto`, `GraphProto`, `NodeProto`, `TensorProto`,
//! ...), generated at build time from the vendored `proto/onnx.proto` by `prost-build`.
//!
//! Public so that callers and tests can build models in code and encode them with
//! [`prost::Message::encode_to_vec`].

#![allow(clippy::all, clippy::pedantic, missing_docs)]

include!(concat!(env!("OUT_DIR"), "/onnx.rs"));
