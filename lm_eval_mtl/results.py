"""lm-eval output (results JSON, samples JSONL, run folders) as typed objects.

This module is the only place that sees lm-eval's string keys (``"acc,none"``,
``"acc_stderr,none"``, v0.3's ``"acc"``/``"acc_stderr"``). Everything
downstream works with :class:`RunResult`, :class:`TaskResult`,
:class:`MetricValue` and :class:`TaskSamples`.

Entry points:

* :func:`load_run` reads one model's run (a results JSON file, or a folder
  holding one or more ``results_*.json``; the latest unless ``run`` picks one).
* :func:`find_runs` lists the model folders under an ``--output_path`` folder.
* :meth:`RunResult.samples` reads a task's ``samples_*.jsonl`` lazily.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, NamedTuple

import numpy as np
import numpy.typing as npt

__all__ = [
    "MetricKey",
    "MetricValue",
    "RunResult",
    "TaskResult",
    "TaskSamples",
    "find_runs",
    "load_run",
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
    """Every metric reported for the task."""
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

    def metric(self, name: str, filter: str = "none") -> MetricValue:
        """The metric ``name`` under ``filter``.

        Raises:
            MissingMetricError: The task lacks it; the message names the task,
                the metric and the metrics it has.
        """
        raise NotImplementedError


@dataclass(frozen=True)
class TaskSamples:
    """Per-item records of one task from a ``samples_*.jsonl`` file (one filter)."""

    task: str
    """lm-eval task name."""
    filter: str
    """Filter the records belong to."""
    doc_ids: npt.NDArray[np.int64]
    """``doc_id`` per item, in file order."""
    doc_hashes: tuple[str, ...]
    """``doc_hash`` per item ('' where absent)."""
    scores: Mapping[str, npt.NDArray[np.float64]]
    """Per-item value of each scalar metric (``acc`` -> 0/1 array)."""
    n_choices: npt.NDArray[np.int64] | None
    """Number of choices per item for multiple-choice tasks, else None."""
    pairs: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
    """Corpus metrics (``bleu``, ``chrf``, ``ter``): (references, predictions) per item."""
    path: Path
    """File the records came from."""

    def __len__(self) -> int:
        return int(self.doc_ids.shape[0])

    def clusters(self, doc_field: str) -> npt.NDArray[np.int64]:
        """Integer cluster label per item from the doc field ``doc_field``.

        Raises:
            MissingMetricError: Some item's doc lacks the field (named in the message).
        """
        raise NotImplementedError


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

    def task(self, name: str) -> TaskResult:
        """The leaf task ``name``.

        Raises:
            MissingTaskError: Not in the run (close matches listed).
        """
        raise NotImplementedError

    def samples(self, task: str, filter: str = "none") -> TaskSamples:
        """Read the task's per-item records.

        Raises:
            MissingTaskError: No samples were logged for the task (run lm_eval with --log_samples).
            ResultsFormatError: The file is empty, truncated or malformed (line number given).
        """
        raise NotImplementedError


def load_run(path: str | Path, *, run: str | None = None) -> RunResult:
    """Read one model's run from a results JSON file or a folder holding them.

    Args:
        path: ``results_*.json`` file, or a folder (``runs/ORG__MODEL``) with one or more.
        run: With a folder holding several runs, the timestamp (or file name) to use;
            default: the latest. The chosen file is :attr:`RunResult.path`.

    Raises:
        ResultsFormatError: Unreadable, truncated or not an lm-eval results file.
        FileNotFoundError: ``path`` does not exist or holds no results file.
    """
    raise NotImplementedError


def find_runs(path: str | Path) -> tuple[Path, ...]:
    """Model folders (each holding ``results_*.json``) under an output folder, sorted."""
    raise NotImplementedError
