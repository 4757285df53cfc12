#!/usr/bin/env bash
# Generates the ONNX 1.12 backend node test suite from Debian's python3-onnx into
# tests/data/onnx-node (model.onnx + test_data_set_* per case). Skips if already generated.
set -euo pipefail
out="${1:-$(dirname "$0")/../tests/data/onnx-node}"
if [ -f "$out/.complete" ]; then exit 0; fi
rm -rf "$out"
mkdir -p "$out"
# onnx 1.12 predates numpy 1.24's removal of the np.float-style aliases; restore them first.
/usr/bin/python3 - "$out" <<'PY'
import sys
import numpy as np
for name, t in [("float", float), ("int", int), ("bool", bool), ("object", object),
                ("complex", complex), ("str", str)]:
    if name not in np.__dict__:
        setattr(np, name, t)
import warnings
warnings.simplefilter("ignore")
from onnx.backend.test.cmd_tools import main
sys.argv = ["generate-data", "generate-data", "-o", sys.argv[1]]
main()
PY
touch "$out/.complete"
echo "gen-onnx-node-tests: $(ls "$out/node" | wc -l) node cases in $out"
