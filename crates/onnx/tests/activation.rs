//! LeakyRelu, Clip and Softmax: the ops and defaults that come out, and the rejections.

mod support;

use cryptflow_ir::Op;
use cryptflow_onnx::ImportError;
use support::*;

#[test]
fn leaky_relu_alpha_defaults_to_a_hundredth() {
    let default = chain(
        6,
        &[1, 4],
        vec![node("LeakyRelu", "lr", &["x"], &["y"], vec![])],
        vec![],
    );
    assert_eq!(last_op(&default), Op::LeakyRelu { alpha: 0.01 });
    let given = chain(
        16,
        &[1, 4],
        vec![node(
            "LeakyRelu",
            "lr",
            &["x"],
            &["y"],
            vec![float("alpha", 0.2)],
        )],
        vec![],
    );
    assert_eq!(last_op(&given), Op::LeakyRelu { alpha: 0.2 });
}

#[test]
fn clip_before_opset_11_reads_attributes() {
    let clip = |attributes| {
        chain(
            6,
            &[1, 4],
            vec![node("Clip", "c", &["x"], &["y"], attributes)],
            vec![],
        )
    };
    assert_eq!(
        last_op(&clip(vec![float("min", -0.5), float("max", 0.5)])),
        Op::Clip {
            min: Some(-0.5),
            max: Some(0.5)
        }
    );
    // Absent bounds, and opset 6's defaults written out, are no bound.
    assert_eq!(
        last_op(&clip(vec![float("max", 6.0)])),
        Op::Clip {
            min: None,
            max: Some(6.0)
        }
    );
    assert_eq!(
        last_op(&clip(vec![float("min", f32::MIN), float("max", f32::MAX)])),
        Op::Clip {
            min: None,
            max: None
        }
    );
}

#[test]
fn clip_from_opset_11_reads_constant_inputs() {
    // Relu6 as PyTorch exports it: min from a Constant node, max from an initializer.
    let relu6 = chain(
        13,
        &[1, 4],
        vec![
            node(
                "Constant",
                "zero",
                &[],
                &["lo"],
                vec![float("value_float", 0.0)],
            ),
            node("Clip", "c", &["x", "lo", "hi"], &["y"], vec![]),
        ],
        vec![scalar("hi", 6.0)],
    );
    let graph = import(&relu6).unwrap();
    assert_eq!(
        graph.nodes[0].op,
        Op::Clip {
            min: Some(0.0),
            max: Some(6.0)
        }
    );
    // The bounds are folded into the op; the node reads only x.
    assert_eq!(last_inputs(&graph), ["x"]);

    // An empty name skips an optional input; missing inputs are no bound.
    let only_max = chain(
        11,
        &[1, 4],
        vec![node("Clip", "c", &["x", "", "hi"], &["y"], vec![])],
        vec![scalar("hi", 1.0)],
    );
    assert_eq!(
        last_op(&only_max),
        Op::Clip {
            min: None,
            max: Some(1.0)
        }
    );
    let none = chain(
        12,
        &[1, 4],
        vec![node("Clip", "c", &["x"], &["y"], vec![])],
        vec![],
    );
    assert_eq!(
        last_op(&none),
        Op::Clip {
            min: None,
            max: None
        }
    );
}

/// Found by the `onnx_graph` fuzz target: Clip(min 107, max 0) imported, and the
/// compiler emitted a Clip step that `Program::validate` refuses (min > max).
#[test]
fn clip_with_min_above_max_is_refused() {
    for model in [
        chain(
            6,
            &[1, 4],
            vec![node(
                "Clip",
                "c",
                &["x"],
                &["y"],
                vec![float("min", 107.0), float("max", 0.0)],
            )],
            vec![],
        ),
        chain(
            13,
            &[1, 4],
            vec![node("Clip", "c", &["x", "lo", "hi"], &["y"], vec![])],
            vec![scalar("lo", 107.0), scalar("hi", 0.0)],
        ),
    ] {
        let err = import(&model).unwrap_err();
        assert!(
            matches!(&err, ImportError::UnsupportedAttribute { node, attribute, .. } if node == "c" && attribute == "min"),
            "{err:?}"
        );
        assert!(err.to_string().contains("107 > max 0"), "{err}");
    }
    // Equal bounds are fine: a constant output.
    let equal = chain(
        6,
        &[1, 4],
        vec![node(
            "Clip",
            "c",
            &["x"],
            &["y"],
            vec![float("min", 1.0), float("max", 1.0)],
        )],
        vec![],
    );
    assert_eq!(
        last_op(&equal),
        Op::Clip {
            min: Some(1.0),
            max: Some(1.0)
        }
    );
}

