"""Validate small-cluster inference (lm_eval_mtl/stats/clusters.py) by simulation with a known truth.

Data: G clusters of 0/1 items, cluster sizes uniform on 5..15; cluster probabilities
p_g ~ Beta(mu (1/rho - 1), (1 - mu)(1/rho - 1)) (beta-binomial: the items' intra-cluster
correlation is exactly rho), mu = 0.7. Truth: mu.

1. Coverage of 95% intervals for the mean: normal CR1 (what the tools print today), the pairs
   cluster bootstrap percentile (B = 999), CR1-t (G - 1 df), CR2-t (Bell-McCaffrey df), the
   wild cluster bootstrap restricted (WCR, test inversion) and unrestricted (WCU) bootstrap-t,
   auto weights (Webb for G <= 12, Rademacher above; enumerated when <= 2^16 patterns).
2. Null rejection at 5% of the paired test of mean(a - b) = 0: models A and B with independent
   cluster probabilities from the same beta (exchangeable; the differences have ICC rho):
   normal CR1, CR1-t, the wild cluster bootstrap-t (WCR), and the clustered sign-flip test
   (lm_eval_mtl.stats.permutation).
3. Composite of two tasks (G = 5 and G = 50 clusters, weights 0.5/0.5, then 0.9/0.1): coverage
   of normal, Satterthwaite-t and min(G)-1 t intervals.

Usage::

    python bench/validate_clusters.py                 # 400 replications (about 5 min on 2 cores)
    python bench/validate_clusters.py --reps 200 --G 5 20

Prints Markdown tables for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import math
import time
import warnings

import numpy as np

from lm_eval_mtl.stats.clusters import clustered_t_interval, composite_t_interval, t_critical
from lm_eval_mtl.stats.permutation import paired_sign_flip_test
from lm_eval_mtl.stats.wild import wild_cluster_bootstrap, wild_cluster_paired

MU = 0.7


def clustered_binary(
    gen: np.random.Generator, g: int, rho: float, mu: float = MU
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cluster labels, cluster probabilities, sizes) of a beta-binomial design with ICC rho."""
    sizes = gen.integers(5, 16, size=g)
    k = 1.0 / rho - 1.0
    p = gen.beta(mu * k, (1.0 - mu) * k, size=g)
    labels = np.repeat(np.arange(g), sizes)
    return labels, p, sizes


def draw_items(gen: np.random.Generator, labels: np.ndarray, p: np.ndarray) -> np.ndarray:
    return (gen.random(labels.size) < p[labels]).astype(np.float64)


def pairs_bootstrap_ci(
    gen: np.random.Generator, y: np.ndarray, labels: np.ndarray, b: int = 999
) -> tuple[float, float]:
    g = int(labels.max()) + 1
    sums = np.bincount(labels, weights=y, minlength=g)
    sizes = np.bincount(labels, minlength=g).astype(np.float64)
    idx = gen.integers(0, g, size=(b, g))
    means = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
    lo, hi = np.quantile(means, [0.025, 0.975])
    return float(lo), float(hi)


