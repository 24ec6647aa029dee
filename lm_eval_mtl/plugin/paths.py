"""Task folders lm-eval-mtl contributes to lm-eval.

The ``lm_eval.tasks`` entry point declared in ``pyproject.toml`` names the
package holding the YAML, ``lm_eval_mtl.task_configs`` (the form upstream
lm-evaluation-harness PR #4015 consumes: it scans the named package's folder).
:func:`task_paths` returns that same folder for code that wants it as a path;
on lm-eval versions without entry-point discovery the start-up hook adds it
(see :mod:`lm_eval_mtl.plugin.task_folder`).
"""

from __future__ import annotations

__all__ = ["ENTRY_POINT", "task_paths"]

ENTRY_POINT = "lm_eval_mtl.task_configs"
"""The value of our ``lm_eval.tasks`` entry point."""


def task_paths() -> list[str]:
    """Folders holding lm-eval-mtl's task and group YAML, in load order.

    Returns:
        One absolute folder path: the shipped ``task_configs``.
    """
    from lm_eval_mtl.suites import task_config_dir

    return [str(task_config_dir())]
