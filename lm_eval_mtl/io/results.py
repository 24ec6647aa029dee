"""Typed objects of an lm-eval run: :class:`RunResult`, :class:`TaskResult`, :class:`MetricValue`.

They are built from the results JSON by :mod:`lm_eval_mtl.io.results_file`, the only place
that sees lm-eval's string keys; everything downstream works with these objects. A
:class:`RunResult` also finds and reads the run's per-item samples (:meth:`RunResult.samples`,
:func:`prefetch_runs`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

from lm_eval_mtl.errors import MissingMetricError, MissingTaskError, ResultsFormatError
from lm_eval_mtl.io.samples import TaskSamples, concat_samples, read_samples
from lm_eval_mtl.io.workers import SamplesRequest

__all__ = [
    "MetricKey",
    "MetricValue",
    "ResultsFormat",
    "RunResult",
    "TaskResult",
    "prefetch_runs",
]

ResultsFormat = Literal["v0.4", "v0.3"]


class MetricKey(NamedTuple):
    """A metric as lm-eval names it: metric name and filter name."""

    metric: str
    """``acc``, ``exact_match``, ``chrf`` ..."""
    filter: str
    """``none``, ``strict-match`` ...; v0.3 results have ``none``."""


@dataclass(frozen=True)
class MetricValue:
    """One aggregated metric of one task."""

    key: MetricKey
    """Metric and filter."""
    value: float
    """The aggregated value (finite)."""
    stderr: float
    """Its standard error; NaN where lm-eval reported none or ``N/A``."""


@dataclass(frozen=True)
class TaskResult:
    """What a results file says about one task (or group row)."""

    task: str
    """lm-eval task name."""
    metrics: Mapping[MetricKey, MetricValue]
    """Every metric reported for the task with a finite value."""
    n: int | None
    """Number of items scored (``n-samples.effective``), when known."""
    n_original: int | None = None
    """Number of items in the split before ``--limit`` (``n-samples.original``)."""
    version: str | None = None
    """Task version from ``versions``."""
    num_fewshot: int | None = None
    """From ``n-shot``."""
    task_hash: str | None = None
    """From ``task_hashes`` (v0.4), identifies the documents and prompts."""
    higher_is_better: Mapping[str, bool] = field(default_factory=dict)
    """Per metric name."""
    is_group: bool = False
    """True for a group's aggregate row."""
    alias: str | None = None
    """lm-eval's display alias (``" - arc_easy"`` for a group's child), when given."""
    output_type: str | None = None
    """``configs[task].output_type`` (``multiple_choice``, ``generate_until`` ...), when recorded."""
    invalid: Mapping[MetricKey, str] = field(default_factory=dict)
    """Metrics whose value could not be used (NaN, ``N/A``, not a number) -> the raw value, as text."""
    source: Path | None = field(default=None, compare=False)
    """The results file the row was read from."""

    def metric(self, name: str, filter: str = "none") -> MetricValue:
        """Return the metric ``name`` under ``filter``.

        Raises:
            MissingMetricError: The task lacks it; the message names the task,
                the metric and the metrics it has.
            ResultsFormatError: The file reports it, but not as a finite number
                (NaN, ``N/A``); the message names the file.
        """
        key = MetricKey(name, filter)
        found = self.metrics.get(key)
        if found is not None:
            return found
        where = f" in {self.source}" if self.source else ""
        if key in self.invalid:
            raise ResultsFormatError(
                f"task {self.task!r} reports metric {name!r} (filter {filter!r}) as "
                f"{self.invalid[key]}{where}, not a finite number; the composite cannot use it."
            )
        available = self.available_metrics()
        same_name = [k.filter for k in self.metrics if k.metric == name]
        hint = f" It has {name!r} under filter(s) {', '.join(same_name)}." if same_name else ""
        raise MissingMetricError(
            f"task {self.task!r} has no metric {name!r} with filter {filter!r}{where}.{hint} "
            f"Available: {available or 'none'}."
        )

    def available_metrics(self) -> str:
        """Return the task's metrics as ``metric (filter)``, comma-separated, for messages."""
        return ", ".join(f"{k.metric} ({k.filter})" for k in self.metrics)


