"""Benchmark: a transfer matrix of 10 sources x 20 targets over 60,000 items, B=2,000.

Run:  PYTHONPATH=. python bench/bench_transfer.py [--continuous]

Prints wall time and peak memory (ru_maxrss) of lm_eval_mtl.analysis.transfer.transfer_from_scores,
and one cell against scipy.stats.bootstrap(paired=True) on the same data (time ratio,
and the two percentile intervals side by side). Target: under 10 s and 2 GB.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings

import numpy as np
from scipy import stats

from lm_eval_mtl.analysis.transfer import transfer_from_scores

N_SOURCES, N_TARGETS, N_ITEMS, B = 10, 20, 60_000, 2_000


def simulate(
    rng: np.random.Generator, continuous: bool
) -> tuple[dict[str, np.ndarray], dict[str, dict[str, np.ndarray]]]:
    per = N_ITEMS // N_TARGETS
    base: dict[str, np.ndarray] = {}
    ck: dict[str, dict[str, np.ndarray]] = {f"t{s}": {} for s in range(N_SOURCES)}
    for t in range(N_TARGETS):
        p = rng.random(per)
        u = rng.random(per)
        base[f"t{t}"] = u if continuous else (u < p).astype(np.float64)
        for s in range(N_SOURCES):
            v = np.where(rng.random(per) < 0.7, u, rng.random(per))
            shift = 0.05 if s == t else 0.0
            ck[f"t{s}"][f"t{t}"] = (
                np.clip(v + shift, 0, 1) if continuous else (v < p + shift).astype(np.float64)
            )
    return base, ck


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--continuous", action="store_true", help="continuous per-item scores (gather path)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    base, ck = simulate(rng, args.continuous)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # relative transfer NaN for targets without a source
        tm = transfer_from_scores(base, ck, n_resamples=B, rng=1)
    elapsed = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    kind = "continuous" if args.continuous else "0/1"
    print(
        f"transfer_from_scores: {N_SOURCES} sources x {N_TARGETS} targets, {N_ITEMS} items ({kind}), "
        f"B={B}: {elapsed:.2f} s, peak RSS {peak_mb:.0f} MB"
    )
    # one cell against scipy.stats.bootstrap(paired=True)
    a, b = ck["t0"]["t0"], base["t0"]
    t1 = time.perf_counter()
    ref = stats.bootstrap(
        (a, b),
        lambda x, y, axis=-1: np.mean(x - y, axis=axis),
        paired=True,
        n_resamples=B,
        method="percentile",
        rng=np.random.default_rng(2),
        vectorized=True,
    )
    t_scipy = time.perf_counter() - t1
    t2 = time.perf_counter()
    one = transfer_from_scores({"t0": b}, {"t0": {"t0": a}}, n_resamples=B, rng=3)
    t_ours = time.perf_counter() - t2
    print(
        f"one cell, scipy.stats.bootstrap(paired=True): {t_scipy * 1000:.1f} ms, CI "
        f"[{ref.confidence_interval.low:.5f}, {ref.confidence_interval.high:.5f}], SE {ref.standard_error:.5f}"
    )
    print(
        f"one cell, lm_eval_mtl: {t_ours * 1000:.1f} ms, CI [{one.ci_low[0, 0]:.5f}, {one.ci_high[0, 0]:.5f}], "
        f"SE {one.se[0, 0]:.5f}; ratio scipy/ours {t_scipy / t_ours:.1f}x"
    )
    print(
        f"full matrix time per cell: {elapsed / (N_SOURCES * N_TARGETS) * 1000:.2f} ms; "
        f"scipy per cell x 200 cells would take ~{t_scipy * N_SOURCES * N_TARGETS:.1f} s"
    )
    print(
        f"significant cells: {int(tm.significant.sum())} of {tm.significant.size} (planted: the {N_TARGETS // 2} diagonal cells)"
    )
    ok = elapsed < 10 and peak_mb < 2048
    print("PASS" if ok else "FAIL", "(target: < 10 s and < 2 GB)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
