"""The composite's interval: two strategies, bootstrap over items or analytic from stderrs.

* :func:`bootstrap_interval`: a stratified bootstrap over each member's items (exact fast
  paths for 0/1 and few-valued scores, clusters resampled whole, corpus metrics through
  their segment statistics), with members that share documents resampled jointly over the
  union of their documents (:class:`lm_eval_mtl.scoring.overlap.JointStatistics`).
  When some member has fewer than 20 clusters the pairs cluster bootstrap under-covers
  (bench/RESULTS.md, "Few clusters"): the interval is then the wild cluster bootstrap-t
  (:func:`lm_eval_mtl.stats.wild_composite.wild_composite`, method ``wild``) over the members'
  clusters, corpus members and members sharing items entering through their ordinary bootstrap.
* :func:`analytic_interval`: the normal interval ``C +- z se(C)`` with se(C) from
  :func:`lm_eval_mtl.scoring.analytic.composite_se` (overlapping members added as perfectly
  correlated, the upper bound); with clustered members the t quantile on Satterthwaite's df.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from lm_eval_mtl.errors import DegenerateDataWarning, ResultsFormatError
from lm_eval_mtl.scoring.analytic import composite_se
from lm_eval_mtl.scoring.members import Member
from lm_eval_mtl.scoring.overlap import JointStatistics
from lm_eval_mtl.scoring.types import CompositeMethod, IntervalSource, TaskScore
from lm_eval_mtl.stats._common import ConfidenceInterval

__all__ = ["CompositeInterval", "analytic_interval", "bootstrap_interval"]

SMALL_TASK = 300
"""Below this many items a normal interval under-covers (a note says so)."""


@dataclass(frozen=True)
class CompositeInterval:
    """The composite's standard error and interval, and how they were obtained."""

    se: float
    """Standard error of C (bootstrap SD, or the analytic formula); NaN if unknown."""
    ci: ConfidenceInterval
    """The interval."""
    method: CompositeMethod
    """``analytic``, ``percentile`` or ``bca``."""
    bootstrap: IntervalSource | None = None
    """The bootstrap (or t) distribution, reused for other confidence levels; None: normal."""
    resample: Mapping[str, str] = field(default_factory=dict)
    """Member label -> how it was resampled (``binomial``, ``cluster``, ``corpus``, ``joint`` ...)."""
    notes: tuple[str, ...] = ()
    """Caveats (shared items, few items, no samples)."""


def bootstrap_interval(
    members: Sequence[Member],
    comps: Sequence[Sequence[int]],
    weights: Mapping[str, float],
    value: float,
    *,
    level: float,
    method: Literal["percentile", "bca"],
    n_resamples: int,
    rng: np.random.Generator,
) -> CompositeInterval:
    """Bootstrap the composite over items, stratified by member (jointly within an overlap component).

    With a member of fewer than 20 clusters the wild cluster bootstrap-t replaces the pairs
    bootstrap (``method`` is then ``wild`` whatever was asked; a note says why).

    Raises:
        ResultsFormatError: The composite recomputed from the items differs from ``value``.
    """
    from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_composite, resample_kind
    from lm_eval_mtl.stats.clusters import FINE_CLUSTERS

    few = [members[c[0]] for c in comps if len(c) == 1 and _n_groups(members[c[0]]) < FINE_CLUSTERS]
    if few:
        return _wild_interval(
            members, comps, weights, value, few, level=level, n_resamples=n_resamples, rng=rng
        )

    tasks: list[Any] = []
    tw: list[float] = []
    offs: list[float] = []
    scs: list[float] = []
    resample: dict[str, str] = {}
    notes: list[str] = []
    for comp in comps:
        if len(comp) == 1:
            mem = members[comp[0]]
            task: Any = (
                mem.corpus if mem.corpus is not None else ItemScores(mem.scores, clusters=mem.cluster_labels)  # type: ignore[arg-type]
            )
            tasks.append(task)
            tw.append(weights[mem.label])
            offs.append(mem.chance)
            scs.append(mem.scale)
            resample[mem.label] = resample_kind(task)
            continue
        group = [members[i] for i in comp]
        joint = JointStatistics(group, [weights[g.label] * g.scale for g in group])
        tasks.append(joint)
        tw.append(1.0)
        offs.append(0.0)
        scs.append(1.0)
        for g in group:
            resample[g.label] = "joint"
        clustered = [g.label for g in group if g.cluster_field]
        notes.append(
            f"members {', '.join(g.label for g in group)} share items; they were resampled jointly over their "
            f"{joint.n_units} distinct documents (covariance included)"
            + (f"; cluster keys of {', '.join(clustered)} not applied there" if clustered else "")
            + "."
        )
    boot = bootstrap_composite(
        tasks,
        tw,
        offsets=offs,
        scales=scs,
        confidence_level=level,
        method=method,
        n_resamples=n_resamples,
        rng=rng,
    )
    if abs(boot.value - value) > 1e-6 * max(1.0, abs(value)):
        raise ResultsFormatError(
            f"the composite recomputed from the logged items ({boot.value!r}) differs from the one from the "
            f"results file ({value!r}); the samples do not match the results."
        )
    final: CompositeMethod = boot.method if boot.method != "basic" else "percentile"
    return CompositeInterval(boot.se, boot.ci, final, boot, resample, tuple(notes))


def _n_groups(mem: Member) -> int:
    """Resampling units of a member's cluster labels (clusters, or prompts of a nested metric); 2^31 if none."""
    labels = mem.cluster_labels
    return int(np.unique(labels).size) if labels is not None else 1 << 31


