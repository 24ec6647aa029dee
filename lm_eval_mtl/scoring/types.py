"""Result types of a composite score: :class:`TaskScore`, :class:`WeightsInfo`, :class:`CompositeScore`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from lm_eval_mtl.errors import (
    MissingExtraError,
)
from lm_eval_mtl.jsonout import json_float
from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    check_confidence_level,
)


class IntervalSource(Protocol):
    """What recomputes a composite's interval at another level (a bootstrap or t distribution)."""

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Return the interval at ``confidence_level``."""
        ...


CompositeMethod = Literal["analytic", "percentile", "bca", "wild"]


__all__ = ["CompositeMethod", "CompositeScore", "IntervalSource", "TaskScore", "WeightsInfo", "json_float"]


@dataclass(frozen=True)
class TaskScore:
    """One member's contribution to a composite."""

    task: str
    """lm-eval task name."""
    label: str
    """Member label (unique in the suite; the task name unless a task is scored twice)."""
    metric: str
    """Metric name (``acc``, ``exact_match``, ``chrf`` ...)."""
    filter: str
    """lm-eval filter name."""
    family: str
    """Capability family."""
    raw: float
    """x_t, the metric as lm-eval reports it."""
    raw_se: float
    """se(x_t) used (clustered where a cluster key applies and samples exist); NaN if unknown."""
    chance: float
    """c_t: mean of 1/k over items (multiple choice with samples), the chance metric's value, or the spec's chance."""
    chance_source: Literal["samples", "spec", "metric"]
    """Where :attr:`chance` came from."""
    ceiling: float
    """u_t, the best possible value."""
    normalized: float
    """z_t = (x_t - c_t)/(u_t - c_t), not clipped."""
    se: float
    """se(z_t) = se(x_t)/(u_t - c_t); NaN if unknown."""
    n: int | None
    """Number of items scored, when known."""
    weight: float
    """w_t (weights sum to 1 over the members kept)."""
    cluster: str | None = None
    """Doc field used as cluster key, if any."""
    resample: str = ""
    """How the bootstrap resampled this member (``binomial``, ``cluster``, ``corpus``, ``joint``), or ''."""
    successes: int | None = None
    """Number of items scored 1 when the logged item scores are all 0/1 and unclustered, else None."""
    n_clusters: int | None = None
    """Clusters G where a cluster key applies (with samples), else None."""

    @property
    def df(self) -> float | None:
        """Degrees of freedom of the clustered interval's t quantile (G - 1), or None (normal quantile)."""
        return float(self.n_clusters - 1) if self.n_clusters is not None and self.n_clusters >= 2 else None

    @property
    def interval_kind(self) -> Literal["wilson", "t", "normal"]:
        """``wilson`` (0/1 items, no clusters), ``t`` (clustered: CR1, t(G - 1)) or ``normal``."""
        if self.successes is not None and self.n:
            return "wilson"
        return "t" if self.df is not None else "normal"

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Return an interval for :attr:`normalized`.

        Wilson's score interval of the raw proportion, mapped through the normalization,
        for a 0/1 metric with logged items (it keeps its coverage with few items and at
        0 or 1); for a clustered member, :attr:`se` (CR1) with the t quantile on G - 1
        degrees of freedom (Cameron, Gelbach and Miller 2008); the normal interval otherwise.
        """
        from lm_eval_mtl.stats.intervals import normal_interval, wilson_interval

        if self.successes is not None and self.n:
            lo, hi = wilson_interval(self.successes, self.n, confidence_level)
            span = self.ceiling - self.chance
            return ConfidenceInterval((lo - self.chance) / span, (hi - self.chance) / span)
        if self.df is not None:
            from lm_eval_mtl.stats.student_t import t_critical

            half = t_critical(self.df, confidence_level) * self.se
            return ConfidenceInterval(self.normalized - half, self.normalized + half)
        return normal_interval(self.normalized, self.se, confidence_level)

    @property
    def interval_method(self) -> str:
        """How :meth:`confidence_interval` is computed: ``wilson``, ``cluster-t`` or ``normal``."""
        if self.successes is not None and self.n:
            return "wilson"
        return "cluster-t" if self.df is not None else "normal"

    def to_dict(self) -> dict[str, Any]:
        """Full-precision plain form (NaN as null)."""
        return {
            "task": self.task,
            "label": self.label,
            "metric": self.metric,
            "filter": self.filter,
            "family": self.family,
            "raw": self.raw,
            "raw_se": json_float(self.raw_se),
            "chance": self.chance,
            "chance_source": self.chance_source,
            "ceiling": self.ceiling,
            "normalized": self.normalized,
            "se": json_float(self.se),
            "n": self.n,
            "weight": self.weight,
            "cluster": self.cluster,
            "resample": self.resample,
            "successes": self.successes,
            "n_clusters": self.n_clusters,
            "interval_kind": self.interval_kind,
        }


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a composite used."""

    scheme: str
    """Weighting scheme (``equal``, ``family``, ``size``, ``redundancy`` ...)."""
    id: str
    """Weights id: the scheme name for structural weights, the file's id otherwise."""
    sha256: str
    """sha256 of the weights file's content, or of the canonical JSON of structural weights."""

    @property
    def short_hash(self) -> str:
        """First 6 hex digits of :attr:`sha256`."""
        return self.sha256[:6]

    def to_dict(self) -> dict[str, Any]:
        """Plain form."""
        return {"scheme": self.scheme, "id": self.id, "sha256": self.sha256}


