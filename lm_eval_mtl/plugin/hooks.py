"""The patches the start-up hook applies to lm-eval, loaded only when lm-eval is imported.

The start-up module (:mod:`lm_eval_mtl.plugin._startup`, installed as
``_lm_eval_mtl_startup``) stays tiny; when lm-eval imports one of the modules in
:data:`PATCHES`, it imports this module and calls :func:`apply_patch`:

* ``lm_eval.tasks.manager``: ``TaskManager.__init__`` gets lm-eval-mtl's task
  folder after lm-eval's built-in tasks and before the user's ``--include_path``
  (later paths override earlier ones, so a user's task of the same name wins).
* ``lm_eval.api.group``: ``Group.aggregate`` adds the composite to groups whose
  ``metadata`` has an ``mtl`` block (:mod:`lm_eval_mtl.plugin.composite`).
* ``lm_eval.models``: ``mtl-sim`` is registered as a lazy placeholder after
  lm-eval's own models (``get_model`` imports ``lm_eval.models`` only while the
  registry is empty, so registering earlier would hide ``hf``).

Each patch checks the signature it wraps and stands aside (one logged warning)
on a mismatch; the task-folder patch stands aside when lm-eval discovers
``lm_eval.tasks`` entry points itself. Nothing here raises into lm-eval -- no
exception at all, ``SystemExit`` from a broken install included, only
``KeyboardInterrupt`` passes -- except the composite itself on a bad spec or
missing metric (never a silent partial composite).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = [
    "GROUP_AGGREGATE_PARAMS",
    "PATCHES",
    "TASK_MANAGER_INIT_PARAMS",
    "apply_patch",
    "lm_eval_discovers_task_plugins",
    "merged_include_path",
    "patch_group",
    "patch_task_manager",
    "register_models",
]

_LOGGER = "lm_eval_mtl.plugin"
_MARK = "__lm_eval_mtl_wrapped__"
_MODEL_NAME = "mtl-sim"
_MODEL_TARGET = "lm_eval_mtl.sim.backend:SimulatedLM"
# The signatures these patches were written against (lm-eval 0.4.13).
TASK_MANAGER_INIT_PARAMS: tuple[str, ...] = (
    "self",
    "verbosity",
    "include_path",
    "include_defaults",
    "metadata",
)
GROUP_AGGREGATE_PARAMS: tuple[str, ...] = ("self", "task_metrics")

_warned: set[str] = set()
_task_dir_cache: list[str | None] = []


def _log(key: str, message: str, *, level: str = "warning") -> None:
    """Log ``message`` once per ``key``; never raises."""
    if key in _warned:
        return
    _warned.add(key)
    try:
        import logging

        getattr(logging.getLogger(_LOGGER), level)("lm-eval-mtl start-up hook: %s", message)
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - logging must not break the host process
        pass


def _signature_names(func: Any) -> tuple[str, ...] | None:
    import inspect

    try:
        return tuple(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return None


def lm_eval_discovers_task_plugins(module: ModuleType) -> bool:
    """Whether this lm-eval reads ``lm_eval.tasks`` entry points itself.

    Looks for ``entry_points`` together with the group name ``lm_eval.tasks`` in
    the sources of ``lm_eval/tasks/*.py`` (the package holding ``module``).
    """
    folder = os.path.dirname(getattr(module, "__file__", "") or "")
    if not folder:
        return False
    try:
        names = os.listdir(folder)
    except OSError:
        return False
    for name in names:
        if not name.endswith(".py"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError):
            continue
        if "entry_points" in text and ("'lm_eval.tasks'" in text or '"lm_eval.tasks"' in text):
            return True
    return False


def _our_task_dir() -> str | None:
    """lm-eval-mtl's task folder, or None (logged) when it cannot be found."""
    if _task_dir_cache:
        return _task_dir_cache[0]
    result: str | None = None
    try:
        from lm_eval_mtl.suites import task_config_dir

        path = task_config_dir()
        if path.is_dir():
            result = str(path)
        else:
            _log("task-dir-missing", f"task folder {path} does not exist; suites are not registered.")
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the hook never raises, not even SystemExit
        _log(
            "task-dir-error", f"cannot locate lm-eval-mtl's task folder ({exc!r}); suites are not registered."
        )
    _task_dir_cache.append(result)
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


def patch_task_manager(module: ModuleType) -> bool:
    """Wrap ``module.TaskManager.__init__`` to add our task folder.

    Returns:
        Whether the wrapper is (now) installed.
    """
    cls = getattr(module, "TaskManager", None)
    original = getattr(cls, "__init__", None)
    if cls is None or original is None:
        _log("tm-missing", f"{module.__name__} has no TaskManager.__init__; standing aside.")
        return False
    if getattr(original, _MARK, False):
        return True
    if lm_eval_discovers_task_plugins(module):
        _log(
            "tm-native",
            "lm-eval discovers `lm_eval.tasks` entry points itself; standing aside.",
            level="debug",
        )
        return False
    names = _signature_names(original)
    if names != TASK_MANAGER_INIT_PARAMS:
        _log(
            "tm-signature",
            f"TaskManager.__init__ has parameters {names}, expected {TASK_MANAGER_INIT_PARAMS}; "
            "standing aside (use --include_path with lm_eval_mtl's task_configs).",
        )
        return False

    def __init__(  # noqa: N807 - replaces a dunder
        self: Any,
        verbosity: str | None = None,
        include_path: Any = None,
        include_defaults: bool = True,
        metadata: Any = None,
    ) -> None:
        ours = _our_task_dir() if include_defaults else None
        if ours is None:
            original(self, verbosity, include_path, include_defaults, metadata)
            return
        try:
            original(self, verbosity, merged_include_path(ours, include_path), include_defaults, metadata)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - our folder must never break lm-eval
            _log("tm-index", f"indexing lm-eval-mtl's task folder failed ({exc!r}); retrying without it.")
            original(self, verbosity, include_path, include_defaults, metadata)
            return
        # Anything that reads the attribute sees exactly what the caller passed.
        self.include_path = include_path

    __init__.__doc__ = original.__doc__
    __init__.__qualname__ = getattr(original, "__qualname__", "__init__")
    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(__init__, _MARK, True)
    cls.__init__ = __init__
    return True


def patch_group(module: ModuleType) -> bool:
    """Wrap ``module.Group.aggregate`` to add composites to mtl groups.

    The wrapper calls the original for every group; for groups whose metadata
    has an ``mtl`` block it delegates to
    :func:`lm_eval_mtl.plugin.composite.aggregate_with_composite`, which raises on
    a bad spec or a missing metric (never a silent partial composite).

    Returns:
        Whether the wrapper is (now) installed.
    """
    cls = getattr(module, "Group", None)
    original = getattr(cls, "aggregate", None)
    if cls is None or original is None:
        _log("group-missing", f"{module.__name__} has no Group.aggregate; composite rows are off.")
        return False
    if getattr(original, _MARK, False):
        return True
    names = _signature_names(original)
    if names != GROUP_AGGREGATE_PARAMS:
        _log(
            "group-signature",
            f"Group.aggregate has parameters {names}, expected {GROUP_AGGREGATE_PARAMS}; "
            "composite rows are off (run `lm-eval-mtl report` on the output instead).",
        )
        return False

    def aggregate(self: Any, task_metrics: Any) -> Any:
        metadata = getattr(self, "metadata", None)
        if not isinstance(metadata, dict) or "mtl" not in metadata:
            return original(self, task_metrics)
        try:
            from lm_eval_mtl.plugin.composite import aggregate_with_composite
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a broken install: lm-eval's own row
            _log("group-import", f"cannot import the composite ({exc!r}); composite rows are off.")
            return original(self, task_metrics)
        return aggregate_with_composite(self, task_metrics, original)

    aggregate.__doc__ = original.__doc__
    aggregate.__qualname__ = getattr(original, "__qualname__", "aggregate")
    aggregate.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(aggregate, _MARK, True)
    cls.aggregate = aggregate
    return True


def register_models(module: ModuleType) -> bool:
    """Register ``mtl-sim`` as a lazy placeholder, after lm-eval's own models.

    Returns:
        Whether ``mtl-sim`` is (now) registered.
    """
    from lm_eval.api.registry import model_registry

    if _MODEL_NAME in model_registry:
        return True
    model_registry.register(_MODEL_NAME, target=_MODEL_TARGET)
    return True


PATCHES: dict[str, Callable[[ModuleType], bool]] = {
    "lm_eval.tasks.manager": patch_task_manager,
    "lm_eval.api.group": patch_group,
    "lm_eval.models": register_models,
}


def apply_patch(name: str, module: ModuleType) -> None:
    """Apply the patch for the just-imported module ``name``; never raises (failures are logged once)."""
    try:
        PATCHES[name](module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the hook never raises, not even SystemExit
        _log(f"patch-{name}", f"patching {name} failed ({exc!r}); standing aside.")
