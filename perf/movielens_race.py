#!/usr/bin/python3
"""Learned acceleration with sampling against plain AO-ADMM on MovieLens 100K, in one run.

Run with Debian's python3 after building (issue 5's MovieLens acceptance):

    /usr/bin/python3 perf/movielens_race.py --model MODEL.fmw [--factormer build/factormer]
        [--data ../shared/data] [--seeds 1,2,3,4,5] [--repeats 3] [--threads 1]
        [--sampler uniform] [--fanout 32] [--iters 30] [--no-safeguard] [--curves DIR]

For each seed (the 10% holdout split and the sampler's draws) it factorizes the
incomplete matrix at rank 10 with plain ADMM and with `--accelerate` on the
model, alternately, `--repeats` times each, and reports plain ADMM's best
held-out RMSE (the target: it overfits after that), the wall time each run
takes to first reach it (the median over the repeats), and their ratio.
`--curves DIR` writes both held-out curves (iteration, seconds, rmse,
holdout_rmse) of the last repeat per seed as CSV.
"""
import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile


def factorize(binary, data, out, args, extra):
    cmd = [binary, "factorize", data, "--kind", "incomplete", "--rank", "10", "--holdout", "0.1",
           "--tol", "0", "--iters", str(args.iters), "--threads", str(args.threads), "--quiet",
           "--out", out, *extra]
    subprocess.run(cmd, check=True)
    with open(out + ".trace.csv") as f:
        lines = (line for line in f if not line.startswith("#"))  # comments: the version and command
        return [{k: float(v) if k != "model" else v for k, v in row.items()} for row in csv.DictReader(lines)]


def first_reaching(trace, target):
    """Seconds and iteration of the first row at or below target (to 1e-6 relative: an accelerated run starts
    from the NNDSVD of X / mean scaled back, plain ADMM's start up to rounding), or None."""
    for row in trace:
        if row["holdout_rmse"] <= target * (1 + 1e-6):
            return row["seconds"], int(row["iteration"])
    return None


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    parser.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--sampler", default="uniform")
    parser.add_argument("--fanout", default="32")
    parser.add_argument("--iters", type=int, default=30)
    parser.add_argument("--no-safeguard", action="store_true")
    parser.add_argument("--curves")
    args = parser.parse_args()
    data = os.path.join(args.data, "movielens100k.mtx.gz")
    if not os.path.exists(data):
        sys.exit(f"movielens_race: {data} does not exist (--data names the folder)")
    accel = ["--accelerate", "--model", args.model, "--sampler", args.sampler, "--fanout", args.fanout]
    if args.no_safeguard:
        accel.append("--no-safeguard")
    print(f"MovieLens 100K, rank 10, 10% held out, {args.threads} thread(s); accelerated: {' '.join(accel[1:])}")
    print("seed  plain best held-out (iteration)  plain s  accel best (iteration)  accel s to plain's best  ratio")
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in args.seeds.split(","):
            extra = ["--seed", seed]
            plain_traces, accel_traces = [], []
            for _ in range(args.repeats):
                plain_traces.append(factorize(args.factormer, data, os.path.join(tmp, "plain"), args, extra))
                accel_traces.append(factorize(args.factormer, data, os.path.join(tmp, "accel"), args, extra + accel))
            best = min(plain_traces[0], key=lambda r: r["holdout_rmse"])
            target = best["holdout_rmse"]
            plain_reached = [first_reaching(t, target) for t in plain_traces]
            if not all(plain_reached):
                sys.exit(f"movielens_race: seed {seed}: a plain ADMM repeat missed the first one's best held-out "
                         f"RMSE {target}: the runs are not repeatable (more than one thread?)")
            plain_s = statistics.median(r[0] for r in plain_reached)
            reached = [first_reaching(t, target) for t in accel_traces]
            accel_best = min(accel_traces[0], key=lambda r: r["holdout_rmse"])
            if all(reached):
                accel_s = statistics.median(r[0] for r in reached)
                ratios.append(accel_s / plain_s)
                reach = f"{accel_s:.4f} (iteration {reached[0][1]})  {accel_s / plain_s:.2f}"
            else:
                reach = "never"
            print(f"{seed:>4}  {target:.4f} ({int(best['iteration'])}){'':>19}{plain_s:.4f}   "
                  f"{accel_best['holdout_rmse']:.4f} ({int(accel_best['iteration'])}){'':>11}{reach}")
            if args.curves:
                os.makedirs(args.curves, exist_ok=True)
                for name, trace in (("plain", plain_traces[-1]), ("accelerated", accel_traces[-1])):
                    with open(os.path.join(args.curves, f"movielens-seed{seed}-{name}.csv"), "w") as f:
                        f.write("iteration,seconds,rmse,holdout_rmse\n")
                        for r in trace:
                            f.write(f"{int(r['iteration'])},{r['seconds']:.6f},{r['rmse']:.6f},"
                                    f"{r['holdout_rmse']:.6f}\n")
    if ratios:
        print(f"accelerated / plain wall time to plain's best held-out RMSE: median {statistics.median(ratios):.2f} "
              f"over {len(ratios)} of {len(args.seeds.split(','))} seeds that reach it")


if __name__ == "__main__":
    main()
