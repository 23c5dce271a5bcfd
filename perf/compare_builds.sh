#!/usr/bin/env bash
# The portable build with run-time dispatch (the default) against the native
# build (-march=native) and the portable build without dispatch (x86-64-v2
# kernels only), side by side in one run: perf/nmf_peers.py with the three
# binaries, then the attention bench with each. Builds into build-cmp-*/.
#
#   perf/compare_builds.sh [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."
threads=2
[ "${1:-}" = "--threads" ] && threads=$2

declare -A flags=([portable]="" [native]="-DFM_NATIVE=ON" [nodispatch]="-DFM_DISPATCH=OFF")
for build in portable native nodispatch; do
  # shellcheck disable=SC2086
  cmake -S . -B "build-cmp-$build" -DFM_TESTS=OFF ${flags[$build]} >/dev/null
  cmake --build "build-cmp-$build" -j2 --target factormer >/dev/null
done

/usr/bin/python3 perf/nmf_peers.py --factormer build-cmp-portable/factormer --cases dense2000 sparse20000 kos \
  --compare native=build-cmp-native/factormer nodispatch=build-cmp-nodispatch/factormer

for build in portable native nodispatch; do
  echo "== $build: $(build-cmp-$build/factormer factorize --iters 0 --quiet --out /tmp/fm-cmp >/dev/null && \
                     grep -o '"cpu": "[^"]*"' /tmp/fm-cmp.summary.json)"
  rm -f /tmp/fm-cmp.*
  "build-cmp-$build/factormer" bench attention --graphs small,dense --kernels fused --repeat 3 --threads "$threads" |
    grep -E "^  fused|^SGEMM"
done
