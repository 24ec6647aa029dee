"""The task-folder adapter: ``TaskManager`` gets our task folder, in whichever module holds it.

``TaskManager`` lives in ``lm_eval/tasks/__init__.py`` on lm-eval 0.4.9.2 to
0.4.11 and in ``lm_eval/tasks/manager.py`` from 0.4.12 on, with the same
parameters. The start-up hook calls :func:`patch_task_manager` after either
module has executed; the class is found by what the module holds (feature
detection, not version strings), and patching it twice is a no-op.

The wrapper puts our folder after lm-eval's built-in tasks and before the
user's ``include_path`` (later folders override earlier ones, so a user's task
of the same name wins), only when built-in tasks are included. lm-eval's own
warnings from ``__init__`` keep their attribution
(:mod:`lm_eval_mtl.plugin.warnpass`). The adapter stands aside, with one logged
line, when the signature differs, and silently when lm-eval's own entry-point
discovery already reaches our folder (:mod:`lm_eval_mtl.plugin.native`).
"""

from __future__ import annotations

import os
import sys
from types import ModuleType
from typing import Any

from lm_eval_mtl.plugin.wrapping import finish_wrapper, is_wrapped, log_once, signature_names

__all__ = ["TASK_MANAGER_INIT_PARAMS", "merged_include_path", "our_task_dir", "patch_task_manager"]

TASK_MANAGER_INIT_PARAMS: tuple[str, ...] = (
    "self",
    "verbosity",
    "include_path",
    "include_defaults",
    "metadata",
)
"""``TaskManager.__init__``'s parameters on every supported lm-eval (0.4.9.2 to 0.4.13)."""

_HOMES = ("lm_eval.tasks", "lm_eval.tasks.manager")

task_dir_cache: list[str | None] = []
"""Our task folder once located (cleared by tests)."""


def our_task_dir() -> str | None:
    """lm-eval-mtl's task folder, or None (logged once) when it cannot be found."""
    if task_dir_cache:
        return task_dir_cache[0]
    result: str | None = None
    try:
        from lm_eval_mtl.suites import task_config_dir

        path = task_config_dir()
        if path.is_dir():
            result = str(path)
        else:
            log_once("task-dir-missing", f"task folder {path} does not exist; suites are not registered.")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the hook never raises, not even SystemExit
        log_once(
            "task-dir-error",
            f"cannot locate lm-eval-mtl's task folder ({exc!r}); suites are not registered.",
        )
    task_dir_cache.append(result)
    return result


def _as_path_list(include_path: Any) -> list[Any]:
    if include_path is None:
        return []
    if isinstance(include_path, (list, tuple)):
        return list(include_path)
    return [include_path]


def merged_include_path(ours: str, include_path: Any) -> list[Any]:
    """Return the include path with ``ours`` first, so the user's folders override it."""
    user = _as_path_list(include_path)
    norm = os.path.normcase(os.path.abspath(ours))
    rest = [p for p in user if os.path.normcase(os.path.abspath(os.fspath(p))) != norm]
    return [ours, *rest]


def _task_manager_class(module: ModuleType) -> Any:
    cls = getattr(module, "TaskManager", None)
    return cls if isinstance(cls, type) else None


def patch_task_manager(module: ModuleType) -> bool:
    """Wrap ``module.TaskManager.__init__`` to add our task folder.

    Args:
        module: ``lm_eval.tasks`` or ``lm_eval.tasks.manager``, just executed.

    Returns:
        Whether the wrapper is (now) installed.
    """
    from lm_eval_mtl.plugin.native import native_discovery

    cls = _task_manager_class(module)
    original = getattr(cls, "__init__", None)
    if cls is None or original is None:
        log_once(
            "tm-missing",
            f"{module.__name__} has no TaskManager.__init__; standing aside "
            "(pass --include_path with lm-eval-mtl's task_configs folder).",
        )
        return False
    if is_wrapped(original):
        return True
    home = getattr(cls, "__module__", None)
    if home != module.__name__ and home in _HOMES and home in sys.modules:
        return False  # re-exported (0.4.12 on: lm_eval.tasks): decided when its own module ran
    native = native_discovery(module, our_task_dir)
    if native.finds_ours:
        log_once(
            "tm-native",
            f"lm-eval discovers `lm_eval.tasks` entry points itself and finds {native.resolved[0]}; "
            "standing aside.",
            level="debug",
        )
        return False
    if native.reads_entry_points:
        log_once(
            "tm-native-miss",
            "lm-eval discovers `lm_eval.tasks` entry points itself, but ours resolve to "
            f"{list(native.resolved) or 'nothing'}, not the task folder; adding the folder ourselves.",
            level="debug",
        )
    names = signature_names(original)
    if names != TASK_MANAGER_INIT_PARAMS:
        log_once(
            "tm-signature",
            f"TaskManager.__init__ has parameters {names}, expected {TASK_MANAGER_INIT_PARAMS}; "
            "standing aside (pass --include_path with lm-eval-mtl's task_configs folder).",
        )
        return False
    cls.__init__ = _wrap_init(original)
    return True


def _wrap_init(original: Any) -> Any:
    from lm_eval_mtl.plugin.warnpass import call_passing_warnings

    def __init__(  # noqa: N807 - replaces a dunder
        self: Any,
        verbosity: str | None = None,
        include_path: Any = None,
        include_defaults: bool = True,
        metadata: Any = None,
    ) -> None:
        ours = our_task_dir() if include_defaults else None
        if ours is None:
            call_passing_warnings(2, original, self, verbosity, include_path, include_defaults, metadata)
            return
        merged = merged_include_path(ours, include_path)
        try:
            call_passing_warnings(2, original, self, verbosity, merged, include_defaults, metadata)
        except (KeyboardInterrupt, Warning):  # a warning turned error by a filter is the caller's
            raise
        except BaseException as exc:  # noqa: BLE001 - our folder must never break lm-eval
            log_once("tm-index", f"indexing lm-eval-mtl's task folder failed ({exc!r}); retrying without it.")
            call_passing_warnings(2, original, self, verbosity, include_path, include_defaults, metadata)
            return
        # Anything that reads the attribute sees exactly what the caller passed.
        self.include_path = include_path

    return finish_wrapper(__init__, original)
