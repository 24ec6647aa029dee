"""Task folders lm-eval-mtl contributes to lm-eval.

:func:`task_paths` is the target of the ``lm_eval.tasks`` entry point declared in
``pyproject.toml`` (the mechanism proposed upstream in lm-evaluation-harness PR
#4015). On lm-eval versions without entry-point discovery the start-up hook adds
the same folder (see :mod:`lm_eval_mtl.plugin._startup`).
"""

from __future__ import annotations

__all__ = ["task_paths"]


def task_paths() -> list[str]:
    """Folders holding lm-eval-mtl's task and group YAML, in load order.

    Returns:
        One absolute folder path: the shipped ``task_configs``.
    """
    from lm_eval_mtl.suites import task_config_dir

    return [str(task_config_dir())]
