"""What a frozen weights file holds: the dataclasses a composite score cites, with their views.

A weights file holds the scheme, the weights, the population they were fitted on
(source, date, number of models, sha256 of the panel bytes, tasks), the fit
diagnostics (Ledoit-Wolf shrinkage ``delta``, effective number of tasks, Kendall tau
against equal weights, the largest rank change under a halved or doubled weight) and
percentile tables of the population's composite.

Weights are keyed either by member label (``level: member``) or by family
(``level: family``; e.g. the Open LLM Leaderboard v2 file has one weight per
benchmark while the ``mtl_openllm_v2`` suite has one member per subtask). A
family weight is spread equally over the family's members by
:meth:`WeightsFile.member_weights`, after :func:`check_compatible`.

The :attr:`WeightsFile.sha256` is the hash of the canonical JSON of the
content (sorted keys, no whitespace, floats in shortest round-trip form)
*excluding* ``created``, ``lm_eval_mtl_version`` and ``content_sha256``:
re-fitting the same population with the same settings gives the same hash.

Checking the JSON form is :mod:`lm_eval_mtl.scoring.weights_schema`; reading and
writing files is :mod:`lm_eval_mtl.scoring.weights_file`.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from lm_eval_mtl.errors import IncompatibleWeightsError, MTLError
from lm_eval_mtl.jsonout import json_float
from lm_eval_mtl.suites import SuiteSpec

__all__ = [
    "FORMAT_VERSION",
    "Normalization",
    "PercentileTable",
    "PopulationProvenance",
    "WeightsFile",
    "WeightsLevel",
    "check_compatible",
    "percentile",
]

FORMAT_VERSION = 1
WeightsLevel = Literal["member", "family"]


@dataclass(frozen=True)
class PopulationProvenance:
    """Where the population a weights file was fitted on came from."""

    source: str
    """File name (or run folders) of the panel, as given to the fit."""
    sha256: str
    """sha256 of the panel file's bytes (of the sorted results files for runs)."""
    date: str
    """Date of the population (latest submission date when the panel has one)."""
    n_models: int
    """Models (rows) used in the fit."""
    tasks: tuple[str, ...]
    """Keys of the weights, in order (member labels or families)."""
    columns: tuple[str, ...] = ()
    """Panel columns the tasks were read from (same order), when they differ."""
    notes: str = ""
    """Free text: duplicate handling, dropped rows, scale."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "date": self.date,
            "n_models": self.n_models,
            "tasks": list(self.tasks),
            "columns": list(self.columns),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Normalization:
    """Chance level and ceiling used to turn a raw score into z for one key."""

    chance: float
    """c in z = (x - c) / (u - c), on the 0-1 scale."""
    ceiling: float
    """u, on the 0-1 scale."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"chance": self.chance, "ceiling": self.ceiling}


