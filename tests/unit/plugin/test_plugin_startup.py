"""The start-up hook's patches, on fake lm-eval modules (in-process, fast)."""

from __future__ import annotations

import logging
import sys
import types
from pathlib import Path
from typing import Any

import pytest

from lm_eval_mtl.plugin import _startup, hooks
from lm_eval_mtl.suites import task_config_dir


@pytest.fixture(autouse=True)
def _fresh_state() -> Any:
    hooks._warned.clear()
    hooks._task_dir_cache.clear()
    yield
    hooks._warned.clear()
    hooks._task_dir_cache.clear()


def _manager_module(tmp_path: Path, init: Any, source: str = "x = 1\n") -> types.ModuleType:
    folder = tmp_path / "tasks"
    folder.mkdir(exist_ok=True)
    (folder / "manager.py").write_text(source, encoding="utf-8")
    module = types.ModuleType("fake_lm_eval.tasks.manager")
    module.__file__ = str(folder / "manager.py")
    module.TaskManager = type("TaskManager", (), {"__init__": init})  # type: ignore[attr-defined]
    return module


def _recording_init(calls: list[Any]) -> Any:
    def __init__(
        self: Any,
        verbosity: Any = None,
        include_path: Any = None,
        include_defaults: bool = True,
        metadata: Any = None,
    ) -> None:
        calls.append(include_path)
        self.include_path = include_path

    return __init__


@pytest.mark.parametrize("value", ["1", "true", "YES", " on "])
def test_disable_env_turns_hook_off(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LM_EVAL_MTL_DISABLE", value)
    assert _startup.disabled()
    assert _startup.install() is False


@pytest.mark.parametrize("value", ["", "0", "false", "no"])
def test_other_env_values_leave_hook_on(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("LM_EVAL_MTL_DISABLE", value)
    assert not _startup.disabled()


def test_our_folder_goes_after_builtins_and_before_user_paths(tmp_path: Path) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls))
    assert hooks.patch_task_manager(module)
    tm = module.TaskManager(include_path="/user/tasks")
    assert calls == [[str(task_config_dir()), "/user/tasks"]]
    # The attribute shows exactly what the caller passed.
    assert tm.include_path == "/user/tasks"


def test_list_include_path_keeps_user_order_and_drops_a_duplicate_of_ours(tmp_path: Path) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls))
    hooks.patch_task_manager(module)
    ours = str(task_config_dir())
    module.TaskManager(None, ["/a", ours, Path("/b")])
    assert calls == [[ours, "/a", Path("/b")]]


def test_no_user_path_gives_only_our_folder(tmp_path: Path) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls))
    hooks.patch_task_manager(module)
    tm = module.TaskManager()
    assert calls == [[str(task_config_dir())]]
    assert tm.include_path is None


def test_without_builtins_our_folder_is_not_added(tmp_path: Path) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls))
    hooks.patch_task_manager(module)
    module.TaskManager(include_path="/x", include_defaults=False)
    assert calls == ["/x"]


def test_patch_is_idempotent(tmp_path: Path) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls))
    assert hooks.patch_task_manager(module)
    wrapped = module.TaskManager.__init__
    assert hooks.patch_task_manager(module)
    assert module.TaskManager.__init__ is wrapped
    module.TaskManager()
    assert len(calls) == 1


def test_unknown_signature_stands_aside_and_logs_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def __init__(self: Any, include_path: Any = None, *, extra: int = 0) -> None:
        self.include_path = include_path

    module = _manager_module(tmp_path, __init__)
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        assert hooks.patch_task_manager(module) is False
        assert hooks.patch_task_manager(module) is False
    assert module.TaskManager.__init__ is __init__
    messages = [r.getMessage() for r in caplog.records if "parameters" in r.getMessage()]
    assert len(messages) == 1
    assert "standing aside" in messages[0]


_NATIVE_SOURCE = 'from importlib.metadata import entry_points\nEPS = entry_points(group="lm_eval.tasks")\n'


def test_native_entry_point_discovery_that_finds_our_folder_makes_hook_stand_aside(tmp_path: Path) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls), source=_NATIVE_SOURCE)
    module._resolve_task_dir = lambda value: task_config_dir()  # type: ignore[attr-defined]
    assert hooks.lm_eval_discovers_task_plugins(module)
    assert hooks.patch_task_manager(module) is False
    module.TaskManager(include_path="/x")
    assert calls == ["/x"]


