"""The `lm_eval.tasks` entry point declared for lm-eval's upcoming plugin discovery."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

from lm_eval_mtl.plugin.paths import task_paths
from lm_eval_mtl.suites import task_config_dir


def test_task_paths_is_the_shipped_config_folder() -> None:
    paths = task_paths()
    assert paths == [str(task_config_dir())]
    assert (Path(paths[0]) / "mtl_demo" / "_mtl_demo.yaml").is_file()


def test_entry_point_is_declared_and_loads() -> None:
    eps = [ep for ep in entry_points(group="lm_eval.tasks") if ep.name == "lm_eval_mtl"]
    assert len(eps) == 1
    assert eps[0].value == "lm_eval_mtl.plugin.paths:task_paths"
    assert eps[0].load()() == task_paths()
