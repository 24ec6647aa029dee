"""The patches the start-up hook applies to lm-eval, loaded only when lm-eval is imported.

The start-up module (:mod:`lm_eval_mtl.plugin._startup`, installed as
``_lm_eval_mtl_startup``) stays tiny; when lm-eval imports one of the modules in
:data:`PATCHES`, it imports this module and calls :func:`apply_patch`, which
hands the module to its version adapter (each chooses by what the module
offers, never by version strings):

* ``lm_eval.tasks`` (0.4.9.2 to 0.4.11) and ``lm_eval.tasks.manager`` (0.4.12 on):
  ``TaskManager.__init__`` gets lm-eval-mtl's task folder after lm-eval's
  built-in tasks and before the user's ``--include_path``
  (:mod:`lm_eval_mtl.plugin.task_folder`), unless lm-eval's own entry-point
  discovery already finds it (:mod:`lm_eval_mtl.plugin.native`). On 0.4.9.2 the
  selected-tasks log line that raises for such folders gets lm-eval 0.4.10's fix
  (:mod:`lm_eval_mtl.plugin.selected_tasks_log`).
* ``lm_eval.api.group`` (0.4.12 on): ``Group.aggregate`` adds the composite to
  groups whose ``metadata`` has an ``mtl`` block (:mod:`lm_eval_mtl.plugin.group_row`).
* ``lm_eval.evaluator_utils`` (0.4.9.2 to 0.4.11): ``consolidate_group_results``
  adds the same row (:mod:`lm_eval_mtl.plugin.consolidate`).
* ``lm_eval.models``: ``mtl-sim`` is registered after lm-eval's own models,
  through whichever registry API exists (:mod:`lm_eval_mtl.plugin.models`).

Each adapter checks the signature it wraps and stands aside (one logged line)
on a mismatch. Nothing here raises into lm-eval -- no exception at all,
``SystemExit`` from a broken install included, only ``KeyboardInterrupt``
passes -- except the composite itself on a bad spec or missing metric (never a
silent partial composite).
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

from lm_eval_mtl.plugin.consolidate import patch_evaluator_utils
from lm_eval_mtl.plugin.group_row import GROUP_AGGREGATE_PARAMS, patch_group
from lm_eval_mtl.plugin.models import register_models
from lm_eval_mtl.plugin.native import lm_eval_discovers_task_plugins
from lm_eval_mtl.plugin.selected_tasks_log import patch_selected_tasks_log
from lm_eval_mtl.plugin.task_folder import (
    TASK_MANAGER_INIT_PARAMS,
    merged_include_path,
    patch_task_manager,
)
from lm_eval_mtl.plugin.task_folder import task_dir_cache as _task_dir_cache  # noqa: F401 - tests clear it
from lm_eval_mtl.plugin.wrapping import log_once
from lm_eval_mtl.plugin.wrapping import warned as _warned  # noqa: F401 - tests clear it

__all__ = [
    "GROUP_AGGREGATE_PARAMS",
    "PATCHES",
    "TASK_MANAGER_INIT_PARAMS",
    "apply_patch",
    "lm_eval_discovers_task_plugins",
    "merged_include_path",
    "patch_evaluator_utils",
    "patch_group",
    "patch_task_manager",
    "patch_tasks_package",
    "register_models",
]


def patch_tasks_package(module: ModuleType) -> bool:
    """``lm_eval.tasks``: the 0.4.9.2 log-line backport where needed, then the task folder.

    Returns:
        Whether the task-folder wrapper is (now) installed.
    """
    patch_selected_tasks_log(module)
    return patch_task_manager(module)


PATCHES: dict[str, Callable[[ModuleType], bool]] = {
    "lm_eval.tasks": patch_tasks_package,
    "lm_eval.tasks.manager": patch_task_manager,
    "lm_eval.api.group": patch_group,
    "lm_eval.evaluator_utils": patch_evaluator_utils,
    "lm_eval.models": register_models,
}
"""Adapter per target module (the keys are :data:`lm_eval_mtl.plugin._startup.TARGETS`)."""


def apply_patch(name: str, module: ModuleType) -> None:
    """Apply the patch for the just-imported module ``name``; never raises (failures are logged once)."""
    try:
        PATCHES[name](module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the hook never raises, not even SystemExit
        log_once(f"patch-{name}", f"patching {name} failed ({exc!r}); standing aside.")
