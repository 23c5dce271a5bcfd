#!/usr/bin/python3
"""How close to the answer NMF solvers get, and how soon: factormer against scikit-learn, in one run.

Run with Debian's python3 (python3-sklearn, python3-scipy), after building:

    /usr/bin/python3 perf/nmf_converge.py [--factormer build/factormer] [--data ../shared/data]
        [--cases kos movielens planted planted_noise] [--variant LABEL="FACTORIZE ARGS" ...]

For each case every method runs from nndsvd with 2 threads, and the table
gives the wall time each needs to come within 1%, 0.1% and 0.01% of the best
relative error ||X - WH||_F / ||X||_F that any method reached on that case
(the error over the observed entries for the incomplete kind), and each
method's final relative error; on noise-free planted data also the time to
a relative error of 1e-5. Times include the start (nndsvd) but not reading
the file: factormer's trace counts from after the data is read,
scikit-learn's from the call of fit_transform.

factormer: `factorize --tol 0 --threads 2 --iters N`; the seconds are the
trace's (PREFIX.trace.csv). A trace row's error may come from an expansion
good to 0.05% in RMSE (objective.h), too coarse for the 0.01% column, so each
variant runs twice: once as it runs by default (the times) and once with
--exact-objective (the errors); the iterates of the two runs are the same
(the objective decides nothing with --tol 0), which the script checks on
their final errors.

scikit-learn: NMF(solver="cd", init="nndsvd", tol=0) on float64. Its error
after i iterations is measured without a callback by a chain of warm-started
fits: fit_transform with max_iter = the first checkpoint from nndsvd, then
with init="custom" from the previous W and H for the iterations up to the
next checkpoint (the coordinate descent keeps no other state, so the chain's
iterates are the long run's). The time to checkpoint i is the sum of the
fits' wall times up to it: it includes nndsvd, and each fit's set-up and
final error evaluation (checkpoints 1, 2, ..., 10, then 10% apart: about 70
fits up to 3000 iterations, each costing about one iteration more than the
chain's share of the long run). A time to a level is the first checkpoint's
at or below it, so it can be up to 10% of the iterations late. The errors
are computed outside the timed regions.

MovieLens 100K is the incomplete kind (unstored entries are unknown), which
scikit-learn's NMF does not handle (it treats them as zeros): that case
compares factormer's variants only. Its unregularized fit has no minimizer
to converge to: entries of H for rarely rated movies grow without bound
(1e5-1e9 after 1000 iterations), and every variant's objective is still
falling, in bursts, after 4000 iterations. Which variant is lowest after
1000 depends on the path, so one rank decides little: --movielens-ranks
runs several (measured on the conv branch, rank 5, 8, 10, 12, 15, 20 and the
transposed matrix at 8, 10, 12, 20: the extrapolated default ended lower
than --no-extrapolation on 6 of the 10, by up to 0.6% in relative error,
and higher on 4, by at most 0.12%; rank 10 is one of the 4).

RcppML 1.0 (the issue's third peer) is not measured: Debian packages only
RcppML 0.3.7 (r-cran-rcppml, which would pull R and about 690 packages onto
this machine; R is not installed), and CRAN and PyPI are not reachable here.
"""
import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time

THREADS = "2"
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = THREADS
os.environ.setdefault("OMP_WAIT_POLICY", "passive")  # the same environment for both
# but factormer starts OpenBLAS with one thread itself (cli/main.c: an idle
# OpenBLAS pool thread slows its OpenMP regions); the peers keep THREADS
FACTORMER_ENV = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}

import numpy as np  # noqa: E402
import scipy.io  # noqa: E402
import scipy.sparse  # noqa: E402
import warnings  # noqa: E402
from sklearn.decomposition import NMF  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402

warnings.filterwarnings("ignore", category=ConvergenceWarning)
LEVELS = (1e-2, 1e-3, 1e-4)


