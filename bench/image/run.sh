#!/usr/bin/env bash
# Image preprocessing benchmark (Nalar vs Pillow); updates the image section of bench/RESULTS.md.
#   bench/image/run.sh [--quick]      (needs build/nalar_image_prep: `make bench-image` builds it)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
ARGS=()
[ "${1:-}" = "--quick" ] && ARGS=(--seconds 1 --reps 1)
/usr/bin/python3 bench/image/image_bench.py "$BUILD/nalar_image_prep" bench/RESULTS.md "${ARGS[@]}"
