#!/usr/bin/env bash
# The sanitizer pass of scripts/test.sh (and so of CI): ASan+UBSan over the unit tests, the operator tests and
# the conformance CI batches (build-asan), and TSan over threads sharing one Context (build-tsan). Any sanitizer
# report fails the run. Usage: scripts/sanitize.sh [asan|tsan|all]  (default all); suppressions and why each
# exists: tests/sanitizers/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
what="${1:-all}"
supp="$root/tests/sanitizers"
logs="$(mktemp -d "${TMPDIR:-/tmp}/cannon-sanitize.XXXXXX")"
jobs="$(nproc)"

# The loader would also load every other installed driver (Mesa's clover and rusticl leak at load time and are not
# what CI tests): sanitized runs see PoCL alone.
pocl_icd=/etc/OpenCL/vendors/pocl.icd
[ -f "$pocl_icd" ] && export OCL_ICD_VENDORS="$pocl_icd"

# Compiling is most of this pass's time: -Og -g1 builds in half the CPU time of -O1 -g (measured: 300 s against
# 610 s for build-asan), runs the tests about 20% slower, and keeps file:line in every stack. No NDEBUG: asserts on.
configure() {  # dir sanitizers
  cmake -S "$root" -B "$1" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-Og -g1" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g1" -DCANNON_SANITIZE="$2" >/dev/null
}

# Runs a command with its output in a log; fails on a non-zero exit or on any sanitizer report in the log (a
# report the exit code hides, e.g. from a child process, still fails).
check() {  # name command...
  local name="$1" log="$logs/$1.log" start=$SECONDS status=0
  shift
  "$@" >"$log" 2>&1 || status=$?
  if grep -qE 'ERROR: (Address|Leak)Sanitizer|WARNING: ThreadSanitizer|:[0-9]+: runtime error:' "$log"; then
    ((status)) || status=1
  fi
  if ((status)); then
    tail -n 150 "$log"
    echo "cannon sanitize: $name FAILED (exit $status, $((SECONDS - start)) s, full log $log)" >&2
    return "$status"
  fi
  echo "cannon sanitize: $name passed ($((SECONDS - start)) s)"
}

asan() {
  local build="${CANNON_ASAN_BUILD_DIR:-$root/build-asan}"
  configure "$build" address,undefined
  check asan_build cmake --build "$build" -j"$jobs" --target cannon_unit_tests cannon_op_tests cannon-conformance
  # LSan stays on; its suppressions cover only what PoCL's in-process LLVM keeps until exit.
  export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1"
  export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
  check asan_unit_tests "$build/tests/cannon_unit_tests" --gtest_brief=1
  check asan_op_tests "$build/tests/cannon_op_tests" --gtest_brief=1
  check asan_conformance ctest --test-dir "$build" --output-on-failure -j1 \
    -R '^(conformance_fa_ci|conformance_rau_ci|conformance_nsa_ci|conformance_fa_generic|ops_generic_variant)$'
  unset ASAN_OPTIONS LSAN_OPTIONS UBSAN_OPTIONS
}

tsan() {
  local build="${CANNON_TSAN_BUILD_DIR:-$root/build-tsan}"
  configure "$build" thread
  check tsan_build cmake --build "$build" -j"$jobs" --target cannon_concurrency_tests
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  check tsan_concurrency "$build/tests/cannon_concurrency_tests"
  unset TSAN_OPTIONS
}

case "$what" in
  asan) asan ;;
  tsan) tsan ;;
  all)
    asan
    tsan
    ;;
  *) echo "usage: $0 [asan|tsan|all]" >&2 && exit 2 ;;
esac
rm -rf "$logs"
