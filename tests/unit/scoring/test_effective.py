"""Effective number of tasks: Nyholt (2004) and Li & Ji (2005)."""

from __future__ import annotations

import numpy as np
import pytest

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.stats.effective import effective_number, li_ji, nyholt


@pytest.mark.parametrize("m", [1, 2, 5, 9])
def test_identity_gives_m_and_all_ones_gives_one(m: int) -> None:
    assert nyholt(np.eye(m)) == pytest.approx(m)
    assert li_ji(np.eye(m)) == pytest.approx(m)
    assert nyholt(np.ones((m, m))) == pytest.approx(1.0)
    assert li_ji(np.ones((m, m))) == pytest.approx(1.0)


def test_two_tasks_with_r_half_by_hand() -> None:
    # eigenvalues 1.5 and 0.5; Var(ddof=1) = (0.5^2 + 0.5^2) / 1 = 0.5
    # Nyholt: 1 + 1 * (1 - 0.5 / 2) = 1.75.  Li-Ji: f(1.5) + f(0.5) = 1.5 + 0.5 = 2.0
    r = np.array([[1.0, 0.5], [0.5, 1.0]])
    assert nyholt(r) == pytest.approx(1.75)
    assert li_ji(r) == pytest.approx(2.0)


def test_three_tasks_compound_symmetry_by_hand() -> None:
    # r = 0.5 off the diagonal: eigenvalues 2, 0.5, 0.5; Var(ddof=1) = (1 + .25 + .25) / 2 = 0.75
    # Nyholt: 1 + 2 * (1 - 0.75 / 3) = 2.5.  Li-Ji: f(2) + 2 f(0.5) = 1 + 0 + 0.5 + 0.5 = 2.0
    r = np.full((3, 3), 0.5) + 0.5 * np.eye(3)
    got = effective_number(r)
    assert got.nyholt == pytest.approx(2.5)
    assert got.li_ji == pytest.approx(2.0)
    assert got.to_dict() == {"nyholt": got.nyholt, "li_ji": got.li_ji}


@pytest.mark.parametrize(
    "r, match",
    [
        (np.ones((2, 3)), "square"),
        (np.array([[2.0, 0.1], [0.1, 1.0]]), "unit diagonal"),
        (np.array([[1.0, 0.2], [0.1, 1.0]]), "symmetric"),
        (np.array([[1.0, np.nan], [np.nan, 1.0]]), "finite"),
    ],
)
def test_bad_matrix_raises(r: np.ndarray, match: str) -> None:
    with pytest.raises(InsufficientDataError, match=match):
        nyholt(r)
