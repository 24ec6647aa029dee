"""``lm-eval-mtl weights`` in-process (main([...])) and once through the console script."""

from __future__ import annotations

import functools
import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from lm_eval_mtl.cli.main import main
from lm_eval_mtl.scoring.weights_file import load_weights
from lm_eval_mtl.suites import SuiteSpec


def _panel(tmp_path: Path, nan: bool = False) -> Path:
    rng = np.random.default_rng(0)
    f = rng.normal(size=60)
    cols = {"A": f + 0.3 * rng.normal(size=60), "B": f + 0.3 * rng.normal(size=60), "C": rng.normal(size=60)}
    lines = ["model,A,B,C"]
    for i in range(60):
        cells = [f"{50 + 10 * cols[c][i]:.3f}" for c in "ABC"]
        if nan and i == 5:
            cells[1] = "NaN"
        lines.append(f"m{i}," + ",".join(cells))
    path = tmp_path / "panel.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_fit_show_json_and_list(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "w.json"
    code = main(
        [
            "weights",
            "fit",
            str(_panel(tmp_path)),
            "--scheme",
            "cluster",
            "--id-column",
            "model",
            "--tasks",
            "A=a,B=b,C=c",
            "--scale",
            "0.01",
            "--suite-id",
            "toy@1",
            "--threshold",
            "0.3",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    captured = capsys.readouterr()
    assert "shrinking the 3x3 correlation over 60 models" in captured.err
    wf = load_weights(out)
    assert wf.weights == pytest.approx({"a": 0.25, "b": 0.25, "c": 0.5})
    assert wf.params["threshold"] == 0.3
    assert "Kendall tau vs equal" in captured.out

    assert main(["weights", "show", str(out), "--format", "json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["weights"] == pytest.approx({"a": 0.25, "b": 0.25, "c": 0.5})

    assert main(["weights", "show", "redundancy-openllm_v1", "--format", "md"]) == 0
    assert "| mmlu |" in capsys.readouterr().out

    assert main(["weights", "list"]) == 0
    listing = capsys.readouterr().out
    assert "redundancy-openllm_v1" in listing and "redundancy-openllm_v2" in listing
    assert "refused: gls" in listing


def test_unknown_scheme_exits_2_with_suggestion(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "weights",
            "fit",
            str(_panel(tmp_path)),
            "--scheme",
            "redundancyy",
            "--id-column",
            "model",
            "--suite-id",
            "toy@1",
            "--out",
            str(tmp_path / "w.json"),
        ]
    )
    assert code == 2
    assert "Did you mean: redundancy" in capsys.readouterr().err


def test_gls_refused_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "weights",
            "fit",
            str(_panel(tmp_path)),
            "--scheme",
            "gls",
            "--id-column",
            "model",
            "--suite-id",
            "toy@1",
            "--out",
            str(tmp_path / "w.json"),
        ]
    )
    assert code == 2
    assert "refused" in capsys.readouterr().err


def test_nan_in_panel_refused_then_listwise(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    panel = _panel(tmp_path, nan=True)
    args = [
        "weights",
        "fit",
        str(panel),
        "--scheme",
        "redundancy",
        "--id-column",
        "model",
        "--suite-id",
        "toy@1",
        "--out",
        str(tmp_path / "w.json"),
        "--quiet",
    ]
    assert main(args) == 2
    assert "1 missing cell(s)" in capsys.readouterr().err
    assert main([*args, "--missing", "listwise"]) == 0
    wf = load_weights(tmp_path / "w.json")
    assert wf.population is not None and wf.population.n_models == 59


def test_csv_without_id_column_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(
            [
                "weights",
                "fit",
                str(_panel(tmp_path)),
                "--scheme",
                "equal",
                "--suite-id",
                "toy@1",
                "--out",
                str(tmp_path / "w.json"),
            ]
        )
        == 2
    )
    assert "--id-column is required" in capsys.readouterr().err


def test_show_unknown_id_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["weights", "show", "redundancy-openllm_v9"]) == 2
    assert "Did you mean" in capsys.readouterr().err


def test_show_plot_writes_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "w.png"
    assert main(["weights", "show", "redundancy-openllm_v2", "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_raises_missing_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from lm_eval_mtl.errors import MissingExtraError
    from lm_eval_mtl.report.weights_plot import plot_weights

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"plots need: pip install 'lm-eval-mtl\[plot\]'"):
        plot_weights(load_weights("redundancy-openllm_v1"), tmp_path / "x.png")


def test_console_script_lists_weights(lm_eval_mtl_bin: Path, offline_env: dict[str, str]) -> None:
    proc = subprocess.run(
        [str(lm_eval_mtl_bin), "weights", "list"],
        capture_output=True,
        text=True,
        env=offline_env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "redundancy-openllm_v1" in proc.stdout


@functools.cache
def _demo_spec() -> SuiteSpec:
    from lm_eval_mtl.suites import load_suite

    return load_suite("mtl_demo")


def _demo_run(root: Path, model: str, rng: np.random.Generator) -> Path:
    spec = _demo_spec()
    folder = root / model
    folder.mkdir(parents=True)
    results = {}
    for m in spec.members:
        x = float(rng.uniform(m.chance, m.ceiling))
        results[m.task] = {
            "alias": m.task,
            f"{m.metric},{m.filter}": x,
            f"{m.metric}_stderr,{m.filter}": 0.01,
        }
    data = {
        "results": results,
        "versions": {m.task: 1.0 for m in spec.members},
        "n-samples": {m.task: {"original": 50, "effective": 50} for m in spec.members},
        "model_name": model,
        "lm_eval_version": "0.4.13",
    }
    (folder / "results_2024-01-01T00-00-00.000000.json").write_text(json.dumps(data))
    return folder


def test_fit_from_run_folders(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    runs = [str(_demo_run(tmp_path, f"org__m{i}", rng)) for i in range(8)]
    out = tmp_path / "w.json"
    code = main(["weights", "fit", *runs, "--scheme", "redundancy", "--suite", "mtl_demo", "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    wf = load_weights(out)
    assert wf.suite == "mtl_demo" and wf.level == "member"
    assert wf.population is not None and wf.population.n_models == 8
    assert "reading 8 lm-eval runs" in capsys.readouterr().err


def test_fit_from_run_folders_needs_suite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(0)
    runs = [str(_demo_run(tmp_path, f"m{i}", rng)) for i in range(3)]
    assert main(["weights", "fit", *runs, "--scheme", "redundancy", "--out", str(tmp_path / "w.json")]) == 2
    assert "--suite is required" in capsys.readouterr().err
