"""Build ImageNet-scale CNNs (torchvision architectures) as ONNX with seeded random weights.

    python3 scripts/make_imagenet_models.py --out target/models resnet18 resnet50 densenet121
    python3 scripts/make_imagenet_models.py --out target/models all

Models (input "input" [1,3,224,224], output "probabilities" [1,1000]):

* resnet18, resnet34              basic blocks, [2,2,2,2] and [3,4,6,3]
* resnet50, resnet101, resnet152  bottlenecks [3,4,6,3], [3,4,23,3], [3,8,36,3]
* resnet200                       bottlenecks [3,24,36,3] (the depth of He et al.'s ResNet-200,
                                  built with torchvision's post-activation bottleneck, as timm does)
* densenet121                     growth 32, blocks [6,12,24,16], bn_size 4, compression 0.5

The graphs are what torch.onnx.export writes for torchvision's models in eval mode when Conv and
BatchNormalization are not fused: Conv (no bias) -> BatchNormalization -> Relu, MaxPool 3x3/2 pad 1
after the stem, Add for the residuals (the stride sits in the 3x3 conv of a bottleneck, as in
torchvision's "ResNet v1.5"), 1x1 conv + BN on downsampling shortcuts; DenseNet has pre-activation
BN -> Relu -> Conv layers whose input is the Concat of all earlier features of the block, and
transitions BN -> Relu -> Conv 1x1 -> AveragePool 2x2/2. Both end in GlobalAveragePool -> Flatten
-> Gemm(1000, transB=1) -> Softmax(axis 1). The only departure from torch's export: the first
layer of a dense block reads the block input directly, with no one-input Concat.

Weights are random but seeded (default seed 0, mixed with the model name, so any subset gives
the same files). Conv and Gemm weights are He-normal (std sqrt(2 / fan_in)); BatchNorm gets
gamma ~ U(0.5, 1.5), beta ~ U(-0.2, 0.2), running_mean ~ N(0, 0.2^2) and running_var ~ U(0.5, 2),
so that folding BN into the convolutions changes the weights and biases. The last BN of every
residual branch has its gamma multiplied by --branch-gamma. BN here uses fixed running statistics
that do not match the real ones, so it does not renormalise: each residual block multiplies the
stream's scale by about sqrt(1 + 1.5 g^2), which compounds over 36 blocks. The default ("auto")
is g = min(0.5, 0.5 / sqrt(blocks in the longest stage)): 0.35 for ResNet-18, 0.20 for 34/50,
0.10 for 101 and 0.083 for 152/200, which keeps every activation within about [-50, 50] for a
unit-normal input. After writing each model the script runs onnxruntime on a
unit-normal input (seed 1) and prints max |activation| of the output, the logits, the stage
outputs and all node outputs (``--check none`` skips this; ``--check stages`` probes fewer
tensors).

Next to ``<name>.onnx`` it writes ``<name>.json``: {"params": trainable parameters as torchvision
counts them, "macs": Conv + Gemm multiply-accumulates, "nodes": n, "ops": {op: count},
"bn_buffers": number of BN running-statistic floats}. The files are byte-identical for the same
seed (on the same numpy).
"""

import argparse
import sys
import time
import zlib
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
from onnx_graph import Graph, activation_report, save  # noqa: E402

RESNETS = {
    "resnet18": ("basic", [2, 2, 2, 2]),
    "resnet34": ("basic", [3, 4, 6, 3]),
    "resnet50": ("bottleneck", [3, 4, 6, 3]),
    "resnet101": ("bottleneck", [3, 4, 23, 3]),
    "resnet152": ("bottleneck", [3, 8, 36, 3]),
    "resnet200": ("bottleneck", [3, 24, 36, 3]),
}
DENSENETS = {
    "densenet121": (32, [6, 12, 24, 16], 64),
}
MODELS = list(RESNETS) + list(DENSENETS)


