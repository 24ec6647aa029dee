"""Hostile and mistaken inputs, the input side (issue 9): every reader refuses them in one line.

Each case mutates a fixture run (or panel) and runs every subcommand that reads that input
(``report``, ``compare``, ``transfer``, ``correlate``, ``weights fit``) through the real
console entry point: exit 2, one stderr line without a traceback, inputs byte-identical.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hostile_cli import assert_refused, digest, run_cli  # tests/data, on sys.path via tests/conftest.py
from score_runs import write_run  # tests/data, on sys.path via tests/conftest.py

N = 24
TOOLS = ("report", "compare", "transfer", "correlate", "weights-fit")
DEMO_TASKS = ("mtl_demo_sentiment", "mtl_demo_topic", "mtl_demo_closed_qa", "mtl_demo_physical")
HAS_FIFO = hasattr(os, "mkfifo")

# --------------------------------------------------------------------------- fixture worlds


def _scores(rng: np.random.Generator, p: float) -> list[float]:
    x = (rng.random(N) < p).astype(float)
    x[0], x[1] = 0.0, 1.0  # never constant
    return [float(v) for v in x]


def _plain_runs(root: Path) -> list[Path]:
    """Four models on sst2 and rte (members of mtl_suite), samples logged."""
    rng = np.random.default_rng(0)
    return [
        write_run(
            root / f"m{i}",
            f"org/m{i}",
            {t: {"scores": _scores(rng, 0.3 + 0.1 * i), "metric": "acc"} for t in ("sst2", "rte")},
        )
        for i in range(4)
    ]


def _demo_runs(root: Path) -> list[Path]:
    """Four models covering every member of mtl_demo (two members results-only)."""
    rng = np.random.default_rng(1)
    out = []
    for i in range(4):
        folder = write_run(
            root / f"d{i}",
            f"org/d{i}",
            {
                t: {"scores": _scores(rng, 0.4 + 0.1 * i), "metric": "exact_match" if "qa" in t else "acc"}
                for t in DEMO_TASKS
            },
        )
        res = _results(folder)
        data = json.loads(res.read_text(encoding="utf-8"))
        data["results"]["mtl_demo_de_en"] = {"chrf,none": 30.0 + i, "chrf_stderr,none": 1.0}
        data["results"]["mtl_demo_arithmetic"] = {
            "exact_match,get-answer": 0.2 + 0.05 * i,
            "exact_match_stderr,get-answer": 0.02,
        }
        for t in ("mtl_demo_de_en", "mtl_demo_arithmetic"):
            data["versions"][t] = 1.0
            data["n-samples"][t] = {"original": 50, "effective": 50}
        res.write_text(json.dumps(data), encoding="utf-8")
        out.append(folder)
    return out


def _results(folder: Path) -> Path:
    (found,) = sorted(folder.glob("results_*.json"))
    return found


def _samples(folder: Path, task: str) -> Path:
    (found,) = sorted(folder.glob(f"samples_{task}_*.jsonl"))
    return found


def _edit_results(folder: Path, edit: Callable[[dict[str, object]], None]) -> None:
    res = _results(folder)
    data = json.loads(res.read_text(encoding="utf-8"))
    edit(data)
    res.write_text(json.dumps(data), encoding="utf-8")


# --------------------------------------------------------------------------- mutations of a run
# Each takes (run folder, task) and damages the run; it returns the path to pass as the run.

Mutation = Callable[[Path, str], Path]


def _set_metric(value: object, key: str = "acc,none") -> Mutation:
    def mutate(folder: Path, task: str) -> Path:
        _edit_results(folder, lambda d: d["results"][task].__setitem__(key, value))  # type: ignore[index]
        return folder

    return mutate


def _set_nsamples(value: object) -> Mutation:
    def mutate(folder: Path, task: str) -> Path:
        _edit_results(folder, lambda d: d["n-samples"][task].__setitem__("effective", value))  # type: ignore[index]
        return folder

    return mutate


def _item_value(folder: Path, task: str) -> Path:
    s = _samples(folder, task)
    lines = s.read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[3])
    rec["acc"] = 2.0
    lines[3] = json.dumps(rec)
    s.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _duplicate_task_key(folder: Path, task: str) -> Path:
    res = _results(folder)
    text = res.read_text(encoding="utf-8")
    data = json.loads(text)
    row = json.dumps({**data["results"][task], "acc,none": 0.99})
    res.write_text(text.replace('"results": {', f'"results": {{"{task}": {row}, ', 1), encoding="utf-8")
    return folder


def _drop_records(folder: Path, task: str) -> Path:
    s = _samples(folder, task)
    lines = s.read_text(encoding="utf-8").splitlines(keepends=True)
    s.write_text("".join(lines[:18]), encoding="utf-8")
    return folder


def _fifo_run(folder: Path, task: str) -> Path:
    fifo = folder.parent / "not-a-run.fifo"
    os.mkfifo(fifo)
    return fifo


def _fifo_samples(folder: Path, task: str) -> Path:
    s = _samples(folder, task)
    s.unlink()
    os.mkfifo(s)
    return folder


def _dev_zero_samples(folder: Path, task: str) -> Path:
    s = _samples(folder, task)
    s.unlink()
    s.symlink_to("/dev/zero")
    return folder


def _dev_zero_results(folder: Path, task: str) -> Path:
    res = _results(folder)
    res.unlink()
    res.symlink_to("/dev/zero")
    return folder


def _gzip_results(folder: Path, task: str) -> Path:
    res = _results(folder)
    res.write_bytes(gzip.compress(res.read_bytes(), mtime=0))
    return folder


def _gzip_samples(folder: Path, task: str) -> Path:
    s = _samples(folder, task)
    s.write_bytes(gzip.compress(s.read_bytes(), mtime=0))
    return folder


def _gzip_samples_renamed(folder: Path, task: str) -> Path:
    s = _samples(folder, task)
    s.with_name(s.name + ".gz").write_bytes(gzip.compress(s.read_bytes(), mtime=0))
    s.unlink()
    return folder


def _latin1_results(folder: Path, task: str) -> Path:
    res = _results(folder)
    res.write_bytes(res.read_bytes().replace(b'"model_name": "', b'"model_name": "caf\xe9-', 1))
    return folder


def _latin1_samples(folder: Path, task: str) -> Path:
    s = _samples(folder, task)
    s.write_bytes(s.read_bytes().replace(b'"doc ', b'"caf\xe9 ', 1))
    return folder


def _deep_results(folder: Path, task: str) -> Path:
    res = _results(folder)
    deep = "[" * 200_000 + "]" * 200_000
    res.write_text(res.read_text(encoding="utf-8").replace('"results":', f'"deep": {deep}, "results":', 1))
    return folder


def _huge_int_results(folder: Path, task: str) -> Path:
    res = _results(folder)
    res.write_text(
        res.read_text(encoding="utf-8").replace('"results":', f'"big": {"9" * 5000}, "results":', 1)
    )
    return folder


def _huge_int_samples(folder: Path, task: str) -> Path:
    s = _samples(folder, task)
    lines = s.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace('"doc_id": 2', f'"doc_id": {"7" * 400}', 1)
    s.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _empty_results(folder: Path, task: str) -> Path:
    _results(folder).write_bytes(b"")
    return folder


def _empty_samples(folder: Path, task: str) -> Path:
    _samples(folder, task).write_bytes(b"")
    return folder


CASES: dict[str, tuple[Mutation, str]] = {
    # 1. values in their domain
    "acc-above-1": (_set_metric(1.5), r"acc .*= 1\.5, outside \[0, 1\]"),
    "acc-negative": (_set_metric(-1), r"acc .*= -1\.0, outside \[0, 1\]"),
    "stderr-negative": (
        _set_metric(-0.1, "acc_stderr,none"),
        r"acc_stderr .*-0\.1; expected a standard error >= 0",
    ),
    "n-samples-negative": (_set_nsamples(-3), r"n-samples\.effective = -3; expected an item count"),
    "n-samples-fraction": (_set_nsamples(2.5), r"n-samples\.effective = 2\.5; expected an item count"),
    "item-value-above-1": (_item_value, r":4: metric 'acc' .* is 2\.0 .*expected values in \[0, 1\]"),
    # 2. duplicate JSON keys
    "duplicate-task-key": (_duplicate_task_key, r"key '\w+' appears twice"),
    # 3. samples consistent with the results file
    "records-lost": (_drop_records, r"18 logged item\(s\).*reports n-samples 24"),
    # 4. readers never hang or crash
    "fifo-run": (_fifo_run, r"FIFO \(named pipe\)"),
    "fifo-samples": (_fifo_samples, r"samples_.*FIFO \(named pipe\)"),
    "dev-zero-samples": (_dev_zero_samples, r"samples_.*character device"),
    "dev-zero-results": (_dev_zero_results, r"results_.*character device"),
    "gzip-results": (_gzip_results, r"gzip-compressed.*decompress"),
    "gzip-samples": (_gzip_samples, r"samples_.*gzip-compressed.*decompress"),
    "gzip-samples-renamed": (_gzip_samples_renamed, r"jsonl\.gz is gzip-compressed.*decompress"),
    "latin1-results": (_latin1_results, r"results_.*not UTF-8 text \(byte 0xe9"),
    "latin1-samples": (_latin1_samples, r"samples_.*:1: not UTF-8 text \(byte 0xe9"),
    "deep-json": (_deep_results, r"nested too deeply"),
    "huge-int-results": (_huge_int_results, r"integer literal of 5000 digits"),
    "huge-int-samples": (_huge_int_samples, r":3: a JSON number cannot be read"),
    "empty-results": (_empty_results, r"the file is empty"),
    "empty-samples": (_empty_samples, r"empty samples file"),
}
_NEEDS_FIFO = {"fifo-run", "fifo-samples"}


def _argv(tool: str, tmp: Path, target: Path, others: list[Path]) -> list[str]:
    if tool == "report":
        return ["report", str(target), "--suite", "mtl_suite", "--missing", "drop", "--n-resamples", "100"]
    if tool == "compare":
        return ["compare", str(target), str(others[0]), "--n-resamples", "100"]
    if tool == "transfer":
        return ["transfer", "--base", str(others[0]), "--source", f"sst2={target}", "--n-resamples", "100"]
    if tool == "correlate":
        return ["correlate", str(target.parent)]
    out = tmp / "w.json"
    return ["weights", "fit", str(target), *map(str, others), "--scheme", "equal", "--suite", "mtl_demo"] + [
        "--out",
        str(out),
        "--quiet",
    ]


@pytest.mark.parametrize("tool", TOOLS)
@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_run_is_refused_by_every_reader(tmp_path: Path, case: str, tool: str) -> None:
    if case in _NEEDS_FIFO and not HAS_FIFO:
        pytest.skip("no os.mkfifo here")
    if tool == "correlate" and case == "fifo-run":
        pytest.skip("correlate takes a folder of runs; a FIFO panel is covered by the panel cases")
    mutate, match = CASES[case]
    root = tmp_path / "runs"
    runs = _demo_runs(root) if tool == "weights-fit" else _plain_runs(root)
    task = DEMO_TASKS[0] if tool == "weights-fit" else "sst2"
    target = mutate(runs[0], task)
    inputs = digest([root])
    outcome = run_cli(_argv(tool, tmp_path, target, runs[1:]), timeout=90)
    assert_refused(outcome, match=match, inputs=inputs)
    assert not (tmp_path / "w.json").exists()


@pytest.mark.parametrize("tool", TOOLS)
def test_undamaged_fixture_runs_are_accepted(tmp_path: Path, tool: str) -> None:
    """The worlds the refusals start from are themselves accepted (the refusals are the damage's)."""
    root = tmp_path / "runs"
    runs = _demo_runs(root) if tool == "weights-fit" else _plain_runs(root)
    outcome = run_cli(_argv(tool, tmp_path, runs[0], runs[1:]), timeout=90)
    assert outcome.code == 0, outcome.stderr[-2000:]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any file")
@pytest.mark.parametrize("tool", ("report", "compare", "correlate"))
def test_unreadable_results_file_is_refused(tmp_path: Path, tool: str) -> None:
    root = tmp_path / "runs"
    runs = _plain_runs(root)
    res = _results(runs[0])
    res.chmod(0)
    try:
        outcome = run_cli(_argv(tool, tmp_path, runs[0], runs[1:]), timeout=90)
    finally:
        res.chmod(0o644)
    assert_refused(outcome, match=r"permission denied")


# --------------------------------------------------------------------------- panels (CSV)


def _panel_rows(n: int = 12) -> list[list[str]]:
    rng = np.random.default_rng(2)
    f = rng.normal(size=n)
    rows = [["Model", "Type", "License", "A", "B", "C"]]
    for i in range(n):
        a, b, c = f[i] + 0.4 * rng.normal(), f[i] + 0.4 * rng.normal(), rng.normal()
        rows.append(
            [
                f"org/m{i}",
                "pretrained" if i % 2 else "chat",
                "mit",
                *(f"{50 + 10 * v:.2f}" for v in (a, b, c)),
            ]
        )
    return rows


def _write_panel(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
    path.write_bytes(("\n".join(",".join(r) for r in rows) + "\n").encode(encoding))
    return path


def _panel_argv(tool: str, tmp: Path, panel: Path, *extra: str) -> list[str]:
    if tool == "correlate":
        return ["correlate", str(panel), "--id-column", "Model", *extra]
    return [
        "weights",
        "fit",
        str(panel),
        "--scheme",
        "redundancy",
        "--id-column",
        "Model",
        "--suite-id",
        "toy@1",
        "--scale",
        "0.01",
        "--out",
        str(tmp / "w.json"),
        "--quiet",
        *extra,
    ]


PANEL_TOOLS = ("correlate", "weights-fit")


def _cell(value: str) -> Callable[[list[list[str]]], None]:
    def edit(rows: list[list[str]]) -> None:
        rows[4][4] = value  # column B, row 5 (model org/m3)

    return edit


PANEL_CASES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "percent-cell": (
        lambda p: _write_panel(p, _edit(_panel_rows(), _cell("85%"))),
        r"column 'B' is mostly numeric .*row 5 \(model 'org/m3'\): '85%'.*--scale 0\.01",
    ),
    "text-cell": (
        lambda p: _write_panel(p, _edit(_panel_rows(), _cell("abc"))),
        r"column 'B' is mostly numeric .*row 5 \(model 'org/m3'\): 'abc'",
    ),
    "empty-file": (lambda p: (p.write_bytes(b""), p)[1], r"is empty"),
    "header-only-blank": (lambda p: (p.write_bytes(b"\n\n"), p)[1], r"is empty"),
    "latin1": (
        lambda p: _write_panel(p, _edit(_panel_rows(), lambda r: r[3].__setitem__(1, "café")), "latin-1"),
        r":4: not UTF-8 text \(byte 0xe9 .*re-save it as UTF-8",
    ),
    "duplicate-ids": (
        lambda p: _write_panel(p, _edit(_panel_rows(), lambda r: r.append(list(r[2])))),
        r"model id\(s\) in column 'Model' repeat \('org/m1' on rows 3, 14\).*--duplicates first\|mean",
    ),
    "gzip": (
        lambda p: (p.write_bytes(gzip.compress(_write_panel(p, _panel_rows()).read_bytes(), mtime=0)), p)[1],
        r"gzip-compressed.*decompress",
    ),
}


def _edit(rows: list[list[str]], edit: Callable[[list[list[str]]], object]) -> list[list[str]]:
    edit(rows)
    return rows


@pytest.mark.parametrize("tool", PANEL_TOOLS)
@pytest.mark.parametrize("case", sorted(PANEL_CASES))
def test_bad_panel_is_refused(tmp_path: Path, case: str, tool: str) -> None:
    make, match = PANEL_CASES[case]
    panel = make(tmp_path / "panel.csv")
    inputs = digest([panel])
    assert_refused(run_cli(_panel_argv(tool, tmp_path, panel), timeout=90), match=match, inputs=inputs)
    assert not (tmp_path / "w.json").exists()


@pytest.mark.skipif(not HAS_FIFO, reason="no os.mkfifo here")
@pytest.mark.parametrize("tool", PANEL_TOOLS)
def test_fifo_panel_is_refused_without_hanging(tmp_path: Path, tool: str) -> None:
    fifo = tmp_path / "panel.csv"
    os.mkfifo(fifo)
    extra = ("--suite", "mtl_demo") if tool == "weights-fit" else ()
    outcome = run_cli(_panel_argv(tool, tmp_path, fifo, *extra), timeout=60)
    # correlate names the FIFO; weights fit takes a non-file PANEL for run folders and refuses it there
    assert_refused(outcome, match=r"FIFO|at least 3 run folders")


@pytest.mark.parametrize("tool", PANEL_TOOLS)
@pytest.mark.parametrize("policy", ("first", "mean"))
def test_duplicate_ids_accepted_when_the_user_chooses(tmp_path: Path, tool: str, policy: str) -> None:
    rows = _panel_rows()
    rows.append(list(rows[2]))
    panel = _write_panel(tmp_path / "panel.csv", rows)
    outcome = run_cli(_panel_argv(tool, tmp_path, panel, "--duplicates", policy), timeout=90)
    assert outcome.code == 0, outcome.stderr[-2000:]


@pytest.mark.parametrize("tool", PANEL_TOOLS)
def test_na_tokens_are_gaps_and_text_columns_are_metadata(tmp_path: Path, tool: str) -> None:
    rows = _panel_rows(16)
    for i, token in enumerate(["", "NA", "N/A", "n/a", "nan", "NaN", "null", "None", "-"]):
        rows[2 + i][3 + i % 3] = token
    panel = _write_panel(tmp_path / "panel.csv", rows)
    extra = ("--impute", "pca", "--format", "json") if tool == "correlate" else ("--missing", "drop")
    outcome = run_cli(_panel_argv(tool, tmp_path, panel, *extra), timeout=90)
    assert outcome.code == 0, outcome.stderr[-2000:]
    if tool == "correlate":
        d = json.loads(outcome.stdout)
        assert d["tasks"] == ["A", "B", "C"]  # Type and License (text) left out; A, B, C kept
        assert d["imputation"]["n_imputed"] == 9
    else:
        wf = json.loads((tmp_path / "w.json").read_text(encoding="utf-8"))
        assert set(wf["weights"]) == {"A", "B", "C"}
        assert wf["population"]["n_models"] == 16 - 9  # the 9 rows with a gap dropped (listwise)
