"""The demo's live status line, its reading of lm-eval's log, and its one-line explanations."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from lm_eval_mtl.demo.progress import LiveLine, LmEvalLogProgress, Ticker, format_elapsed
from lm_eval_mtl.demo.run import DemoContext, DemoStep, display_path, explain, run_demo


class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_a_pipe_gets_one_line_per_interval() -> None:
    out, clock = io.StringIO(), _Clock()
    line = LiveLine(out, tty=False, clock=clock)
    assert line.interval == 10.0
    for t in range(0, 35):
        clock.t = float(t)
        line.update(f"at {t}")
    assert out.getvalue() == "at 10\nat 20\nat 30\n"


def test_a_terminal_line_is_rewritten_in_place_and_cleared() -> None:
    out, clock = io.StringIO(), _Clock()
    line = LiveLine(out, tty=True, clock=clock)
    clock.t = 1.0
    line.update("one")
    clock.t = 1.5
    line.update("skipped: under a second")
    clock.t = 2.0
    line.update("two")
    line.update("")
    assert out.getvalue() == "\r\x1b[2Kone\r\x1b[2Ktwo\r\x1b[2K"


def test_print_above_clears_the_status_line_first() -> None:
    err, out, clock = io.StringIO(), io.StringIO(), _Clock()
    line = LiveLine(err, tty=True, clock=clock)
    clock.t = 5.0
    line.update("working")
    line.print_above("[2/9] step", out)
    assert err.getvalue().endswith("working\r\x1b[2K")
    assert out.getvalue() == "[2/9] step\n"


def test_lm_eval_log_progress_reads_tasks_phases_and_request_bars() -> None:
    p = LmEvalLogProgress()
    assert p.summary() == ""
    p.feed("INFO [evaluator_utils:496]     Task: mtl_demo_sentiment (/x.yaml)\n")
    p.feed("INFO [evaluator_utils:496]     Task: mtl_demo_topic (/y.yaml)\nINFO Building contexts for mtl_")
    p.feed("demo_sentiment on rank 0...\n")
    assert p.summary() == "1/2 tasks prepared; building requests"
    p.feed("INFO Building contexts for mtl_demo_topic on rank 0...\nINFO Running loglikelihood requests\n")
    p.feed("Running loglikelihood requests:  53%|#####     | 101/192 [00:02<00:02, 39.13it/s]\r")
    assert p.summary() == "2 tasks; scoring answer choices: loglikelihood requests 101/192"
    # a bar redrawn without its \r yet is read too
    p.feed("Running loglikelihood requests: 100%|##########| 192/192 [00:05<00:00, 38.29it/s]")
    assert p.summary().endswith("loglikelihood requests 192/192")


def test_ticker_shows_elapsed_time_and_detail_then_clears() -> None:
    shown: list[str] = []
    with Ticker(shown.append, lambda: "3 of 4 done", period=0.01):
        time.sleep(0.1)
    assert shown[0] == "" and shown[-1] == ""
    assert any(s.startswith("      ... 0 s elapsed: 3 of 4 done") for s in shown)
    assert format_elapsed(65.2) == "1 min 05 s" and format_elapsed(7.9) == "7 s"


def test_run_demo_feeds_the_status_line_and_explains_a_term_once(tmp_path: Path) -> None:
    lines: list[str] = []
    statuses: list[str] = []

    def step(ctx: DemoContext) -> None:
        ctx.detail = "halfway"
        time.sleep(0.7)
        explain(ctx, "Nyholt", "Nyholt: how many independent tasks")
        explain(ctx, "Nyholt", "Nyholt: again")

    ctx = DemoContext(output_dir=tmp_path, echo=lines.append, status=statuses.append)
    run_demo(ctx, [DemoStep("one", step)])
    assert lines[0] == "[1/1] one ..."
    assert lines.count("      (Nyholt: how many independent tasks)") == 1
    assert not any("again" in x for x in lines)
    assert any(s.endswith("elapsed: halfway") for s in statuses)
    assert statuses[-1] == ""


def test_display_path_is_relative_inside_the_working_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    assert display_path(tmp_path / "work" / "lm-eval-mtl-demo" / "report") == "lm-eval-mtl-demo/report"
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert display_path(tmp_path / "home" / ".cache" / "x") == "~/.cache/x"