def _wild_interval(
    members: Sequence[Member],
    comps: Sequence[Sequence[int]],
    weights: Mapping[str, float],
    value: float,
    few: Sequence[Member],
    *,
    level: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> CompositeInterval:
    """Form the wild cluster bootstrap-t interval of the composite (some member has fewer than 20 clusters)."""
    from lm_eval_mtl.stats.wild_composite import WildStratum, wild_composite

    strata: list[WildStratum] = []
    linear = 0.0
    resample: dict[str, str] = {}
    rest: list[int] = []
    rest_comps: list[Sequence[int]] = []
    for comp in comps:
        mem = members[comp[0]]
        if len(comp) > 1 or mem.corpus is not None or mem.scores is None:
            rest_comps.append(comp)
            rest.extend(comp)
            continue
        coef = weights[mem.label] * mem.scale
        st = WildStratum.from_items(mem.scores, mem.cluster_labels, coef)
        strata.append(st)
        linear += coef * float(st.sums.sum() / st.sizes.sum()) - weights[mem.label] * mem.scale * mem.chance
        resample[mem.label] = "wild cluster" if mem.cluster_labels is not None else "wild"
    extra_dev = None
    extra_var = 0.0
    notes: list[str] = []
    if rest_comps:
        sub = bootstrap_interval(
            members, rest_comps, weights, value - linear, level=level, method="percentile",
            n_resamples=n_resamples, rng=rng,
        )  # fmt: skip
        assert sub.bootstrap is not None
        dist = np.asarray(sub.bootstrap.distribution)  # type: ignore[attr-defined]
        extra_dev = dist - (value - linear)
        extra_var = float(np.var(dist, ddof=1))
        resample.update(sub.resample)
        notes.extend(sub.notes)
    elif abs(linear - value) > 1e-6 * max(1.0, abs(value)):
        raise ResultsFormatError(
            f"the composite recomputed from the logged items ({linear!r}) differs from the one from the "
            f"results file ({value!r}); the samples do not match the results."
        )
    wild = wild_composite(
        strata, value, extra_deviations=extra_dev, extra_variance=extra_var, confidence_level=level,
        n_resamples=n_resamples, rng=rng,
    )  # fmt: skip
    named = ", ".join(f"{m.label} ({_n_groups(m)})" for m in few[:5]) + (" ..." if len(few) > 5 else "")
    notes.append(
        f"interval: wild cluster bootstrap-t (Webb weights for members with at most 12 clusters, "
        f"Rademacher otherwise; B={n_resamples}) because some members have fewer than 20 clusters: "
        f"{named}; the pairs cluster bootstrap under-covers there."
        + (
            " Corpus members and members sharing items enter through their ordinary bootstrap."
            if rest_comps
            else ""
        )
    )
    return CompositeInterval(wild.se, wild.ci, "wild", wild, resample, tuple(notes))


def analytic_interval(
    scores: Sequence[TaskScore],
    comps: Sequence[Sequence[int]],
    value: float,
    *,
    level: float,
    all_samples: bool,
) -> CompositeInterval:
    """Form the normal interval from the members' stderrs.

    Warns:
        DegenerateDataWarning: Some weighted member has no stderr (the SE is NaN).
    """
    from lm_eval_mtl.stats.intervals import normal_interval

    notes: list[str] = []
    # within a component the covariance is unknown: perfect correlation is the upper bound
    in_comp = {i: g for g, comp in enumerate(comps) for i in comp}
    se = float(
        composite_se(
            np.asarray([t.se for t in scores]),
            [t.weight for t in scores],
            [in_comp[i] for i in range(len(scores))],
        )
    )
    for comp in comps:
        if len(comp) > 1:
            notes.append(
                f"members {', '.join(scores[i].label for i in comp)} share items; without samples their "
                "covariance is unknown, so their errors were added as if perfectly correlated (upper bound)."
            )
    if math.isnan(se):
        warnings.warn(
            DegenerateDataWarning(
                "The composite's standard error is undefined (some member has no stderr); returning NaN."
            ),
            stacklevel=3,
        )
    small = [t.label for t in scores if t.n is not None and t.n < SMALL_TASK]
    if small:
        notes.append(
            f"normal intervals under-cover with few items (under {SMALL_TASK} for "
            + ", ".join(small[:5])
            + (" ..." if len(small) > 5 else "")
            + (
                "); log samples (--log_samples) for a bootstrap interval."
                if not all_samples
                else "); prefer the bootstrap (method 'auto' or 'percentile')."
            )
        )
    if not all_samples:
        notes.append(
            "interval: analytic (no samples for every member); run lm_eval with --log_samples to bootstrap."
        )
    dfs = [t.df if t.df is not None else math.inf for t in scores]
    if any(math.isfinite(d) for d in dfs) and math.isfinite(se):
        # clustered members: CR1 with t quantiles, the composite's df by Welch-Satterthwaite
        from lm_eval_mtl.stats.clusters import CompositeTInterval, satterthwaite_df, t_critical

        var = [(t.weight * t.se) ** 2 for t in scores]
        df = satterthwaite_df(var, dfs)
        crit = t_critical(df, level)
        notes.append(
            f"interval: t quantile on {df:.1f} degrees of freedom (Satterthwaite; clustered members)."
        )
        t_iv = CompositeTInterval(
            value, se, ConfidenceInterval(value - crit * se, value + crit * se), df, crit, level
        )
        return CompositeInterval(se, t_iv.ci, "analytic", t_iv, {}, tuple(notes))
    return CompositeInterval(se, normal_interval(value, se, level), "analytic", None, {}, tuple(notes))
