"""Exporter edge cases for the backend suite: small one-node (or few-node) models whose
attributes are where implementations disagree, each with onnxruntime's output.

Imported by backend_suite.py, which writes them to target/backend/edge_<name>/ beside
the wheel's cases; crates/cli/tests/onnx_backend.rs runs each in the clear and through
the three parties and compares with onnxruntime at EDGE_TOLERANCE, ten times tighter
than the suite's default (these are single layers at scale 12: the error is a few units
of 2^-12).

The cases:
* MaxPool / AveragePool with ceil_mode and an end pad where the formula's last window
  starts in the end padding, wholly outside the input: onnxruntime and PyTorch drop it
  ((out - 1) * stride >= input + pad_begin); keeping it gives a wrong output shape.
* ceil_mode windows that do overhang the input, with count_include_pad both ways.
* asymmetric begin/end pads; auto_pad SAME_UPPER and SAME_LOWER; dilated, grouped and
  strided convolutions with asymmetric pads.
* average pools whose window sizes are not powers of two (13x13 = 169 as in SqueezeNet,
  7x7 = 49 as in ResNet, 3x3 with padding): the division must be exact to one unit.
* Gemm with alpha, beta and transposed operands; Flatten with axis 0 and 2; Reshape with
  0 and -1 in its shape.
* the operators of issue 10 that are exact in fixed point: HardSigmoid (default and
  MobileNetV3's alpha 1/6), PRelu with a per-channel slope, ReduceMean / ReduceSum over
  middle and last axes with and without keepdims, Slice with negative starts, steps of
  2 and -1 and the "to the end" sentinels, Neg and constant - x, 1-D Conv / MaxPool /
  AveragePool with pads, strides, dilations and SAME padding.
* products of two activations (Beaver triples): x * ReLU(x), x * x, a squeeze-excitation
  gate broadcast per channel on either side of the Mul, HardSwish as the opset-14
  operator and as exporters spell it out, x * Clip(x + 3, 0, 6) / 6.
* the spline activations (APPROXIMATED, at SPLINE_TOLERANCE): Sigmoid, Tanh, Softplus,
  SiLU as exported (x * Sigmoid(x)), Mish (x * Tanh(Softplus(x))), and Sigmoid on inputs
  far beyond its knots (saturation).
* two small classifiers in the style of issue 10's models, random weights: a
  MobileNetV3-style one (HardSwish, depthwise convolution, a squeeze-excitation block
  gated by HardSigmoid) and an EfficientNet-style one (SiLU as x * Sigmoid(x), an SE
  block gated by Sigmoid), each ending in GlobalAveragePool and Gemm to 10 classes.
"""

import numpy as np
from onnx import TensorProto, helper, numpy_helper, shape_inference

EDGE_TOLERANCE = 2e-3
# The spline activations' own error (DESIGN.md: Sigmoid 1.3e-3, Tanh 2.5e-3, Softplus
# 2.3e-3) plus the fixed-point rounding; a product with x (SiLU) scales it by |x|.
SPLINE_TOLERANCE = 5e-3
APPROXIMATED = {"sigmoid", "tanh", "softplus", "silu", "mish", "sigmoid_wide", "efficientnet_style", "mobilenetv3_style"}
OPSET = 13


