"""The analytic composite: normalization, weighted sum, stderr with and without overlaps."""

from __future__ import annotations

import math

import numpy as np
import pytest

from lm_eval_mtl.scoring.analytic import analytic_composite, normalize


def test_normalize_maps_chance_to_zero_and_ceiling_to_one() -> None:
    assert normalize(0.25, 0.25, 1.0) == 0.0
    assert normalize(1.0, 0.25, 1.0) == 1.0
    assert normalize(0.0, 0.25, 1.0) == pytest.approx(-1 / 3)  # not clipped
    assert normalize(50.0, 0.0, 100.0) == 0.5


def test_normalize_rejects_a_ceiling_not_above_chance() -> None:
    with pytest.raises(ValueError, match=r"`ceiling` must exceed `chance`; got chance=0.5, ceiling=0.5"):
        normalize(0.7, 0.5, 0.5)


def test_disjoint_members_add_variances() -> None:
    z, se, w = [0.2, 0.6, 0.4], [0.03, 0.04, 0.05], [0.5, 0.25, 0.25]
    comp = analytic_composite(z, se, w)
    assert comp.value == pytest.approx(0.5 * 0.2 + 0.25 * 0.6 + 0.25 * 0.4)
    assert comp.se == pytest.approx(math.sqrt((0.5 * 0.03) ** 2 + (0.25 * 0.04) ** 2 + (0.25 * 0.05) ** 2))


def test_overlapping_members_add_errors_as_perfectly_correlated() -> None:
    z, se, w = [0.2, 0.6, 0.4], [0.03, 0.04, 0.05], [0.5, 0.25, 0.25]
    comp = analytic_composite(z, se, w, groups=["a", "gpqa", "gpqa"])
    # Var = (w1 se1)^2 + (w2 se2 + w3 se3)^2: the Cauchy-Schwarz upper bound for the pair
    assert comp.se == pytest.approx(math.sqrt((0.5 * 0.03) ** 2 + (0.25 * 0.04 + 0.25 * 0.05) ** 2))
    assert comp.se > analytic_composite(z, se, w).se
    assert comp.value == analytic_composite(z, se, w).value


def test_overlap_bound_equals_the_exact_se_of_identical_members() -> None:
    # two members scoring the very same items with the same metric: the true se of their
    # weighted sum is that of one member, which the correlated bound reproduces exactly
    rng = np.random.default_rng(0)
    x = rng.binomial(1, 0.6, 500).astype(float)
    se = float(x.std(ddof=1) / math.sqrt(x.size))
    comp = analytic_composite([x.mean(), x.mean()], [se, se], [0.5, 0.5], groups=["t", "t"])
    assert comp.se == pytest.approx(se)


def test_a_missing_stderr_makes_the_composite_se_nan() -> None:
    assert math.isnan(analytic_composite([0.1, 0.2], [0.01, math.nan], [0.5, 0.5]).se)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (([0.1], [0.1, 0.2], [1.0]), r"must be non-empty and of equal length; got 1, 2, 1"),
        (([math.nan], [0.1], [1.0]), r"`values` must be finite"),
        (([0.1, 0.2], [0.1, 0.1], [0.7, 0.7]), r"`weights` must be non-negative and sum to 1"),
        (([0.1, 0.2], [0.1, 0.1], [1.5, -0.5]), r"`weights` must be non-negative and sum to 1"),
    ],
)
def test_bad_input_is_refused_with_the_contract(args: tuple[list[float], ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        analytic_composite(*args)


def test_groups_must_match_the_values() -> None:
    with pytest.raises(ValueError, match=r"`groups` must have one key per value; got 1 for 2 values"):
        analytic_composite([0.1, 0.2], [0.1, 0.1], [0.5, 0.5], groups=["a"])
