"""CLI: ``lm-eval-mtl compare``, ``transfer`` and ``correlate`` (in process, and one console-script run)."""

from __future__ import annotations

import csv
import io
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
from score_runs import write_run  # tests/data, on sys.path via tests/conftest.py

from lm_eval_mtl.cli.main import main


def _runs(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    n = 400
    base = {t: (rng.random(n) < 0.5).astype(float) for t in ("sst2", "rte", "boolq")}
    out = {"base": write_run(tmp_path / "base", "org/base", {t: {"scores": v} for t, v in base.items()})}
    for src, q in (("sst2", 0.3), ("rte", 0.05)):
        ft = {
            t: (np.maximum(v, (rng.random(n) < q).astype(float)) if t == src else v) for t, v in base.items()
        }
        out[src] = write_run(
            tmp_path / f"ft-{src}", f"org/ft-{src}", {t: {"scores": v} for t, v in ft.items()}
        )
    return out


def test_compare_json_has_pairs_with_task_and_composite_statistics(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _runs(tmp_path)
    code = main(
        [
            "compare",
            str(runs["base"]),
            str(runs["sst2"]),
            "--format",
            "json",
            "--seed",
            "1",
            "--n-resamples",
            "200",
        ]
    )
    assert code == 0
    d = json.loads(capsys.readouterr().out)
    pair = d["pairs"][0]
    assert (pair["a"], pair["b"]) == ("org/base", "org/ft-sst2")
    tasks = {t["task"]: t for t in pair["tasks"]}
    assert tasks["sst2"]["diff"] < 0 and tasks["sst2"]["p_adjusted"] < 0.05
    assert tasks["rte"]["diff"] == 0 and tasks["rte"]["p_value"] == 1.0
    assert {"diff", "se", "ci", "p_value"} <= set(pair["composite"])
    assert d["seed"] == 1 and d["n_resamples"] == 200


def test_compare_three_runs_prints_a_tie_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs(tmp_path)
    assert (
        main(
            [
                "compare",
                str(runs["base"]),
                str(runs["sst2"]),
                str(runs["rte"]),
                "--format",
                "md",
                "--correction",
                "bh",
                "--n-resamples",
                "200",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "Statistically tied models" in out and "| composite |" in out


def test_compare_refusal_exits_2_with_the_difference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_run(tmp_path / "a", "a", {"t": {"scores": [1.0, 0, 1, 0]}})
    write_run(tmp_path / "b", "b", {"t": {"scores": [1.0, 0, 1, 0], "num_fewshot": 5}})
    assert main(["compare", str(tmp_path / "a"), str(tmp_path / "b")]) == 2
    assert "num_fewshot differs" in capsys.readouterr().err


def test_transfer_with_manifest_writes_tables_json_and_plots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    runs = _runs(tmp_path)
    manifest = tmp_path / "study.yaml"
    manifest.write_text("base: base\nsources:\n  sst2: ft-sst2\n  rte: ft-rte\n", encoding="utf-8")
    out = tmp_path / "t.json"
    code = main(
        [
            "transfer",
            "--manifest",
            str(manifest),
            "--format",
            "json",
            "--output",
            str(out),
            "--plots",
            str(tmp_path / "figs"),
            "--n-resamples",
            "200",
        ]
    )
    assert code == 0
    assert (
        "warning: relative transfer is undefined (NaN) for some targets: no checkpoint trained on 1 target(s): boolq"
        in capsys.readouterr().err
    )
    d = json.loads(out.read_text())
    assert d["sources"] == ["sst2", "rte"] and d["targets"] == ["sst2", "rte", "boolq"]
    assert d["significant"][0][0] is True and d["delta"][0][0] > 0
    assert d["relative"][0][2] is None  # NaN -> null in strict JSON
    assert (tmp_path / "figs" / "transfer.png").is_file()
    assert (
        main(
            [
                "transfer",
                "--base",
                str(runs["base"]),
                "--source",
                f"sst2={runs['sst2']}",
                "--format",
                "latex",
                "--n-resamples",
                "100",
            ]
        )
        == 0
    )
    assert "\\begin{tabular}" in capsys.readouterr().out


def test_transfer_without_sources_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs(tmp_path)
    assert main(["transfer", "--base", str(runs["base"])]) == 2
    assert "at least one --source NAME=RUN" in capsys.readouterr().err
    assert main(["transfer", "--base", str(runs["base"]), "--source", "oops"]) == 2
    assert "--source expects KEY=VALUE" in capsys.readouterr().err


def test_correlate_csv_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    g = rng.normal(size=30)
    lines = ["Model,a,b,c"] + [
        f"m{i},{g[i] + rng.normal(0, 0.3):.4f},{g[i] + rng.normal(0, 0.3):.4f},{rng.normal():.4f}"
        for i in range(30)
    ]
    panel = tmp_path / "panel.csv"
    panel.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert main(["correlate", str(panel), "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["tasks"] == ["a", "b", "c"] and d["n_models"] == 30
    assert d["correlation"][0][1] > 0.7
    assert main(["correlate", str(panel), "--tasks", "a,b,c", "--format", "csv"]) == 0
    out = capsys.readouterr()
    rows = list(csv.DictReader(io.StringIO(out.out)))  # tidy: one row per task pair
    assert [(r["task_a"], r["task_b"]) for r in rows] == [("a", "b"), ("a", "c"), ("b", "c")]
    assert float(rows[0]["pearson"]) == pytest.approx(d["correlation"][0][1], abs=1e-12)
    assert float(rows[0]["pearson_ci_low"]) < float(rows[0]["pearson"]) < float(rows[0]["pearson_ci_high"])
    assert "--output-dir DIR writes every table: pairs.csv, summary.csv, pca.csv" in out.err
    out_dir = tmp_path / "corr"
    assert (
        main(["correlate", str(panel), "--tasks", "a,b,c", "--format", "csv", "--output-dir", str(out_dir)])
        == 0
    )
    capsys.readouterr()
    assert sorted(p.name for p in out_dir.iterdir()) == ["pairs.csv", "pca.csv", "summary.csv"]
    summary = list(csv.DictReader(io.StringIO((out_dir / "summary.csv").read_text(encoding="utf-8"))))
    assert len(summary) == 1 and 1.0 <= float(summary[0]["effective_nyholt"]) <= 3.0
    pca = list(csv.DictReader(io.StringIO((out_dir / "pca.csv").read_text(encoding="utf-8"))))
    assert len(pca) == 9 and {r["task"] for r in pca} == {"a", "b", "c"}


def test_console_script_compare(tmp_path: Path, lm_eval_mtl_bin: Path, offline_env: dict[str, str]) -> None:
    runs = _runs(tmp_path)
    proc = subprocess.run(
        [
            str(lm_eval_mtl_bin),
            "compare",
            str(runs["base"]),
            str(runs["rte"]),
            "--format",
            "json",
            "--n-resamples",
            "100",
        ],
        capture_output=True,
        text=True,
        env=offline_env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    assert d["pairs"][0]["tasks"][1]["task"] == "rte"