def _model(nodes, x_shape, initializers=(), name="edge", opset=OPSET):
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        # Float weights as float32; integer tensors (Reshape's shape) keep their type.
        initializer=[
            numpy_helper.from_array(v.astype(np.float32) if v.dtype.kind == "f" else v, k) for k, v in initializers
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    # Declare the output's shape as exporters do (from ONNX's own shape inference).
    inferred = shape_inference.infer_shapes(model)
    y = next(v for v in inferred.graph.output if v.name == "y")
    model.graph.output[0].CopyFrom(y)
    return model


def _pool(op, x_shape, **attrs):
    return _model([helper.make_node(op, ["x"], ["y"], **attrs)], x_shape)


def _conv(x_shape, w_shape, rng, **attrs):
    w = rng.normal(0, 1 / np.sqrt(np.prod(w_shape[1:])), w_shape)
    b = rng.normal(0, 0.1, w_shape[0])
    node = helper.make_node("Conv", ["x", "w", "b"], ["y"], **attrs)
    return _model([node], x_shape, [("w", w), ("b", b)])


def cases(rng):
    """(name, model, input) for every edge case; rng draws inputs and weights."""
    out = []

    def add(name, model, x_shape, positive=False):
        x = rng.normal(0, 2, x_shape)
        if positive:
            # Averages of positive values show a relative error in the divisor at once.
            x = np.abs(x) + 1
        out.append((name, model, x.astype(np.float32)))

    # Height 4 + end pad 1, window 2, stride 2: the formula's third window would start
    # at row 4, in the padding; width 5 + 1 keeps its third window (starts at column 4).
    s = [1, 2, 4, 5]
    for op in ["MaxPool", "AveragePool"]:
        add(
            f"{op.lower()}_ceil_last_window_in_end_pad",
            _pool(op, s, kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], ceil_mode=1),
            s,
        )
    add(
        "maxpool_ceil_begin_pad",
        _pool("MaxPool", [1, 2, 6, 7], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 2, 0, 0], ceil_mode=1),
        [1, 2, 6, 7],
    )
    for include in [0, 1]:
        add(
            f"avgpool_ceil_overhang_include_pad_{include}",
            _pool(
                "AveragePool",
                [1, 3, 7, 7],
                kernel_shape=[3, 3],
                strides=[2, 2],
                pads=[1, 1, 1, 1],
                ceil_mode=1,
                count_include_pad=include,
            ),
            [1, 3, 7, 7],
            positive=True,
        )
    for auto_pad in ["SAME_UPPER", "SAME_LOWER"]:
        add(
            f"maxpool_{auto_pad.lower()}",
            _pool("MaxPool", [1, 2, 5, 6], kernel_shape=[2, 3], strides=[2, 2], auto_pad=auto_pad),
            [1, 2, 5, 6],
        )
        add(
            f"conv_{auto_pad.lower()}",
            _conv([1, 2, 5, 6], [3, 2, 2, 3], rng, strides=[2, 1], auto_pad=auto_pad),
            [1, 2, 5, 6],
        )
    add(
        "conv_dilated_grouped_asymmetric",
        _conv(
            [1, 4, 9, 8],
            [6, 2, 3, 2],
            rng,
            group=2,
            dilations=[2, 1],
            strides=[1, 2],
            pads=[2, 0, 1, 1],
        ),
        [1, 4, 9, 8],
    )
    add("global_avgpool_13x13", _pool("GlobalAveragePool", [1, 4, 13, 13]), [1, 4, 13, 13], positive=True)
    add(
        "avgpool_7x7",
        _pool("AveragePool", [1, 4, 7, 7], kernel_shape=[7, 7]),
        [1, 4, 7, 7],
        positive=True,
    )
    add(
        "avgpool_3x3_pad_exclude",
        _pool("AveragePool", [1, 2, 5, 5], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        [1, 2, 5, 5],
        positive=True,
    )
    w = rng.normal(0, 0.3, (6, 5))
    c = rng.normal(0, 0.3, (1, 6))
    gemm = helper.make_node("Gemm", ["x", "w", "c"], ["y"], alpha=0.5, beta=2.0, transB=1)
    add("gemm_alpha_beta_transb", _model([gemm], [1, 5], [("w", w), ("c", c)]), [1, 5])
    gemm_t = helper.make_node("Gemm", ["x", "w"], ["y"], transB=0)
    add("gemm_weight_not_transposed", _model([gemm_t], [1, 6], [("w", w)]), [1, 6])
    for axis in [0, 2]:
        nodes = [
            helper.make_node("Relu", ["x"], ["r"]),
            helper.make_node("Flatten", ["r"], ["y"], axis=axis),
        ]
        add(f"flatten_axis_{axis}", _model(nodes, [1, 2, 3, 4]), [1, 2, 3, 4])
    shape = np.array([0, -1, 4], dtype=np.int64)
    nodes = [helper.make_node("Reshape", ["x", "shape"], ["r"]), helper.make_node("Relu", ["r"], ["y"])]
    add("reshape_zero_and_minus_one", _model(nodes, [1, 3, 8], [("shape", shape)]), [1, 3, 8])
    add("hardsigmoid_default", _pool("HardSigmoid", [1, 2, 3, 5]), [1, 2, 3, 5])
    add("hardsigmoid_mobilenetv3", _pool("HardSigmoid", [1, 2, 3, 5], alpha=1 / 6, beta=0.5), [1, 2, 3, 5])
    slope = rng.uniform(-0.5, 0.5, (3, 1, 1))
    prelu = helper.make_node("PRelu", ["x", "slope"], ["y"])
    add("prelu_per_channel", _model([prelu], [1, 3, 4, 4], [("slope", slope)]), [1, 3, 4, 4])
    for op in ["ReduceMean", "ReduceSum"]:
        for axes, keep in [([1], 1), ([2, 3], 0), ([-1], 1), ([1, 3], 0)]:
            name = f"{op.lower()}_axes_{'_'.join(str(a).replace('-', 'm') for a in axes)}_keep_{keep}"
            if op == "ReduceMean":
                # ReduceMean takes its axes as an attribute until opset 18, ReduceSum as
                # an input from opset 13.
                node = helper.make_node(op, ["x"], ["y"], axes=axes, keepdims=keep)
                inits = []
            else:
                node = helper.make_node(op, ["x", "axes"], ["y"], keepdims=keep)
                inits = [("axes", np.array(axes, dtype=np.int64))]
            add(name, _model([node], [1, 3, 5, 6], inits), [1, 3, 5, 6])
    i64 = lambda *v: np.array(v, dtype=np.int64)  # noqa: E731
    for name, starts, ends, axes, steps in [
        ("slice_channels", i64(1), i64(3), i64(1), i64(1)),
        ("slice_negative_start_to_end", i64(-3), i64(2**63 - 1), i64(-1), i64(1)),
        ("slice_step_2_two_axes", i64(0, 1), i64(5, 6), i64(2, 3), i64(2, 2)),
        ("slice_reversed", i64(-1), i64(-(2**63)), i64(3), i64(-1)),
    ]:
        node = helper.make_node("Slice", ["x", "starts", "ends", "axes", "steps"], ["y"])
        inits = [("starts", starts), ("ends", ends), ("axes", axes), ("steps", steps)]
        add(name, _model([node], [1, 4, 5, 6], inits), [1, 4, 5, 6])
    nodes = [helper.make_node("Neg", ["x"], ["n"]), helper.make_node("Relu", ["n"], ["y"])]
    add("neg", _model(nodes, [1, 2, 3, 4]), [1, 2, 3, 4])
    c = rng.normal(0, 1, (2, 1, 1))
    add("constant_minus_x", _model([helper.make_node("Sub", ["c", "x"], ["y"])], [1, 2, 3, 4], [("c", c)]), [1, 2, 3, 4])
    add("conv1d_pad_stride_dilation", _conv([1, 2, 11], [3, 2, 3], rng, strides=[2], pads=[1, 2], dilations=[2]), [1, 2, 11])
    add("conv1d_same_upper_grouped", _conv([1, 4, 9], [4, 2, 4], rng, group=2, strides=[2], auto_pad="SAME_UPPER"), [1, 4, 9])
    add("maxpool1d_pad_ceil", _pool("MaxPool", [1, 3, 10], kernel_shape=[3], strides=[2], pads=[1, 1], ceil_mode=1), [1, 3, 10])
    add(
        "avgpool1d_exclude_pad",
        _pool("AveragePool", [1, 3, 10], kernel_shape=[4], strides=[3], pads=[1, 2]),
        [1, 3, 10],
        positive=True,
    )
    add("global_avgpool1d", _pool("GlobalAveragePool", [1, 3, 10]), [1, 3, 10], positive=True)
    _products(add, rng)
    for kind in ["mobilenetv3", "efficientnet"]:
        add(f"{kind}_style", _mobile_style(rng, kind), [1, 3, 16, 16])
    for op in ["Sigmoid", "Tanh", "Softplus"]:
        add(op.lower(), _pool(op, [1, 2, 4, 6]), [1, 2, 4, 6])
    nodes = [helper.make_node("Sigmoid", ["x"], ["s"]), helper.make_node("Mul", ["x", "s"], ["y"])]
    add("silu", _model(nodes, [1, 2, 4, 6]), [1, 2, 4, 6])
    nodes = [
        helper.make_node("Softplus", ["x"], ["p"]),
        helper.make_node("Tanh", ["p"], ["t"]),
        helper.make_node("Mul", ["x", "t"], ["y"]),
    ]
    add("mish", _model(nodes, [1, 2, 4, 6]), [1, 2, 4, 6])
    nodes = [helper.make_node("Mul", ["x", "ten"], ["w"]), helper.make_node("Sigmoid", ["w"], ["y"])]
    add("sigmoid_wide", _model(nodes, [1, 2, 4, 6], [("ten", np.array(10, dtype=np.float32))]), [1, 2, 4, 6])
    return out


def _mobile_style(rng, kind):
    """conv 3x3/2 -> act -> depthwise 3x3 -> act -> SE -> conv 1x1 -> act -> pool -> fc."""
    he = lambda shape: rng.normal(0, np.sqrt(2 / np.prod(shape[1:])), shape)  # noqa: E731
    inits = [
        ("w0", he((8, 3, 3, 3))), ("b0", rng.normal(0, 0.1, 8)),
        ("w1", he((8, 1, 3, 3))), ("b1", rng.normal(0, 0.1, 8)),
        ("s1", he((2, 8, 1, 1))), ("s2", he((8, 2, 1, 1))),
        ("w2", he((16, 8, 1, 1))), ("fc", he((10, 16))), ("fcb", rng.normal(0, 0.1, 10)),
    ]
    nodes = []

    def act(x, y):
        if kind == "mobilenetv3":
            nodes.append(helper.make_node("HardSwish", [x], [y]))
        else:
            nodes.append(helper.make_node("Sigmoid", [x], [y + "_s"]))
            nodes.append(helper.make_node("Mul", [x, y + "_s"], [y]))

    nodes.append(helper.make_node("Conv", ["x", "w0", "b0"], ["c0"], strides=[2, 2], pads=[1, 1, 1, 1]))
    act("c0", "a0")
    nodes.append(helper.make_node("Conv", ["a0", "w1", "b1"], ["c1"], group=8, pads=[1, 1, 1, 1]))
    act("c1", "a1")
    nodes += [
        helper.make_node("GlobalAveragePool", ["a1"], ["p"]),
        helper.make_node("Conv", ["p", "s1"], ["q"]),
        helper.make_node("Relu", ["q"], ["r"]),
        helper.make_node("Conv", ["r", "s2"], ["g0"]),
    ]
    if kind == "mobilenetv3":
        nodes.append(helper.make_node("HardSigmoid", ["g0"], ["g"], alpha=1 / 6, beta=0.5))
    else:
        nodes.append(helper.make_node("Sigmoid", ["g0"], ["g"]))
    nodes += [helper.make_node("Mul", ["a1", "g"], ["se"]), helper.make_node("Conv", ["se", "w2"], ["c2"])]
    act("c2", "a2")
    nodes += [
        helper.make_node("GlobalAveragePool", ["a2"], ["gp"]),
        helper.make_node("Flatten", ["gp"], ["f"]),
        helper.make_node("Gemm", ["f", "fc", "fcb"], ["y"], transB=1),
    ]
    return _model(nodes, [1, 3, 16, 16], inits, opset=14)


def _products(add, rng):
    """Products of two run-time values."""
    nodes = [helper.make_node("Relu", ["x"], ["r"]), helper.make_node("Mul", ["x", "r"], ["y"])]
    add("mul_x_relu_x", _model(nodes, [1, 2, 3, 5]), [1, 2, 3, 5])
    add("mul_square", _model([helper.make_node("Mul", ["x", "x"], ["y"])], [1, 3, 4]), [1, 3, 4])
    w1 = rng.normal(0, 0.5, (2, 4, 1, 1))
    w2 = rng.normal(0, 0.5, (4, 2, 1, 1))
    for name, factors in [("squeeze_excitation", ["x", "g"]), ("squeeze_excitation_gate_first", ["g", "x"])]:
        nodes = [
            helper.make_node("GlobalAveragePool", ["x"], ["p"]),
            helper.make_node("Conv", ["p", "w1"], ["h"]),
            helper.make_node("Relu", ["h"], ["r"]),
            helper.make_node("Conv", ["r", "w2"], ["s"]),
            helper.make_node("HardSigmoid", ["s"], ["g"], alpha=1 / 6, beta=0.5),
            helper.make_node("Mul", factors, ["y"]),
        ]
        add(name, _model(nodes, [1, 4, 3, 3], [("w1", w1), ("w2", w2)]), [1, 4, 3, 3])
    add("hardswish", _model([helper.make_node("HardSwish", ["x"], ["y"])], [1, 2, 3, 5], opset=14), [1, 2, 3, 5])
    scalar = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    nodes = [
        helper.make_node("Add", ["x", "three"], ["a"]),
        helper.make_node("Clip", ["a", "zero", "six"], ["c"]),
        helper.make_node("Mul", ["x", "c"], ["m"]),
        helper.make_node("Div", ["m", "six"], ["y"]),
    ]
    inits = [("three", scalar(3)), ("zero", scalar(0)), ("six", scalar(6))]
    add("hardswish_spelled_out", _model(nodes, [1, 2, 3, 5], inits), [1, 2, 3, 5])
