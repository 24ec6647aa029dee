"""Few clusters through the pipeline: composite coverage and null rejection with a known truth.

The design is tests/data/cluster_sim.py: a suite of 4 clustered 0/1 members (chance 1/2 or
1/4, mu 0.62-0.82, equal weights), each member with G clusters of 5-15 items, beta-binomial
cluster probabilities with ICC rho. Every replication writes lm-eval run folders (results +
samples) and scores them with the public pipeline: ``score_run`` (default ``auto``: the wild
cluster bootstrap-t below 20 clusters, else the pairs cluster bootstrap; and ``analytic``:
CR1 with the Satterthwaite t quantile) and ``compare_runs`` on two exchangeable models
(composite sign-flip p-value and interval; per-task wild cluster bootstrap p).

Usage::

    python bench/validate_clusters_pipeline.py                      # 1000 / 500 reps (~15 min on 2 cores)
    python bench/validate_clusters_pipeline.py --reps 200 --null-reps 100 --G 5 20

Prints Markdown tables for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "data"))

import cluster_sim as cs  # noqa: E402  (the tests' run writer and design)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--null-reps", type=int, default=500)
    ap.add_argument("--G", type=int, nargs="+", default=[5, 10, 20, 50])
    ap.add_argument("--icc", type=float, nargs="+", default=[0.1, 0.33])
    ap.add_argument("--seed", type=int, default=20261201)
    args = ap.parse_args()
    t0 = time.time()
    cov, rej = [], []
    with tempfile.TemporaryDirectory() as d:
        for rho in args.icc:
            for g in args.G:
                seed = args.seed + 1000 * g + int(rho * 100)
                cov.append((rho, g, cs.coverage(Path(d), g, rho, args.reps, seed)))
                rej.append((rho, g, cs.null_rejection(Path(d), g, rho, args.null_reps, seed + 7)))
                print(f"# done ICC {rho} G {g} ({time.time() - t0:.0f} s)", file=sys.stderr, flush=True)
    se_c = math.sqrt(0.95 * 0.05 / args.reps)
    print(
        f"Composite coverage of 95% intervals, truth {cs.truth():.4f} (MC se {se_c:.3f}; {args.reps} reps):\n"
    )
    print("| ICC | G per member | auto path (method) | analytic CR1-t | mean width auto / analytic |")
    print("|---|---|---:|---:|---:|")
    for rho, g, h in cov:
        print(
            f"| {rho} | {g} | {h.bootstrap / h.reps:.3f} ({h.method}) | {h.analytic / h.reps:.3f} | "
            f"{h.width_bootstrap:.3f} / {h.width_analytic:.3f} |"
        )
    se_r = math.sqrt(0.05 * 0.95 / args.null_reps)
    print(f"\nNull rejection at 5% of clustered comparisons (MC se {se_r:.3f}; {args.null_reps} reps):\n")
    print(
        "| ICC | G per member | composite sign-flip p | composite CI excludes 0 (method) | first member's p |"
    )
    print("|---|---|---:|---:|---:|")
    for rho, g, r in rej:
        print(
            f"| {rho} | {g} | {r.composite / r.reps:.3f} | {r.composite_ci / r.reps:.3f} ({r.method}) | "
            f"{r.task / r.reps:.3f} |"
        )
    print(f"\n{time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
