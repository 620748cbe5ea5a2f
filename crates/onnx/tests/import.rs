//! Models that import: the ops, attributes, constants and shapes that come out.

mod support;

use cryptflow_ir::{ConvAttrs, GemmAttrs, Graph, Op, PoolAttrs};
use cryptflow_ring::Tensor;
use support::*;

fn ops(graph: &Graph) -> Vec<&'static str> {
    graph.nodes.iter().map(|node| node.op.name()).collect()
}

fn value(graph: &Graph, name: &str) -> usize {
    graph
        .values
        .iter()
        .position(|v| v.name == name)
        .unwrap_or_else(|| panic!("no value `{name}`"))
}

#[test]
fn small_cnn_imports_ops_attributes_and_constants() {
    let graph = import(&small_cnn()).unwrap();
    graph.validate().unwrap();
    assert_eq!(ops(&graph), ["Conv", "Relu", "MaxPool", "Flatten", "Gemm"]);
    let names: Vec<&str> = graph.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(names, ["conv1", "relu1", "pool1", "flat", "fc"]);

    // The symbolic batch dimension becomes 1; no other value has a shape yet.
    assert_eq!(graph.name(graph.input), "x");
    assert_eq!(graph.shape(graph.input), Some(&[1, 1, 28, 28][..]));
    assert_eq!(graph.name(graph.output), "y");
    let shaped = graph.values.iter().filter(|v| v.shape.is_some()).count();
    assert_eq!(shaped, 1);

    let conv = &graph.nodes[0];
    assert_eq!(
        conv.op,
        Op::Conv(ConvAttrs {
            kernel: [5, 5],
            strides: [1, 1],
            pads: [0; 4],
            dilations: [1, 1],
            groups: 1,
        })
    );
    assert_eq!(
        conv.inputs,
        [
            graph.input,
            value(&graph, "conv.w"),
            value(&graph, "conv.b")
        ]
    );
    assert_eq!(
        graph.nodes[2].op,
        Op::MaxPool(PoolAttrs {
            kernel: [2, 2],
            strides: [2, 2],
            pads: [0; 4],
            ceil_mode: false,
        })
    );
    assert_eq!(graph.nodes[3].op, Op::Flatten { axis: 1 });
    assert_eq!(
        graph.nodes[4].op,
        Op::Gemm(GemmAttrs {
            alpha: 1.0,
            beta: 1.0,
            trans_a: false,
            trans_b: true,
        })
    );
    assert_eq!(graph.nodes[4].output, graph.output);

    // Initializers from raw_data and from float_data.
    assert_eq!(graph.constants.len(), 4);
    let weight = graph.constant(value(&graph, "conv.w")).unwrap();
    assert_eq!(weight, &Tensor::new(vec![4, 1, 5, 5], ramp(100)).unwrap());
    let bias = graph.constant(value(&graph, "conv.b")).unwrap();
    assert_eq!(bias.data(), &[0.5, -0.5, 1.0, -1.0]);
    assert_eq!(
        graph.constant(value(&graph, "fc.w")).unwrap().shape(),
        &[10, 576]
    );
}

#[test]
fn kernel_shape_comes_from_the_weight_when_absent_and_same_pads_resolve() {
    // Stride 2 with SAME_UPPER on a 7x8 input: pads top 1, left 0, bottom 1, right 1.
    let model = model(
        11,
        vec![node(
            "Conv",
            "c",
            &["x", "w"],
            &["y"],
            vec![
                string("auto_pad", "SAME_UPPER"),
                ints("strides", &[2, 2]),
                int("group", 2),
            ],
        )],
        vec![floats("w", &[4, 1, 3, 3], &ramp(36))],
        vec![float_info(
            "x",
            &[Dim::Fixed(1), Dim::Fixed(2), Dim::Fixed(7), Dim::Fixed(8)],
        )],
        vec![output("y")],
    );
    let graph = import(&model).unwrap();
    assert_eq!(
        graph.nodes[0].op,
        Op::Conv(ConvAttrs {
            kernel: [3, 3],
            strides: [2, 2],
            pads: [1, 0, 1, 1],
            dilations: [1, 1],
            groups: 2,
        })
    );
    assert_eq!(graph.nodes[0].inputs.len(), 2);
}

