"""Coverage of 95% intervals on simulated per-item data with a known truth.

Each replication draws a fresh data set from a known population; an interval covers
when it contains the population mean. Replications are vectorized: every replication is
one "task" of :func:`bootstrap_task_means`, which resamples each task independently.
Monte-Carlo standard error of a coverage near 95% with R replications: sqrt(.95 * .05 / R)
(0.5 points at R = 2000, 0.7 at R = 1000), so the 93-97% band is >= 2.8 MC-SE wide.
"""

from __future__ import annotations

import numpy as np
import pytest

from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_task_means
from lm_eval_mtl.stats.intervals import (
    analytic_se_mean,
    clustered_se,
    normal_interval,
    percentile_interval,
    wilson_interval,
)

BETA_A, BETA_B = 2.0, 5.0  # skewed per-item scores in [0, 1], like a graded metric
BETA_MEAN = BETA_A / (BETA_A + BETA_B)


def _covers(lows: np.ndarray, highs: np.ndarray, truth: float) -> float:
    return float(np.mean((lows <= truth) & (truth <= highs)))


def test_analytic_normal_interval_covers_nominal() -> None:
    rng = np.random.default_rng(2024)
    data = rng.beta(BETA_A, BETA_B, size=(2000, 200))
    cis = [normal_interval(row.mean(), analytic_se_mean(row), 0.95) for row in data]
    cov = _covers(np.array([c.low for c in cis]), np.array([c.high for c in cis]), BETA_MEAN)
    assert 0.93 <= cov <= 0.97, cov


def test_percentile_bootstrap_interval_covers_nominal() -> None:
    rng = np.random.default_rng(7)
    data = rng.beta(BETA_A, BETA_B, size=(1500, 300))
    dist = bootstrap_task_means([ItemScores(row) for row in data], n_resamples=500, rng=8)
    cis = [percentile_interval(dist[:, r], 0.95) for r in range(dist.shape[1])]
    cov = _covers(np.array([c.low for c in cis]), np.array([c.high for c in cis]), BETA_MEAN)
    assert 0.93 <= cov <= 0.97, cov


def test_binomial_fast_path_percentile_interval_covers_nominal() -> None:
    p, n = 0.3, 400
    rng = np.random.default_rng(11)
    data = (rng.random((2000, n)) < p).astype(float)
    dist = bootstrap_task_means([ItemScores(row) for row in data], n_resamples=1000, rng=12)
    cis = [percentile_interval(dist[:, r], 0.95) for r in range(dist.shape[1])]
    cov = _covers(np.array([c.low for c in cis]), np.array([c.high for c in cis]), p)
    assert 0.93 <= cov <= 0.97, cov


def test_wilson_covers_where_the_normal_interval_undercovers_at_small_n() -> None:
    # n = 30, p = 0.1: the Wald interval is known to under-cover badly (Brown, Cai & DasGupta 2001).
    p, n = 0.1, 30
    k = np.random.default_rng(3).binomial(n, p, size=4000)
    wilson = [wilson_interval(int(x), n) for x in k]
    wald = [normal_interval(x / n, np.sqrt(x / n * (1 - x / n) / n)) for x in k]
    cov_wilson = _covers(np.array([c.low for c in wilson]), np.array([c.high for c in wilson]), p)
    cov_wald = _covers(np.array([c.low for c in wald]), np.array([c.high for c in wald]), p)
    assert 0.93 <= cov_wilson <= 0.98, cov_wilson
    assert cov_wald < 0.90, cov_wald


@pytest.fixture(scope="module")
def clustered_data() -> tuple[np.ndarray, np.ndarray]:
    """R replications of 100 clusters x 10 items; ICC = 0.5 (cluster sd 1, item sd 1); truth 0."""
    rng = np.random.default_rng(99)
    reps, n_clusters, size = 1000, 100, 10
    clusters = np.repeat(np.arange(n_clusters), size)
    data = rng.normal(size=(reps, n_clusters))[:, clusters] + rng.normal(size=(reps, n_clusters * size))
    return data, clusters


def test_naive_interval_undercovers_on_clustered_data(clustered_data: tuple[np.ndarray, np.ndarray]) -> None:
    data, _ = clustered_data
    cis = [normal_interval(row.mean(), analytic_se_mean(row)) for row in data]
    cov = _covers(np.array([c.low for c in cis]), np.array([c.high for c in cis]), 0.0)
    assert cov < 0.85, cov  # design effect 1 + 9 * 0.5 = 5.5: expected ~58%


def test_clustered_se_interval_covers_nominal(clustered_data: tuple[np.ndarray, np.ndarray]) -> None:
    data, clusters = clustered_data
    cis = [normal_interval(row.mean(), clustered_se(row, clusters)) for row in data]
    cov = _covers(np.array([c.low for c in cis]), np.array([c.high for c in cis]), 0.0)
    assert 0.93 <= cov <= 0.97, cov


def test_cluster_bootstrap_interval_covers_nominal(clustered_data: tuple[np.ndarray, np.ndarray]) -> None:
    data, clusters = clustered_data
    dist = bootstrap_task_means([ItemScores(row, clusters) for row in data], n_resamples=500, rng=5)
    cis = [percentile_interval(dist[:, r]) for r in range(dist.shape[1])]
    cov = _covers(np.array([c.low for c in cis]), np.array([c.high for c in cis]), 0.0)
    assert 0.93 <= cov <= 0.97, cov
