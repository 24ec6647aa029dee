"""pyproject.toml declares exactly the lm-eval releases the compatibility check runs, nothing wider."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def _supported() -> list[str]:
    spec = importlib.util.spec_from_file_location(
        "compat_check", REPO / "tests" / "compat" / "compat_check.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return list(module.SUPPORTED)


def test_every_lm_eval_requirement_is_the_checked_range() -> None:
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    requirements = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        requirements += extra
    lm_eval = [r for r in requirements if re.match(r"lm-eval\b", r)]
    assert len(lm_eval) == 5  # the base requirement and the hf, demo, openllm-v2, dev extras
    supported = _supported()
    expected = f">={supported[0]},<={supported[-1]}"
    for requirement in lm_eval:
        assert re.sub(r"^lm-eval(\[[^\]]*\])?", "", requirement) == expected, requirement


def test_the_checked_releases_are_ordered_and_contiguous() -> None:
    from packaging.version import Version

    supported = _supported()
    assert supported == sorted(supported, key=Version)
    assert supported == ["0.4.9.2", "0.4.10", "0.4.11", "0.4.12", "0.4.13"]
