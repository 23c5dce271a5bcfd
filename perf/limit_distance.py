#!/usr/bin/python3
"""How far plain ADMM's and the learned start's iterates are from the limit,
in the objective and in the reconstruction (no clock).

The limit is plain ADMM after --limit iterations (`factorize --tol 0
--finish none`); for each start (nndsvd, learned) and each iteration t of
--at, `factorize --iters t` writes (W, H) and the script prints the
objective's gap over the limit's, (f − f*) / f*, and the reconstruction's
distance to the limit's, ‖WH − W*H*‖ / ‖W*H*‖. Where both starts end in the
same minimum, an iterate whose objective gap is small for its distance has
its error along flat directions of the objective, which ADMM's iterations
shrink slowly (docs §3, the proximal term's λ / (λ + ρ)): a lead in the
objective that the distance does not share is one the later iterations
take back. Dense data only (X is read whole).

    /usr/bin/python3 perf/limit_distance.py ../shared/data/yale32.mtx.gz --rank 5
"""
import argparse
import os
import subprocess
import tempfile

import numpy as np
import scipy.io
import scipy.sparse as sp


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data")
    p.add_argument("--rank", default="10")
    p.add_argument("--at", default="0,20,50,100", help="iterations at which the iterates are compared")
    p.add_argument("--limit", default="3000", help="plain ADMM's iterations to the limit")
    p.add_argument("--seed", default="42")
    p.add_argument("--threads", default="2")
    p.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    a = p.parse_args()
    X = scipy.io.mmread(a.data)
    X = X.toarray() if sp.issparse(X) else np.asarray(X)
    run = [a.factormer, "factorize", a.data, "--kind", "dense", "--rank", a.rank, "--tol", "0", "--finish", "none",
           "--threads", a.threads, "--seed", a.seed, "--quiet"]
    with tempfile.TemporaryDirectory() as tmp:
        def factors(name, init, iters):
            prefix = os.path.join(tmp, name)
            subprocess.run(run + ["--init", init, "--iters", str(iters), "--out", prefix], check=True,
                           stdout=subprocess.DEVNULL)
            W, H = (np.asarray(scipy.io.mmread("%s.%s.mtx" % (prefix, f))) for f in "WH")
            return W @ H
        limit = factors("limit", "nndsvd", a.limit)
        f_limit = np.sum((X - limit) ** 2)
        print("%s at rank %s: f* = %.6e after %s iterations" % (os.path.basename(a.data), a.rank, f_limit, a.limit))
        print("| iteration | plain: (f − f*)/f* | plain: ‖WH − W*H*‖/‖W*H*‖ | learned: (f − f*)/f* | learned: distance |")
        print("|---|---|---|---|---|")
        for t in a.at.split(","):
            cells = []
            for init in ("nndsvd", "learned"):
                A = factors(init, init, t)
                cells += ["%.3e" % ((np.sum((X - A) ** 2) - f_limit) / f_limit),
                          "%.3e" % (np.linalg.norm(A - limit) / np.linalg.norm(limit))]
            print("| %s | %s |" % (t, " | ".join(cells)), flush=True)


if __name__ == "__main__":
    main()
