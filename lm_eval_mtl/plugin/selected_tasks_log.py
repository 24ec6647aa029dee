"""lm-eval 0.4.9.2 only: its "Selected tasks" log line raises for a subgroup task outside ``lm_eval/tasks``.

``get_task_dict`` (``lm_eval/tasks/__init__.py``) logs each selected task of a
group's subgroup with a nested ``pretty_print_task`` that computes
``Path(yaml_path).relative_to(<lm_eval/tasks>)`` and has no fallback, so any
suite with subgroups living elsewhere -- every mtl suite, or any
``--include_path`` folder -- stops the run with ``ValueError: ... is not in the
subpath of ...`` before a single request. lm-eval 0.4.10 fixed it (``except
ValueError: display_path = yaml_path``).

:func:`patch_selected_tasks_log` backports that fix where it is missing: the
module's ``Path`` name, which only ``pretty_print_task`` uses there, becomes a
``Path`` subclass whose ``relative_to`` returns the path itself when it is not
inside. The case is recognised by the code, not the version: ``get_task_dict``'s
source calls ``relative_to(lm_eval_tasks_path)`` and never catches
``ValueError``, and ``Path`` is used nowhere else in the module.
"""

from __future__ import annotations

import pathlib
from types import ModuleType
from typing import Any

from lm_eval_mtl.plugin.wrapping import log_once

__all__ = ["TolerantPath", "needs_backport", "patch_selected_tasks_log"]


class TolerantPath(type(pathlib.Path())):  # type: ignore[misc]
    """A ``Path`` whose ``relative_to`` returns the path itself instead of raising ``ValueError``."""

    def relative_to(self, *other: Any, **kwargs: Any) -> Any:
        """``Path.relative_to``, or ``self`` when the path is not inside ``other``."""
        try:
            return super().relative_to(*other, **kwargs)
        except ValueError:
            return self


def needs_backport(module: ModuleType) -> bool:
    """Whether ``module`` (``lm_eval.tasks``) has the unguarded ``relative_to`` of lm-eval 0.4.9.2."""
    import inspect

    func = getattr(module, "get_task_dict", None)
    if func is None or getattr(module, "Path", None) is not pathlib.Path:
        return False
    try:
        source = inspect.getsource(func)
        module_source = inspect.getsource(module)
    except (OSError, TypeError):
        return False
    unguarded = "relative_to(lm_eval_tasks_path)" in source and "except ValueError" not in source
    # ``Path`` used only by that log line: its import, ``Path(yaml_path)`` and ``Path(__file__)``.
    return unguarded and module_source.count("Path(") == 2


def patch_selected_tasks_log(module: ModuleType) -> bool:
    """Backport lm-eval 0.4.10's fix of the selected-tasks log line where it is missing.

    Returns:
        Whether the backport is (now) in place.
    """
    if getattr(module, "Path", None) is TolerantPath:
        return True
    if not needs_backport(module):
        return False
    module.Path = TolerantPath  # type: ignore[attr-defined]
    log_once(
        "selected-tasks-log",
        f"{module.__name__}.get_task_dict: backported lm-eval 0.4.10's fix of its selected-tasks log line.",
        level="debug",
    )
    return True
