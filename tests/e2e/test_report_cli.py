"""`lm-eval-mtl report` and `lm-eval-mtl suites` in a subprocess, on run folders written here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["MPLBACKEND"] = "Agg"
    return subprocess.run(
        [sys.executable, "-m", "lm_eval_mtl.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


class _Result:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def inproc(capsys: pytest.CaptureFixture[str], *args: str) -> _Result:
    """The same CLI entry point in this process (fast; used for the error paths)."""
    from lm_eval_mtl.cli.main import main

    argv = list(args)
    if argv[0] == "report" and "--n-resamples" not in argv:
        argv += ["--n-resamples", "300"]  # the error paths do not need precise intervals
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse errors
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return _Result(code, out.out, out.err)


def _demo_run(root: Path, *, skip: str | None = None, log_samples: bool = True) -> Path:
    """A run of the shipped mtl_demo suite in lm-eval's format (values drawn here)."""
    import sacrebleu

    from lm_eval_mtl.suites import load_suite

    spec = load_suite("mtl_demo")
    rng = np.random.default_rng(0)
    tasks: dict[str, Any] = {}
    for m in spec.members:
        if m.task == skip:
            continue
        n = 80
        if m.metric == "chrf":
            refs = [f"das ist satz {i} hier" for i in range(n)]
            preds = [f"das ist ein satz {i}" for i in range(n)]
            tasks[m.task] = fx.corpus_task(refs, preds, aggregate=sacrebleu.corpus_chrf(preds, [refs]).score)
        elif m.output_type == "multiple_choice":
            tasks[m.task] = fx.mc_task((rng.random(n) < 0.6).astype(int), round(1 / m.chance))
        else:
            tasks[m.task] = fx.gen_task((rng.random(n) < 0.3).astype(int), metric=m.metric, filter=m.filter)
    return fx.write_run(root, tasks, groups={"mtl_demo": list(tasks)}, log_samples=log_samples)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _demo_run(tmp_path_factory.mktemp("runs"))


def test_report_detects_the_suite_and_prints_table_and_signature(demo_run: Path) -> None:
    res = cli("report", str(demo_run), "--seed", "1", "--n-resamples", "2000")
    assert res.returncode == 0, res.stderr
    assert "suite mtl_demo@1.0 (auto-detected: the run has the group 'mtl_demo'" in res.stderr
    out = res.stdout
    assert out.startswith("mtl_demo@1.0: org/tiny-model")
    assert "bootstrap percentile over items, B=2000, seed 1" in out
    assert "signature: mtl_demo@1.0|norm=chance|w=family@sha256:" in out
    for task in ("mtl_demo_sentiment", "mtl_demo_de_en", "composite"):
        assert task in out


def test_json_output_matches_the_python_api(demo_run: Path, tmp_path: Path) -> None:
    from lm_eval_mtl.io import load_run
    from lm_eval_mtl.scoring.composite import score_run
    from lm_eval_mtl.suites import load_suite

    out = tmp_path / "r.json"
    res = cli(
        "report",
        str(demo_run),
        "--suite",
        "mtl_demo",
        "--format",
        "json",
        "--output",
        str(out),
        "--seed",
        "3",
        "--n-resamples",
        "1000",
        "--confidence-level",
        "0.9",
    )
    assert res.returncode == 0, res.stderr
    d = json.loads(out.read_text())
    api = score_run(load_run(demo_run), load_suite("mtl_demo"), rng=3, n_resamples=1000, confidence_level=0.9)
    assert d["composite"]["value"] == api.value
    assert d["composite"]["ci"] == [api.ci.low, api.ci.high]
    assert d["composite"]["confidence_level"] == 0.9
    assert d["signature"] == api.signature
    assert len(d["tasks"]) == 6