@dataclass(frozen=True)
class PercentileTable:
    """Quantiles of a population's composite, for :func:`percentile`."""

    levels: tuple[float, ...]
    """Percent levels, increasing from 0 to 100."""
    values: tuple[float, ...]
    """Quantile of the composite at each level (non-decreasing)."""
    weights: str
    """Which weights the composite used: ``fitted``, ``equal`` or ``family``."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"weights": self.weights, "levels": list(self.levels), "values": list(self.values)}


def percentile(value: float, table: PercentileTable) -> float:
    """Percent of the population whose composite is at or below ``value``.

    Linear interpolation between the table's quantiles (resolution: the
    spacing of ``table.levels``); 0 below the minimum, 100 above the maximum.

    Raises:
        MTLError: ``value`` is not finite.
    """
    if not math.isfinite(value):
        raise MTLError(f"`value` must be finite; got {value!r}.")
    vals, levels = table.values, table.levels
    if value < vals[0]:
        return 0.0
    if value >= vals[-1]:
        return 100.0
    hi = bisect.bisect_right(vals, value)
    lo = hi - 1
    # ties: bisect_right puts us after the last equal value
    span = vals[hi] - vals[lo]
    frac = 0.0 if span <= 0 else (value - vals[lo]) / span
    return levels[lo] + frac * (levels[hi] - levels[lo])


@dataclass(frozen=True)
class WeightsFile:
    """A frozen set of weights with the provenance and diagnostics of its fit."""

    id: str
    """Identifier, e.g. ``redundancy-openllm_v1``."""
    suite: str
    """Suite (lm-eval group) the weights belong to."""
    suite_version: str
    """``metadata.version`` of that suite."""
    scheme: str
    """Weighting scheme that produced them (``redundancy``, ``cluster``, ...)."""
    weights: Mapping[str, float]
    """Non-negative weights summing to 1, keyed by member label or family, ordered."""
    level: WeightsLevel = "member"
    """``member``: keys are member labels; ``family``: keys are families."""
    population: PopulationProvenance | None = None
    """The population fitted on; None for structural schemes."""
    delta: float = math.nan
    """Ledoit-Wolf shrinkage intensity used (NaN when not applicable)."""
    effective_number_nyholt: float = math.nan
    """Effective number of tasks, Nyholt (2004), of the shrunk correlation."""
    effective_number_li_ji: float = math.nan
    """Effective number of tasks, Li and Ji (2005), of the shrunk correlation."""
    kendall_tau: float = math.nan
    """Kendall tau-b of the population ranking by these weights vs equal weights."""
    max_rank_change: int = -1
    """Largest rank change of any model when any one weight halves or doubles (-1: not computed)."""
    max_rank_change_at: str = ""
    """Which perturbation gave it, e.g. ``gsm8k x2``."""
    correlation: tuple[tuple[float, ...], ...] = ()
    """Shrunk between-model correlation of the keys (in weights order); empty if not fitted."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Scheme parameters (threshold, uniqueness floor, missing-data policy ...)."""
    normalization: Mapping[str, Normalization] = field(default_factory=dict)
    """Chance/ceiling per key used for z (and so for diagnostics and percentiles)."""
    percentiles: Mapping[str, PercentileTable] = field(default_factory=dict)
    """Percentile tables of the population composite, keyed by the weights used:
    ``fitted`` (these weights) and ``equal`` (member-level file) or ``family``
    (family-level file: equal per family, i.e. the suite's ``family`` scheme)."""
    created: str = ""
    """UTC time of the fit (ISO 8601); not part of :attr:`sha256`."""
    lm_eval_mtl_version: str = ""
    """lm-eval-mtl version that fitted it; not part of :attr:`sha256`."""

    # ------------------------------------------------------------------ views

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision (NaN written as null)."""
        return {
            "format_version": FORMAT_VERSION,
            "id": self.id,
            "suite": self.suite,
            "suite_version": self.suite_version,
            "scheme": self.scheme,
            "level": self.level,
            "weights": {k: float(v) for k, v in self.weights.items()},
            "population": None if self.population is None else self.population.to_dict(),
            "diagnostics": {
                "delta": json_float(self.delta),
                "effective_number": {
                    "nyholt": json_float(self.effective_number_nyholt),
                    "li_ji": json_float(self.effective_number_li_ji),
                },
                "kendall_tau": json_float(self.kendall_tau),
                "max_rank_change": self.max_rank_change,
                "max_rank_change_at": self.max_rank_change_at,
                "correlation": [list(row) for row in self.correlation],
            },
            "params": dict(self.params),
            "normalization": {k: v.to_dict() for k, v in self.normalization.items()},
            "percentiles": {k: v.to_dict() for k, v in self.percentiles.items()},
            "created": self.created,
            "lm_eval_mtl_version": self.lm_eval_mtl_version,
        }

    def content_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without the fields that do not change the content."""
        d = self.to_dict()
        d.pop("created")
        d.pop("lm_eval_mtl_version")
        return d

    @property
    def sha256(self) -> str:
        """sha256 (hex) of the canonical JSON of :meth:`content_dict`."""
        canonical = json.dumps(
            self.content_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def short_hash(self) -> str:
        """First 6 hex digits of :attr:`sha256`, as written in citation signatures."""
        return self.sha256[:6]

    @property
    def signature(self) -> str:
        """``id@sha256:abcdef`` for citation signatures."""
        return f"{self.id}@sha256:{self.short_hash}"

    def member_weights(self, spec: SuiteSpec) -> dict[str, float]:
        """Weights per member label of ``spec`` (family weights spread equally within family).

        Raises:
            IncompatibleWeightsError: See :func:`check_compatible`.
        """
        check_compatible(self, spec)
        if self.level == "member":
            w = {label: float(self.weights[label]) for label in spec.labels}
        else:
            counts: dict[str, int] = {}
            for m in spec.members:
                counts[m.family] = counts.get(m.family, 0) + 1
            w = {m.label: float(self.weights[m.family]) / counts[m.family] for m in spec.members}
        total = math.fsum(w.values())
        return {k: v / total for k, v in w.items()}


# ------------------------------------------------------------------ compatibility


def check_compatible(wf: WeightsFile, spec: SuiteSpec) -> None:
    """Raise unless ``wf`` was fitted for ``spec`` (same suite, same version, same keys).

    Raises:
        IncompatibleWeightsError: Other suite or version (both named), or keys that
            do not match the suite's members (or families, for ``level: family``).
    """
    if wf.suite != spec.name or wf.suite_version != spec.version:
        raise IncompatibleWeightsError(
            f"weights {wf.id!r} are for suite {wf.suite}@{wf.suite_version}; "
            f"they cannot weight suite {spec.name}@{spec.version}. Fit weights for this suite "
            "(`lm-eval-mtl weights fit`) or use a structural scheme (equal, family, size)."
        )
    expected = spec.labels if wf.level == "member" else spec.families
    what = "member" if wf.level == "member" else "family"
    missing = [k for k in expected if k not in wf.weights]
    extra = [k for k in wf.weights if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no weight for {what}(s) {', '.join(missing)}")
        if extra:
            parts.append(f"weights for unknown {what}(s) {', '.join(extra)}")
        raise IncompatibleWeightsError(f"weights {wf.id!r} do not match suite {spec.id}: {'; '.join(parts)}.")
