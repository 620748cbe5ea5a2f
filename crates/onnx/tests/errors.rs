//! Models that do not import: the exact variant and what the message tells the user.

mod support;

use cryptflow_ir::GraphError;
use cryptflow_onnx::proto::tensor_proto::{DataLocation, DataType};
use cryptflow_onnx::proto::{OperatorSetIdProto, StringStringEntryProto, TensorProto};
use cryptflow_onnx::{import_bytes, import_file, ImportError};
use std::path::Path;
use support::*;

/// x [1, 4] -> <op> -> y, with the given op node.
fn one_node(opset: i64, op: cryptflow_onnx::proto::NodeProto) -> cryptflow_onnx::proto::ModelProto {
    model(
        opset,
        vec![op],
        vec![],
        vec![float_info("x", &[Dim::Fixed(1), Dim::Fixed(4)])],
        vec![output("y")],
    )
}

#[test]
fn unsupported_op_names_op_node_opset_and_the_supported_list() {
    let model = one_node(13, node("NonZero", "act3", &["x"], &["y"], vec![]));
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedOp { op, node, opset: 13, domain }
            if op == "NonZero" && node == "act3" && domain == "ai.onnx"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with(
            "node `act3` uses operator `NonZero` (domain `ai.onnx`, opset 13), which cryptflow cannot import; \
             supported operators (domain ai.onnx): Add, AveragePool, BatchNormalization, Cast,"
        ),
        "{message}"
    );
    assert!(
        message.contains("Transpose, Unsqueeze. Replace the operator"),
        "{message}"
    );
}

#[test]
fn operators_of_other_domains_are_unsupported_with_their_opset() {
    let mut op = node("FusedConv", "", &["x"], &["y"], vec![]);
    op.domain = Some("com.microsoft".into());
    let mut model = one_node(13, op);
    model.opset_import.push(OperatorSetIdProto {
        domain: Some("com.microsoft".into()),
        version: Some(1),
    });
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedOp { op, node, opset: 1, domain }
            if op == "FusedConv" && node == "FusedConv_0" && domain == "com.microsoft"),
        "{err:?}"
    );
}

#[test]
fn garbage_and_truncated_bytes_are_decode_errors() {
    let garbage = import_bytes(b"\xff\xff\xff\xff not a protobuf at all").unwrap_err();
    let full = encode(&small_cnn());
    let truncated = import_bytes(&full[..full.len() / 2]).unwrap_err();
    for err in [garbage, truncated] {
        assert!(matches!(err, ImportError::Decode { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with("the bytes do not decode as an ONNX ModelProto;"),
            "{message}"
        );
        assert!(message.contains("is this an ONNX model file?"), "{message}");
        // The decoder's own words are the error's source, not repeated in the message.
        assert!(std::error::Error::source(&err).is_some());
    }
}

#[test]
fn empty_bytes_have_no_graph() {
    let err = import_bytes(&[]).unwrap_err();
    assert!(matches!(err, ImportError::NoGraph));
    assert!(err.to_string().contains("is this an ONNX model file?"));
}

#[test]
fn missing_and_unreadable_files_name_the_path() {
    let missing = Path::new("/nonexistent/dir/model.onnx");
    let err = import_file(missing).unwrap_err();
    assert!(
        matches!(&err, ImportError::FileNotFound { path } if path == missing),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "model file `/nonexistent/dir/model.onnx` does not exist: check the path \
         (a relative path is resolved from the current directory)"
    );
    let directory = std::env::temp_dir();
    let err = import_file(&directory).unwrap_err();
    assert!(
        matches!(&err, ImportError::Unreadable { path, .. } if *path == directory),
        "{err:?}"
    );
}

#[test]
fn external_data_says_how_to_embed_the_weights() {
    let mut model = small_cnn();
    let graph = model.graph.as_mut().unwrap();
    graph.initializer[2] = TensorProto {
        raw_data: None,
        data_location: Some(DataLocation::External as i32),
        external_data: vec![StringStringEntryProto {
            key: Some("location".into()),
            value: Some("cnn.onnx.data".into()),
        }],
        ..graph.initializer[2].clone()
    };
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::ExternalData { tensor, location } if tensor == "fc.w" && location == "cnn.onnx.data"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("tensor `fc.w` keeps its data in an external file (`cnn.onnx.data`)"),
        "{message}"
    );
    assert!(
        message.contains("onnx.save_model(model, path, save_as_external_data=False)"),
        "{message}"
    );
}

#[test]
fn non_float_weights_name_the_tensor_and_its_type() {
    let mut model = small_cnn();
    let bias = &mut model.graph.as_mut().unwrap().initializer[1];
    bias.data_type = Some(DataType::Complex64 as i32);
    bias.float_data = vec![0.5, 0.0, -0.5, 0.0, 1.0, 0.0, -1.0, 0.0];
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedDataType { tensor, data_type, .. } if tensor == "conv.b" && data_type == "COMPLEX64"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "tensor `conv.b` has element type COMPLEX64, but cryptflow imports float, integer and \
         bool tensors (as float32) only: convert it to float32 before export"
    );
}

