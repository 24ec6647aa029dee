"""Closed-form intervals and standard errors, against scipy and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError
from lm_eval_mtl.stats.intervals import (
    Z_TABLE,
    analytic_se_mean,
    basic_interval,
    bca_acceleration,
    bca_interval,
    clustered_se,
    normal_interval,
    percentile_interval,
    wilson_interval,
)


@pytest.mark.parametrize("level", [0.8, 0.9, 0.95, 0.99])
def test_normal_interval_matches_scipy_norm_interval(level: float) -> None:
    ci = normal_interval(0.3, 0.02, level)
    low, high = stats.norm.interval(level, loc=0.3, scale=0.02)
    assert ci.low == pytest.approx(low, abs=1e-14)
    assert ci.high == pytest.approx(high, abs=1e-14)


def test_the_z_table_is_scipys_ndtri_bit_for_bit() -> None:
    from scipy.special import ndtri

    from lm_eval_mtl.stats.intervals import _z

    assert len(Z_TABLE) >= 5
    for level, z in Z_TABLE.items():
        assert z == float(ndtri(0.5 + level / 2.0)), level
        assert _z(level) == z
    assert _z(0.97) == float(ndtri(0.985))  # a level off the table: scipy's value


def test_the_ndtri_table_is_scipys_bit_for_bit_and_covers_the_usual_levels_and_powers() -> None:
    from scipy.special import ndtri as scipy_ndtri

    from lm_eval_mtl.stats._special import NDTRI_TABLE, ndtri
    from lm_eval_mtl.stats.multiple import minimum_detectable_effect

    for p, z in NDTRI_TABLE.items():
        assert z == float(scipy_ndtri(p)), p
    for level in (0.5, 0.68, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999):
        assert 0.5 + level / 2.0 in NDTRI_TABLE and 1 - (1 - level) / 2 in NDTRI_TABLE, level
        alpha = 1.0 - level  # minimum_detectable_effect's own arithmetic
        assert 1.0 - alpha / 2.0 in NDTRI_TABLE, level
    for power in (0.8, 0.9, 0.95, 0.99):
        assert power in NDTRI_TABLE
    assert ndtri(0.123) == scipy_ndtri(0.123)  # off the table: scipy itself
    np.testing.assert_array_equal(ndtri(np.array([0.975, 0.8])), scipy_ndtri(np.array([0.975, 0.8])))
    se = 0.0123
    want = float((scipy_ndtri(1.0 - 0.05 / 2.0) + scipy_ndtri(0.8)) * se)
    assert minimum_detectable_effect(se, 0.05, 0.8) == want


def test_normal_interval_nan_se_gives_nan_interval() -> None:
    ci = normal_interval(0.5, math.nan)
    assert math.isnan(ci.low) and math.isnan(ci.high)


def test_normal_interval_rejects_negative_se() -> None:
    with pytest.raises(ValueError, match=r"`se` must be a non-negative finite number or NaN; got -0.1"):
        normal_interval(0.5, -0.1)


def test_normal_interval_rejects_level_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"`confidence_level` must be in \(0, 1\); got 1.5"):
        normal_interval(0.5, 0.1, 1.5)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (1, 10), (7, 20), (50, 100), (99, 100), (100, 100), (3, 1000)])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99])
def test_wilson_interval_matches_scipy_binomtest(k: int, n: int, level: float) -> None:
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=level, method="wilson")
    ci = wilson_interval(k, n, level)
    assert ci.low == pytest.approx(ref.low, abs=1e-12)
    assert ci.high == pytest.approx(ref.high, abs=1e-12)


def test_wilson_interval_zero_successes_hand_computed() -> None:
    # k = 0: center = (z^2/2n)/(1+z^2/n), half-width the same -> [0, z^2/(n+z^2)].
    z = stats.norm.ppf(0.975)
    ci = wilson_interval(0, 10)
    assert ci.low == 0.0
    assert ci.high == pytest.approx(z**2 / (10 + z**2), rel=1e-12)


def test_wilson_interval_rejects_successes_above_n() -> None:
    with pytest.raises(ValueError, match=r"`successes` must be in \[0, n\] = \[0, 5\]; got 6"):
        wilson_interval(6, 5)


def test_wilson_interval_rejects_zero_trials() -> None:
    with pytest.raises(ValueError, match=r"`n` must be >= 1; got 0"):
        wilson_interval(0, 0)


def test_wilson_interval_rejects_non_integer_counts() -> None:
    with pytest.raises(ValueError, match=r"`successes` must be an int; got 2.5"):
        wilson_interval(2.5, 5)  # type: ignore[arg-type]


def test_analytic_se_mean_matches_scipy_sem() -> None:
    x = np.random.default_rng(0).normal(size=137)
    assert analytic_se_mean(x) == pytest.approx(stats.sem(x), rel=1e-13)


def test_analytic_se_mean_of_one_item_is_nan_with_warning() -> None:
    with pytest.warns(DegenerateDataWarning, match="1 item is undefined"):
        assert math.isnan(analytic_se_mean([0.4]))


def test_analytic_se_mean_rejects_nan() -> None:
    with pytest.raises(ValueError, match=r"`scores` must be finite; got 1 NaN/inf value"):
        analytic_se_mean([0.1, math.nan, 0.3])


def test_analytic_se_mean_rejects_empty() -> None:
    with pytest.raises(InsufficientDataError, match=r"`scores` must hold at least 1 value\(s\); got 0"):
        analytic_se_mean([])


def _miller_clustered_se(s: np.ndarray, c: np.ndarray) -> float:
    """Miller (2024) eq.: SE^2 = SE_CLT^2 + 1/n^2 sum_c sum_i sum_{j != i} e_i e_j (loops, ddof=0)."""
    n = s.size
    e = s - s.mean()
    var = float(np.sum(e**2)) / n**2
    for label in np.unique(c):
        ec = e[c == label]
        for i in range(ec.size):
            for j in range(ec.size):
                if i != j:
                    var += ec[i] * ec[j] / n**2
    return math.sqrt(var)


def test_clustered_se_matches_miller_formula_by_loops() -> None:
    rng = np.random.default_rng(1)
    clusters = np.repeat(np.arange(12), rng.integers(1, 6, size=12))
    s = rng.normal(size=clusters.size) + rng.normal(size=12)[clusters]
    assert clustered_se(s, clusters, small_sample=False) == pytest.approx(
        _miller_clustered_se(s, clusters), rel=1e-12
    )
    n_c = 12
    assert clustered_se(s, clusters) == pytest.approx(
        _miller_clustered_se(s, clusters) * math.sqrt(n_c / (n_c - 1)), rel=1e-12
    )


def test_clustered_se_with_singleton_clusters_equals_scipy_sem() -> None:
    x = np.random.default_rng(2).random(80)
    assert clustered_se(x, np.arange(80)) == pytest.approx(stats.sem(x), rel=1e-12)


def test_clustered_se_accepts_string_labels() -> None:
    x = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 0.0])
    labels = np.array(["a", "a", "b", "b", "c", "c"])
    assert clustered_se(x, labels) == pytest.approx(clustered_se(x, np.array([0, 0, 1, 1, 2, 2])))


def test_clustered_se_with_one_cluster_is_nan_with_warning() -> None:
    with pytest.warns(DegenerateDataWarning, match="at least 2 clusters; got 1"):
        assert math.isnan(clustered_se([0.0, 1.0, 1.0], [7, 7, 7]))


def test_clustered_se_rejects_label_length_mismatch() -> None:
    with pytest.raises(
        ValueError, match=r"`clusters` must be 1-D with one label per item \(3\); got shape \(2,\)"
    ):
        clustered_se([0.0, 1.0, 1.0], [1, 2])


def test_percentile_interval_hand_computed() -> None:
    d = np.arange(101, dtype=float)  # quantile q of 0..100 is 100q exactly
    ci = percentile_interval(d, 0.95)
    assert ci.low == pytest.approx(2.5)
    assert ci.high == pytest.approx(97.5)


def test_basic_interval_reflects_percentile_interval_about_observed() -> None:
    d = np.arange(101, dtype=float)
    ci = basic_interval(d, 40.0, 0.9)
    assert ci.low == pytest.approx(2 * 40.0 - 95.0)
    assert ci.high == pytest.approx(2 * 40.0 - 5.0)


def test_percentile_interval_rejects_2d_distribution() -> None:
    with pytest.raises(ValueError, match=r"`distribution` must be a non-empty 1-D array"):
        percentile_interval(np.zeros((3, 3)))


def _bootstrap_result(dist: np.ndarray) -> stats._resampling.BootstrapResult:
    return stats._resampling.BootstrapResult(
        confidence_interval=None, bootstrap_distribution=dist, standard_error=float(np.std(dist, ddof=1))
    )


def test_bca_interval_equals_scipy_on_the_same_distribution() -> None:
    # scipy recomputes BCa from a given bootstrap distribution (n_resamples=0) with a brute-force
    # jackknife; ours takes closed-form leave-one-out means.
    rng = np.random.default_rng(3)
    x = rng.exponential(size=150)
    dist = rng.choice(x, size=(4000, x.size)).mean(axis=1)
    ref = stats.bootstrap(
        (x,),
        np.mean,
        n_resamples=0,
        bootstrap_result=_bootstrap_result(dist),
        method="BCa",
        confidence_level=0.9,
    )
    loo = (x.sum() - x) / (x.size - 1)
    ci = bca_interval(dist, float(x.mean()), loo, 0.9)
    assert ci.low == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert ci.high == pytest.approx(ref.confidence_interval.high, rel=1e-12)


def test_bca_acceleration_is_zero_for_symmetric_jackknife() -> None:
    assert bca_acceleration(np.array([-1.0, 0.0, 1.0])) == pytest.approx(0.0)


def test_bca_interval_degenerate_is_nan_with_warning() -> None:
    with pytest.warns(DegenerateDataWarning, match="BCa confidence interval cannot be calculated"):
        ci = bca_interval(np.full(100, 0.5), 0.5, np.full(10, 0.5))
    assert math.isnan(ci.low) and math.isnan(ci.high)


def test_bca_interval_rejects_empty_jackknife() -> None:
    with pytest.raises(ValueError, match=r"`jackknife_values` must be a non-empty 1-D array"):
        bca_interval(np.arange(10.0), 4.5, [np.array([])])
