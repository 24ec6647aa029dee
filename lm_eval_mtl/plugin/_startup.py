"""Start-up hook of lm-eval-mtl: lets the plain ``lm_eval`` CLI find our suites.

The wheel installs this file as the top-level module ``_lm_eval_mtl_startup``
and a ``lm_eval_mtl_startup.pth`` file whose one line imports it (inside a
``try``). Importing it installs a :data:`sys.meta_path` finder that does nothing
until lm-eval imports one of the modules in :data:`TARGETS`; right after such a
module has executed, the finder's loader imports
:mod:`lm_eval_mtl.plugin.hooks` and applies its patch (task folder, composite
rows, the ``mtl-sim`` model). In an editable install it also resolves
:data:`CONFIGS_PACKAGE`, which only a wheel contains, to the checkout's
``task_configs/``.

Rules: at start-up this module imports nothing (``os`` and ``sys`` are already
loaded) and stays small, so that it costs well under a millisecond even without
a cached ``.pyc``; it never raises: nothing it runs lets an exception through
except :class:`KeyboardInterrupt` -- not even ``SystemExit`` or ``ImportError``
from a broken install (a failure is logged once and the hook stands aside);
``LM_EVAL_MTL_DISABLE=1`` turns it off.
"""

import os
import sys

# No `typing` (or `__future__`) import: each costs time at every interpreter start.
TYPE_CHECKING = False
if TYPE_CHECKING:  # pragma: no cover
    from types import ModuleType
    from typing import Any

DISABLE_ENV = "LM_EVAL_MTL_DISABLE"
"""Set to ``1`` (or ``true``/``yes``/``on``) to turn the hook off."""

TARGETS = (
    "lm_eval.tasks",
    "lm_eval.tasks.manager",
    "lm_eval.api.group",
    "lm_eval.evaluator_utils",
    "lm_eval.models",
)
"""Modules whose import triggers a patch (see :data:`lm_eval_mtl.plugin.hooks.PATCHES`)."""

CONFIGS_PACKAGE = "lm_eval_mtl.task_configs"
"""The package our ``lm_eval.tasks`` entry point names (the wheel's task folder). In an
editable install the folder is the checkout's top-level ``task_configs/``; the finder
resolves the name there, so lm-eval's entry-point discovery (PR #4015) finds it too."""

_failed: "set[str]" = set()


def disabled() -> bool:
    """Whether ``LM_EVAL_MTL_DISABLE`` turns the hook off."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def _apply(name: str, module: "ModuleType") -> None:
    """Apply the patch for ``name``; never raises (except KeyboardInterrupt)."""
    try:
        from lm_eval_mtl.plugin.hooks import apply_patch

        apply_patch(name, module)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # noqa: BLE001 - the hook never raises, not even SystemExit
        if name not in _failed:
            _failed.add(name)
            try:
                import logging

                logging.getLogger("lm_eval_mtl.plugin").warning(
                    "lm-eval-mtl start-up hook: cannot patch %s (%r); standing aside.", name, exc
                )
            except KeyboardInterrupt:
                raise
            except BaseException:  # noqa: BLE001
                pass


class _PatchingLoader:
    """Delegates to the real loader, then patches the freshly executed module."""

    def __init__(self, loader: "Any", name: str) -> None:
        self._loader = loader
        self._name = name

    def __getattr__(self, attr: str) -> "Any":
        return getattr(self._loader, attr)

    def create_module(self, spec: "Any") -> "Any":
        return self._loader.create_module(spec)

    def exec_module(self, module: "ModuleType") -> None:
        try:  # hand the real loader back first, so the module looks untouched
            module.__loader__ = self._loader
            if module.__spec__ is not None:
                module.__spec__.loader = self._loader
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001 - cosmetic only
            pass
        self._loader.exec_module(module)
        _apply(self._name, module)


def _find_elsewhere(fullname: str, path: "Any", target: "Any") -> "Any":
    """Return the spec the other finders give ``fullname`` (None: none finds it)."""
    for finder in sys.meta_path:
        if getattr(finder, "_lm_eval_mtl_finder", False) or not hasattr(finder, "find_spec"):
            continue
        spec = finder.find_spec(fullname, path, target)
        if spec is not None:
            return spec
    return None


def _checkout_configs_spec(fullname: str, path: "Any") -> "Any":
    """Return a namespace spec for :data:`CONFIGS_PACKAGE` at ``<checkout>/task_configs`` (editable installs)."""
    package_dir = next(iter(path or ()), None)
    if not isinstance(package_dir, str):
        return None
    root = os.path.dirname(os.path.abspath(package_dir))
    folder = os.path.join(root, "task_configs")
    if not (os.path.isdir(folder) and os.path.isfile(os.path.join(root, "pyproject.toml"))):
        return None
    from importlib.machinery import ModuleSpec

    spec = ModuleSpec(fullname, None, is_package=True)
    spec.submodule_search_locations = [folder]
    return spec


class _Finder:
    """A :data:`sys.meta_path` finder that only reacts to :data:`TARGETS` and :data:`CONFIGS_PACKAGE`."""

    _lm_eval_mtl_finder = True

    def find_spec(self, fullname: str, path: "Any" = None, target: "Any" = None) -> "Any":
        if fullname not in TARGETS and fullname != CONFIGS_PACKAGE:
            return None
        try:
            spec: Any = _find_elsewhere(fullname, path, target)
            if fullname == CONFIGS_PACKAGE:
                return spec if spec is not None else _checkout_configs_spec(fullname, path)
            if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
                return None
            spec.loader = _PatchingLoader(spec.loader, fullname)
            return spec
        except KeyboardInterrupt:
            raise
        except BaseException:  # noqa: BLE001 - the hook never raises; the normal import proceeds
            return None

    def __repr__(self) -> str:
        return "<lm_eval_mtl start-up finder>"


def installed() -> bool:
    """Whether the finder is on :data:`sys.meta_path`."""
    return any(getattr(f, "_lm_eval_mtl_finder", False) for f in sys.meta_path)


def install() -> bool:
    """Install the finder (idempotent) and patch targets lm-eval already imported.

    Returns:
        Whether the hook is active (False when disabled).
    """
    if disabled():
        return False
    if not installed():
        sys.meta_path.insert(0, _Finder())
    for name in TARGETS:
        module = sys.modules.get(name)
        if module is not None:
            _apply(name, module)
    return True


def uninstall() -> None:
    """Remove the finder (modules already patched stay patched)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not getattr(f, "_lm_eval_mtl_finder", False)]


# Installed as the top-level module ``_lm_eval_mtl_startup`` (imported by the .pth
# file), the hook activates itself; imported as ``lm_eval_mtl.plugin._startup``
# (tests, tools) it does nothing until ``install()`` is called.
if __name__ == "_lm_eval_mtl_startup":
    try:
        install()
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - never break interpreter start-up
        pass