def read_trace(path):
    with open(path) as f:
        lines = [line for line in f if not line.startswith("#")]  # comments: the version and command
    header = lines[0].strip().split(",")
    rows = [dict(zip(header, line.strip().split(","))) for line in lines[1:]]
    return [(int(r["iteration"]), float(r["seconds"]), float(r["rmse"])) for r in rows]


def run_factormer(binary, data, out, rank, iters, extra):
    """[(seconds, relative error)] per iteration: the times of a default run, the errors of an exact one."""
    base = [binary, "factorize", data, "--rank", str(rank), "--iters", str(iters), "--tol", "0",
            "--threads", THREADS, "--quiet", *extra]
    subprocess.run(base + ["--out", out], check=True, env=FACTORMER_ENV)
    timed = read_trace(out + ".trace.csv")
    subprocess.run(base + ["--out", out + "_exact", "--exact-objective"], check=True, env=FACTORMER_ENV)
    exact = read_trace(out + "_exact.trace.csv")
    assert len(timed) == len(exact), "the two runs stopped at different iterations"
    # the last row of either run is exact: the same iterates give the same error
    last_timed, last_exact = timed[-1][2], exact[-1][2]
    assert abs(last_timed - last_exact) <= 1e-5 * last_exact + 1e-12, \
        f"the exact run's iterates differ from the timed run's ({last_timed} vs {last_exact})"
    return [(t[1], e[2]) for t, e in zip(timed, exact)]


def relative_error(X, W, H, norm):
    """||X - WH||_F / ||X||_F without forming WH for sparse X."""
    if scipy.sparse.issparse(X):
        cross = float(np.sum((X @ H.T) * W))
        square = float(np.sum((W.T @ W) * (H @ H.T)))
        residual = max(norm * norm - 2 * cross + square, 0.0)
    else:
        residual = float(np.sum((X - W @ H) ** 2))
    return np.sqrt(residual) / norm


def checkpoints(iters):
    """1, 2, ..., 10, then about 10% apart: a time to a level is at most 10% of the iterations late."""
    points, p = [], 1
    while p < iters:
        points.append(p)
        p = max(p + 1, int(p * 1.1))
    return points + [iters]


def run_sklearn(X, rank, iters):
    norm = float(np.sqrt(X.multiply(X).sum())) if scipy.sparse.issparse(X) else float(np.linalg.norm(X))
    trace, elapsed, done, W, H = [], 0.0, 0, None, None
    for point in checkpoints(iters):
        if W is None:
            model = NMF(n_components=rank, init="nndsvd", solver="cd", max_iter=point, tol=0, random_state=0)
            start = time.perf_counter()
            W = model.fit_transform(X)
        else:
            model = NMF(n_components=rank, init="custom", solver="cd", max_iter=point - done, tol=0,
                        random_state=0)
            start = time.perf_counter()
            W = model.fit_transform(X, W=W, H=H)
        elapsed += time.perf_counter() - start
        H = model.components_
        done = point
        trace.append((elapsed, relative_error(X, W, H, norm), point))
    return trace


def data_norm(path, incomplete):
    X = scipy.io.mmread(path)
    if scipy.sparse.issparse(X):
        X = scipy.sparse.csr_matrix(X, dtype=np.float64)
        omega = X.nnz if incomplete else X.shape[0] * X.shape[1]
        return X, float(np.sqrt(X.multiply(X).sum())), omega
    X = np.ascontiguousarray(np.asarray(X, dtype=np.float64))
    return X, float(np.linalg.norm(X)), X.size


def first_within(trace, target):
    for seconds, error in trace:
        if error <= target:
            return seconds
    return None


