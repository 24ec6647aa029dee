"""Tidy machine-readable output of ``compare`` and ``transfer``, and tables in one unit (issue 11, items 3-4).

* ``transfer --format csv`` is one row per (source, target) cell with numeric columns at full
  precision and significance as its own boolean column; ``--output-dir`` writes one file per table;
* ``compare --format csv`` is one row per pair and task, with A, B and diff in normalized units and
  the raw values beside them; its composite A and B are the runs' ``report`` composites;
* results-only rows have an unknown item count (empty / null / a dash) and one note, not one per task;
* ``correlate`` names the matrix and rows of every effective number, and its shrunk figure is the one
  ``weights fit`` records.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from score_runs import write_run  # tests/data, on sys.path via tests/conftest.py

from lm_eval_mtl.analysis.compare import compare_runs
from lm_eval_mtl.cli.main import main
from lm_eval_mtl.io import load_run
from lm_eval_mtl.report.analysis import comparison_tables
from lm_eval_mtl.report.tables import render_table

N = 300
RES = ["--n-resamples", "200", "--seed", "3"]
CELL_NUMERIC = ("delta", "se", "ci_low", "ci_high", "p", "p_adjusted", "n", "weight")
TASK_NUMERIC = ("weight", "z_a", "z_b", "diff", "se", "ci_low", "ci_high", "p", "p_adjusted", "mde")


def _study(tmp_path: Path) -> dict[str, Path]:
    """A base and two checkpoints on sst2, rte, boolq (0/1 items, samples logged)."""
    rng = np.random.default_rng(0)
    base = {t: (rng.random(N) < 0.5).astype(float) for t in ("sst2", "rte", "boolq")}
    out = {"base": write_run(tmp_path / "base", "org/base", {t: {"scores": v} for t, v in base.items()})}
    for src, q in (("sst2", 0.3), ("rte", 0.1)):
        ft = {t: np.maximum(v, (rng.random(N) < q).astype(float)) if t == src else v for t, v in base.items()}
        out[src] = write_run(
            tmp_path / f"ft-{src}", f"org/ft-{src}", {t: {"scores": v} for t, v in ft.items()}
        )
    return out


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _number(cell: str) -> float:
    """A numeric CSV cell as pandas reads it: empty is NaN, anything else must parse as a float."""
    return math.nan if cell == "" else float(cell)


def _transfer(runs: dict[str, Path], *extra: str) -> list[str]:
    return [
        "transfer",
        "--base",
        str(runs["base"]),
        "--source",
        f"sst2={runs['sst2']}",
        "--source",
        f"rte={runs['rte']}",
        *RES,
        *extra,
    ]


def test_transfer_csv_is_one_row_per_cell_with_numeric_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _study(tmp_path)
    code, out, err = _call(capsys, *_transfer(runs, "--format", "csv"))
    assert code == 0, err
    rows = _rows(out)
    assert list(rows[0]) == [
        "source",
        "target",
        "delta",
        "se",
        "ci_low",
        "ci_high",
        "p",
        "p_adjusted",
        "significant",
        "method",
        "n",
        "weight",
    ]
    assert [(r["source"], r["target"]) for r in rows] == [
        (s, t) for s in ("sst2", "rte") for t in ("sst2", "rte", "boolq")
    ]
    for r in rows:
        values = [_number(r[c]) for c in CELL_NUMERIC]  # every numeric cell parses
        assert all(math.isfinite(v) for v in values), r
        assert r["significant"] in ("true", "false") and "*" not in "".join(r.values())
    assert out.count("\n") == len(rows) + 1  # one table, no title, no notes, no second header
    # full precision: the same numbers as the JSON
    _, js, _ = _call(capsys, *_transfer(runs, "--format", "json"))
    d = json.loads(js)
    assert [float(r["delta"]) for r in rows] == [x for row in d["delta"] for x in row]
    assert [r["significant"] == "true" for r in rows] == [x for row in d["significant"] for x in row]
    assert d["tables"]["cells"][0]["delta"] == float(rows[0]["delta"])
    assert "--output-dir DIR writes every table: cells.csv, composite.csv, relative.csv" in err


def test_transfer_output_dir_writes_one_file_per_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _study(tmp_path)
    out_dir = tmp_path / "tables"
    code, out, err = _call(capsys, *_transfer(runs, "--format", "csv", "--output-dir", str(out_dir)))
    assert code == 0 and out == "", err
    assert sorted(p.name for p in out_dir.iterdir()) == ["cells.csv", "composite.csv", "relative.csv"]
    comp = _rows((out_dir / "composite.csv").read_text(encoding="utf-8"))
    assert [r["source"] for r in comp] == ["sst2", "rte"]
    assert all(math.isfinite(_number(r[c])) for r in comp for c in ("delta", "se", "ci_low", "ci_high", "p"))
    rel = {
        (r["source"], r["target"]): r for r in _rows((out_dir / "relative.csv").read_text(encoding="utf-8"))
    }
    assert float(rel["sst2", "sst2"]["relative"]) == 1.0 and rel["sst2", "sst2"]["undefined_reason"] == ""
    assert (
        rel["rte", "boolq"]["relative"] == ""
        and "no source is named boolq" in rel["rte", "boolq"]["undefined_reason"]
    )
    # json: the same tables as lists of records
    jdir = tmp_path / "json"
    assert _call(capsys, *_transfer(runs, "--format", "json", "--output-dir", str(jdir)))[0] == 0
    cells = json.loads((jdir / "cells.json").read_text(encoding="utf-8"))
    assert len(cells) == 6 and cells[0]["source"] == "sst2" and isinstance(cells[0]["significant"], bool)


def test_compare_csv_is_tidy_and_in_one_unit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _study(tmp_path)
    argv = ["compare", str(runs["base"]), str(runs["sst2"]), str(runs["rte"]), *RES]
    code, out, err = _call(capsys, *argv, "--format", "csv")
    assert code == 0, err
    rows = _rows(out)
    assert len(rows) == 3 * 3  # 3 pairs x 3 tasks
    assert {"z_a", "z_b", "raw_a", "raw_b", "significant", "n"} <= set(rows[0])
    for r in rows:
        assert all(math.isfinite(_number(r[c])) for c in TASK_NUMERIC), r
        assert _number(r["z_a"]) - _number(r["z_b"]) == pytest.approx(_number(r["diff"]), abs=1e-12)
        assert _number(r["raw_a"]) == _number(r["z_a"])  # raw units: no suite normalizes them
    out_dir = tmp_path / "cmp"
    assert _call(capsys, *argv, "--format", "csv", "--output-dir", str(out_dir))[0] == 0
    assert sorted(p.name for p in out_dir.iterdir()) == ["composite.csv", "tasks.csv"]
    comp = _rows((out_dir / "composite.csv").read_text(encoding="utf-8"))
    assert [(r["model_a"], r["model_b"]) for r in comp] == [
        ("org/base", "org/ft-sst2"),
        ("org/base", "org/ft-rte"),
        ("org/ft-sst2", "org/ft-rte"),
    ]
    for r in comp:
        assert _number(r["z_a"]) - _number(r["z_b"]) == pytest.approx(_number(r["diff"]), abs=1e-12)


def _demo_runs(tmp_path: Path) -> tuple[Path, Path]:
    import fixture_runs as fx

    from lm_eval_mtl.suites import load_suite

    def tasks(seed: int, p: float) -> dict[str, Any]:
        rng = np.random.default_rng(seed)
        out: dict[str, Any] = {}
        for m in load_suite("mtl_demo").members:
            if m.metric == "chrf":
                refs = [f"das ist satz {i} hier" for i in range(30)]
                preds = [f"das ist ein satz {i}" if i % (seed + 2) else refs[i] for i in range(30)]
                import sacrebleu

                agg = sacrebleu.corpus_chrf(preds, [refs]).score
                out[m.task] = fx.corpus_task(refs, preds, aggregate=agg)
            elif m.output_type == "multiple_choice":
                out[m.task] = fx.mc_task((rng.random(30) < p).astype(int), round(1 / m.chance))
            else:
                out[m.task] = fx.gen_task(
                    (rng.random(30) < p / 2).astype(int), metric=m.metric, filter=m.filter
                )
        return out

    a = fx.write_run(tmp_path / "a", tasks(0, 0.5), model="org/a")
    b = fx.write_run(tmp_path / "b", tasks(1, 0.8), model="org/b")
    return a, b


def test_compare_table_shows_normalized_a_b_and_their_report_composites(tmp_path: Path) -> None:
    from lm_eval_mtl.scoring.composite import score_run
    from lm_eval_mtl.suites import load_suite

    a, b = _demo_runs(tmp_path)
    res = compare_runs([a, b], suite="mtl_demo", n_resamples=200, rng=0)
    pair = res.pairs[0]
    per_task, (ca, cb) = res.scores(pair)
    spec = load_suite("mtl_demo")
    ra = score_run(load_run(a), spec, method="analytic")
    rb = score_run(load_run(b), spec, method="analytic")
    assert ca == pytest.approx(ra.value, abs=1e-12) and cb == pytest.approx(rb.value, abs=1e-12)
    z_report = {t.label: t.normalized for t in ra.tasks}
    for t, (za, zb) in zip(pair.tasks, per_task, strict=True):
        assert za == pytest.approx(z_report[t.task], abs=1e-12)
        assert za - zb == pytest.approx(t.diff, abs=1e-12)
    text = render_table(comparison_tables(res)[0], "table")
    chrf = next(t for t in pair.tasks if t.task == "mtl_demo_de_en")
    assert chrf.mean_a > 1  # chrF's 0-100 raw value is not what the table shows
    assert f"{per_task[pair.tasks.index(chrf)][0]:.4f}" in text and f"{chrf.mean_a:.4f}" not in text
    assert "A, B: normalized scores z = (raw - chance) / (ceiling - chance)" in text
    (composite_line,) = [ln for ln in text.splitlines() if ln.startswith("composite ")]
    assert composite_line.split()[1:3] == [f"{ca:.4f}", f"{cb:.4f}"]
    d = res.to_dict()
    rec = d["pairs"][0]["tasks"][pair.tasks.index(chrf)]
    assert rec["raw_a"] == chrf.mean_a and rec["z_a"] == pytest.approx(chrf.mean_a / 100)
    assert d["pairs"][0]["composite"]["z_a"] == ca


def _results_only(tmp_path: Path, name: str, values: dict[str, float]) -> Path:
    """A results-only run whose results file records no item counts (no ``n-samples``)."""
    folder = write_run(
        tmp_path / name,
        f"org/{name}",
        {t: {"scores": [1.0, 0.0], "value": v, "stderr": 0.02} for t, v in values.items()},
        samples=False,
    )
    results = next(folder.glob("results_*.json"))
    data = json.loads(results.read_text(encoding="utf-8"))
    del data["n-samples"]
    results.write_text(json.dumps(data), encoding="utf-8")
    return folder


def test_results_only_rows_have_an_unknown_item_count_and_one_note(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = _results_only(tmp_path, "a", {"t1": 0.6, "t2": 0.7, "t3": 0.4})
    b = _results_only(tmp_path, "b", {"t1": 0.5, "t2": 0.6, "t3": 0.45})
    res = compare_runs([a, b], rng=0)
    notes = [n for n in res.notes if "without per-item samples" in n]
    assert notes == [
        "3 of 3 task(s) without per-item samples in every run (t1, t2, t3): compared with unpaired analytic "
        "statistics from the results JSON (method analytic-unpaired); item count unknown (n -) where the "
        "results file records none."
    ]
    d = res.to_dict()
    assert [t["n"] for t in d["pairs"][0]["tasks"]] == [None, None, None]
    assert [r["n"] for r in d["tables"]["tasks"]] == [None, None, None]
    table = comparison_tables(res)[0]
    assert [row[table.columns.index("n")] for row in table.rows] == [None] * 4
    text = render_table(table, "table")
    assert text.count("without per-item samples") == 1 and "  0  analytic" not in text
    code, out, err = _call(capsys, "compare", str(a), str(b), "--format", "csv")
    assert code == 0, err
    assert [r["n"] for r in _rows(out)] == ["", "", ""]
    assert err.count("without per-item samples") == 1


def test_output_dir_needs_a_machine_format_and_no_output_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _study(tmp_path)
    code, out, err = _call(
        capsys, "compare", str(runs["base"]), str(runs["rte"]), "--output-dir", str(tmp_path / "d")
    )
    assert code == 2 and out == "" and "add --format csv or --format json" in err
    code, _, err = _call(
        capsys,
        *_transfer(
            runs, "--format", "csv", "--output-dir", str(tmp_path / "d"), "--output", str(tmp_path / "x")
        ),
    )
    assert code == 2 and "not both" in err
    (tmp_path / "file").write_text("x", encoding="utf-8")
    code, _, err = _call(capsys, *_transfer(runs, "--format", "csv", "--output-dir", str(tmp_path / "file")))
    assert code == 2 and "is a file, not a folder" in err
    assert not (tmp_path / "d").exists()


def test_pandas_reads_the_csv_files_as_numbers(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pd = pytest.importorskip("pandas")
    runs = _study(tmp_path)
    code, out, _ = _call(capsys, *_transfer(runs, "--format", "csv"))
    assert code == 0
    frame = pd.read_csv(io.StringIO(out))
    assert frame.shape == (6, 12) and frame["significant"].dtype == bool
    assert all(
        pd.api.types.is_float_dtype(frame[c]) or pd.api.types.is_integer_dtype(frame[c]) for c in CELL_NUMERIC
    )
    code, out, _ = _call(capsys, "compare", str(runs["base"]), str(runs["rte"]), "--format", "csv", *RES)
    frame = pd.read_csv(io.StringIO(out))
    assert frame.shape[0] == 3 and all(pd.api.types.is_numeric_dtype(frame[c]) for c in TASK_NUMERIC)


def _panel(tmp_path: Path) -> Path:
    rng = np.random.default_rng(4)
    g = rng.normal(size=40)
    lines = ["Model,a,b,c,d"] + [
        f"m{i},{g[i] + rng.normal(0, 0.4):.5f},{g[i] + rng.normal(0, 0.6):.5f},{rng.normal():.5f},"
        f"{0.5 * g[i] + rng.normal():.5f}"
        for i in range(40)
    ]
    path = tmp_path / "panel.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_correlate_names_the_matrix_of_every_effective_number(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    panel = _panel(tmp_path)
    code, out, err = _call(capsys, "correlate", str(panel), "--format", "json")
    assert code == 0, err
    d = json.loads(out)
    eff, shrunk = d["effective_number"], d["effective_number_shrunk"]
    assert eff["correlation"] == "pearson" and eff["rows"] == "40 models, complete cases"
    assert eff["population"] == "panel.csv" and shrunk["matrix"] == "ledoit-wolf shrunk correlation"
    assert shrunk["nyholt"] != eff["nyholt"]
    # the shrunk figure is the one `weights fit` records and `weights show` prints
    w = tmp_path / "w.json"
    argv = ["weights", "fit", str(panel), "--scheme", "redundancy", "--id-column", "Model"]
    assert _call(capsys, *argv, "--suite-id", "x@1", "--out", str(w), "--quiet")[0] == 0
    fitted = json.loads(w.read_text(encoding="utf-8"))["diagnostics"]["effective_number"]
    assert fitted["nyholt"] == pytest.approx(shrunk["nyholt"], rel=1e-9)
    code, text, _ = _call(capsys, "correlate", str(panel))
    assert "effective number of tasks (Nyholt; Pearson correlation matrix, complete cases)" in text
    assert "effective number of tasks (Nyholt; Ledoit-Wolf-shrunk Pearson matrix, complete cases" in text
    assert "computed on  " in text and "40 models, complete cases; population: panel.csv" in text
    code, text, _ = _call(capsys, "weights", "show", str(w))
    assert "of the Ledoit-Wolf-shrunk Pearson correlation" in text


def test_the_shrunk_effective_number_is_the_shipped_weights_figure(shared_data: Path) -> None:
    from lm_eval_mtl.analysis.correlate import correlate_tasks
    from lm_eval_mtl.scoring.weights_file import load_weights

    path = shared_data / "panels" / "openllm_v1" / "open-llm-leaderboard_old.csv"
    if not path.is_file():
        pytest.skip(f"{path} is not here")
    tasks = ["ARC", "HellaSwag", "MMLU", "TruthfulQA", "Winogrande", "GSM8K"]
    st = correlate_tasks(path, id_column="Model", tasks=tasks, duplicates="mean")
    wf = load_weights("redundancy-openllm_v1")
    assert st.effective_nyholt_shrunk == pytest.approx(wf.effective_number_nyholt, abs=1e-6)
    assert abs(st.effective_nyholt - wf.effective_number_nyholt) > 1e-3  # the Pearson figure is another


def test_report_csv_is_one_row_per_member_with_numeric_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lm_eval_mtl.report.render import CSV_COLUMNS

    rng = np.random.default_rng(1)
    run = write_run(
        tmp_path / "run",
        "org/m",
        {t: {"scores": (rng.random(N) < 0.7).astype(float)} for t in ("sst2", "rte")},
    )
    code, out, err = _call(capsys, "report", str(run), "--missing", "drop", "--format", "csv", *RES)
    assert code == 0, err
    rows = _rows(out)
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["task"] for r in rows] == ["sst2", "rte", "composite"]
    for r in rows:
        for c in ("z", "se_z", "ci_low", "ci_high", "confidence_level", "weight"):
            assert math.isfinite(_number(r[c])), (c, r)
        assert r["signature"] and r["limit"] == ""  # a full run: no limit
    members, comp = rows[:-1], rows[-1]
    assert all(r["interval_method"] == "wilson" and _number(r["n"]) == N for r in members)
    assert sum(_number(r["weight"]) * _number(r["z"]) for r in members) == pytest.approx(_number(comp["z"]))
    assert _number(comp["ci_low"]) < _number(comp["z"]) < _number(comp["ci_high"])


@pytest.mark.filterwarnings("ignore::lm_eval_mtl.errors.DegenerateDataWarning")  # no checkpoint per target
def test_a_cell_keeps_its_interval_whatever_other_sources_the_study_has(tmp_path: Path) -> None:
    from lm_eval_mtl.analysis.transfer import transfer_matrix

    runs = _study(tmp_path)
    kw: dict[str, Any] = {"rng": 5, "n_resamples": 300, "units": "raw"}
    alone = transfer_matrix(runs["base"], {"sst2": runs["sst2"]}, **kw)
    both = transfer_matrix(runs["base"], {"rte": runs["rte"], "sst2": runs["sst2"]}, **kw)
    s1, s2 = alone.sources.index("sst2"), both.sources.index("sst2")
    for t in alone.targets:
        j1, j2 = alone.targets.index(t), both.targets.index(t)
        assert (
            alone.ci_low[s1, j1] == both.ci_low[s2, j2] and alone.ci_high[s1, j1] == both.ci_high[s2, j2]
        ), t
        assert alone.p_value[s1, j1] == both.p_value[s2, j2], t
    # and compare of that checkpoint against the base gives each task the same interval
    cmp = compare_runs([runs["sst2"], runs["base"]], **kw)
    for task in cmp.pairs[0].tasks:
        j = alone.targets.index(task.task)
        assert (task.ci.low, task.ci.high) == pytest.approx(
            (alone.ci_low[s1, j], alone.ci_high[s1, j]), abs=1e-12
        )