@dataclass(frozen=True)
class RunResult:
    """One model's lm-eval run: its results file and the samples beside it."""

    path: Path
    """The results JSON file read."""
    model_name: str
    """``model_name`` (v0.4) or the model args; the folder name otherwise."""
    format: ResultsFormat
    """Which key style the file used."""
    tasks: Mapping[str, TaskResult]
    """Leaf tasks."""
    groups: Mapping[str, TaskResult]
    """Group rows (lm-eval's and ours, e.g. the ``mtl_composite`` row)."""
    group_subtasks: Mapping[str, tuple[str, ...]]
    """Group -> direct children."""
    lm_eval_version: str | None
    """lm-eval version or git hash that produced the file, when recorded."""
    samples_files: Mapping[str, Path]
    """Task -> its ``samples_*.jsonl`` from the same run (same timestamp)."""
    other_runs: tuple[Path, ...] = ()
    """Other results files in the same folder that were not chosen."""
    timestamp: str | None = None
    """The ``<timestamp>`` of the results file name, when it has one."""
    git_hash: str | None = None
    """``git_hash`` of the lm-eval checkout, when recorded."""
    model_args: str | None = None
    """``config.model_args`` as text, when recorded."""
    limit: float | None = None
    """``config.limit`` (``--limit``), when recorded."""
    _cache: dict[tuple[str, str], TaskSamples] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )
    _prefetched: dict[SamplesRequest, TaskSamples | BaseException] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def task(self, name: str) -> TaskResult:
        """Return the leaf task ``name`` (a group row of that name is returned too).

        Raises:
            MissingTaskError: Not in the run (close matches listed).
        """
        if name in self.tasks:
            return self.tasks[name]
        if name in self.groups:
            return self.groups[name]
        import difflib

        known = [*self.tasks, *self.groups]
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        listing = ", ".join(sorted(known)) if len(known) <= 12 else f"{len(known)} tasks"
        raise MissingTaskError(f"task {name!r} is not in the run {self.path}.{hint} The run has: {listing}.")

    def leaf_tasks(self, name: str) -> tuple[str, ...]:
        """Return the leaf tasks under ``name`` (itself when it is a leaf), in group order."""
        if name in self.tasks and not self.group_subtasks.get(name):
            return (name,)
        out: list[str] = []
        seen: set[str] = set()

        def walk(n: str) -> None:
            if n in seen:
                return
            seen.add(n)
            children = self.group_subtasks.get(n, ())
            if not children:
                if n in self.tasks:
                    out.append(n)
                return
            for c in children:
                walk(c)

        walk(name)
        return tuple(out)

    def has_samples(self, task: str) -> bool:
        """Whether per-item records exist for ``task`` (for a group: for each of its leaf tasks)."""
        leaves = self.leaf_tasks(task) or (task,)
        return all(t in self.samples_files for t in leaves)

    def samples(self, task: str, filter: str = "none") -> TaskSamples:
        """Read the task's per-item records.

        For a group row (``mmlu``), the records of its leaf tasks are concatenated
        and :attr:`TaskSamples.subtasks` says which leaf each item came from.

        Raises:
            MissingTaskError: No samples were logged for the task (run lm_eval with --log_samples).
            ResultsFormatError: The file is empty, truncated or malformed (line number given).
        """
        key = (task, filter)
        if key in self._cache:
            return self._cache[key]
        leaves = self._samples_leaves(task)
        missing = [t for t in leaves if t not in self.samples_files]
        if missing:
            raise MissingTaskError(
                f"no samples_{missing[0]}_*.jsonl beside {self.path} for task {task!r}"
                + (f" (leaf tasks without samples: {', '.join(missing)})" if len(leaves) > 1 else "")
                + "; run lm_eval with --log_samples to get per-item records."
            )
        parts = []
        for leaf in leaves:
            request = self._samples_request(leaf, filter)
            got = self._prefetched.pop(request, None)
            if isinstance(got, BaseException):
                raise got
            parts.append(
                got
                if got is not None
                else read_samples(request[0], task=leaf, filter=filter, output_type=request[3])
            )
        result = parts[0] if len(parts) == 1 and leaves == (task,) else concat_samples(task, parts)
        self._cache[key] = result
        return result

    def prefetch_samples(
        self, keys: Iterable[tuple[str, str]], corpus: Mapping[tuple[str, str], Sequence[str]] | None = None
    ) -> None:
        """Read, at once, the samples files that :meth:`samples` will need for ``keys`` ((task, filter) pairs).

        Several files are read by worker processes when that pays
        (:func:`lm_eval_mtl.io.workers.samples_workers`; ``$LM_EVAL_MTL_WORKERS``); otherwise
        nothing is read now. ``corpus`` names, per (task, filter), corpus metrics whose segment
        statistics the workers compute too (into the cache). An error a file gives is raised by the :meth:`samples` call that
        needs it, as if the file were read then, so errors come in the same order either way.

        Raises:
            MTLError: ``$LM_EVAL_MTL_WORKERS`` is not a positive integer.
        """
        prefetch_runs([(self, keys, corpus)])

    def _wanted(
        self, keys: Iterable[tuple[str, str]], corpus: Mapping[tuple[str, str], Sequence[str]] | None
    ) -> Iterable[tuple[SamplesRequest, Sequence[str]]]:
        """Yield the samples requests of ``keys`` not read yet, each with its corpus metrics."""
        for task, filt in keys:
            if (task, filt) in self._cache:
                continue
            leaves = self._samples_leaves(task)
            for leaf in leaves:
                if leaf in self.samples_files:
                    request = self._samples_request(leaf, filt)
                    if request not in self._prefetched:
                        metrics = corpus.get((task, filt), ()) if corpus and leaves == (task,) else ()
                        yield request, metrics

    def _samples_leaves(self, task: str) -> tuple[str, ...]:
        leaves = self.leaf_tasks(task) if (task in self.groups or task in self.group_subtasks) else (task,)
        return leaves or (task,)

    def _samples_request(self, leaf: str, filter: str) -> SamplesRequest:
        info = self.tasks.get(leaf)
        return (self.samples_files[leaf], leaf, filter, info.output_type if info else None)