def test_native_discovery_that_misses_our_folder_keeps_the_hook(tmp_path: Path) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls), source=_NATIVE_SOURCE)
    module._resolve_task_dir = lambda value: tmp_path  # type: ignore[attr-defined]  # not our folder
    assert hooks.lm_eval_discovers_task_plugins(module)
    assert hooks.patch_task_manager(module) is True
    module.TaskManager(include_path="/x")
    assert calls == [[str(task_config_dir()), "/x"]]


def test_installed_lm_eval_does_not_discover_task_entry_points() -> None:
    import lm_eval.tasks.manager as manager

    assert not hooks.lm_eval_discovers_task_plugins(manager)


def test_unlocatable_task_folder_leaves_task_manager_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls))
    hooks.patch_task_manager(module)
    monkeypatch.setitem(sys.modules, "lm_eval_mtl.suites", None)  # import fails
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        module.TaskManager(include_path="/x")
    assert calls == ["/x"]
    assert any("cannot locate" in r.getMessage() for r in caplog.records)


def test_index_failure_with_our_folder_retries_without_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Any] = []

    def __init__(
        self: Any,
        verbosity: Any = None,
        include_path: Any = None,
        include_defaults: bool = True,
        metadata: Any = None,
    ) -> None:
        calls.append(include_path)
        if isinstance(include_path, list):
            raise RuntimeError("broken yaml")
        self.include_path = include_path

    module = _manager_module(tmp_path, __init__)
    hooks.patch_task_manager(module)
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        tm = module.TaskManager(include_path="/x")
    assert calls == [[str(task_config_dir()), "/x"], "/x"]
    assert tm.include_path == "/x"
    assert any("retrying without it" in r.getMessage() for r in caplog.records)


