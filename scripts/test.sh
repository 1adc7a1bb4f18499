#!/usr/bin/env bash
# README command 2 (and CI): set up, build, and run the whole test suite with ctest (unit tests, operator
# tests against the float64 reference, the conformance CI batch, the golden round trip).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
build="${CANNON_BUILD_DIR:-$root/build}"
cd "$build"
exec ctest --output-on-failure -j1 "$@"
