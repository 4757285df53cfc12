#!/usr/bin/env bash
# Installs what Nalar needs from Debian 12's packages. Idempotent: packages already present are
# skipped, and apt-get runs only when something is missing.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build clang libclang-rt-14-dev pkg-config
  libdnnl-dev libonnx-dev libprotobuf-dev protobuf-compiler
  libgtest-dev libbenchmark-dev
  libgrpc++-dev protobuf-compiler-grpc
  libturbojpeg0-dev libjpeg62-turbo-dev libpng-dev
  zlib1g-dev
  python3-numpy python3-onnx python3-torch python3-torchvision python3-sklearn python3-pil
  python3-grpcio python3-grpc-tools python3-protobuf python3-sentencepiece sentencepiece
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
