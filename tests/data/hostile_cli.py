"""Helpers for hostile-input tests: run the real console script, check the refusal, check inputs unchanged.

Every hostile case asserts the same contract (docs/bad-input.md): exit status 2, one line on
stderr that does not contain "Traceback", and every input file byte-identical afterwards.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "LM_EVAL_MTL_DEBUG": ""}


@dataclass(frozen=True)
class Outcome:
    """What one CLI call did."""

    code: int
    stdout: str
    stderr: str


def run_cli(
    args: Sequence[str], *, cwd: Path | None = None, timeout: float = 120, stdin: str | None = None
) -> Outcome:
    """Run ``python -m lm_eval_mtl.cli.main ARGS`` in a subprocess (the real CLI, fresh interpreter)."""
    proc = subprocess.run(
        [sys.executable, "-m", "lm_eval_mtl.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=ENV,
        timeout=timeout,
        input=stdin,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr)


def digest(paths: Iterable[Path]) -> dict[Path, str]:
    """sha256 of every file under ``paths`` (files, or folders walked recursively)."""
    out: dict[Path, str] = {}
    for p in paths:
        files = [p] if p.is_file() else sorted(f for f in p.rglob("*") if f.is_file()) if p.is_dir() else []
        for f in files:
            out[f] = hashlib.sha256(f.read_bytes()).hexdigest()
    return out


def assert_refused(
    outcome: Outcome, *, match: str | None = None, inputs: dict[Path, str] | None = None
) -> None:
    """Exit 2, exactly one line on stderr without a traceback (matching ``match``), inputs unchanged."""
    lines = [line for line in outcome.stderr.splitlines() if line.strip()]
    assert outcome.code == 2, f"exit {outcome.code}; stderr: {outcome.stderr[-2000:]}"
    assert "Traceback" not in outcome.stderr, outcome.stderr[-2000:]
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {outcome.stderr[-2000:]}"
    if match is not None:
        import re

        assert re.search(match, lines[0]), f"{match!r} not in {lines[0]!r}"
    if inputs is not None:
        assert digest(inputs) == inputs, "an input file changed"