def test_markdown_latex_csv_and_plots(
    capsys: pytest.CaptureFixture[str], demo_run: Path, tmp_path: Path
) -> None:
    for fmt, marker in (
        ("md", "| task | family |"),
        ("latex", "\\toprule"),
        ("csv", "model,suite,suite_version,task,label,family,metric,filter"),
    ):
        res = inproc(capsys, "report", str(demo_run), "--format", fmt, "--method", "analytic")
        assert res.returncode == 0, res.stderr
        assert marker in res.stdout
    res = cli(
        "report", str(demo_run), "--plots", str(tmp_path / "plots"), "--n-resamples", "200", "--seed", "0"
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "plots" / "composite_tasks.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "plots" / "composite_weights.png").is_file()


def test_missing_task_errors_then_drop_lists_it(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = _demo_run(tmp_path, skip="mtl_demo_physical")
    res = inproc(capsys, "report", str(run), "--suite", "mtl_demo")
    assert res.returncode == 2
    assert "lacks 1 of the 6 tasks of suite mtl_demo@1.0: mtl_demo_physical" in res.stderr
    assert "--missing drop" in res.stderr
    res = inproc(
        capsys, "report", str(run), "--suite", "mtl_demo", "--missing", "drop", "--method", "analytic"
    )
    assert res.returncode == 0, res.stderr
    assert "DROPPED 1 member(s), weights renormalized (task not in the run: mtl_demo_physical)" in res.stdout
    assert "|drop=mtl_demo_physical" in res.stdout
    assert "WARNING: dropped 1 member(s) (mtl_demo_physical; --missing drop)" in res.stderr


def test_unknown_suite_lists_close_matches(capsys: pytest.CaptureFixture[str], demo_run: Path) -> None:
    res = inproc(capsys, "report", str(demo_run), "--suite", "mtl_dem")
    assert res.returncode == 2
    assert "Unknown suite 'mtl_dem'. Did you mean: mtl_demo" in res.stderr


def test_weights_for_another_suite_are_refused(capsys: pytest.CaptureFixture[str], demo_run: Path) -> None:
    res = inproc(capsys, "report", str(demo_run), "--suite", "mtl_demo", "--weights", "redundancy-openllm_v1")
    assert res.returncode == 2
    assert (
        "weights 'redundancy-openllm_v1' are for suite mtl_openllm_v1@1.0; they cannot weight suite mtl_demo@1.0"
        in res.stderr
    )


def test_missing_metric_is_named(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    run = _demo_run(tmp_path)
    f = next(run.glob("results_*.json"))
    data = json.loads(f.read_text())
    row = data["results"]["mtl_demo_topic"]
    row["acc_norm,none"] = row.pop("acc,none")
    f.write_text(json.dumps(data))
    res = inproc(capsys, "report", str(run), "--suite", "mtl_demo")
    assert res.returncode == 2
    assert "task 'mtl_demo_topic' has no metric 'acc' with filter 'none'" in res.stderr
    assert "Available: acc_norm (none)" in res.stderr


def test_nan_score_truncated_json_and_empty_samples_are_clear_errors(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run = _demo_run(tmp_path / "nan")
    f = next(run.glob("results_*.json"))
    data = json.loads(f.read_text())
    data["results"]["mtl_demo_topic"]["acc,none"] = float("nan")
    f.write_text(json.dumps(data))
    res = inproc(capsys, "report", str(run))
    assert res.returncode == 2 and "reports metric 'acc' (filter 'none') as nan" in res.stderr

    run = _demo_run(tmp_path / "trunc")
    f = next(run.glob("results_*.json"))
    f.write_text(f.read_text()[:300])
    res = inproc(capsys, "report", str(run))
    assert res.returncode == 2 and "invalid JSON" in res.stderr and "truncated" in res.stderr

    run = _demo_run(tmp_path / "empty")
    next(run.glob("samples_mtl_demo_topic_*.jsonl")).write_text("")
    res = inproc(capsys, "report", str(run))
    assert res.returncode == 2 and "empty samples file" in res.stderr


def test_bad_flags_are_rejected_by_the_parser(capsys: pytest.CaptureFixture[str], demo_run: Path) -> None:
    res = inproc(capsys, "report", str(demo_run), "--confidence-level", "1.5")
    assert res.returncode == 2 and "--confidence-level must be in (0, 1); got 1.5" in res.stderr
    res = inproc(capsys, "report", str(demo_run), "--cluster", "boolq")
    assert res.returncode == 2 and "--cluster must be TASK=DOC_FIELD; got 'boolq'" in res.stderr


def test_real_asdiv_run_has_no_suite_and_says_so(
    capsys: pytest.CaptureFixture[str], shared_data: Path
) -> None:
    folder = (
        shared_data
        / "lm_eval_outputs"
        / "samples_v04_asdiv"
        / "results"
        / "asdiv"
        / "meta-llama__Meta-Llama-3-8B-Instruct"
    )
    if not folder.is_dir():
        pytest.skip(f"{folder} absent")
    res = inproc(capsys, "report", str(folder), "--run", "2024-08-21T03-44")
    assert res.returncode == 2
    assert "no shipped suite has a member in the run" in res.stderr


def test_suites_lists_and_shows(capsys: pytest.CaptureFixture[str]) -> None:
    res = cli("suites")
    assert res.returncode == 0, res.stderr
    assert "mtl_suite " in res.stdout and "mtl_openllm_v1" in res.stdout
    res = inproc(capsys, "suites", "mtl_demo", "--format", "csv")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert lines[0] == "member,task,metric,filter,output_type,chance,ceiling,family,cluster,weight"
    weights = [float(line.split(",")[-1]) for line in lines[1:]]
    assert sum(weights) == pytest.approx(1.0)
    res = inproc(capsys, "suites", "mtl_suit")
    assert res.returncode == 2 and "Unknown suite 'mtl_suit'. Did you mean: mtl_suite" in res.stderr
