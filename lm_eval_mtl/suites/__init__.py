"""Suites: typed specs (:mod:`.spec`), the shipped configs (:mod:`.loading`), and suite detection (:mod:`.detect`)."""

from __future__ import annotations

from lm_eval_mtl.errors import SuiteSpecError
from lm_eval_mtl.suites.loading import list_suites, load_suite, load_suites, task_config_dir
from lm_eval_mtl.suites.spec import MemberSpec, OutputType, SuiteKind, SuiteSpec

__all__ = [
    "MemberSpec",
    "OutputType",
    "SuiteKind",
    "SuiteSpec",
    "SuiteSpecError",
    "list_suites",
    "load_suite",
    "load_suites",
    "task_config_dir",
]
