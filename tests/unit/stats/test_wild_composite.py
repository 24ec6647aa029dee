"""The wild cluster bootstrap-t of a composite (lm_eval_mtl.stats.wild_composite)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lm_eval_mtl.stats.clusters import clustered_t_interval
from lm_eval_mtl.stats.wild import WEBB_WEIGHTS
from lm_eval_mtl.stats.wild_composite import WildStratum, wild_composite


def _clustered(gen: np.random.Generator, g: int, mu: float = 0.7) -> tuple[np.ndarray, np.ndarray]:
    labels = np.repeat(np.arange(g), gen.integers(3, 12, size=g))
    p = gen.beta(2 * mu, 2 * (1 - mu), size=g)
    return (gen.random(labels.size) < p[labels]).astype(float), labels


def test_se_is_the_cr1_composite_se() -> None:
    gen = np.random.default_rng(0)
    (y1, l1), (y2, l2) = _clustered(gen, 6), _clustered(gen, 30)
    w = (0.3 * 2.0, 0.7 * 4.0 / 3.0)  # weight x normalization scale
    value = w[0] * y1.mean() + w[1] * y2.mean()
    res = wild_composite(
        [WildStratum.from_items(y1, l1, w[0]), WildStratum.from_items(y2, l2, w[1])],
        value,
        rng=0,
        n_resamples=999,
    )
    se1 = clustered_t_interval(y1, l1).se
    se2 = clustered_t_interval(y2, l2).se
    assert res.se == pytest.approx(math.hypot(w[0] * se1, w[1] * se2), rel=1e-12)
    assert res.weights == ("webb", "rademacher")
    assert res.n_clusters == (6, 30)
    assert res.ci.low < value < res.ci.high


def test_one_webb_stratum_matches_a_written_out_wcu_bootstrap_t() -> None:
    """Same generator stream: the module's draws equal a direct per-cluster implementation."""
    gen = np.random.default_rng(1)
    y, lab = _clustered(gen, 7)
    b = 4000
    res = wild_composite([WildStratum.from_items(y, lab, 1.0)], y.mean(), n_resamples=b, rng=5)
    g = 7
    sums = np.bincount(lab, weights=y)
    sizes = np.bincount(lab).astype(float)
    n, m = sizes.sum(), y.mean()
    u = sums - m * sizes
    v = WEBB_WEIGHTS[np.random.default_rng(5).integers(0, 6, size=(b, g))]
    star = m * sizes + v * u  # wild cluster totals
    m_star = star.sum(1) / n
    resid = star - m_star[:, None] * sizes
    se_star = np.sqrt(g / (g - 1) * (resid**2).sum(1)) / n
    t_ref = (m_star - m) / se_star
    np.testing.assert_allclose(np.sort(res.t_star), np.sort(t_ref), rtol=1e-9, atol=1e-12)


def test_compressed_rademacher_draws_have_the_direct_distribution() -> None:
    """Clusters sharing (residual, size) get one binomial draw; same law as per-cluster +-1 weights."""
    gen = np.random.default_rng(2)
    y = (gen.random(400) < 0.7).astype(float)  # unclustered 0/1: two distinct (residual, 1) pairs
    b = 20000
    res = wild_composite([WildStratum.from_items(y, None, 1.0)], y.mean(), n_resamples=b, rng=3)
    u = y - y.mean()
    v = np.random.default_rng(4).choice([-1.0, 1.0], size=(b, y.size))
    d = (v @ u) / y.size
    var = (u @ u - y.size * d**2) * (y.size / (y.size - 1)) / y.size**2
    t_direct = d / np.sqrt(var)
    assert stats.ks_2samp(res.t_star, t_direct).pvalue > 1e-3
    assert res.weights == ("rademacher",)


def test_other_levels_come_from_the_stored_t_statistics() -> None:
    gen = np.random.default_rng(6)
    y, lab = _clustered(gen, 8)
    res = wild_composite([WildStratum.from_items(y, lab, 1.0)], y.mean(), n_resamples=2000, rng=0)
    assert res.confidence_interval(0.95) == res.ci
    lo90, hi90 = res.confidence_interval(0.90)
    assert res.ci.low < lo90 < y.mean() < hi90 < res.ci.high


def test_a_dominant_well_measured_extra_part_gives_the_normal_interval() -> None:
    """The extra part adds to se and to every replicate's variance; when it dominates, t* is normal."""
    gen = np.random.default_rng(7)
    y, lab = _clustered(gen, 8)
    st = [WildStratum.from_items(y, lab, 1.0)]
    plain = wild_composite(st, y.mean(), n_resamples=4000, rng=0)
    extra = np.random.default_rng(1).normal(0.0, 1.0, 4000)
    res = wild_composite(st, y.mean(), extra_deviations=extra, extra_variance=1.0, n_resamples=4000, rng=0)
    assert res.se == pytest.approx(math.sqrt(plain.se**2 + 1.0))
    half = 1.959963984540054 * res.se
    assert res.ci.low == pytest.approx(y.mean() - half, rel=0.05)
    assert res.ci.high == pytest.approx(y.mean() + half, rel=0.05)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one stratum"):
        wild_composite([], 0.0)
    st = WildStratum.from_items([1.0, 0.0, 1.0], [0, 1, 2], 1.0)
    with pytest.raises(ValueError, match="extra_deviations"):
        wild_composite([st], 0.5, extra_deviations=np.zeros(3), n_resamples=10)
    with pytest.raises(ValueError, match="at least one item"):
        wild_composite([WildStratum(np.zeros(0), np.zeros(0), 1.0)], 0.0)
