"""lm-eval-mtl: multi-task suites and citable composite scores for lm-evaluation-harness.

Importing the package is cheap: the public API below is loaded lazily on first
attribute access (PEP 562), because the start-up hook must not slow Python down.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_API: dict[str, str] = {
    "MTLError": "lm_eval_mtl.errors",
    "DegenerateDataWarning": "lm_eval_mtl.errors",
    "SuiteSpec": "lm_eval_mtl.suites",
    "MemberSpec": "lm_eval_mtl.suites",
    "load_suite": "lm_eval_mtl.suites",
    "list_suites": "lm_eval_mtl.suites",
    "RunResult": "lm_eval_mtl.io",
    "TaskResult": "lm_eval_mtl.io",
    "TaskSamples": "lm_eval_mtl.io",
    "load_run": "lm_eval_mtl.io",
    "find_runs": "lm_eval_mtl.io",
    "load_suites": "lm_eval_mtl.suites",
    "read_samples": "lm_eval_mtl.io",
    # scoring
    "score_run": "lm_eval_mtl.scoring.composite",
    "detect_suite": "lm_eval_mtl.suites.detect",
    "CompositeScore": "lm_eval_mtl.scoring.types",
    "TaskScore": "lm_eval_mtl.scoring.types",
    "resolve_weights": "lm_eval_mtl.scoring.structural",
    "load_weights": "lm_eval_mtl.scoring.weights_file",
    "save_weights": "lm_eval_mtl.scoring.weights_file",
    "WeightsFile": "lm_eval_mtl.scoring.weights_file",
    "fit_weights": "lm_eval_mtl.scoring.weighting",
    "Population": "lm_eval_mtl.scoring.population",
    "load_panel_csv": "lm_eval_mtl.scoring.population",
    "population_from_runs": "lm_eval_mtl.scoring.population",
    "openllm_v2_average": "lm_eval_mtl.scoring.leaderboard",
    # comparison, transfer, correlation
    "compare_runs": "lm_eval_mtl.analysis.compare",
    "paired_difference": "lm_eval_mtl.analysis.compare",
    "ModelComparison": "lm_eval_mtl.analysis.compare",
    "transfer_matrix": "lm_eval_mtl.analysis.transfer",
    "transfer_from_scores": "lm_eval_mtl.analysis.transfer",
    "TransferMatrix": "lm_eval_mtl.analysis.transfer",
    "correlate_tasks": "lm_eval_mtl.analysis.correlate",
    "CorrelationStudy": "lm_eval_mtl.analysis.correlate",
    # statistics
    "ItemScores": "lm_eval_mtl.stats.bootstrap",
    "BootstrapResult": "lm_eval_mtl.stats.bootstrap",
    "bootstrap_composite": "lm_eval_mtl.stats.bootstrap",
    "bootstrap_task_means": "lm_eval_mtl.stats.bootstrap",
    "segment_stats": "lm_eval_mtl.stats.corpus",
    "corpus_score": "lm_eval_mtl.stats.corpus",
    "bootstrap_corpus": "lm_eval_mtl.stats.corpus",
    "holm": "lm_eval_mtl.stats.multiple",
    "benjamini_hochberg": "lm_eval_mtl.stats.multiple",
    "mcnemar": "lm_eval_mtl.stats.multiple",
    "ConfidenceInterval": "lm_eval_mtl.stats._common",
}

__all__ = ["__version__", *sorted(_API)]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'lm_eval_mtl' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
