"""Each version adapter on fake lm-eval modules shaped like 0.4.9.2 / 0.4.11 / 0.4.13 (and the real 0.4.13).

The multi-version runs on the real releases are .ci/compat's job (docs/compatibility.md);
these tests pin each adapter's feature detection and output, in-process and fast.
"""

from __future__ import annotations

import logging
import sys
import textwrap
import types
from pathlib import Path
from typing import Any

import pytest

from lm_eval_mtl.plugin import cli as plugin_cli
from lm_eval_mtl.plugin import consolidate, eval_tasks, hooks, models, selected_tasks_log, task_folder
from lm_eval_mtl.plugin.composite import COMPOSITE_KEY, COMPOSITE_STDERR_KEY, group_composite
from lm_eval_mtl.suites import SuiteSpec, task_config_dir

META = {
    "version": 1.0,
    "mtl": {
        "schema": 1,
        "kind": "suite",
        "weights": "family",
        "members": [
            {"task": "a", "metric": "acc", "chance": 0.5, "family": "cls"},
            {"task": "b", "metric": "acc", "chance": 0.25, "family": "cls"},
            {"task": "c", "metric": "exact_match", "filter": "strict", "chance": 0.0, "family": "qa",
             "output_type": "generate_until"},
        ],
    },
}  # fmt: skip
# What lm-eval 0.4.9.2-0.4.11 hold per task after consolidate_results ("samples", not "sample_len").
OLD_RESULTS = {
    "a": {"alias": "a", "acc,none": 0.75, "acc_stderr,none": 0.04, "samples": 100},
    "b": {"alias": "b", "acc,none": 0.40, "acc_stderr,none": 0.05, "samples": 50},
    "c": {"alias": "c", "exact_match,strict": 0.3, "exact_match_stderr,strict": 0.02, "samples": 200},
}


@pytest.fixture(autouse=True)
def _fresh_state() -> Any:
    hooks._warned.clear()
    hooks._task_dir_cache.clear()
    yield
    hooks._warned.clear()
    hooks._task_dir_cache.clear()


class FakeGroup:
    """Shaped like 0.4.9.2-0.4.11's ConfigurableGroup: ``group_name`` and a ``config`` dict."""

    def __init__(self, name: str, metadata: Any) -> None:
        self.group_name = name
        self.config = {"group": name, "metadata": metadata}


def _old_consolidate(
    results: Any, versions: Any, task_dict: Any, task_root: Any = None, show_group_table: Any = False,
    task_aggregation_list: Any = None,
) -> Any:  # fmt: skip
    """Recurses through the module attribute, as lm-eval's does (so through the wrapper)."""
    for key, value in task_dict.items():
        if isinstance(value, dict):
            results.setdefault(key.group_name, {"alias": key.group_name})
            _UTILS.consolidate_group_results(results, versions, value, key.group_name, show_group_table, {})
    return results, versions, show_group_table, task_aggregation_list or {}


_UTILS = types.ModuleType("lm_eval.evaluator_utils")
_UTILS.consolidate_group_results = _old_consolidate  # type: ignore[attr-defined]


# ------------------------------------------------------------------ composite row, 0.4.9.2 to 0.4.11


