#!/usr/bin/env bash
# install-deps.sh [build|test] - make sure the tools cnnc needs are present.
#
#   build: a C compiler, make, cmake, flex, bison, m4 and cJSON (the demo)
#   test:  the above plus Debian's PyTorch (the oracle tests run against it) and
#          graphviz (the --graph=dot test renders with dot -Tsvg), python3-onnx
#          (the ONNX importer and its tests)
#
# Missing Debian packages are installed with apt-get when we are root (or
# sudo works without a password); otherwise the script prints the exact
# command to run and exits 1.
set -euo pipefail

what=${1:-build}
pkgs=(build-essential cmake flex bison m4 libcjson-dev)
if [ "$what" = test ]; then
  pkgs+=(python3 python3-torch python3-numpy dataset-fashion-mnist clang libclang-rt-dev
         gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm graphviz python3-onnx)
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  # Not Debian: check the commands themselves and say what is missing.
  missing=()
  for cmd in cc make cmake flex bison m4; do
    command -v "$cmd" >/dev/null 2>&1 || missing+=("$cmd")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "cnnc needs: ${missing[*]} (and cJSON; the tests also need PyTorch). Install them with your package manager." >&2
    exit 1
  fi
  exit 0
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo"
else
  echo "cnnc: missing packages: ${missing[*]}" >&2
  echo "cnnc: run:  sudo apt-get update && sudo $cmd" >&2
  exit 1
fi
echo "cnnc: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo $cmd