def coverage_row(g: int, rho: float, reps: int, seed: int) -> dict[str, float]:
    gen = np.random.default_rng(seed)
    hits = {k: 0 for k in ("normal CR1", "pairs bootstrap", "CR1-t", "CR2-t", "wild WCR", "wild WCU")}
    width = {k: 0.0 for k in hits}
    z = t_critical(math.inf)
    for _ in range(reps):
        labels, p, _ = clustered_binary(gen, g, rho)
        y = draw_items(gen, labels, p)
        if np.all(y == y[0]):  # every item equal: no interval has width; count as a miss of every method
            continue
        c1 = clustered_t_interval(y, labels)
        c2 = clustered_t_interval(y, labels, variance="CR2")
        cis = {
            "normal CR1": (c1.estimate - z * c1.se, c1.estimate + z * c1.se),
            "pairs bootstrap": pairs_bootstrap_ci(gen, y, labels),
            "CR1-t": c1.ci,
            "CR2-t": c2.ci,
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a cluster design whose clusters all have the same mean
            cis["wild WCR"] = wild_cluster_bootstrap(y, labels, null=MU, n_resamples=999, rng=gen).ci
            cis["wild WCU"] = wild_cluster_bootstrap(
                y, labels, null=MU, n_resamples=999, rng=gen, interval="unrestricted"
            ).ci
        for k, (lo, hi) in cis.items():
            hits[k] += int(lo <= MU <= hi)
            width[k] += min(hi - lo, 2.0)
    out = {k: hits[k] / reps for k in hits}
    out.update({f"width {k}": width[k] / reps for k in width})
    return out


def null_row(g: int, rho: float, reps: int, seed: int) -> dict[str, float]:
    gen = np.random.default_rng(seed)
    rej = {k: 0 for k in ("normal CR1", "CR1-t", "wild WCR", "sign-flip")}
    from scipy import stats as sps

    for _ in range(reps):
        labels, pa, _ = clustered_binary(gen, g, rho)
        k = 1.0 / rho - 1.0
        pb = gen.beta(MU * k, (1.0 - MU) * k, size=g)
        a = draw_items(gen, labels, pa)
        b = draw_items(gen, labels, pb)
        d = a - b
        if np.all(d == d[0]):
            continue
        c1 = clustered_t_interval(d, labels)
        tstat = c1.estimate / c1.se if c1.se > 0 else 0.0
        rej["normal CR1"] += int(2 * sps.norm.sf(abs(tstat)) <= 0.05)
        rej["CR1-t"] += int(2 * sps.t.sf(abs(tstat), g - 1) <= 0.05)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rej["wild WCR"] += int(
                wild_cluster_paired(a, b, labels, n_resamples=999, rng=gen).p_value <= 0.05
            )
        rej["sign-flip"] += int(
            paired_sign_flip_test(d, clusters=labels, n_resamples=999, rng=gen).p_value <= 0.05
        )
    return {k: v / reps for k, v in rej.items()}


def composite_row(weights: tuple[float, float], reps: int, seed: int, rho: float = 0.33) -> dict[str, float]:
    gen = np.random.default_rng(seed)
    gs = (5, 50)
    hits = {"normal": 0, "Satterthwaite-t": 0, "min(G)-1 t": 0}
    dfs_seen = []
    for _ in range(reps):
        parts = []
        for g in gs:
            labels, p, _ = clustered_binary(gen, g, rho)
            parts.append(clustered_t_interval(draw_items(gen, labels, p), labels))
        est = [x.estimate for x in parts]
        se = [x.se for x in parts]
        comp = composite_t_interval(est, se, [x.df for x in parts], weights)
        dfs_seen.append(comp.df)
        truth = MU * sum(weights)
        z = t_critical(math.inf)
        tmin = t_critical(min(gs) - 1)
        hits["normal"] += int(abs(comp.estimate - truth) <= z * comp.se)
        hits["Satterthwaite-t"] += int(comp.ci.low <= truth <= comp.ci.high)
        hits["min(G)-1 t"] += int(abs(comp.estimate - truth) <= tmin * comp.se)
    out = {k: v / reps for k, v in hits.items()}
    out["median df"] = float(np.median(dfs_seen))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=400)
    ap.add_argument("--G", type=int, nargs="+", default=[3, 4, 5, 10, 20, 50])
    ap.add_argument("--icc", type=float, nargs="+", default=[0.1, 0.33])
    ap.add_argument("--seed", type=int, default=20240615)
    args = ap.parse_args()
    t0 = time.time()
    mse = math.sqrt(0.95 * 0.05 / args.reps)
    print(f"### Coverage of 95% intervals for a clustered mean ({args.reps} replications, MC se {mse:.3f})\n")
    cols = ["normal CR1", "pairs bootstrap", "CR1-t", "CR2-t", "wild WCR", "wild WCU"]
    print("| ICC | G | " + " | ".join(cols) + " | width CR1-t / wild WCR |")
    print("|---|---|" + "---:|" * len(cols) + "---:|")
    for rho in args.icc:
        for g in args.G:
            r = coverage_row(g, rho, args.reps, args.seed + g + int(1000 * rho))
            cells = " | ".join(f"{r[c]:.3f}" for c in cols)
            print(
                f"| {rho:g} | {g} | {cells} | {r['width CR1-t']:.3f} / {r['width wild WCR']:.3f} |",
                flush=True,
            )
    print(
        f"\n### Null rejection at 5% of the paired test ({args.reps} replications, MC se "
        f"{math.sqrt(0.05 * 0.95 / args.reps):.3f})\n"
    )
    cols2 = ["normal CR1", "CR1-t", "wild WCR", "sign-flip"]
    print("| ICC | G | " + " | ".join(cols2) + " |")
    print("|---|---|" + "---:|" * len(cols2))
    for rho in args.icc:
        for g in args.G:
            r = null_row(g, rho, args.reps, args.seed + 7 * g + int(1000 * rho))
            print(f"| {rho:g} | {g} | " + " | ".join(f"{r[c]:.3f}" for c in cols2) + " |", flush=True)
    print(f"\n### Composite of two tasks (G = 5 and 50, ICC 0.33, {args.reps} replications)\n")
    print("| weights | normal | Satterthwaite-t | min(G)-1 t | median Satterthwaite df |")
    print("|---|---:|---:|---:|---:|")
    for w in ((0.5, 0.5), (0.9, 0.1), (0.1, 0.9)):
        r = composite_row(w, args.reps, args.seed + int(100 * w[0]))
        print(
            f"| {w[0]:g}/{w[1]:g} | {r['normal']:.3f} | {r['Satterthwaite-t']:.3f} | {r['min(G)-1 t']:.3f} | "
            f"{r['median df']:.1f} |",
            flush=True,
        )
    print(f"\n({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
