#!/usr/bin/env bash
# Makes the models the tests use, each family once (a .complete stamp marks a finished family).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
data="$root/tests/data"

make_family() {  # name, command...
  local out="$data/$1"; shift
  [ -f "$out/.complete" ] && return 0
  rm -rf "$out"
  mkdir -p "$out"
  "$@" "$out"
  touch "$out/.complete"
}

# sklearn models converted to ONNX-ML by our own onnx.helper script.
make_family tabular /usr/bin/python3 "$root/models/tabular/make_sklearn_models.py"
