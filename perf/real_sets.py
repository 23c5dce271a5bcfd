"""The sets the issue-19 scripts race on: the real sets (read from
../shared/data where they are), each file's name and the options its kind
needs, movielens100k with 10% of its ratings held out; a synthetic
validation split of the training families (docs §7.1) at the real sets'
sizes, written by `factormer generate`, one matrix per family or more draws
of each: the place to choose a setting before the real sets are reported;
and a Matrix Market file's shape."""
import gzip
import os
import subprocess

SETS = [("yale32", ["--kind", "dense"]), ("yale64", ["--kind", "dense"]), ("jasper_ridge", ["--kind", "dense"]),
        ("kos_bow", ["--kind", "sparse"]), ("movielens100k", ["--kind", "incomplete", "--holdout", "0.1"])]

# name, `factormer generate` options, eval options. Seeds 101-107 are none of
# the training's (its matrices are keyed draws of --seed 42) nor the
# validation sets'; counts' level is drawn per seed (107: 5.0% stored).
SYNTHETIC = [
    ("images", ["--family", "images", "--rows", "200", "--cols", "3000", "--rank", "12", "--seed", "101"],
     ["--kind", "dense"]),
    ("spectra", ["--family", "spectra", "--rows", "200", "--cols", "8000", "--rank", "6", "--seed", "102"],
     ["--kind", "dense"]),
    ("counts", ["--family", "counts", "--rows", "2000", "--cols", "4000", "--rank", "20", "--seed", "107"],
     ["--kind", "sparse"]),
    ("ratings", ["--family", "ratings", "--rows", "1000", "--cols", "1600", "--rank", "10", "--density", "0.06",
                 "--seed", "104"], ["--kind", "incomplete", "--holdout", "0.1"]),
    ("exponential", ["--rows", "400", "--cols", "2000", "--rank", "10", "--noise", "0.1", "--seed", "105"],
     ["--kind", "dense"]),
    # (2026-12-07) jasper_ridge's shape, 64 materials: the spectrum that falls slowly past the first few
    # singular values, where the learned start lags at high rank (docs §7.1)
    ("scenes", ["--family", "scenes", "--rows", "198", "--cols", "10000", "--rank", "64", "--seed", "102"],
     ["--kind", "dense"]),
]


def reseeded(generate, draw):
    """`generate` options with the seed moved on by 10·draw (draw 0: as given)."""
    out = list(generate)
    at = out.index("--seed") + 1
    out[at] = str(int(out[at]) + 10 * draw)
    return out


def sets(data, synthetic, factormer, draws=1):
    """(name, path, eval options) of the real sets in `data`, or with
    `synthetic` (a directory) of the synthetic split, generated there when
    missing: `draws` matrices per family, the first SYNTHETIC's, draw d with
    the seeds moved on by 10·d (named family + d: images1, images2, ...)."""
    if not synthetic:
        return [(name, os.path.join(data, name + ".mtx.gz"), kind) for name, kind in SETS]
    os.makedirs(synthetic, exist_ok=True)
    out = []
    for draw in range(draws):
        for name, generate, kind in SYNTHETIC:
            name = name + (str(draw) if draw else "")
            path = os.path.join(synthetic, name + ".mtx")
            if not os.path.exists(path):
                subprocess.run([factormer, "generate", path] + reseeded(generate, draw), check=True,
                               stdout=subprocess.DEVNULL)
            out.append((name, path, kind))
    return out


def shape(path):
    """Rows and columns of a Matrix Market file (gzipped or not), from its size line."""
    with (gzip.open(path, "rt") if path.endswith(".gz") else open(path)) as f:
        for line in f:
            if not line.startswith("%"):
                return [int(v) for v in line.split()[:2]]