#[test]
fn constant_reshape_dropout_and_unnamed_nodes() {
    let shape = int64s("", &[1, -1]);
    let model = model(
        13,
        vec![
            node(
                "Constant",
                "",
                &[],
                &["shape"],
                vec![tensor_attr("value", shape)],
            ),
            node("Dropout", "", &["x", "", ""], &["d", ""], vec![]),
            node("Reshape", "", &["d", "shape"], &["r"], vec![]),
            node("MatMul", "", &["r", "m"], &["mm"], vec![]),
            node(
                "Constant",
                "",
                &[],
                &["one"],
                vec![float("value_float", 1.0)],
            ),
            node("Add", "", &["mm", "one"], &["a"], vec![]),
            node("Identity", "", &["a"], &["y"], vec![]),
        ],
        vec![floats("m", &[12, 2], &ramp(24))],
        vec![float_info(
            "x",
            &[Dim::Fixed(1), Dim::Fixed(3), Dim::Fixed(4)],
        )],
        vec![output("y")],
    );
    let graph = import(&model).unwrap();
    assert_eq!(
        ops(&graph),
        ["Identity", "Reshape", "MatMul", "Add", "Identity"]
    );
    let names: Vec<&str> = graph.nodes.iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        ["Dropout_1", "Reshape_2", "MatMul_3", "Add_5", "Identity_6"]
    );
    // Dropout keeps only its data input; the int64 shape became an f32 constant.
    assert_eq!(graph.nodes[0].inputs, [graph.input]);
    let shape_id = value(&graph, "shape");
    assert_eq!(graph.nodes[1].inputs[1], shape_id);
    assert_eq!(
        graph.constant(shape_id).unwrap(),
        &Tensor::new(vec![2], vec![1.0, -1.0]).unwrap()
    );
    assert_eq!(
        graph.constant(value(&graph, "one")).unwrap(),
        &Tensor::new(vec![], vec![1.0]).unwrap()
    );
    assert_eq!(graph.constants.len(), 3);
}

#[test]
fn pools_and_initializers_listed_as_inputs() {
    // IR version 3 writers list initializers among the graph inputs too.
    let model = model(
        10,
        vec![
            node(
                "AveragePool",
                "avg",
                &["x"],
                &["a"],
                vec![
                    ints("kernel_shape", &[3, 3]),
                    ints("pads", &[1, 1, 1, 1]),
                    int("count_include_pad", 1),
                    int("ceil_mode", 1),
                ],
            ),
            node("Add", "add", &["a", "bias"], &["s"], vec![]),
            node("GlobalAveragePool", "gap", &["s"], &["y"], vec![]),
        ],
        vec![
            floats("bias", &[1], &[0.25]),
            floats("unused", &[1], &[9.0]),
        ],
        vec![
            float_info(
                "x",
                &[Dim::Fixed(2), Dim::Fixed(3), Dim::Fixed(5), Dim::Fixed(5)],
            ),
            float_info("bias", &[Dim::Fixed(1)]),
        ],
        vec![output("y")],
    );
    let graph = import(&model).unwrap();
    assert_eq!(graph.shape(graph.input), Some(&[2, 3, 5, 5][..]));
    assert_eq!(
        graph.nodes[0].op,
        Op::AveragePool {
            attrs: PoolAttrs {
                kernel: [3, 3],
                strides: [1, 1],
                pads: [1, 1, 1, 1],
                ceil_mode: true,
            },
            count_include_pad: true,
        }
    );
    assert_eq!(graph.nodes[2].op, Op::GlobalAveragePool);
    // Unused initializers are not imported.
    assert_eq!(graph.constants.len(), 1);
    assert!(graph.values.iter().all(|v| v.name != "unused"));
}

#[test]
fn import_file_reads_a_model_from_disk() {
    let path = std::env::temp_dir().join(format!("cryptflow-onnx-{}.onnx", std::process::id()));
    std::fs::write(&path, encode(&small_cnn())).unwrap();
    let graph = cryptflow_onnx::import_file(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!(
        ops(&graph.unwrap()),
        ["Conv", "Relu", "MaxPool", "Flatten", "Gemm"]
    );
}

#[test]
fn dropout_in_opset_6_needs_is_test() {
    let dropout = |attribute: Vec<cryptflow_onnx::proto::AttributeProto>| {
        chain(
            6,
            &[1, 4],
            vec![node("Dropout", "drop", &["x"], &["y"], attribute)],
            vec![],
        )
    };
    assert_eq!(last_op(&dropout(vec![int("is_test", 1)])), Op::Identity);
    let err = import(&dropout(vec![])).unwrap_err();
    assert!(
        matches!(&err, cryptflow_onnx::ImportError::UnsupportedAttribute { node, attribute, value, .. }
            if node == "drop" && attribute == "is_test" && value == "0 (the default)"),
        "{err:?}"
    );
}

#[test]
fn average_pool_dilations_of_opset_19_must_be_one() {
    let pool = |dilations: &[i64]| {
        chain(
            19,
            &[1, 1, 4, 4],
            vec![node(
                "AveragePool",
                "avg",
                &["x"],
                &["y"],
                vec![ints("kernel_shape", &[2, 2]), ints("dilations", dilations)],
            )],
            vec![],
        )
    };
    assert!(matches!(last_op(&pool(&[1, 1])), Op::AveragePool { .. }));
    let err = import(&pool(&[2, 2])).unwrap_err();
    assert!(
        matches!(&err, cryptflow_onnx::ImportError::UnsupportedAttribute { node, op, attribute, value, .. }
            if node == "avg" && op == "AveragePool" && attribute == "dilations" && value == "[2, 2]"),
        "{err:?}"
    );
}
