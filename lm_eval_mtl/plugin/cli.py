"""The ``lm_eval`` command lines this lm-eval understands: with subcommands, or the legacy form.

lm-eval 0.4.10 and later have subcommands (``lm_eval run ...``, ``lm_eval ls
tasks``; a command line without one still runs ``run``). lm-eval 0.4.9.2 has
none: ``lm_eval --model ... --tasks ...`` runs, ``lm_eval --tasks list`` lists,
and ``run`` is an error (``unrecognized arguments: run``). The form is chosen by
whether the installed lm-eval ships its subcommand CLI (``lm_eval/_cli/run.py``),
found without importing lm-eval.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

__all__ = ["has_subcommands", "list_tasks_args", "lm_eval_command", "run_args"]


def has_subcommands() -> bool:
    """Whether the installed lm-eval's CLI has the ``run`` and ``ls`` subcommands."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("lm_eval")
    except (ImportError, ValueError):
        return False
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    return any(os.path.isfile(os.path.join(str(loc), "_cli", "run.py")) for loc in locations)


def run_args() -> list[str]:
    """Return the arguments that start an evaluation: ``["run"]``, or nothing on the legacy CLI."""
    return ["run"] if has_subcommands() else []


def list_tasks_args() -> list[str]:
    """Return the arguments that list every task, group and tag: ``ls tasks`` or ``--tasks list``."""
    return ["ls", "tasks"] if has_subcommands() else ["--tasks", "list"]


def lm_eval_command() -> list[str]:
    """Return the installed ``lm_eval`` console script (next to this interpreter first)."""
    for candidate in (Path(sys.executable).parent / "lm_eval", shutil.which("lm_eval")):
        if candidate and Path(candidate).is_file():
            return [str(candidate)]
    return [sys.executable, "-m", "lm_eval"]
