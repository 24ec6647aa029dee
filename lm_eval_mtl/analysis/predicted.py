"""Predicted beside measured transfer: rank agreement of an affinity matrix with a transfer matrix.

``lm-eval-mtl affinity`` predicts transfer from one model's gradients; ``lm-eval-mtl transfer``
measures it from fine-tuned checkpoints. :func:`predicted_transfer` matches their cells by
(source, target) name over the off-diagonal cells both have, and reports per affinity measure
(cosine, first-order, TAG lookahead) the Spearman and Kendall (tau-b) rank correlations with the
measured T[s,t], each with a percentile bootstrap interval over the matched cells.

The cells are not independent (they share sources and targets), so the bootstrap over cells
treats them as exchangeable and its intervals are optimistic; with few tasks the interval says
more about the spread than a resampling of tasks could. The diagonal is left out: the in-task
gain T[t,t] is not transfer, and the cosine's diagonal is 1 by definition. Tables and the scatter
plot: :mod:`lm_eval_mtl.affinity.render`.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.affinity.result import AffinityMatrix, MeasureName
from lm_eval_mtl.analysis.transfer import TransferMatrix
from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError
from lm_eval_mtl.jsonout import json_float
from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    as_generator,
    check_confidence_level,
    check_n_resamples,
)
from lm_eval_mtl.stats.intervals import percentile_interval

__all__ = ["PredictedTransfer", "RankAgreement", "predicted_transfer"]

FloatArray = npt.NDArray[np.float64]
_MIN_CELLS = 3


@dataclass(frozen=True)
class RankAgreement:
    """Rank correlation of one affinity measure with the measured transfer over the matched cells."""

    measure: MeasureName
    """The affinity measure."""
    spearman: float
    """Spearman's rho."""
    spearman_ci: ConfidenceInterval
    """Percentile bootstrap interval of rho (cells resampled)."""
    kendall: float
    """Kendall's tau-b."""
    kendall_ci: ConfidenceInterval
    """Percentile bootstrap interval of tau-b."""
    predicted: FloatArray
    """(n,) the measure on the matched cells."""


@dataclass(frozen=True)
class PredictedTransfer:
    """An affinity matrix set beside a measured transfer matrix."""

    cells: tuple[tuple[str, str], ...]
    """The matched off-diagonal (source, target) cells."""
    measured: FloatArray
    """(n,) T[s,t] of the transfer matrix on those cells."""
    agreements: tuple[RankAgreement, ...]
    """One per affinity measure."""
    confidence_level: float
    """Level of the intervals."""
    n_resamples: int
    """Bootstrap resamples."""
    unmatched: tuple[str, ...]
    """Sources or targets of either matrix the other lacks (left out)."""
    notes: tuple[str, ...] = ()
    """What to know when reading the numbers."""

    def tidy(self) -> list[dict[str, Any]]:
        """One record per measure: measure, n_cells, spearman (and interval), kendall (and interval)."""
        return [
            {
                "measure": a.measure,
                "n_cells": len(self.cells),
                "spearman": json_float(a.spearman),
                "spearman_ci_low": json_float(a.spearman_ci.low),
                "spearman_ci_high": json_float(a.spearman_ci.high),
                "kendall": json_float(a.kendall),
                "kendall_ci_low": json_float(a.kendall_ci.low),
                "kendall_ci_high": json_float(a.kendall_ci.high),
            }
            for a in self.agreements
        ]

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "cells": [list(c) for c in self.cells],
            "measured": self.measured.tolist(),
            "predicted": {a.measure: a.predicted.tolist() for a in self.agreements},
            "agreement": self.tidy(),
            "confidence_level": self.confidence_level,
            "n_resamples": self.n_resamples,
            "unmatched": list(self.unmatched),
            "notes": list(self.notes),
        }


def _rank_stats(x: FloatArray, y: FloatArray) -> tuple[float, float]:
    from scipy.stats import kendalltau, spearmanr

    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan, math.nan
    return float(spearmanr(x, y).statistic), float(kendalltau(x, y).statistic)


