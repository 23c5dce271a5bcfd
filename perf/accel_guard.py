#!/usr/bin/python3
"""--accelerate with and without its cost guard against plain ADMM on the real
sets (issue 19, docs/factormer-math.md §6 item 4): the wall time each run takes
to reach plain ADMM's final RMSE (to 1e-6 relative), as a ratio to plain's own.

    /usr/bin/python3 perf/accel_guard.py [--ranks 10] [--iters 100] [--repeat N] [--model PATH]
        [--sampler uniform --fanout 8] [--factormer build/factormer] [--data ../shared/data]
        [--out /tmp/accel_guard]

One thread per run. Without --model, the installed acceleration model of the
rank (accel-rankK.fmw, else the model of any rank, accel.fmw; a rank without
either is an error); --model names one file for every rank, or a pattern with
{rank}. --sampler and --fanout reach the accelerated runs (factorize
--sampler). A rank above the data's smaller side is skipped. The real sets are
read where they are.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess

from real_sets import sets, shape


def run(a, name, path, extra, tag, rank):
    out = os.path.join(a.out, "%s_%s_%d" % (name, tag, rank))
    cmd = [a.factormer, "factorize", path, "--rank", str(rank), "--iters",
           str(a.iters), "--tol", "0", "--threads", "1", "--out", out, "--quiet"] + extra
    subprocess.run(cmd, check=True, env=dict(os.environ, OMP_WAIT_POLICY="passive"))
    summary = json.load(open(out + ".summary.json"))
    trace = list(csv.DictReader(line for line in open(out + ".trace.csv") if not line.startswith("#")))
    return summary, trace


def reached(trace, target):
    return next((float(r["seconds"]) for r in trace if float(r["rmse"]) <= target), None)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ranks", default="10")
    p.add_argument("--model", help="the acceleration model (factorize --model); {rank} is replaced by the rank")
    p.add_argument("--sampler", help="factorize --sampler for the accelerated runs")
    p.add_argument("--fanout", help="factorize --fanout")
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--repeat", type=int, default=1, help="runs of each kind per pair; times are the medians")
    p.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--out", default="/tmp/accel_guard")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    print("| data | rank | a pass, in ADMM iterations of work | --accelerate / plain (steps taken; =: plain's "
          "iterates) | --accel-budget none / plain |")
    print("|---|---|---|---|---|")
    for rank in [int(r) for r in a.ranks.split(",")]:
        learned = []
        if a.model:
            learned += ["--model", a.model.replace("{rank}", str(rank))]
        if a.sampler:
            learned += ["--sampler", a.sampler] + (["--fanout", a.fanout] if a.fanout else [])
        for name, path, extra in sets(a.data, None, a.factormer):
            if rank > min(shape(path)):
                continue
            # the runs of a pair interleaved, --repeat times, their order turned by one each time (no method
            # always after the costly unguarded run); each time to the target is the median of its runs
            configs = (("plain", []), ("guard", ["--accelerate"] + learned),
                       ("none", ["--accelerate", "--accel-budget", "none"] + learned))
            runs = {tag: [] for tag, _ in configs}
            for repeat in range(a.repeat):
                turn = repeat % len(configs)
                for tag, more in configs[turn:] + configs[:turn]:
                    runs[tag].append(run(a, name, path, extra + more, tag, rank))
            final = float(runs["plain"][0][1][-1]["rmse"])
            target = final * (1 + 1e-6)
            times = {tag: [reached(trace, target) for _, trace in got] for tag, got in runs.items()}
            base = statistics.median(times["plain"])
            cells = []
            for tag in ("guard", "none"):
                if None in times[tag]:
                    cells.append("never (%.6g against %.6g)" % (float(runs[tag][0][1][-1]["rmse"]), final))
                else:
                    cells.append("%.2f" % (statistics.median(times[tag]) / base))
            work = runs["guard"][0][0]["accel_pass_iterations"]
            # with no step taken the guarded run is plain ADMM's: its ratio is the clock's noise, and "="
            # says its RMSE after every iteration is plain's to the last digit of the trace
            same = [r["rmse"] for r in runs["guard"][0][1]] == [r["rmse"] for r in runs["plain"][0][1]]
            cells[0] += " (%d%s)" % (runs["guard"][0][0]["accel_steps"], ", =" if same else "")
            print("| %s | %d | %.0f | %s | %s |" % (name, rank, work, cells[0], cells[1]), flush=True)


if __name__ == "__main__":
    main()
