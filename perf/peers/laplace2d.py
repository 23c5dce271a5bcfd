#!/usr/bin/env python3
"""The 5-point -Laplacian on a g x g grid (Dirichlet boundary, unit spacing:
4 on the diagonal, -1 to each grid neighbour), written as a Matrix Market
`coordinate real symmetric` file (the lower triangle). perf/bench_amg.sh
falls back to it when `factormer generate --spd diffusion` is not in the
build: it is the constant-coefficient case (kappa = 1) of the project's
diffusion matrices, not the same matrices.

    perf/peers/laplace2d.py G OUT.mtx
"""
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: laplace2d.py G OUT.mtx")
    try:
        g = int(sys.argv[1])
    except ValueError:
        sys.exit(f"laplace2d.py: the grid side {sys.argv[1]!r} is not an integer")
    if g < 1:
        sys.exit("laplace2d.py: the grid side must be >= 1")
    n = g * g
    nnz = n + 2 * g * (g - 1)  # diagonal, west and south neighbours
    with open(sys.argv[2], "w") as f:
        f.write("%%MatrixMarket matrix coordinate real symmetric\n")
        f.write(f"% 5-point -Laplacian on a {g} x {g} grid (perf/peers/laplace2d.py)\n")
        f.write(f"{n} {n} {nnz}\n")
        lines = []
        for r in range(g):
            for c in range(g):
                i = r * g + c + 1
                if r > 0:
                    lines.append(f"{i} {i - g} -1\n")
                if c > 0:
                    lines.append(f"{i} {i - 1} -1\n")
                lines.append(f"{i} {i} 4\n")
            if len(lines) > 100000:
                f.writelines(lines)
                lines = []
        f.writelines(lines)


if __name__ == "__main__":
    main()
