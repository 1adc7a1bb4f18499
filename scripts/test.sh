#!/usr/bin/env bash
# README command 2 (and CI): set up, build, and run the whole test suite with ctest (unit tests, operator
# tests against the float64 reference, the conformance CI batch, the golden round trip), then the sanitizer
# pass (scripts/sanitize.sh: ASan+UBSan and TSan builds) and 60 s of each fuzz target (scripts/fuzz.sh).
# CANNON_SANITIZERS=0 skips the sanitizer pass, CANNON_FUZZ_SECONDS=0 the fuzzing.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
build="${CANNON_BUILD_DIR:-$root/build}"
status=0
(cd "$build" && ctest --output-on-failure -j1 "$@") || status=$?
if [ "${CANNON_SANITIZERS:-1}" != 0 ]; then
  "$root/scripts/sanitize.sh" || status=$?
fi
# Every libFuzzer target for CANNON_FUZZ_SECONDS (default 60; 0 skips), two at a time (scripts/fuzz.sh).
fuzz_seconds="${CANNON_FUZZ_SECONDS:-60}"
if [ "$fuzz_seconds" != 0 ]; then
  CANNON_FUZZ_PARALLEL="${CANNON_FUZZ_PARALLEL:-2}" "$root/scripts/fuzz.sh" "$fuzz_seconds" || status=$?
fi
exit "$status"
