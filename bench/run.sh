#!/usr/bin/env bash
# Times Nalar on the exported test models (`nalar bench --json`, batch 1 and 4, 2 threads).
# The side-by-side comparison with ONNX Runtime and PyTorch belongs to the performance issue.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/make-test-models.sh
for model in tests/data/torch/*/model.onnx; do
  for batch in 1 4; do
    ./build/nalar bench "$model" --batch "$batch" --threads 2 --warmup 3 --iterations 20 --json
  done
done
