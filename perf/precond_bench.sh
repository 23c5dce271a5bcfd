#!/usr/bin/env bash
# The figures of issue 16 in one run: CG with every preconditioner side by
# side (factormer bench solve) on the random SPD test set, the diffusion
# grids (with hypre's BoomerAMG-PCG beside them when perf/peers/build.sh has
# built it) and the SPD matrices of ../shared/data/precond, and the kernels'
# rates (perf/bench_solve_kernels). Outputs go to DIR (default
# perf-precond-<date>); the tables are printed as they come.
#
#   perf/precond_bench.sh [--out DIR] [--count N] [--sizes "100 300 500 700"]
#                         [--model M.fmw] [--diffusion-model M.fmw] [--data DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="perf-precond-$(date +%Y%m%d-%H%M)"
count=100
sizes="100 300 500 700"
model=models/shipped/neuralif.fmw
diffusion_model=models/shipped/neuralif-diffusion.fmw
data=${FM_DATA:-../shared/data}
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --diffusion-model) diffusion_model=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "precond_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
fm=build/factormer
mkdir -p "$out"
# The program's own threading (cli/main.c: a passive wait after a short
# spin) unless the caller set OMP_WAIT_POLICY; forcing passive here made
# every parallel region cost a wake-up, which README's figures do not.
echo "== $(date -u) $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"

# Random SPD (P7), n = 10 000, test seeds. One run to 1e-8 gives 1e-3 and
# 1e-6 too (the CSV's columns read off each trace). The four Krylov methods
# side by side on the whole set; CHOLMOD on three (its fill is ~37 M entries
# a matrix).
"$fm" bench solve --set random-spd --count "$count" --tol 1e-8 --methods none,jacobi,ic0,neuralif \
  --model "$model" --out "$out/random-spd" | tee "$out/random-spd.txt"
"$fm" bench solve --set random-spd --count 3 --tol 1e-8 --methods direct --bandwidth-seconds 0 \
  --out "$out/random-spd-direct" | tee "$out/random-spd-direct.txt"

# Diffusion grids up to 700 x 700 (n = 490 000); the model saw grids up to 128.
for g in $sizes; do
  "$fm" bench solve --set diffusion --size "$g" --count 3 --tol 1e-8 --model "$diffusion_model" \
    --out "$out/diffusion-$g" | tee "$out/diffusion-$g.txt"
done
if [ -x build-peers/amg_pcg ]; then
  perf/bench_amg.sh --sizes "$sizes" --tol 1e-6 --factormer "$fm" --json "$out/amg.json" | tee "$out/amg.txt"
fi

# The SPD matrices of ../shared/data/precond, with the shipped model.
"$fm" bench solve "$data"/precond/{bcsstk14,bcsstk16,s3rmt3m3,nos7}.mtx.gz --tol 1e-6 --max-iters 100000 \
  --model "$model" --bandwidth-seconds 0 --out "$out/real" | tee "$out/real.txt"

for g in 300 500 700; do build/bench_solve_kernels "$g" 20 | tee "$out/kernels-$g.txt"; done
echo "== wrote $out"
