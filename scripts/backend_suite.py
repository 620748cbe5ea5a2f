"""Prepare the ONNX backend test data shipped in the `onnx` wheel as cases for cryptflow.

    python3 scripts/backend_suite.py --out target/backend

For every case it writes target/backend/<case>/ with

* model.onnx     the model cryptflow runs
* input.npy      float32, the model's input
* expected.npy   float32, onnxruntime's output for that input
* case.json      {"source": ..., "secure": bool, "tolerance": float, ...}

and target/backend/index.json: {"onnx": version, "onnxruntime": version, "cases": [...],
"excluded": [...]}. crates/cli/tests/onnx_backend.rs replays the cases through
`cryptflow plain` (and `cryptflow infer` when "secure") and compares with expected.npy.

Cases:

* light/light_{resnet50,densenet121,squeezenet,shufflenet,vgg19,inception_v2}.onnx. Their
  weights are ConstantOfShape(0.02) placeholders (the real ones would make the wheel
  large). Each placeholder becomes a seeded random initializer of its shape: Conv and Gemm
  weights He-normal (std sqrt(2 / fan_in)), their biases N(0, 0.1^2); BatchNormalization
  scale U(0.5, 1.5), bias N(0, 0.1^2), mean N(0, 0.1^2), var U(0.5, 1.5); the per-channel
  scale and shift that densenet121 and inception_v2 apply with Unsqueeze -> Mul / Add
  get U(0.5, 1.5) and N(0, 0.1^2). The few float weights the files do ship (mostly
  BatchNorm statistics, some with variances of 1e-12 or 5e4) belong to the real trained
  weights and blow the activations up with random ones, so they are redrawn the same
  way. Then every Conv and Gemm weight is scaled by a power of two until the root mean
  square of its output on the case's input is within a factor 2^0.75 of 1 (of 8 for the
  last Conv/Gemm, so that the logits are O(10..40) and the top-1 is clear), measured with
  onnxruntime (see calibrate()); without that the activations of resnet50 overflow
  float32, since BatchNorm with made-up statistics does not renormalise. Powers of two
  scale exactly, so the result does not depend on float noise. The input is N(0, 1)
  [1, 3, 224, 224]. All draws come from one PCG64 stream seeded from the case name.
  Only squeezenet and shufflenet run securely in the suite (the others take 4-30 s in the
  clear already; their secure runs are measured by hand, see the closing notes).
* pytorch-converted/test_*, pytorch-operator/test_*, simple/test_*: the shipped model and
  test_data_set_0/input_0.pb; the expected output is onnxruntime's, which must match the
  shipped output_0.pb (rtol 1e-3, atol 1e-4). onnxruntime has no kernels for several
  opset-6 operators these models use (AveragePool-1, BatchNormalization-6, Gemm-6, ...);
  for those the reference is onnxruntime's output for the model converted to opset 7
  (case.json's "expected_from" says so), while cryptflow runs the shipped model. Only
  models with exactly one float input and one float output are cases; the others are
  listed in index.json's "excluded" with the reason. They are small: secure unless input
  and output have more than SECURE_MAX_ELEMENTS elements (none do).
* edge_<name>: exporter edge cases built by scripts/edge_cases.py (ceil-mode windows in
  the end padding, auto_pad, asymmetric pads, non-power-of-two average pools, Gemm
  attributes, Flatten/Reshape forms), all secure, at edge_cases.EDGE_TOLERANCE.
* <test>_batch1: most of these tests feed a batch of 2-20 items, and cryptflow compiles
  for batch 1. For every test whose input and output have a leading batch dimension,
  a derived case sets the model's batch dimension to 1 and takes the first item of the
  shipped input and output (case.json's "derived" says so). It is a case only when
  onnxruntime's output for it matches the shipped output's first item.

Deterministic: the same onnx and numpy give byte-identical files.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper, version_converter

import edge_cases

LIGHT = ["resnet50", "densenet121", "squeezenet", "shufflenet", "vgg19", "inception_v2"]
LIGHT_SECURE = {"squeezenet", "shufflenet"}
NODE_GROUPS = ["pytorch-converted", "pytorch-operator", "simple"]
SECURE_MAX_ELEMENTS = 2_000_000
TOLERANCE = 2e-2
# Cases compared with another tolerance than TOLERANCE: name -> (tolerance, reason).
# None is looser: the largest relative error measured is 9e-3 (light_inception_v2, 69
# convolutions at 12 fractional bits); the node tests stay below 1e-3.
OTHER_TOLERANCE = {
    "light_squeezenet": (
        5e-3,
        "its 13x13 global average pool was 1 % low at scale 12 when pooling multiplied by "
        "a 12-bit reciprocal; pooling now divides exactly, and this keeps it so",
    ),
}
TARGET_STD = 1.0
LAST_LAYER_STD = 8.0


def data_dir():
    return Path(onnx.__file__).resolve().parent / "backend" / "test" / "data"


def session(model_bytes):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def rng_for(name):
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    return np.random.Generator(np.random.PCG64(seed))


def write_case(out, name, model, x, expected, source, secure, extra=None):
    case = out / name
    if case.exists():
        shutil.rmtree(case)
    case.mkdir(parents=True)
    if isinstance(model, (bytes, bytearray)):
        (case / "model.onnx").write_bytes(model)
    else:
        onnx.save(model, case / "model.onnx")
    np.save(case / "input.npy", np.ascontiguousarray(x, dtype=np.float32))
    np.save(case / "expected.npy", np.ascontiguousarray(expected, dtype=np.float32))
    tolerance, reason = OTHER_TOLERANCE.get(name, (TOLERANCE, None))
    meta = {"source": source, "secure": bool(secure), "tolerance": tolerance}
    if reason:
        meta["tolerance_reason"] = reason
    meta.update(extra or {})
    (case / "case.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n")
    return {"name": name, **meta}


# ---------------------------------------------------------------- light models


def consumers(graph):
    used = {}
    for node in graph.node:
        for index, name in enumerate(node.input):
            used.setdefault(name, []).append((node, index))
    return used


def role(name, used):
    """How a float parameter is used, which decides its distribution (see draw()):
    "conv_weight", "gemm_weight" ([K, N]), "gemm_weight_t" ([N, K]), "scale" (BatchNorm
    scale and variance, channel scales) or "shift" (biases, BatchNorm mean)."""
    roles = set()
    for node, index in used.get(name, []):
        op = node.op_type
        if op == "Unsqueeze":
            roles.add(role_of_unsqueezed(node, used))
        elif op == "Conv" and index == 1:
            roles.add("conv_weight")
        elif op == "Gemm" and index == 1:
            roles.add("gemm_weight_t" if any(a.name == "transB" and a.i for a in node.attribute) else "gemm_weight")
        elif (op in ("Conv", "Gemm") and index == 2) or (op == "BatchNormalization" and index in (2, 3)):
            roles.add("shift")
        elif op == "BatchNormalization" and index in (1, 4):
            roles.add("scale")
        else:
            roles.add(f"{op}:{index}")
    if len(roles) != 1:
        raise SystemExit(f"parameter {name} has roles {roles}")
    return roles.pop()


def role_of_unsqueezed(unsqueeze, used):
    ops = {node.op_type for node, _ in used.get(unsqueeze.output[0], [])}
    if ops == {"Mul"}:
        return "scale"
    if ops == {"Add"}:
        return "shift"
    raise SystemExit(f"Unsqueeze {unsqueeze.output[0]} feeds {ops}")


def draw(rng, role_name, shape):
    shape = tuple(int(d) for d in shape)
    if role_name in ("conv_weight", "gemm_weight", "gemm_weight_t"):
        if role_name == "gemm_weight":  # B is [K, N]
            fan_in = shape[0]
        else:  # Conv [M, C/g, kh, kw]; Gemm transB [N, K]
            fan_in = int(np.prod(shape[1:]))
        return rng.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
    if role_name == "scale":
        return rng.uniform(0.5, 1.5, shape).astype(np.float32)
    if role_name == "shift":
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(0.1)).astype(np.float32)
    raise SystemExit(f"no distribution for role {role_name}")


def randomize(model, rng):
    """Removes the ConstantOfShape placeholders and the shipped float weights from
    `model` and returns seeded random values for them, by name."""
    graph = model.graph
    initializers = {t.name: t for t in graph.initializer}
    placeholders = [n for n in graph.node if n.op_type == "ConstantOfShape" and n.input[0] in initializers]
    shapes = {n.output[0]: numpy_helper.to_array(initializers[n.input[0]]) for n in placeholders}
    shape_inputs = {n.input[0] for n in placeholders}
    for t in graph.initializer:
        if t.data_type == TensorProto.FLOAT and t.name not in shape_inputs:
            shapes[t.name] = np.array(t.dims, dtype=np.int64)
    used = consumers(graph)
    values = {name: draw(rng, role(name, used), shapes[name]) for name in sorted(shapes) if name in used}

    kept_nodes = [n for n in graph.node if n not in placeholders]
    del graph.node[:]
    graph.node.extend(kept_nodes)
    kept_inits = [t for t in graph.initializer if t.name not in shape_inputs and t.name not in values]
    del graph.initializer[:]
    graph.initializer.extend(kept_inits)
    kept_inputs = [i for i in graph.input if i.name not in shape_inputs]
    del graph.input[:]
    graph.input.extend(kept_inputs)
    return values


def list_as_inputs(graph, values):
    """Lists every value among the graph inputs (IR version 3 lists initializers there;
    the calibration probe feeds the weights as inputs)."""
    listed = {i.name for i in graph.input}
    for name in sorted(values):
        if name not in listed:
            graph.input.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, values[name].shape))


def calibrate(model, values, x, name):
    """Scales each Conv/Gemm weight in `values` by powers of two until the root mean square
    of every Conv/Gemm output is within a factor 2^0.75 of its target. Returns the rounds
    taken and max |logit| (the last Conv/Gemm output).

    One onnxruntime run per round (the weights fed as inputs) measures every node output.
    Walking the nodes in order, the change each scaling will make downstream is predicted
    by treating the network as homogeneous (ReLU, pooling, BatchNorm and reshapes pass a
    factor on; Sum and Concat combine their inputs' mean squares), so one round corrects
    a whole chain of layers at once instead of overcorrecting the ones after a scaled
    layer."""
    graph = model.graph
    data = graph.input[0].name
    linear = [n for n in graph.node if n.op_type in ("Conv", "Gemm")]
    last = linear[-1].output[0]
    constant = {t.name for t in graph.initializer} | set(values)
    for node in graph.node:
        if all(i in constant for i in node.input if i):
            constant.update(node.output)
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    list_as_inputs(probe.graph, values)
    listed = {o.name for o in probe.graph.output}
    for node in graph.node:
        if node.output[0] not in listed and node.output[0] not in constant:
            probe.graph.output.append(onnx.ValueInfoProto(name=node.output[0]))
    sess = session(probe.SerializeToString())
    names = [o.name for o in sess.get_outputs()]
    for rounds in range(1, 9):
        measured = dict(zip(names, sess.run(None, {data: x, **values})))
        measured[data] = x
        with np.errstate(over="ignore", invalid="ignore"):
            rms = {n: float(np.sqrt(np.mean(np.square(v.astype(np.float64))))) for n, v in measured.items()}
        size = {n: v.size for n, v in measured.items()}
        max_logit = float(np.abs(measured[last]).max())
        del measured
        factor = {data: 1.0}
        changed = 0
        for node in graph.node:
            out = node.output[0]
            if out in constant:
                continue
            live = [i for i in node.input if i and i not in constant]
            f = factor[live[0]]
            if node.op_type in ("Conv", "Gemm"):
                predicted = rms[out] * f
                target = LAST_LAYER_STD if out == last else TARGET_STD
                if not np.isfinite(predicted):
                    changed += 1  # downstream of an overflow: fixed once what feeds it is
                elif predicted == 0.0:
                    raise SystemExit(f"{name}: {out} is all zeros")
                else:
                    error = np.log2(predicted / target)
                    if abs(error) > 0.75:
                        shift = int(np.round(error))
                        values[node.input[1]] *= np.float32(2.0 ** -shift)  # exact
                        f *= 2.0 ** -shift
                        changed += 1
            elif node.op_type in ("Sum", "Add", "Concat") and len(live) > 1:
                new, old = 0.0, 0.0
                for i in live:
                    # A concatenation's mean square weights its inputs by their sizes.
                    weight = size[i] if node.op_type == "Concat" else 1.0
                    new += weight * (factor[i] * rms[i]) ** 2
                    old += weight * rms[i] ** 2
                f = float(np.sqrt(new / old)) if old > 0 and np.isfinite(old) else 1.0
            for o in node.output:
                factor[o] = f
        if changed == 0:
            return rounds, max_logit
    raise SystemExit(f"{name}: the weight scales did not settle in 8 rounds")


def light_case(out, source_dir, net):
    name = f"light_{net}"
    model = onnx.load(source_dir / f"{name}.onnx")
    rng = rng_for(name)
    values = randomize(model, rng)
    graph = model.graph
    inputs = [i for i in graph.input if i.name not in values and i.name not in {t.name for t in graph.initializer}]
    assert len(inputs) == 1, inputs
    data = inputs[0]
    graph.input.remove(data)
    graph.input.insert(0, data)
    x = rng.standard_normal([d.dim_value for d in data.type.tensor_type.shape.dim], dtype=np.float32)
    rounds, max_logit = calibrate(model, values, x, name)
    for weight in sorted(values):
        graph.initializer.append(numpy_helper.from_array(values[weight], weight))
    list_as_inputs(graph, values)
    onnx.checker.check_model(model)
    serialized = model.SerializeToString()
    (expected,) = session(serialized).run(None, {data.name: x})
    stats = {"calibration_rounds": rounds, "max_abs_logit": round(max_logit, 3)}
    print(f"{name}: {rounds} calibration rounds, max |logit| {max_logit:.1f}, "
          f"output {list(expected.shape)}, top-1 {int(np.argmax(expected.reshape(-1)))}", file=sys.stderr)
    return write_case(out, name, serialized, x, expected, f"light/{name}.onnx", net in LIGHT_SECURE, stats)


# ---------------------------------------------------------------- node tests


def float_value(value):
    return value.type.HasField("tensor_type") and value.type.tensor_type.elem_type == TensorProto.FLOAT


def reference(model, x):
    """onnxruntime's output for `model` on `x`, and a note when it came from the model
    converted to opset 7: onnxruntime has no kernels for some opset-6 operators
    (AveragePool-1, Gemm-6, BatchNormalization-6, ...). cryptflow still runs `model`."""
    feed = {model.graph.input[0].name: x}
    try:
        (y,) = session(model.SerializeToString()).run(None, feed)
        return y, None
    except Exception as error:  # noqa: BLE001 - onnxruntime raises several types
        first_line = str(error).strip().splitlines()[0]
    try:
        converted = version_converter.convert_version(model, 7)
        (y,) = session(converted.SerializeToString()).run(None, feed)
    except Exception as again:  # noqa: BLE001
        raise RuntimeError(f"onnxruntime cannot run it ({first_line}), nor its opset 7 conversion "
                           f"({str(again).strip().splitlines()[-1]})") from again
    return y, f"onnxruntime on the model converted to opset 7 ({first_line})"


def agrees(expected, shipped):
    return expected.shape == shipped.shape and np.allclose(expected, shipped, rtol=1e-3, atol=1e-4)


def with_batch_one(model):
    """A copy of `model` whose graph input and output have batch dimension 1."""
    single = onnx.ModelProto()
    single.CopyFrom(model)
    for value in (single.graph.input[0], single.graph.output[0]):
        dim = value.type.tensor_type.shape.dim[0]
        dim.Clear()
        dim.dim_value = 1
    del single.graph.value_info[:]
    return single


def node_cases(out, group_dir, group, test):
    """The case for one node test, and its batch-1 variant when the shipped input is a
    batch of several (cryptflow runs batch 1): the model's batch dimension set to 1,
    the first item of the input and of the output. Returns (cases, why not)."""
    source = f"{group}/{test}"
    directory = group_dir / test
    model = onnx.load(directory / "model.onnx")
    graph = model.graph
    initializers = {t.name for t in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(graph.output) != 1:
        return [], f"{len(inputs)} inputs and {len(graph.output)} outputs (need 1 and 1)"
    if not float_value(inputs[0]) or not float_value(graph.output[0]):
        return [], "input or output is not float32"
    graph.input.remove(inputs[0])
    graph.input.insert(0, inputs[0])
    data_set = directory / "test_data_set_0"
    x = numpy_helper.to_array(onnx.load_tensor(data_set / "input_0.pb"))
    shipped = numpy_helper.to_array(onnx.load_tensor(data_set / "output_0.pb"))
    if not np.all(np.isfinite(shipped)):
        return [], "the shipped output holds NaN or infinity"
    try:
        expected, note = reference(model, x)
    except RuntimeError as error:
        return [], str(error)
    if not agrees(expected, shipped):
        return [], f"onnxruntime's output differs from the shipped output_0.pb (max diff {np.abs(expected - shipped).max()})"
    secure = x.size + expected.size <= SECURE_MAX_ELEMENTS
    extra = {"expected_from": note} if note else {}
    model_bytes = (directory / "model.onnx").read_bytes()
    cases = [write_case(out, test, model_bytes, x, expected, source, secure, extra)]

    if x.ndim >= 2 and x.shape[0] > 1 and shipped.ndim >= 2 and shipped.shape[0] == x.shape[0]:
        single = with_batch_one(model)
        try:
            expected, note = reference(single, x[:1])
        except RuntimeError:
            return cases, None
        if agrees(expected, shipped[:1]):
            extra = {"derived": f"batch 1 of {x.shape[0]}: the model's batch dimension set to 1, "
                                "the first item of the shipped input and output"}
            if note:
                extra["expected_from"] = note
            cases.append(write_case(out, f"{test}_batch1", single, x[:1], expected, source, secure, extra))
    return cases, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("target/backend"))
    parser.add_argument("--data", type=Path, default=data_dir(), help="the onnx wheel's backend/test/data")
    args = parser.parse_args()
    started = time.monotonic()
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.iterdir():  # cases of an earlier run
        if (stale / "case.json").exists():
            shutil.rmtree(stale)

    cases, excluded = [], []
    for group in NODE_GROUPS:
        group_dir = args.data / group
        for test in sorted(os.listdir(group_dir)):
            if not test.startswith("test_"):
                continue
            found, why = node_cases(args.out, group_dir, group, test)
            cases.extend(found)
            if why:
                excluded.append({"source": f"{group}/{test}", "reason": why})
    for net in LIGHT:
        cases.append(light_case(args.out, args.data / "light", net))
    for name, model, x in edge_cases.cases(rng_for("edge")):
        onnx.checker.check_model(model)
        (expected,) = session(model.SerializeToString()).run(None, {"x": x})
        if name in edge_cases.APPROXIMATED:
            OTHER_TOLERANCE[f"edge_{name}"] = (edge_cases.SPLINE_TOLERANCE, "a spline approximation (DESIGN.md)")
        else:
            OTHER_TOLERANCE[f"edge_{name}"] = (edge_cases.EDGE_TOLERANCE, "a single layer at scale 12")
        cases.append(write_case(args.out, f"edge_{name}", model, x, expected, f"edge_cases.py/{name}", True))

    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "case names must be unique"
    index = {
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "numpy": np.__version__,
        "cases": cases,
        "excluded": excluded,
    }
    (args.out / "index.json").write_text(json.dumps(index, indent=1) + "\n")
    secure = sum(c["secure"] for c in cases)
    print(f"{len(cases)} cases ({secure} secure), {len(excluded)} excluded, into {args.out} "
          f"in {time.monotonic() - started:.1f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
