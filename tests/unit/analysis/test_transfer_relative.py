"""Relative transfer R[s, t] = T[s, t] / |T[t, t]| when the in-task gain T[t, t] is negative.

Dividing by |T[t, t]| (not T[t, t]) keeps every off-diagonal cell's sign: positive transfer
stays positive and interference stays negative even when training on t hurt t itself. The
diagonal of such a target is then -1.
"""

from __future__ import annotations

import numpy as np
import pytest

from lm_eval_mtl.analysis.transfer import transfer_from_scores

BASE = {"a": np.array([1.0, 1, 0, 0]), "b": np.zeros(4)}
CHECKPOINTS = {
    # training on a hurts a: 0.5 -> 0.0, T[a, a] = -0.5
    "a": {"a": np.zeros(4), "b": np.array([1.0, 0, 0, 0])},
    # b helps a (0.5 -> 0.75, +0.25) and itself (0 -> 0.75, T[b, b] = +0.75)
    "b": {"a": np.array([1.0, 1, 1, 0]), "b": np.array([1.0, 1, 1, 0])},
    # c interferes with a (0.5 -> 0.25, -0.25) and leaves b alone
    "c": {"a": np.array([1.0, 0, 0, 0]), "b": np.zeros(4)},
}


def test_negative_diagonal_keeps_off_diagonal_signs() -> None:
    tm = transfer_from_scores(BASE, CHECKPOINTS, n_resamples=50, rng=0)
    assert tm.sources == ("a", "b", "c") and tm.targets == ("a", "b")
    # T by hand (rows a, b, c; columns a, b)
    np.testing.assert_allclose(tm.delta, [[-0.5, 0.25], [0.25, 0.75], [-0.25, 0.0]], rtol=1e-15)
    # column a: divide by |T[a, a]| = 0.5 -> -0.5/0.5, +0.25/0.5, -0.25/0.5
    # column b: divide by |T[b, b]| = 0.75 -> 0.25/0.75, 0.75/0.75, 0/0.75
    np.testing.assert_allclose(tm.relative, [[-1.0, 1 / 3], [0.5, 1.0], [-0.5, 0.0]], rtol=1e-15)
    # dividing by the signed diagonal would have flipped column a's signs
    assert tm.relative[1, 0] > 0 and tm.delta[1, 0] > 0  # help stays help
    assert tm.relative[2, 0] < 0 and tm.delta[2, 0] < 0  # interference stays interference
    assert tm.relative[0, 0] == -1.0  # the diagonal of a hurt target is -1, not +1
    assert np.all(np.sign(tm.relative) == np.sign(tm.delta))


def test_relative_transfer_does_not_depend_on_the_scale() -> None:
    # z = scale * raw: scale 2 doubles T[., a] and |T[a, a]| alike; R is unchanged.
    tm = transfer_from_scores(BASE, CHECKPOINTS, scale={"a": 2.0}, n_resamples=50, rng=0)
    assert tm.delta[0, 0] == pytest.approx(-1.0, rel=1e-15)
    np.testing.assert_allclose(tm.relative[:, 0], [-1.0, 0.5, -0.5], rtol=1e-15)
    assert tm.to_dict()["relative"][1][0] == pytest.approx(0.5, rel=1e-15)
