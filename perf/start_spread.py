#!/usr/bin/python3
"""How far plain ADMM's end moves when only its start moves (issue 19's
fixed-budget figure, docs/factormer-math.md §6): per (real set, rank), the
RMSE after 100 iterations from the nndsvd start of the rule's sketch (7 or 4
power iterations, §3) and from sketches of 2 and 1, the same solver
otherwise. A start that ends above the rule's is what the learned start is
held to on every pair; this measures what plain ADMM's own starts do.

    /usr/bin/python3 perf/start_spread.py [--ranks 5,10,20,40] [--powers 2,1] [--iters 100]
        [--factormer build/factormer] [--data ../shared/data] [--out /tmp/start_spread]

No timing: the RMSEs are deterministic (one thread). movielens100k is fitted
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
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    powers = a.powers.split(",")
    print("| data | rank | the rule's sketch | " + " | ".join("sketch of %s" % q for q in powers) + " |")
    print("|---|---|---|" + "---|" * len(powers))
    above = {q: 0 for q in powers}
    pairs = 0
    for name, path, kind in sets(a.data, None, a.factormer):
        for rank in [int(k) for k in a.ranks.split(",")]:
            if rank > min(shape(path)):
                continue
            final = {}
            for q in ["auto"] + powers:
                out = os.path.join(a.out, "%s_%d_%s" % (name, rank, q))
                subprocess.run([a.factormer, "factorize", path, "--rank", str(rank), "--iters", str(a.iters),
                                "--threads", "1", "--svd-power", q, "--quiet", "--out", out] + kind, check=True)
                final[q] = final_rmse(out + ".trace.csv")
            pairs += 1
            cells = []
            for q in powers:
                change = final[q] / final["auto"] - 1
                above[q] += change > a.above
                cells.append("%.6g (%+.2f%%)" % (final[q], 100 * change))
            print("| %s | %d | %.6g | %s |" % (name, rank, final["auto"], " | ".join(cells)))
    print()
    for q in powers:
        print("sketch of %s: above the rule's end by more than %g on %d of %d pairs" % (q, a.above, above[q], pairs))


if __name__ == "__main__":
    main()
