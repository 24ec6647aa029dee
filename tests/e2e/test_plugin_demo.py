"""``lm-eval-mtl demo`` through the installed console script (offline, cached tiny model).

The full demo is the session's ``demo_output`` run (tests/conftest.py), shared with tests/docs/.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_demo_runs_lm_eval_and_prints_the_composite(demo_output: Any) -> None:
    # the session's one `lm-eval-mtl demo --output-dir <cwd>/lm-eval-mtl-demo --cache-dir <tiny model's
    # folder> --limit 4` (tests/conftest.py; the docs' shell blocks read copies of it)
    proc, out, cwd = demo_output, demo_output.out, demo_output.cwd
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout
    assert "reused tiny GPT-2" in text  # the session's model, not a rebuild
    assert "run lm_eval on mtl_demo" in text
    assert "|mtl_demo (bundled demo suite)" in text and "mtl_composite" in text
    # the tiny HF model's run, then four simulated checkpoints under sim/
    results = [p for p in out.rglob("results_*.json") if "sim" not in p.relative_to(out).parts]
    assert len(results) == 1
    assert f"results: {results[0].relative_to(cwd)}" in text  # shown relative to the working folder
    assert len(list(results[0].parent.glob("samples_mtl_demo_*.jsonl"))) == 6
    sim_results = sorted(p.relative_to(out / "sim").parts[0] for p in (out / "sim").rglob("results_*.json"))
    assert sim_results == ["base", "ft_mtl_demo_arithmetic", "ft_mtl_demo_sentiment", "mtl"]
    # the whole story: one Markdown report with plots, and a JSON summary
    report = out / "report" / "REPORT.md"
    assert f"report: {report.relative_to(cwd)}" in text
    body = report.read_text(encoding="utf-8")
    for heading in ("## Composite: Tiny GPT-2", "## Composite: Simulated base", "## Paired comparison",
                    "## Transfer matrix", "## Task correlations"):  # fmt: skip
        assert heading in body
    assert "signature: mtl_demo@1.0|norm=chance|w=family@sha256:" in body
    images = [line[line.index("(") + 1 : -1] for line in body.splitlines() if line.startswith("![")]
    assert len(images) == 6
    for image in images:
        png = out / "report" / image
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = json.loads((out / "report" / "summary.json").read_text(encoding="utf-8"))
    assert {"report_tiny-gpt2", "report_sim-base", "compare", "transfer", "correlate"} <= set(summary)
    assert summary["transfer"]["sources"] == ["mtl_demo_sentiment", "mtl_demo_arithmetic"]
    for step in range(1, 10):
        assert f"[{step}/9]" in text  # a progress line per step


def test_demo_rejects_a_non_positive_limit(
    lm_eval_mtl_bin: Path, offline_env: dict[str, str], tmp_path: Path
) -> None:
    proc = subprocess.run(
        [str(lm_eval_mtl_bin), "demo", "--limit", "0"],
        cwd=tmp_path, env=offline_env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert proc.returncode != 0
    assert "`--limit` must be a positive integer; got 0." in proc.stderr
