"""The result types of :mod:`lm_eval_mtl.analysis.transfer`: the transfer matrix and the multi-task gain.

Plain data with their JSON form (:meth:`TransferMatrix.to_dict`) and tidy records
(:meth:`TransferMatrix.tidy`, what ``--format csv`` and ``--output-dir`` write).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["MultiTaskGain", "TransferMatrix"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class MultiTaskGain:
    """A multi-task checkpoint against the base and against the best single-source checkpoint."""

    delta: FloatArray
    """(T,) T[mtl, t]: the multi-task checkpoint's transfer to each target."""
    best_source: tuple[str, ...]
    """Per target, the single source with the largest T[s, t]."""
    gain: FloatArray
    """(T,) T[mtl, t] - T[best, t]."""
    se: FloatArray
    """(T,) SE of ``gain`` (paired between the two checkpoints where samples exist)."""
    ci_low: FloatArray
    """(T,) Lower interval bound of ``gain``."""
    ci_high: FloatArray
    """(T,) Upper interval bound of ``gain``."""
    p_value: FloatArray
    """(T,) Two-sided p-value of zero gain."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "delta": self.delta.tolist(),
            "best_source": list(self.best_source),
            "gain": self.gain.tolist(),
            "se": self.se.tolist(),
            "ci_low": self.ci_low.tolist(),
            "ci_high": self.ci_high.tolist(),
            "p_value": self.p_value.tolist(),
        }


@dataclass(frozen=True)
class TransferMatrix:
    """An evaluation transfer matrix with per-cell intervals and an FDR mask."""

    sources: tuple[str, ...]
    """Source names (rows)."""
    targets: tuple[str, ...]
    """Target task labels (columns)."""
    delta: FloatArray
    """(S, T) T[s, t] in normalized units."""
    se: FloatArray
    """(S, T) standard errors."""
    ci_low: FloatArray
    """(S, T) lower interval bounds."""
    ci_high: FloatArray
    """(S, T) upper interval bounds."""
    p_value: FloatArray
    """(S, T) two-sided p-values."""
    p_adjusted: FloatArray
    """(S, T) Benjamini-Hochberg adjusted p-values over all cells."""
    significant: npt.NDArray[np.bool_]
    """(S, T) p_adjusted < fdr."""
    method: tuple[tuple[str, ...], ...]
    """(S, T) per cell: ``mcnemar``, ``paired-bootstrap CI, sign-flip p``, ``paired-bootstrap CI,
    randomization p`` (corpus metrics) or ``analytic-unpaired``."""
    relative: FloatArray
    """(S, T) T[s, t] / |T[t, t]|; NaN where undefined."""
    composite: FloatArray
    """(S,) C[s] = sum_t w_t T[s, t]."""
    composite_se: FloatArray
    """(S,) SE of the composite column."""
    composite_ci_low: FloatArray
    """(S,) Lower bound."""
    composite_ci_high: FloatArray
    """(S,) Upper bound."""
    composite_p_value: FloatArray
    """(S,) Two-sided p-value of C[s] = 0."""
    weights: Mapping[str, float]
    """Composite weight per target."""
    n_items: Mapping[str, int]
    """Items per target."""
    confidence_level: float
    """Level of every interval."""
    fdr: float
    """False discovery rate of the mask (1 - confidence_level)."""
    n_resamples: int
    """Bootstrap resamples."""
    seed: int | None
    """Integer seed, if one was given."""
    mtl: MultiTaskGain | None = None
    """The multi-task checkpoint's gains, when one was given."""
    base: str = "base"
    """Name of the base run."""
    normalization: str = ""
    """How scores were normalized and weighted."""
    notes: tuple[str, ...] = field(default=())
    """Fallbacks taken, runs chosen in a folder, ``--limit`` runs, in words."""
    composite_method: str = ""
    """How the composite column's interval and p-value were computed."""
    limits: Mapping[str, float | None] = field(default_factory=dict)
    """Run (``base``, ``source NAME``, ``mtl``) -> its ``lm_eval --limit`` (None: a full run)."""
    other_runs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Run -> the other results files of its folder, not used (runs given as folders)."""

    @property
    def is_analytic(self) -> bool:
        """True when any cell was computed without per-item samples."""
        return any(m == "analytic-unpaired" for row in self.method for m in row)

    def item_count(self, target: str) -> int | None:
        """Return the items behind a target's cells; None where unknown (results only, no count recorded)."""
        n = self.n_items.get(target)
        return None if n is None or n <= 0 else int(n)

    def relative_reason(self, target: str) -> str:
        """Say why relative transfer to ``target`` is undefined, or ``""`` where it is defined."""
        if target not in self.sources:
            return f"no source is named {target} (no checkpoint trained on it: T[t,t] does not exist)"
        diag = float(self.delta[self.sources.index(target), self.targets.index(target)])
        if diag == 0 or not math.isfinite(diag):
            return f"in-task gain T[{target},{target}] = {diag:g}"
        return ""

    def tidy(self) -> dict[str, list[dict[str, Any]]]:
        """Return tidy records at full precision, one list per table.

        * ``cells``: one per (source, target): source, target, delta, se, ci_low, ci_high, p,
          p_adjusted, significant (BH mask at the FDR), method, n (None where unknown), weight.
        * ``composite``: one per source: source, delta, se, ci_low, ci_high, p, method.
        * ``relative``: one per (source, target): source, target, relative (None where
          undefined), in_task_gain T[t,t] (None without a source named t), undefined_reason.
        * ``mtl``: one per target with ``--mtl`` (else empty): target, delta, best_source,
          gain, se, ci_low, ci_high, p.
        """
        cells: list[dict[str, Any]] = []
        relative: list[dict[str, Any]] = []
        for s, src in enumerate(self.sources):
            for t, tgt in enumerate(self.targets):
                cells.append(
                    {
                        "source": src,
                        "target": tgt,
                        "delta": float(self.delta[s, t]),
                        "se": float(self.se[s, t]),
                        "ci_low": float(self.ci_low[s, t]),
                        "ci_high": float(self.ci_high[s, t]),
                        "p": float(self.p_value[s, t]),
                        "p_adjusted": float(self.p_adjusted[s, t]),
                        "significant": bool(self.significant[s, t]),
                        "method": self.method[s][t],
                        "n": self.item_count(tgt),
                        "weight": float(self.weights.get(tgt, math.nan)),
                    }
                )
                why = self.relative_reason(tgt)
                diag = float(self.delta[self.sources.index(tgt), t]) if tgt in self.sources else None
                relative.append(
                    {
                        "source": src,
                        "target": tgt,
                        "relative": None if why else float(self.relative[s, t]),
                        "in_task_gain": diag,
                        "undefined_reason": why,
                    }
                )
        composite = [
            {
                "source": src,
                "delta": float(self.composite[s]),
                "se": float(self.composite_se[s]),
                "ci_low": float(self.composite_ci_low[s]),
                "ci_high": float(self.composite_ci_high[s]),
                "p": float(self.composite_p_value[s]),
                "method": self.composite_method,
            }
            for s, src in enumerate(self.sources)
        ]
        mtl: list[dict[str, Any]] = []
        if self.mtl is not None:
            g = self.mtl
            mtl = [
                {
                    "target": tgt,
                    "delta": float(g.delta[t]),
                    "best_source": g.best_source[t],
                    "gain": float(g.gain[t]),
                    "se": float(g.se[t]),
                    "ci_low": float(g.ci_low[t]),
                    "ci_high": float(g.ci_high[t]),
                    "p": float(g.p_value[t]),
                }
                for t, tgt in enumerate(self.targets)
            ]
        return {"cells": cells, "composite": composite, "relative": relative, "mtl": mtl}

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision (NaN is written as NaN by ``json.dumps``)."""
        return {
            "base": self.base,
            "sources": list(self.sources),
            "targets": list(self.targets),
            "delta": self.delta.tolist(),
            "se": self.se.tolist(),
            "ci_low": self.ci_low.tolist(),
            "ci_high": self.ci_high.tolist(),
            "p_value": self.p_value.tolist(),
            "p_adjusted": self.p_adjusted.tolist(),
            "significant": self.significant.tolist(),
            "method": [list(r) for r in self.method],
            "relative": self.relative.tolist(),
            "composite": {
                "delta": self.composite.tolist(),
                "se": self.composite_se.tolist(),
                "ci_low": self.composite_ci_low.tolist(),
                "ci_high": self.composite_ci_high.tolist(),
                "p_value": self.composite_p_value.tolist(),
            },
            "weights": dict(self.weights),
            "n_items": dict(self.n_items),
            "mtl": self.mtl.to_dict() if self.mtl is not None else None,
            "confidence_level": self.confidence_level,
            "fdr": self.fdr,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "normalization": self.normalization,
            "notes": list(self.notes),
            "composite_method": self.composite_method,
            "limits": dict(self.limits),
            "other_runs": {k: list(v) for k, v in self.other_runs.items()},
            "tables": self.tidy(),
        }
