#!/usr/bin/python3
"""The time of each start (NNDSVD and learned) of two builds side by side: a
fresh `factorize --iters 0` process per run, the builds alternating, the
trace's iteration 0 (the start, the data read excluded) and the process's
wall time, medians of --repeat runs, on the real sets of issue 19 with the
options their kinds need (perf/real_sets.py) at the ranks given.

    /usr/bin/python3 perf/start_times.py OLD_FACTORMER NEW_FACTORMER [--ranks 10,40] [--repeat 5]
        [--threads 2] [--data ../shared/data] [--out /tmp/start_times]

A worktree of the old commit built beside this one gives OLD_FACTORMER
(git worktree add /tmp/old REV; cmake -S /tmp/old -B /tmp/old/build; cmake
--build /tmp/old/build --target factormer).
"""
import argparse
import os
import statistics
import subprocess
import time

from learned_init_real import factorize_trace
from real_sets import sets


def start(binary, path, kind, rank, init, a):
    """(the start's seconds, the process's seconds) of one run."""
    out = os.path.join(a.out, "run")
    began = time.perf_counter()
    subprocess.run([binary, "factorize", path, "--rank", str(rank), "--iters", "0", "--tol", "0", "--finish", "none",
                    "--threads", str(a.threads), "--init", init, "--quiet", "--out", out] + kind,
                   check=True, stdout=subprocess.DEVNULL)
    ended = time.perf_counter()
    return factorize_trace(out + ".trace.csv")[0][1], ended - began


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--ranks", default="10,40")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--out", default="/tmp/start_times")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    print("| data | rank | start | start old -> new (ms, trace iteration 0) | process old -> new (ms) |")
    print("|---|---|---|---|---|")
    for name, path, kind in sets(a.data, None, None):
        for rank in (int(r) for r in a.ranks.split(",")):
            for init in ("nndsvd", "learned"):
                runs = {"old": [], "new": []}
                for _ in range(a.repeat):
                    for build in ("old", "new"):
                        runs[build].append(start(getattr(a, build), path, kind, rank, init, a))
                ms = {b: [1000 * statistics.median(r[i] for r in runs[b]) for i in (0, 1)] for b in runs}
                print("| %s | %d | %s | %.1f -> %.1f | %.0f -> %.0f |" % (name, rank, init, ms["old"][0],
                                                                         ms["new"][0], ms["old"][1], ms["new"][1]))


if __name__ == "__main__":
    main()
