"""The `lm_eval.tasks` entry point, in the form lm-eval's proposed discovery (PR #4015) consumes."""

from __future__ import annotations

from importlib.metadata import entry_points
from importlib.resources import files
from pathlib import Path

import pytest

from lm_eval_mtl.plugin import _startup
from lm_eval_mtl.plugin.native import our_entry_point_values, resolve_entry_point_folder
from lm_eval_mtl.plugin.paths import ENTRY_POINT, task_paths
from lm_eval_mtl.suites import task_config_dir


def test_task_paths_is_the_shipped_config_folder() -> None:
    paths = task_paths()
    assert paths == [str(task_config_dir())]
    assert (Path(paths[0]) / "mtl_demo" / "_mtl_demo.yaml").is_file()


def test_entry_point_names_the_package_holding_the_yaml() -> None:
    eps = [ep for ep in entry_points(group="lm_eval.tasks") if ep.name == "lm_eval_mtl"]
    assert len(eps) == 1
    assert eps[0].value == ENTRY_POINT == "lm_eval_mtl.task_configs"
    assert our_entry_point_values() == [ENTRY_POINT]


def test_entry_point_resolves_to_the_task_folder_as_pr_4015_resolves_it() -> None:
    # In an editable install the start-up finder maps the package to the checkout's task_configs/.
    if _startup.disabled() and not (Path(str(files("lm_eval_mtl"))) / "task_configs").is_dir():
        pytest.skip("editable install with LM_EVAL_MTL_DISABLE set: the start-up finder is off")
    assert resolve_entry_point_folder(ENTRY_POINT) == task_config_dir().resolve()


def test_the_old_function_entry_point_would_scan_the_plugin_folder() -> None:
    # PR #4015 reads only the module part: `lm_eval_mtl.plugin.paths:task_paths` -> lm_eval_mtl/plugin/.
    folder = resolve_entry_point_folder("lm_eval_mtl.plugin.paths:task_paths")
    assert folder is not None and folder.name == "plugin"
    assert not list(folder.rglob("*.yaml"))


def test_a_pr_4015_shaped_lm_eval_finds_our_folder_by_the_prs_rule(tmp_path: Path) -> None:
    import types

    from lm_eval_mtl.plugin.native import native_discovery

    if _startup.disabled() and not (Path(str(files("lm_eval_mtl"))) / "task_configs").is_dir():
        pytest.skip("editable install with LM_EVAL_MTL_DISABLE set: the start-up finder is off")
    # The PR's manager.py reads the group by name; no `_resolve_task_dir` here: our copy of its rule.
    (tmp_path / "manager.py").write_text(
        'import importlib.metadata as md\nGROUP = "lm_eval.tasks"\nEPS = md.entry_points(group=GROUP)\n',
        encoding="utf-8",
    )
    module = types.ModuleType("fake_lm_eval.tasks.manager")
    module.__file__ = str(tmp_path / "manager.py")
    found = native_discovery(module, lambda: str(task_config_dir()))
    assert found.reads_entry_points and found.finds_ours
    assert found.resolved == (str(task_config_dir().resolve()),)
