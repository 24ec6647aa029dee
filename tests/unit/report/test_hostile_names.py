"""Names read from files reach the terminal without control characters; LaTeX typesets them literally."""

from __future__ import annotations

import json
import math

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest

from lm_eval_mtl.io import load_run
from lm_eval_mtl.report.render import render_composite
from lm_eval_mtl.report.tables import Table, latex_escape, latex_text, printable, render_table
from lm_eval_mtl.scoring.composite import score_run
from lm_eval_mtl.suites import MemberSpec, SuiteSpec

EVIL = "ev\x1b[31mil\x1b[0m\rname\x1b]0;pwned\x07\x9b2J\x00\x7f\u202e|x"
CONTROL = ("\x1b", "\r", "\x07", "\x00", "\x7f", "\x9b", "\u202e")


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain", "plain"),
        ("a\x1b[1;31mred\x1b[0m", "ared"),
        ("cursor\x1b[2J\x1b[Hhome", "cursorhome"),
        ("title\x1b]0;set title\x07after", "titleafter"),
        ("st\x1b]8;;http://x\x1b\\link", "stlink"),
        ("over\rwrite", "overwrite"),
        ("c1\x9b31mx\x85y", "c1xy"),
        ("bidi\u202etxt.exe\u202c", "biditxt.exe"),
        ("keep\nnew\tline", "keep\nnew\tline"),
        ("lone\x1b", "lone"),
        ("unicode é ü 中", "unicode é ü 中"),
    ],
)
def test_printable_drops_escape_sequences_and_controls(raw: str, clean: str) -> None:
    assert printable(raw) == clean


def test_printable_one_line_turns_newlines_into_spaces() -> None:
    assert printable("a\nb\tc", one_line=True) == "a b c"


def _table(name: str) -> Table:
    return Table(
        title=f"model {name}",
        columns=("task", "value"),
        rows=((name, 0.5), ("composite", math.nan)),
        notes=(f"signature: {name}",),
    )


@pytest.mark.parametrize("fmt", ["table", "md", "latex", "csv"])
def test_no_control_character_survives_any_text_format(fmt: str) -> None:
    text = render_table(_table(EVIL), fmt)  # type: ignore[arg-type]
    for ch in CONTROL:
        assert ch not in text, (fmt, repr(ch))
    assert "evilname" in text


def test_terminal_columns_stay_aligned_with_hostile_names() -> None:
    lines = render_table(_table("a\x1b[31mb\nc"), "table").splitlines()
    header = lines[2]
    assert lines[4].startswith("ab c") and lines[4].index("0.500") + 5 == header.index("value") + 5


def test_latex_sets_text_with_a_bar_in_typewriter() -> None:
    sig = "mtl_demo@1.0|norm=chance|w=family@sha256:179622|lm-eval=0.4.13|tasks=c7287549"
    out = latex_text(sig)
    assert out == "\\texttt{mtl\\_demo@1.0|norm=chance|w=family@sha256:179622|lm-eval=0.4.13|tasks=c7287549}"
    assert latex_text("no bar") == "no bar"


def test_latex_escapes_every_special_character_in_names() -> None:
    out = latex_text("a&b%c$d#e_f{g}h~i^j\\k<l>m")
    assert out == latex_escape("a&b%c$d#e_f{g}h~i^j\\k<l>m")
    for raw in "&%$#_{}":
        assert f"\\{raw}" in out
    assert latex_text("[opt]").startswith("{}[")  # not read as the \\ row-end's argument
    assert latex_text("*star").startswith("{}*")
    assert "\n" not in latex_text("two\n\nparagraphs")  # a blank line would end the tabular's paragraph


def test_latex_table_with_hostile_names_keeps_its_structure() -> None:
    text = render_table(_table("x & y|z % \\end{tabular}"), "latex")
    rows = [ln for ln in text.splitlines() if ln.endswith("\\\\") and "toprule" not in ln]
    assert all(ln.replace("\\&", "").count("&") == 1 for ln in rows)
    assert "\\end{tabular}" in text and text.count("\\end{tabular}") == 1
    assert "\\texttt{x \\& y|z \\% \\textbackslash{}end\\{tabular\\}}" in text


@pytest.fixture()
def hostile_score(tmp_path):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    folder = fx.write_run(
        tmp_path,
        {"sst_2": fx.mc_task((rng.random(60) < 0.8).astype(int), 2)},
        model="org/evil",
    )
    results = next(folder.glob("results_*.json"))
    data = json.loads(results.read_text(encoding="utf-8"))
    data["model_name"] = "org/" + EVIL  # what a hostile file holds
    results.write_text(json.dumps(data), encoding="utf-8")
    suite = SuiteSpec(
        name="mtl_x",
        version="2.0",
        kind="suite",
        members=(MemberSpec("sst_2", "acc", "none", 0.5, 1.0, "cls"),),
        weights="equal",
    )
    return score_run(load_run(folder), suite, rng=1, n_resamples=200)


@pytest.mark.parametrize("fmt", ["table", "md", "latex", "csv"])
def test_a_model_name_from_the_file_is_cleaned_in_every_report_format(hostile_score, fmt: str) -> None:  # type: ignore[no-untyped-def]
    text = render_composite(hostile_score, fmt)  # type: ignore[arg-type]
    for ch in CONTROL:
        assert ch not in text, (fmt, repr(ch))


def test_the_latex_signature_is_typewriter_and_escaped(hostile_score) -> None:  # type: ignore[no-untyped-def]
    text = render_composite(hostile_score, "latex")
    line = next(ln for ln in text.splitlines() if "signature" in ln)
    assert line.startswith("\\texttt{signature: mtl\\_x@2.0|norm=chance")
    bare = line.replace("\\texttt{", "")
    assert "|" in bare  # the bars are kept, inside \texttt where they print as bars
