#!/usr/bin/python3
"""The learned initialization against plain ADMM on the real sets, at several
ranks (issue 19's acceptance; docs/factormer-math.md §5.1, §6): per (data,
rank), the wall time each takes to plain ADMM's RMSE after 20 and after 100
iterations, network included, the iterations that takes, what the network
costs in ADMM iterations, and each method's RMSE at plain ADMM's own time for
100 iterations (a fixed time budget). A budget is time, not iterations: where
the learned start costs less than plain's (its sketch is rougher) and its
100th iteration comes before the budget, the pair runs again with more
iterations, until the learned run reaches the budget as a run given that time
would. (Before 2026-12-07 the learned run stopped at 100 iterations and its
RMSE there stood for the budget's.) --budget N sets the budget at plain's
time for N iterations instead: a start can lead at one budget and lag at
another.

    /usr/bin/python3 perf/learned_init_real.py [--ranks 5,10,20,40] [--model PATH]
        [--sets yale32,jasper_ridge] [--sampler uniform --fanout 8] [--threads 2] [--repeat 1] [--seeds 1]
        [--finish none|hals] [--runner factorize|eval]
        [--factormer build/factormer] [--data ../shared/data] [--out /tmp/learned_init_real]

Each method of a pair is one `factormer factorize DATA --rank K --init
nndsvd|learned --tol 0 --finish none` in a process of its own, as a user
runs it: the times are the trace's, from the solver's start, and the
learned run's include reading its model and touching its network's memory
for the first time in the process. With --runner eval (the protocol until
2026-12-07's evening) each pair is one `factormer eval DATA --rank K
--methods plain,init --charge-load` instead: both methods in one process,
plain first, on the data divided by its mean, the learned run after plain's
has warmed the process (its heap, the libraries' first calls), the model's
read counted since that afternoon. The RMSEs are those of the same method
either way, up to float rounding (factorize's of the data as it is, eval's
of the data over its mean). With --repeat N each pair runs N
times, plain and learned alternating, and every iteration's time is the
median over the runs (the RMSEs are the same in every run). Without --model, the program takes the
installed model of any rank (init.fmw, else the rank's own, init-rankK.fmw);
--model may name one file for every rank, or a pattern with {rank}.
With --sampler the network reads samples of the graph (--sampler; plain
ADMM is unaffected). A rank above the data's smaller side is skipped.
movielens100k is fitted with 10% of its ratings held out (--holdout 0.1,
as issue 19 asks). The real sets are read where they are.

With --rtol R the summary adds the same counts with the learned run taken to
have reached plain's RMSE e once within e(1 + R): where plain ADMM has
converged by iteration 20 (kos_bow at ranks 5 and 10), the strict count is
decided in the seventh digit, by which of two equally good minima a run finds.
The table stays strict.

With --iters N (above 100) each run goes on to N iterations and the table
adds both methods' RMSE after N: whether a start that is behind at plain's
time for 100 is in a worse minimum or on a slower approach to a better one.

With --seeds N each pair runs at N seeds (eval --seed 42, 43, ...: the
randomized SVD behind both starts and, for movielens100k, the held-out
ratings), --repeat times each. Plain ADMM's own start is random, and where
ADMM is far from converged after 100 iterations (the faces at ranks 20 and
40) a new seed moves plain's RMSE at the budget by tenths of a percent: the
same order as the learned start's lead or lag. A line per pair then gives
the learned RMSE at the budget over plain's at the same seed (the median over
the seeds and its range; a ratio within 5e-6 of 1, as on the converged
pairs, with its difference from 1), how far plain's own RMSE spreads over the seeds,
and the seeds at which the learned start is below and at which it is faster to
plain's 20-iteration RMSE; the summary counts the pairs whose median ratio
is above 1 and those where even the best seed is, and at each seed the
pairs faster at 20. The table and the counts above it are those of the
first seed (42).

With --finish hals both starts are followed by factorize's default solver,
exact updates from the first iteration (but on movielens100k, incomplete,
whose exact phase starts once ADMM slows, and after the learned start,
which ADMM leads until an iteration gains less than 30%: docs §3.1),
instead of AO-ADMM throughout:
the race a user of `factorize` runs. "Plain" is then the rule's start and
that solver, and the 20 and 100 iterations are its.

The last line gives, over the pairs, the geometric mean of the learned
start's time to plain's 20-iteration RMSE as a share of plain's, and of its
RMSE at plain's time for 100 iterations as a ratio to plain's, and the
worst pair's ratio: paired, continuous figures for choosing between
candidates that the counts put within a pair or two of each other.
"""
import argparse
import csv
import math
import os
import subprocess
from collections import defaultdict
from statistics import median

from real_sets import sets, shape

FIRST_SEED = 42   # eval's default seed, the training's: the table's runs


