"""Stratified bootstrap of task means and composites: fast paths, intervals, validation."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest
from scipy import stats

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError, UnknownNameError
from lm_eval_mtl.stats.bootstrap import (
    BootstrapResult,
    ItemScores,
    bootstrap_composite,
    bootstrap_task_means,
    resample_kind,
)
from lm_eval_mtl.stats.intervals import clustered_se


def _scipy_result(dist: np.ndarray) -> stats._resampling.BootstrapResult:
    return stats._resampling.BootstrapResult(
        confidence_interval=None, bootstrap_distribution=dist, standard_error=float(np.std(dist, ddof=1))
    )


# --------------------------------------------------------------------------- ItemScores


def test_item_scores_rejects_nan() -> None:
    with pytest.raises(ValueError, match=r"`scores` must be finite; got 1 NaN/inf value\(s\) of 3"):
        ItemScores(np.array([0.0, math.nan, 1.0]))


def test_item_scores_rejects_2d() -> None:
    with pytest.raises(ValueError, match=r"`scores` must be 1-D; got an array of shape \(2, 2\)"):
        ItemScores(np.zeros((2, 2)))


def test_item_scores_rejects_empty() -> None:
    with pytest.raises(InsufficientDataError, match=r"`scores` must hold at least 1 item; got 0"):
        ItemScores(np.array([]))


def test_item_scores_rejects_cluster_length_mismatch() -> None:
    with pytest.raises(
        ValueError, match=r"`clusters` must be 1-D with one label per item \(3\); got shape \(2,\)"
    ):
        ItemScores(np.array([0.0, 1.0, 1.0]), np.array([1, 2]))


def test_item_scores_rejects_string_clusters_with_a_hint() -> None:
    with pytest.raises(ValueError, match=r"`clusters` must hold integer labels; got dtype <U1.*numpy.unique"):
        ItemScores(np.array([0.0, 1.0]), np.array(["a", "b"]))  # type: ignore[arg-type]


def test_item_scores_is_immutable_copy() -> None:
    raw = np.array([0.0, 1.0])
    item = ItemScores(raw)
    raw[0] = 5.0
    assert item.scores[0] == 0.0
    with pytest.raises(ValueError, match="read-only"):
        item.scores[0] = 3.0


# --------------------------------------------------------------------------- fast paths


@pytest.mark.parametrize(
    ("scores", "clusters", "kind"),
    [
        ([0, 1, 1, 0], None, "binomial"),
        ([1.0, 1.0], None, "binomial"),
        ([-1, 0, 1, 1], None, "multinomial"),
        ([0.0, 0.25, 0.5, 0.75, 1.0], None, "multinomial"),
        (list(np.linspace(0, 1, 17)), None, "pair_sums"),
        ([0, 1, 1, 0], [0, 0, 1, 1], "cluster"),
    ],
)
def test_resample_kind_picks_the_exact_fast_path(
    scores: list[float], clusters: list[int] | None, kind: str
) -> None:
    task = ItemScores(np.asarray(scores, dtype=float), None if clusters is None else np.asarray(clusters))
    assert resample_kind(task) == kind


def _gather_reference(x: np.ndarray, b: int, seed: int) -> np.ndarray:
    """Plain item bootstrap (the definition), independent of the library."""
    rng = np.random.default_rng(seed)
    return x[rng.integers(0, x.size, size=(b, x.size))].mean(axis=1)


@pytest.mark.parametrize(
    "values",
    [
        np.array([0.0] * 130 + [1.0] * 70),  # binomial path
        np.array([-1.0] * 30 + [0.0] * 140 + [1.0] * 30),  # multinomial path (paired 0/1 difference)
        np.array([0.0, 0.2, 0.4, 1.0] * 50),  # multinomial path (rubric)
    ],
)
def test_fast_path_has_the_item_bootstrap_distribution(values: np.ndarray) -> None:
    b = 20_000
    fast = bootstrap_task_means([ItemScores(values)], n_resamples=b, rng=11)[:, 0]
    ref = _gather_reference(values, b, seed=12)
    # exact moments of the item bootstrap: mean x̄, variance var(x, ddof=0)/n
    assert fast.mean() == pytest.approx(values.mean(), abs=4 * values.std() / math.sqrt(values.size * b))
    assert fast.var() == pytest.approx(values.var() / values.size, rel=0.04)
    assert stats.ks_2samp(fast, ref).pvalue > 1e-3


def test_cluster_bootstrap_se_matches_clustered_se() -> None:
    rng = np.random.default_rng(5)
    n_clusters, size = 300, 8
    clusters = np.repeat(np.arange(n_clusters), size)
    x = (rng.random(clusters.size) < 0.2 + 0.6 * rng.random(n_clusters)[clusters]).astype(float)
    dist = bootstrap_task_means([ItemScores(x, clusters)], n_resamples=20_000, rng=6)[:, 0]
    # equal cluster sizes: the ratio estimator's bootstrap SE is the ddof-0 clustered SE
    assert dist.std() == pytest.approx(clustered_se(x, clusters, small_sample=False), rel=0.03)
    naive = x.std() / math.sqrt(x.size)
    assert dist.std() > 1.25 * naive  # design effect 1 + (m - 1) ICC ~ 1.8 here


def _cluster_reference(x: np.ndarray, clusters: np.ndarray, b: int, seed: int) -> np.ndarray:
    """Cluster bootstrap from the definition: draw clusters, pool their items, take the mean."""
    rng = np.random.default_rng(seed)
    groups = [x[clusters == c] for c in np.unique(clusters)]
    out = np.empty(b)
    for k in range(b):
        pick = rng.integers(0, len(groups), size=len(groups))
        out[k] = np.concatenate([groups[i] for i in pick]).mean()
    return out


@pytest.mark.parametrize("binary", [True, False])
def test_cluster_paths_have_the_cluster_bootstrap_distribution(binary: bool) -> None:
    # binary items in ragged clusters -> multinomial over (sum, size) pairs; continuous -> gather
    rng = np.random.default_rng(21)
    clusters = np.repeat(np.arange(60), rng.integers(1, 5, size=60))
    x = (rng.random(clusters.size) < 0.5).astype(float) if binary else rng.normal(size=clusters.size)
    fast = bootstrap_task_means([ItemScores(x, clusters)], n_resamples=4000, rng=22)[:, 0]
    ref = _cluster_reference(x, clusters, 4000, seed=23)
    assert stats.ks_2samp(fast, ref).pvalue > 1e-3
    assert fast.std() == pytest.approx(ref.std(), rel=0.06)


def test_bootstrap_task_means_is_deterministic_given_seed() -> None:
    tasks = [ItemScores(np.random.default_rng(1).random(50)), ItemScores(np.array([0.0, 1.0, 1.0]))]
    a = bootstrap_task_means(tasks, n_resamples=300, rng=7)
    b = bootstrap_task_means(tasks, n_resamples=300, rng=7)
    c = bootstrap_task_means(tasks, n_resamples=300, rng=8)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_bootstrap_task_means_is_stratified_by_task() -> None:
    small = ItemScores(np.array([0.0, 1.0] * 25))  # n = 50
    large = ItemScores(np.array([0.0, 1.0] * 2500))  # n = 5000
    dist = bootstrap_task_means([small, large], n_resamples=20_000, rng=3)
    assert dist.shape == (20_000, 2)
    assert dist[:, 0].std() == pytest.approx(0.5 / math.sqrt(50), rel=0.04)
    assert dist[:, 1].std() == pytest.approx(0.5 / math.sqrt(5000), rel=0.04)
    assert abs(np.corrcoef(dist.T)[0, 1]) < 0.05


def test_identical_tasks_are_resampled_independently() -> None:
    t = ItemScores(np.array([0.0, 1.0] * 100))
    dist = bootstrap_task_means([t, t], n_resamples=5000, rng=1)
    assert abs(np.corrcoef(dist.T)[0, 1]) < 0.08


def test_permuting_tasks_permutes_columns_exactly() -> None:
    rng = np.random.default_rng(9)
    tasks = [
        ItemScores(rng.random(40)),
        ItemScores((rng.random(60) < 0.5).astype(float)),
        ItemScores(rng.random(10)),
    ]
    a = bootstrap_task_means(tasks, n_resamples=200, rng=4)
    b = bootstrap_task_means([tasks[2], tasks[0], tasks[1]], n_resamples=200, rng=4)
    np.testing.assert_array_equal(a[:, [2, 0, 1]], b)


def test_gather_path_memory_is_bounded() -> None:
    x = ItemScores(np.random.default_rng(0).random(200_000))
    tracemalloc.start()
    try:
        bootstrap_task_means([x], n_resamples=100, rng=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # unchunked this would hold 100 x 200,000 int indices and gathered values (~300 MB)
    assert peak < 120 * 2**20


def test_bootstrap_task_means_rejects_empty_tasks() -> None:
    with pytest.raises(InsufficientDataError, match=r"`tasks` must hold at least 1 task; got 0"):
        bootstrap_task_means([], n_resamples=10, rng=0)


def test_bootstrap_task_means_rejects_raw_arrays() -> None:
    with pytest.raises(
        ValueError, match=r"`tasks\[0\]` must be an ItemScores or a sufficient-statistics object"
    ):
        bootstrap_task_means([np.array([0.0, 1.0])], n_resamples=10, rng=0)  # type: ignore[list-item]


def test_bootstrap_task_means_rejects_zero_resamples() -> None:
    with pytest.raises(ValueError, match=r"`n_resamples` must be a positive int; got 0"):
        bootstrap_task_means([ItemScores(np.array([1.0]))], n_resamples=0, rng=0)


# --------------------------------------------------------------------------- composite


def _suite(seed: int = 0) -> list[ItemScores]:
    rng = np.random.default_rng(seed)
    return [
        ItemScores((rng.random(400) < 0.7).astype(float)),
        ItemScores((rng.random(250) < 0.4).astype(float)),
        ItemScores(rng.beta(2, 5, size=300)),
    ]


def test_composite_value_is_the_normalized_weighted_sum() -> None:
    tasks = _suite()
    w, c, u = [0.5, 0.3, 0.2], [0.25, 0.5, 0.0], [1.0, 1.0, 1.0]
    res = bootstrap_composite(
        tasks,
        w,
        offsets=c,
        scales=[1 / (ui - ci) for ui, ci in zip(u, c, strict=True)],
        n_resamples=200,
        rng=0,
    )
    expected = sum(
        wi * (t.scores.mean() - ci) / (ui - ci) for wi, t, ci, ui in zip(w, tasks, c, u, strict=True)
    )
    assert res.value == pytest.approx(expected, rel=1e-14)


def test_composite_se_matches_the_analytic_independent_tasks_se() -> None:
    tasks = _suite()
    w = np.array([0.5, 0.3, 0.2])
    res = bootstrap_composite(tasks, w, n_resamples=40_000, rng=1)
    analytic = math.sqrt(sum(wi**2 * t.scores.var() / t.n for wi, t in zip(w, tasks, strict=True)))
    assert res.se == pytest.approx(analytic, rel=0.02)


@pytest.mark.parametrize(
    ("method", "scipy_method"), [("percentile", "percentile"), ("basic", "basic"), ("bca", "BCa")]
)
def test_composite_interval_equals_scipy_on_the_same_distribution(method: str, scipy_method: str) -> None:
    tasks = _suite(2)
    w = [0.2, 0.5, 0.3]
    res = bootstrap_composite(tasks, w, method=method, n_resamples=3000, rng=5, confidence_level=0.9)  # type: ignore[arg-type]

    def composite(a: np.ndarray, b: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return 0.2 * a.mean(axis=axis) + 0.5 * b.mean(axis=axis) + 0.3 * c.mean(axis=axis)

    ref = stats.bootstrap(
        tuple(t.scores for t in tasks),
        composite,
        n_resamples=0,
        bootstrap_result=_scipy_result(res.distribution),
        method=scipy_method,
        confidence_level=0.9,
    )
    assert res.ci.low == pytest.approx(ref.confidence_interval.low, rel=1e-10)
    assert res.ci.high == pytest.approx(ref.confidence_interval.high, rel=1e-10)


def test_clustered_bca_uses_leave_one_cluster_out() -> None:
    rng = np.random.default_rng(8)
    clusters = np.repeat(np.arange(40), 5)
    x = rng.normal(size=200) + rng.normal(size=40)[clusters]
    res = bootstrap_composite([ItemScores(x, clusters)], [1.0], method="bca", n_resamples=2000, rng=0)
    loo = np.array([x[clusters != c].mean() for c in range(40)])  # brute force
    np.testing.assert_allclose(res.jackknife_values[0], loo, rtol=1e-12)


def test_confidence_interval_recomputes_at_other_levels() -> None:
    res = bootstrap_composite(_suite(), [0.4, 0.4, 0.2], n_resamples=2000, rng=3)
    assert res.confidence_interval(0.95) == res.ci
    narrow = res.confidence_interval(0.5)
    assert res.ci.low < narrow.low < narrow.high < res.ci.high
    assert narrow.low == pytest.approx(float(np.quantile(res.distribution, 0.25)))


def test_all_items_equal_gives_zero_se_and_a_point_interval() -> None:
    res = bootstrap_composite(
        [ItemScores(np.ones(30)), ItemScores(np.full(20, 0.5))], [0.5, 0.5], n_resamples=500, rng=0
    )
    assert res.value == pytest.approx(0.75)
    assert res.se == 0.0
    assert res.ci.low == pytest.approx(0.75) and res.ci.high == pytest.approx(0.75)


def test_bca_on_constant_data_is_nan_with_warning() -> None:
    with pytest.warns(DegenerateDataWarning, match="BCa confidence interval cannot be calculated"):
        res = bootstrap_composite([ItemScores(np.ones(30))], [1.0], method="bca", n_resamples=200, rng=0)
    assert math.isnan(res.ci.low) and math.isnan(res.ci.high)


def test_single_resample_se_is_nan_with_warning() -> None:
    with pytest.warns(DegenerateDataWarning, match="n_resamples >= 2"):
        res = bootstrap_composite(_suite(), [0.3, 0.3, 0.4], n_resamples=1, rng=0)
    assert math.isnan(res.se)


def test_result_records_provenance_and_serializes() -> None:
    res = bootstrap_composite(_suite(), [0.3, 0.3, 0.4], n_resamples=100, rng=42)
    assert isinstance(res, BootstrapResult)
    d = res.to_dict()
    assert d["rng_seed"] == 42 and d["n_resamples"] == 100 and d["method"] == "percentile"
    assert d["resample_kinds"] == ["binomial", "binomial", "pair_sums"]
    assert d["ci_low"] == res.ci.low


def test_composite_rejects_weight_length_mismatch() -> None:
    with pytest.raises(ValueError, match=r"`weights` must hold one number per task \(3\); got shape \(2,\)"):
        bootstrap_composite(_suite(), [0.5, 0.5], n_resamples=10, rng=0)


def test_composite_rejects_nan_offsets() -> None:
    with pytest.raises(ValueError, match=r"`offsets` must be finite"):
        bootstrap_composite(_suite(), [0.3, 0.3, 0.4], offsets=[0.0, math.nan, 0.0], n_resamples=10, rng=0)


def test_composite_rejects_zero_scale() -> None:
    with pytest.raises(ValueError, match=r"`scales` must be non-zero"):
        bootstrap_composite(_suite(), [0.3, 0.3, 0.4], scales=[1.0, 0.0, 1.0], n_resamples=10, rng=0)


def test_composite_unknown_method_suggests_close_match() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown bootstrap method 'bcaa'. Did you mean: bca\?"):
        bootstrap_composite(_suite(), [0.3, 0.3, 0.4], method="bcaa", n_resamples=10, rng=0)  # type: ignore[arg-type]


def test_composite_rejects_bad_confidence_level() -> None:
    with pytest.raises(ValueError, match=r"`confidence_level` must be in \(0, 1\); got 0"):
        bootstrap_composite(_suite(), [0.3, 0.3, 0.4], confidence_level=0, n_resamples=10, rng=0)


def test_composite_rejects_bad_rng() -> None:
    with pytest.raises(
        TypeError, match=r"`rng` must be a numpy.random.Generator, an int seed or None; got str"
    ):
        bootstrap_composite(_suite(), [0.3, 0.3, 0.4], n_resamples=10, rng="seed")  # type: ignore[arg-type]