def prefetch_runs(
    wanted: Sequence[
        tuple[RunResult, Iterable[tuple[str, str]], Mapping[tuple[str, str], Sequence[str]] | None]
    ],
) -> None:
    """:meth:`RunResult.prefetch_samples` of several runs in one pool of workers.

    ``wanted``: per run, its (task, filter) keys and corpus metrics. The files of all the runs
    are dealt to the same processes (a ``compare`` or ``transfer`` starts its workers once and
    keeps them all busy); each run gets the samples of its own files.

    Raises:
        MTLError: ``$LM_EVAL_MTL_WORKERS`` is not a positive integer.
    """
    from lm_eval_mtl.io.workers import read_samples_many, samples_workers

    requests: dict[SamplesRequest, list[RunResult]] = {}
    stats: dict[SamplesRequest, Sequence[str]] = {}
    for run, keys, corpus in wanted:
        for request, metrics in run._wanted(keys, corpus):
            runs = requests.setdefault(request, [])
            if all(r is not run for r in runs):
                runs.append(run)
            if metrics:
                stats[request] = list(dict.fromkeys([*stats.get(request, ()), *metrics]))
    todo = list(requests)
    workers = samples_workers(todo) if len(todo) >= 2 else 1
    if workers < 2:
        return
    for request, got in zip(todo, read_samples_many(todo, workers, stats), strict=True):
        if got is not None:
            for run in requests[request]:
                run._prefetched[request] = got
