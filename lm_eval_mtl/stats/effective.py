"""Effective number of tests (tasks) from the eigenvalues of a correlation matrix.

* Nyholt (2004), Am. J. Hum. Genet. 74:765-769:
  ``M_eff = 1 + (M - 1) (1 - Var(lambda) / M)``, with ``Var`` the sample
  variance (ddof=1) of the M eigenvalues (their mean is 1 for a correlation
  matrix). Identity: M; all-ones matrix: 1.
* Li & Ji (2005), Heredity 95:221-227:
  ``M_eff = sum_i f(|lambda_i|)``, ``f(x) = I(x >= 1) + (x - floor(x))``.
  Identity: M; all-ones: 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import InsufficientDataError

__all__ = ["EffectiveNumber", "effective_number", "li_ji", "nyholt"]


def _eigenvalues_iv(r: npt.ArrayLike) -> npt.NDArray[np.float64]:
    a = np.asarray(r, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise InsufficientDataError(f"`r` must be a non-empty square matrix; got shape {a.shape}.")
    if not np.all(np.isfinite(a)):
        raise InsufficientDataError("`r` must be finite; it has NaN/inf cells.")
    if not np.allclose(a, a.T, atol=1e-10):
        raise InsufficientDataError("`r` must be symmetric.")
    if not np.allclose(np.diag(a), 1.0, atol=1e-8):
        raise InsufficientDataError(
            f"`r` must be a correlation matrix (unit diagonal); got diagonal {np.diag(a).tolist()}."
        )
    vals = np.asarray(np.linalg.eigvalsh(a), dtype=np.float64)
    return vals


def nyholt(r: npt.ArrayLike) -> float:
    """Nyholt's (2004) effective number of tests of correlation matrix ``r``.

    Raises:
        InsufficientDataError: ``r`` is not a finite symmetric matrix with unit diagonal.
    """
    lam = _eigenvalues_iv(r)
    m = lam.size
    if m == 1:
        return 1.0
    var = float(np.var(lam, ddof=1))
    return 1.0 + (m - 1) * (1.0 - var / m)


def li_ji(r: npt.ArrayLike) -> float:
    """Li and Ji's (2005) effective number of tests of correlation matrix ``r``.

    Raises:
        InsufficientDataError: ``r`` is not a finite symmetric matrix with unit diagonal.
    """
    lam: npt.NDArray[np.float64] = np.abs(_eigenvalues_iv(r))
    # Round away float noise so an eigenvalue of exactly 1 (or 2, ...) is not 0.9999999.
    lam = np.where(np.abs(lam - np.round(lam)) < 1e-9, np.round(lam), lam)
    f = (lam >= 1.0).astype(np.float64) + (lam - np.floor(lam))
    return float(math.fsum(f.tolist()))


@dataclass(frozen=True)
class EffectiveNumber:
    """Effective number of tasks by two estimators."""

    nyholt: float
    """Nyholt (2004)."""
    li_ji: float
    """Li and Ji (2005)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {"nyholt": self.nyholt, "li_ji": self.li_ji}


def effective_number(r: npt.ArrayLike) -> EffectiveNumber:
    """Both effective numbers of correlation matrix ``r``.

    Raises:
        InsufficientDataError: ``r`` is not a finite symmetric matrix with unit diagonal.
    """
    return EffectiveNumber(nyholt=nyholt(r), li_ji=li_ji(r))
