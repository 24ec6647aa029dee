"""Holm, Benjamini-Hochberg, McNemar and the minimum detectable effect vs independent computations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lm_eval_mtl.errors import InsufficientDataError, UnknownNameError
from lm_eval_mtl.stats.multiple import (
    MCNEMAR_EXACT_BELOW,
    benjamini_hochberg,
    holm,
    mcnemar,
    minimum_detectable_effect,
)


def _holm_by_loops(p: list[float]) -> list[float]:
    """Holm (1979) written from the definition, one p-value at a time."""
    m = len(p)
    order = sorted(range(m), key=lambda i: p[i])
    adj = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[i]))
        adj[i] = running
    return adj


P_SETS = [
    [0.01, 0.04, 0.03, 0.005],
    [0.5],
    [0.0, 1.0, 0.2, 0.2, 0.049],
    list(np.random.default_rng(0).random(30) ** 3),
]


@pytest.mark.parametrize("p", P_SETS)
def test_holm_matches_definition(p: list[float]) -> None:
    np.testing.assert_allclose(holm(p), _holm_by_loops(p), rtol=1e-14)


def test_holm_hand_computed() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005, 3*0.01, 2*0.03, 1*0.04 -> monotone 0.02, 0.03, 0.06, 0.06
    np.testing.assert_allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])


def test_holm_step_down_by_hand_differs_from_bonferroni() -> None:
    # m = 4, given out of order. Sorted: 0.01, 0.02, 0.03, 0.5.
    # step j multiplies the j-th smallest by (m - j + 1): 4*0.01 = 0.04, 3*0.02 = 0.06,
    # 2*0.03 = 0.06, 1*0.5 = 0.5; running maximum: 0.04, 0.06, 0.06, 0.5.
    p = [0.5, 0.03, 0.01, 0.02]
    expected = [0.5, 0.06, 0.04, 0.06]
    bonferroni = [min(1.0, 4 * x) for x in p]  # 1.0, 0.12, 0.04, 0.08
    np.testing.assert_allclose(holm(p), expected, rtol=1e-14)
    assert bonferroni == pytest.approx([1.0, 0.12, 0.04, 0.08])
    assert sum(abs(a - b) > 1e-9 for a, b in zip(holm(p), bonferroni, strict=True)) == 3
    # at alpha = 0.07 Holm rejects three hypotheses, Bonferroni only one
    assert int(np.sum(holm(p) <= 0.07)) == 3 and sum(b <= 0.07 for b in bonferroni) == 1


def test_holm_running_maximum_by_hand() -> None:
    # sorted 0.01, 0.011, 0.04, 0.045 -> 4*0.01 = 0.04, 3*0.011 = 0.033, 2*0.04 = 0.08, 1*0.045 = 0.045;
    # the step-down keeps the adjusted values monotone: 0.04, max(0.04, 0.033) = 0.04, 0.08, 0.08.
    np.testing.assert_allclose(holm([0.045, 0.01, 0.04, 0.011]), [0.08, 0.04, 0.08, 0.04], rtol=1e-14)


@pytest.mark.parametrize("p", P_SETS)
def test_benjamini_hochberg_matches_scipy(p: list[float]) -> None:
    np.testing.assert_allclose(
        benjamini_hochberg(p), stats.false_discovery_control(p, method="bh"), rtol=1e-13
    )


def test_adjusted_p_values_never_fall_below_raw() -> None:
    p = np.random.default_rng(1).random(50)
    assert np.all(holm(p) >= p) and np.all(benjamini_hochberg(p) >= p)
    assert np.all(holm(p) >= benjamini_hochberg(p) - 1e-15)


def test_p_value_adjustment_rejects_values_above_one() -> None:
    with pytest.raises(ValueError, match=r"`p_values` must be finite and in \[0, 1\]; got \[0.1, 1.5\]"):
        holm([0.1, 1.5])


def test_p_value_adjustment_rejects_empty() -> None:
    with pytest.raises(InsufficientDataError, match=r"`p_values` must hold at least 1 p-value; got 0"):
        benjamini_hochberg([])


def _pairs(n10: int, n01: int, n11: int = 5, n00: int = 3) -> tuple[np.ndarray, np.ndarray]:
    a = np.array([1] * n10 + [0] * n01 + [1] * n11 + [0] * n00)
    b = np.array([0] * n10 + [1] * n01 + [1] * n11 + [0] * n00)
    return a, b


@pytest.mark.parametrize(("n10", "n01"), [(3, 9), (0, 6), (10, 10), (1, 0)])
def test_mcnemar_exact_equals_two_sided_binomial_tail(n10: int, n01: int) -> None:
    a, b = _pairs(n10, n01)
    res = mcnemar(a, b, method="exact")
    n = n10 + n01
    k = min(n10, n01)
    expected = min(1.0, 2 * stats.binom.cdf(k, n, 0.5))  # symmetric null: doubled smaller tail
    assert res.p_value == pytest.approx(expected, rel=1e-12)
    assert (res.n10, res.n01, res.method) == (n10, n01, "exact")


def test_mcnemar_chi2_hand_computed() -> None:
    a, b = _pairs(30, 12)
    res = mcnemar(a, b, method="chi2")
    stat = (abs(30 - 12) - 1) ** 2 / 42
    assert res.statistic == pytest.approx(stat)
    assert res.p_value == pytest.approx(math.erfc(math.sqrt(stat / 2)), rel=1e-12)  # chi2(1) survival


def test_mcnemar_auto_switches_at_threshold() -> None:
    small = mcnemar(*_pairs(MCNEMAR_EXACT_BELOW - 10, 9))
    large = mcnemar(*_pairs(MCNEMAR_EXACT_BELOW, 9))
    assert small.method == "exact" and large.method == "chi2"


def test_mcnemar_accepts_booleans_and_no_discordant_pairs_gives_p_one() -> None:
    x = np.array([True, False, True])
    res = mcnemar(x, x)
    assert res.p_value == 1.0 and res.n01 == 0 and res.n10 == 0


def test_mcnemar_rejects_non_binary_scores() -> None:
    with pytest.raises(ValueError, match=r"`b` must hold only 0/1 or booleans; got values such as \[0.5\]"):
        mcnemar([1, 0], [0.5, 1])


def test_mcnemar_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError, match=r"`a` and `b` must score the same items; got 2 and 3 items"):
        mcnemar([1, 0], [0, 1, 1])


def test_mcnemar_unknown_method() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown McNemar method 'exakt'. Did you mean: exact\?"):
        mcnemar([1, 0], [0, 1], method="exakt")  # type: ignore[arg-type]


def test_minimum_detectable_effect_hand_computed() -> None:
    # z_0.975 = 1.959963984540054, z_0.8 = 0.8416212335729143
    assert minimum_detectable_effect(0.01) == pytest.approx(0.028015852181130, rel=1e-12)
    assert minimum_detectable_effect(0.02, alpha=0.01, power=0.9) == pytest.approx(
        0.02 * (stats.norm.ppf(0.995) + stats.norm.ppf(0.9)), rel=1e-12
    )


def test_minimum_detectable_effect_rejects_power_outside_unit_interval() -> None:
    with pytest.raises(ValueError, match=r"`power` must be in \(0, 1\); got 1.2"):
        minimum_detectable_effect(0.01, power=1.2)
