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
    "RunResult": "lm_eval_mtl.results",
    "TaskResult": "lm_eval_mtl.results",
    "TaskSamples": "lm_eval_mtl.results",
    "load_run": "lm_eval_mtl.results",
    "find_runs": "lm_eval_mtl.results",
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
