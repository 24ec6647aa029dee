"""Which members, chance levels and weights a comparison or transfer study uses.

Every run goes through the same per-member pipeline as ``report``
(:func:`lm_eval_mtl.scoring.members.collect_members`): the same metric, filter, chance
(per item where items are logged), ceiling, cluster key, the same checks of samples
against the results file, and the same weights (:func:`lm_eval_mtl.scoring.weights.kept_weights`).
So a comparison's composite difference is the difference of the two runs' ``report``
composites.

The suite is the one named, else the one ``report`` detects when the run carries the
suite's group row or covers all its members (:func:`lm_eval_mtl.suites.detect.detect_suite`).
Without one, the tasks every run reports are compared in raw units (chance 0, ceiling 1,
equal weights), each on the first metric its results list; metrics on different scales
(BLEU/chrF's 0-100 beside 0-1 accuracies) are refused unless ``units="raw"`` is asked for.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import IncompatibleRunsError, MissingTaskError, UnknownNameError
from lm_eval_mtl.io.align import align_items, check_same_settings
from lm_eval_mtl.io.results import RunResult
from lm_eval_mtl.io.runs import load_run
from lm_eval_mtl.scoring.members import CORPUS_METRICS, Member, Members, collect_members, prefetch_members
from lm_eval_mtl.scoring.overlap import components
from lm_eval_mtl.scoring.weights import kept_weights
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.suites.spec import MemberSpec, SuiteSpec

__all__ = [
    "AlignedTask",
    "Plan",
    "TaskPlan",
    "Units",
    "aligned_task",
    "as_run",
    "check_settings_all",
    "finite_or_nan",
    "model_key",
    "pair_key",
    "plan_runs",
    "run_choice_notes",
    "task_value",
    "warn_if",
]

Units = Literal["suite", "raw"]
"""``suite``: normalized with a suite (named or detected); ``raw``: raw metric units, equal weights."""
RAW_SUITE = "(raw units)"


@dataclass(frozen=True)
class TaskPlan:
    """How one member enters a comparison."""

    label: str
    """Member label."""
    task: str
    """lm-eval task name."""
    metric: str
    """Metric name."""
    filter: str
    """Filter name."""
    chance: float
    """Chance level c (per item where the first run logged its items, as in ``report``)."""
    ceiling: float
    """Ceiling u."""
    weight: float
    """Composite weight."""
    cluster: str | None = None
    """Doc field whose items share a context, or None."""
    overlap_group: int = 0
    """Members with one group score overlapping items (their errors add as correlated)."""

    @property
    def scale(self) -> float:
        """1 / (u - c): raw metric units -> normalized units."""
        return 1.0 / (self.ceiling - self.chance)


@dataclass(frozen=True)
class Plan:
    """The members of a comparison: per run, and the plan of each member."""

    tasks: tuple[TaskPlan, ...]
    """One plan per member, in suite order."""
    normalization: str
    """How scores were normalized and weighted, in words."""
    suite: SuiteSpec
    """The suite (or the ad-hoc raw-units spec)."""
    members: tuple[Members, ...]
    """Per run, its members from :func:`collect_members`."""
    suite_note: str = ""
    """How the suite was chosen, when it was detected."""

    @property
    def groups(self) -> tuple[int, ...]:
        """Overlap group per member, in plan order."""
        return tuple(t.overlap_group for t in self.tasks)


def as_run(run: RunResult | str | Path) -> RunResult:
    """Return ``run`` itself, or load it from a path."""
    return run if isinstance(run, RunResult) else load_run(run)


def _scale_of(metric: str) -> float:
    """Return the top of a metric's usual scale: 100 for BLEU, chrF, chrF++ and TER (percent), else 1."""
    return 100.0 if metric in CORPUS_METRICS else 1.0


def _raw_spec(runs: Sequence[RunResult], tasks: Sequence[str] | None) -> SuiteSpec:
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
    members = []
    for t in common:
        tr = runs[0].task(t)
        key = next(iter(tr.metrics), None)
        if key is None:
            raise MissingTaskError(f"task {t!r} of run {runs[0].model_name!r} reports no metric.")
        members.append(
            MemberSpec(task=t, metric=key.metric, filter=key.filter, chance=0.0, ceiling=1.0, family=t)
        )
    return SuiteSpec(name=RAW_SUITE, version="0", kind="suite", members=tuple(members), weights="equal")


