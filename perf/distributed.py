#!/usr/bin/python3
"""Distributed AO-ADMM (docs/factormer-math.md §11) against the single-process run.

Two measurements, each run side by side in one invocation:

  scale   a large matrix (default 1,000,000 x 100,000 with 50M entries,
          generated once with `factormer generate --entries`): the
          single-process run and `mpirun -np P ... --distributed` for each P,
          one thread per process, for the incomplete and the sparse kind:
          time per iteration, setup (reading and building) and peak resident
          memory per process, as ratios to the single-process run.
  volume  the bytes each process really sends per iteration, counted by
          Open MPI's monitoring components (pml_monitoring: every message,
          collectives included), against §11.3's model, at P = 2, 3, 4: runs of
          A and B iterations, their difference over B - A (reading and setup
          cancel).

Needs a build with -DFM_MPI=ON (default build-mpi/factormer). Example:
  /usr/bin/python3 perf/distributed.py scale --processes 1,2
  /usr/bin/python3 perf/distributed.py volume --processes 2,3,4
  /usr/bin/python3 perf/distributed.py volume --grids 2x1,1x2,2x2,4x1,1x4
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMP_NUM_THREADS="1", OMP_WAIT_POLICY="passive")


def run(cmd, **kw):
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if done.returncode:
        sys.exit("failed (%d): %s\n%s" % (done.returncode, " ".join(cmd), done.stderr[-2000:]))
    return time.perf_counter() - t0, done


def factorize_args(binary, data, kind, rank, iters, out):
    return [binary, "factorize", data, "--kind", kind, "--init", "random", "--finish", "none", "--rank",
            str(rank), "--iters", str(iters), "--tol", "0", "--threads", "1", "--out", out, "--quiet"]


def scale(a, tmp):
    data = a.data or os.path.join(tmp, "big.mtx")
    if not os.path.exists(data):
        print("generating %s: %d x %d, %d entries" % (data, a.rows, a.cols, a.entries), flush=True)
        run([a.binary, "generate", data, "--rows", str(a.rows), "--cols", str(a.cols), "--entries",
             str(a.entries), "--seed", "7"])
    print("data %s (%.2f GB); rank %d, one thread per process" % (data, os.path.getsize(data) / 1e9, a.rank))
    print("%-10s %-9s %8s %10s %10s %12s %12s %10s" % ("kind", "run", "iters", "s/iter", "setup s", "peak MiB",
                                                    "iter ratio", "mem ratio"))
    for kind in a.kinds.split(","):
        iters = a.iters if kind != "incomplete" else max(2, a.iters // 2)
        out = os.path.join(tmp, "single-" + kind)
        wall, done = run(["/usr/bin/time", "-v"] + factorize_args(a.binary, data, kind, a.rank, iters, out))
        peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr).group(1)) / 1024
        s = json.load(open(out + ".summary.json"))
        base_iter, base_peak = s["seconds_per_iteration"], peak
        print("%-10s %-9s %8d %10.3f %10.1f %12.0f %12s %10s" % (kind, "single", iters, base_iter,
                                                               wall - s["seconds"], peak, "1", "1"), flush=True)
        for p in [int(x) for x in a.processes.split(",")]:
            out = os.path.join(tmp, "np%d-%s" % (p, kind))
            wall, _ = run(["mpirun", "--oversubscribe", "-np", str(p)] +
                          factorize_args(a.binary, data, kind, a.rank, iters, out) + ["--distributed"])
            s = json.load(open(out + ".summary.json"))
            d = s["distributed"]
            peak = d["peak_resident_mib"]["most"]
            print("%-10s %-9s %8d %10.3f %10.1f %12.0f %12.3f %10.3f" % (
                kind, "np %d" % p, iters, s["seconds_per_iteration"], wall - s["seconds"], peak,
                s["seconds_per_iteration"] / base_iter, peak / base_peak), flush=True)


def monitored_bytes(prefix):
    """Bytes each process sent, from pml_monitoring's files (point to point: every message)."""
    sent = {}
    for path in glob.glob(prefix + "*"):
        for line in open(path):
            m = re.match(r"I\s+(\d+)\s+(\d+)\s+(\d+) bytes", line)
            if m:
                sent[int(m.group(1))] = sent.get(int(m.group(1)), 0) + int(m.group(3))
    return sent


