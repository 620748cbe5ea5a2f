"""Collect real photos shipped inside PyPI packages into target/photos/ (for ImageNet models).

    python3 scripts/imagenet_photos.py [--out target/photos] [--no-npy]

scikit-image ships photos in ``skimage/data`` and matplotlib in ``mpl-data/sample_data``; nothing
is downloaded (``pip install -r scripts/requirements-models.txt`` installs both). Photos of a
package that is not installed are skipped. Each file is copied unchanged and also written as a
preprocessed network input ``<stem>.npy`` (float32 [1,3,224,224], torchvision's ImageNet
evaluation preprocessing from ort_imagenet.py; needs Pillow), so a test can use the photos with
numpy alone. ``photos.json`` lists every photo with its source, credit/licence and what it shows.
"""

import argparse
import importlib.util
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# (package, path inside the package, what it shows, credit and licence as the package states it)
PHOTOS = [
    ("skimage", "data/chelsea.png", "Chelsea the cat (a tabby)",
     "Stefan van der Walt, CC0"),
    ("skimage", "data/coffee.png", "a cup of coffee on a saucer, from above",
     "Rachel Michetti (courtesy of Pikolo Espresso Bar), CC0"),
    ("skimage", "data/astronaut.png", "astronaut Eileen Collins in an orange suit, flag and shuttle model",
     "NASA, public domain"),
    ("skimage", "data/rocket.jpg", "Falcon 9 launch of DSCOVR",
     "SpaceX, released into the public domain"),
    ("skimage", "data/motorcycle_left.png", "a red Yamaha motorcycle in a garage (Middlebury 2014 stereo, left view)",
     "Scharstein et al., Middlebury College (scikit-image test data)"),
    ("skimage", "data/camera.png", "grayscale: a person with a camera on a tripod",
     "Lav Varshney, CC0"),
    ("matplotlib", "mpl-data/sample_data/grace_hopper.jpg", "Grace Hopper in US Navy uniform",
     "US Navy, public domain"),
]


def package_dir(name):
    spec = importlib.util.find_spec(name)  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def package_version(name):
    from importlib.metadata import PackageNotFoundError, version

    dist = {"skimage": "scikit-image"}.get(name, name)
    try:
        return version(dist)
    except PackageNotFoundError:
        return None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "target" / "photos")
    parser.add_argument("--no-npy", action="store_true", help="do not write preprocessed .npy inputs")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    preprocess = None
    if not args.no_npy:
        sys.path.insert(0, str(REPO / "scripts"))
        from ort_imagenet import preprocess
        import numpy as np

    listed, missing = [], set()
    for package, rel, shows, credit in PHOTOS:
        root = package_dir(package)
        src = root / rel if root else None
        if src is None or not src.exists():
            missing.add(package)
            print(f"skipping {package}/{rel}: not installed", file=sys.stderr)
            continue
        dst = args.out / src.name
        shutil.copyfile(src, dst)
        entry = {"file": dst.name, "source": f"{package} {package_version(package)}: {rel}",
                 "shows": shows, "credit": credit}
        if preprocess:
            npy = dst.with_suffix(".npy")
            np.save(npy, preprocess(dst))
            entry["input"] = npy.name
        listed.append(entry)
        print(f"{dst}  <- {package}/{rel}")
    if not listed:
        sys.exit("no photos found: pip install -r scripts/requirements-models.txt")
    (args.out / "photos.json").write_text(json.dumps(listed, indent=1) + "\n")
    print(f"{len(listed)} photos in {args.out}" + (f" (missing packages: {sorted(missing)})" if missing else ""))


if __name__ == "__main__":
    main()
