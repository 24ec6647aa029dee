"""The composite score of one run on one suite: chance-normalized, weighted, with an interval.

For each member t of the suite (DESIGN.md section 4)::

    z_t = (x_t - c_t) / (u_t - c_t)        se(z_t) = se(x_t) / (u_t - c_t)
    C   = sum_t w_t z_t

* ``x_t``, ``se(x_t)``, ``n_t`` come from the run's results file (:class:`TaskResult`).
* Every member's data comes from :func:`lm_eval_mtl.scoring.members.collect_members`, the
  one per-member pipeline: ``c_t`` is the mean over items of ``1/k_i`` for a 1-of-k
  multiple-choice member whose samples were logged (``k_i`` = number of choices of item i);
  otherwise the suite spec's ``chance``. ``u_t`` is the spec's ``ceiling``.
* Weights come from :func:`lm_eval_mtl.scoring.weights.kept_weights` (structural schemes or
  a frozen weights file, checked against the suite and version); with ``missing="drop"`` the
  weights of the members present are renormalized to sum to 1 and the dropped members are
  listed.

Intervals:

* ``method="auto"``: a stratified bootstrap over items (percentile) when samples exist
  for every member, else the analytic interval ``C +- z * se(C)`` with se(C) from
  :func:`lm_eval_mtl.scoring.analytic.composite_se`.
* Bootstrap tasks: 0/1 and few-valued metrics use H3's exact fast paths
  (:func:`lm_eval_mtl.stats.bootstrap.bootstrap_composite`); a member with a cluster key
  (its spec's ``cluster`` doc field, or ``clusters={task: field}``) resamples clusters;
  corpus metrics (BLEU, chrF, TER) resample segments through their additive sufficient
  statistics (:mod:`lm_eval_mtl.stats.corpus`).
* Overlapping items. Members that score the same task (IFEval's two metrics), or tasks
  whose logged documents share ``doc_hash`` values (GPQA diamond inside main), are not
  independent. With samples they are resampled *jointly* over the union of their
  documents (one multiplicity per document), which carries their covariance into the
  interval. Without samples the covariance is unknown: such members' errors are added
  as if perfectly correlated (an upper bound) and :attr:`CompositeScore.notes` says so.
  Without samples, overlap is known only for repeated tasks and for a group member that
  contains another member.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from lm_eval_mtl.errors import (
    MissingTaskError,
)
from lm_eval_mtl.io.results import RunResult
from lm_eval_mtl.stats._common import (
    as_generator,
    check_confidence_level,
    check_n_resamples,
    check_resample_memory,
)
from lm_eval_mtl.suites.spec import SuiteSpec

if TYPE_CHECKING:
    pass

from lm_eval_mtl.scoring.interval import analytic_interval, bootstrap_interval
from lm_eval_mtl.scoring.members import Member, MissingPolicy, collect_members, member_se, successes
from lm_eval_mtl.scoring.normalize import normalize_se
from lm_eval_mtl.scoring.overlap import components
from lm_eval_mtl.scoring.signature import signature
from lm_eval_mtl.scoring.types import CompositeMethod, CompositeScore, TaskScore, WeightsInfo
from lm_eval_mtl.scoring.weights import kept_weights, percentile_for

__all__ = [
    "CompositeMethod",
    "CompositeScore",
    "MethodArg",
    "TaskScore",
    "WeightsInfo",
    "score_run",
    "signature",
]

MethodArg = Literal["auto", "analytic", "percentile", "bca"]
_METHODS = ("auto", "analytic", "percentile", "bca")


def _score_run_iv(
    run: Any,
    suite: Any,
    confidence_level: float,
    n_resamples: int,
    method: str,
    missing: str,
    clusters: Mapping[str, str] | None,
) -> tuple[float, int]:
    if not isinstance(run, RunResult):
        raise TypeError(f"`run` must be a RunResult (from load_run); got {type(run).__name__}.")
    if not isinstance(suite, SuiteSpec):
        raise TypeError(f"`suite` must be a SuiteSpec (from load_suite); got {type(suite).__name__}.")
    level = check_confidence_level(confidence_level)
    b = check_n_resamples(n_resamples)
    if method not in _METHODS:
        from lm_eval_mtl.errors import unknown_name

        raise unknown_name("interval method", str(method), _METHODS)
    if missing not in ("error", "drop"):
        raise ValueError(f"`missing` must be 'error' or 'drop'; got {missing!r}.")
    if clusters is not None:
        known = set(suite.tasks) | set(suite.labels)
        for key, value in clusters.items():
            if key not in known:
                from lm_eval_mtl.errors import unknown_name

                raise unknown_name(f"task of suite {suite.name!r} in `clusters`", str(key), sorted(known))
            if not isinstance(value, str) or not value:
                raise ValueError(f"`clusters[{key!r}]` must be a doc field name; got {value!r}.")
    return level, b


def score_run(
    run: RunResult,
    suite: SuiteSpec,
    *,
    weights: str | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 10_000,
    rng: np.random.Generator | int | None = None,
    method: MethodArg = "auto",
    clusters: Mapping[str, str] | None = None,
    missing: MissingPolicy = "error",
    allow_few_clusters: bool = False,
) -> CompositeScore:
    """Compute the composite score of ``run`` on ``suite``.

    Args:
        run: A run from :func:`lm_eval_mtl.io.load_run`.
        suite: A suite from :func:`lm_eval_mtl.suites.load_suite`.
        weights: ``equal``, ``family``, ``size``, a shipped weights id or a weights file
            path; default: the suite's own default.
        confidence_level: In (0, 1).
        n_resamples: Bootstrap resamples B.
        rng: Generator, int seed or None.
        method: ``auto`` (bootstrap percentile when every member has samples, else
            analytic), ``analytic``, ``percentile`` or ``bca`` (these two need samples).
        clusters: Task name or member label -> doc field to cluster on, adding to (and
            overriding) the suite's ``cluster`` keys.
        missing: ``error`` (default): a member absent from the run is an error; ``drop``:
            score the members present, renormalize their weights, list the dropped.
        allow_few_clusters: Go on (with a warning) where a member's cluster key gives fewer
            than 4 clusters; otherwise that is refused (:class:`FewClustersError`).

    Returns:
        The :class:`CompositeScore`.

    Raises:
        TypeError: ``run``/``suite`` of the wrong type.
        ValueError: Bad ``confidence_level``, ``n_resamples``, ``missing`` or ``clusters``.
        UnknownNameError: Unknown ``method``, weights id or cluster task.
        MissingTaskError: A member's task is absent (``missing="error"``), or ``method``
            needs samples that were not logged.
        MissingMetricError: A member's metric (or filter) is absent; a cluster field is absent.
        ResultsFormatError: A NaN score, malformed or inconsistent samples.
        IncompatibleWeightsError: Weights for another suite or version.
        InsufficientDataError: No member could be scored.

    Warns:
        DegenerateDataWarning: The composite's standard error is undefined (NaN).
        FewClustersWarning: A member's cluster key gives fewer than 20 clusters.
    """
    level, b = _score_run_iv(run, suite, confidence_level, n_resamples, method, missing, clusters)
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    gen = as_generator(rng)
    notes: list[str] = []

    collected = collect_members(
        run, suite, clusters=clusters, missing=missing, allow_few_clusters=allow_few_clusters
    )
    members, dropped = list(collected.members), dict(collected.dropped)
    notes.extend(collected.notes)
    all_samples = collected.all_samples
    if method in ("percentile", "bca") and not all_samples:
        lacking = [m.spec.task for m in members if m.samples is None]
        raise MissingTaskError(
            f"method={method!r} bootstraps over items and needs samples for every member; none were logged "
            f"for {', '.join(dict.fromkeys(lacking))}. Re-run lm_eval with --log_samples, or use method "
            "'analytic' ('auto' chooses it)."
        )
    sizes = {mem.label: mem.n_items or 0 for mem in members}
    resolved = kept_weights(suite, weights, collected.labels, sizes)
    info, wf, w = resolved.info, resolved.file, resolved.weights

    scores: list[TaskScore] = []
    ses: list[float] = []
    for mem in members:
        m = mem.spec
        se_raw = member_se(mem, notes, gen, b)
        z = mem.normalized
        ses.append(normalize_se(se_raw, mem.chance, m.ceiling))
        scores.append(
            TaskScore(
                task=m.task,
                label=m.label,
                metric=m.metric,
                filter=m.filter,
                family=m.family,
                raw=mem.raw,
                raw_se=se_raw,
                chance=mem.chance,
                chance_source=mem.chance_source,
                ceiling=m.ceiling,
                normalized=z,
                se=ses[-1],
                n=mem.n_items,
                weight=w[m.label],
                cluster=mem.cluster_field if mem.samples is not None else None,
                successes=successes(mem),
                n_clusters=mem.n_clusters,
            )
        )
    value = math.fsum(t.weight * t.normalized for t in scores)

    use_bootstrap = method in ("percentile", "bca") or (method == "auto" and all_samples)
    comps = components(members, run, with_samples=use_bootstrap)
    if use_bootstrap:
        joint = sum(members[i].n_items or 0 for c in comps if len(c) > 1 for i in c)  # (B, docs) counts
        check_resample_memory(b, len(members) + joint, what="the composite bootstrap")
        iv = bootstrap_interval(
            members,
            comps,
            w,
            value,
            level=level,
            method="bca" if method == "bca" else "percentile",
            n_resamples=b,
            rng=gen,
        )
        scores = [_with_resample(t, iv.resample.get(t.label, "")) for t in scores]
    else:
        iv = analytic_interval(scores, comps, value, level=level, all_samples=all_samples)
    notes.extend(iv.notes)
    se, ci, final_method, boot = iv.se, iv.ci, iv.method, iv.bootstrap

    pct, pct_ref = (None, None)
    if not dropped:
        pct, pct_ref = percentile_for(suite, info, wf, value)
    lb_avg = _leaderboard_average(suite, members, dropped, notes)
    hashes = {mem.spec.task: mem.task_hash for mem in members}
    sig = signature(
        suite,
        info,
        run.lm_eval_version,
        hashes,
        tuple(dropped),
        chance_from_samples=collected.chance_from_samples,
        limit=run.limit,
    )
    return CompositeScore(
        value=value,
        se=se,
        ci=ci,
        confidence_level=level,
        method=final_method,
        n_resamples=b if use_bootstrap else None,
        seed=seed,
        tasks=tuple(scores),
        weights=info,
        signature=sig,
        suite=suite.name,
        suite_version=suite.version,
        tasks_dropped=tuple(dropped),
        drop_reasons=dict(dropped),
        lm_eval_version=run.lm_eval_version,
        model_name=run.model_name,
        run_path=str(run.path),
        other_runs=tuple(str(p) for p in run.other_runs),
        percentile=pct,
        percentile_reference=pct_ref,
        notes=tuple(dict.fromkeys(notes)),
        leaderboard=suite.leaderboard,
        leaderboard_average=lb_avg,
        limit=run.limit,
        _bootstrap=boot,
    )


def _leaderboard_average(
    suite: SuiteSpec, members: Sequence[Member], dropped: Mapping[str, str], notes: list[str]
) -> float | None:
    """Compute the suite's leaderboard average (Open LLM Leaderboard v2), or None with a note saying why."""
    if suite.leaderboard is None:
        return None
    from lm_eval_mtl.errors import MTLError
    from lm_eval_mtl.scoring.leaderboard import LEADERBOARDS, leaderboard_average

    name = suite.leaderboard
    if name not in LEADERBOARDS:
        notes.append(f"leaderboard {name!r}: no recipe in this version; average not computed.")
        return None
    if dropped:
        notes.append(f"{name} average not computed: it needs every member (some were dropped).")
        return None
    values = {m.label: m.raw for m in members}
    sizes = {m.label: m.n_items or 0 for m in members}
    try:
        return leaderboard_average(name, suite, values, sizes)
    except MTLError as err:
        notes.append(f"{name} average not computed: {err}")
        return None


def _with_resample(t: TaskScore, kind: str) -> TaskScore:
    from dataclasses import replace

    return replace(t, resample=kind)
