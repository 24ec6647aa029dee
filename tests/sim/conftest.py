"""Fixtures of the simulated-backend tests: a synthetic task suite on local data, loaded once."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from lm_eval_mtl.sim.fixtures import FixtureSuite, write_fixture_tasks


@pytest.fixture(scope="session")
def fixture_suite(tmp_path_factory: pytest.TempPathFactory) -> FixtureSuite:
    """The four-task fixture suite (40 items per task) in a temporary folder."""
    return write_fixture_tasks(tmp_path_factory.mktemp("simfx"), n_items=40, rng=7)


@pytest.fixture(scope="session")
def fixture_task_dict(fixture_suite: FixtureSuite) -> dict[str, Any]:
    """``TaskManager(...).load(simfx_suite)``: tasks, groups, group_map (lm-eval's built-ins not indexed)."""
    pytest.importorskip("lm_eval")
    from lm_eval.tasks import TaskManager

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    tm = TaskManager(include_path=str(fixture_suite.folder), include_defaults=False)
    return tm.load(fixture_suite.group)


@pytest.fixture()
def fixture_folder(fixture_suite: FixtureSuite) -> Path:
    return fixture_suite.folder