#[test]
fn clip_bounds_computed_at_run_time_are_not_constant() {
    let computed = chain(
        13,
        &[1, 4],
        vec![
            node("Relu", "r", &["x"], &["bound"], vec![]),
            node("Clip", "c", &["x", "", "bound"], &["y"], vec![]),
        ],
        vec![],
    );
    let err = import(&computed).unwrap_err();
    assert!(
        matches!(&err, ImportError::NotConstant { node, op, input, role }
            if node == "c" && op == "Clip" && input == "bound" && *role == "max"),
        "{err:?}"
    );
    assert!(err.to_string().starts_with(
        "node `c` (Clip): input `bound` (max) must be a constant (an initializer or a Constant node)"
    ));

    let vector = chain(
        13,
        &[1, 4],
        vec![node("Clip", "c", &["x", "lo"], &["y"], vec![])],
        vec![floats("lo", &[2], &[0.0, 1.0])],
    );
    let err = import(&vector).unwrap_err();
    assert!(
        matches!(&err, ImportError::InvalidTensor { tensor, reason }
            if tensor == "lo" && reason == "min must be a scalar but holds 2 values"),
        "{err:?}"
    );
}

#[test]
fn softmax_default_axis_is_last_from_opset_13_and_one_before() {
    let softmax = |opset, dims: &[i64]| {
        chain(
            opset,
            dims,
            vec![node("Softmax", "sm", &["x"], &["y"], vec![])],
            vec![],
        )
    };
    assert_eq!(last_op(&softmax(13, &[1, 10])), Op::Softmax { axis: -1 });
    assert_eq!(last_op(&softmax(12, &[1, 10])), Op::Softmax { axis: 1 });
    // Before opset 13 the default 1 covers dimensions 1.. of [1, 10, 1, 1]: axis 1.
    assert_eq!(
        last_op(&softmax(9, &[1, 10, 1, 1])),
        Op::Softmax { axis: 1 }
    );
    // ... and dimensions 1.. of [1, 1, 10]: the one axis that is not 1 is 2.
    assert_eq!(last_op(&softmax(11, &[1, 1, 10])), Op::Softmax { axis: 2 });
}

#[test]
fn softmax_before_opset_13_uses_the_stated_output_shape() {
    // The Softmax input is computed; the graph output states its shape [1, 1000].
    let mut model = chain(
        9,
        &[1, 1000],
        vec![
            node("Relu", "r", &["x"], &["h"], vec![]),
            node("Softmax", "sm", &["h"], &["y"], vec![int("axis", -1)]),
        ],
        vec![],
    );
    model.graph.as_mut().unwrap().output =
        vec![float_info("y", &[Dim::Fixed(1), Dim::Fixed(1000)])];
    assert_eq!(last_op(&model), Op::Softmax { axis: 1 });

    // Without it the two meanings cannot be matched.
    model.graph.as_mut().unwrap().output = vec![output("y")];
    let err = import(&model).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedAttribute { node, op, attribute, value, .. }
            if node == "sm" && op == "Softmax" && attribute == "axis" && value == "-1"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("the shape of `h` is unknown")
            && err
                .to_string()
                .contains("onnx.shape_inference.infer_shapes"),
        "{err}"
    );
}

#[test]
fn softmax_before_opset_13_over_several_axes_is_unsupported() {
    let model = chain(
        11,
        &[1, 3, 4],
        vec![node("Softmax", "sm", &["x"], &["y"], vec![int("axis", 1)])],
        vec![],
    );
    let err = import(&model).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node `sm` (Softmax): attribute `axis` = 1 is not supported: before opset 13 Softmax \
         normalises over all dimensions from `axis` on, here dimensions [1, 2] of shape \
         [1, 3, 4], but cryptflow's Softmax normalises over one axis: export with opset 13 or \
         later (or reshape to 2-D around the Softmax)"
    );
    let outside = chain(
        11,
        &[1, 3],
        vec![node("Softmax", "sm", &["x"], &["y"], vec![int("axis", 2)])],
        vec![],
    );
    assert!(matches!(
        import(&outside).unwrap_err(),
        ImportError::InvalidAttribute { attribute, .. } if attribute == "axis"
    ));
}
