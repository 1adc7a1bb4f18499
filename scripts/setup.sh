#!/usr/bin/env bash
# Shared set-up for the README's two commands: installs what a fresh Debian 12 machine lacks (apt), then
# configures and builds cannon in build/. Idempotent: installed packages and a configured tree are reused.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${CANNON_BUILD_DIR:-$root/build}"

packages=(build-essential cmake pkg-config ocl-icd-opencl-dev opencl-clhpp-headers pocl-opencl-icd mesa-opencl-icd clinfo
  libfmt-dev libgtest-dev libcli11-dev nlohmann-json3-dev libfp16-dev libopenblas-dev clang-14 libclang-rt-14-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "cannon: installing ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" -j"$(nproc)"