class Init:
    """Seeded random weights; every draw is float32 from one PCG64 stream per model."""

    def __init__(self, seed, name, branch_gamma):
        self.rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([seed, zlib.crc32(name.encode())])))
        self.branch_gamma = np.float32(branch_gamma)

    def he(self, *shape):
        fan_in = int(np.prod(shape[1:]))
        std = np.float32(np.sqrt(2.0 / fan_in))
        return self.rng.standard_normal(shape, dtype=np.float32) * std

    def uniform(self, lo, hi, n):
        return self.rng.uniform(lo, hi, n).astype(np.float32)

    def bn(self, c, last_in_branch=False):
        gamma = self.uniform(0.5, 1.5, c)
        if last_in_branch:
            gamma *= self.branch_gamma
        beta = self.uniform(-0.2, 0.2, c)
        mean = (self.rng.standard_normal(c, dtype=np.float32) * np.float32(0.2))
        var = self.uniform(0.5, 2.0, c)
        return gamma, beta, mean, var

    def fc(self, n_out, n_in):
        return self.he(n_out, n_in), self.uniform(-0.05, 0.05, n_out)


def conv_bn(g, init, x, conv, bn, cin, cout, k, stride=1, relu=None, last_in_branch=False):
    y = g.conv(x, conv, init.he(cout, cin, k, k), stride=stride, pad=k // 2)
    y = g.bn(y, bn, *init.bn(cout, last_in_branch))
    return g.relu(y, relu) if relu else y


def resnet(name, init):
    block, layers = RESNETS[name]
    expansion = 1 if block == "basic" else 4
    g = Graph(name, producer="cryptflow-make_imagenet_models")
    x = conv_bn(g, init, "input", "conv1", "bn1", 3, 64, 7, stride=2, relu="relu")
    x = g.maxpool(x, "maxpool", 3, 2, 1)
    stages = [x]
    inplanes = 64
    for li, (planes, n_blocks) in enumerate(zip([64, 128, 256, 512], layers), start=1):
        for bi in range(n_blocks):
            p = f"layer{li}.{bi}"
            stride = 2 if (bi == 0 and li > 1) else 1
            if block == "basic":
                y = conv_bn(g, init, x, f"{p}.conv1", f"{p}.bn1", inplanes, planes, 3, stride, f"{p}.relu1")
                y = conv_bn(g, init, y, f"{p}.conv2", f"{p}.bn2", planes, planes, 3, last_in_branch=True)
            else:
                y = conv_bn(g, init, x, f"{p}.conv1", f"{p}.bn1", inplanes, planes, 1, 1, f"{p}.relu1")
                y = conv_bn(g, init, y, f"{p}.conv2", f"{p}.bn2", planes, planes, 3, stride, f"{p}.relu2")
                y = conv_bn(g, init, y, f"{p}.conv3", f"{p}.bn3", planes, planes * 4, 1, last_in_branch=True)
            shortcut = x
            if stride != 1 or inplanes != planes * expansion:
                shortcut = conv_bn(g, init, x, f"{p}.downsample.0", f"{p}.downsample.1",
                                   inplanes, planes * expansion, 1, stride)
            x = g.relu(g.add(y, shortcut, f"{p}.add"), f"{p}.relu")
            inplanes = planes * expansion
        stages.append(x)
    x = g.flatten(g.global_avgpool(x, "avgpool"), "flatten")
    logits = g.gemm(x, "fc", *init.fc(1000, inplanes))
    g.softmax(logits)
    return g, stages, logits


def densenet(name, init):
    growth, blocks, c = DENSENETS[name]
    bn_size = 4
    g = Graph(name, producer="cryptflow-make_imagenet_models")
    x = conv_bn(g, init, "input", "features.conv0", "features.norm0", 3, c, 7, stride=2, relu="features.relu0")
    x = g.maxpool(x, "features.pool0", 3, 2, 1)
    stages = [x]
    for bi, n_layers in enumerate(blocks, start=1):
        features = [x]
        for li in range(1, n_layers + 1):
            p = f"features.denseblock{bi}.denselayer{li}"
            cin = c + (li - 1) * growth
            h = features[0] if len(features) == 1 else g.concat(features, f"{p}.concat")
            h = g.relu(g.bn(h, f"{p}.norm1", *init.bn(cin)), f"{p}.relu1")
            h = g.conv(h, f"{p}.conv1", init.he(bn_size * growth, cin, 1, 1))
            h = g.relu(g.bn(h, f"{p}.norm2", *init.bn(bn_size * growth)), f"{p}.relu2")
            h = g.conv(h, f"{p}.conv2", init.he(growth, bn_size * growth, 3, 3), pad=1)
            features.append(h)
        c += n_layers * growth
        x = g.concat(features, f"features.denseblock{bi}")
        stages.append(x)
        if bi != len(blocks):
            p = f"features.transition{bi}"
            x = g.relu(g.bn(x, f"{p}.norm", *init.bn(c)), f"{p}.relu")
            x = g.conv(x, f"{p}.conv", init.he(c // 2, c, 1, 1))
            c //= 2
            x = g.avgpool(x, f"{p}.pool", 2, 2)
    x = g.relu(g.bn(x, "features.norm5", *init.bn(c)), "relu")
    stages.append(x)
    x = g.flatten(g.global_avgpool(x, "avgpool"), "flatten")
    logits = g.gemm(x, "classifier", *init.fc(1000, c))
    g.softmax(logits)
    return g, stages, logits


def auto_branch_gamma(name):
    if name not in RESNETS:
        return 1.0
    return min(0.5, 0.5 / np.sqrt(max(RESNETS[name][1])))


def build(name, seed, branch_gamma=None):
    if branch_gamma is None:
        branch_gamma = auto_branch_gamma(name)
    init = Init(seed, name, branch_gamma)
    return (resnet if name in RESNETS else densenet)(name, init)


def check(model, g, stages, logits, mode):
    """Print max |activation| on a unit-normal input; return the numbers as a dict."""
    x = np.random.default_rng(1).standard_normal((1, 3, 224, 224), dtype=np.float32)
    probes = list(g.shapes)[1:] if mode == "all" else stages + [logits]
    t0 = time.time()
    values = activation_report(model, probes, x)
    probs = values[g.output]
    report = {
        "probabilities": float(np.abs(probs).max()),
        "probabilities_sum": float(probs.sum()),
        "logits": float(np.abs(values[logits]).max()),
        "stages": {s: round(float(np.abs(values[s]).max()), 3) for s in stages},
    }
    worst = max(((float(np.abs(v).max()), n) for n, v in values.items()), key=lambda t: t[0])
    report["max_any"] = {"tensor": worst[1], "value": round(worst[0], 3), "probed": len(values)}
    print(f"  onnxruntime ({time.time() - t0:.1f}s): max|probabilities| {report['probabilities']:.4f} "
          f"(sum {report['probabilities_sum']:.5f}), max|logits| {report['logits']:.3f}")
    print("  max|stage output|: " + ", ".join(f"{s} {v}" for s, v in report["stages"].items()))
    print(f"  max|activation| over {len(values)} probed tensors: {worst[0]:.3f} at {worst[1]}")
    return report


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help=f"any of {', '.join(MODELS)}, or all")
    parser.add_argument("--out", type=Path, default=REPO / "target" / "models",
                        help="output directory (default: target/models in the repository)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--branch-gamma", type=float, default=None,
                        help="factor on the gamma of the last BN of each residual branch "
                             "(default: min(0.5, 0.5 / sqrt(blocks in the longest stage)))")
    parser.add_argument("--check", choices=["all", "stages", "none"], default="all",
                        help="onnxruntime activation check: every node output, stage outputs only, or none")
    args = parser.parse_args()
    names = MODELS if "all" in args.models else args.models
    for name in names:
        if name not in MODELS:
            parser.error(f"unknown model {name!r}; choose from {', '.join(MODELS)} or all")
    for name in names:
        t0 = time.time()
        g, stages, logits = build(name, args.seed, args.branch_gamma)
        path = args.out / f"{name}.onnx"
        model, size = save(g, path)
        stats = g.stats()
        gamma = args.branch_gamma if args.branch_gamma is not None else auto_branch_gamma(name)
        print(f"{path}: {size / 2**20:.1f} MiB, {stats['params']:,} params, {stats['macs'] / 1e9:.3f} GMACs, "
              f"{stats['nodes']} nodes, built in {time.time() - t0:.1f}s"
              + (f" (branch gamma {gamma:.3f})" if name in RESNETS else ""), flush=True)
        if args.check != "none":
            check(model, g, stages, logits, args.check)
        sys.stdout.flush()


if __name__ == "__main__":
    main()
