"""Fixtures of the simulated-backend tests: a synthetic task suite on local data, loaded once, and
the ``lm_eval --model mtl-sim`` run of test_sim_cli.py, started early (:func:`sim_cli_runs`)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lm_eval_mtl.sim.fixtures import FixtureSuite, write_fixture_tasks
from lm_eval_mtl.sim.runner import SimRuns


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


SIM_CLI_TEST = "test_lm_eval_cli_runs_mtl_sim_and_matches_its_truth"
"""The test of test_sim_cli.py that reads :func:`sim_cli_runs`."""


@pytest.fixture(scope="session")
def sim_cli_runs(
    tmp_path_factory: pytest.TempPathFactory, fixture_suite: FixtureSuite, offline_env: dict[str, str]
) -> Iterator[Future[SimRuns]]:
    """The real ``lm_eval --model mtl-sim`` run of test_sim_cli.py, started in a thread (a future).

    ``write_sim_runs`` mostly waits on its ``lm_eval`` subprocess (single-threaded, half a
    minute); started with the first test of tests/sim (see :func:`_start_sim_cli_runs_early`)
    it runs beside this folder's in-process tests instead of after them.
    """
    from lm_eval_mtl.sim.runner import write_sim_runs

    out = tmp_path_factory.mktemp("sim_cli") / "runs"
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sim_cli_runs")
    future = pool.submit(
        write_sim_runs,
        out,
        tasks=(fixture_suite.group,),
        checkpoints=("ft_simfx_binary",),
        seed=5,
        limit=8,
        include_path=fixture_suite.folder,
        extra_args=("--batch_size", "3"),
        env=offline_env,
    )
    yield future
    pool.shutdown(wait=True)  # the run ends within its own timeout; its error, if any, is the test's


@pytest.fixture(scope="package", autouse=True)
def _start_sim_cli_runs_early(request: pytest.FixtureRequest) -> None:
    """Start :func:`sim_cli_runs` with the first test of tests/sim when its test is selected."""
    if any(
        isinstance(item, pytest.Function) and item.originalname == SIM_CLI_TEST
        for item in request.session.items
    ):
        request.getfixturevalue("sim_cli_runs")
