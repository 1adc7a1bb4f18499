#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz (clang-14, ASan+UBSan, in build-fuzz) and runs each for N seconds
# (default 60) from its seed corpus, after replaying tests/fuzz/regressions/. New corpus entries and artifacts go to
# a scratch directory, never into the repository. A crash, sanitizer report, leak, timeout or an allocation over
# the limits below fails the run. Usage: scripts/fuzz.sh [seconds] [target...]  (README.md, "Fuzzing")
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
secs="${1:-60}"
shift || true
targets=("$@")
((${#targets[@]})) || targets=(fuzz_problem_string fuzz_npy fuzz_golden_case fuzz_op_plan)
build="${CANNON_FUZZ_BUILD_DIR:-$root/build-fuzz}"
parallel="${CANNON_FUZZ_PARALLEL:-1}"  # targets run at once (each uses one core)
work="${CANNON_FUZZ_WORK_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/cannon-fuzz.XXXXXX")}"
# libFuzzer's own limits: a single malloc above 1 GiB or a process above 2 GiB is a finding, as is one input
# running longer than 10 s.
limits=(-rss_limit_mb=2048 -malloc_limit_mb=1024 -timeout=10)

# -Og -g1 compiles in about half the time of -O2 -g (CI builds this tree from scratch) and keeps file:line in stacks.
CC=clang-14 CXX=clang++-14 cmake -S "$root" -B "$build" -DCANNON_FUZZ=ON -DCANNON_BUILD_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_FLAGS_RELWITHDEBINFO="-Og -g1" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g1" >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${targets[@]}" >/dev/null

run() {  # target
  local t="$1" bin="$build/tests/fuzz/$1" seeds="$root/tests/fuzz/corpus/$1" log="$work/$1.log"
  local inputs=("$seeds") status=0
  [[ -d "$root/tests/fuzz/regressions/$t" ]] && inputs+=("$root/tests/fuzz/regressions/$t")
  mkdir -p "$work/$t"
  # The first corpus directory receives new entries; the seeds and regressions are only read.
  "$bin" "$work/$t" "${inputs[@]}" "${limits[@]}" -max_total_time="$secs" -print_final_stats=1 \
    -artifact_prefix="$work/$t-" >"$log" 2>&1 || status=$?
  if ((status)); then
    tail -n 60 "$log"
    echo "cannon fuzz: $t FAILED (exit $status; log $log, reproducer $work/$t-*)" >&2
    return "$status"
  fi
  echo "cannon fuzz: $t passed: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1) (new corpus $work/$t)"
}

failed=0
for ((i = 0; i < ${#targets[@]}; i += parallel)); do
  pids=()
  for t in "${targets[@]:i:parallel}"; do
    run "$t" &
    pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || failed=1; done
done
exit "$failed"
