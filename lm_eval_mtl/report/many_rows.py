"""The ranked result of scoring many models: one small typed row per model, with its rank and rank range.

:func:`lm_eval_mtl.report.many.score_many` builds a :class:`ManyScores` of these rows;
:mod:`lm_eval_mtl.report.many_render` renders it.

* **Ranks** (:func:`rank_models`). ``rank`` is 1 + the number of models with a strictly
  higher composite (equal composites share a rank: 1, 2, 2, 4). The **rank range**
  ``[rank_low, rank_high]`` is 1 + the number of models whose interval lies entirely above
  this model's, to N - the number whose interval lies entirely below it (intervals that touch
  or overlap count as overlapping; a NaN bound overlaps everything). It is a descriptive
  overlap range, not a joint confidence set for the ranks: the intervals are marginal (each
  at the confidence level, not simultaneously), and overlap or non-overlap of two marginal
  intervals is not a test of their difference (``lm-eval-mtl compare`` makes paired tests).
* **Signatures.** The composites are comparable only when the models' signatures agree on the
  suite and version, the normalization, the weights, the task hashes and the dropped members
  (:attr:`ManyScores.comparable`); every renderer says so when they do not, and tags each row
  with its signature group (A, B, ...).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lm_eval_mtl.jsonout import json_float
from lm_eval_mtl.scoring.types import CompositeMethod
from lm_eval_mtl.stats._common import ConfidenceInterval

if TYPE_CHECKING:
    from lm_eval_mtl.scoring.types import CompositeScore

__all__ = [
    "COMPARABILITY_FIELDS",
    "RANK_RANGE_TEXT",
    "ManyScores",
    "ModelComposite",
    "ModelRow",
    "NotScored",
    "rank_models",
]

COMPARABILITY_FIELDS: tuple[str, ...] = ("suite", "norm", "w", "tasks", "drop", "limit")
"""Signature fields that must agree for two composites to be comparable (``lm-eval=`` is only noted)."""

RANK_RANGE_TEXT = (
    "rank: 1 + the number of models with a higher composite (equal composites share a rank); "
    "rank range: 1 + the models whose interval lies entirely above this model's, to N - those entirely "
    "below. A descriptive overlap range, not a joint confidence set for the ranks: the intervals are "
    "marginal, and overlap is not a test (lm-eval-mtl compare makes paired tests)."
)


@dataclass(frozen=True)
class ModelComposite:
    """The small result of scoring one model's run: what a row of the table needs, nothing more."""

    model: str
    """Model name (the run's ``model_name``)."""
    folder: str
    """Model folder relative to the output folder (:attr:`ModelFolder.name`)."""
    results_file: str
    """The results file scored (the folder's latest)."""
    other_runs: tuple[str, ...]
    """The folder's other results files, not scored."""
    value: float
    """The composite C."""
    se: float
    """Its standard error (NaN if unknown)."""
    ci: ConfidenceInterval
    """Its interval at :attr:`confidence_level`."""
    confidence_level: float
    """Confidence level of :attr:`ci`."""
    method: CompositeMethod
    """Interval method (``percentile``, ``bca``, ``wild`` or ``analytic``)."""
    n_resamples: int | None
    """Bootstrap resamples (None for analytic)."""
    seed: int
    """The seed this model was scored with (:func:`model_seed`)."""
    tasks_scored: int
    """Members scored."""
    tasks_dropped: tuple[str, ...]
    """Member labels dropped (``missing="drop"``)."""
    signature: str
    """Citation signature of the composite."""
    lm_eval_version: str | None = None
    """lm-eval version of the run."""
    notes: tuple[str, ...] = ()
    """The composite's notes (overlaps, small samples)."""

    @classmethod
    def from_score(cls, score: CompositeScore, folder: str, seed: int) -> ModelComposite:
        """Keep the row-sized part of a :class:`CompositeScore` (no bootstrap distribution, no members)."""
        return cls(
            model=score.model_name,
            folder=folder,
            results_file=score.run_path,
            other_runs=tuple(score.other_runs),
            value=float(score.value),
            se=float(score.se),
            ci=ConfidenceInterval(float(score.ci.low), float(score.ci.high)),
            confidence_level=float(score.confidence_level),
            method=score.method,
            n_resamples=score.n_resamples,
            seed=seed,
            tasks_scored=len(score.tasks),
            tasks_dropped=tuple(score.tasks_dropped),
            signature=score.signature,
            lm_eval_version=score.lm_eval_version,
            notes=tuple(score.notes),
        )


@dataclass(frozen=True)
class ModelRow:
    """One model of the table: its composite and its ranks among the models scored."""

    composite: ModelComposite
    """The model's composite."""
    rank: int
    """1 + the number of models with a strictly higher composite (ties share a rank)."""
    rank_low: int
    """Best rank of the overlap range: 1 + the models whose interval lies entirely above this one's."""
    rank_high: int
    """Worst rank of the overlap range: N - the models whose interval lies entirely below this one's."""

    def to_dict(self) -> dict[str, Any]:
        """Full-precision JSON-ready form (NaN as null), flat: one record per model."""
        c = self.composite
        return {
            "rank": self.rank,
            "rank_low": self.rank_low,
            "rank_high": self.rank_high,
            "model": c.model,
            "folder": c.folder,
            "composite": json_float(c.value),
            "se": json_float(c.se),
            "ci": [json_float(c.ci.low), json_float(c.ci.high)],
            "confidence_level": c.confidence_level,
            "method": c.method,
            "n_resamples": c.n_resamples,
            "seed": c.seed,
            "tasks_scored": c.tasks_scored,
            "tasks_dropped": list(c.tasks_dropped),
            "signature": c.signature,
            "lm_eval_version": c.lm_eval_version,
            "results_file": c.results_file,
            "other_runs": list(c.other_runs),
            "notes": list(c.notes),
        }


