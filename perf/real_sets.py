"""The real sets the issue-19 scripts race on (read from ../shared/data where
they are): each file's name and the options its kind needs, movielens100k
with 10% of its ratings held out, and a Matrix Market file's shape."""
import gzip

SETS = [("yale32", ["--kind", "dense"]), ("yale64", ["--kind", "dense"]), ("jasper_ridge", ["--kind", "dense"]),
        ("kos_bow", ["--kind", "sparse"]), ("movielens100k", ["--kind", "incomplete", "--holdout", "0.1"])]


def shape(path):
    """Rows and columns of a gzipped Matrix Market file, from its size line."""
    with gzip.open(path, "rt") as f:
        for line in f:
            if not line.startswith("%"):
                return [int(v) for v in line.split()[:2]]
