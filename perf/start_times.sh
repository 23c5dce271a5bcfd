#!/usr/bin/env bash
# The time of each start (NNDSVD and learned) of two builds side by side: a
# fresh `factorize --iters 0` process per run, the builds alternating, the
# trace's iteration 0 (the start, data read excluded) and the process's wall
# time, medians of --repeat runs, on the real sets of issue 19 (their kinds
# as perf/real_sets.py gives them) at the ranks given.
#
#   perf/start_times.sh OLD_FACTORMER NEW_FACTORMER [--ranks "10 40"] [--repeat 5] [--data DIR]
#
# A worktree of the old commit built beside this one gives OLD_FACTORMER
# (git worktree add /tmp/old REV; cmake -S /tmp/old -B /tmp/old/build; cmake
# --build /tmp/old/build --target factormer).
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,12p "$0"; exit 2; }
old=$1 new=$2
shift 2
ranks="10 40" repeat=5 data="$(dirname "$0")/../../shared/data"
while [ $# -gt 0 ]; do
  case $1 in
    --ranks) ranks=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "start_times.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
declare -A kind=([yale32]="--kind dense" [yale64]="--kind dense" [jasper_ridge]="--kind dense"
                 [kos_bow]="--kind sparse" [movielens100k]="--kind incomplete --holdout 0.1")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g "$1" | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)] * 1000}'; }
echo "set rank init: start old -> new (ms, trace iteration 0); process old -> new (ms)"
for set in yale32 yale64 jasper_ridge kos_bow movielens100k; do
  for rank in $ranks; do
    for init in nndsvd learned; do
      : > "$work/t_old"; : > "$work/t_new"; : > "$work/w_old"; : > "$work/w_new"
      for _ in $(seq "$repeat"); do
        for build in old new; do
          binary=$old
          [ $build = new ] && binary=$new
          began=$(date +%s.%N)
          # shellcheck disable=SC2086
          "$binary" factorize "$data/$set.mtx.gz" --rank "$rank" --iters 0 --tol 0 --finish none --threads 2 \
            --init $init --quiet --out "$work/s" ${kind[$set]} >/dev/null
          ended=$(date +%s.%N)
          grep "^0," "$work/s.trace.csv" | cut -d, -f2 >> "$work/t_$build"
          awk -v a="$began" -v b="$ended" 'BEGIN {print b - a}' >> "$work/w_$build"
        done
      done
      printf "%-14s %3d %-8s start %7.1f -> %7.1f   process %6.0f -> %6.0f\n" "$set" "$rank" "$init" \
        "$(median "$work/t_old")" "$(median "$work/t_new")" "$(median "$work/w_old")" "$(median "$work/w_new")"
    done
  done
done
