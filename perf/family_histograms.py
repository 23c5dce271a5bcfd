#!/usr/bin/python3
"""Value histograms of the training families against the real sets (issue 19,
docs/factormer-math.md §7.1), in the manner of the paper's Figure 5.

Each panel puts a family beside the real sets it stands for, and §7's
exponential family beside both: the histogram of x / mean(x) over the stored
entries (what the network reads, §5), density-normalized, 50 bins on [0, 5].
A table of the same matrices' shape statistics is printed (density, the
coefficient of variation, the share above 5x the mean, the share of zeros).
Counts draw their level per matrix: their span over seeds 1-10 is printed too.

    /usr/bin/python3 perf/family_histograms.py [--factormer build/factormer]
        [--data ../shared/data] [--out perf/out/families]

Writes OUT/histograms.png (gnuplot), OUT/histograms.dat and OUT/stats.csv.
The real sets are read where they are, never copied.
"""
import argparse
import gzip
import os
import subprocess
import sys

import numpy as np

PANELS = [  # family, real sets, shape of the generated matrix (rows, cols, rank)
    ("counts", ["kos_bow"], (690, 343, 10)),
    ("images", ["yale32", "yale64"], (1024, 165, 10)),
    ("ratings", ["movielens100k"], (943, 1682, 10)),
    ("spectra", ["jasper_ridge"], (198, 1000, 4)),
    ("scenes", ["jasper_ridge"], (198, 1000, 16)),   # (2026-12-07) many materials: jasper_ridge at high rank
]
BINS = np.linspace(0, 5, 51)


def read_mtx(path):
    """The stored values of a Matrix Market file (array: every entry)."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt") as f:
        header = f.readline().split()
        line = f.readline()
        while line.startswith("%"):
            line = f.readline()
        dims = [int(x) for x in line.split()]
        if header[2] == "array":
            values = np.loadtxt(f, dtype=np.float64, ndmin=1)
        else:
            values = np.loadtxt(f, dtype=np.float64, ndmin=2)[:, 2]
    rows, cols = dims[0], dims[1]
    return values, rows, cols, header[2] == "array"


def stats(name, values, rows, cols, array):
    mean = values.mean()
    scaled = values / mean
    density = len(values) / float(rows * cols) if not array else float(np.count_nonzero(values)) / values.size
    return {
        "matrix": name,
        "rows": rows,
        "cols": cols,
        "density": density,
        "cv": float(scaled.std()),
        "above_5x": float((scaled > 5).mean()),
        "zeros": float((values == 0).mean()),
        "hist": np.histogram(scaled, bins=BINS, density=True)[0],
    }


def generate(factormer, out, family, rows, cols, rank, seed=7):
    path = os.path.join(out, "%s.mtx" % family if seed == 7 else "%s_%d.mtx" % (family, seed))
    if family == "exponential":
        cmd = [factormer, "generate", path, "--rows", str(rows), "--cols", str(cols), "--rank", str(rank),
               "--noise", "0.05", "--seed", str(seed)]
    else:
        cmd = [factormer, "generate", path, "--family", family, "--rows", str(rows), "--cols", str(cols),
               "--rank", str(rank), "--seed", str(seed)]
        if family == "ratings":
            cmd += ["--density", "0.063"]   # movielens100k's
    subprocess.run(cmd, check=True)
    return path


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    parser.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    parser.add_argument("--out", default=os.path.join(here, "out", "families"))
    a = parser.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rows_out = []
    columns = []   # (title, histogram) per curve, panel by panel
    for family, reals, (rows, cols, rank) in PANELS:
        curves = []
        for real in reals:
            path = os.path.join(a.data, real + ".mtx.gz")
            if not os.path.exists(path):
                print("skipping %s: %s not found" % (real, path), file=sys.stderr)
                continue
            s = stats(real, *read_mtx(path))
            rows_out.append(s)
            curves.append((real, s["hist"]))
        for name in (family, "exponential"):
            g = generate(a.factormer, a.out, name, rows, cols, rank)
            s = stats("%s (%dx%d, rank %d)" % (name, rows, cols, rank), *read_mtx(g))
            rows_out.append(s)
            curves.append((name, s["hist"]))
        columns.append((family, curves))

    with open(os.path.join(a.out, "stats.csv"), "w") as f:
        f.write("matrix,rows,cols,density,cv,above_5x,zeros\n")
        for s in rows_out:
            f.write('"%s",%d,%d,%.4g,%.4g,%.4g,%.4g\n' % (s["matrix"], s["rows"], s["cols"], s["density"], s["cv"],
                                                       s["above_5x"], s["zeros"]))
    print("%-36s %8s %8s %8s %8s %8s" % ("matrix", "density", "cv", ">5x", "zeros", "shape"))
    for s in rows_out:
        print("%-36s %8.4f %8.3f %8.4f %8.4f %dx%d" % (s["matrix"], s["density"], s["cv"], s["above_5x"], s["zeros"],
                                                     s["rows"], s["cols"]))

    # counts draw their level per matrix: the span of a family, not one draw
    rows, cols, rank = PANELS[0][2]
    spread = [stats("counts", *read_mtx(generate(a.factormer, a.out, "counts", rows, cols, rank, seed)))
              for seed in range(1, 11)]
    for key in ("density", "cv", "above_5x"):
        v = sorted(s[key] for s in spread)
        print("counts (%dx%d, rank %d), seeds 1-10: %s %.4g / %.4g / %.4g (least / median / most)" %
              (rows, cols, rank, key, v[0], 0.5 * (v[4] + v[5]), v[-1]))

    centres = 0.5 * (BINS[1:] + BINS[:-1])
    dat = os.path.join(a.out, "histograms.dat")
    script = ["set terminal png size 2100,1000", "set termoption noenhanced",
              "set output '%s'" % os.path.join(a.out, "histograms.png"),
              "set multiplot layout 2,3 title 'x / mean(x) over the stored entries: training families against the "
              "real sets'", "set xlabel 'x / mean'", "set ylabel 'density'", "set logscale y",
              "set yrange [1e-3:*]", "set key top right"]
    with open(dat, "w") as f:
        for p, (family, curves) in enumerate(columns):
            for c, (name, hist) in enumerate(curves):
                f.write("# %s: %s\n" % (family, name))
                for x, y in zip(centres, hist):
                    f.write("%.4f %.6g\n" % (x, y if y > 0 else 1e-9))
                f.write("\n\n")
    block = 0
    for family, curves in columns:
        plots = []
        for name, _ in curves:
            plots.append("'%s' index %d with steps lw 2 title '%s'" % (dat, block, name))
            block += 1
        script.append("set title '%s'" % family)
        script.append("plot " + ", ".join(plots))
    script.append("unset multiplot")
    subprocess.run(["gnuplot"], input="\n".join(script), text=True, check=True)
    print("wrote %s" % os.path.join(a.out, "histograms.png"))


if __name__ == "__main__":
    main()
