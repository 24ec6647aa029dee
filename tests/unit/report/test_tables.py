"""lm_eval_mtl.report.tables: one Table, four renderers."""

from __future__ import annotations

import csv
import io
import math

import pytest

from lm_eval_mtl.report.tables import Table, format_cell, latex_escape, render_table
from lm_eval_mtl.stats._common import ConfidenceInterval


def _table() -> Table:
    return Table(
        title="Scores",
        columns=("task", "raw", "n", "ci"),
        rows=(
            ("sst_2", 0.123456789, 872, ConfidenceInterval(0.1, 0.15)),
            ("a|b & 5%", -0.5, None, ConfidenceInterval(-0.75, -0.25)),
            ("composite", math.nan, 1000, None),
        ),
        formats={"raw": ".3f"},
        notes=("z = (x - c)/(u - c)",),
        separators=(2,),
    )


def test_terminal_aligns_numbers_right_and_text_left() -> None:
    text = render_table(_table(), "table")
    lines = text.splitlines()
    assert lines[0] == "Scores" and set(lines[1]) == {"="}
    header, rule = lines[2], lines[3]
    assert header.startswith("task ")
    # every row has its numeric column ending at the same offset as the header's "raw"
    end_raw = header.index("raw") + len("raw")
    body = [ln for ln in lines[4:] if not set(ln) <= {"-", " "}]
    assert body[0][:end_raw].endswith("0.123")
    assert body[1][:end_raw].endswith("-0.500")
    assert body[2][:end_raw].endswith("nan")
    assert "[-0.750, -0.250]" in body[1]
    assert rule.replace(" ", "").strip("-") == ""
    # the separator before the composite row
    assert lines.index(body[2]) - lines.index(body[1]) == 2
    assert lines[-1] == "z = (x - c)/(u - c)"


def test_markdown_is_a_github_pipe_table_with_escaped_pipes() -> None:
    text = render_table(_table(), "md")
    lines = text.splitlines()
    assert lines[0] == "**Scores**"
    assert lines[2] == "| task | raw | n | ci |"
    assert lines[3] == "|:---|---:|---:|---:|"
    assert lines[5].startswith("| a\\|b & 5% | -0.500 | – |")
    # every table line has the same number of unescaped pipes
    counts = {ln.replace("\\|", "").count("|") for ln in lines[2:7]}
    assert counts == {5}


def test_latex_uses_booktabs_and_escapes_special_characters() -> None:
    text = render_table(_table(), "latex")
    for token in ("\\begin{tabular}{lrrr}", "\\toprule", "\\midrule", "\\bottomrule", "\\caption{Scores}"):
        assert token in text
    assert "sst\\_2" in text
    assert "a|b \\& 5\\%" in text
    assert "$-$0.500" in text and "[$-$0.750, $-$0.250]" in text
    # rows end with \\ and have 3 unescaped column separators
    rows = [ln for ln in text.splitlines() if ln.endswith("\\\\") and "toprule" not in ln]
    assert all(ln.replace("\\&", "").count("&") == 3 for ln in rows)
    assert text.count("\\midrule") == 2  # header rule + the separator before the composite


def test_latex_escape_covers_every_special_character() -> None:
    assert latex_escape("\\&%$#_{}~^") == (
        "\\textbackslash{}\\&\\%\\$\\#\\_\\{\\}\\textasciitilde{}\\textasciicircum{}"
    )


def test_csv_keeps_full_precision_and_splits_intervals() -> None:
    text = render_table(_table(), "csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["task", "raw", "n", "ci_low", "ci_high"]
    assert float(rows[1][1]) == 0.123456789
    assert rows[2][0] == "a|b & 5%"
    assert rows[2][2] == ""  # None is an empty field
    assert (float(rows[2][3]), float(rows[2][4])) == (-0.75, -0.25)
    assert math.isnan(float(rows[3][1])) and rows[3][3:] == ["", ""]
    assert "Scores" not in text and "z =" not in text


def test_format_cell_rounds_only_for_display() -> None:
    assert format_cell(0.98765, None, 2) == "0.99"
    assert format_cell(0.98765, "+.1%") == "+98.8%"
    assert format_cell(3, None) == "3"
    assert format_cell(2.6, "d") == "3"
    assert format_cell(None, None, empty="–") == "–"
    assert format_cell(True, None) == "yes"


def test_row_of_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match=r"`rows\[1\]` must have 2 cells \(one per column\); got 3"):
        Table(title="t", columns=("a", "b"), rows=(("x", 1), ("y", 2, 3)))


def test_format_for_unknown_column_is_refused() -> None:
    with pytest.raises(ValueError, match=r"`formats` names unknown column\(s\) zz; columns: a, b"):
        Table(title="t", columns=("a", "b"), rows=(), formats={"zz": ".2f"})


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match=r"`fmt` must be one of table, md, latex, csv; got 'html'"):
        render_table(_table(), "html")  # type: ignore[arg-type]


def test_lists_are_accepted_and_frozen_to_tuples() -> None:
    t = Table(title="", columns=["a"], rows=[[1.0], [2.0]])  # type: ignore[arg-type]
    assert t.rows == ((1.0,), (2.0,))
    assert render_table(t, "table").splitlines()[0] == "    a"