def test_consolidate_adapter_adds_the_same_composite_as_newer_lm_eval(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = _UTILS
    monkeypatch.setattr(module, "consolidate_group_results", _old_consolidate)
    assert consolidate.patch_evaluator_utils(module)
    assert consolidate.patch_evaluator_utils(module)  # idempotent
    inner = FakeGroup("fam", {"version": 1.0})  # a plain group inside ours: left alone
    task_dict = {FakeGroup("suite", META): {inner: {"a": object(), "b": object()}, "c": object()}}
    results = {k: dict(v) for k, v in OLD_RESULTS.items()}
    versions: dict[str, Any] = {}
    out, versions, show, _ = module.consolidate_group_results(results, versions, task_dict)
    assert show is True
    expected = group_composite(
        SuiteSpec.from_metadata("suite", META),
        {t: {**m, "sample_len": m["samples"]} for t, m in OLD_RESULTS.items()},
    )
    assert out["suite"][COMPOSITE_KEY] == pytest.approx(expected.value, abs=1e-12)
    assert out["suite"][COMPOSITE_STDERR_KEY] == pytest.approx(expected.stderr, abs=1e-12)
    assert out["suite"]["samples"] == 350 and versions["suite"] == 1.0
    assert COMPOSITE_KEY not in out["fam"]


def test_consolidate_and_group_aggregate_give_identical_rows() -> None:
    from lm_eval.api.group import Group  # the real 0.4.13 class, patched by the installed hook

    if not getattr(Group.aggregate, "__lm_eval_mtl_wrapped__", False):
        pytest.skip("the start-up hook is not active in this session")
    new_metrics = {t: {**{k: v for k, v in m.items() if k != "samples"}, "sample_len": m["samples"]}
                   for t, m in OLD_RESULTS.items()}  # fmt: skip
    row = Group(name="suite", metadata=META).aggregate(new_metrics)
    results = {k: dict(v) for k, v in OLD_RESULTS.items()}
    results["suite"] = {"alias": "suite"}
    consolidate.add_composites(results, {}, {FakeGroup("suite", META): {"a": 1, "b": 1, "c": 1}})
    assert results["suite"][COMPOSITE_KEY] == row[COMPOSITE_KEY]
    assert results["suite"][COMPOSITE_STDERR_KEY] == row[COMPOSITE_STDERR_KEY]


def test_consolidate_adapter_raises_on_a_missing_member_never_a_partial_row() -> None:
    from lm_eval_mtl.errors import MissingTaskError

    results = {k: dict(v) for k, v in OLD_RESULTS.items() if k != "c"}
    results["suite"] = {}
    with pytest.raises(MissingTaskError, match="member task 'c' has no results"):
        consolidate.add_composites(results, {}, {FakeGroup("suite", META): {"a": 1, "b": 1}})


def test_consolidate_with_another_signature_stands_aside_with_one_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module = types.ModuleType("lm_eval.evaluator_utils")
    original = lambda results, versions, task_dict: None  # noqa: E731
    module.consolidate_group_results = original  # type: ignore[attr-defined]
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        assert consolidate.patch_evaluator_utils(module) is False
        assert consolidate.patch_evaluator_utils(module) is False
    assert module.consolidate_group_results is original
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "composite rows are off" in lines[0] and "lm-eval-mtl report" in lines[0]


def test_no_hook_point_at_all_is_said_once_and_only_when_both_modules_ran(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    utils = types.ModuleType("lm_eval.evaluator_utils")
    group = types.ModuleType("lm_eval.api.group")
    monkeypatch.setitem(sys.modules, "lm_eval.evaluator_utils", utils)
    monkeypatch.delitem(sys.modules, "lm_eval.api.group", raising=False)
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        assert consolidate.patch_evaluator_utils(utils) is False
        assert not caplog.records  # lm_eval.api.group has not run yet: it may have Group.aggregate
        monkeypatch.setitem(sys.modules, "lm_eval.api.group", group)
        hooks.patch_group(group)
        hooks.patch_group(group)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1
    assert "neither Group.aggregate nor consolidate_group_results" in lines[0]
    assert "run `lm-eval-mtl report` on the output folder" in lines[0]


def test_newer_lm_eval_says_nothing_about_consolidate(caplog: pytest.LogCaptureFixture) -> None:
    import lm_eval.evaluator_utils as real  # 0.4.13: no consolidate_group_results, Group.aggregate instead

    with caplog.at_level(logging.DEBUG, logger="lm_eval_mtl.plugin"):
        assert consolidate.patch_evaluator_utils(real) is False
    assert not caplog.records


# ------------------------------------------------------------------ TaskManager in either module


def _init(calls: list[Any]) -> Any:
    def __init__(self: Any, verbosity: Any = None, include_path: Any = None, include_defaults: bool = True,
                 metadata: Any = None) -> None:  # fmt: skip
        calls.append(include_path)

    return __init__


def test_task_manager_in_lm_eval_tasks_init_is_patched(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("x = 1\n", encoding="utf-8")
    calls: list[Any] = []
    module = types.ModuleType("lm_eval.tasks")  # 0.4.9.2-0.4.11: the class lives in the package itself
    module.__file__ = str(tmp_path / "__init__.py")
    module.TaskManager = type("TaskManager", (), {"__init__": _init(calls), "__module__": "lm_eval.tasks"})  # type: ignore[attr-defined]
    assert hooks.patch_tasks_package(module)
    module.TaskManager(include_path="/u")
    assert calls == [[str(task_config_dir()), "/u"]]


def test_reexported_task_manager_is_decided_in_its_own_module() -> None:
    import lm_eval.tasks  # 0.4.13: re-exports lm_eval.tasks.manager.TaskManager

    assert lm_eval.tasks.TaskManager.__module__ == "lm_eval.tasks.manager"
    before = lm_eval.tasks.TaskManager.__init__
    hooks.patch_tasks_package(lm_eval.tasks)
    assert lm_eval.tasks.TaskManager.__init__ is before


# ------------------------------------------------------------------ 0.4.9.2's selected-tasks log line

_OLD_TASKS = """
from pathlib import Path

def get_task_dict(names):
    def pretty_print_task(yaml_path):
        yaml_path = Path(yaml_path)
        lm_eval_tasks_path = Path(__file__).parent
        return yaml_path.relative_to(lm_eval_tasks_path)
    return [pretty_print_task(n) for n in names]
"""


def _load_source(tmp_path: Path, name: str, source: str) -> types.ModuleType:
    import importlib.util

    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_unguarded_relative_to_gets_the_0_4_10_fix(tmp_path: Path) -> None:
    module = _load_source(tmp_path, "old_tasks", _OLD_TASKS)
    with pytest.raises(ValueError, match="subpath"):
        module.get_task_dict(["/elsewhere/t.yaml"])
    assert selected_tasks_log.patch_selected_tasks_log(module)
    assert selected_tasks_log.patch_selected_tasks_log(module)
    assert module.get_task_dict(["/elsewhere/t.yaml", str(tmp_path / "in.yaml")]) == [
        Path("/elsewhere/t.yaml"),
        Path("in.yaml"),
    ]


def test_guarded_relative_to_is_left_alone(tmp_path: Path) -> None:
    fixed = _OLD_TASKS.replace(
        "        return yaml_path.relative_to(lm_eval_tasks_path)",
        "        try:\n            return yaml_path.relative_to(lm_eval_tasks_path)\n"
        "        except ValueError:\n            return yaml_path",
    )
    module = _load_source(tmp_path, "new_tasks", fixed)
    assert selected_tasks_log.patch_selected_tasks_log(module) is False
    import lm_eval.tasks

    assert selected_tasks_log.needs_backport(lm_eval.tasks) is False


# ------------------------------------------------------------------ model registration


def test_lazy_registry_gets_a_placeholder(monkeypatch: pytest.MonkeyPatch) -> None:
    registered: dict[str, Any] = {}

    class Registry:
        def __contains__(self, name: str) -> bool:
            return name in registered

        def register(self, *aliases: str, target: Any = None) -> Any:
            registered[aliases[0]] = target

    fake = types.ModuleType("lm_eval.api.registry")
    fake.model_registry = Registry()  # type: ignore[attr-defined]
    monkeypatch.setattr("lm_eval.api.registry", fake, raising=False)
    monkeypatch.setitem(sys.modules, "lm_eval.api.registry", fake)
    assert models.registry_api(fake) == "lazy"
    assert models.register_models() and models.register_models()
    assert registered == {"mtl-sim": "lm_eval_mtl.sim.backend:SimulatedLM"}


def test_decorator_registry_of_0_4_9_2_gets_the_class(monkeypatch: pytest.MonkeyPatch) -> None:
    table: dict[str, Any] = {}

    def register_model(*names: str) -> Any:
        def decorate(cls: Any) -> Any:
            for name in names:
                assert name not in table
                table[name] = cls
            return cls

        return decorate

    fake = types.ModuleType("lm_eval.api.registry")
    fake.MODEL_REGISTRY = table  # type: ignore[attr-defined]
    fake.register_model = register_model  # type: ignore[attr-defined]
    monkeypatch.setattr("lm_eval.api.registry", fake, raising=False)
    monkeypatch.setitem(sys.modules, "lm_eval.api.registry", fake)
    assert models.registry_api(fake) == "decorator"
    assert models.register_models() and models.register_models()
    from lm_eval_mtl.sim.backend import SimulatedLM

    assert table == {"mtl-sim": SimulatedLM}


def test_no_registry_api_says_what_to_do(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fake = types.ModuleType("lm_eval.api.registry")
    monkeypatch.setattr("lm_eval.api.registry", fake, raising=False)
    monkeypatch.setitem(sys.modules, "lm_eval.api.registry", fake)
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        assert models.register_models() is False
    assert "`--model mtl-sim` is unavailable" in caplog.records[0].getMessage()


def test_real_registry_is_the_lazy_kind() -> None:
    from lm_eval.api import registry

    assert models.registry_api(registry) == "lazy"


# ------------------------------------------------------------------ mtl-sim's task lookup


class _Task:
    def __init__(self, name: str) -> None:
        self.task_name = name

    def doc_to_target(self, doc: Any) -> Any:
        return 0


def test_eval_tasks_as_mapping_and_as_task_output_list() -> None:
    a, b = _Task("a"), _Task("b")
    assert eval_tasks.tasks_from_eval_tasks({"a": a, "b": b}) == {"a": a, "b": b}
    outputs = [types.SimpleNamespace(task_name="a", task=a), types.SimpleNamespace(task_name="b", task=b)]
    assert eval_tasks.tasks_from_eval_tasks(outputs) == {"a": a, "b": b}
    assert eval_tasks.tasks_from_eval_tasks([1, 2]) == {} and eval_tasks.tasks_from_eval_tasks(None) == {}


def test_running_tasks_reads_the_evaluators_frame() -> None:
    running_tasks = eval_tasks.running_tasks

    def evaluate() -> Any:
        eval_tasks = [types.SimpleNamespace(task_name="a", task=_Task("a"))]  # noqa: F841 - the evaluator's name
        return (lambda: running_tasks(sys._getframe(1)))()

    assert list(evaluate()) == ["a"]


@pytest.mark.parametrize("method", ["load", "load_task_or_group"])
def test_load_tasks_uses_whichever_method_the_task_manager_has(
    monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    t = _Task("leaf")

    class TaskManager:
        def __init__(self, include_path: Any = None, include_defaults: bool = True) -> None:
            pass

    if method == "load":
        TaskManager.load = lambda self, name: {"tasks": {"leaf": t}}  # type: ignore[attr-defined]
    else:
        TaskManager.load_task_or_group = lambda self, name: {FakeGroup("g", {}): {"leaf": t}}  # type: ignore[attr-defined]
    monkeypatch.setattr("lm_eval.tasks.TaskManager", TaskManager)
    assert eval_tasks.load_tasks("g") == {"leaf": t}


# ------------------------------------------------------------------ the CLI form


def test_cli_form_follows_the_installed_lm_eval(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.machinery
    import importlib.util

    assert plugin_cli.run_args() == ["run"] and plugin_cli.list_tasks_args() == ["ls", "tasks"]  # 0.4.13
    legacy = importlib.machinery.ModuleSpec("lm_eval", None, is_package=True)
    legacy.submodule_search_locations = [str(tmp_path)]  # a lm_eval without _cli/run.py (0.4.9.2)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: legacy)
    assert plugin_cli.run_args() == [] and plugin_cli.list_tasks_args() == ["--tasks", "list"]


def test_task_folder_signature_is_the_same_on_every_supported_version() -> None:
    from lm_eval.tasks import TaskManager

    assert task_folder.TASK_MANAGER_INIT_PARAMS == tuple(
        __import__("inspect").signature(TaskManager.__init__.__wrapped__).parameters
    )