#[test]
fn the_input_must_be_float32() {
    let mut model = small_cnn();
    model.graph.as_mut().unwrap().input[0] = tensor_info("x", DataType::Float16, &[Dim::Fixed(1)]);
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedDataType { tensor, data_type, .. } if tensor == "x" && data_type == "FLOAT16")
    );
    assert!(err
        .to_string()
        .contains("but cryptflow imports a float32 tensor as the graph input only"));
}

#[test]
fn exactly_one_input_and_one_output() {
    let mut two_inputs = small_cnn();
    two_inputs
        .graph
        .as_mut()
        .unwrap()
        .input
        .push(float_info("z", &[Dim::Fixed(1)]));
    let err = import(&two_inputs).unwrap_err();
    assert!(
        matches!(&err, ImportError::InputCount { names } if names == &["x", "z"]),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .starts_with("the graph has 2 inputs besides its initializers ([\"x\", \"z\"])"));

    let mut no_output = small_cnn();
    no_output.graph.as_mut().unwrap().output.clear();
    let err = import(&no_output).unwrap_err();
    assert!(
        matches!(&err, ImportError::OutputCount { names } if names.is_empty()),
        "{err:?}"
    );
}

#[test]
fn only_the_batch_dimension_may_be_symbolic() {
    let mut model = small_cnn();
    model.graph.as_mut().unwrap().input[0] = float_info(
        "x",
        &[
            Dim::Symbolic("N"),
            Dim::Fixed(1),
            Dim::Symbolic("H"),
            Dim::Fixed(28),
        ],
    );
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnknownInputDimension { input, index: 2, dim } if input == "x" && dim == "H"),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .contains("only the batch dimension (0) may be symbolic (it is imported as 1)"));
}

#[test]
fn opsets_outside_the_supported_range_are_rejected() {
    let err = import(&one_node(22, node("Relu", "r", &["x"], &["y"], vec![]))).unwrap_err();
    assert!(matches!(err, ImportError::UnsupportedOpset { version: 22 }));
    assert!(err.to_string().starts_with(
        "the model uses ai.onnx opset 22, but cryptflow imports opsets 6..=21; convert it with \
         onnx.version_converter.convert_version(model, 21)"
    ));
    let err = import(&one_node(5, node("Relu", "r", &["x"], &["y"], vec![]))).unwrap_err();
    assert!(matches!(err, ImportError::UnsupportedOpset { version: 5 }));
    let mut model = one_node(13, node("Relu", "r", &["x"], &["y"], vec![]));
    model.opset_import.clear();
    assert!(matches!(
        import(&model).unwrap_err(),
        ImportError::MissingOpset
    ));
}

#[test]
fn three_dimensional_convolution_is_an_unsupported_attribute() {
    let conv = node(
        "Conv",
        "conv3d",
        &["x", "w"],
        &["y"],
        vec![ints("kernel_shape", &[3, 3, 3])],
    );
    let mut model = one_node(13, conv);
    model.graph.as_mut().unwrap().initializer = vec![floats("w", &[1, 1, 3, 3, 3], &ramp(27))];
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedAttribute { node, op, attribute, value, .. }
            if node == "conv3d" && op == "Conv" && attribute == "kernel_shape" && value == "[3, 3, 3]"),
        "{err:?}"
    );
    assert!(err.to_string().starts_with(
        "node `conv3d` (Conv): attribute `kernel_shape` = [3, 3, 3] is not supported: only 1-D \
         and 2-D convolution over NCL / NCHW inputs is supported (this one is 3-D)"
    ));
}

#[test]
fn max_pool_dilations_and_storage_order_are_unsupported() {
    let dilated = node(
        "MaxPool",
        "mp",
        &["x"],
        &["y"],
        vec![ints("kernel_shape", &[2, 2]), ints("dilations", &[2, 2])],
    );
    let err = import(&one_node(12, dilated)).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedAttribute { attribute, value, .. } if attribute == "dilations" && value == "[2, 2]"),
        "{err:?}"
    );
    let column_major = node(
        "MaxPool",
        "mp",
        &["x"],
        &["y"],
        vec![ints("kernel_shape", &[2, 2]), int("storage_order", 1)],
    );
    let err = import(&one_node(12, column_major)).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedAttribute { attribute, .. } if attribute == "storage_order"),
        "{err:?}"
    );
}

#[test]
fn weights_and_shapes_must_be_constants() {
    let matmul = one_node(13, node("MatMul", "mm", &["x", "x"], &["y"], vec![]));
    let err = import(&matmul).unwrap_err();
    assert!(
        matches!(&err, ImportError::NotConstant { node, op, input, role }
            if node == "mm" && op == "MatMul" && input == "x" && *role == "B, the weight matrix"),
        "{err:?}"
    );
    let reshape = one_node(13, node("Reshape", "rs", &["x", "x"], &["y"], vec![]));
    let err = import(&reshape).unwrap_err();
    assert!(err.to_string().starts_with(
        "node `rs` (Reshape): input `x` (shape) must be a constant (an initializer or a Constant node)"
    ));
}

