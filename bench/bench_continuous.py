"""Benchmark: composite bootstrap of continuous scores, 20 tasks x 3,000 items, B = 10,000.

Run:  PYTHONPATH=. python bench/bench_continuous.py [--repeat 3] [--scipy-repeat 1] [--per-task]
      [--items 3000]

Data: 20 tasks x 3,000 items = 60,000 distinct floats (Beta(2p, 2(1-p)) items, p ~ U(0.3, 0.9)
per task; ``--items 60000`` for 20 tasks x 60,000 items), equal weights; the statistic is the composite sum_t w_t * mean_t and the interval the
95% percentile interval. Implementations, side by side on the same arrays:

  pair_sums    ours now: ``bootstrap_composite`` (block multinomial + 16-bit pair-sum lookups,
               :mod:`lm_eval_mtl.stats.resample_mean`)
  old gather   ours before: the previous continuous kernel, copied below (int32 indices of
               shape (b, n) in 4M-element chunks, ``values[idx].mean(axis=1)``), same streams
  scipy        ``scipy.stats.bootstrap(samples, composite, vectorized=True, method="percentile",
               n_resamples=B, batch=500)``: one multi-sample call on the composite statistic, the
               way the existing ``bench_bootstrap.py`` runs it (batch only bounds its memory: the
               default batch=None would hold 20 x 10,000 x 3,000 float64 resamples, ~5 GB;
               with --items N the batch is 500 * 3000 // N, the same memory)
  scipy/task   (--per-task) 20 one-sample calls ``scipy.stats.bootstrap((x,), np.mean,
               vectorized=True, method="percentile", batch=2000)``; their distributions are
               added with the weights (a stratified bootstrap too, and scipy's cheapest use here)

Times: wall (perf_counter) and CPU (process_time, user + system of this process: less
sensitive to other jobs on a shared machine); best of --repeat runs for ours, of
--scipy-repeat for scipy. Peak memory: tracemalloc's peak over a separate run (numpy's
allocations are traced). Interval agreement: differences of the endpoints in units of the
bootstrap standard error; the Monte Carlo sd of such a difference between two independent
B = 10,000 runs is ~0.04 se.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy import stats

from lm_eval_mtl.stats.bootstrap import ItemScores, _task_generators, bootstrap_composite

N_TASKS, B, LEVEL = 20, 10_000, 0.95


def simulate(rng: np.random.Generator, per_task: int = 3_000) -> list[np.ndarray]:
    out = []
    for _ in range(N_TASKS):
        p = rng.uniform(0.3, 0.9)
        out.append(rng.beta(2 * p, 2 * (1 - p), size=per_task))
    return out


def old_gather_means(values: np.ndarray, n_resamples: int, rng: np.random.Generator) -> np.ndarray:
    """The previous continuous kernel of ``bootstrap.py`` (kept here for the comparison)."""
    n = values.size
    out = np.empty(n_resamples, dtype=np.float64)
    size = max(1, (1 << 22) // n)
    start = 0
    while start < n_resamples:
        b = min(size, n_resamples - start)
        idx = rng.integers(0, n, size=(b, n), dtype=np.int32 if n < 2**31 else np.int64)
        out[start : start + b] = values[idx].mean(axis=1)
        start += b
    return out


def old_composite(tasks: list[ItemScores], w: np.ndarray) -> np.ndarray:
    gens = _task_generators(tasks, np.random.default_rng(0))
    return sum(wi * old_gather_means(t.scores, B, g) for wi, t, g in zip(w, tasks, gens, strict=True))  # type: ignore[return-value]


def scipy_composite(data: list[np.ndarray], w: np.ndarray, batch: int = 500) -> np.ndarray:
    def composite(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return sum(wi * s.mean(axis=axis) for wi, s in zip(w, samples, strict=True))  # type: ignore[return-value]

    res = stats.bootstrap(
        tuple(data),
        composite,
        vectorized=True,
        method="percentile",
        n_resamples=B,
        batch=batch,
        confidence_level=LEVEL,
        rng=1,
    )
    return np.asarray(res.bootstrap_distribution)


def scipy_per_task(data: list[np.ndarray], w: np.ndarray) -> np.ndarray:
    dist = np.zeros(B)
    for i, (x, wi) in enumerate(zip(data, w, strict=True)):
        res = stats.bootstrap(
            (x,), np.mean, vectorized=True, method="percentile", n_resamples=B, batch=2000, rng=100 + i
        )
        dist += wi * res.bootstrap_distribution
    return dist


def timed(fn: Callable[[], Any], repeat: int) -> tuple[Any, float, float]:
    """(result of the first run, best wall seconds, best CPU seconds)."""
    out, wall, cpu = None, np.inf, np.inf
    for i in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        r = fn()
        wall, cpu = min(wall, time.perf_counter() - w0), min(cpu, time.process_time() - c0)
        if i == 0:
            out = r
    return out, wall, cpu


def peak_mib(fn: Callable[[], Any]) -> float:
    tracemalloc.start()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--scipy-repeat", type=int, default=1)
    ap.add_argument("--per-task", action="store_true", help="also time 20 one-sample scipy calls")
    ap.add_argument("--skip-scipy", action="store_true")
    ap.add_argument("--items", type=int, default=3_000, help="items per task")
    args = ap.parse_args()
    load0 = os.getloadavg()
    data = simulate(np.random.default_rng(20261128), args.items)
    batch = max(1, 500 * 3_000 // args.items)
    tasks = [ItemScores(x) for x in data]
    w = np.full(N_TASKS, 1 / N_TASKS)

    def ours() -> np.ndarray:
        return bootstrap_composite(tasks, w, n_resamples=B, rng=0).distribution

    impls: list[tuple[str, Callable[[], np.ndarray], int]] = [
        ("pair_sums (ours, new)", ours, args.repeat),
        ("old gather (ours, before)", lambda: old_composite(tasks, w), args.repeat),
    ]
    if not args.skip_scipy:
        impls.append(("scipy.stats.bootstrap", lambda: scipy_composite(data, w, batch), args.scipy_repeat))
        if args.per_task:
            impls.append(("scipy, 20 per-task calls", lambda: scipy_per_task(data, w), args.scipy_repeat))
    print(
        f"{N_TASKS} tasks x {args.items} continuous items, B = {B}, {LEVEL:.0%} percentile CI of the composite"
    )
    print(f"value {float(sum(wi * x.mean() for wi, x in zip(w, data, strict=True))):.6f}")
    print(
        f"{'impl':<27} {'wall s':>7} {'CPU s':>7} {'peak MiB':>9}  {'CI':<24} {'se':>9}  {'d_lo/se':>7} {'d_hi/se':>7}"
    )
    rows = []
    for name, fn, rep in impls:
        dist, wall, cpu = timed(fn, rep)
        peak = peak_mib(fn)
        lo, hi = np.quantile(dist, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        rows.append((name, wall, cpu, peak, lo, hi, float(np.std(dist, ddof=1))))
    ref_lo, ref_hi, ref_se = rows[0][4], rows[0][5], rows[0][6]
    for name, wall, cpu, peak, lo, hi, se in rows:
        print(
            f"{name:<27} {wall:7.3f} {cpu:7.3f} {peak:9.1f}  [{lo:.6f}, {hi:.6f}] {se:9.3e}  "
            f"{(lo - ref_lo) / ref_se:7.3f} {(hi - ref_hi) / ref_se:7.3f}"
        )
    new = rows[0]
    for name, wall, cpu, *_ in rows[1:]:
        print(f"speed-up of pair_sums over {name}: wall x{wall / new[1]:.1f}, CPU x{cpu / new[2]:.1f}")
    print(f"load average at start {load0[0]:.1f}, at end {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
