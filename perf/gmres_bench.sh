#!/usr/bin/env bash
# The figures of issue 17 in one run: GMRES(50) with every preconditioner
# side by side (factormer bench solve: none, Jacobi, ILU(0), SuperLU's ILUT
# at two drop tolerances, the learned LU, UMFPACK) on the convection–
# diffusion test set at grid sides larger than the model was trained on, on
# the nonsymmetric random class, and on the nonsymmetric matrices of
# ../shared/data/precond; then the two losses' models compared by GMRES
# iterations on the same sets. Outputs go to DIR (default
# perf-gmres-<date>); the tables are printed as they come.
#
#   perf/gmres_bench.sh [--out DIR] [--count N] [--sizes "128 256"]
#                       [--model M.fmw] [--other-model M.fmw] [--data DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
out="perf-gmres-$(date +%Y%m%d-%H%M)"
count=20
sizes="128 256"
model=models/shipped/learned-lu.fmw
other=models/shipped/learned-lu-sketched.fmw
data=${FM_DATA:-../shared/data}
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --other-model) other=$2; shift 2 ;;
    --data) data=$2; shift 2 ;;
    *) echo "gmres_bench.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
fm=build/factormer
mkdir -p "$out"
export OMP_WAIT_POLICY=passive
echo "== $(date -u) $(nproc) cores; $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)"

# Convection–diffusion (P7), test seeds, grids larger than the training's
# (sides 32 to 64). One run to 1e-8 gives 1e-3 and 1e-6 too (the CSV's
# columns read off each trace).
for g in $sizes; do
  "$fm" bench solve --set convection --size "$g" --count "$count" --tol 1e-8 --max-iters 20000 \
    --lu-model "$model" --out "$out/convection-$g" | tee "$out/convection-$g.txt"
done

# The nonsymmetric random class (M M'^T + 1e-3 I, ten entries a row of M).
"$fm" bench solve --set random-general --size 500 --count 5 --tol 1e-6 --max-iters 2000 --lu-model "$model" \
  --bandwidth-seconds 0 --out "$out/random-general" | tee "$out/random-general.txt"

# The nonsymmetric matrices of ../shared/data/precond (never trained on).
"$fm" bench solve --method gmres "$data"/precond/{orsirr_1,jpwh_991,steam2}.mtx.gz --tol 1e-6 --max-iters 20000 \
  --lu-model "$model" --bandwidth-seconds 0 --out "$out/real" | tee "$out/real.txt"

# The other loss's model on the same sets (learned-lu only).
for g in $sizes; do
  "$fm" bench solve --set convection --size "$g" --count "$count" --tol 1e-8 --max-iters 20000 \
    --methods learned-lu --lu-model "$other" --bandwidth-seconds 0 --out "$out/convection-$g-other" \
    | tee "$out/convection-$g-other.txt"
done
"$fm" bench solve --method gmres "$data"/precond/{orsirr_1,jpwh_991,steam2}.mtx.gz --tol 1e-6 --max-iters 20000 \
  --methods learned-lu --lu-model "$other" --bandwidth-seconds 0 --out "$out/real-other" | tee "$out/real-other.txt"
echo "== wrote $out"
