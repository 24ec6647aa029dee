"""Properties of the resampling/interval engine (hypothesis, deterministic profile from conftest)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_composite, bootstrap_task_means
from lm_eval_mtl.stats.intervals import (
    analytic_se_mean,
    clustered_se,
    normal_interval,
    percentile_interval,
    wilson_interval,
)
from lm_eval_mtl.stats.multiple import benjamini_hochberg, holm

levels = st.floats(min_value=0.5, max_value=0.99)


def _item_data(kind: str, seed: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if kind == "binary":
        return (rng.random(n) < rng.uniform(0.05, 0.95)).astype(float)
    if kind == "ternary":
        return rng.choice([-1.0, 0.0, 1.0], size=n, p=rng.dirichlet([1, 1, 1]))
    if kind == "continuous":
        return rng.beta(rng.uniform(0.5, 5), rng.uniform(0.5, 5), size=n)
    return rng.exponential(size=n)


@settings(max_examples=12)
@given(
    kind=st.sampled_from(["binary", "ternary", "continuous", "exponential"]), seed=st.integers(0, 2**31 - 1)
)
def test_bootstrap_se_of_a_mean_matches_analytic_se(kind: str, seed: int) -> None:
    # n = 2000. Monte-Carlo relative error of a bootstrap SE from B draws is ~1/sqrt(2B):
    # 0.5% at B = 20,000 (fast paths), 1.6% at B = 2,000 (gather); the tolerance is 5%.
    x = _item_data(kind, seed, 2000)
    b = 2000 if kind in ("continuous", "exponential") else 20_000
    dist = bootstrap_task_means([ItemScores(x)], n_resamples=b, rng=seed)[:, 0]
    assert math.isclose(float(dist.std(ddof=1)), analytic_se_mean(x), rel_tol=0.05)


@given(
    seed=st.integers(0, 2**31 - 1),
    low=levels,
    high=levels,
)
def test_intervals_widen_with_confidence_level(seed: int, low: float, high: float) -> None:
    lo, hi = sorted((low, high))
    dist = np.random.default_rng(seed).normal(size=500)
    a, b = percentile_interval(dist, lo), percentile_interval(dist, hi)
    assert b.low <= a.low <= a.high <= b.high
    na, nb = normal_interval(0.3, 0.05, lo), normal_interval(0.3, 0.05, hi)
    assert nb.low <= na.low <= na.high <= nb.high
    k = int(np.random.default_rng(seed).integers(0, 51))
    wa, wb = wilson_interval(k, 50, lo), wilson_interval(k, 50, hi)
    assert wb.low <= wa.low + 1e-15 and wa.high <= wb.high + 1e-15


@settings(max_examples=25)
@given(seed=st.integers(0, 2**31 - 1), perm_seed=st.integers(0, 1000))
def test_permuting_tasks_permutes_outputs(seed: int, perm_seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_tasks = 4
    tasks = [
        ItemScores(_item_data(k, seed + i, int(rng.integers(5, 60))))
        for i, k in enumerate(["binary", "ternary", "continuous", "binary"])
    ]
    w = rng.dirichlet(np.ones(n_tasks))
    off = rng.uniform(0, 0.5, n_tasks)
    perm = np.random.default_rng(perm_seed).permutation(n_tasks)
    means = bootstrap_task_means(tasks, n_resamples=64, rng=seed)
    means_p = bootstrap_task_means([tasks[i] for i in perm], n_resamples=64, rng=seed)
    np.testing.assert_array_equal(means[:, perm], means_p)
    r = bootstrap_composite(tasks, w, offsets=off, n_resamples=64, rng=seed)
    rp = bootstrap_composite([tasks[i] for i in perm], w[perm], offsets=off[perm], n_resamples=64, rng=seed)
    assert math.isclose(r.value, rp.value, rel_tol=1e-12, abs_tol=1e-15)
    np.testing.assert_allclose(r.distribution, rp.distribution, rtol=1e-12, atol=1e-15)


@given(seed=st.integers(0, 2**31 - 1), n_clusters=st.integers(2, 30))
def test_clustered_se_with_singletons_equals_analytic_and_is_label_invariant(
    seed: int, n_clusters: int
) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n_clusters)
    assert math.isclose(clustered_se(x, np.arange(n_clusters)), analytic_se_mean(x), rel_tol=1e-10)
    labels = rng.integers(0, n_clusters, size=3 * n_clusters)
    y = rng.normal(size=labels.size)
    relabelled = rng.permutation(n_clusters)[labels] + 1000
    if np.unique(labels).size >= 2:
        assert math.isclose(clustered_se(y, labels), clustered_se(y, relabelled), rel_tol=1e-12)


@given(p=st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40))
def test_adjusted_p_values_are_monotone_in_raw_p_and_bounded(p: list[float]) -> None:
    arr = np.asarray(p)
    order = np.argsort(arr, kind="stable")
    for adj in (holm(arr), benjamini_hochberg(arr)):
        assert np.all((adj >= arr - 1e-15) & (adj <= 1.0))
        assert np.all(np.diff(adj[order]) >= -1e-15)
