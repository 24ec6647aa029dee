"""Reference values: scipy.stats (independent resampling and closed forms) and published tables.

Published values:
- Wilson score intervals: Newcombe (1998), "Two-sided confidence intervals for the single
  proportion", Statistics in Medicine 17:857-872, Table II, method 3 (4 decimals).
- Benjamini & Hochberg (1995), section 4.1: 15 p-values; at level 0.05 the BH procedure
  rejects 4 hypotheses, Bonferroni-type step-down procedures (Holm) reject 3.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_composite
from lm_eval_mtl.stats.intervals import wilson_interval
from lm_eval_mtl.stats.multiple import benjamini_hochberg, holm, mcnemar

B = 20_000


def _skewed(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).lognormal(sigma=0.8, size=n)


@pytest.mark.parametrize(("method", "scipy_method"), [("percentile", "percentile"), ("bca", "BCa")])
def test_single_task_interval_agrees_with_scipy_bootstrap(method: str, scipy_method: str) -> None:
    x = _skewed(0, 120)
    ours = bootstrap_composite([ItemScores(x)], [1.0], method=method, n_resamples=B, rng=1)  # type: ignore[arg-type]
    ref = stats.bootstrap((x,), np.mean, method=scipy_method, n_resamples=B, rng=2)
    # Monte-Carlo sd of a 2.5% quantile with B = 20,000 is ~0.02 se; allow 0.12 se for the difference.
    tol = 0.12 * ref.standard_error
    assert ours.ci.low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci.high == pytest.approx(ref.confidence_interval.high, abs=tol)
    assert ours.se == pytest.approx(ref.standard_error, rel=0.03)


@pytest.mark.parametrize(("method", "scipy_method"), [("percentile", "percentile"), ("bca", "BCa")])
def test_stratified_composite_agrees_with_scipy_multisample_bootstrap(method: str, scipy_method: str) -> None:
    rng = np.random.default_rng(5)
    a = (rng.random(300) < 0.8).astype(float)  # binomial fast path
    b = rng.choice([-1.0, 0.0, 1.0], size=200, p=[0.2, 0.5, 0.3])  # multinomial fast path
    c = _skewed(6, 150)  # gather
    w = np.array([0.5, 0.3, 0.2])

    def composite(x: np.ndarray, y: np.ndarray, z: np.ndarray, axis: int = -1) -> np.ndarray:
        return w[0] * x.mean(axis=axis) + w[1] * y.mean(axis=axis) + w[2] * z.mean(axis=axis)

    ours = bootstrap_composite(
        [ItemScores(a), ItemScores(b), ItemScores(c)],
        w,
        method=method,
        n_resamples=B,
        rng=3,  # type: ignore[arg-type]
    )
    ref = stats.bootstrap((a, b, c), composite, method=scipy_method, n_resamples=B, rng=4)
    tol = 0.12 * ref.standard_error
    assert ours.value == pytest.approx(float(composite(a, b, c)), rel=1e-14)
    assert ours.ci.low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci.high == pytest.approx(ref.confidence_interval.high, abs=tol)
    assert ours.se == pytest.approx(ref.standard_error, rel=0.03)


@pytest.mark.parametrize(
    ("k", "n", "low", "high"),
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)],
)
def test_wilson_interval_reproduces_newcombe_1998(k: int, n: int, low: float, high: float) -> None:
    ci = wilson_interval(k, n, 0.95)
    assert round(ci.low, 4) == low and round(ci.high, 4) == high
    ref = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert ci.low == pytest.approx(ref.low, abs=1e-12) and ci.high == pytest.approx(ref.high, abs=1e-12)


BH_1995 = [
    0.0001,
    0.0004,
    0.0019,
    0.0095,
    0.0201,
    0.0278,
    0.0298,
    0.0344,
    0.0459,
    0.3240,
    0.4262,
    0.5719,
    0.6528,
    0.7590,
    1.0,
]


def test_benjamini_hochberg_1995_example_rejects_four() -> None:
    adj = benjamini_hochberg(BH_1995)
    assert int(np.sum(adj <= 0.05)) == 4
    np.testing.assert_allclose(adj, stats.false_discovery_control(BH_1995, method="bh"), rtol=1e-13)


def test_holm_on_the_1995_example_rejects_three() -> None:
    assert int(np.sum(holm(BH_1995) <= 0.05)) == 3


def test_mcnemar_exact_matches_scipy_binomtest() -> None:
    rng = np.random.default_rng(0)
    a = (rng.random(500) < 0.7).astype(int)
    b = np.where(rng.random(500) < 0.04, 1 - a, a)
    res = mcnemar(a, b, method="exact")
    n10 = int(np.sum((a == 1) & (b == 0)))
    n01 = int(np.sum((a == 0) & (b == 1)))
    assert res.p_value == pytest.approx(stats.binomtest(n10, n10 + n01, 0.5).pvalue, rel=1e-12)