def _detect(run: RunResult) -> tuple[SuiteSpec | None, str]:
    from lm_eval_mtl.suites.detect import detect_suite

    try:
        choice = detect_suite(run)
    except UnknownNameError:
        return None, ""
    in_run = choice.suite.name in run.groups or choice.suite.name in run.group_subtasks
    if in_run or choice.coverage == 1.0:
        return choice.suite, f"suite {choice.suite.id} detected: {choice.reason}"
    return None, ""


def plan_runs(
    runs: Sequence[RunResult],
    *,
    suite: str | SuiteSpec | None = None,
    tasks: Sequence[str] | None = None,
    weights: str | None = None,
    clusters: Mapping[str, str] | None = None,
    units: Units | None = None,
    allow_few_clusters: bool = False,
) -> Plan:
    """Collect every run's members and plan the comparison.

    Args:
        runs: The runs (each must report every planned member).
        suite: Suite (name or spec) whose members, normalization and weights to use;
            default: the suite detected from the first run, else raw units.
        tasks: Restrict to these member labels / task names.
        weights: Weighting scheme or weights id (default: the suite's own).
        clusters: Task -> doc field, overriding the suite's cluster keys.
        units: ``raw`` forces raw metric units over the common tasks (no suite);
            ``suite`` requires a suite (named or detected); None: a suite where one is
            named or detected, else raw units when every metric has the same scale.
        allow_few_clusters: Go on (with a warning) where a cluster key gives fewer than 4 clusters.

    Raises:
        MissingTaskError: A run lacks a member, or no task is common to all runs.
        IncompatibleRunsError: No suite, and the metrics have different scales.
        UnknownNameError: Unknown suite.
    """
    from lm_eval_mtl.suites.loading import load_suite

    note = ""
    spec: SuiteSpec | None
    if units == "raw":
        if suite is not None:
            raise ValueError("`units='raw'` compares raw metrics without a suite; do not also pass `suite`.")
        spec = None
    elif suite is not None:
        spec = suite if isinstance(suite, SuiteSpec) else load_suite(suite)
    else:
        spec, note = _detect(runs[0])
        if spec is None and units == "suite":
            raise UnknownNameError(
                f"no shipped suite matches the run {runs[0].path}; name one with --suite (see `lm-eval-mtl suites`)."
            )
    if spec is None:
        raw = _raw_spec(runs, tasks)
        scales = {m.label: _scale_of(m.metric) for m in raw.members}
        if units != "raw" and len(set(scales.values())) > 1:
            listing = ", ".join(f"{k} ({raw.member(k).metric}: 0-{v:g})" for k, v in scales.items())
            raise IncompatibleRunsError(
                f"no suite was named or detected, and the tasks' metrics are on different scales ({listing}); "
                "a composite of raw values would be dominated by the 0-100 ones. Name the suite (--suite), or "
                "ask for raw units explicitly (--units raw)."
            )
        full = raw
        chance: Literal["auto", "spec"] = "spec"
        normalization = "raw metric units (no suite: chance 0, ceiling 1), equal weights"
    else:
        full = spec
        chance = "auto"
        normalization = (
            f"normalized with suite {spec.id} (chance, ceiling), weights {weights or spec.weights}"
        )
    chosen = full
    if tasks is not None and spec is not None:
        chosen = replace(spec, members=tuple(m for m in spec.members if m.label in tasks or m.task in tasks))
        if not chosen.members:
            raise MissingTaskError(
                f"`tasks` {', '.join(tasks)} name no member of suite {spec.id}; members: {', '.join(spec.labels)}."
            )
    prefetch_members(runs, chosen)  # every run's samples files in one pool of workers
    members = []
    for run in runs:
        lacking = [m.task for m in chosen.members if m.task not in run.tasks and m.task not in run.groups]
        if lacking:
            raise MissingTaskError(
                f"run {run.model_name!r} ({run.path}) lacks task(s) {', '.join(lacking)} of suite {chosen.id}."
            )
        members.append(
            collect_members(
                run,
                chosen,
                clusters=clusters,
                missing="error",
                chance=chance,
                allow_few_clusters=allow_few_clusters,
            )
        )
    first = members[0]
    sizes = {m.label: m.n_items or 0 for m in first}
    resolved = kept_weights(full, weights, first.labels, sizes)
    groups = {}
    for g, comp in enumerate(components(list(first.members), first.run, with_samples=first.all_samples)):
        for i in comp:
            groups[first.members[i].label] = g
    plans = tuple(
        TaskPlan(
            label=m.label,
            task=m.spec.task,
            metric=m.spec.metric,
            filter=m.spec.filter,
            chance=m.chance,
            ceiling=m.spec.ceiling,
            weight=resolved.weights[m.label],
            cluster=m.cluster_field,
            overlap_group=groups[m.label],
        )
        for m in first
    )
    return Plan(plans, normalization, chosen, tuple(members), note)


