"""The composite score of one run on one suite: chance-normalized, weighted, with an interval.

For each member t of the suite (DESIGN.md section 4)::

    z_t = (x_t - c_t) / (u_t - c_t)        se(z_t) = se(x_t) / (u_t - c_t)
    C   = sum_t w_t z_t

* ``x_t``, ``se(x_t)``, ``n_t`` come from the run's results file (:class:`TaskResult`).
* ``c_t`` is the mean over items of ``1/k_i`` for a multiple-choice member scored by
  ``acc``/``acc_norm`` whose samples were logged (``k_i`` = number of choices of item i);
  otherwise the suite spec's ``chance``. ``u_t`` is the spec's ``ceiling``.
* Weights come from :func:`_weights_for` (structural schemes or a frozen weights file,
  checked against the suite and version); with ``missing="drop"`` the weights of the
  members present are renormalized to sum to 1 and the dropped members are listed.

Intervals:

* ``method="auto"``: a stratified bootstrap over items (percentile) when samples exist
  for every member, else the analytic interval ``C +- z * sqrt(sum w_t^2 se(z_t)^2)``.
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
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import (
    DegenerateDataWarning,
    InsufficientDataError,
    MissingTaskError,
    ResultsFormatError,
)
from lm_eval_mtl.io.results import RunResult
from lm_eval_mtl.stats._common import (
    as_generator,
    check_confidence_level,
    check_n_resamples,
)
from lm_eval_mtl.suites.spec import SuiteSpec

if TYPE_CHECKING:
    from lm_eval_mtl.stats.bootstrap import BootstrapResult

from lm_eval_mtl.scoring.members import Member, attach_samples, collect, member_se, successes
from lm_eval_mtl.scoring.overlap import JointStatistics, components
from lm_eval_mtl.scoring.signature import signature
from lm_eval_mtl.scoring.types import CompositeScore, TaskScore, WeightsInfo
from lm_eval_mtl.scoring.weights import percentile_for, resolve

FloatArray = npt.NDArray[np.float64]
MissingPolicy = Literal["error", "drop"]
CompositeMethod = Literal["analytic", "percentile", "bca"]
_CORPUS_METRICS = ("bleu", "chrf", "chrf++", "ter")
_CHOICE_METRICS = ("acc", "acc_norm")


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
    """
    level, b = _score_run_iv(run, suite, confidence_level, n_resamples, method, missing, clusters)
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    gen = as_generator(rng)
    notes: list[str] = []

    members, dropped = collect(run, suite, missing)
    all_samples = all(run.has_samples(m.spec.task) for m in members)
    if method in ("percentile", "bca") and not all_samples:
        lacking = [m.spec.task for m in members if not run.has_samples(m.spec.task)]
        raise MissingTaskError(
            f"method={method!r} bootstraps over items and needs samples for every member; none were logged "
            f"for {', '.join(dict.fromkeys(lacking))}. Re-run lm_eval with --log_samples, or use method "
            "'analytic' ('auto' chooses it)."
        )
    attach_samples(run, members, dict(clusters or {}))
    for mem in members:
        if mem.chance_source == "spec":
            mem.chance = mem.spec.chance
        if not mem.spec.ceiling > mem.chance:
            raise ResultsFormatError(
                f"member {mem.spec.label!r}: chance {mem.chance} from the samples is not below the ceiling "
                f"{mem.spec.ceiling}."
            )
        if mem.cluster_field and mem.samples is None:
            notes.append(
                f"{mem.spec.label}: cluster key {mem.cluster_field!r} ignored (no samples); its stderr assumes independent items."
            )

    # weights over the whole suite, then restricted to the members kept
    sizes = {
        mem.spec.label: (mem.n if mem.n is not None else len(mem.samples) if mem.samples is not None else 0)
        for mem in members
    }
    full, info, wf = resolve(suite, weights, sizes)
    kept_total = math.fsum(full[mem.spec.label] for mem in members)
    if not kept_total > 0:
        raise InsufficientDataError(
            f"the members present ({', '.join(m.spec.label for m in members)}) all have weight 0 under {info.id!r}."
        )
    w = {mem.spec.label: full[mem.spec.label] / kept_total for mem in members}

    scores: list[TaskScore] = []
    ses: list[float] = []
    for mem in members:
        m = mem.spec
        span = m.ceiling - mem.chance
        se_raw = member_se(mem, notes, gen, b)
        z = (mem.raw - mem.chance) / span
        ses.append(se_raw / span)
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
                se=se_raw / span,
                n=mem.n if mem.n is not None else (len(mem.samples) if mem.samples is not None else None),
                weight=w[m.label],
                cluster=mem.cluster_field if mem.samples is not None else None,
                successes=successes(mem),
            )
        )
    value = math.fsum(t.weight * t.normalized for t in scores)

    use_bootstrap = method in ("percentile", "bca") or (method == "auto" and all_samples)
    comps = components(members, run, with_samples=use_bootstrap)
    boot: BootstrapResult | None = None
    resample: dict[str, str] = {}
    if use_bootstrap:
        from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_composite, resample_kind

        tasks: list[Any] = []
        tw: list[float] = []
        offs: list[float] = []
        scs: list[float] = []
        for comp in comps:
            if len(comp) == 1:
                mem = members[comp[0]]
                task: Any = (
                    mem.corpus
                    if mem.corpus is not None
                    else ItemScores(mem.scores, clusters=mem.cluster_labels)  # type: ignore[arg-type]
                )
                tasks.append(task)
                tw.append(w[mem.spec.label])
                offs.append(mem.chance)
                scs.append(1.0 / (mem.spec.ceiling - mem.chance))
                resample[mem.spec.label] = resample_kind(task)
            else:
                group = [members[i] for i in comp]
                coefs = [w[g.spec.label] / (g.spec.ceiling - g.chance) for g in group]
                joint = JointStatistics(group, coefs)
                tasks.append(joint)
                tw.append(1.0)
                offs.append(0.0)
                scs.append(1.0)
                labels = [g.spec.label for g in group]
                for g in group:
                    resample[g.spec.label] = "joint"
                clustered = [g.spec.label for g in group if g.cluster_field]
                notes.append(
                    f"members {', '.join(labels)} share items; they were resampled jointly over their "
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
            method="percentile" if method == "auto" else method,  # type: ignore[arg-type]
            n_resamples=b,
            rng=gen,
        )
        if abs(boot.value - value) > 1e-6 * max(1.0, abs(value)):
            raise ResultsFormatError(
                f"the composite recomputed from the logged items ({boot.value!r}) differs from the one from the "
                f"results file ({value!r}); the samples do not match the results."
            )
        se, ci = boot.se, boot.ci
        final_method: CompositeMethod = boot.method if boot.method != "basic" else "percentile"  # type: ignore[assignment]
        scores = [_with_resample(t, resample.get(t.label, "")) for t in scores]
    else:
        from lm_eval_mtl.stats.intervals import normal_interval

        var = 0.0
        for comp in comps:
            # within a component the covariance is unknown: perfect correlation is the upper bound
            part = math.fsum(scores[i].weight * ses[i] for i in comp)
            var += part * part
            if len(comp) > 1:
                notes.append(
                    f"members {', '.join(scores[i].label for i in comp)} share items; without samples their "
                    "covariance is unknown, so their errors were added as if perfectly correlated (upper bound)."
                )
        se = math.sqrt(var) if math.isfinite(var) else math.nan
        if math.isnan(se):
            warnings.warn(
                DegenerateDataWarning(
                    "The composite's standard error is undefined (some member has no stderr); returning NaN."
                ),
                stacklevel=2,
            )
        ci = normal_interval(value, se, level)
        final_method = "analytic"
        small = [t.label for t in scores if t.n is not None and t.n < 300]
        if small:
            notes.append(
                "normal intervals under-cover with few items (under 300 for "
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

    pct, pct_ref = (None, None)
    if not dropped:
        pct, pct_ref = percentile_for(suite, info, wf, value)
    lb_avg = _leaderboard_average(suite, members, dropped, notes)
    hashes = {mem.spec.task: mem.task_hash for mem in members}
    sig = signature(suite, info, run.lm_eval_version, hashes, tuple(dropped))
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
        _bootstrap=boot,
    )


def _leaderboard_average(
    suite: SuiteSpec, members: Sequence[Member], dropped: Mapping[str, str], notes: list[str]
) -> float | None:
    """Compute the suite's leaderboard average (Open LLM Leaderboard v2), or None with a note saying why."""
    if suite.leaderboard is None:
        return None
    if suite.leaderboard != "openllm_v2":
        notes.append(f"leaderboard {suite.leaderboard!r}: no recipe in this version; average not computed.")
        return None
    if dropped:
        notes.append("openllm_v2 average not computed: it needs every member (some were dropped).")
        return None
    from lm_eval_mtl.errors import MTLError
    from lm_eval_mtl.scoring.leaderboard import openllm_v2_average

    values = {m.spec.label: m.raw for m in members}
    sizes = {
        m.spec.label: (m.n if m.n is not None else len(m.samples) if m.samples is not None else 0)
        for m in members
    }
    try:
        return openllm_v2_average(suite, values, {k: v for k, v in sizes.items() if v > 0})
    except MTLError as err:
        notes.append(f"openllm_v2 average not computed: {err}")
        return None


def _with_resample(t: TaskScore, kind: str) -> TaskScore:
    from dataclasses import replace

    return replace(t, resample=kind)
