#!/usr/bin/env bash
# README command 2 (and CI): set up, build, and run the whole test suite with ctest (unit tests, operator
# tests against the float64 reference, the conformance CI batch, the golden round trip), then the sanitizer
# pass (scripts/sanitize.sh: ASan+UBSan and TSan builds). CANNON_SANITIZERS=0 skips the sanitizer pass.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
build="${CANNON_BUILD_DIR:-$root/build}"
status=0
(cd "$build" && ctest --output-on-failure -j1 "$@") || status=$?
if [ "${CANNON_SANITIZERS:-1}" != 0 ]; then
  "$root/scripts/sanitize.sh" || status=$?
fi
exit "$status"
