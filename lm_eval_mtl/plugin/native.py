"""Whether this lm-eval finds our task folder through the ``lm_eval.tasks`` entry point by itself.

lm-eval 0.4.9.2 to 0.4.13 read no task entry points; upstream PR #4015
(EleutherAI/lm-evaluation-harness, head e9a0857, "feat(tasks): discover external
task directories via entry points", not merged) makes ``TaskManager.__init__``
scan, after the built-in tasks and before ``include_path``, one folder per
``lm_eval.tasks`` entry point: it reads only the module part of the entry
point's value (``value.split(":")[0]``), finds that module's spec
(:func:`importlib.util.find_spec`, importing it when no spec is found), and takes
the package's folder (``submodule_search_locations[0]``) or, for a plain module,
the folder of its file.

The start-up hook stands aside only when both hold (:func:`native_discovery`):

* this lm-eval reads ``lm_eval.tasks`` entry points (its task sources mention
  ``entry_points`` and the group name), and
* resolved that way -- with lm-eval's own resolver when it has one
  (``_resolve_task_dir`` in the PR), else the PR's rule above -- one of *our*
  entry points names our task folder.

Otherwise the hook adds the folder itself (a lm-eval whose discovery does not
reach the folder would otherwise lose the suites silently).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = [
    "DISTRIBUTION",
    "TASKS_GROUP",
    "NativeDiscovery",
    "lm_eval_discovers_task_plugins",
    "native_discovery",
    "our_entry_point_values",
    "resolve_entry_point_folder",
]

TASKS_GROUP = "lm_eval.tasks"
"""The entry-point group lm-eval's task discovery reads (PR #4015)."""
DISTRIBUTION = "lm-eval-mtl"
"""Our distribution's name (its entry points are the ones checked)."""


@dataclass(frozen=True)
class NativeDiscovery:
    """What this lm-eval's own entry-point discovery makes of our task folder."""

    reads_entry_points: bool
    """lm-eval reads ``lm_eval.tasks`` entry points itself."""
    resolved: tuple[str, ...]
    """Folders our entry points resolve to, as lm-eval resolves them (empty: none resolve)."""
    finds_ours: bool
    """One of them is our task folder: the hook can stand aside."""


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


def our_entry_point_values() -> list[str]:
    """Values of the ``lm_eval.tasks`` entry points our distribution declares (as installed)."""
    from importlib.metadata import entry_points

    values: list[str] = []
    for ep in entry_points(group=TASKS_GROUP):
        name = getattr(getattr(ep, "dist", None), "name", None)
        if isinstance(name, str) and name.replace("_", "-").lower() == DISTRIBUTION:
            values.append(ep.value)
    return values


def resolve_entry_point_folder(value: str) -> Path | None:
    """Return the folder PR #4015's rule scans for an entry point ``value`` (None: it resolves to none).

    Only the module part counts: a package gives its folder, a plain module the
    folder of its file. Raises what the import raises when the module is missing.
    """
    import importlib
    import importlib.util

    module_name = value.split(":", 1)[0].strip()
    if not module_name:
        return None
    spec = importlib.util.find_spec(module_name)
    if spec is None:
        spec = getattr(importlib.import_module(module_name), "__spec__", None)
    if spec is None:
        return None
    locations = list(spec.submodule_search_locations or [])
    if locations:
        return Path(locations[0]).resolve()
    if spec.origin and spec.origin != "built-in":
        return Path(spec.origin).resolve().parent
    return None


def _same_folder(a: str | Path, b: str | Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def native_discovery(module: ModuleType, folder: Callable[[], str | None]) -> NativeDiscovery:
    """Check whether lm-eval's own discovery (if any) reaches our task folder through our entry points.

    Args:
        module: The lm-eval module holding ``TaskManager``.
        folder: Returns our task folder (None: unknown, so nothing can find it); called
            only when this lm-eval reads entry points.

    Returns:
        What lm-eval's discovery finds. Never raises: an entry point that does not
        resolve simply resolves to nothing.
    """
    if not lm_eval_discovers_task_plugins(module):
        return NativeDiscovery(False, (), False)
    resolver: Any = getattr(module, "_resolve_task_dir", None)
    if not callable(resolver):
        resolver = resolve_entry_point_folder
    resolved: list[str] = []
    try:
        values = our_entry_point_values()
    except Exception:  # noqa: BLE001 - unreadable metadata: nothing is found natively
        values = []
    for value in values:
        try:
            found = resolver(value)
        except Exception:  # noqa: BLE001 - lm-eval logs and skips such an entry point too
            continue
        if found is not None:
            resolved.append(str(found))
    ours = folder() if resolved else None
    finds = ours is not None and any(_same_folder(r, ours) for r in resolved)
    return NativeDiscovery(True, tuple(resolved), finds)
