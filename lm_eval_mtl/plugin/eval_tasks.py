"""Task objects for the simulated backend: the running evaluation's, or loaded by name.

lm-eval hands a model only request ``Instance`` objects; ``mtl-sim`` needs the
task objects to compute gold answers. Two lm-eval internals differ by version:

* the evaluator's local ``eval_tasks`` (in ``lm_eval.evaluator.evaluate``, read
  from the caller's frames, never modified) is a mapping ``task name -> Task``
  on 0.4.12 and later, and a list of ``TaskOutput`` (``.task_name``, ``.task``)
  on 0.4.9.2 to 0.4.11 (:func:`running_tasks` accepts both);
* loading a task by name is ``TaskManager.load(names)["tasks"]`` on 0.4.12 and
  later, and ``TaskManager.load_task_or_group(names)`` (a nested dict, groups
  as keys) before (:func:`load_tasks` uses whichever the class has).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import FrameType
from typing import Any

__all__ = ["load_tasks", "running_tasks", "tasks_from_eval_tasks"]


def _is_task(obj: Any) -> bool:
    return hasattr(obj, "doc_to_target")


def tasks_from_eval_tasks(candidate: Any) -> dict[str, Any]:
    """Task objects by name from an evaluator's ``eval_tasks`` local (empty: not that shape)."""
    if isinstance(candidate, Mapping):
        if candidate and all(_is_task(t) for t in candidate.values()):
            return dict(candidate)
        return {}
    if isinstance(candidate, (list, tuple)) and candidate:
        out: dict[str, Any] = {}
        for item in candidate:
            name, task = getattr(item, "task_name", None), getattr(item, "task", None)
            if not isinstance(name, str) or not _is_task(task):
                return {}
            out[name] = task
        return out
    return {}


def running_tasks(frame: FrameType | None, max_depth: int = 30) -> dict[str, Any]:
    """Return the task objects of the evaluation running above ``frame`` (empty when none is found).

    Args:
        frame: Where to start looking (the model method's caller).
        max_depth: How many frames to climb at most.
    """
    depth = 0
    while frame is not None and depth < max_depth:
        found = tasks_from_eval_tasks(frame.f_locals.get("eval_tasks"))
        if found:
            return found
        frame = frame.f_back
        depth += 1
    return {}


def _flatten(loaded: Mapping[Any, Any], out: dict[str, Any]) -> dict[str, Any]:
    for key, value in loaded.items():
        if isinstance(value, Mapping):
            _flatten(value, out)
        elif _is_task(value):
            out[str(getattr(value, "task_name", None) or key)] = value
    return out


def load_tasks(name: str, include_path: str | None = None, include_defaults: bool = True) -> dict[str, Any]:
    """Load ``name`` with a fresh ``TaskManager``; return its leaf tasks by name.

    Args:
        name: A task (or group) name.
        include_path: Extra task folder.
        include_defaults: Include lm-eval's built-in tasks.

    Raises:
        Whatever lm-eval raises for an unknown name; AttributeError when the
        ``TaskManager`` has neither ``load`` nor ``load_task_or_group``.
    """
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=include_path, include_defaults=include_defaults)
    if hasattr(manager, "load"):
        return dict(manager.load(name)["tasks"])
    if hasattr(manager, "load_task_or_group"):
        return _flatten(manager.load_task_or_group(name), {})
    raise AttributeError(f"{type(manager).__module__}.TaskManager has neither load nor load_task_or_group.")
