"""Benchmark: composite bootstrap CI, 20 tasks / 60,000 items, B = 10,000, ours vs scipy.

Run:  PYTHONPATH=. python bench/bench_bootstrap.py [--repeat 3] [--skip-scipy-continuous]

Variants (same simulated data for both libraries within a variant):
  binary      0/1 items            ours: Binomial(n, p)/n per task (exact)
  paired      items in {-1, 0, 1}  ours: Multinomial over value counts (exact)
  continuous  items in [0, 1]      ours: pair_sums (block counts + 16-bit pair-sum lookups)
  clustered   0/1 items, 10/cluster ours: cluster bootstrap (scipy has no clustered
              bootstrap; compared with a plain numpy cluster gather instead)

scipy.stats.bootstrap runs with vectorized=True, method="percentile" and batch=500
(its default batch=None would hold 20 x 10,000 x 3,000 float64 resamples, ~5 GB; batching
does not change its work, only its memory). Time is wall-clock (best of --repeat for
ours, one run for scipy); peak memory is tracemalloc's peak of Python/numpy allocations
during the call.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_composite

N_TASKS, N_ITEMS, B, LEVEL = 20, 60_000, 10_000, 0.95
PER_TASK = N_ITEMS // N_TASKS


def measure(fn: Callable[[], Any], repeat: int = 1) -> tuple[Any, float, float]:
    """(result, best wall seconds, peak MiB of the first run)."""
    tracemalloc.start()
    t0 = time.perf_counter()
    out = fn()
    best = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    for _ in range(repeat - 1):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return out, best, peak / 2**20


def simulate(kind: str, rng: np.random.Generator) -> tuple[list[np.ndarray], list[np.ndarray] | None]:
    data: list[np.ndarray] = []
    clusters: list[np.ndarray] | None = [] if kind == "clustered" else None
    for _ in range(N_TASKS):
        p = rng.uniform(0.3, 0.9)
        if kind == "binary":
            data.append((rng.random(PER_TASK) < p).astype(np.float64))
        elif kind == "paired":
            q = rng.dirichlet([2, 6, 2])
            data.append(rng.choice([-1.0, 0.0, 1.0], size=PER_TASK, p=q))
        elif kind == "continuous":
            data.append(rng.beta(2 * p, 2 * (1 - p), size=PER_TASK))
        else:
            assert clusters is not None
            lab = np.repeat(np.arange(PER_TASK // 10), 10)
            pc = np.clip(p + rng.normal(0, 0.2, size=PER_TASK // 10), 0, 1)[lab]
            data.append((rng.random(PER_TASK) < pc).astype(np.float64))
            clusters.append(lab)
    return data, clusters


def scipy_composite(data: list[np.ndarray], w: np.ndarray) -> stats._resampling.BootstrapResult:
    def composite(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return sum(wi * s.mean(axis=axis) for wi, s in zip(w, samples, strict=True))

    return stats.bootstrap(
        tuple(data),
        composite,
        vectorized=True,
        method="percentile",
        n_resamples=B,
        batch=500,
        confidence_level=LEVEL,
        rng=1,
    )


def numpy_cluster_gather(data: list[np.ndarray], clusters: list[np.ndarray], w: np.ndarray) -> np.ndarray:
    """Plain numpy cluster bootstrap: gather clusters' items per resample (the naive way)."""
    rng = np.random.default_rng(2)
    out = np.zeros(B)
    for x, lab, wi in zip(data, clusters, w, strict=True):
        members = [np.flatnonzero(lab == c) for c in range(lab.max() + 1)]
        sums = np.array([x[m].sum() for m in members])
        sizes = np.array([m.size for m in members], dtype=float)
        for start in range(0, B, 500):
            idx = rng.integers(0, sums.size, size=(min(500, B - start), sums.size))
            out[start : start + idx.shape[0]] += wi * sums[idx].sum(1) / sizes[idx].sum(1)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--skip-scipy-continuous", action="store_true")
    args = ap.parse_args()
    rng = np.random.default_rng(20261128)
    w = np.full(N_TASKS, 1 / N_TASKS)
    print(f"{N_TASKS} tasks x {PER_TASK} items = {N_ITEMS} items, B = {B}, percentile {LEVEL:.0%} CI")
    print(f"{'variant':<11} {'impl':<22} {'time s':>8} {'peak MiB':>9}  {'CI':<34} {'se':>10}")
    for kind in ("binary", "paired", "continuous", "clustered"):
        data, clusters = simulate(kind, rng)
        tasks = [ItemScores(x, None if clusters is None else clusters[i]) for i, x in enumerate(data)]
        ours, t_ours, m_ours = measure(
            lambda tasks=tasks: bootstrap_composite(tasks, w, n_resamples=B, rng=0), args.repeat
        )
        kinds = sorted(set(ours.resample_kinds))
        print(
            f"{kind:<11} {'ours (' + ','.join(kinds) + ')':<22} {t_ours:8.3f} {m_ours:9.1f}  "
            f"[{ours.ci.low:.6f}, {ours.ci.high:.6f}]     {ours.se:10.3e}"
        )
        if kind == "clustered":
            assert clusters is not None
            ref, t_ref, m_ref = measure(
                lambda data=data, clusters=clusters: numpy_cluster_gather(data, clusters, w)
            )
            lo, hi = np.quantile(ref, [0.025, 0.975])
            print(
                f"{'':<11} {'numpy cluster gather':<22} {t_ref:8.3f} {m_ref:9.1f}  "
                f"[{lo:.6f}, {hi:.6f}]     {ref.std(ddof=1):10.3e}"
            )
        elif kind == "continuous" and args.skip_scipy_continuous:
            continue
        else:
            ref, t_ref, m_ref = measure(lambda data=data: scipy_composite(data, w))
            ci = ref.confidence_interval
            print(
                f"{'':<11} {'scipy.stats.bootstrap':<22} {t_ref:8.3f} {m_ref:9.1f}  "
                f"[{ci.low:.6f}, {ci.high:.6f}]     {ref.standard_error:10.3e}"
            )
        print(f"{'':<11} speed-up x{t_ref / t_ours:,.1f}")


if __name__ == "__main__":
    main()
