#!/usr/bin/env bash
# README command 1: set up, build, and run the full conformance suite on the default device (PoCL CPU
# unless CANNON_DEVICE says otherwise). Extra arguments go to cannon-conformance.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
build="${CANNON_BUILD_DIR:-$root/build}"
"$build/tools/cannon-info"
exec "$build/tools/cannon-conformance" --batch "$root/tests/cases/test_fa_full" "$@"