def test_group_patch_routes_only_mtl_groups_to_the_composite(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []

    def aggregate(self: Any, task_metrics: Any) -> Any:
        seen.append(self.name)
        return {"name": self.name}

    group_cls = type("Group", (), {"aggregate": aggregate})
    module = types.ModuleType("fake_lm_eval.api.group")
    module.Group = group_cls  # type: ignore[attr-defined]
    assert hooks.patch_group(module)

    plain = group_cls()
    plain.name, plain.metadata = "plain", {"version": 1}
    assert plain.aggregate({}) == {"name": "plain"}

    routed: list[Any] = []
    import lm_eval_mtl.plugin.composite as composite

    monkeypatch.setattr(
        composite, "aggregate_with_composite", lambda g, m, orig: routed.append((g.name, orig)) or {}
    )
    marked = group_cls()
    marked.name, marked.metadata = "ours", {"version": 1, "mtl": {}}
    marked.aggregate({})
    assert [name for name, _ in routed] == ["ours"]
    assert seen == ["plain"]
    # The composite gets lm-eval's own aggregate (called with its warnings passed through).
    assert routed[0][1](marked, {}) == {"name": "ours"}
    assert seen == ["plain", "ours"]


def test_group_patch_stands_aside_on_unknown_signature() -> None:
    def aggregate(self: Any, task_metrics: Any, extra: Any) -> Any:
        return {}

    module = types.ModuleType("fake_lm_eval.api.group")
    module.Group = type("Group", (), {"aggregate": aggregate})  # type: ignore[attr-defined]
    assert hooks.patch_group(module) is False
    assert module.Group.aggregate is aggregate


def test_failing_patch_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    module = types.ModuleType("lm_eval.tasks.manager")  # no TaskManager at all
    broken = types.ModuleType("lm_eval.models")
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        hooks.apply_patch("lm_eval.tasks.manager", module)
        hooks.PATCHES["boom"] = lambda m: 1 / 0  # type: ignore[assignment,return-value]
        try:
            hooks.apply_patch("boom", broken)
        finally:
            del hooks.PATCHES["boom"]
    text = " ".join(r.getMessage() for r in caplog.records)
    assert "has no TaskManager" in text
    assert "ZeroDivisionError" in text


def test_merged_include_path_puts_ours_first() -> None:
    assert hooks.merged_include_path("/ours", None) == ["/ours"]
    assert hooks.merged_include_path("/ours", "/u") == ["/ours", "/u"]
    assert hooks.merged_include_path("/ours", ("/u", "/ours/")) == ["/ours", "/u"]


def test_failing_hooks_import_is_logged_once_and_lm_eval_module_is_left_alone(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _startup._failed.clear()
    monkeypatch.setitem(sys.modules, "lm_eval_mtl.plugin.hooks", None)
    module = types.ModuleType("lm_eval.tasks.manager")
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        _startup._apply("lm_eval.tasks.manager", module)
        _startup._apply("lm_eval.tasks.manager", module)
    messages = [
        r.getMessage() for r in caplog.records if "cannot patch lm_eval.tasks.manager" in r.getMessage()
    ]
    assert len(messages) == 1 and "standing aside" in messages[0]
    _startup._failed.clear()


def test_finder_ignores_other_modules_and_wraps_targets() -> None:
    finder = _startup._Finder()
    assert finder.find_spec("json") is None
    import lm_eval.api

    spec = finder.find_spec("lm_eval.api.group", lm_eval.api.__path__)
    assert spec is not None and isinstance(spec.loader, _startup._PatchingLoader)
    assert spec.loader.get_filename("lm_eval.api.group").endswith("group.py")  # delegated


def test_in_process_lm_eval_is_patched_by_the_installed_hook() -> None:
    if _startup.disabled():
        pytest.skip("LM_EVAL_MTL_DISABLE is set for this test session")
    import lm_eval.evaluator_utils as evaluator_utils
    from lm_eval.api.group import Group
    from lm_eval.tasks.manager import TaskManager

    assert getattr(TaskManager.__init__, "__lm_eval_mtl_wrapped__", False)
    assert getattr(Group.aggregate, "__lm_eval_mtl_wrapped__", False)
    # 0.4.13 aggregates through Group.aggregate: nothing to wrap in evaluator_utils.
    assert not hasattr(evaluator_utils, "consolidate_group_results")


# ---------------------------------------------------------------- a broken install never breaks lm-eval


class _ExplodingModule(types.ModuleType):
    """A module whose every attribute access raises ``exc`` (a broken install)."""

    def __init__(self, name: str, exc: BaseException) -> None:
        super().__init__(name)
        self._exc = exc

    def __getattr__(self, attr: str) -> Any:
        raise self._exc


@pytest.mark.parametrize(
    "exc", [SystemExit(3), ImportError("broken"), RuntimeError("x"), GeneratorExit(), RecursionError()]
)
def test_startup_apply_swallows_every_exception_from_a_broken_install(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, exc: BaseException
) -> None:
    _startup._failed.clear()
    monkeypatch.setitem(
        sys.modules, "lm_eval_mtl.plugin.hooks", _ExplodingModule("lm_eval_mtl.plugin.hooks", exc)
    )
    module = types.ModuleType("lm_eval.api.group")
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        _startup._apply("lm_eval.api.group", module)  # must not raise
        _startup._apply("lm_eval.api.group", module)
    messages = [r.getMessage() for r in caplog.records if "cannot patch lm_eval.api.group" in r.getMessage()]
    assert len(messages) == 1 and type(exc).__name__ in messages[0] and "standing aside" in messages[0]
    _startup._failed.clear()


def test_startup_apply_lets_keyboard_interrupt_through(monkeypatch: pytest.MonkeyPatch) -> None:
    _startup._failed.clear()
    monkeypatch.setitem(
        sys.modules,
        "lm_eval_mtl.plugin.hooks",
        _ExplodingModule("lm_eval_mtl.plugin.hooks", KeyboardInterrupt()),
    )
    with pytest.raises(KeyboardInterrupt):
        _startup._apply("lm_eval.api.group", types.ModuleType("lm_eval.api.group"))
    _startup._failed.clear()


def test_apply_patch_swallows_system_exit_and_passes_keyboard_interrupt(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def exits(module: Any) -> bool:
        raise SystemExit(3)

    def interrupted(module: Any) -> bool:
        raise KeyboardInterrupt

    hooks.PATCHES["exits"] = exits
    hooks.PATCHES["interrupted"] = interrupted
    try:
        with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
            hooks.apply_patch("exits", types.ModuleType("m"))
        assert any("SystemExit" in r.getMessage() for r in caplog.records)
        with pytest.raises(KeyboardInterrupt):
            hooks.apply_patch("interrupted", types.ModuleType("m"))
    finally:
        del hooks.PATCHES["exits"], hooks.PATCHES["interrupted"]


def test_finder_stands_aside_when_another_finder_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    class Exiting:
        def find_spec(self, *args: Any) -> Any:
            raise SystemExit(3)

    monkeypatch.setattr(sys, "meta_path", [_startup._Finder(), Exiting(), *sys.meta_path])
    assert _startup._Finder().find_spec("lm_eval.api.group") is None


def test_task_folder_lookup_that_exits_leaves_task_manager_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Any] = []
    module = _manager_module(tmp_path, _recording_init(calls))
    hooks.patch_task_manager(module)
    monkeypatch.setitem(
        sys.modules, "lm_eval_mtl.suites", _ExplodingModule("lm_eval_mtl.suites", SystemExit(3))
    )
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        module.TaskManager(include_path="/x")
    assert calls == ["/x"]
    assert any("cannot locate" in r.getMessage() for r in caplog.records)


def test_group_patch_falls_back_to_lm_eval_when_the_composite_cannot_be_imported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def aggregate(self: Any, task_metrics: Any) -> Any:
        return {"name": self.name}

    group_cls = type("Group", (), {"aggregate": aggregate})
    module = types.ModuleType("fake_lm_eval.api.group")
    module.Group = group_cls  # type: ignore[attr-defined]
    assert hooks.patch_group(module)
    monkeypatch.setitem(
        sys.modules,
        "lm_eval_mtl.plugin.composite",
        _ExplodingModule("lm_eval_mtl.plugin.composite", SystemExit(3)),
    )
    marked = group_cls()
    marked.name, marked.metadata = "ours", {"mtl": {}}
    assert marked.aggregate({}) == {"name": "ours"}


_BROKEN_IMPORT = """
import os, sys
if os.environ.get("LOAD_SOURCE_HOOK"):
    import importlib.util
    os.environ.pop("LM_EVAL_MTL_DISABLE", None)
    spec = importlib.util.spec_from_file_location("_lm_eval_mtl_startup", os.environ["LOAD_SOURCE_HOOK"])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
import lm_eval.api.group
print("imported", bool(getattr(lm_eval.api.group.Group.aggregate, "__lm_eval_mtl_wrapped__", False)))
"""


def _broken_package(tmp_path: Path) -> Path:
    """A fake ``lm_eval_mtl`` first on the path whose import raises SystemExit(3) (a broken install)."""
    fake = tmp_path / "fake"
    (fake / "lm_eval_mtl").mkdir(parents=True)
    (fake / "lm_eval_mtl" / "__init__.py").write_text("raise SystemExit(3)\n", encoding="utf-8")
    return fake


def _run_broken(tmp_path: Path, extra_env: dict[str, str]) -> Any:
    import os
    import subprocess

    env = {k: v for k, v in os.environ.items() if k not in ("LM_EVAL_MTL_DISABLE", "PYTHONPATH")}
    env.update({"PYTHONPATH": str(_broken_package(tmp_path)), **extra_env})
    return subprocess.run(
        [sys.executable, "-c", _BROKEN_IMPORT],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,  # not the checkout: its lm_eval_mtl would shadow the broken one
    )


def test_broken_install_raising_system_exit_does_not_kill_lm_eval_import(tmp_path: Path) -> None:
    """The hook of this checkout (loaded from source) in a fresh interpreter, lm_eval_mtl broken."""
    proc = _run_broken(
        tmp_path, {"LM_EVAL_MTL_DISABLE": "1", "LOAD_SOURCE_HOOK": str(Path(_startup.__file__).resolve())}
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "imported False"
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if "lm-eval-mtl start-up hook" in ln]
    assert len(lines) == 1 and "SystemExit(3)" in lines[0] and "standing aside" in lines[0]


def test_installed_hook_survives_a_broken_install(tmp_path: Path) -> None:
    """The copy ``pip install -e .`` put in site-packages (refresh it after editing _startup.py)."""
    import importlib.util

    spec = importlib.util.find_spec("_lm_eval_mtl_startup")
    if spec is None or spec.origin is None:
        pytest.skip("the start-up hook is not installed")
    if Path(spec.origin).read_bytes() != Path(_startup.__file__).read_bytes():
        pytest.skip(
            "installed _lm_eval_mtl_startup.py is stale: pip install -e . --no-deps --no-build-isolation"
        )
    proc = _run_broken(tmp_path, {})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "imported False"
    assert "Traceback" not in proc.stderr


def test_finder_maps_the_configs_package_to_a_checkouts_task_configs(tmp_path: Path) -> None:
    package = tmp_path / "lm_eval_mtl"
    package.mkdir()
    (tmp_path / "task_configs").mkdir()
    finder = _startup._Finder()
    assert finder.find_spec(_startup.CONFIGS_PACKAGE, [str(package)]) is None  # not a checkout
    (tmp_path / "pyproject.toml").write_text("", encoding="utf-8")
    spec = finder.find_spec(_startup.CONFIGS_PACKAGE, [str(package)])
    assert spec is not None and spec.loader is None
    assert list(spec.submodule_search_locations) == [str(tmp_path / "task_configs")]
    (package / "task_configs").mkdir()  # a wheel's layout: the normal finders answer
    spec = finder.find_spec(_startup.CONFIGS_PACKAGE, [str(package)])
    assert spec is not None and list(spec.submodule_search_locations) == [str(package / "task_configs")]