def _agreement(
    name: MeasureName, x: FloatArray, y: FloatArray, level: float, nres: int, gen: np.random.Generator
) -> RankAgreement:
    rho, tau = _rank_stats(x, y)
    n = x.shape[0]
    draws = gen.integers(0, n, size=(nres, n))
    boot = np.array([_rank_stats(x[d], y[d]) for d in draws])
    ok = np.isfinite(boot).all(axis=1)
    if ok.sum() >= 2:
        s_ci = percentile_interval(boot[ok, 0], level)
        k_ci = percentile_interval(boot[ok, 1], level)
    else:
        s_ci = k_ci = ConfidenceInterval(math.nan, math.nan)
    return RankAgreement(name, rho, s_ci, tau, k_ci, x)


def predicted_transfer(
    transfer: TransferMatrix,
    affinity: AffinityMatrix,
    *,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> PredictedTransfer:
    """Rank agreement of every affinity measure with the measured transfer, over matched off-diagonal cells.

    Args:
        transfer: The measured :class:`~lm_eval_mtl.analysis.transfer.TransferMatrix`.
        affinity: The predicted :class:`~lm_eval_mtl.affinity.result.AffinityMatrix`.
        confidence_level: Interval level.
        n_resamples: Bootstrap resamples over cells.
        rng: Generator, seed or None.

    Returns:
        The :class:`PredictedTransfer`.

    Raises:
        InsufficientDataError: Fewer than 3 matched off-diagonal cells (the message lists both
            matrices' names).

    Warns:
        DegenerateDataWarning: A measure or the measured cells are constant (correlations NaN).
    """
    level = check_confidence_level(confidence_level)
    nres = check_n_resamples(n_resamples)
    gen = as_generator(rng)
    cells: list[tuple[str, str]] = []
    for src in transfer.sources:
        for tgt in transfer.targets:
            if src != tgt and src in affinity.sources and tgt in affinity.targets:
                cells.append((src, tgt))
    if len(cells) < _MIN_CELLS:
        raise InsufficientDataError(
            f"--predicted: only {len(cells)} off-diagonal (source, target) cell(s) are in both matrices; "
            f"need {_MIN_CELLS}. Transfer sources: {', '.join(transfer.sources)}; targets: "
            f"{', '.join(transfer.targets)}. Affinity tasks: {', '.join(affinity.targets)}. Name each --source "
            "like the affinity task it was trained on."
        )
    unmatched = sorted(
        (set(transfer.sources) | set(transfer.targets)) ^ (set(affinity.sources) | set(affinity.targets))
    )
    measured = np.array(
        [transfer.delta[transfer.sources.index(s), transfer.targets.index(t)] for s, t in cells]
    )
    agreements = []
    for name, m in affinity.measures.items():
        x = np.array([m.value[affinity.sources.index(s), affinity.targets.index(t)] for s, t in cells])
        ok = np.isfinite(x) & np.isfinite(measured)
        if ok.sum() < _MIN_CELLS:
            raise InsufficientDataError(
                f"--predicted: measure {name} has only {int(ok.sum())} finite matched cells; need {_MIN_CELLS}."
            )
        if np.ptp(x[ok]) == 0 or np.ptp(measured[ok]) == 0:
            warnings.warn(
                f"measure {name} or the measured transfer is constant over the matched cells: rank correlations are NaN.",
                DegenerateDataWarning,
                stacklevel=2,
            )
        agreements.append(_agreement(name, x[ok], measured[ok], level, nres, gen))
    notes = (
        "off-diagonal cells only; Spearman and Kendall tau-b, percentile bootstrap over cells "
        "(cells share sources and targets, so the intervals are optimistic)",
    )
    return PredictedTransfer(
        cells=tuple(cells),
        measured=measured,
        agreements=tuple(agreements),
        confidence_level=level,
        n_resamples=nres,
        unmatched=tuple(unmatched),
        notes=notes + ((f"left out (in one matrix only): {', '.join(unmatched)}",) if unmatched else ()),
    )
