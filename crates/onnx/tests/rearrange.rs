//! Concat, Transpose, Squeeze, Unsqueeze and Pad: attributes before opset 13 (11 for
//! Pad), constant inputs after.

mod support;

use cryptflow_ir::Op;
use cryptflow_onnx::ImportError;
use support::*;

fn invalid_attribute(err: ImportError) -> (String, String) {
    match err {
        ImportError::InvalidAttribute {
            attribute, reason, ..
        } => (attribute, reason),
        other => panic!("{other:?}"),
    }
}

#[test]
fn concat_keeps_every_input_and_requires_axis() {
    let model = chain(
        11,
        &[1, 2, 3],
        vec![
            node("Relu", "r", &["x"], &["h"], vec![]),
            node(
                "Concat",
                "cat",
                &["x", "h", "c"],
                &["y"],
                vec![int("axis", -1)],
            ),
        ],
        vec![floats("c", &[1, 2, 1], &[0.0, 1.0])],
    );
    let graph = import(&model).unwrap();
    assert_eq!(graph.nodes[1].op, Op::Concat { axis: -1 });
    assert_eq!(last_inputs(&graph), ["x", "h", "c"]);

    let no_axis = chain(
        13,
        &[1, 2],
        vec![node("Concat", "cat", &["x", "x"], &["y"], vec![])],
        vec![],
    );
    let (attribute, reason) = invalid_attribute(import(&no_axis).unwrap_err());
    assert_eq!(
        (attribute.as_str(), reason.as_str()),
        ("axis", "it is required but absent")
    );
}

#[test]
fn transpose_perm_must_be_a_permutation() {
    let transpose = |perm: &[i64]| {
        chain(
            13,
            &[1, 2, 3],
            vec![node(
                "Transpose",
                "t",
                &["x"],
                &["y"],
                vec![ints("perm", perm)],
            )],
            vec![],
        )
    };
    assert_eq!(
        last_op(&transpose(&[0, 2, 1])),
        Op::Transpose {
            perm: vec![0, 2, 1]
        }
    );
    let reversed = chain(
        6,
        &[1, 2, 3],
        vec![node("Transpose", "t", &["x"], &["y"], vec![])],
        vec![],
    );
    assert_eq!(last_op(&reversed), Op::Transpose { perm: vec![] });
    for bad in [&[0, 2, 2][..], &[0, 3, 1], &[0, -1, 1]] {
        let (attribute, reason) = invalid_attribute(import(&transpose(bad)).unwrap_err());
        assert_eq!(attribute, "perm");
        assert_eq!(
            reason,
            format!("{bad:?} is not a permutation of the axes 0 to 2")
        );
    }
}

#[test]
fn squeeze_and_unsqueeze_read_the_attribute_before_opset_13() {
    let model = chain(
        11,
        &[1, 3, 1],
        vec![
            node(
                "Squeeze",
                "sq",
                &["x"],
                &["h"],
                vec![ints("axes", &[0, -1])],
            ),
            node(
                "Unsqueeze",
                "un",
                &["h"],
                &["y"],
                vec![ints("axes", &[1, 2])],
            ),
        ],
        vec![],
    );
    let graph = import(&model).unwrap();
    assert_eq!(graph.nodes[0].op, Op::Squeeze { axes: vec![0, -1] });
    assert_eq!(graph.nodes[1].op, Op::Unsqueeze { axes: vec![1, 2] });

    // Squeeze without axes removes every 1; Unsqueeze needs them.
    let all = chain(
        9,
        &[1, 3, 1],
        vec![node("Squeeze", "sq", &["x"], &["y"], vec![])],
        vec![],
    );
    assert_eq!(last_op(&all), Op::Squeeze { axes: vec![] });
    let missing = chain(
        9,
        &[3],
        vec![node("Unsqueeze", "un", &["x"], &["y"], vec![])],
        vec![],
    );
    let (attribute, _) = invalid_attribute(import(&missing).unwrap_err());
    assert_eq!(attribute, "axes");
}

#[test]
fn squeeze_and_unsqueeze_read_a_constant_input_from_opset_13() {
    let model = chain(
        13,
        &[1, 3, 1],
        vec![
            node("Squeeze", "sq", &["x", "sq_axes"], &["h"], vec![]),
            node("Unsqueeze", "un", &["h", "un_axes"], &["y"], vec![]),
        ],
        vec![int64s("sq_axes", &[0, 2]), int64s("un_axes", &[-1])],
    );
    let graph = import(&model).unwrap();
    assert_eq!(graph.nodes[0].op, Op::Squeeze { axes: vec![0, 2] });
    assert_eq!(graph.nodes[1].op, Op::Unsqueeze { axes: vec![-1] });
    assert_eq!(last_inputs(&graph), ["h"]);

    let squeeze_all = chain(
        13,
        &[1, 3],
        vec![node("Squeeze", "sq", &["x", ""], &["y"], vec![])],
        vec![],
    );
    assert_eq!(last_op(&squeeze_all), Op::Squeeze { axes: vec![] });

    let no_axes = chain(
        13,
        &[3],
        vec![node("Unsqueeze", "un", &["x"], &["y"], vec![])],
        vec![],
    );
    assert!(matches!(
        import(&no_axes).unwrap_err(),
        ImportError::MissingInput { node, index: 1, role: "axes", .. } if node == "un"
    ));

    // Axes computed from the input (or even from its shape) are not constants.
    let computed = chain(
        13,
        &[1, 3],
        vec![
            node("Shape", "s", &["x"], &["dims"], vec![]),
            node("Squeeze", "sq", &["x", "dims"], &["y"], vec![]),
        ],
        vec![],
    );
    assert!(matches!(
        import(&computed).unwrap_err(),
        ImportError::NotConstant { node, op, input, role: "axes" }
            if node == "sq" && op == "Squeeze" && input == "dims"
    ));
}

