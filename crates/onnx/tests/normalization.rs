//! BatchNormalization: inference only, parameters known before the run.

mod support;

use cryptflow_ir::Op;
use cryptflow_onnx::proto::{AttributeProto, ModelProto};
use cryptflow_onnx::ImportError;
use support::*;

const PARAMETERS: [&str; 4] = ["scale", "bias", "mean", "var"];

/// x [1, 2, 3, 3] -> BatchNormalization(x, scale, bias, mean, var) -> y.
fn batch_norm(opset: i64, attributes: Vec<AttributeProto>) -> ModelProto {
    chain(
        opset,
        &[1, 2, 3, 3],
        vec![node(
            "BatchNormalization",
            "bn",
            &["x", "scale", "bias", "mean", "var"],
            &["y"],
            attributes,
        )],
        PARAMETERS
            .iter()
            .map(|name| floats(name, &[2], &[1.0, 2.0]))
            .collect(),
    )
}

fn unsupported_attribute(model: &ModelProto) -> (String, String, String) {
    match import(model).unwrap_err() {
        ImportError::UnsupportedAttribute {
            attribute,
            value,
            reason,
            ..
        } => (attribute, value, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn epsilon_and_the_five_inputs_are_imported() {
    let graph = import(&batch_norm(9, vec![float("epsilon", 1e-3)])).unwrap();
    assert_eq!(graph.nodes[0].op, Op::BatchNormalization { epsilon: 1e-3 });
    assert_eq!(last_inputs(&graph), ["x", "scale", "bias", "mean", "var"]);
    assert_eq!(
        last_op(&batch_norm(15, vec![])),
        Op::BatchNormalization { epsilon: 1e-5 }
    );
    // Opset 6 in test mode, opset 7 with spatial = 1; momentum is ignored.
    let old = batch_norm(6, vec![int("is_test", 1), float("momentum", 0.9)]);
    assert_eq!(last_op(&old), Op::BatchNormalization { epsilon: 1e-5 });
    assert!(import(&batch_norm(7, vec![int("spatial", 1)])).is_ok());
}

#[test]
fn parameters_made_by_constant_of_shape_are_accepted() {
    // As in the ONNX "light" models: every weight is ConstantOfShape(an int64 shape).
    let mut model = batch_norm(9, vec![]);
    let graph = model.graph.as_mut().unwrap();
    graph.initializer = vec![int64s("shape", &[2])];
    let mut nodes: Vec<_> = PARAMETERS
        .iter()
        .map(|name| {
            node(
                "ConstantOfShape",
                "",
                &["shape"],
                &[name],
                vec![tensor_attr("value", floats("", &[1], &[0.02]))],
            )
        })
        .collect();
    nodes.append(&mut graph.node);
    graph.node = nodes;
    let graph = import(&model).unwrap();
    assert_eq!(graph.nodes.len(), 5);
    assert_eq!(graph.nodes[0].op, Op::ConstantOfShape { value: 0.02 });
}

#[test]
fn parameters_computed_from_the_input_are_not_constant() {
    let mut model = batch_norm(14, vec![]);
    let graph = model.graph.as_mut().unwrap();
    graph.initializer.retain(|t| t.name() != "mean");
    graph
        .node
        .insert(0, node("Relu", "r", &["x"], &["mean"], vec![]));
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::NotConstant { node, op, input, role }
            if node == "bn" && op == "BatchNormalization" && input == "mean" && *role == "mean"),
        "{err:?}"
    );
}

#[test]
fn training_is_unsupported() {
    let (attribute, value, reason) =
        unsupported_attribute(&batch_norm(14, vec![int("training_mode", 1)]));
    assert_eq!((attribute.as_str(), value.as_str()), ("training_mode", "1"));
    assert!(reason.contains("model.eval()"), "{reason}");

    // Opset 6 defaults to is_test = 0: the batch's own statistics.
    let (attribute, value, reason) = unsupported_attribute(&batch_norm(6, vec![]));
    assert_eq!(
        (attribute.as_str(), value.as_str()),
        ("is_test", "0 (the default)")
    );
    assert!(reason.starts_with("opset 6 BatchNormalization with is_test = 0"));
    let (_, value, _) = unsupported_attribute(&batch_norm(6, vec![int("is_test", 0)]));
    assert_eq!(value, "0");
}

#[test]
fn per_activation_statistics_are_unsupported() {
    let err = import(&batch_norm(7, vec![int("spatial", 0)])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node `bn` (BatchNormalization): attribute `spatial` = 0 is not supported: \
         per-activation statistics (spatial = 0) are not supported, only per-channel ones: \
         export the model with spatial = 1 (or opset 9 or later)"
    );
}

#[test]
fn using_a_statistics_output_is_unsupported() {
    let mut model = batch_norm(9, vec![]);
    let graph = model.graph.as_mut().unwrap();
    graph.node[0].output = vec!["h".into(), "running_mean".into()];
    graph
        .node
        .push(node("Add", "add", &["h", "running_mean"], &["y"], vec![]));
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedOutput { node, op, output, consumer }
            if node == "bn" && op == "BatchNormalization" && output == "running_mean" && consumer == "add"),
        "{err:?}"
    );
    // Listed but unused, the extra outputs are fine.
    let graph = model.graph.as_mut().unwrap();
    graph.node[1] = node("Identity", "id", &["h"], &["y"], vec![]);
    assert!(import(&model).is_ok());
}
