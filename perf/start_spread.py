#!/usr/bin/python3
"""How far plain ADMM's end moves when only its start moves (issue 19's
fixed-budget figure, docs/factormer-math.md §6): per (real set, rank), the
RMSE after 100 iterations from the nndsvd start of the rule's sketch (7 or 4
power iterations, §3) and from sketches of 2 and 1, the same solver
otherwise. A start that ends above the rule's is what the learned start is
held to on every pair; this measures what plain ADMM's own starts do.

Every run is at seed 42, the race's first (the sketch is randomized). With
--seeds N, plain ADMM is also run from the rule's own start at the N seeds
after it (43, 44, ...): the same method, another draw of its sketch. The
column gives those ends' range relative to seed 42's and how many of the N
end above it at all (the figure's "no worse") and by more than --above:
the bar "no worse than plain's" set for plain ADMM against itself.

    /usr/bin/python3 perf/start_spread.py [--ranks 5,10,20,40] [--powers 2,1] [--seeds N] [--iters 100]
        [--sets yale32,kos_bow] [--finish none|hals]
        [--factormer build/factormer] [--data ../shared/data] [--out /tmp/start_spread]

No timing: the RMSEs are deterministic (one thread, `--tol 0`). The solver is AO-ADMM
to the end, as in the race, unless --finish hals asks for factorize's
default (before 2026-12-07 this script ran that default without saying so). movielens100k is fitted
with 10% of its ratings held out, as in perf/learned_init_real.py, and its
RMSE is over the fitted ratings there too. The real sets are read where
they are.
"""
import argparse
import csv
import os
import subprocess

from real_sets import sets, shape


def final_rmse(path):
    with open(path) as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return float(rows[-1]["rmse"])


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ranks", default="5,10,20,40")
    p.add_argument("--powers", default="2,1", help="the other sketches' power iterations")
    p.add_argument("--iters", type=int, default=100)
    p.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--out", default="/tmp/start_spread")
    p.add_argument("--above", type=float, default=1e-4, help="relative margin counted as above (default 1e-4)")
    p.add_argument("--seeds", type=int, default=0, help="also the rule's start at this many seeds after 42")
    p.add_argument("--sets", help="only these sets (names, comma-separated; default all)")
    p.add_argument("--finish", default="none", choices=["none", "hals"],
                   help="factorize --finish: none (default: AO-ADMM to the end, the solver of learned_init_real.py's "
                   "race) or hals (factorize's own default)")
    a = p.parse_args()
    if a.seeds < 0:
        p.error("--seeds must be at least 0")
    os.makedirs(a.out, exist_ok=True)
    powers = a.powers.split(",") if a.powers else []
    only = set(a.sets.split(",")) if a.sets else None
    columns = ["data", "rank", "the rule's sketch"] + ["sketch of %s" % q for q in powers]
    if a.seeds:
        columns.append("the rule's start at %d other seeds: range, above / by more than %g" % (a.seeds, a.above))
    print("| " + " | ".join(columns) + " |")
    print("|" + "---|" * len(columns))
    above = {q: 0 for q in powers}
    pairs = seeds_above = pairs_any_seed_above = 0
    for name, path, kind in sets(a.data, None, a.factormer):
        if only and name not in only:
            continue
        for rank in [int(k) for k in a.ranks.split(",")]:
            if rank > min(shape(path)):
                continue
            starts = [("auto", ["--svd-power", "auto", "--seed", "42"])]
            starts += [(q, ["--svd-power", q, "--seed", "42"]) for q in powers]
            starts += [("s%d" % s, ["--svd-power", "auto", "--seed", str(s)]) for s in range(43, 43 + a.seeds)]
            final = {}
            for tag, extra in starts:
                out = os.path.join(a.out, "%s_%d_%s" % (name, rank, tag))
                subprocess.run([a.factormer, "factorize", path, "--rank", str(rank), "--iters", str(a.iters),
                                "--threads", "1", "--tol", "0", "--finish", a.finish, "--quiet", "--out", out]
                               + extra + kind, check=True)
                final[tag] = final_rmse(out + ".trace.csv")
            pairs += 1
            cells = []
            for q in powers:
                change = final[q] / final["auto"] - 1
                above[q] += change > a.above
                cells.append("%.6g (%+.2f%%)" % (final[q], 100 * change))
            if a.seeds:
                changes = [final["s%d" % s] / final["auto"] - 1 for s in range(43, 43 + a.seeds)]
                over = sum(c > 0 for c in changes)
                seeds_above += over
                pairs_any_seed_above += over > 0
                cells.append("%+.1e to %+.1e, %d / %d" % (min(changes), max(changes), over,
                                                         sum(c > a.above for c in changes)))
            print("| " + " | ".join([name, str(rank), "%.6g" % final["auto"]] + cells) + " |", flush=True)
    print()
    for q in powers:
        print("sketch of %s: above the rule's end by more than %g on %d of %d pairs" % (q, a.above, above[q], pairs))
    if a.seeds:
        print("the rule's start at other seeds: %d of %d runs end above seed 42's end; on %d of %d pairs at least "
              "one does"
              % (seeds_above, a.seeds * pairs, pairs_any_seed_above, pairs))


if __name__ == "__main__":
    main()
