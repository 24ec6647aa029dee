"""The demo's step runner and tiny-model cache, without running lm-eval."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from lm_eval_mtl.demo import run as demo
from lm_eval_mtl.demo.tiny_model import TinyModelConfig, cache_root


def test_cache_root_prefers_env_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("LM_EVAL_MTL_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_root() == tmp_path / "xdg" / "lm-eval-mtl"
    monkeypatch.setenv("LM_EVAL_MTL_CACHE", str(tmp_path / "mine"))
    assert cache_root() == tmp_path / "mine"


def test_model_cache_key_changes_with_the_shape() -> None:
    assert TinyModelConfig().key() == TinyModelConfig().key()
    assert TinyModelConfig(n_layer=3).key() != TinyModelConfig().key()


def test_steps_run_in_order_and_report_progress(tmp_path: Path) -> None:
    lines: list[str] = []
    order: list[str] = []
    steps = [
        demo.DemoStep("first", lambda c: order.append("a")),
        demo.DemoStep("second", lambda c: order.append("b")),
    ]
    ctx = demo.run_demo(demo.DemoContext(output_dir=tmp_path, echo=lines.append), steps)
    assert order == ["a", "b"]
    assert lines[0] == "[1/2] first ..." and "[2/2] second ..." in lines
    assert set(ctx.timings) == {"first", "second"}


def test_failing_lm_eval_names_its_exit_code_and_log(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    script = tmp_path / "fake_lm_eval.py"
    script.write_text("import sys; print('bad things', file=sys.stderr); sys.exit(3)\n", encoding="utf-8")
    monkeypatch.setattr(demo, "lm_eval_command", lambda: [sys.executable, str(script)])
    ctx = demo.DemoContext(output_dir=tmp_path / "out", model_dir=tmp_path)
    with pytest.raises(
        demo.DemoError, match=r"lm_eval exited with code 3; full log: .*lm_eval.log\n.*bad things"
    ):
        demo._step_lm_eval(ctx)


def test_lm_eval_step_needs_a_model_first(tmp_path: Path) -> None:
    with pytest.raises(demo.DemoError, match="needs the model step to run first"):
        demo._step_lm_eval(demo.DemoContext(output_dir=tmp_path))


def test_show_step_prints_table_composite_and_paths(tmp_path: Path) -> None:
    run_dir = tmp_path / "model"
    run_dir.mkdir()
    results = run_dir / "results_x.json"
    results.write_text(
        json.dumps({"groups": {"mtl_demo": {"mtl_composite,none": 0.125, "mtl_composite_stderr,none": 0.5}}})
    )
    (run_dir / "samples_mtl_demo_a_x.jsonl").write_text("")
    lines: list[str] = []
    ctx = demo.DemoContext(
        output_dir=tmp_path,
        echo=lines.append,
        results_file=results,
        run_dir=run_dir,
        table="log line\n|a|b|\n|c|d|",
    )
    demo._step_show(ctx)
    assert "|a|b|" in lines and "log line" not in lines
    assert any("composite (chance-normalized, family weights): 0.1250 ± 0.5000" in x for x in lines)
    assert any(x.strip() == f"results: {results}" for x in lines)
    assert any("samples: 1 files" in x for x in lines)


def test_offline_env_never_reaches_the_hub_and_keeps_the_plugin_on() -> None:
    env = demo.offline_env({"LM_EVAL_MTL_DISABLE": "1", "HOME": "/x"})
    assert env["HF_HUB_OFFLINE"] == "1" and env["HF_DATASETS_OFFLINE"] == "1"
    assert "LM_EVAL_MTL_DISABLE" not in env and env["HOME"] == "/x"