def traces(path):
    runs = defaultdict(list)
    for r in csv.DictReader(open(path)):
        runs[r["method"]].append((int(r["iteration"]), float(r["seconds"]), float(r["rmse"])))
    return runs


def median_traces(paths):
    """Per method, each iteration's median seconds over the runs' traces."""
    runs = [traces(p) for p in paths]
    return {method: median_rows([r[method] for r in runs]) for method in runs[0]}


def reach(trace, target):
    return next(((i, s) for i, s, e in trace if e <= target), (None, None))


def at_time(trace, budget):
    return min((e for i, s, e in trace if s <= budget), default=None)


needed = {}   # per (name, rank): the iterations its last seed's runs needed to span the budget


def race(a, name, path, kind, rank, seed):
    """One pair at one seed: per method, its trace with each iteration's median seconds over --repeat runs,
    both runs at least --iters and --budget long and the learned one at least to plain's time for --budget
    iterations. A pair's next seed starts at the length its last one needed (the start's cost is the
    pair's), so most pairs run once per seed."""
    iters = needed.get((name, rank), max(a.iters, a.budget))
    for _ in range(8):
        runs = race_for(a, name, path, kind, rank, seed, iters)
        plain, learned = runs["plain"], runs["learned_init"]
        budget = plain[a.budget][1]
        if learned[-1][1] >= budget:
            needed[(name, rank)] = iters
            return runs
        per_iteration = (learned[-1][1] - learned[0][1]) / (len(learned) - 1)
        iters = max(iters + 10, int(1.2 * (budget - learned[0][1]) / per_iteration) + 10)
    raise RuntimeError("%s at rank %d: the learned run never reached plain's time for %d iterations"
                       % (name, rank, a.budget))


def factorize_trace(path):
    """(iteration, seconds, rmse) rows of a factorize trace file."""
    with open(path) as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        return [(int(r["iteration"]), float(r["seconds"]), float(r["rmse"])) for r in rows]


