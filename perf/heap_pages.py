#!/usr/bin/python3
"""The C library's heap in huge pages or not (docs/implementation.md,
"Memory"): each start's time and 100 ADMM iterations' time, plain NNDSVD and
the learned start, on the real sets, with the program's own setting (the
heap in huge pages, blocks up to 32 MiB from it, up to 128 MiB freed kept at
its top: cli/main.c FM_CLI_TUNABLES), with the heap in huge pages alone
(glibc.malloc.hugetlb=1, the program's setting before 2026-12-06's night:
blocks from 128 KiB up are mappings of their own in 4 KiB pages) and with
4 KiB pages everywhere (glibc.malloc.hugetlb=0). The program keeps tunables
the user set, so each setting is the GLIBC_TUNABLES of its runs.

    /usr/bin/python3 perf/heap_pages.py [--pairs yale32:10,yale64:40,kos_bow:10,jasper_ridge:20]
        [--repeat 5] [--threads 2] [--factormer build/factormer] [--data ../shared/data] [--out /tmp/heap_pages]

Each method runs in a process of its own (eval --methods plain, then
--methods init), so that neither finds the heap the other left; the four
runs of a repeat are interleaved, and each figure is the median of its runs.
"""
import argparse
import os
import statistics
import subprocess

from learned_init_real import traces
from real_sets import sets

SETTINGS = (("the program's", "glibc.malloc.hugetlb=1:glibc.malloc.mmap_threshold=33554432:"
                              "glibc.malloc.trim_threshold=134217728:glibc.malloc.arena_max=1"),
            ("huge-page heap alone", "glibc.malloc.hugetlb=1"), ("4 KiB pages", "glibc.malloc.hugetlb=0"))
METHODS = (("plain", "plain"), ("init", "learned_init"))


def run(a, path, kind, rank, method, tunables):
    """(start's seconds, 100 iterations' seconds) of one eval run."""
    out = os.path.join(a.out, "run")
    subprocess.run([a.factormer, "eval", path, "--rank", str(rank), "--methods", method[0], "--threads",
                    str(a.threads), "--iters", "100", "--no-plots", "--quiet", "--out", out] + kind,
                   check=True, stdout=subprocess.DEVNULL, env=dict(os.environ, GLIBC_TUNABLES=tunables))
    name = os.path.basename(path).split(".")[0]
    trace = traces(os.path.join(out, name + ".traces.csv"))[method[1]]   # (iteration, seconds, rmse) rows
    return trace[0][1], trace[100][1] - trace[0][1]


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pairs", default="yale32:10,yale64:40,kos_bow:10,jasper_ridge:20")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--out", default="/tmp/heap_pages")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    known = {name: (path, kind) for name, path, kind in sets(a.data, None, a.factormer)}
    print("| data | rank | heap | plain: start / 100 iterations | learned: start / 100 iterations "
          "| learned start over plain's |")
    print("|---|---|---|---|---|---|")
    for pair in a.pairs.split(","):
        name, rank = pair.split(":")
        path, kind = known[name]
        times = {(s, m): [] for s, _ in SETTINGS for m, _ in METHODS}
        for _ in range(a.repeat):
            for setting, tunables in SETTINGS:
                for method in METHODS:
                    times[(setting, method[0])].append(run(a, path, kind, int(rank), method, tunables))
        for setting, _ in SETTINGS:
            med = {m: [1e3 * statistics.median(t[i] for t in times[(setting, m)]) for i in (0, 1)] for m, _ in METHODS}
            print("| %s | %s | %s | %.1f / %.1f ms | %.1f / %.1f ms | %+.1f ms |"
                  % (name, rank, setting, med["plain"][0], med["plain"][1], med["init"][0], med["init"][1],
                     med["init"][0] - med["plain"][0]), flush=True)


if __name__ == "__main__":
    main()
