"""Reading lm-eval output: the only package that sees lm-eval's files and string keys.

* :mod:`lm_eval_mtl.io.results`: the typed run (:class:`RunResult`, :class:`TaskResult`, :class:`MetricValue`).
* :mod:`lm_eval_mtl.io.results_file`: results JSON files -> :class:`RunResult` (:func:`read_results_file`).
* :mod:`lm_eval_mtl.io.samples`: samples JSONL files -> :class:`TaskSamples` (per-item arrays).
* :mod:`lm_eval_mtl.io.runs`: run folders (:func:`load_run`, :func:`find_runs`).
* :mod:`lm_eval_mtl.io.align`: matching two runs' items and checking they scored the same ones.
* :mod:`lm_eval_mtl.io.panels`: leaderboard panels (CSV) -> :class:`Population`.
"""

from __future__ import annotations

from lm_eval_mtl.io.align import AlignedItems, align_items, check_same_settings
from lm_eval_mtl.io.results import MetricKey, MetricValue, RunResult, TaskResult
from lm_eval_mtl.io.results_file import read_results_file
from lm_eval_mtl.io.runs import find_runs, load_run
from lm_eval_mtl.io.samples import TaskSamples, read_samples

__all__ = [
    "AlignedItems",
    "MetricKey",
    "MetricValue",
    "RunResult",
    "TaskResult",
    "TaskSamples",
    "align_items",
    "check_same_settings",
    "find_runs",
    "load_run",
    "read_results_file",
    "read_samples",
]