def volume(a, tmp):
    data = os.path.join(tmp, "volume.mtx")
    run([a.binary, "generate", data, "--rows", str(a.vrows), "--cols", str(a.vcols), "--rank", "5", "--density",
         "0.05", "--seed", "3"])
    n, k = a.vcols, a.rank
    print("data %d x %d, 5%% stored; rank %d; bytes per iteration per process, runs of %d and %d iterations" %
          (a.vrows, n, k, a.short, a.long))
    print("%-10s %3s %14s %14s %14s %8s" % ("kind", "P", "sent (most)", "sent (least)", "model", "most/model"))
    if a.grids:   # the 2-D layout (§11.4): sparse, random start; blocks cut by entries, about m/pr x n/pc
        m = a.vrows
        for grid in a.grids.split(","):
            pr, pc = (int(x) for x in grid.split("x"))
            p = pr * pc
            counts = []
            for iters in (a.short, a.long):
                prefix = os.path.join(tmp, "mon-grid-%s-%d" % (grid, iters))
                run(["mpirun", "--oversubscribe", "-np", str(p), "--mca", "pml_monitoring_enable", "2",
                     "--mca", "pml_monitoring_enable_output", "3", "--mca", "pml_monitoring_filename", prefix] +
                    factorize_args(a.binary, data, "sparse", k, iters, prefix + "-out") +
                    ["--distributed", "--grid", grid, "--init", "random"])
                counts.append(monitored_bytes(prefix))
            per = [(counts[1][q] - counts[0][q]) / (a.long - a.short) for q in range(p)]
            # a reduce-scatter and an allgather of n/pc x k floats in each grid column, of m/pr x k in each row
            model = 8 * k * ((pr - 1) / pr * n / pc + (pc - 1) / pc * m / pr)
            print("%-10s %3s %14.0f %14.0f %14.0f %8.3f" % ("sparse", grid, max(per), min(per), model,
                                                           max(per) / model), flush=True)
        return
    for kind in a.kinds.split(","):
        width = k + k * (k + 1) // 2 if kind == "incomplete" else k
        for p in [int(x) for x in a.processes.split(",")]:
            counts = []
            for iters in (a.short, a.long):
                prefix = os.path.join(tmp, "mon-%s-%d-%d" % (kind, p, iters))
                run(["mpirun", "--oversubscribe", "-np", str(p), "--mca", "pml_monitoring_enable", "2",
                     "--mca", "pml_monitoring_enable_output", "3", "--mca", "pml_monitoring_filename", prefix] +
                    factorize_args(a.binary, data, kind, k, iters, prefix + "-out") + ["--distributed"])
                counts.append(monitored_bytes(prefix))
            per = [(counts[1][q] - counts[0][q]) / (a.long - a.short) for q in range(p)]
            # §11.3: a ring reduce-scatter and allgather each send (P-1)/P of their arrays; the
            # reductions' few k x k and scalar messages are left out of the model
            model = (p - 1) / p * 4 * n * (width + k)
            print("%-10s %3d %14.0f %14.0f %14.0f %8.3f" % (kind, p, max(per), min(per), model, max(per) / model),
                  flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["scale", "volume"])
    ap.add_argument("--binary", default=os.path.join(ROOT, "build-mpi", "factormer"))
    ap.add_argument("--data", help="scale: an existing Matrix Market file instead of the generated one")
    ap.add_argument("--rows", type=int, default=1000000)
    ap.add_argument("--cols", type=int, default=100000)
    ap.add_argument("--entries", type=int, default=50000000)
    ap.add_argument("--vrows", type=int, default=20000)
    ap.add_argument("--vcols", type=int, default=5000)
    ap.add_argument("--kinds", default="incomplete,sparse")
    ap.add_argument("--processes", default="1,2")
    ap.add_argument("--grids", help="volume: grids PRxPC (comma separated) instead of 1-D on --processes")
    ap.add_argument("--rank", type=int, default=10)
    ap.add_argument("--iters", type=int, default=10)
    ap.add_argument("--short", type=int, default=5)
    ap.add_argument("--long", type=int, default=15)
    ap.add_argument("--keep", help="a directory for the files (default: a temporary one, removed)")
    a = ap.parse_args()
    if not os.access(a.binary, os.X_OK):
        sys.exit("%s: not found; build with cmake -S . -B build-mpi -DFM_MPI=ON" % a.binary)
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
        (scale if a.what == "scale" else volume)(a, a.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            (scale if a.what == "scale" else volume)(a, tmp)


if __name__ == "__main__":
    main()
