"""The result types of :func:`lm_eval_mtl.analysis.compare.compare_runs`, with their JSON and tidy forms.

:class:`ModelComparison` holds every pair of runs (:class:`PairComparison`: the per-task
:class:`~lm_eval_mtl.stats.paired.PairedDifference` rows and the composite
:class:`CompositeDifference`); :meth:`ModelComparison.tidy` and
:meth:`ModelComparison.to_dict` give its tidy records and its plain-JSON form.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats._common import ConfidenceInterval
from lm_eval_mtl.stats.paired import Correction, PairedDifference

__all__ = ["CompositeDifference", "CompositeMethod", "ModelComparison", "PairComparison", "item_count"]


CompositeMethod = Literal[
    "paired-bootstrap CI, sign-flip p", "wild cluster bootstrap CI, sign-flip p", "analytic-unpaired"
]


@dataclass(frozen=True)
class CompositeDifference:
    """The composite difference C_A - C_B."""

    diff: float
    """sum_t w_t (z_t(A) - z_t(B))."""
    se: float
    """sqrt(sum_t w_t^2 se_t^2) (tasks' item sets are disjoint)."""
    ci: ConfidenceInterval
    """Stratified paired-bootstrap percentile interval, or normal interval (analytic)."""
    p_value: float
    """Two-sided p-value of no difference (composite sign-flip test when every task is paired)."""
    mde: float
    """Minimum detectable composite difference at 80% power."""
    method: CompositeMethod
    """``paired-bootstrap CI, sign-flip p`` when every task was paired (stratified bootstrap
    interval; every task's items, clusters or segments swapped at once for the p-value),
    else ``analytic-unpaired``."""
    p_adjusted: float = math.nan
    """Adjusted across pairs (more than two runs), else equal to ``p_value``."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "diff": self.diff,
            "se": self.se,
            "ci": [self.ci.low, self.ci.high],
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "mde": self.mde,
            "method": self.method,
        }


@dataclass(frozen=True)
class PairComparison:
    """Run A against run B."""

    a: str
    """Name of run A (model name)."""
    b: str
    """Name of run B."""
    composite: CompositeDifference
    """The composite difference."""
    tasks: tuple[PairedDifference, ...]
    """Per-task differences, in plan order, with ``p_adjusted`` across tasks."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision (``n`` null where the item count is unknown)."""
        tasks = []
        for t in self.tasks:
            d = t.to_dict()
            d["n"] = item_count(t)
            tasks.append(d)
        return {"a": self.a, "b": self.b, "composite": self.composite.to_dict(), "tasks": tasks}


def item_count(t: PairedDifference) -> int | None:
    """Return the items behind a task's difference; None where unknown (results only, no count recorded)."""
    return None if t.method == "analytic-unpaired" and t.n <= 0 else t.n


@dataclass(frozen=True)
class ModelComparison:
    """Every pairwise comparison of two or more runs."""

    runs: tuple[str, ...]
    """Run names, in the order given."""
    paths: tuple[str, ...]
    """Results files read."""
    pairs: tuple[PairComparison, ...]
    """One entry per pair (i < j), A = runs[i], B = runs[j]."""
    tied: tuple[tuple[str, str], ...]
    """Pairs whose composite difference is not significant (adjusted p >= 1 - confidence_level)."""
    tasks: tuple[str, ...]
    """Task labels compared."""
    weights: Mapping[str, float]
    """Composite weight per task label."""
    metrics: Mapping[str, str]
    """``metric,filter`` per task label."""
    normalization: str
    """How scores were normalized and weighted."""
    correction: Correction
    """Adjustment across tasks (and across pairs for the composite)."""
    confidence_level: float
    """Level of every interval."""
    n_resamples: int
    """Bootstrap resamples."""
    seed: int | None
    """The integer seed given, if any."""
    notes: tuple[str, ...] = ()
    """Fallbacks taken (tasks compared without samples), runs chosen in a folder, ``--limit`` runs, in words."""
    chance: Mapping[str, float] = field(default_factory=dict)
    """Chance level c per task label (as ``report`` uses it for the first run)."""
    ceiling: Mapping[str, float] = field(default_factory=dict)
    """Ceiling u per task label."""
    limits: Mapping[str, float | None] = field(default_factory=dict)
    """Run name -> its ``lm_eval --limit`` (None: a full run)."""
    other_runs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Run name -> the other results files of its folder, not used (runs given as folders)."""

    def z(self, task: str, raw: float) -> float:
        """Return the normalized score z = (raw - c)/(u - c) of a raw value of ``task`` (raw without c, u)."""
        c, u = self.chance.get(task, 0.0), self.ceiling.get(task, 1.0)
        return (raw - c) / (u - c)

    def scores(self, pair: PairComparison) -> tuple[list[tuple[float, float]], tuple[float, float]]:
        """Return A's and B's normalized scores per task, and their composites sum_t w_t z_t."""
        per_task = [(self.z(t.task, t.mean_a), self.z(t.task, t.mean_b)) for t in pair.tasks]
        w = [self.weights.get(t.task, 0.0) for t in pair.tasks]
        ca = math.fsum(wt * za for wt, (za, _) in zip(w, per_task, strict=True))
        cb = math.fsum(wt * zb for wt, (_, zb) in zip(w, per_task, strict=True))
        return per_task, (ca, cb)

    def tidy(self) -> dict[str, list[dict[str, Any]]]:
        """Return tidy records at full precision: ``tasks`` (one per pair and task), ``composite`` (one per pair).

        Columns of ``tasks``: model_a, model_b, task, metric, weight, z_a, z_b, diff, se, ci_low,
        ci_high, p, p_adjusted, significant (p_adjusted < 1 - confidence_level), mde, n (None
        where unknown), method, raw_a, raw_b, chance, ceiling. Of ``composite``: model_a,
        model_b, z_a, z_b, diff, se, ci_low, ci_high, p, p_adjusted, significant, mde, method.
        """
        alpha = 1 - self.confidence_level
        tasks: list[dict[str, Any]] = []
        comps: list[dict[str, Any]] = []
        for pair in self.pairs:
            per_task, (ca, cb) = self.scores(pair)
            for t, (za, zb) in zip(pair.tasks, per_task, strict=True):
                tasks.append(
                    {
                        "model_a": pair.a,
                        "model_b": pair.b,
                        "task": t.task,
                        "metric": self.metrics.get(t.task, ""),
                        "weight": self.weights.get(t.task),
                        "z_a": za,
                        "z_b": zb,
                        "diff": t.diff,
                        "se": t.se,
                        "ci_low": t.ci.low,
                        "ci_high": t.ci.high,
                        "p": t.p_value,
                        "p_adjusted": t.p_adjusted,
                        "significant": _significant(t.p_adjusted, alpha),
                        "mde": t.mde,
                        "n": item_count(t),
                        "method": t.method,
                        "raw_a": t.mean_a,
                        "raw_b": t.mean_b,
                        "chance": self.chance.get(t.task),
                        "ceiling": self.ceiling.get(t.task),
                    }
                )
            c = pair.composite
            comps.append(
                {
                    "model_a": pair.a,
                    "model_b": pair.b,
                    "z_a": ca,
                    "z_b": cb,
                    "diff": c.diff,
                    "se": c.se,
                    "ci_low": c.ci.low,
                    "ci_high": c.ci.high,
                    "p": c.p_value,
                    "p_adjusted": c.p_adjusted,
                    "significant": _significant(c.p_adjusted, alpha),
                    "mde": c.mde,
                    "method": c.method,
                }
            )
        return {"tasks": tasks, "composite": comps}

    def tie_matrix(self) -> npt.NDArray[np.bool_]:
        """(R, R) booleans: True where two runs are statistically tied (diagonal True)."""
        idx = {r: i for i, r in enumerate(self.runs)}
        out = np.eye(len(self.runs), dtype=bool)
        for a, b in self.tied:
            out[idx[a], idx[b]] = out[idx[b], idx[a]] = True
        return out

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision.

        Each pair's tasks also carry ``z_a``, ``z_b`` (normalized, the units of ``diff``) and
        ``raw_a``, ``raw_b`` (raw metric values; ``mean_a``, ``mean_b`` are the same, kept for
        older readers); ``tables`` holds the tidy records of :meth:`tidy`.
        """
        pairs = []
        for pair in self.pairs:
            d = pair.to_dict()
            per_task, (ca, cb) = self.scores(pair)
            for rec, t, (za, zb) in zip(d["tasks"], pair.tasks, per_task, strict=True):
                rec.update(z_a=za, z_b=zb, raw_a=t.mean_a, raw_b=t.mean_b)
            d["composite"].update(z_a=ca, z_b=cb)
            pairs.append(d)
        return {
            "runs": list(self.runs),
            "paths": list(self.paths),
            "tasks": list(self.tasks),
            "weights": dict(self.weights),
            "metrics": dict(self.metrics),
            "normalization": self.normalization,
            "correction": self.correction,
            "confidence_level": self.confidence_level,
            "n_resamples": self.n_resamples,
            "seed": self.seed,
            "pairs": pairs,
            "tied": [list(t) for t in self.tied],
            "notes": list(self.notes),
            "chance": dict(self.chance),
            "ceiling": dict(self.ceiling),
            "limits": dict(self.limits),
            "other_runs": {k: list(v) for k, v in self.other_runs.items()},
            "tables": self.tidy(),
        }


def _significant(p_adjusted: float, alpha: float) -> bool | None:
    return None if math.isnan(p_adjusted) else bool(p_adjusted < alpha)
