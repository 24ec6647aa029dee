"""Diagnostics of a set of weights on a population: effective number of tasks, rank stability.

:func:`diagnose` reports what :func:`lm_eval_mtl.scoring.weighting.fit_weights` records in a
weights file: the Ledoit-Wolf shrinkage intensity, the effective number of tasks of the
shrunk correlation, Kendall tau against equal weights, and the largest rank change when
any one weight is halved or doubled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["Diagnostics", "diagnose"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Diagnostics:
    """How a set of weights behaves on a population."""

    delta: float
    """Ledoit-Wolf shrinkage intensity of the correlation."""
    nyholt: float
    """Effective number of tasks, Nyholt (2004), of the shrunk correlation."""
    li_ji: float
    """Effective number of tasks, Li and Ji (2005), of the shrunk correlation."""
    kendall_tau: float
    """Kendall tau-b between the composite under the weights and under equal weights
    (equal over the keys: families for a family-level population)."""
    max_rank_change: int
    """Largest change of any model's rank (1 = best, ties share the lowest rank)
    when any single weight is halved or doubled and the weights renormalized."""
    max_rank_change_at: str
    """Which perturbation gave it (``task x0.5`` or ``task x2``)."""


def _ranks(c: FloatArray) -> npt.NDArray[np.int64]:
    from scipy.stats import rankdata

    return np.asarray(rankdata(-c, method="min", axis=0), dtype=np.int64)


def diagnose(
    z: FloatArray, weights: FloatArray, tasks: Sequence[str], delta: float, r: FloatArray
) -> Diagnostics:
    """Diagnostics of ``weights`` on the complete score matrix ``z`` (models x tasks).

    The perturbed composites are computed all at once: halving or doubling w_t
    and renormalizing gives ``(C + (f - 1) w_t z_t) / (1 + (f - 1) w_t)``.
    """
    from scipy.stats import kendalltau

    from lm_eval_mtl.stats.effective import effective_number

    eff = effective_number(r)
    base = z @ weights
    equal = z @ np.full(z.shape[1], 1.0 / z.shape[1])
    tau = float(kendalltau(base, equal).statistic) if z.shape[0] >= 2 else math.nan
    factors = np.array([0.5, 2.0])
    # shape (n, T, 2)
    g = (factors - 1.0)[None, None, :] * weights[None, :, None]
    pert = (base[:, None, None] + g * z[:, :, None]) / (1.0 + g)
    flat = pert.reshape(z.shape[0], -1)
    change = np.abs(_ranks(flat) - _ranks(base)[:, None])
    worst = int(change.max()) if change.size else 0
    col = int(np.argmax(change.max(axis=0))) if change.size else 0
    t, f = divmod(col, 2)
    at = f"{tasks[t]} x{'0.5' if f == 0 else '2'}" if change.size else ""
    return Diagnostics(
        delta=delta,
        nyholt=eff.nyholt,
        li_ji=eff.li_ji,
        kendall_tau=tau,
        max_rank_change=worst,
        max_rank_change_at=at,
    )
