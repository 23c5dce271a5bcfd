#!/usr/bin/env bash
# BoomerAMG-preconditioned CG from hypre (perf/peers/amg_pcg.c), the peer of
# `factormer bench solve` on the diffusion grids of P7. For each grid side g
# it writes the g x g diffusion matrix with the project's CLI
#   build/factormer generate --spd diffusion --size G --seed S A.mtx --rhs b.mtx
# runs the peer on it and prints a table (and the peer's JSON lines with
# --json). Where the CLI cannot generate diffusion grids yet, it falls back
# to perf/peers/laplace2d.py, the constant-coefficient 5-point Laplacian
# with b = ones, and says so.
#
#   perf/bench_amg.sh [--sizes "100 300 500 700"] [--seed 1000000] [--tol 1e-6]
#       [--ones] [--relax gs|sgs] [--repeat 1] [--factormer build/factormer]
#       [--data build-peers/data] [--json FILE]
#
# --seed: the matrix of grid g is drawn from this seed (the default, 1 000 000,
# is the first seed of the test set, as `factormer bench solve --set
# diffusion` draws them). b is the generator's (U(0,1)) unless --ones.
# --repeat R runs the peer R times per grid and reports the run with the
# median total time. The peer runs on one MPI rank without mpirun; Debian's
# hypre has no OpenMP, so it uses one thread whatever the machine has.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes="100 300 500 700"
seed=1000000
tol=1e-6
ones=0
relax=gs
repeat=1
factormer="$root/build/factormer"
data="$root/build-peers/data"
json=""

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --sizes) sizes="$2"; shift 2 ;;
    --seed) seed="$2"; shift 2 ;;
    --tol) tol="$2"; shift 2 ;;
    --ones) ones=1; shift ;;
    --relax) relax="$2"; shift 2 ;;
    --repeat) repeat="$2"; shift 2 ;;
    --factormer) factormer="$2"; shift 2 ;;
    --data) data="$2"; shift 2 ;;
    --json) json="$2"; shift 2 ;;
    -h|--help) usage ;;
    *) echo "bench_amg: unknown argument $1" >&2; usage ;;
  esac
done
case "$repeat" in ''|*[!0-9]*|0) echo "bench_amg: --repeat must be a positive integer" >&2; exit 2 ;; esac

# Open MPI refuses root without these; one rank, no mpirun (singleton init).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=1

peer="$root/build-peers/amg_pcg"
if [ ! -x "$peer" ] || [ "$root/perf/peers/amg_pcg.c" -nt "$peer" ]; then
  "$root/perf/peers/build.sh" >&2
fi
mkdir -p "$data"

# Does this build's CLI generate diffusion grids?
use_cli=0
if [ -x "$factormer" ] && "$factormer" generate --spd diffusion --size 8 --seed 1 "$data/.probe.mtx" \
     --rhs "$data/.probe_b.mtx" >/dev/null 2>&1; then
  use_cli=1
fi
rm -f "$data/.probe.mtx" "$data/.probe_b.mtx"
if [ "$use_cli" -eq 1 ]; then
  echo "bench_amg: matrices from $factormer generate --spd diffusion --seed $seed" >&2
else
  echo "bench_amg: $factormer has no 'generate --spd diffusion' yet: using perf/peers/laplace2d.py" \
       "(constant-coefficient 5-point Laplacian, b = ones)" >&2
fi

[ -n "$json" ] && : >"$json"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
for g in $sizes; do
  case "$g" in ''|*[!0-9]*|0) echo "bench_amg: grid side '$g' is not a positive integer" >&2; exit 2 ;; esac
  rhs_args=()
  if [ "$use_cli" -eq 1 ]; then
    A="$data/diffusion_g${g}_s${seed}.mtx"
    b="$data/diffusion_g${g}_s${seed}_b.mtx"
    if [ ! -s "$A" ] || [ ! -s "$b" ]; then
      nice -n 19 "$factormer" generate --spd diffusion --size "$g" --seed "$seed" "$A" --rhs "$b" >/dev/null
    fi
    [ "$ones" -eq 1 ] || rhs_args=(--rhs "$b")
  else
    A="$data/laplace2d_g${g}.mtx"
    [ -s "$A" ] || nice -n 19 python3 "$root/perf/peers/laplace2d.py" "$g" "$A"
  fi
  runs=()
  for ((k = 0; k < repeat; k++)); do
    set +e
    line=$("$peer" "$A" "${rhs_args[@]}" --tol "$tol" --relax "$relax" | tail -n 1)
    rc=$?
    set -e
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ] || [ -z "$line" ]; then
      echo "bench_amg: amg_pcg failed on $A (status $rc)" >&2; exit 1
    fi
    runs+=("$line")
  done
  # The run with the median total time.
  line=$(printf '%s\n' "${runs[@]}" | python3 -c '
import json, sys
runs = [json.loads(l) for l in sys.stdin if l.strip()]
runs.sort(key=lambda r: r["total_seconds"])
print(json.dumps(runs[(len(runs) - 1) // 2], separators=(",", ":")))')
  [ -n "$json" ] && printf '%s\n' "$line" >>"$json"
  printf '%s\t%s\n' "$g" "$line" >>"$results"
done

python3 - "$results" "$tol" "$repeat" <<'EOF'
import json, sys
path, tol, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
print(f"amg-pcg (hypre BoomerAMG + PCG), tol {tol}, "
      + (f"median total of {repeat} runs" if repeat > 1 else "one run"))
print(f"{'g':>5} {'n':>8} {'nnz':>9} {'iters':>5} {'setup s':>9} {'solve s':>9} {'total s':>9} "
      f"{'true rel res':>12} {'conv':>4} {'thr':>3}")
for row in open(path):
    g, line = row.rstrip("\n").split("\t", 1)
    r = json.loads(line)
    print(f"{g:>5} {r['n']:>8} {r['nnz']:>9} {r['iterations']:>5} {r['setup_seconds']:>9.4f} "
          f"{r['solve_seconds']:>9.4f} {r['total_seconds']:>9.4f} {r['relative_residual']:>12.3e} "
          f"{'yes' if r['converged'] else 'NO':>4} {r['threads']:>3}")
EOF
