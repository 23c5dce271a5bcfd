#!/usr/bin/python3
"""factormer's KL loss (--loss kl) against scikit-learn's KL NMF on kos_bow, in one run.

Run with Debian's python3 (python3-sklearn, python3-scipy), after building:

    /usr/bin/python3 perf/nmf_kl.py [--factormer build/factormer] [--data ../shared/data]

scikit-learn: NMF(n_components=20, beta_loss="kullback-leibler", solver="mu",
max_iter=200, tol=0, init=nndsvda) on the sparse float64 matrix, timed with
its initialization (2 threads); its final generalized KL divergence is
computed here from its W and H the way factormer computes its own:
D = Σ_stored x log(x / (WH)) − Σ x + Σ_r (Σ_i W_ir)(Σ_j H_rj), in float64.
factormer: `factorize --loss kl --init nndsvda --tol 0 --threads 2`; the time
it needs to reach scikit-learn's divergence is read off its trace (seconds
since the start of the run, initialization included; neither side counts
reading the file), and the ratio printed.
"""
import argparse
import json
import os
import resource
import subprocess
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


def kl_divergence(X, W, H):
    """D(X‖WH) over the stored entries of the CSR X, plus Σ WH by the sums of the factors, in float64."""
    X = X.tocoo()
    W = np.asarray(W, dtype=np.float64)
    Ht = np.asarray(H, dtype=np.float64).T
    log_term = 0.0
    chunk = 1 << 16
    for start in range(0, X.nnz, chunk):
        rows, cols = X.row[start:start + chunk], X.col[start:start + chunk]
        x = X.data[start:start + chunk].astype(np.float64)
        p = np.einsum("ij,ij->i", W[rows], Ht[cols])
        log_term += float(np.dot(x, np.log(x / p)))
    return log_term - float(X.data.sum()) + float(W.sum(axis=0) @ Ht.sum(axis=0))


def run_factormer(binary, data, out, rank, iters, init):
    cmd = [binary, "factorize", data, "--kind", "sparse", "--loss", "kl", "--init", init, "--rank", str(rank),
           "--iters", str(iters), "--tol", "0", "--threads", THREADS, "--quiet", "--out", out]
    subprocess.run(cmd, check=True, env=FACTORMER_ENV)
    with open(out + ".trace.csv") as f:
        lines = [line for line in f if not line.startswith("#")]
    header = lines[0].strip().split(",")
    rows = [dict(zip(header, line.strip().split(","))) for line in lines[1:]]
    with open(out + ".summary.json") as f:
        summary = json.load(f)
    return [(int(r["iteration"]), float(r["seconds"]), float(r["objective"])) for r in rows], summary, " ".join(cmd)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    parser.add_argument("--data", default=os.environ.get("FM_DATA", os.path.join(here, "..", "..", "shared", "data")))
    parser.add_argument("--rank", type=int, default=20)
    parser.add_argument("--sklearn-iters", type=int, default=200)
    parser.add_argument("--iters", type=int, default=400, help="factormer's iterations at most")
    parser.add_argument("--init", default="nndsvda", help="both sides' initialization (nndsvda, nndsvd, random)")
    parser.add_argument("--json", help="write the figures as JSON here")
    args = parser.parse_args()

    path = os.path.join(args.data, "kos_bow.mtx.gz")
    X = scipy.sparse.csr_matrix(scipy.io.mmread(path), dtype=np.float64)
    print(f"kos_bow: {X.shape[0]} x {X.shape[1]}, {X.nnz} stored entries; rank {args.rank}, init {args.init}, "
          f"{THREADS} threads each")

    model = NMF(n_components=args.rank, beta_loss="kullback-leibler", solver="mu", max_iter=args.sklearn_iters,
                tol=0, init=args.init, random_state=0)
    start, cpu_start = time.perf_counter(), time.process_time()
    W = model.fit_transform(X)
    sk_seconds, sk_cpu = time.perf_counter() - start, time.process_time() - cpu_start
    sk_div = kl_divergence(X, W, model.components_)
    # scikit-learn's own figure: reconstruction_err_ = sqrt(2 · D)
    sk_own = 0.5 * model.reconstruction_err_ ** 2
    print(f"scikit-learn mu, {model.n_iter_} iterations: {sk_seconds:.2f} s "
          f"({1e3 * sk_seconds / model.n_iter_:.1f} ms per iteration, init included; {sk_cpu:.2f} CPU s); "
          f"divergence {sk_div:.8g} (its own reconstruction_err_²/2: {sk_own:.8g})")

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory(prefix="fm_kl_") as work:
        trace, summary, cmd = run_factormer(args.factormer, path, os.path.join(work, "kos"), args.rank, args.iters,
                                            args.init)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    fm_cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    print(f"factormer: {cmd}")
    reach = next(((it, s) for it, s, f in trace if f <= sk_div), None)
    last_it, last_s, last_f = trace[-1]
    per_iter = (last_s - summary["init_seconds"]) / max(last_it, 1)
    print(f"factormer, {last_it} iterations: {last_s:.2f} s ({1e3 * per_iter:.2f} ms per iteration, init "
          f"{summary['init_seconds']:.3f} s; {fm_cpu:.2f} CPU s, reading the file included); final divergence "
          f"{last_f:.8g}")
    print("(wall times on a shared machine: the CPU seconds say how much of them each side ran)")
    at_200 = next((f for it, s, f in trace if it == args.sklearn_iters), None)
    if at_200 is not None:
        print(f"factormer's divergence after {args.sklearn_iters} iterations: {at_200:.8g} "
              f"({100 * (at_200 / sk_div - 1):+.3f}% against scikit-learn's)")
    result = {"sklearn_seconds": sk_seconds, "sklearn_cpu_seconds": sk_cpu, "factormer_cpu_seconds": fm_cpu, "sklearn_iterations": int(model.n_iter_), "sklearn_divergence": sk_div,
              "factormer_ms_per_iteration": 1e3 * per_iter, "factormer_final_divergence": last_f,
              "factormer_command": cmd, "cpu": summary.get("cpu")}
    if reach is None:
        print(f"factormer did not reach scikit-learn's divergence in {last_it} iterations")
    else:
        it, seconds = reach
        print(f"time to scikit-learn's divergence {sk_div:.8g}: factormer {seconds:.3f} s (iteration {it}), "
              f"scikit-learn {sk_seconds:.2f} s: {sk_seconds / seconds:.1f}x faster")
        result.update({"factormer_seconds_to_sklearn": seconds, "factormer_iterations_to_sklearn": it,
                       "speedup": sk_seconds / seconds})
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
