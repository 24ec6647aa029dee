"""Ledoit-Wolf shrinkage of a correlation matrix toward the identity.

Ledoit & Wolf (2004), "A well-conditioned estimator for large-dimensional
covariance matrices", J. Multivariate Analysis 88(2), applied to standardized
data. With ``X`` the ``n x p`` data, each column centred and scaled to unit
(population, ddof=0) variance, rows ``x_k``:

    R      = X'X / n                               (sample correlation, diag 1)
    mu     = tr(R) / p = 1                         (target F = mu I = I)
    d^2    = ||R - I||^2                           (||A||^2 = tr(A A') / p)
    bbar^2 = (1/n^2) sum_k ||x_k x_k' - R||^2
    b^2    = min(bbar^2, d^2)
    delta  = b^2 / d^2                             (in [0, 1])
    R*     = delta I + (1 - delta) R

This is the estimator ``sklearn.covariance.ledoit_wolf`` computes on
standardized data (its ``shrinkage`` is ``delta``). ``delta`` is estimated in
closed form; for fixed structure it falls like 1/n. The result has unit
diagonal and is positive semi-definite (a convex combination of two PSD
matrices). Using ddof=0 scales makes R exactly the Pearson correlation.

``bbar^2`` is computed without forming the n outer products:
``sum_k ||x_k x_k'||_F^2 = sum_k (x_k'x_k)^2`` and
``sum_k <x_k x_k', R>_F = n ||R||_F^2``, so
``n^2 p bbar^2 = sum_k |x_k|^4 - n ||R||_F^2``.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError

__all__ = ["ShrunkCorrelation", "ledoit_wolf_correlation", "standardize"]


@dataclass(frozen=True)
class ShrunkCorrelation:
    """A Ledoit-Wolf-shrunk correlation matrix."""

    correlation: npt.NDArray[np.float64]
    """R* = delta I + (1 - delta) R, shape (p, p)."""
    delta: float
    """Shrinkage intensity in [0, 1]."""
    sample: npt.NDArray[np.float64]
    """The unshrunk sample correlation R."""
    n: int
    """Number of observations (rows) used."""


def standardize(x: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Centre each column and scale it to unit population (ddof=0) variance.

    Raises:
        InsufficientDataError: Fewer than 2 rows, a non-finite value, or a constant column.
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < 2 or a.shape[1] < 1:
        raise InsufficientDataError(
            f"`x` must be 2-D with at least 2 rows and 1 column; got shape {a.shape}."
        )
    if not np.all(np.isfinite(a)):
        raise InsufficientDataError(
            f"`x` must be finite; it has {int(np.sum(~np.isfinite(a)))} NaN/inf cell(s)."
        )
    centred = a - a.mean(axis=0)
    sd = np.sqrt(np.mean(centred**2, axis=0))
    constant = np.flatnonzero(sd <= 1e-12 * np.maximum(1.0, np.abs(a).max(axis=0)))
    if constant.size:
        raise InsufficientDataError(
            f"`x` has constant column(s) at index {', '.join(map(str, constant.tolist()))}: "
            "a correlation needs variation."
        )
    out: npt.NDArray[np.float64] = centred / sd
    return out


def ledoit_wolf_correlation(x: npt.ArrayLike) -> ShrunkCorrelation:
    """Ledoit-Wolf (2004) shrinkage of the correlation of ``x``'s columns toward I.

    Args:
        x: Data, shape (n observations, p variables), finite, no constant column.

    Returns:
        The shrunk correlation, the intensity ``delta`` and the sample correlation.

    Raises:
        InsufficientDataError: Fewer than 2 rows, non-finite cells, a constant column.

    Warns:
        DegenerateDataWarning: The sample correlation already equals I (``d^2 = 0``);
            ``delta`` is then NaN and the returned matrix is I.
    """
    z = standardize(x)
    n, p = z.shape
    r = (z.T @ z) / n
    np.fill_diagonal(r, 1.0)
    d2 = float(np.sum((r - np.eye(p)) ** 2)) / p
    row_sq = np.einsum("ij,ij->i", z, z)
    bbar2 = (float(np.sum(row_sq**2)) - n * float(np.sum(r**2))) / (n * n * p)
    bbar2 = max(bbar2, 0.0)
    if d2 <= 0.0:
        warnings.warn(
            "the sample correlation is the identity; the shrinkage intensity is undefined (NaN).",
            DegenerateDataWarning,
            stacklevel=2,
        )
        return ShrunkCorrelation(np.eye(p), math.nan, r, n)
    delta = min(bbar2, d2) / d2
    shrunk = delta * np.eye(p) + (1.0 - delta) * r
    return ShrunkCorrelation(shrunk, float(delta), r, n)
