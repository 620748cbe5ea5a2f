//! Shape, Gather, Cast and ConstantOfShape, and the values computed from constants and
//! shapes that later nodes may use where a constant is expected.

mod support;

use cryptflow_ir::Op;
use cryptflow_onnx::proto::tensor_proto::DataType;
use cryptflow_onnx::proto::TensorProto;
use cryptflow_onnx::ImportError;
use support::*;

fn unsupported_attribute(err: ImportError) -> (String, String, String) {
    match err {
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
fn flatten_as_pytorch_exports_it_reshapes_by_a_computed_shape() {
    // x.view(x.size(0), -1): Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape.
    let model = chain(
        11,
        &[1, 2, 3],
        vec![
            node("Shape", "shape", &["x"], &["s"], vec![]),
            node(
                "Gather",
                "batch",
                &["s", "zero"],
                &["n"],
                vec![int("axis", 0)],
            ),
            node("Unsqueeze", "un", &["n"], &["n1"], vec![ints("axes", &[0])]),
            node(
                "Concat",
                "cat",
                &["n1", "minus_one"],
                &["dims"],
                vec![int("axis", 0)],
            ),
            node("Reshape", "flat", &["x", "dims"], &["y"], vec![]),
        ],
        vec![
            TensorProto {
                dims: vec![],
                ..int64s("zero", &[0])
            },
            int64s("minus_one", &[-1]),
        ],
    );
    let graph = import(&model).unwrap();
    let ops: Vec<&Op> = graph.nodes.iter().map(|node| &node.op).collect();
    assert_eq!(
        ops,
        [
            &Op::Shape,
            &Op::Gather { axis: 0 },
            &Op::Unsqueeze { axes: vec![0] },
            &Op::Concat { axis: 0 },
            &Op::Reshape
        ]
    );
    assert_eq!(last_inputs(&graph), ["x", "dims"]);
}

#[test]
fn a_transposed_weight_is_a_matmul_weight() {
    // nn.Linear without bias as PyTorch exported it at opset 6.
    let model = chain(
        6,
        &[2, 3],
        vec![
            node(
                "Transpose",
                "t",
                &["w"],
                &["wt"],
                vec![ints("perm", &[1, 0])],
            ),
            node("MatMul", "mm", &["x", "wt"], &["y"], vec![]),
        ],
        vec![floats("w", &[4, 3], &ramp(12))],
    );
    let graph = import(&model).unwrap();
    assert_eq!(last_inputs(&graph), ["x", "wt"]);
}

#[test]
fn shape_start_and_end_must_select_the_whole_shape() {
    let shape = |opset, attributes| {
        chain(
            opset,
            &[1, 2, 3],
            vec![node("Shape", "s", &["x"], &["y"], attributes)],
            vec![],
        )
    };
    assert_eq!(last_op(&shape(13, vec![])), Op::Shape);
    // Clamped to the rank 3: the whole shape.
    assert_eq!(
        last_op(&shape(15, vec![int("start", -7), int("end", 100)])),
        Op::Shape
    );
    let (attribute, value, reason) =
        unsupported_attribute(import(&shape(15, vec![int("start", 1)])).unwrap_err());
    assert_eq!((attribute.as_str(), value.as_str()), ("start", "1"));
    assert!(
        reason.starts_with("cryptflow imports Shape of the whole shape only, and this one selects part of the shape of `x`:"),
        "{reason}"
    );
    let (attribute, value, _) =
        unsupported_attribute(import(&shape(21, vec![int("end", -1)])).unwrap_err());
    assert_eq!((attribute.as_str(), value.as_str()), ("end", "-1"));

    // Of a computed value the rank is unknown: any `end` is refused.
    let computed = chain(
        15,
        &[1, 2],
        vec![
            node("Relu", "r", &["x"], &["h"], vec![]),
            node("Shape", "s", &["h"], &["y"], vec![int("end", 2)]),
        ],
        vec![],
    );
    let (attribute, _, reason) = unsupported_attribute(import(&computed).unwrap_err());
    assert_eq!(attribute, "end");
    assert!(reason.contains("(or its rank is unknown)"), "{reason}");
}

#[test]
fn gather_keeps_its_indices_as_an_input() {
    let model = chain(
        13,
        &[5, 3],
        vec![node(
            "Gather",
            "g",
            &["x", "idx"],
            &["y"],
            vec![int("axis", 1)],
        )],
        vec![int64s("idx", &[2, 0])],
    );
    let graph = import(&model).unwrap();
    assert_eq!(graph.nodes[0].op, Op::Gather { axis: 1 });
    assert_eq!(last_inputs(&graph), ["x", "idx"]);
    assert_eq!(
        graph.constant(graph.nodes[0].inputs[1]).unwrap().data(),
        &[2.0, 0.0]
    );

    let default = chain(
        13,
        &[5, 3],
        vec![node("Gather", "g", &["w", "x"], &["y"], vec![])],
        vec![floats("w", &[4], &ramp(4))],
    );
    let err = import(&default).unwrap_err();
    assert!(
        matches!(&err, ImportError::NotConstant { node, op, input, role: "indices" }
            if node == "g" && op == "Gather" && input == "x"),
        "{err:?}"
    );
}

#[test]
fn cast_is_accepted_where_the_identity_is_exact() {
    let cast = |input: &str, to: DataType| {
        chain(
            13,
            &[1, 2],
            vec![
                node("Shape", "s", &["x"], &["dims"], vec![]),
                node("Cast", "c", &[input], &["y"], vec![int("to", to as i64)]),
            ],
            vec![
                floats("whole", &[2], &[3.0, -1.0]),
                floats("half", &[1], &[2.5]),
            ],
        )
    };
    assert_eq!(last_op(&cast("x", DataType::Float16)), Op::Cast);
    assert_eq!(last_op(&cast("dims", DataType::Int64)), Op::Cast);
    assert_eq!(last_op(&cast("whole", DataType::Int32)), Op::Cast);

    let (attribute, value, reason) =
        unsupported_attribute(import(&cast("x", DataType::Int64)).unwrap_err());
    assert_eq!((attribute.as_str(), value.as_str()), ("to", "INT64"));
    assert!(
        reason.starts_with(
            "`x` is computed from the graph input and casting it to an integer type would round it"
        ),
        "{reason}"
    );
    let (_, value, reason) =
        unsupported_attribute(import(&cast("half", DataType::Int32)).unwrap_err());
    assert_eq!(value, "INT32");
    assert!(
        reason.starts_with("the constant `half` holds 2.5"),
        "{reason}"
    );
    let (_, _, reason) =
        unsupported_attribute(import(&cast("whole", DataType::Uint8)).unwrap_err());
    assert!(
        reason.starts_with("the constant `whole` holds -1"),
        "{reason}"
    );
    let (_, value, _) = unsupported_attribute(import(&cast("x", DataType::String)).unwrap_err());
    assert_eq!(value, "STRING");

    let no_target = chain(
        13,
        &[1, 2],
        vec![node("Cast", "c", &["x"], &["y"], vec![])],
        vec![],
    );
    assert!(matches!(
        import(&no_target).unwrap_err(),
        ImportError::InvalidAttribute { attribute, .. } if attribute == "to"
    ));
}

#[test]
fn constant_of_shape_reads_its_value_and_keeps_its_shape_input() {
    let fill = |value: Option<TensorProto>| {
        chain(
            9,
            &[1, 2],
            vec![
                node("Shape", "s", &["x"], &["dims"], vec![]),
                node(
                    "ConstantOfShape",
                    "fill",
                    &["dims"],
                    &["y"],
                    value
                        .map(|v| vec![tensor_attr("value", v)])
                        .unwrap_or_default(),
                ),
            ],
            vec![],
        )
    };
    let graph = import(&fill(None)).unwrap();
    assert_eq!(graph.nodes[1].op, Op::ConstantOfShape { value: 0.0 });
    assert_eq!(last_inputs(&graph), ["dims"]);
    assert_eq!(
        last_op(&fill(Some(int64s("", &[3])))),
        Op::ConstantOfShape { value: 3.0 }
    );
    let err = import(&fill(Some(floats("", &[2], &[1.0, 2.0])))).unwrap_err();
    assert!(
        matches!(&err, ImportError::InvalidAttribute { node, op, attribute, reason }
            if node == "fill" && op == "ConstantOfShape" && attribute == "value"
                && reason == "it must hold one element but holds 2"),
        "{err:?}"
    );

    // A shape read from the input's values is not known before the run.
    let dynamic = chain(
        9,
        &[2],
        vec![node("ConstantOfShape", "fill", &["x"], &["y"], vec![])],
        vec![],
    );
    assert!(matches!(
        import(&dynamic).unwrap_err(),
        ImportError::NotConstant { input, .. } if input == "x"
    ));
}

#[test]
fn graph_inputs_that_nodes_produce_are_not_the_input() {
    // Old exporters list weights made by nodes among the graph inputs.
    let mut model = chain(
        9,
        &[1, 3],
        vec![
            node(
                "ConstantOfShape",
                "w_fill",
                &["w_shape"],
                &["w"],
                vec![tensor_attr("value", floats("", &[1], &[0.5]))],
            ),
            node("Gemm", "fc", &["x", "w"], &["y"], vec![int("transB", 1)]),
        ],
        vec![int64s("w_shape", &[4, 3])],
    );
    let graph = model.graph.as_mut().unwrap();
    graph
        .input
        .push(tensor_info("w_shape", DataType::Int64, &[Dim::Fixed(2)]));
    graph
        .input
        .push(float_info("w", &[Dim::Fixed(4), Dim::Fixed(3)]));
    let graph = import(&model).unwrap();
    assert_eq!(graph.name(graph.input), "x");
    assert_eq!(last_inputs(&graph), ["x", "w"]);
}

#[test]
fn reshape_allowzero_needs_a_constant_shape() {
    let model = chain(
        14,
        &[1, 2],
        vec![
            node("Shape", "s", &["x"], &["dims"], vec![]),
            node(
                "Reshape",
                "r",
                &["x", "dims"],
                &["y"],
                vec![int("allowzero", 1)],
            ),
        ],
        vec![],
    );
    let (attribute, _, reason) = unsupported_attribute(import(&model).unwrap_err());
    assert_eq!(attribute, "allowzero");
    assert!(
        reason.starts_with("the shape `dims` is computed"),
        "{reason}"
    );
}
