"""lm_eval_mtl.report.render and report.plots on a composite from a hand-written run."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest

from lm_eval_mtl.errors import MissingExtraError
from lm_eval_mtl.io import load_run
from lm_eval_mtl.report.render import composite_table, render_composite
from lm_eval_mtl.scoring.composite import CompositeScore, score_run
from lm_eval_mtl.suites import MemberSpec, SuiteSpec


@pytest.fixture()
def score(tmp_path: Path) -> CompositeScore:
    rng = np.random.default_rng(0)
    folder = fx.write_run(
        tmp_path,
        {
            "sst_2": fx.mc_task((rng.random(100) < 0.8).astype(int), 2),
            "gsm": fx.gen_task((rng.random(80) < 0.3).astype(int)),
        },
    )
    suite = SuiteSpec(
        name="mtl_x",
        version="2.0",
        kind="suite",
        members=(
            MemberSpec("sst_2", "acc", "none", 0.5, 1.0, "cls"),
            MemberSpec("gsm", "exact_match", "strict-match", 0.0, 1.0, "math", output_type="generate_until"),
        ),
        weights="equal",
    )
    return score_run(load_run(folder), suite, rng=1, n_resamples=500)


def test_table_has_a_row_per_member_and_a_composite_row(score: CompositeScore) -> None:
    t = composite_table(score)
    assert [r[0] for r in t.rows] == ["sst_2", "gsm", "composite"]
    assert t.rows[-1][6] == score.value
    assert t.separators == (2,)
    assert any(n.startswith("signature: mtl_x@2.0|") for n in t.notes)


def test_every_text_format_shows_value_and_signature(score: CompositeScore) -> None:
    for fmt in ("table", "md", "latex"):
        text = render_composite(score, fmt)  # type: ignore[arg-type]
        assert f"{score.value:.3f}" in text
        assert "norm=chance" in text
    assert "sst\\_2" in render_composite(score, "latex")


def test_csv_and_json_keep_full_precision(score: CompositeScore) -> None:
    rows = list(csv.reader(io.StringIO(render_composite(score, "csv"))))
    header = rows[0]
    assert header[:7] == ["model", "suite", "suite_version", "task", "label", "family", "metric"]
    comp = rows[-1]
    assert comp[header.index("task")] == "composite"
    assert float(comp[header.index("z")]) == score.value
    assert (float(comp[header.index("ci_low")]), float(comp[header.index("ci_high")])) == tuple(score.ci)
    d = json.loads(render_composite(score, "json"))
    assert d["composite"]["value"] == score.value
    assert d["composite"]["ci"] == [score.ci.low, score.ci.high]


def test_unknown_format_is_refused(score: CompositeScore) -> None:
    with pytest.raises(ValueError, match=r"`fmt` must be one of table, md, latex, json, csv; got 'xml'"):
        render_composite(score, "xml")  # type: ignore[arg-type]


def test_plots_are_written_in_the_format_of_the_extension(score: CompositeScore, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    from lm_eval_mtl.report.plots import forest_plot, heatmap, weights_plot, write_composite_plots

    png = forest_plot(score, tmp_path / "f.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = weights_plot(score, tmp_path / "w.svg")
    assert b"<svg" in svg.read_bytes()[:2000]
    pdf = heatmap(
        [[0.1, -0.2], [np.nan, 0.3]],
        ["a", "b"],
        ["x", "y"],
        mask=[[False, True], [False, False]],
        path=tmp_path / "h.pdf",
    )
    assert pdf.read_bytes()[:5] == b"%PDF-"
    paths = write_composite_plots(score, tmp_path / "plots")
    assert [p.name for p in paths] == ["composite_tasks.png", "composite_weights.png"]
    with pytest.raises(ValueError, match=r"`path` must end with one of .png, .svg, .pdf; got .*f.gif"):
        forest_plot(score, tmp_path / "f.gif")
    with pytest.raises(
        ValueError, match=r"`matrix` must have shape \(len\(rows\), len\(cols\)\) = \(1, 2\); got \(2, 2\)"
    ):
        heatmap(np.zeros((2, 2)), ["a"], ["x", "y"], path=tmp_path / "h.png")


def test_plots_without_matplotlib_name_the_extra(
    score: CompositeScore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    real_import = builtins.__import__

    def fake_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("no matplotlib")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    from lm_eval_mtl.report.plots import forest_plot

    with pytest.raises(MissingExtraError, match=r"plots need: pip install 'lm-eval-mtl\[plot\]'"):
        forest_plot(score, tmp_path / "f.png")


def test_heatmap_writes_the_given_cell_text_in_nan_cells_too(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    from lm_eval_mtl.report.plots import heatmap

    text = [["+0.10***", "n/a"], ["-0.20", "+0.30*"]]
    with matplotlib.rc_context({"svg.fonttype": "none"}):  # keep text as <text> in the SVG
        svg = heatmap(
            [[0.1, np.nan], [-0.2, 0.3]],
            ["s0", "s1"],
            ["t0", "t1"],
            path=tmp_path / "h.svg",
            cell_text=text,
            xlabel="target axis",
            ylabel="source axis",
        )
    body = svg.read_text(encoding="utf-8")
    for label in ("+0.10***", "n/a", "-0.20", "+0.30*", "target axis", "source axis"):
        assert label in body
    with pytest.raises(
        ValueError,
        match=r"`cell_text` must have the shape of `matrix` \(2, 2\); got 2 rows of length\(s\) \[1, 2\]",
    ):
        heatmap(
            np.zeros((2, 2)), ["a", "b"], ["x", "y"], path=tmp_path / "h.png", cell_text=[["1"], ["1", "2"]]
        )


def test_plot_formats_are_checked_in_one_place() -> None:
    from lm_eval_mtl.errors import MTLError
    from lm_eval_mtl.report.plots import check_formats

    assert check_formats(["png", "pdf"]) == ("png", "pdf")
    with pytest.raises(MTLError, match="must be among png, svg, pdf; got jpg, PNG"):
        check_formats(("svg", "jpg", "PNG"))