def fmt(seconds):
    return "never" if seconds is None else f"{seconds:.3f}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    parser.add_argument("--data", default=os.environ.get("FM_DATA", os.path.join(here, "..", "..", "shared", "data")))
    parser.add_argument("--cases", nargs="+", default=["kos", "movielens", "planted", "planted_noise"])
    parser.add_argument("--variant", action="append", default=[], metavar='LABEL="ARGS"',
                        help="a factormer variant: a label and extra factorize arguments (repeatable); "
                             "default: one variant, 'factormer', with none")
    parser.add_argument("--kos-iters", type=int, default=1000)
    parser.add_argument("--movielens-iters", type=int, default=1000)
    parser.add_argument("--movielens-ranks", type=int, nargs="+", default=[10],
                        help="a MovieLens case per rank (default 10): its unregularized fit does not converge within "
                             "a few thousand iterations, and which variant ends lowest changes with the rank")
    parser.add_argument("--planted-iters", type=int, default=3000)
    parser.add_argument("--no-sklearn", action="store_true", help="factormer's variants only")
    args = parser.parse_args()
    variants = [tuple(v.split("=", 1)) if "=" in v else (v, "") for v in args.variant] or [("factormer", "")]

    print(f"factormer {args.factormer}, scikit-learn cd (float64), {THREADS} threads each, nndsvd, tol 0")
    print("times in seconds to come within 1% / 0.1% / 0.01% of the best relative error any method reached")
    with tempfile.TemporaryDirectory(prefix="fm_converge_") as work:
        cases = []
        for name in args.cases:
            if name == "kos":
                path = os.path.join(args.data, "kos_bow.mtx.gz")
                cases.append(("kos_bow", path, 20, ["--kind", "sparse"], False, args.kos_iters))
            elif name == "movielens":
                path = os.path.join(args.data, "movielens100k.mtx.gz")
                for rank in args.movielens_ranks:
                    cases.append(("movielens100k", path, rank, ["--kind", "incomplete"], True, args.movielens_iters))
            elif name in ("planted", "planted_noise"):
                noise = "0.1" if name == "planted_noise" else "0"
                path = os.path.join(work, name + ".mtx")
                subprocess.run([args.factormer, "generate", path, "--rows", "1000", "--cols", "500", "--rank", "10",
                                "--noise", noise, "--seed", "1"], check=True)
                cases.append((f"planted noise {noise}", path, 10, ["--kind", "dense"], False, args.planted_iters))
            else:
                parser.error(f"unknown case {name}")
        for name, path, rank, kind, incomplete, iters in cases:
            if not os.path.exists(path):
                print(f"skipping {name}: {path} not found")
                continue
            X, norm, omega = data_norm(path, incomplete)
            methods = []
            for label, extra in variants:
                wall = time.perf_counter()
                trace = run_factormer(args.factormer, path, os.path.join(work, "fm"), rank, iters,
                                      kind + shlex.split(extra))
                rel = [(s, rmse * np.sqrt(omega) / norm) for s, rmse in trace]
                methods.append((label, rel, len(trace) - 1, time.perf_counter() - wall))
            if not incomplete and not args.no_sklearn:
                wall = time.perf_counter()
                sk = run_sklearn(X, rank, iters)
                methods.append(("scikit-learn cd", [(s, e) for s, e, _ in sk], sk[-1][2],
                                time.perf_counter() - wall))
            best = min(min(e for _, e in trace) for _, trace, _, _ in methods)
            note = " (incomplete kind: factormer's variants only)" if incomplete else ""
            print(f"\n{name}, rank {rank}, {iters} iterations at most{note}; best relative error {best:.6g}")
            print(f"  {'method':<24} {'1%':>8} {'0.1%':>8} {'0.01%':>8} {'final rel. error':>17} "
                  f"{'iters':>6} {'final/best-1':>12} {'to 1e-5':>8}")
            for label, trace, done, _ in methods:
                times = [first_within(trace, best * (1 + level)) for level in LEVELS]
                final = trace[-1][1]
                print(f"  {label:<24} {fmt(times[0]):>8} {fmt(times[1]):>8} {fmt(times[2]):>8} {final:17.6e} "
                      f"{done:>6} {final / best - 1:12.2e} {fmt(first_within(trace, 1e-5)):>8}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
