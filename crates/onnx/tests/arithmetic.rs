//! Add, Sub, Mul, Div, Sum, and opset 6 broadcasting.

mod support;

use cryptflow_ir::Op;
use cryptflow_onnx::proto::{AttributeProto, ModelProto};
use cryptflow_onnx::ImportError;
use support::*;

/// x [1, 3, 4, 4] -> `op`(x, b) -> y with a constant b of shape `b_dims`.
fn binary(opset: i64, op: &str, b_dims: &[i64], attributes: Vec<AttributeProto>) -> ModelProto {
    let count = b_dims.iter().product::<i64>() as usize;
    chain(
        opset,
        &[1, 3, 4, 4],
        vec![node(op, "n", &["x", "b"], &["y"], attributes)],
        vec![floats("b", b_dims, &ramp(count))],
    )
}

#[test]
fn each_operator_keeps_its_inputs_in_order() {
    for (name, op) in [
        ("Add", Op::Add),
        ("Sub", Op::Sub),
        ("Mul", Op::Mul),
        ("Div", Op::Div),
    ] {
        let graph = import(&binary(14, name, &[4], vec![])).unwrap();
        assert_eq!(graph.nodes[0].op, op);
        assert_eq!(last_inputs(&graph), ["x", "b"]);
    }
    let sum = chain(
        13,
        &[1, 4],
        vec![
            node("Relu", "r", &["x"], &["h"], vec![]),
            node("Sum", "s", &["x", "h", "c"], &["y"], vec![]),
        ],
        vec![floats("c", &[4], &ramp(4))],
    );
    let graph = import(&sum).unwrap();
    assert_eq!(graph.nodes[1].op, Op::Sum);
    assert_eq!(last_inputs(&graph), ["x", "h", "c"]);
}

#[test]
fn sum_needs_an_input() {
    let empty = chain(
        13,
        &[1, 4],
        vec![node("Sum", "s", &[], &["y"], vec![])],
        vec![],
    );
    assert!(matches!(
        import(&empty).unwrap_err(),
        ImportError::MissingInput { node, op, index: 0, .. } if node == "s" && op == "Sum"
    ));
}

#[test]
fn a_product_of_run_time_values_imports_and_a_quotient_is_refused() {
    let square = chain(
        13,
        &[1, 4],
        vec![node("Mul", "sq", &["x", "x"], &["y"], vec![])],
        vec![],
    );
    let graph = import(&square).expect("x · x imports");
    let mul = graph.nodes.iter().find(|n| n.op == Op::Mul).expect("a Mul");
    assert_eq!(mul.inputs, vec![graph.input, graph.input]);
    let quotient = chain(
        13,
        &[1, 4],
        vec![
            node("Relu", "r", &["x"], &["h"], vec![]),
            node("Div", "d", &["c", "h"], &["y"], vec![]),
        ],
        vec![scalar("c", 1.0)],
    );
    let err = import(&quotient).unwrap_err();
    assert!(
        matches!(&err, ImportError::NotConstant { input, role, .. }
            if input == "h" && *role == "B, the divisor"),
        "{err:?}"
    );
    // A constant times a run-time value is fine in either order.
    let scaled = chain(
        13,
        &[1, 4],
        vec![node("Mul", "m", &["c", "x"], &["y"], vec![])],
        vec![scalar("c", 2.0)],
    );
    assert_eq!(last_op(&scaled), Op::Mul);
}

#[test]
fn opset_6_broadcasting_that_matches_numpy_is_accepted() {
    // No `broadcast`: equal shapes. `broadcast` without `axis`: trailing alignment.
    assert!(import(&binary(6, "Add", &[1, 3, 4, 4], vec![])).is_ok());
    assert!(import(&binary(6, "Mul", &[4, 4], vec![int("broadcast", 1)])).is_ok());
    // `axis` 2 of a rank-4 A for a rank-2 B is the trailing alignment.
    let trailing = binary(6, "Sub", &[4, 4], vec![int("broadcast", 1), int("axis", 2)]);
    assert_eq!(last_op(&trailing), Op::Sub);
    // One element broadcasts the same anywhere.
    let single = binary(6, "Add", &[1], vec![int("broadcast", 1), int("axis", 1)]);
    assert_eq!(last_op(&single), Op::Add);
}

#[test]
fn opset_6_broadcasting_along_a_middle_axis_is_unsupported() {
    // B [3] aligned with the channel axis 1 of [1, 3, 4, 4]: NumPy would align it with
    // the last axis.
    let model = binary(6, "Add", &[3], vec![int("broadcast", 1), int("axis", 1)]);
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedAttribute { node, op, attribute, value, .. }
            if node == "n" && op == "Add" && attribute == "axis" && value == "1"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(
            "opset 6 broadcasting aligns B (`b`) with the dimensions of A (`x`) from axis 1 on"
        ) && message.contains("onnx.version_converter.convert_version(model, 7)"),
        "{message}"
    );
    // From opset 7 the attributes do not exist: NumPy broadcasting, nothing to check.
    assert!(import(&binary(7, "Add", &[3, 1, 1], vec![])).is_ok());
}