@dataclass(frozen=True)
class NotScored:
    """A model folder that could not be scored (``missing="drop"``), and why."""

    folder: str
    """Model folder relative to the output folder."""
    reason: str
    """The one-line error."""


def _signature_fields(sig: str) -> dict[str, str]:
    parts = sig.split("|")
    out = {"suite": parts[0], "drop": ""}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        out[key] = value
    return out


@dataclass(frozen=True)
class ManyScores:
    """The composites of many models on one suite, ranked, with the folders that were not scored."""

    path: str
    """The output folder."""
    suite: str
    """Suite name."""
    suite_version: str
    """Suite version."""
    confidence_level: float
    """Confidence level of every interval."""
    seed: int
    """The base seed; model m used :func:`model_seed` ``(seed, m)``."""
    rows: tuple[ModelRow, ...]
    """One row per model scored, best composite first (ties by model name, then folder)."""
    not_scored: tuple[NotScored, ...] = ()
    """Model folders that could not be scored (``missing="drop"``), in folder order."""
    suite_reason: str | None = None
    """Why the suite was chosen when it was detected (from :attr:`suite_from`), else None."""
    suite_from: str | None = None
    """The model folder the suite was detected from, when it was detected."""

    @property
    def signatures(self) -> tuple[str, ...]:
        """The distinct signatures, in row order (group A first)."""
        return tuple(dict.fromkeys(r.composite.signature for r in self.rows))

    @property
    def signature_differences(self) -> tuple[str, ...]:
        """Signature fields (``suite``, ``norm``, ``w``, ``lm-eval``, ``tasks``, ``drop``) that differ between models."""
        parsed = [_signature_fields(s) for s in self.signatures]
        keys = dict.fromkeys(k for p in parsed for k in p)
        return tuple(k for k in keys if len({p.get(k, "") for p in parsed}) > 1)

    @property
    def comparable(self) -> bool:
        """Tell whether the composites are comparable: the signatures agree on :data:`COMPARABILITY_FIELDS`."""
        return not set(self.signature_differences) & set(COMPARABILITY_FIELDS)

    def signature_group(self, signature: str) -> str:
        """Return the tag (``A``, ``B``, ...) of a signature, by first appearance in row order."""
        return _tag(self.signatures.index(signature))

    def to_dict(self) -> dict[str, Any]:
        """Full-precision JSON-ready form (NaN as null).

        Schema: ``suite`` {name, version}, ``suite_detected`` ({from, reason} or null),
        ``path``, ``confidence_level``, ``seed``, ``n_models``, ``comparable``,
        ``signatures`` (distinct), ``signatures_differ_in`` (fields), ``rank_range`` (its
        definition), ``models`` (one :meth:`ModelRow.to_dict` per model, plus its
        ``signature_group``), ``not_scored`` [{folder, reason}].
        """
        return {
            "suite": {"name": self.suite, "version": self.suite_version},
            "suite_detected": (
                None if self.suite_reason is None else {"from": self.suite_from, "reason": self.suite_reason}
            ),
            "path": self.path,
            "confidence_level": self.confidence_level,
            "seed": self.seed,
            "seed_rule": "each model's seed is model_seed(seed, model name): sha256-derived, independent "
            "of the other models",
            "n_models": len(self.rows),
            "comparable": self.comparable,
            "signatures": list(self.signatures),
            "signatures_differ_in": list(self.signature_differences),
            "rank_range": RANK_RANGE_TEXT,
            "models": [
                {**r.to_dict(), "signature_group": self.signature_group(r.composite.signature)}
                for r in self.rows
            ],
            "not_scored": [{"folder": n.folder, "reason": n.reason} for n in self.not_scored],
        }


def _tag(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"S{i + 1}"


def _sort_key(c: ModelComposite) -> tuple[float, str, str]:
    v = c.value if not math.isnan(c.value) else -math.inf
    return (-v, c.model, c.folder)


def rank_models(composites: Iterable[ModelComposite]) -> tuple[ModelRow, ...]:
    """Sort composites (best first) and rank them, with each one's rank range (module docstring).

    Args:
        composites: One per model.

    Returns:
        The rows, best composite first; ties by model name, then folder.
    """
    items = sorted(composites, key=_sort_key)
    n = len(items)
    values = sorted(-(_sort_key(c)[0]) for c in items)  # ascending; NaN as -inf
    lows = sorted(c.ci.low for c in items if not math.isnan(c.ci.low))
    highs = sorted(c.ci.high for c in items if not math.isnan(c.ci.high))
    rows = []
    for c in items:
        v = -_sort_key(c)[0]
        rank = 1 + len(values) - bisect.bisect_right(values, v)
        above = 0 if math.isnan(c.ci.high) else len(lows) - bisect.bisect_right(lows, c.ci.high)
        below = 0 if math.isnan(c.ci.low) else bisect.bisect_left(highs, c.ci.low)
        rows.append(ModelRow(c, rank, min(1 + above, rank), max(n - below, rank)))
    return tuple(rows)
