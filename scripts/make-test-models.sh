#!/usr/bin/env bash
# Makes the models the tests use (real architectures, tabular models); filled in per model family.
# Each family writes under tests/data/<family> and skips itself when its .complete stamp exists.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="${1:-$root/tests/data}"

# Real architectures from Debian's torch/torchvision with PyTorch's outputs, for the
# torch_parity ctest (tests/models/check_parity.py). About 30 s on 2 cores.
torch_out="$data/torch"
if [ ! -f "$torch_out/.complete" ]; then
  rm -rf "$torch_out"
  mkdir -p "$torch_out"
  /usr/bin/python3 "$root/models/torch/export_models.py" "$torch_out"
  touch "$torch_out/.complete"
fi