#[test]
fn using_a_dropout_mask_is_an_unsupported_output() {
    let model = model(
        13,
        vec![
            node("Dropout", "drop", &["x"], &["d", "mask"], vec![]),
            node("Add", "add", &["d", "mask"], &["y"], vec![]),
        ],
        vec![],
        vec![float_info("x", &[Dim::Fixed(1), Dim::Fixed(4)])],
        vec![output("y")],
    );
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedOutput { node, op, output, consumer }
            if node == "drop" && op == "Dropout" && output == "mask" && consumer == "add"),
        "{err:?}"
    );
}

#[test]
fn nodes_out_of_order_and_missing_outputs() {
    let unordered = model(
        13,
        vec![
            node("Relu", "second", &["h"], &["y"], vec![]),
            node("Relu", "first", &["x"], &["h"], vec![]),
        ],
        vec![],
        vec![float_info("x", &[Dim::Fixed(1)])],
        vec![output("y")],
    );
    let err = import(&unordered).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnknownValue { node, value } if node == "second" && value == "h"),
        "{err:?}"
    );

    let unproduced = one_node(13, node("Relu", "r", &["x"], &["z"], vec![]));
    let err = import(&unproduced).unwrap_err();
    assert!(
        matches!(&err, ImportError::Graph(GraphError::OutputNotProduced { name }) if name == "y"),
        "{err:?}"
    );
}

#[test]
fn wrongly_typed_attribute_is_invalid() {
    let flatten = one_node(
        13,
        node("Flatten", "fl", &["x"], &["y"], vec![float("axis", 1.0)]),
    );
    let err = import(&flatten).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node `fl` (Flatten): attribute `axis` is invalid: expected INT but found FLOAT; the model \
         is malformed: check it with onnx.checker.check_model and export it again"
    );
}

#[test]
fn corrupted_models_give_errors_not_panics() {
    let tiny = model(
        13,
        vec![
            node(
                "Conv",
                "c",
                &["x", "w", "b"],
                &["h"],
                vec![
                    ints("kernel_shape", &[2, 2]),
                    string("auto_pad", "SAME_UPPER"),
                    ints("strides", &[2, 2]),
                ],
            ),
            node(
                "MaxPool",
                "p",
                &["h"],
                &["m"],
                vec![ints("kernel_shape", &[2, 2])],
            ),
            node("Flatten", "f", &["m"], &["g"], vec![]),
            node(
                "Constant",
                "k",
                &[],
                &["s"],
                vec![tensor_attr("value", int64s("", &[1, -1]))],
            ),
            node("Reshape", "r", &["g", "s"], &["y"], vec![]),
        ],
        vec![
            raw_floats("w", &[2, 1, 2, 2], &ramp(8)),
            floats("b", &[2], &[0.5, -0.5]),
        ],
        vec![float_info(
            "x",
            &[
                Dim::Symbolic("N"),
                Dim::Fixed(1),
                Dim::Fixed(5),
                Dim::Fixed(5),
            ],
        )],
        vec![output("y")],
    );
    let bytes = encode(&tiny);
    assert!(import_bytes(&bytes).is_ok());
    // Every strict prefix lacks a required part (graph, opset, output or a whole tensor).
    let failing_prefixes = (0..bytes.len())
        .filter(|&cut| import_bytes(&bytes[..cut]).is_err())
        .count();
    assert_eq!(failing_prefixes, bytes.len());
    // Bit flips may or may not give a valid model; none may panic.
    let failing_flips = (0..bytes.len() * 8)
        .filter(|&position| {
            let mut flipped = bytes.clone();
            flipped[position / 8] ^= 1 << (position % 8);
            import_bytes(&flipped).is_err()
        })
        .count();
    assert!(failing_flips > 0);
}

/// Found by the `onnx_graph` fuzz target: a 1-D input of 5.6e18 elements imported, and
/// the compiler then failed with a capacity-overflow panic broadcasting a constant to it.
#[test]
fn an_input_too_large_for_any_party_is_refused() {
    let mut model = small_cnn();
    model.graph.as_mut().unwrap().input[0] = float_info("x", &[Dim::Fixed(5572454096415228022)]);
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::InputTooLarge { input, elements: Some(5572454096415228022), .. } if input == "x"),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("export the model with its real input size"),
        "{err}"
    );
    // A count that overflows usize is refused the same way.
    let huge = Dim::Fixed(1 << 40);
    model.graph.as_mut().unwrap().input[0] = float_info("x", &[Dim::Fixed(1), huge, huge]);
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::InputTooLarge { elements: None, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("overflows"), "{err}");
}
