"""Which tasks, metrics and normalizations a comparison or transfer study uses (private).

With a suite, every member gives its task, metric, filter, chance, ceiling and
cluster key, and the suite's weights give the composite. Without one, the tasks
are those every run reports, each scored on the first metric its results list
(lm-eval's own order), in raw units (chance 0, ceiling 1), equally weighted.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import IncompatibleRunsError, MissingTaskError, MTLError
from lm_eval_mtl.io import RunResult, TaskResult, TaskSamples, load_run
from lm_eval_mtl.io.align import align_items, check_same_settings
from lm_eval_mtl.stats.corpus import CorpusStats

__all__ = ["AlignedTask", "TaskPlan", "aligned_task", "as_run", "item_scores", "plan_tasks", "task_value"]


@dataclass(frozen=True)
class TaskPlan:
    """How one task enters a comparison."""

    label: str
    """Member label (the task name without a suite)."""
    task: str
    """lm-eval task name."""
    metric: str
    """Metric name."""
    filter: str
    """Filter name."""
    chance: float
    """Chance level c."""
    ceiling: float
    """Ceiling u."""
    weight: float
    """Composite weight."""
    cluster: str | None = None
    """Doc field whose items share a context, or None."""

    @property
    def scale(self) -> float:
        """1 / (u - c): raw metric units -> normalized units."""
        return 1.0 / (self.ceiling - self.chance)


def as_run(run: RunResult | str | Path) -> RunResult:
    """Return ``run`` itself, or load it from a path."""
    return run if isinstance(run, RunResult) else load_run(run)


def _first_metric(run: RunResult, task: str) -> tuple[str, str]:
    tr = run.task(task)
    for key in tr.metrics:
        return key.metric, key.filter
    raise MissingTaskError(f"task {task!r} of run {run.model_name!r} reports no metric.")


def plan_tasks(
    runs: Sequence[RunResult],
    *,
    suite: str | None = None,
    tasks: Sequence[str] | None = None,
    weights: str | None = None,
    cluster: Mapping[str, str] | None = None,
) -> tuple[tuple[TaskPlan, ...], str]:
    """Plan the tasks every run must have; also return a note on the normalization used.

    Args:
        runs: The runs (all must report every planned task).
        suite: Suite name whose members (metric, chance, ceiling, cluster, weights) to use.
        tasks: Restrict to these task names / member labels (default: all common ones).
        weights: Weighting scheme or weights id for a suite (default: the suite's own).
        cluster: Task -> doc field, overriding the suite's cluster keys.

    Raises:
        MissingTaskError: A run lacks a member of the suite, or no task is common to all runs.
        UnknownNameError: Unknown suite.
    """
    cluster = dict(cluster or {})
    if suite is not None:
        from lm_eval_mtl.scoring.structural import resolve_weights
        from lm_eval_mtl.suites import load_suite

        spec = load_suite(suite)
        members = [m for m in spec.members if tasks is None or m.label in tasks or m.task in tasks]
        for run in runs:
            missing = [m.task for m in members if m.task not in run.tasks]
            if missing:
                raise MissingTaskError(
                    f"run {run.model_name!r} ({run.path}) lacks task(s) {', '.join(missing)} of suite {spec.id}."
                )
        sizes = {m.label: int(runs[0].tasks[m.task].n or 0) for m in members}
        w = resolve_weights(spec, weights, sizes)
        kept = {m.label: w[m.label] for m in members}
        total = sum(kept.values())
        plans = tuple(
            TaskPlan(
                label=m.label,
                task=m.task,
                metric=m.metric,
                filter=m.filter,
                chance=m.chance,
                ceiling=m.ceiling,
                weight=kept[m.label] / total,
                cluster=cluster.get(m.task, cluster.get(m.label, m.cluster)),
            )
            for m in members
        )
        return plans, f"normalized with suite {spec.id} (chance, ceiling), weights {weights or spec.weights}"
    common = [t for t in runs[0].tasks if all(t in r.tasks for r in runs[1:])]
    if tasks is not None:
        unknown = [t for t in tasks if t not in common]
        if unknown:
            raise MissingTaskError(
                f"task(s) {', '.join(unknown)} are not reported by every run; common tasks: {', '.join(common)}."
            )
        common = [t for t in common if t in tasks]
    if not common:
        raise MissingTaskError(
            "the runs have no task in common: "
            + "; ".join(f"{r.model_name}: {', '.join(r.tasks)}" for r in runs)
        )
    plans_list = []
    for t in common:
        metric, filt = _first_metric(runs[0], t)
        plans_list.append(
            TaskPlan(
                label=t,
                task=t,
                metric=metric,
                filter=filt,
                chance=0.0,
                ceiling=1.0,
                weight=1.0 / len(common),
                cluster=cluster.get(t),
            )
        )
    return tuple(plans_list), "raw metric units (no suite given: chance 0, ceiling 1), equal weights"


def task_value(run: RunResult, plan: TaskPlan) -> tuple[float, float, int]:
    """(metric value, stderr, n) of a planned task from the results JSON."""
    tr: TaskResult = run.task(plan.task)
    mv = tr.metric(plan.metric, plan.filter)
    return float(mv.value), float(mv.stderr), int(tr.n or 0)


CORPUS_METRICS: tuple[str, ...] = ("bleu", "chrf", "ter")


def item_scores(run: RunResult, plan: TaskPlan) -> TaskSamples | None:
    """Read the task's per-item records; None when the run logged no samples for it.

    Raises:
        MTLError: The samples hold neither a per-item value nor (reference, prediction)
            pairs of a corpus metric for the planned metric.
    """
    try:
        samples = run.samples(plan.task, plan.filter)
    except MissingTaskError:
        return None
    if plan.metric not in samples.scores and not (
        plan.metric in samples.pairs and plan.metric in CORPUS_METRICS
    ):
        held = ", ".join([*samples.scores, *samples.pairs]) or "none"
        raise MTLError(
            f"task {plan.task!r} of run {run.model_name!r}: the samples hold no per-item {plan.metric!r} "
            f"(they hold {held})."
        )
    return samples


def check_settings_all(
    runs: Sequence[RunResult], names: Sequence[str], plans: Sequence[TaskPlan], suite: str | None = None
) -> None:
    """Refuse runs whose results say they scored different items for any planned task.

    With ``suite``, runs that recorded the suite's group row must also agree on its version.
    """
    if suite is not None:
        versions = {n: r.groups[suite].version for n, r in zip(names, runs, strict=True) if suite in r.groups}
        if len(set(versions.values())) > 1:
            listing = ", ".join(f"{n}: {v}" for n, v in versions.items())
            raise IncompatibleRunsError(
                f"the runs used different versions of suite {suite!r} ({listing}); scores are not comparable."
            )
    for plan in plans:
        for i in range(1, len(runs)):
            check_same_settings(
                plan.task, runs[0].task(plan.task), runs[i].task(plan.task), names=(names[0], names[i])
            )


@dataclass(frozen=True)
class AlignedTask:
    """Every run's per-item data of one task on the shared items, in ``doc_id`` order."""

    values: npt.NDArray[np.float64] | None
    """(n, R) per-item scores of a mean metric; None for a corpus metric."""
    corpus: tuple[CorpusStats, ...] | None
    """Per run, the segment statistics of a corpus metric (BLEU, chrF, TER); else None."""
    clusters: npt.NDArray[np.int64] | None
    """Cluster label per item, or None."""

    @property
    def n(self) -> int:
        """Number of aligned items."""
        if self.values is not None:
            return int(self.values.shape[0])
        assert self.corpus is not None  # noqa: S101 - one of the two is set
        return self.corpus[0].n


def aligned_task(plan: TaskPlan, runs: Sequence[RunResult], names: Sequence[str]) -> AlignedTask | None:
    """Every run's per-item data of a planned task on the shared items; None without samples.

    Raises:
        IncompatibleRunsError: The runs' items differ (see :func:`align_items`).
        ResultsFormatError: A per-item score is NaN or missing (file and line named, see
            :meth:`TaskSamples.item_scores`).
    """
    samples = [item_scores(r, plan) for r in runs]
    present = [s for s in samples if s is not None]
    if len(present) < len(samples):
        return None
    ref = present[0]
    orders = []
    for i, s in enumerate(present):
        al = align_items(
            plan.task, ref.doc_ids, ref.doc_hashes, s.doc_ids, s.doc_hashes, names=(names[0], names[i])
        )
        orders.append(al.index_b)
    ref_order = orders[0]
    clusters = None
    if plan.cluster is not None:
        clusters = np.asarray(ref.clusters(plan.cluster), dtype=np.int64)[ref_order]
    if plan.metric in ref.scores:
        cols = []
        for i, (s, order) in enumerate(zip(present, orders, strict=True)):
            if plan.metric not in s.scores:
                raise MTLError(
                    f"task {plan.task!r} of run {names[i]}: no per-item {plan.metric!r} in the samples."
                )
            cols.append(s.item_scores(plan.metric)[order])
        return AlignedTask(np.column_stack(cols), None, clusters)
    from lm_eval_mtl.stats.corpus import segment_stats

    stats = []
    for i, (s, order) in enumerate(zip(present, orders, strict=True)):
        if plan.metric not in s.pairs:
            raise MTLError(
                f"task {plan.task!r} of run {names[i]}: no (reference, prediction) pairs for {plan.metric!r}."
            )
        refs, preds = s.pairs[plan.metric]
        idx = order.tolist()
        stats.append(segment_stats(plan.metric, [refs[k] for k in idx], [preds[k] for k in idx]))  # type: ignore[arg-type]
    return AlignedTask(None, tuple(stats), clusters)


def warn_if(condition: bool, message: str) -> None:
    """Emit a DegenerateDataWarning when ``condition``."""
    if condition:
        from lm_eval_mtl.errors import DegenerateDataWarning

        warnings.warn(DegenerateDataWarning(message), stacklevel=3)


def finite_or_nan(x: float) -> float:
    """``x`` if finite else NaN."""
    return x if math.isfinite(x) else math.nan
