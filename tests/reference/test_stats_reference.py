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

from lm_eval_mtl.stats.bootstrap import BootstrapMethod, ItemScores, bootstrap_composite
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
def test_stratified_composite_agrees_with_scipy_multisample_bootstrap(
    method: BootstrapMethod, scipy_method: str
) -> None:
    rng = np.random.default_rng(5)
    a = (rng.random(300) < 0.8).astype(float)  # binomial fast path
    b = rng.choice([-1.0, 0.0, 1.0], size=200, p=[0.2, 0.5, 0.3])  # multinomial fast path
    c = _skewed(6, 150)  # gather
    w = np.array([0.5, 0.3, 0.2])

    def composite(x: np.ndarray, y: np.ndarray, z: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(w[0] * x.mean(axis=axis) + w[1] * y.mean(axis=axis) + w[2] * z.mean(axis=axis))

    ours = bootstrap_composite(
        [ItemScores(a), ItemScores(b), ItemScores(c)],
        w.tolist(),
        method=method,
        n_resamples=B,
        rng=3,
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


# --------------------------------------------------------------------------- BCa on skewed data


def _exponential(seed: int, n: int) -> np.ndarray:
    return np.random.default_rng(seed).exponential(size=n)


def _leave_one_out_means(x: np.ndarray) -> np.ndarray:
    return np.asarray((x.sum() - x) / (x.size - 1), dtype=np.float64)


def test_bca_acceleration_of_the_mean_is_the_sample_skewness_formula() -> None:
    # For the mean, U_i = (n-1)(mean(theta_(.)) - theta_(i)) = x_i - xbar, so
    # a = sum (x - xbar)^3 / (6 (sum (x - xbar)^2)^(3/2))  (Efron & Tibshirani 1993, eq. 14.15).
    from lm_eval_mtl.stats.intervals import bca_acceleration

    x = _exponential(11, 40)
    e = x - x.mean()
    expected = float(np.sum(e**3) / (6.0 * np.sum(e**2) ** 1.5))
    assert expected > 0.01  # right-skewed: a clearly positive acceleration
    assert bca_acceleration(_leave_one_out_means(x)) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("sample", ["exponential", "lognormal"])
def test_bca_interval_on_scipys_own_distribution_equals_scipy(sample: str) -> None:
    # The same bootstrap distribution in, the same BCa bounds out: no Monte-Carlo error at all.
    from lm_eval_mtl.stats.intervals import bca_interval

    x = _exponential(3, 30) if sample == "exponential" else _skewed(4, 30)
    ref = stats.bootstrap((x,), np.mean, method="BCa", n_resamples=5000, confidence_level=0.9, rng=7)
    ours = bca_interval(ref.bootstrap_distribution, float(x.mean()), _leave_one_out_means(x), 0.9)
    assert ours.low == pytest.approx(ref.confidence_interval.low, rel=1e-12)
    assert ours.high == pytest.approx(ref.confidence_interval.high, rel=1e-12)


def test_bca_on_exponential_sample_agrees_with_scipy_within_monte_carlo_error() -> None:
    # Small, strongly skewed sample: BCa moves both bounds up against the percentile
    # interval by far more than the tolerance, so agreement is a real check of BCa.
    x = _exponential(21, 25)
    ours = bootstrap_composite([ItemScores(x)], [1.0], method="bca", n_resamples=B, rng=8)
    pct = bootstrap_composite([ItemScores(x)], [1.0], method="percentile", n_resamples=B, rng=8)
    ref = stats.bootstrap((x,), np.mean, method="BCa", n_resamples=B, rng=9)
    # Monte-Carlo sd of a 2.5% quantile with B = 20,000 is ~0.02-0.03 se; the difference of
    # two independent runs ~0.04 se; allow 0.12 se (3 sd).
    tol = 0.12 * ref.standard_error
    assert ours.ci.low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci.high == pytest.approx(ref.confidence_interval.high, abs=tol)
    shift_low, shift_high = ours.ci.low - pct.ci.low, ours.ci.high - pct.ci.high
    assert shift_low > 0 and shift_high > 0  # positive skew: BCa shifts right
    assert max(shift_low, shift_high) > 2 * tol  # the test could tell BCa from percentile


def test_mcnemar_exact_tail_in_integers_matches_scipy_on_both_sides_of_the_switch() -> None:
    from lm_eval_mtl.stats.multiple import _EXACT_BINOM_MAX, mcnemar_exact_p

    cases = [(0, 0), (0, 7), (3, 3), (40, 61), (900, 1100), (7_400, 7_700), (15_000, 15_300)]
    for n10, n01 in cases:
        assert (n10 + n01 <= _EXACT_BINOM_MAX) or n10 + n01 == 30_300
        want = 1.0 if n10 + n01 == 0 else stats.binomtest(n10, n10 + n01, 0.5).pvalue
        assert float(mcnemar_exact_p(n10, n01)) == pytest.approx(want, rel=1e-12, abs=1e-300)
    got = mcnemar_exact_p(np.array([[5, 10], [0, 2]]), np.array([[5, 20], [0, 9]]))
    assert got.shape == (2, 2) and got[1, 0] == 1.0 and got[0, 0] == 1.0
