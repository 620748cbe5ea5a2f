"""A small ONNX graph builder for torchvision-style CNNs (shared by make_imagenet_models.py and
convert_mobilenet_v2.py).

The builder tracks the [C, H, W] shape of every tensor it makes, so it can count parameters and
multiply-accumulates while it builds. Nodes are emitted the way torch.onnx.export writes a
torchvision model in eval mode without Conv/BN fusion:

    Conv (no bias, explicit dilations/group/kernel_shape/pads/strides)
    BatchNormalization (epsilon 1e-5, momentum 0.9)
    Relu / Clip(min, max as initializer inputs)
    MaxPool / AveragePool / GlobalAveragePool / Flatten(axis 1) / Gemm(transB 1) / Softmax(axis 1)

Initializers are float32 and named like torchvision's state_dict keys (``layer1.0.conv1.weight``,
``layer1.0.bn1.running_var``, ``fc.bias``); node names are the module paths, and a node's output
tensor has the node's name.
"""

import json
from collections import Counter

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
IR_VERSION = 8
BN_EPSILON = 1e-5


def conv_out(size, kernel, stride, pad):
    return (size + 2 * pad - kernel) // stride + 1


class Graph:
    """Collects nodes and initializers; each tensor name maps to its [C, H, W] (or [N]) shape."""

    def __init__(self, name, input_shape=(1, 3, 224, 224), producer="cryptflow-scripts", doc=""):
        self.name = name
        self.producer = producer
        self.doc = doc
        self.input_shape = list(input_shape)
        self.nodes = []
        self.initializers = []
        self.shapes = {"input": tuple(input_shape[1:])}
        self.params = 0          # trainable parameters as torchvision counts them
        self.buffers = 0         # BatchNorm running statistics (torchvision buffers)
        self.macs = 0            # Conv + Gemm multiply-accumulates
        self.output = None
        self._constants = {}

    # ---- bookkeeping -------------------------------------------------------------------------
    def _init(self, name, array, kind="param"):
        """Add a float32 initializer; kind is "param", "buffer" (BN statistics) or "const"."""
        array = np.ascontiguousarray(array, dtype=np.float32)
        self.initializers.append(numpy_helper.from_array(array, name))
        if kind == "param":
            self.params += array.size
        elif kind == "buffer":
            self.buffers += array.size
        return name

    def constant(self, name, value):
        """A scalar float32 initializer, made once and shared (e.g. Clip's min and max)."""
        if name not in self._constants:
            self._constants[name] = self._init(name, np.array(value, dtype=np.float32), "const")
        return name

    def _node(self, op, inputs, name, shape, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [name], name=name, **attrs))
        self.shapes[name] = tuple(shape)
        return name

    # ---- layers ------------------------------------------------------------------------------
    def conv(self, x, name, weight, stride=1, pad=0, group=1, bias=None):
        """Conv with weight [Cout, Cin/group, k, k] stored as ``<name>.weight``."""
        cin, h, w = self.shapes[x]
        cout, cin_g, kh, kw = weight.shape
        assert cin_g * group == cin, (name, weight.shape, self.shapes[x], group)
        ho, wo = conv_out(h, kh, stride, pad), conv_out(w, kw, stride, pad)
        inputs = [x, self._init(f"{name}.weight", weight)]
        if bias is not None:
            inputs.append(self._init(f"{name}.bias", bias))
        self.macs += cout * ho * wo * cin_g * kh * kw
        return self._node("Conv", inputs, name, (cout, ho, wo), dilations=[1, 1], group=group,
                          kernel_shape=[kh, kw], pads=[pad, pad, pad, pad], strides=[stride, stride])

    def bn(self, x, name, gamma, beta, mean, var):
        c = self.shapes[x][0]
        assert gamma.shape == beta.shape == mean.shape == var.shape == (c,), (name, c)
        inputs = [x, self._init(f"{name}.weight", gamma), self._init(f"{name}.bias", beta),
                  self._init(f"{name}.running_mean", mean, "buffer"),
                  self._init(f"{name}.running_var", var, "buffer")]
        return self._node("BatchNormalization", inputs, name, self.shapes[x],
                          epsilon=BN_EPSILON, momentum=0.9)

    def relu(self, x, name):
        return self._node("Relu", [x], name, self.shapes[x])

    def relu6(self, x, name):
        lo, hi = self.constant("clip.min", 0.0), self.constant("clip.max", 6.0)
        return self._node("Clip", [x, lo, hi], name, self.shapes[x])

    def add(self, a, b, name):
        assert self.shapes[a] == self.shapes[b], (name, self.shapes[a], self.shapes[b])
        return self._node("Add", [a, b], name, self.shapes[a])

    def concat(self, xs, name):
        c = sum(self.shapes[x][0] for x in xs)
        hw = {self.shapes[x][1:] for x in xs}
        assert len(hw) == 1, (name, hw)
        return self._node("Concat", list(xs), name, (c,) + hw.pop(), axis=1)

    def maxpool(self, x, name, kernel, stride, pad):
        c, h, w = self.shapes[x]
        shape = (c, conv_out(h, kernel, stride, pad), conv_out(w, kernel, stride, pad))
        return self._node("MaxPool", [x], name, shape, ceil_mode=0, dilations=[1, 1],
                          kernel_shape=[kernel, kernel], pads=[pad] * 4, strides=[stride, stride])

    def avgpool(self, x, name, kernel, stride):
        c, h, w = self.shapes[x]
        shape = (c, conv_out(h, kernel, stride, 0), conv_out(w, kernel, stride, 0))
        return self._node("AveragePool", [x], name, shape, ceil_mode=0,
                          kernel_shape=[kernel, kernel], pads=[0] * 4, strides=[stride, stride])

    def global_avgpool(self, x, name):
        return self._node("GlobalAveragePool", [x], name, (self.shapes[x][0], 1, 1))

    def flatten(self, x, name):
        c, h, w = self.shapes[x]
        return self._node("Flatten", [x], name, (c * h * w,), axis=1)

    def gemm(self, x, name, weight, bias):
        (n_in,) = self.shapes[x]
        n_out, k = weight.shape
        assert k == n_in and bias.shape == (n_out,), (name, weight.shape, n_in)
        self.macs += n_in * n_out
        inputs = [x, self._init(f"{name}.weight", weight), self._init(f"{name}.bias", bias)]
        return self._node("Gemm", inputs, name, (n_out,), alpha=1.0, beta=1.0, transB=1)

    def softmax(self, x, name="probabilities"):
        self.output = self._node("Softmax", [x], name, self.shapes[x], axis=1)
        return self.output

    # ---- output ------------------------------------------------------------------------------
    def model(self):
        out_shape = [self.input_shape[0]] + list(self.shapes[self.output])
        graph = helper.make_graph(
            self.nodes, self.name,
            [helper.make_tensor_value_info("input", TensorProto.FLOAT, self.input_shape)],
            [helper.make_tensor_value_info(self.output, TensorProto.FLOAT, out_shape)],
            initializer=self.initializers,
        )
        model = helper.make_model(graph, producer_name=self.producer,
                                  opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        if self.doc:
            model.doc_string = self.doc
        return model

    def stats(self):
        ops = Counter(node.op_type for node in self.nodes)
        return {"params": int(self.params), "macs": int(self.macs), "nodes": len(self.nodes),
                "ops": dict(sorted(ops.items())), "bn_buffers": int(self.buffers)}


def save(graph, path):
    """Check the model (onnx.checker), write ``path`` and ``path`` with .json; return the model."""
    model = graph.model()
    onnx.checker.check_model(model)  # in-memory check (fine below the 2 GB protobuf limit)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = model.SerializeToString(deterministic=True)
    path.write_bytes(data)
    path.with_suffix(".json").write_text(json.dumps(graph.stats(), indent=1) + "\n")
    return model, len(data)


def activation_report(model, tensors, x, session_options=None):
    """Run onnxruntime on ``x`` with ``tensors`` added as outputs; return {name: max |value|}."""
    import onnxruntime as ort

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    present = {o.name for o in probe.graph.output}
    for name in tensors:
        if name not in present:
            probe.graph.output.append(helper.make_empty_tensor_value_info(name))
    options = session_options or ort.SessionOptions()
    session = ort.InferenceSession(probe.SerializeToString(), options,
                                   providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    values = session.run(names, {"input": x})
    return {n: v for n, v in zip(names, values)}
