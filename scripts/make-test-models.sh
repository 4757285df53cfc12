#!/usr/bin/env bash
# Makes the models the tests use, one family at a time under tests/data/<family>; a family whose
# .complete stamp exists is skipped (delete the folder after editing its script).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$root/tests/data}"

make_family() {  # family, command... (the command gets the output folder as its last argument)
  local out="$data/$1"; shift
  [ -f "$out/.complete" ] && return 0
  rm -rf "$out"
  mkdir -p "$out"
  "$@" "$out"
  touch "$out/.complete"
}

# Real architectures from Debian's torch/torchvision with PyTorch's outputs (torch_parity).
make_family torch /usr/bin/python3 "$root/models/torch/export_models.py"
# sklearn models converted to ONNX-ML by our own onnx.helper script (tabular_parity).
make_family tabular /usr/bin/python3 "$root/models/tabular/make_sklearn_models.py"
# The repository's real models with pipelines (digits CNN, breast cancer MLP and GBT, fraud GBT)
# and the Python-side answers the pipeline_models test compares against.
pipeline_models() {
  /usr/bin/python3 "$root/models/repository/make_repository.py" "$1/repository" --pipelines \
    --reference "$1/reference"
}
make_family pipelines pipeline_models
