"""The shared CLI options (lm_eval_mtl/cli/options.py): one definition and one default each."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest

from lm_eval_mtl.cli import options
from lm_eval_mtl.cli.main import build_parser, main

SHARED = {
    "--seed": options.SEED,
    "--n-resamples": options.N_RESAMPLES,
    "--confidence-level": options.CONFIDENCE_LEVEL,
    "--format": options.FORMAT,
    "--output": None,
    "--missing": options.MISSING,
}


def _subparsers(parser: argparse.ArgumentParser, prefix: str = "") -> dict[str, argparse.ArgumentParser]:
    out: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out[prefix + name] = sub
                out.update(_subparsers(sub, prefix + name + " "))
    return out


def _options(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {s: a for a in parser._actions for s in a.option_strings}


def test_shared_options_have_one_default_everywhere() -> None:
    subs = _subparsers(build_parser())
    offered: dict[str, list[str]] = {}
    for name, parser in subs.items():
        opts = _options(parser)
        for flag, default in SHARED.items():
            if flag in opts:
                assert opts[flag].default == default, (name, flag)
                offered.setdefault(flag, []).append(name)
    assert offered["--seed"] == ["report", "compare", "transfer", "affinity", "demo"]
    assert offered["--n-resamples"] == ["report", "compare", "transfer", "affinity", "demo"]
    assert offered["--confidence-level"] == ["report", "compare", "transfer", "affinity", "correlate"]
    assert offered["--output"] == ["report", "compare", "transfer", "correlate"]
    assert offered["--missing"] == ["report", "correlate", "weights fit"]
    assert set(offered["--format"]) == {
        "report",
        "compare",
        "transfer",
        "affinity",
        "correlate",
        "suites",
        "weights show",
    }
    for name in offered["--missing"]:
        assert _options(subs[name])["--missing"].choices == ("error", "drop")


def test_options_that_do_nothing_are_not_offered() -> None:
    opts = _options(_subparsers(build_parser())["correlate"])
    assert "--seed" not in opts and "--n-resamples" not in opts  # closed-form statistics


def test_bad_values_are_rejected_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    for argv, message in (
        (["compare", "a", "b", "--n-resamples", "0"], "must be a positive integer; got 0"),
        (["transfer", "--confidence-level", "95"], "--confidence-level must be in (0, 1); got 95"),
        (["report", "r", "--seed", "-1"], "--seed must be a non-negative integer; got -1"),
        (["report", "r", "--missing", "listwise"], "invalid choice: 'listwise'"),
    ):
        with pytest.raises(SystemExit):
            main(argv)
        assert message in capsys.readouterr().err


def test_missing_accepts_the_older_spellings_where_they_existed() -> None:
    subs = _subparsers(build_parser())
    fit = subs["weights fit"].parse_args(
        ["p.csv", "--scheme", "equal", "--out", "w", "--missing", "listwise"]
    )
    assert fit.missing == "drop"
    cor = subs["correlate"].parse_args(["p.csv", "--missing", "raise"])
    assert cor.missing == "error"


def _demo_run(root: Path) -> Path:
    """A run of the shipped mtl_demo suite with logged samples (so `report` bootstraps)."""
    import sacrebleu

    from lm_eval_mtl import load_suite

    rng = np.random.default_rng(0)
    tasks: dict[str, Any] = {}
    for m in load_suite("mtl_demo").members:
        n = 60
        if m.metric == "chrf":
            refs = [f"das ist satz {i} hier" for i in range(n)]
            preds = [f"das ist ein satz {i}" for i in range(n)]
            tasks[m.task] = fx.corpus_task(refs, preds, aggregate=sacrebleu.corpus_chrf(preds, [refs]).score)
        elif m.output_type == "multiple_choice":
            tasks[m.task] = fx.mc_task((rng.random(n) < 0.6).astype(int), round(1 / m.chance))
        else:
            tasks[m.task] = fx.gen_task((rng.random(n) < 0.3).astype(int), metric=m.metric, filter=m.filter)
    return fx.write_run(root, tasks, groups={"mtl_demo": list(tasks)}, log_samples=True)


def test_report_without_seed_is_reproducible(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = _demo_run(tmp_path / "runs")
    outs = [tmp_path / "a.json", tmp_path / "b.json"]
    for out in outs:
        assert main(["report", str(run), "--format", "json", "--output", str(out)]) == 0
    assert outs[0].read_bytes() == outs[1].read_bytes()
    d = json.loads(outs[0].read_text())
    assert d["composite"]["method"] != "analytic"  # a bootstrap interval, so the seed matters
    assert d["composite"]["seed"] == options.SEED and d["composite"]["n_resamples"] == options.N_RESAMPLES
    capsys.readouterr()

    # the citation line names the seed, default or explicit
    assert main(["report", str(run)]) == 0
    assert f"B={options.N_RESAMPLES}, seed 0" in capsys.readouterr().out
    assert main(["report", str(run), "--seed", "7", "--n-resamples", "500"]) == 0
    assert "B=500, seed 7" in capsys.readouterr().out
    # an explicit seed still changes the draws
    other = tmp_path / "c.json"
    assert main(["report", str(run), "--format", "json", "--output", str(other), "--seed", "7"]) == 0
    assert json.loads(other.read_text())["composite"]["ci"] != d["composite"]["ci"]