@dataclass(frozen=True)
class CompositeScore:
    """A run's composite score on a suite, with its interval and provenance."""

    value: float
    """C = sum_t w_t z_t."""
    se: float
    """Standard error of C (bootstrap SD, or the analytic formula); NaN if unknown."""
    ci: ConfidenceInterval
    """Interval at :attr:`confidence_level` by :attr:`method`."""
    confidence_level: float
    """Confidence level of :attr:`ci`."""
    method: CompositeMethod
    """``analytic`` (normal, or t for clustered members, from standard errors), ``percentile``/``bca``
    (bootstrap over items) or ``wild`` (wild cluster bootstrap-t: some member has fewer than 20 clusters)."""
    n_resamples: int | None
    """Bootstrap resamples B (None for analytic)."""
    seed: int | None
    """The int seed given as ``rng``, when one was (None: a Generator or OS entropy)."""
    tasks: tuple[TaskScore, ...]
    """Per-member contributions (members kept), in suite order."""
    weights: WeightsInfo
    """Weights used."""
    signature: str
    """Citation signature; see :func:`signature`."""
    suite: str
    """Suite name."""
    suite_version: str
    """Suite ``metadata.version``."""
    tasks_dropped: tuple[str, ...] = ()
    """Member labels dropped with ``missing="drop"``."""
    drop_reasons: Mapping[str, str] = field(default_factory=dict)
    """Label -> why it was dropped."""
    lm_eval_version: str | None = None
    """lm-eval version (or ``git-<hash>``) that produced the run."""
    model_name: str = ""
    """Model of the run."""
    run_path: str = ""
    """Results file scored."""
    other_runs: tuple[str, ...] = ()
    """Other results files in the run folder that were not used."""
    percentile: float | None = None
    """Percent of the reference population at or below :attr:`value`, when a table exists."""
    percentile_reference: str | None = None
    """Which population :attr:`percentile` refers to."""
    notes: tuple[str, ...] = ()
    """Caveats worth printing (overlaps, small samples, missing stderrs)."""
    leaderboard: str | None = None
    """The leaderboard recipe of the suite (``openllm_v2``), when it has one."""
    leaderboard_average: float | None = None
    """That leaderboard's published average (0-100) computed from this run; None if not computable."""
    limit: float | None = None
    """``lm_eval --limit`` of the run (``config.limit``): each task scored only its first N items
    (a fraction for N < 1); None for a full run. Marked in the table, the headline and the signature."""
    _bootstrap: IntervalSource | None = field(default=None, repr=False, compare=False)

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Return the interval at another level (same method; bootstrap reuses its resamples).

        Raises:
            ValueError: ``confidence_level`` outside (0, 1).
        """
        level = check_confidence_level(confidence_level)
        if self._bootstrap is not None:
            return self._bootstrap.confidence_interval(level)
        from lm_eval_mtl.stats.intervals import normal_interval

        return normal_interval(self.value, self.se, level)

    def to_dict(self) -> dict[str, Any]:
        """Full-precision JSON-ready form (NaN as null).

        Schema: ``composite`` {value, se, ci [low, high], confidence_level, method,
        n_resamples, seed}, ``suite`` {name, version}, ``model``, ``run``, ``tasks`` (list of
        :meth:`TaskScore.to_dict`), ``tasks_dropped``, ``drop_reasons``, ``weights``
        {scheme, id, sha256}, ``signature``, ``lm_eval_version``, ``percentile``,
        ``percentile_reference``, ``notes``.
        """
        return {
            "composite": {
                "value": self.value,
                "se": json_float(self.se),
                "ci": [json_float(self.ci.low), json_float(self.ci.high)],
                "confidence_level": self.confidence_level,
                "method": self.method,
                "n_resamples": self.n_resamples,
                "seed": self.seed,
            },
            "suite": {"name": self.suite, "version": self.suite_version},
            "model": self.model_name,
            "run": self.run_path,
            "other_runs": list(self.other_runs),
            "tasks": [t.to_dict() for t in self.tasks],
            "tasks_dropped": list(self.tasks_dropped),
            "drop_reasons": dict(self.drop_reasons),
            "weights": self.weights.to_dict(),
            "signature": self.signature,
            "lm_eval_version": self.lm_eval_version,
            "percentile": self.percentile,
            "percentile_reference": self.percentile_reference,
            "notes": list(self.notes),
            "leaderboard": (
                None
                if self.leaderboard is None
                else {"name": self.leaderboard, "average": self.leaderboard_average}
            ),
            "limit": self.limit,
        }

    def to_frame(self) -> Any:
        """Per-member table as a pandas DataFrame (full precision).

        Raises:
            MissingExtraError: pandas is not installed.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise MissingExtraError("to_frame() needs pandas: pip install pandas") from None
        return pd.DataFrame([t.to_dict() for t in self.tasks])
