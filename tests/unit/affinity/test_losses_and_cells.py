"""Per-item losses on gold answers, and the affinity matrices from per-item arrays (numpy only)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from lm_eval_mtl.affinity.cells import CellInputs, affinity_cells
from lm_eval_mtl.affinity.losses import item_losses
from lm_eval_mtl.errors import DegenerateDataWarning


def test_choice_cross_entropy_and_its_derivative_match_finite_differences() -> None:
    ll = np.array([-1.0, -2.5, -0.3, -4.0, -4.2])
    starts = np.array([0, 3, 5])
    gold = [(1,), (0,)]
    out = item_losses(ll, starts, gold, "choice_ce")
    p0 = np.exp(ll[:3]) / np.exp(ll[:3]).sum()
    assert out.loss[0] == pytest.approx(-math.log(p0[1]))
    eps = 1e-6
    for r in range(5):
        bumped = ll.copy()
        bumped[r] += eps
        diff = (item_losses(bumped, starts, gold, "choice_ce").loss - out.loss) / eps
        item = 0 if r < 3 else 1
        assert out.weight[r] == pytest.approx(diff[item], abs=1e-5)


def test_multiple_gold_answers_use_the_probability_of_any_of_them() -> None:
    ll = np.log(np.array([0.2, 0.3, 0.5]))
    out = item_losses(ll, np.array([0, 3]), [(0, 2)], "choice_ce")
    assert out.loss[0] == pytest.approx(-math.log(0.7))
    assert out.weight.sum() == pytest.approx(0.0, abs=1e-12)


def test_nll_items_have_one_request_and_derivative_minus_one() -> None:
    out = item_losses(np.array([-3.0, -1.5]), np.array([0, 1, 2]), [(), ()], "nll")
    np.testing.assert_allclose(out.loss, [3.0, 1.5])
    np.testing.assert_allclose(out.weight, [-1.0, -1.0])
    with pytest.raises(ValueError, match="exactly one request"):
        item_losses(np.array([-3.0, -1.5]), np.array([0, 2]), [()], "nll")
    with pytest.raises(ValueError, match="must be finite"):
        item_losses(np.array([-np.inf]), np.array([0, 1]), [()], "nll")


def _features(rng: np.random.Generator, means: np.ndarray, n: int, noise: float) -> list[np.ndarray]:
    return [m + noise * rng.normal(size=(n, means.shape[1])) for m in means]


def test_cosine_and_first_order_follow_their_formulas() -> None:
    rng = np.random.default_rng(0)
    means = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    feats = _features(rng, means, 40, 0.01)
    losses = [np.full(40, 2.0), np.full(40, 1.0), np.full(40, 4.0)]
    res = affinity_cells(
        CellInputs(feats, losses, None, step_scale=0.5),
        confidence_level=0.9,
        n_resamples=200,
        n_splits=10,
        rng=1,
    )
    g = np.stack([f.mean(axis=0) for f in feats])
    cos = g @ g.T / np.outer(np.linalg.norm(g, axis=1), np.linalg.norm(g, axis=1))
    np.fill_diagonal(cos, 1.0)
    np.testing.assert_allclose(res.measures["cosine"].value, cos)
    fo = 0.5 * (g @ g.T) / (np.linalg.norm(g, axis=1)[:, None] * np.array([2.0, 1.0, 4.0])[None, :])
    np.testing.assert_allclose(res.measures["first_order"].value, fo)
    assert res.measures["cosine"].value[0, 1] == pytest.approx(math.sqrt(0.5), abs=0.01)
    m = res.measures["cosine"]
    assert np.all(m.ci_low <= m.value + 1e-12) and np.all(m.value <= m.ci_high + 1e-12)
    assert "tag" not in res.measures
    np.testing.assert_allclose(res.split_half_cosine, 1.0, atol=1e-3)


def test_reliability_is_high_for_signal_and_near_zero_for_noise() -> None:
    rng = np.random.default_rng(3)
    strong = _features(rng, np.array([[1.0, 0.0], [1.0, 0.2], [0.3, 1.0]]), 60, 0.05)  # no cell near 0
    weak = _features(rng, np.zeros((3, 20)), 60, 1.0)
    losses = [np.ones(60)] * 3
    hi = affinity_cells(
        CellInputs(strong, losses, None, 1.0), confidence_level=0.95, n_resamples=50, n_splits=40, rng=0
    )
    lo = affinity_cells(
        CellInputs(weak, losses, None, 1.0), confidence_level=0.95, n_resamples=50, n_splits=40, rng=0
    )
    off = ~np.eye(3, dtype=bool)
    assert np.nanmin(hi.measures["cosine"].reliability[off]) > 0.9
    assert np.nanmean(lo.measures["cosine"].reliability[off]) < 0.5
    assert np.isnan(hi.measures["cosine"].reliability[0, 0])  # cos(t, t) = 1 by definition


def test_tag_is_one_minus_the_loss_ratio_with_target_item_intervals() -> None:
    rng = np.random.default_rng(5)
    feats = _features(rng, np.eye(2), 30, 0.1)
    losses = [np.full(30, 2.0), np.full(30, 1.0)]
    after = [np.stack([np.full(30, 1.5), np.full(30, 2.2)]), np.stack([np.full(30, 1.0), np.full(30, 0.5)])]
    res = affinity_cells(
        CellInputs(feats, losses, after, 1.0), confidence_level=0.95, n_resamples=100, n_splits=5, rng=0
    )
    tag = res.measures["tag"]
    np.testing.assert_allclose(tag.value, [[1 - 1.5 / 2, 1 - 1.0 / 1], [1 - 2.2 / 2, 1 - 0.5 / 1]])
    np.testing.assert_allclose(tag.ci_low, tag.value, atol=1e-12)  # constant losses: no spread


def test_same_seed_same_numbers_and_degenerate_inputs_warn() -> None:
    rng = np.random.default_rng(7)
    feats = _features(rng, np.eye(3), 8, 0.3)
    losses = [rng.random(8) + 0.5 for _ in range(3)]
    a = affinity_cells(
        CellInputs(feats, losses, None, 1.0), confidence_level=0.95, n_resamples=64, n_splits=8, rng=11
    )
    b = affinity_cells(
        CellInputs(feats, losses, None, 1.0), confidence_level=0.95, n_resamples=64, n_splits=8, rng=11
    )
    for name in a.measures:
        np.testing.assert_array_equal(a.measures[name].ci_low, b.measures[name].ci_low)
        np.testing.assert_array_equal(a.measures[name].reliability, b.measures[name].reliability)
    tiny = [f[:3] for f in feats]
    with pytest.warns(DegenerateDataWarning, match="fewer than 4 items"):
        r = affinity_cells(
            CellInputs(tiny, [x[:3] for x in losses], None, 1.0),
            confidence_level=0.95,
            n_resamples=10,
            n_splits=4,
            rng=0,
        )
    assert np.isnan(r.measures["cosine"].matrix_reliability)
    zero = [np.zeros((6, 3)), feats[1][:6], feats[2][:6]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.warns(DegenerateDataWarning, match="zero mean gradient"):
            r = affinity_cells(
                CellInputs(zero, [x[:6] for x in losses], None, 1.0),
                confidence_level=0.95,
                n_resamples=10,
                n_splits=4,
                rng=0,
            )
    assert np.isnan(r.measures["cosine"].value[0, 1])


def test_a_rank_without_items_of_a_task_has_empty_losses() -> None:
    out = item_losses(np.zeros(0), np.array([0]), [], "choice_ce")
    assert out.loss.shape == (0,) and out.weight.shape == (0,)
