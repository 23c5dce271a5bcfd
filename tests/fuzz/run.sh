#!/usr/bin/env bash
# Builds the libFuzzer harnesses with clang in build-fuzz and runs each for
# SECONDS (default 60), two at a time, on a scratch copy of its corpus:
#   tests/fuzz/run.sh [SECONDS]
# Exits 1 if any harness crashed, leaked, hit undefined behaviour, timed out
# or ran out of memory; its reproducer and log are in the scratch directory
# ($FM_FUZZ_SCRATCH, default a fresh directory under $TMPDIR or /tmp), which
# is printed. Never writes into the repository's corpus.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
build=${FM_FUZZ_BUILD:-build-fuzz}
scratch=${FM_FUZZ_SCRATCH:-$(mktemp -d "${TMPDIR:-/tmp}/factormer-fuzz.XXXXXX")}
mkdir -p "$scratch"

cmake -S . -B "$build" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFM_FUZZ=ON -DFM_TESTS=OFF >/dev/null
cmake --build "$build" -j2 --target fuzz_mtx fuzz_mtx_gzip fuzz_model fuzz_mtx_system

# Allocations above 64 MiB fail (NULL, as on a machine short of memory)
# rather than abort: the readers must then report FM_ERR_MEMORY.
export ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1:max_allocation_size_mb=64
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Two harnesses at a time (FM_FUZZ_JOBS): each is one process on one core,
# and CI's machine has two; every harness still runs for SECONDS.
jobs=${FM_FUZZ_JOBS:-2}
harnesses=(fuzz_mtx:mtx fuzz_mtx_gzip:mtx fuzz_model:model fuzz_mtx_system:mtx_system)
failed=()
for ((first = 0; first < ${#harnesses[@]}; first += jobs)); do
  pids=() names=()
  for harness in "${harnesses[@]:first:jobs}"; do
    name=${harness%%:*} dict=${harness##*:}
    corpus="$scratch/corpus-${name#fuzz_}"
    mkdir -p "$corpus"
    echo "fuzz: $name for $seconds s"
    "$build/$name" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -dict="tests/fuzz/$dict.dict" -artifact_prefix="$scratch/$name-" \
      "$corpus" "tests/fuzz/corpus/${name#fuzz_}" >"$scratch/$name.log" 2>&1 &
    pids+=("$!") names+=("$name")
  done
  for i in "${!pids[@]}"; do
    name=${names[i]}
    if wait "${pids[i]}"; then
      echo "fuzz: $name"
      grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec)' "$scratch/$name.log" || true
    else
      failed+=("$name")
      tail -n 60 "$scratch/$name.log"
    fi
  done
done

if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]}; reproducers and logs in $scratch" >&2
  exit 1
fi
echo "fuzz: no crash; corpora and logs in $scratch"
