"""The item response model: formula, marginal frequencies, coupling, shared items, populations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from lm_eval_mtl.sim.profile import parse_profile
from lm_eval_mtl.sim.truth import SimTruth, doc_key

KEYS = [f"item-{i}" for i in range(4000)]


def _truth(**kw: object) -> SimTruth:
    raw = {
        "coupling": kw.pop("coupling", 0.5),
        "default": {"ability": 0.3, "difficulty_mean": -0.2, "difficulty_sd": 0.8, "discrimination": 1.5},
        "transfer": {"up": {"t": 1.0}},
    }
    return SimTruth(parse_profile(raw), **kw)  # type: ignore[arg-type]


def test_p_correct_is_the_three_parameter_logistic() -> None:
    tr = _truth(seed=3)
    arr = tr.item_arrays("t", KEYS[:50], [4] * 50)
    a, b = arr["discrimination"], arr["difficulty"]
    expected = 0.25 + 0.75 / (1.0 + np.exp(-a * (0.3 - b)))
    np.testing.assert_allclose(arr["p_correct"], expected, rtol=1e-12)
    assert np.all(arr["guess"] == 0.25)


def test_item_parameters_follow_their_distributions() -> None:
    arr = _truth(seed=1).item_arrays("t", KEYS)
    assert stats.kstest(arr["difficulty"], stats.norm(loc=-0.2, scale=0.8).cdf).pvalue > 1e-3
    assert (
        stats.kstest(np.log(arr["discrimination"]), stats.norm(loc=math.log(1.5), scale=0.25).cdf).pvalue
        > 1e-3
    )
    assert stats.kstest(arr["draw"], stats.uniform.cdf).pvalue > 1e-3


def test_correct_frequency_matches_p_correct() -> None:
    arr = _truth(seed=2).item_arrays("t", KEYS)
    p = arr["p_correct"]
    z = (arr["correct"].sum() - p.sum()) / math.sqrt((p * (1 - p)).sum())
    assert abs(z) < 4.0


def test_items_share_parameters_across_checkpoints_and_draw_seeds_not_seeds() -> None:
    base = _truth(seed=5)
    other = _truth(seed=5, draw_seed=99, checkpoint="up")
    a, b = base.item_arrays("t", KEYS[:100]), other.item_arrays("t", KEYS[:100])
    np.testing.assert_array_equal(a["difficulty"], b["difficulty"])
    np.testing.assert_array_equal(a["discrimination"], b["discrimination"])
    assert not np.array_equal(a["draw"], b["draw"])
    c = _truth(seed=6).item_arrays("t", KEYS[:100])
    assert not np.array_equal(a["difficulty"], c["difficulty"])


def test_full_coupling_makes_a_better_checkpoint_dominate_item_by_item() -> None:
    base = _truth(seed=4, coupling=1.0)
    up = base.with_checkpoint("up")
    a, b = base.item_arrays("t", KEYS)["correct"], up.item_arrays("t", KEYS)["correct"]
    assert up.theta("t") == pytest.approx(base.theta("t") + 1.0)
    assert np.all(b >= a) and b.sum() > a.sum()


@pytest.mark.parametrize(("coupling", "positive"), [(0.0, False), (0.9, True)])
def test_coupling_sets_agreement_between_checkpoints(coupling: float, positive: bool) -> None:
    base = _truth(seed=8, coupling=coupling)
    a = base.item_arrays("t", KEYS)
    b = base.with_checkpoint("other").item_arrays("t", KEYS)
    r = np.corrcoef(a["correct"] - a["p_correct"], b["correct"] - b["p_correct"])[0, 1]
    if positive:
        assert r > 0.3
    else:
        assert abs(r) < 4 / math.sqrt(len(KEYS))


def test_guessing_floor_is_chance_for_multiple_choice_and_zero_for_generation() -> None:
    raw = {"default": {"ability": -40.0}}
    tr = SimTruth(parse_profile(raw), seed=0)
    assert tr.expected_accuracy("t", KEYS[:200], [5] * 200) == pytest.approx(0.2, abs=1e-9)
    assert tr.expected_accuracy("t", KEYS[:200]) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(ValueError, match="`keys` must name at least one item of task 't'"):
        tr.expected_accuracy("t", [])


def test_population_abilities_correlate_through_the_loadings() -> None:
    raw = {"tasks": {"x": {"loading": 0.9}, "y": {"loading": 0.6}}, "population": {"unique_sd": 0.5}}
    prof = parse_profile(raw)
    th = np.array([[SimTruth(prof, seed=1, member=m).theta(t) for t in ("x", "y")] for m in range(3000)])
    expected = 0.9 * 0.6 / math.sqrt((0.81 + 0.25) * (0.36 + 0.25))
    assert np.corrcoef(th.T)[0, 1] == pytest.approx(expected, abs=0.05)


def test_planted_transfer_matrix_reports_the_profile_rows() -> None:
    tr = _truth()
    pt = tr.planted_transfer(["base", "up"], ["t", "u"])
    np.testing.assert_array_equal(pt.delta_theta, [[0.0, 0.0], [1.0, 0.0]])
    assert pt.nonzero().tolist() == [[False, False], [True, False]]
    assert pt.to_dict() == {"base": {"t": 0.0, "u": 0.0}, "up": {"t": 1.0, "u": 0.0}}


def test_doc_key_ignores_key_order_and_sees_content() -> None:
    assert doc_key({"a": 1, "b": [1, 2]}) == doc_key({"b": [1, 2], "a": 1})
    assert doc_key({"a": 1}) != doc_key({"a": 2})