def run_choice_notes(
    inputs: Sequence[RunResult | str | Path],
    runs: Sequence[RunResult],
    names: Sequence[str],
) -> tuple[list[str], dict[str, float | None], dict[str, tuple[str, ...]]]:
    """Say which results file of a folder was used, and mark runs made with ``lm_eval --limit``.

    A run given as a folder (or as a loaded :class:`RunResult`) whose folder holds several
    ``results_*.json`` gets one note naming the file used and the ones ignored, as ``report``
    does; a results file given by path was chosen by the caller and gets none.

    Args:
        inputs: What the caller passed, one per run (path or loaded run).
        runs: The loaded runs, in the same order.
        names: Their display names.

    Returns:
        The notes; run name -> ``--limit`` (None for a full run); run name -> the other
        results files not used (runs given as folders only).
    """
    from lm_eval_mtl.scoring.signature import limit_mark

    notes: list[str] = []
    others: dict[str, tuple[str, ...]] = {}
    for given, run, name in zip(inputs, runs, names, strict=True):
        if not run.other_runs or (not isinstance(given, RunResult) and Path(given).is_file()):
            continue
        others[name] = tuple(str(f) for f in run.other_runs)
        ignored = [f.name for f in run.other_runs]
        shown = ", ".join(ignored[:5]) + (f" and {len(ignored) - 5} more" if len(ignored) > 5 else "")
        latest = "" if isinstance(given, RunResult) else " (the latest)"
        notes.append(
            f"run {name}: {run.path.parent} holds {len(ignored) + 1} runs; used {run.path.name}{latest}, "
            f"ignored {shown}; pass a results_<timestamp>.json file to use another."
        )
    limits = {name: run.limit for name, run in zip(names, runs, strict=True)}
    limited = {n: v for n, v in limits.items() if v is not None}
    if limited:
        values = set(limited.values())
        if len(limited) == len(runs) and len(values) == 1:
            notes.append(f"every run was made with {limit_mark(next(iter(values)))}.")
        else:
            listing = "; ".join(f"{n}: {limit_mark(v)}" for n, v in limited.items())
            notes.append(f"runs made with lm_eval --limit: {listing}.")
    return notes, limits, others


def task_value(plan: Plan, run_index: int, task: TaskPlan) -> tuple[float, float, int]:
    """(metric value, stderr, n) of a member of run ``run_index``, from its results file."""
    m = plan.members[run_index].get(task.label)
    return m.raw, m.raw_se, int(m.n_items or 0)


def check_settings_all(runs: Sequence[RunResult], names: Sequence[str], plan: Plan) -> None:
    """Refuse runs that cannot have scored the same items for any planned member.

    Runs that recorded the suite's group row must also agree on its version.

    Raises:
        IncompatibleRunsError: The message names what differs.
    """
    suite = plan.suite.name
    versions = {n: r.groups[suite].version for n, r in zip(names, runs, strict=True) if suite in r.groups}
    if len(set(versions.values())) > 1:
        listing = ", ".join(f"{n}: {v}" for n, v in versions.items())
        raise IncompatibleRunsError(
            f"the runs used different versions of suite {suite!r} ({listing}); scores are not comparable."
        )
    for t in plan.tasks:
        for i in range(1, len(runs)):
            check_same_settings(
                t.task, runs[0].task(t.task), runs[i].task(t.task), names=(names[0], names[i])
            )


