"""Classify photos with an ImageNet ONNX model in onnxruntime (reference for the Rust side).

    python3 scripts/ort_imagenet.py MODEL.onnx IMAGE... [--save-npy DIR] [--labels FILE]

Each IMAGE (any format Pillow reads; grayscale and RGBA are converted to RGB) gets torchvision's
standard ImageNet evaluation preprocessing, done with Pillow + numpy:

    Resize(256): shorter side -> 256, longer side -> int(256 * long / short), PIL bilinear
    CenterCrop(224): top = int(round((h - 224) / 2)), left = int(round((w - 224) / 2))
    ToTensor: pixel / 255 as float32; Normalize: mean [0.485, 0.456, 0.406], std [0.229, 0.224, 0.225]
    -> NCHW float32 [1, 3, 224, 224]

An IMAGE ending in .npy is taken as an already preprocessed float32 [1,3,224,224] tensor (then
Pillow is not needed). --save-npy DIR writes each preprocessed tensor to DIR/<image stem>.npy
(format 1.0, little-endian float32).

Prints a JSON list, one entry per image:
    {"image": path, "top1": k, "top5": [5 ints], "prob": p(top1), "top5_prob": [...],
     "label": class name of top1}
If the model's output is not already a probability vector (no final Softmax), a softmax is applied.
Class names come from scripts/imagenet_classes.txt (one per line, class index = line number - 1).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
RESIZE, CROP = 256, 224
CLASSES = Path(__file__).resolve().parent / "imagenet_classes.txt"


def preprocess(path):
    """The float32 [1, 3, 224, 224] network input for an image file (or a .npy of one)."""
    path = Path(path)
    if path.suffix == ".npy":
        x = np.load(path).astype(np.float32)
        return x.reshape(1, 3, CROP, CROP)
    from PIL import Image

    with Image.open(path) as img:
        img = img.convert("RGB")
        w, h = img.size
        if w <= h:
            size = (RESIZE, int(RESIZE * h / w))
        else:
            size = (int(RESIZE * w / h), RESIZE)
        img = img.resize(size, Image.BILINEAR)
        w, h = img.size
        top, left = int(round((h - CROP) / 2.0)), int(round((w - CROP) / 2.0))
        img = img.crop((left, top, left + CROP, top + CROP))
        pixels = np.asarray(img, dtype=np.float32) / np.float32(255.0)
    x = (pixels - MEAN) / STD
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def load_labels(path=CLASSES):
    path = Path(path)
    return path.read_text().splitlines() if path.exists() else None


def to_probabilities(out):
    out = np.asarray(out, dtype=np.float64).reshape(-1)
    if out.min() >= 0 and abs(out.sum() - 1.0) < 1e-3:
        return out
    e = np.exp(out - out.max())
    return e / e.sum()


def classify(session, x, labels=None):
    input_name = session.get_inputs()[0].name
    probs = to_probabilities(session.run(None, {input_name: x})[0])
    top5 = [int(k) for k in np.argsort(-probs, kind="stable")[:5]]
    result = {"top1": top5[0], "top5": top5, "prob": float(probs[top5[0]]),
              "top5_prob": [float(probs[k]) for k in top5]}
    if labels:
        result["label"] = labels[top5[0]]
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model")
    parser.add_argument("images", nargs="+")
    parser.add_argument("--save-npy", type=Path, help="write the preprocessed inputs here as <stem>.npy")
    parser.add_argument("--labels", default=CLASSES, help="class names, one per line")
    args = parser.parse_args()
    session = ort.InferenceSession(args.model, providers=["CPUExecutionProvider"])
    labels = load_labels(args.labels)
    results = []
    for image in args.images:
        x = preprocess(image)
        if args.save_npy:
            args.save_npy.mkdir(parents=True, exist_ok=True)
            np.save(args.save_npy / f"{Path(image).stem}.npy", x)
        results.append({"image": image, **classify(session, x, labels)})
    json.dump(results, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
