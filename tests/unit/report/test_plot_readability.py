"""Figures people can read: contrast, no "nan" or "-0.00" cells, marks explained, short labels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lm_eval_mtl.report.plots import (
    BLANK_FOOTNOTE,
    MARKS_FOOTNOTE,
    default_footnote,
    no_negative_zero,
    short_model_name,
    text_color,
)


def test_annotation_colour_follows_the_cell_luminance() -> None:
    assert text_color((0.4, 0.0, 0.12, 1.0)) == "white"  # darkest RdBu_r red
    assert text_color((0.02, 0.19, 0.38, 1.0)) == "white"  # darkest RdBu_r blue
    assert text_color((0.97, 0.97, 0.97, 1.0)) == "black"
    assert text_color((0.99, 0.91, 0.15, 1.0)) == "black"  # viridis' yellow


def test_negative_zero_is_written_without_its_sign() -> None:
    assert no_negative_zero("-0.00") == "0.00"
    assert no_negative_zero("-0.00**", plus=True) == "+0.00**"
    assert no_negative_zero("-0") == "0"
    assert no_negative_zero("[-0.000, +0.12]") == "[0.000, +0.12]"
    for kept in ("-0.01", "-0.004", "-10.00", "1e-05", "-0.05*", "x-0.00"):
        assert no_negative_zero(kept) == kept


def test_model_paths_become_short_names() -> None:
    assert (
        short_model_name("/tmp/lm-eval-mtl-test-cache-x/tiny-gpt2-9fcabde5c385") == "tiny-gpt2-9fcabde5c385"
    )
    assert short_model_name("~/models/mine/") == "mine"
    assert short_model_name("EleutherAI/pythia-70m") == "EleutherAI/pythia-70m"


def test_footnote_explains_marks_and_blank_cells() -> None:
    m = np.array([[0.5, np.nan], [0.1, 0.2]])
    assert (
        default_footnote(m, [["+0.50**", "nan"], ["+0.10", "+0.20"]]) == f"{MARKS_FOOTNOTE}\n{BLANK_FOOTNOTE}"
    )
    assert default_footnote(np.zeros((1, 1)), [["x*y"]]) == ""


def test_heatmap_has_no_nan_or_negative_zero_text_and_explains_its_marks(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    from lm_eval_mtl.report.plots import heatmap

    text = [["+1.00***", "nan", "-0.00"], ["+0.00", "nan", "-0.47**"]]
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        svg = heatmap(
            [[1.0, np.nan, -0.003], [0.0, np.nan, -0.47]],
            ["s0", "s1"],
            ["t0", "t1", "t2"],
            path=tmp_path / "h.svg",
            cell_text=text,
            xlabel="target",
        )
    body = svg.read_text(encoding="utf-8")
    assert ">nan<" not in body and "-0.00<" not in body
    assert "+1.00***" in body and "-0.47**" in body
    assert "adjusted p &lt; 0.001" in body and "hatched cells" in body
    # the darkest cell (+1.00) is annotated in white, the near-white one in black
    assert 'fill="#ffffff"' in body or "fill: #ffffff" in body
