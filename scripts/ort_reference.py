"""onnxruntime (CPU) reference outputs for the Rust integration tests.

Single input:
    python3 scripts/ort_reference.py MODEL.onnx INPUT.npy
    -> {"output": [flat floats], "shape": [...], "top1": int}

INPUT.npy is reshaped to the model's declared input shape when the element counts match
(e.g. a [1, 1, 28, 28] digit fed to a [1, 784] model).

Batch of images:
    python3 scripts/ort_reference.py MODEL.onnx --batch IMAGES.npy
    -> {"top1": [N ints]}

IMAGES.npy is uint8 [N, 28, 28]; each image is fed as pixel / 255 in float32.
"""

import argparse
import json
import sys

import numpy as np
import onnxruntime as ort

ORT_FLOAT_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64}


class Model:
    """An onnxruntime CPU session together with its (first) input's name, shape and dtype."""

    def __init__(self, path):
        self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        declared = self.session.get_inputs()[0]
        self.input_name = declared.name
        self.input_shape = [d if isinstance(d, int) else None for d in declared.shape]
        self.input_dtype = ORT_FLOAT_TYPES.get(declared.type, np.float32)

    def fit_input(self, x):
        """x reshaped to the declared input shape (one unknown dimension is inferred)."""
        x = np.asarray(x, dtype=self.input_dtype)
        unknown = self.input_shape.count(None)
        known = int(np.prod([d for d in self.input_shape if d is not None]))
        if unknown == 0 and known == x.size:
            return x.reshape(self.input_shape)
        if unknown == 1 and known > 0 and x.size % known == 0:
            return x.reshape([-1 if d is None else d for d in self.input_shape])
        if unknown > 1 and x.ndim == len(self.input_shape):
            return x  # several dynamic dimensions: pass through, onnxruntime checks the rest
        raise ValueError(f"input of shape {list(x.shape)} does not fit model input {self.input_shape}")

    def run(self, x):
        """The model's first output for input x."""
        return self.session.run(None, {self.input_name: self.fit_input(x)})[0]


def single(model, input_path):
    """Output, shape and arg-max for one input array."""
    out = model.run(np.load(input_path))
    flat = out.reshape(-1)
    return {"output": [float(v) for v in flat], "shape": list(out.shape), "top1": int(flat.argmax())}


def batch(model, images_path):
    """Arg-max for each uint8 image of an [N, 28, 28] array, fed as pixel / 255."""
    images = np.load(images_path)
    if images.dtype != np.uint8:
        raise ValueError(f"{images_path}: expected uint8 images, got {images.dtype}")
    inputs = images.astype(np.float32) / np.float32(255.0)
    return {"top1": [int(model.run(x).reshape(-1).argmax()) for x in inputs]}


def main():
    parser = argparse.ArgumentParser(description="onnxruntime reference output as JSON.")
    parser.add_argument("model", help="ONNX model file")
    parser.add_argument("input", nargs="?", help=".npy input array (single mode)")
    parser.add_argument("--batch", metavar="IMAGES", help="uint8 [N, 28, 28] .npy images")
    args = parser.parse_args()
    if (args.input is None) == (args.batch is None):
        parser.error("give exactly one of INPUT or --batch IMAGES")
    model = Model(args.model)
    result = batch(model, args.batch) if args.batch else single(model, args.input)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
