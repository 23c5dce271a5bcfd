#!/usr/bin/python3
"""Screen: the learned start polished by one exact coordinate sweep before
ADMM, counted in iterations (no clock).

For each (matrix, rank): plain ADMM from its NNDSVD start, 100 iterations;
the learned start written with `factorize --init learned --iters 0`; that
start as written, after one HALS sweep of W (docs §3.1's exact block update
of W, H fixed), and after one of H then W, each continued by 100 ADMM
iterations with `--init-from`. Printed per pair: the network's output
objective over the NNDSVD's it reads, and per start the ADMM iterations to
plain's 20-iteration RMSE and the RMSE after 100 over plain's; then per
start the counts over the pairs and the geometric means per family.

    /usr/bin/python3 perf/start_polish.py --synthetic /tmp/syn2 --draws 3
    /usr/bin/python3 perf/start_polish.py --sets yale32,jasper_ridge --ranks 5,40

The incomplete kind (ratings, movielens100k) is left out: its sweep would
run over the observed entries only, which this screen does not write."""
import argparse
import csv
import math
import os
import subprocess
from collections import defaultdict

import numpy as np
import scipy.io
import scipy.sparse as sp

from real_sets import sets, shape


def factorize(a, args):
    subprocess.run([a.factormer, "factorize"] + args + ["--quiet"], check=True, stdout=subprocess.DEVNULL)


def rmses(prefix):
    with open(prefix + ".trace.csv") as f:
        rows = list(csv.DictReader(line for line in f if not line.startswith("#")))
    return [float(r["rmse"]) for r in rows]


def objective(X, W, H):
    if sp.issparse(X):
        return X.multiply(X).sum() - 2 * np.sum(W * (X @ H.T)) + np.sum((W.T @ W) * (H @ H.T))
    return np.sum((X - W @ H) ** 2)


def sweep(X, W, H, parts):
    """One HALS sweep of each factor in `parts` ("W", or "HW": H first), component by component."""
    W, H = W.copy(), H.copy()
    for part in parts:
        if part == "H":
            G, B = W.T @ W, np.asarray(X.T @ W).T
            for c in range(G.shape[0]):
                if G[c, c] > 0:
                    H[c] = np.maximum(0, H[c] + (B[c] - G[c] @ H) / G[c, c])
        else:
            G, B = H @ H.T, np.asarray(X @ H.T)
            for c in range(G.shape[0]):
                if G[c, c] > 0:
                    W[:, c] = np.maximum(0, W[:, c] + (B[:, c] - W @ G[:, c]) / G[c, c])
    return W, H


STARTS = {"as written": "", "W swept": "W", "H, W swept": "HW"}


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ranks", default="5,10,20,40")
    p.add_argument("--sets", help="only these sets (names, comma-separated)")
    p.add_argument("--synthetic", metavar="DIR", help="the synthetic validation split, generated in DIR")
    p.add_argument("--draws", type=int, default=1)
    p.add_argument("--seed", default="42")
    p.add_argument("--threads", default="2")
    p.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--out", default="/tmp/start_polish")
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    at = lambda name: os.path.join(a.out, name)
    counts = defaultdict(lambda: {"under 20": 0, "above at 100": 0, "iterations": 0, "logs": []})
    families = defaultdict(lambda: defaultdict(list))
    for name, path, kind in sets(a.data, a.synthetic, a.factormer, a.draws):
        if (a.sets and name not in a.sets.split(",")) or "incomplete" in kind:
            continue
        X = scipy.io.mmread(path)
        X = X.tocsr() if sp.issparse(X) else np.asarray(X)
        family = name.rstrip("0123456789") if a.synthetic else name
        for rank in a.ranks.split(","):
            if int(rank) > min(shape(path)):
                continue
            run = [path] + kind + ["--rank", rank, "--tol", "0", "--finish", "none", "--threads", a.threads,
                                   "--seed", a.seed]
            factorize(a, run + ["--iters", "100", "--out", at("plain")])
            plain = rmses(at("plain"))
            factorize(a, run + ["--init", "learned", "--iters", "0", "--out", at("learned")])
            factorize(a, run + ["--iters", "0", "--out", at("nndsvd")])
            W, H = (np.asarray(scipy.io.mmread(at("learned.%s.mtx" % f))) for f in "WH")
            Wn, Hn = (np.asarray(scipy.io.mmread(at("nndsvd.%s.mtx" % f))) for f in "WH")
            cells = []
            for start, parts in STARTS.items():
                W2, H2 = sweep(X, W, H, parts) if parts else (W, H)
                scipy.io.mmwrite(at("start.W.mtx"), W2, precision=17)
                scipy.io.mmwrite(at("start.H.mtx"), H2, precision=17)
                factorize(a, run + ["--init-from", at("start"), "--iters", "100", "--out", at("run")])
                trace = rmses(at("run"))
                its = next((i for i, r in enumerate(trace) if r <= plain[20]), None)
                ratio = trace[100] / plain[100]
                c = counts[start]
                c["under 20"] += its is not None and its < 20
                c["above at 100"] += ratio > 1
                c["iterations"] += its if its is not None else 101
                c["logs"].append(math.log(ratio))
                families[start][family].append(math.log(ratio))
                cells.append("%s %s, %.5f" % (start, its if its is not None else "never", ratio))
            print("%s at %s: output over NNDSVD %.4f | %s" % (name, rank, objective(X, W, H) / objective(X, Wn, Hn),
                                                              " | ".join(cells)), flush=True)
    gmean = lambda logs: math.exp(sum(logs) / len(logs))
    for start, c in counts.items():
        print("%s: %d pairs under 20 iterations, %d above plain at 100, %d iterations in all; at 100 over plain: "
              "geometric mean %.5f, worst %.4f; %s" % (
                  start, c["under 20"], c["above at 100"], c["iterations"], gmean(c["logs"]), math.exp(max(c["logs"])),
                  ", ".join("%s %.4f" % (f, gmean(v)) for f, v in families[start].items())))


if __name__ == "__main__":
    main()