@dataclass(frozen=True)
class AlignedTask:
    """Every run's per-item data of one member on the shared items, in ``doc_id`` order."""

    values: npt.NDArray[np.float64] | None
    """(n, R) per-item scores of a mean metric (per value, for a list-valued metric); None for a corpus metric."""
    corpus: tuple[CorpusStats, ...] | None
    """Per run, the segment statistics of a corpus metric (BLEU, chrF, chrF++, TER); else None."""
    clusters: npt.NDArray[np.int64] | None
    """Cluster label per row (the item, for a list-valued metric), or None."""

    @property
    def n(self) -> int:
        """Number of aligned rows."""
        if self.values is not None:
            return int(self.values.shape[0])
        if self.corpus is None:
            raise ValueError("an aligned task holds values or corpus statistics")
        return self.corpus[0].n


def _flat_positions(
    m: Member, order: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.int64]]:
    """Positions of a list-valued member's flattened values, item by item in ``order``; and values per item."""
    if m.owner is None:
        return np.asarray(order, dtype=np.intp), np.ones(order.shape[0], dtype=np.int64)
    n_items = len(m.samples) if m.samples is not None else int(m.owner.max()) + 1
    by_item = np.argsort(m.owner, kind="stable")
    counts = np.bincount(m.owner, minlength=n_items)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = [by_item[starts[k] : starts[k] + counts[k]] for k in order]
    return (np.concatenate(pos) if pos else np.zeros(0, dtype=np.intp)).astype(np.intp), counts[order]


def aligned_task(task: TaskPlan, plan: Plan, names: Sequence[str]) -> AlignedTask | None:
    """Every run's per-item data of a planned member on the shared items; None without samples.

    Raises:
        IncompatibleRunsError: The runs' items differ (see :func:`align_items`), or one item
            has a different number of values (instructions) in two runs.
    """
    ms = [mm.get(task.label) for mm in plan.members]
    if any(m.samples is None for m in ms):
        return None
    ref = ms[0].samples
    assert ref is not None  # noqa: S101 - checked above
    orders = []
    for i, m in enumerate(ms):
        s = m.samples
        assert s is not None  # noqa: S101 - checked above
        al = align_items(
            task.task, ref.doc_ids, ref.doc_hashes, s.doc_ids, s.doc_hashes, names=(names[0], names[i])
        )
        orders.append(al.index_b)
    if ms[0].corpus is not None:
        stats = []
        for i, (m, order) in enumerate(zip(ms, orders, strict=True)):
            if m.corpus is None:
                raise IncompatibleRunsError(
                    f"task {task.task!r} of run {names[i]}: no corpus statistics for {task.metric!r}."
                )
            stats.append(m.corpus.subset(order))
        labels = ms[0].cluster_labels
        return AlignedTask(None, tuple(stats), None if labels is None else labels[orders[0]])
    cols = []
    ref_counts: npt.NDArray[np.int64] | None = None
    ref_pos: npt.NDArray[np.intp] | None = None
    for i, (m, order) in enumerate(zip(ms, orders, strict=True)):
        if m.scores is None:
            raise IncompatibleRunsError(
                f"task {task.task!r} of run {names[i]}: no per-item {task.metric!r} in the samples."
            )
        pos, counts = _flat_positions(m, order)
        if ref_counts is None:
            ref_counts, ref_pos = counts, pos
        elif not np.array_equal(counts, ref_counts):
            raise IncompatibleRunsError(
                f"task {task.task!r}: runs {names[0]} and {names[i]} log different numbers of {task.metric!r} values "
                "for the same items; they did not score the same instructions."
            )
        cols.append(m.scores[pos])
    labels = ms[0].cluster_labels
    assert ref_pos is not None  # noqa: S101 - at least one run
    return AlignedTask(np.column_stack(cols), None, None if labels is None else labels[ref_pos])


def warn_if(condition: bool, message: str) -> None:
    """Emit a DegenerateDataWarning when ``condition``."""
    if condition:
        from lm_eval_mtl.errors import DegenerateDataWarning

        warnings.warn(DegenerateDataWarning(message), stacklevel=3)


def finite_or_nan(x: float) -> float:
    """``x`` if finite else NaN."""
    return x if math.isfinite(x) else math.nan


def model_key(run: RunResult) -> str:
    """Return a run's name in stream keys: its model name, else its folder's name."""
    return run.model_name or run.path.parent.name


def pair_key(base: str, other: str) -> str:
    """Return the stream key of the difference ``other - base`` (model names)."""
    return f"{base}\x00{other}"
