#!/usr/bin/env bash
# README command 1: set up, build, and run the full conformance suites (FlashAttentionScore,
# RingAttentionUpdate, NsaSelectedAttention, FlashAttentionScoreGrad) on the default device (PoCL CPU
# unless CANNON_DEVICE says otherwise). Extra arguments go to cannon-conformance.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
"$root/scripts/setup.sh"
build="${CANNON_BUILD_DIR:-$root/build}"
"$build/tools/cannon-info"
cases="$root/tests/cases"
exec "$build/tools/cannon-conformance" --batch "$cases/test_fa_full" --batch "$cases/test_rau_full" \
  --batch "$cases/test_nsa_full" --batch "$cases/test_fag_full" "$@"
