"""``lm-eval-mtl demo`` through the installed console script (offline, cached tiny model)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_lm_eval_and_prints_the_composite(
    lm_eval_mtl_bin: Path, tiny_hf_model: Path, offline_env: dict[str, str], tmp_path: Path
) -> None:
    out = tmp_path / "demo-out"
    proc = subprocess.run(
        [str(lm_eval_mtl_bin), "demo", "--output-dir", str(out), "--cache-dir", str(tiny_hf_model.parent),
         "--limit", "4"],
        cwd=tmp_path, env=offline_env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    assert "reused tiny GPT-2" in text  # the session's model, not a rebuild
    assert "run lm_eval on mtl_demo" in text
    assert "|mtl_demo (bundled demo suite)" in text and "mtl_composite" in text
    results = list(out.rglob("results_*.json"))
    assert len(results) == 1
    assert f"results: {results[0]}" in text
    assert len(list(results[0].parent.glob("samples_mtl_demo_*.jsonl"))) == 6


def test_demo_rejects_a_non_positive_limit(lm_eval_mtl_bin: Path, offline_env: dict[str, str], tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(lm_eval_mtl_bin), "demo", "--limit", "0"],
        cwd=tmp_path, env=offline_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "`--limit` must be a positive integer; got 0." in proc.stderr