#[test]
fn pad_before_opset_11_reads_attributes() {
    // nn.ConstantPad2d((1, 2, 3, 4), 2.0) as PyTorch exported it at opset 6.
    let pads = [0, 0, 3, 1, 0, 0, 4, 2];
    let model = chain(
        6,
        &[1, 1, 2, 2],
        vec![node(
            "Pad",
            "p",
            &["x"],
            &["y"],
            vec![
                string("mode", "constant"),
                ints("pads", &pads),
                float("value", 2.0),
            ],
        )],
        vec![],
    );
    assert_eq!(
        last_op(&model),
        Op::Pad {
            pads: pads.to_vec(),
            value: 2.0
        }
    );
    let zero = chain(
        10,
        &[1, 2],
        vec![node(
            "Pad",
            "p",
            &["x"],
            &["y"],
            vec![ints("pads", &[0, 1, 0, 2])],
        )],
        vec![],
    );
    assert_eq!(
        last_op(&zero),
        Op::Pad {
            pads: vec![0, 1, 0, 2],
            value: 0.0
        }
    );
    let crop = chain(
        10,
        &[1, 2],
        vec![node(
            "Pad",
            "p",
            &["x"],
            &["y"],
            vec![ints("pads", &[0, 1, 0, -1])],
        )],
        vec![],
    );
    let err = import(&crop).unwrap_err();
    assert_eq!(
        err.to_string(),
        "node `p` (Pad): attribute `pads` = [0, 1, 0, -1] is not supported: negative pads \
         (cropping) are not supported: crop with a Slice before export, or pad by non-negative \
         amounts"
    );
}

#[test]
fn pad_from_opset_11_reads_constant_inputs() {
    let model = chain(
        18,
        &[1, 2],
        vec![node("Pad", "p", &["x", "pads", "v"], &["y"], vec![])],
        vec![int64s("pads", &[0, 1, 0, 1]), scalar("v", -1.5)],
    );
    let graph = import(&model).unwrap();
    assert_eq!(
        graph.nodes[0].op,
        Op::Pad {
            pads: vec![0, 1, 0, 1],
            value: -1.5
        }
    );
    assert_eq!(last_inputs(&graph), ["x"]);

    let axes = chain(
        18,
        &[1, 2],
        vec![node("Pad", "p", &["x", "pads", "", "axes"], &["y"], vec![])],
        vec![int64s("pads", &[1, 1]), int64s("axes", &[1])],
    );
    let err = import(&axes).unwrap_err();
    assert!(
        matches!(&err, ImportError::UnsupportedAttribute { attribute, value, .. }
            if attribute == "axes (input 3)" && value == "axes"),
        "{err:?}"
    );

    let computed = chain(
        11,
        &[1, 2],
        vec![
            node("Relu", "r", &["x"], &["v"], vec![]),
            node("Pad", "p", &["x", "pads", "v"], &["y"], vec![]),
        ],
        vec![int64s("pads", &[0, 1, 0, 1])],
    );
    assert!(matches!(
        import(&computed).unwrap_err(),
        ImportError::NotConstant { input, role: "constant_value", .. } if input == "v"
    ));

    let odd = chain(
        11,
        &[1, 2],
        vec![node("Pad", "p", &["x", "pads"], &["y"], vec![])],
        vec![int64s("pads", &[0, 1, 0])],
    );
    let (attribute, reason) = invalid_attribute(import(&odd).unwrap_err());
    assert_eq!(attribute, "pads (input 1)");
    assert!(reason.contains("an even number of values"), "{reason}");
}

#[test]
fn only_constant_padding_is_supported() {
    for mode in ["reflect", "edge", "wrap"] {
        let model = chain(
            19,
            &[1, 2],
            vec![node(
                "Pad",
                "p",
                &["x", "pads"],
                &["y"],
                vec![string("mode", mode)],
            )],
            vec![int64s("pads", &[0, 1, 0, 1])],
        );
        let err = import(&model).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "node `p` (Pad): attribute `mode` = {mode} is not supported: only constant \
                 padding is supported, not reflect, edge or wrap padding: pad with a constant \
                 before export (e.g. nn.ZeroPad2d or nn.ConstantPad2d)"
            )
        );
    }
    let unknown = chain(
        6,
        &[1, 2],
        vec![node(
            "Pad",
            "p",
            &["x"],
            &["y"],
            vec![string("mode", "mirror"), ints("pads", &[0, 0])],
        )],
        vec![],
    );
    let (attribute, _) = invalid_attribute(import(&unknown).unwrap_err());
    assert_eq!(attribute, "mode");
}
