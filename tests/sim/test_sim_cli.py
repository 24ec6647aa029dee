"""The real ``lm_eval`` console script with ``--model mtl-sim`` (registered by the start-up hook)."""

from __future__ import annotations

import json
from concurrent.futures import Future
from pathlib import Path

import pytest

from lm_eval_mtl.sim.fixtures import FixtureSuite
from lm_eval_mtl.sim.runner import SimRunError, SimRuns, write_sim_runs


@pytest.mark.e2e
def test_lm_eval_cli_runs_mtl_sim_and_matches_its_truth(
    sim_cli_runs: Future[SimRuns], fixture_suite: FixtureSuite, lm_eval_bin: Path
) -> None:
    # write_sim_runs(<tmp>/runs, tasks=(fixture_suite.group,), checkpoints=("ft_simfx_binary",), seed=5,
    # limit=8, include_path=fixture_suite.folder, extra_args=("--batch_size", "3"), env=offline_env),
    # started with the first test of tests/sim (tests/sim/conftest.py)
    try:
        runs = sim_cli_runs.result()
    except SimRunError as exc:
        if "does not know `mtl-sim`" in str(exc):
            pytest.skip(
                "lm_eval does not know `mtl-sim` yet: the start-up hook (pip install -e .) registers it"
            )
        raise
    assert set(runs.sources) == {"simfx_binary"} and runs.base is None
    folder = runs.runs["ft_simfx_binary"]
    results = json.loads(next(folder.glob("results_*.json")).read_text())
    assert results["config"]["mtl_sim"]["checkpoint"] == "ft_simfx_binary"
    truth: dict[str, list[bool]] = {}
    for line in runs.ledgers["ft_simfx_binary"].read_text().splitlines():
        row = json.loads(line)
        truth.setdefault(row["task"], []).append(row["correct"])
    assert {t: len(v) for t, v in truth.items()} == {t: 8 for t in fixture_suite.tasks}
    for task, metric in (("simfx_mc4", "acc"), ("simfx_binary", "acc"), ("simfx_arith", "exact_match")):
        assert results["results"][task][f"{metric},none"] == pytest.approx(sum(truth[task]) / 8)
    assert len(list(folder.glob("samples_simfx_*.jsonl"))) == 4


def test_runner_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="`tasks` must be a non-empty sequence"):
        write_sim_runs(tmp_path, tasks="mtl_demo")
    with pytest.raises(ValueError, match="`checkpoints` entries must be names without"):
        write_sim_runs(tmp_path, checkpoints=("a,b",))
    with pytest.raises(ValueError, match=r"`checkpoints` must be distinct; got \['base', 'base'\]"):
        write_sim_runs(tmp_path, checkpoints=("base", "base"))
    with pytest.raises(ValueError, match="`seed` must be a non-negative int; got -2"):
        write_sim_runs(tmp_path, seed=-2)
    with pytest.raises(ValueError, match="`limit` must be a positive number"):
        write_sim_runs(tmp_path, limit=0)


def test_runner_reports_a_failed_run(tmp_path: Path, offline_env: dict[str, str]) -> None:
    # an option lm_eval does not have fails at argument parsing, before any task is indexed
    with pytest.raises(SimRunError, match=r"exited with 2\."):
        write_sim_runs(
            tmp_path / "o", checkpoints=("base",), extra_args=("--no_such_option",), env=offline_env
        )
