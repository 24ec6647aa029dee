"""The cap of ``mtl_lite_msmarco``: ``mtl_msmarco``'s filter, then this suite's seeded stratified cap.

The filter and the metrics live in ``../mtl_suite/msmarco_utils.py`` (the lite task includes that YAML);
the cap is ``utils.cap_docs`` of this folder. Both are loaded from their files, as lm-eval loads
``!function`` modules, so nothing depends on ``sys.path``.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

CAP = 500
"""Queries kept (the suite's cap for multiple-choice tasks)."""

_HERE = Path(__file__).resolve().parent


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_full = _load(_HERE.parent / "mtl_suite" / "msmarco_utils.py", "_mtl_suite_msmarco_utils")
_caps = _load(_HERE / "utils.py", "_mtl_suite_lite_utils")


def stratum(doc: dict[str, Any]) -> str:
    """``"<candidates>:<relevant>"``: the two numbers a query's chance level depends on."""
    p = doc["passages"]
    return f"{len(p['passage_text'])}:{sum(1 for x in p['is_selected'] if int(x) > 0)}"


def cap_msmarco(dataset: Any) -> Any:
    """Cap for ``mtl_lite_msmarco``: see the module docstring and ``utils.py``."""
    return _caps.cap_docs(_full.process_docs(dataset), cap=CAP, split="validation", label=stratum)