def median_rows(runs):
    """One method's runs (lists of (iteration, seconds, rmse)): each iteration's median seconds."""
    return [(row[0][0], sorted(x[1] for x in row)[len(row) // 2], row[0][2]) for row in zip(*runs)]


def sampling(a):
    """--sampler and --fanout as given: what the network reads (plain ADMM reads nothing)."""
    return ["--sampler", a.sampler] + (["--fanout", a.fanout] if a.fanout else []) if a.sampler else []


def race_for(a, name, path, kind, rank, seed, iters):
    """race's runs at `iters` iterations each."""
    if a.runner == "factorize":
        return race_factorize(a, name, path, kind, rank, seed, iters)
    outs = []
    for run in range(a.repeat):
        out = os.path.join(a.out, "%s_%d" % (name, rank) + ("_%d" % run if a.repeat > 1 else "")
                           + ("_s%d" % seed if seed != FIRST_SEED else ""))
        cmd = [a.factormer, "eval", path, "--rank", str(rank), "--methods", "plain,init", "--charge-load",
               "--threads", str(a.threads), "--iters", str(iters), "--seed", str(seed), "--no-plots", "--quiet",
               "--out", out] + kind
        if a.model:
            cmd += ["--init-model", a.model.replace("{rank}", str(rank))]
        if a.svd_power:
            cmd += ["--svd-power", a.svd_power]
        if a.finish:
            cmd += ["--finish", a.finish]
        cmd += sampling(a)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        outs.append(os.path.join(out, os.path.basename(path).split(".")[0] + ".traces.csv"))
    return median_traces(outs)


def race_factorize(a, name, path, kind, rank, seed, iters):
    """race_for with each method a factorize run of its own, as a user runs it: the data read and the model
    read in a fresh process, the learned start's memory its own. Plain and learned runs alternate. The RMSE is
    of the data as it is (eval's is of the data over its mean: the same runs up to float rounding)."""
    runs = {"plain": [], "learned_init": []}
    model = ["--model", a.model.replace("{rank}", str(rank))] if a.model else []
    for run in range(a.repeat):
        for method, start in (("plain", ["--init", "nndsvd"]), ("learned_init", ["--init", "learned"] + model
                                                                   + sampling(a))):
            out = os.path.join(a.out, "%s_%d_%s_%d_s%d" % (name, rank, method, run, seed))
            cmd = [a.factormer, "factorize", path, "--rank", str(rank), "--iters", str(iters), "--tol", "0",
                   "--finish", a.finish or "none", "--threads", str(a.threads), "--seed", str(seed), "--quiet",
                   "--out", out] + start + kind + (["--svd-power", a.svd_power] if a.svd_power else [])
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            runs[method].append(factorize_trace(out + ".trace.csv"))
    return {method: median_rows(r) for method, r in runs.items()}


def budget_rmses(runs, at):
    """Plain's and the learned start's RMSE at plain's time for `at` iterations (the learned one None when its
    network outlasts it)."""
    plain, learned = runs["plain"], runs["learned_init"]
    budget = plain[at][1]
    return at_time(plain, budget), at_time(learned, budget)


def race_to(runs, at, rtol=0):
    """Plain's time to its own RMSE after `at` iterations, and the learned start's iterations and time to it
    (within a relative rtol; None, None when it never gets there)."""
    target = runs["plain"][at][2]
    _, t_plain = reach(runs["plain"], target)
    its, t_learned = reach(runs["learned_init"], target * (1 + rtol))
    return t_plain, its, t_learned


def faster(t_plain, its, t_learned):
    return its is not None and t_learned < t_plain


def seed_figures(runs, at):
    """One seed's figures for --seeds: the budget RMSEs and whether the learned start reaches plain's
    20-iteration RMSE sooner than plain does."""
    return budget_rmses(runs, at) + (faster(*race_to(runs, 20)),)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--ranks", default="5,10,20,40")
    p.add_argument("--sets", help="race only these sets (names, comma-separated; default all)")
    p.add_argument("--model", help="the initialization model (eval --init-model); {rank} is replaced by the rank")
    p.add_argument("--sampler", help="eval --sampler")
    p.add_argument("--fanout", help="eval --fanout")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="runs per pair; times are the medians")
    p.add_argument("--factormer", default=os.path.join(here, "..", "build", "factormer"))
    p.add_argument("--data", default=os.path.join(here, "..", "..", "shared", "data"))
    p.add_argument("--out", default="/tmp/learned_init_real")
    p.add_argument("--synthetic", metavar="DIR", help="race on the synthetic validation split (real_sets.SYNTHETIC), "
                   "generated in DIR, instead of the real sets")
    p.add_argument("--budget", type=int, default=100, help="the time budget: plain ADMM's time for this many "
                   "iterations (default 100)")
    p.add_argument("--iters", type=int, default=100, help="iterations of each run (at least 100); above 100 the "
                   "table adds each method's RMSE after them")
    p.add_argument("--draws", type=int, default=1, help="with --synthetic: matrices per family (the first draw's "
                   "seeds moved on by 10 each)")
    p.add_argument("--svd-power", help="eval --svd-power (every NNDSVD's power iterations)")
    p.add_argument("--rtol", type=float, default=0, help="also count the learned run as reaching plain's RMSE "
                   "within this relative tolerance (the summary's second line)")
    p.add_argument("--finish", help="--finish: hals races both starts with factorize's default solver "
                   "(exact updates) instead of AO-ADMM to the end")
    p.add_argument("--runner", choices=["factorize", "eval"], default="factorize",
                   help="factorize (default): each method a factorize run in a process of its own, as a user runs "
                   "it; eval: both in one eval process, plain first (the protocol before 2026-12-07's evening)")
    p.add_argument("--seeds", type=int, default=1, help="run each pair at this many seeds (42, 43, ...) and "
                   "report the budget ratio's spread over them (see above)")
    a = p.parse_args()
    if a.seeds < 1:
        p.error("--seeds must be at least 1")
    if a.iters < 100:
        p.error("--iters must be at least 100 (the table's second race is to plain's RMSE after 100)")
    if a.budget < 1:
        p.error("--budget must be at least 1 iteration")
    os.makedirs(a.out, exist_ok=True)
    print("| data | rank | to plain's RMSE at 20: plain / learned (learned's iterations) | at 100 | "
          "network, ADMM iterations | RMSE at plain's time for %d: plain / learned |" % a.budget
          + (" after %d iterations: plain / learned |" % a.iters if a.iters > 100 else ""))
    print("|---|---|---|---|---|---|" + ("---|" if a.iters > 100 else ""))
    faster_20 = faster_100 = below = below_long = pairs = 0
    shares, ratios = [], []   # per pair: learned's time to plain's 20-iteration RMSE / plain's; RMSE at the budget / plain's
    tolerant = [0, 0]   # at 20 and at 100, within --rtol
    seeds = []   # per pair with --seeds: its label and (plain's, the learned start's) RMSE at the budget per seed
    for name, path, kind in sets(a.data, a.synthetic, a.factormer, a.draws):
        if a.sets and name not in a.sets.split(","):
            continue
        for rank in [int(k) for k in a.ranks.split(",")]:
            if rank > min(shape(path)):
                continue
            runs = race(a, name, path, kind, rank, FIRST_SEED)
            plain, learned = runs["plain"], runs["learned_init"]
            per_iteration = (plain[100][1] - plain[0][1]) / 100
            network = (learned[0][1] - plain[0][1]) / per_iteration
            cells = []
            for at in (20, 100):
                t_plain, its, t_learned = race_to(runs, at)
                cells.append("%.1f / %s" % (t_plain * 1e3, "%.1f ms (%d)" % (t_learned * 1e3, its) if its is not None
                                            else "never (%.4g)" % learned[a.iters][2]))
                if at == 20:
                    pairs += 1
                    faster_20 += faster(t_plain, its, t_learned)
                    if its is not None:
                        shares.append(t_learned / t_plain)
                else:
                    faster_100 += faster(t_plain, its, t_learned)
                if a.rtol:
                    tolerant[at == 100] += faster(*race_to(runs, at, a.rtol))
            plain_rmse, rmse = budget_rmses(runs, a.budget)
            if a.seeds > 1:
                per_seed = [seed_figures(runs, a.budget)] + [
                    seed_figures(race(a, name, path, kind, rank, FIRST_SEED + s), a.budget) for s in range(1, a.seeds)]
                seeds.append(("%s at %d" % (name, rank), per_seed))
            below += rmse is not None and rmse < plain_rmse
            if rmse is not None:
                ratios.append((rmse / plain_rmse, "%s at %d" % (name, rank)))
            longer = ""
            if a.iters > 100:   # where each run is after many iterations: a better minimum, or a slower approach
                longer = " %.6g / %.6g |" % (plain[a.iters][2], learned[a.iters][2])
                below_long += learned[a.iters][2] < plain[a.iters][2]
            print("| %s | %d | %s | %s | %.0f | %.6g / %s |%s" % (name, rank, cells[0], cells[1], network,
                                                                 plain_rmse,
                                                                 "%.6g" % rmse if rmse is not None else "none yet",
                                                                 longer))
    print("\nlearned initialization faster to plain's RMSE at 20 on %d of %d pairs, at 100 on %d; below plain's "
          "RMSE at plain's time for %d on %d" % (faster_20, pairs, faster_100, a.budget, below))
    if a.iters > 100:
        print("below plain's RMSE after %d iterations each on %d of %d pairs" % (a.iters, below_long, pairs))
    # paired and continuous, where the counts move by whole pairs: the geometric means over the pairs
    # and the worst pair at the budget (the issue asks it to be at most 1)
    gmean = lambda v: math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")
    worst = max(ratios) if ratios else (float("nan"), "none")
    print("geometric means over the pairs: time to plain's 20-iteration RMSE %.3f of plain's (%d pairs reach it); "
          "RMSE at plain's time for %d %.5f of plain's, the worst pair %.5f (%s)"
          % (gmean(shares), len(shares), a.budget, gmean([r for r, _ in ratios]), worst[0], worst[1]))
    if a.rtol:
        print("within a relative %g of plain's RMSE: faster at 20 on %d of %d pairs, at 100 on %d"
              % (a.rtol, tolerant[0], pairs, tolerant[1]))
    if seeds:
        print_seeds(seeds, a.budget)


def print_seeds(seeds, at):
    """Per pair, the learned start's RMSE at the budget over plain's at the same seed, over the seeds, beside
    the spread of plain's own RMSE, and the seeds at which it is faster to plain's 20-iteration RMSE; then the
    pairs above plain at the median seed and at every seed, and at each seed the pairs faster at 20 (whether
    the first figure's count is the first seed's luck)."""
    n = len(seeds[0][1])
    print("\nover %d seeds: the learned start's RMSE at plain's time for %d over plain's at the same seed, "
          "median [range]; plain's own RMSE over its median, range; seeds with the learned start below; "
          "seeds with it faster to plain's RMSE at 20" % (n, at))
    def ratio(r):   # a ratio that rounds to 1.00000 keeps its sign and size (converged pairs)
        return "%.5f" % r if abs(r - 1) >= 5e-6 or r == 1 else "%.5f (%+.0e)" % (r, r - 1)

    above_median = above_all = 0
    for label, runs in seeds:
        ratios = [learned / plain if learned is not None else float("inf") for plain, learned, _ in runs]
        plains = [plain for plain, _, _ in runs]
        m = median(ratios)
        above_median += m > 1
        above_all += min(ratios) > 1
        print("  %s: %s [%s, %s]; plain %+.3f%% .. %+.3f%%; below at %d of %d; faster at %d" % (
            label, ratio(m), ratio(min(ratios)), ratio(max(ratios)), 100 * (min(plains) / median(plains) - 1),
            100 * (max(plains) / median(plains) - 1), sum(r < 1 for r in ratios), n,
            sum(quick for _, _, quick in runs)))
    print("above plain at the median seed on %d of %d pairs, at every seed on %d" % (above_median, len(seeds),
                                                                                    above_all))
    print("faster to plain's RMSE at 20, pairs of %d, at seeds %s: %s" % (
        len(seeds), ", ".join(str(FIRST_SEED + s) for s in range(n)),
        ", ".join(str(sum(runs[s][2] for _, runs in seeds)) for s in range(n))))


if __name__ == "__main__":
    main()
