"""`report` on a folder of many model runs: lm_eval_mtl.report.many, find_model_runs and the CLI wiring."""

from __future__ import annotations

import csv
import gc
import io
import json
import math
import os
import shutil
import subprocess
import tracemalloc
import weakref
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest
import score_runs as sr

from lm_eval_mtl import ConfidenceInterval, MTLError, ResultsFormatError
from lm_eval_mtl.io import load_run
from lm_eval_mtl.io.runs import find_model_runs
from lm_eval_mtl.report import many
from lm_eval_mtl.report.many import (
    ManyScores,
    ModelComposite,
    model_seed,
    plot_many,
    rank_models,
    render_many,
    score_many,
)
from lm_eval_mtl.scoring.composite import score_run
from lm_eval_mtl.suites import MemberSpec, SuiteSpec

SUITE = SuiteSpec(
    name="mtl_x",
    version="1.0",
    kind="suite",
    members=(
        MemberSpec("t1", "acc", "none", 0.5, 1.0, "a"),
        MemberSpec("t2", "acc", "none", 0.5, 1.0, "b"),
    ),
    weights="equal",
)
B = 300


def _scores(p: float, n: int, seed: int) -> list[float]:
    return (np.random.default_rng(seed).random(n) < p).astype(float).tolist()


def write_model(root: Path, model: str, p: float, *, seed: int = 0, n: int = 60, **spec: Any) -> Path:
    folder = root / model.replace("/", "__")
    tasks = {t: {"scores": _scores(p, n, seed + i), **spec} for i, t in enumerate(("t1", "t2"))}
    return sr.write_run(folder, model, tasks)


@pytest.fixture()
def root(tmp_path: Path) -> Path:
    out = tmp_path / "out"
    write_model(out, "org/a", 0.70, seed=1)
    write_model(out, "org/b", 0.85, seed=2)
    write_model(out, "org/c", 0.60, seed=3)
    return out


def _many(root: Path, **kw: Any) -> ManyScores:
    return score_many(find_model_runs(root), kw.pop("suite", SUITE), n_resamples=B, path=root, **kw)


# ------------------------------------------------------------------------------ folder detection


def test_find_model_runs_lists_one_folder_per_model_with_the_latest_run(root: Path) -> None:
    older = "2025-06-01T00-00-00.000000"
    sr.write_run(root / "org__a", "org/a", {"t1": {"scores": [1.0, 0.0]}}, ts=older)
    found = find_model_runs(root)
    assert [m.name for m in found] == ["org__a", "org__b", "org__c"]
    a = found[0]
    assert a.results.name == f"results_{sr.TS}.json"
    assert [p.name for p in a.other_runs] == [f"results_{older}.json"]
    assert found[1].other_runs == ()
    # a single run (the folder itself holds results), a file and a missing path are not many runs
    assert find_model_runs(root / "org__b") == ()
    assert find_model_runs(a.results) == ()
    assert find_model_runs(root / "nope") == ()
    # the chosen file is what load_run picks for that folder
    assert load_run(a.folder).path == a.results


# ------------------------------------------------------------------------------ values and seeds


def test_each_row_equals_score_run_with_the_model_seed(root: Path) -> None:
    scores = _many(root, seed=5)
    assert [r.composite.model for r in scores.rows] == ["org/b", "org/a", "org/c"]
    for row in scores.rows:
        c = row.composite
        assert c.seed == model_seed(5, c.model)
        api = score_run(load_run(root / c.folder), SUITE, rng=c.seed, n_resamples=B)
        assert (c.value, c.se, c.ci, c.signature, c.method) == (
            api.value,
            api.se,
            api.ci,
            api.signature,
            api.method,
        )
        assert c.tasks_scored == 2 and c.tasks_dropped == ()
    assert scores.comparable and len(scores.signatures) == 1


def test_model_seed_depends_on_the_base_seed_and_name_only(root: Path, tmp_path: Path) -> None:
    assert model_seed(0, "org/a") == model_seed(0, "org/a") != model_seed(1, "org/a")
    assert model_seed(0, "org/a") != model_seed(0, "org/b")
    assert 0 <= model_seed(123, "x") < 2**32
    with pytest.raises(ValueError, match="`seed`"):
        model_seed(-1, "x")
    before = {r.composite.model: r.composite for r in _many(root).rows}
    write_model(root, "org/d", 0.9, seed=9)  # adding a model changes no other model's interval
    after = {r.composite.model: r.composite for r in _many(root).rows}
    assert set(after) == {*before, "org/d"}
    for model, c in before.items():
        assert after[model] == c


# ------------------------------------------------------------------------------------ ranking


def _c(model: str, value: float, low: float, high: float) -> ModelComposite:
    return ModelComposite(
        model=model,
        folder=model,
        results_file="",
        other_runs=(),
        value=value,
        se=0.01,
        ci=ConfidenceInterval(low, high),
        confidence_level=0.95,
        method="percentile",
        n_resamples=B,
        seed=0,
        tasks_scored=2,
        tasks_dropped=(),
        signature="s@1|norm=chance|w=equal@sha256:0|lm-eval=0.4.13|tasks=00",
    )


def test_ranks_share_ties_and_the_rank_range_counts_non_overlapping_intervals() -> None:
    rows = rank_models(
        [
            _c("m3", 0.30, 0.25, 0.35),
            _c("m2b", 0.50, 0.45, 0.55),
            _c("m1", 0.90, 0.85, 0.95),
            _c("m2a", 0.50, 0.34, 0.60),  # overlaps m3 (0.35 >= 0.34)
            _c("m5", 0.10, math.nan, math.nan),  # unknown interval: overlaps everything
        ]
    )
    got = [(r.composite.model, r.rank, r.rank_low, r.rank_high) for r in rows]
    assert got == [
        ("m1", 1, 1, 2),  # only m5 (NaN) may overlap it
        ("m2a", 2, 2, 5),  # entirely above it: m1; it overlaps m2b, m3 and m5
        ("m2b", 2, 2, 4),  # entirely below it: m3
        ("m3", 4, 3, 5),
        ("m5", 5, 1, 5),
    ]


def test_equal_composites_of_two_models_share_a_rank(tmp_path: Path) -> None:
    out = tmp_path / "out"
    write_model(out, "org/x", 0.7, seed=4)
    write_model(out, "org/y", 0.7, seed=4)  # the same items: the same composite, other seeds
    write_model(out, "org/z", 0.2, seed=5)
    rows = _many(out).rows
    assert [(r.composite.model, r.rank) for r in rows] == [("org/x", 1), ("org/y", 1), ("org/z", 3)]
    assert rows[0].composite.value == rows[1].composite.value
    assert rows[0].composite.seed != rows[1].composite.seed


# ------------------------------------------------------------------------------------ formats


def test_every_format_renders_and_machine_formats_parse(root: Path) -> None:
    scores = _many(root)
    for fmt, marker in (("table", "rank range"), ("md", "| rank | model |"), ("latex", "\\toprule")):
        text = render_many(scores, fmt)  # type: ignore[arg-type]
        assert marker in text
        for r in scores.rows:
            assert f"{r.composite.value:.3f}" in text
        assert "signature (all 3 models): mtl_x@1.0|" in text or "mtl\\_x@1.0" in text
        assert "not a joint confidence set" in text
    rows = list(csv.DictReader(io.StringIO(render_many(scores, "csv"))))
    assert len(rows) == 3
    for line, r in zip(rows, scores.rows, strict=True):
        c = r.composite
        assert float(line["composite"]) == c.value  # full precision
        assert (float(line["ci_low"]), float(line["ci_high"])) == c.ci
        assert int(line["rank"]) == r.rank and int(line["seed"]) == c.seed
        assert line["signature"] == c.signature and line["status"] == "scored"
        for key in ("composite", "se", "ci_low", "ci_high", "confidence_level"):
            float(line[key])  # plain numbers: no brackets, no rounding marks
    d = json.loads(render_many(scores, "json"))
    assert [m["model"] for m in d["models"]] == [r.composite.model for r in scores.rows]
    assert d["models"][0]["ci"] == list(scores.rows[0].composite.ci)
    assert d["comparable"] is True and d["n_models"] == 3 and d["not_scored"] == []
    with pytest.raises(ValueError, match="`fmt`"):
        render_many(scores, "xml")  # type: ignore[arg-type]


def test_differing_signatures_are_flagged(root: Path) -> None:
    write_model(root, "org/d", 0.8, seed=7, task_hash="other-documents")
    scores = _many(root)
    assert scores.signature_differences == ("tasks",)
    assert not scores.comparable
    text = render_many(scores, "table")
    assert "WARNING: the models' signatures differ in tasks=" in text
    assert "NOT comparable" in text and "signature B:" in text
    header = text.splitlines()[2]
    assert header.split()[-1] == "sig"
    assert {m["signature_group"] for m in json.loads(render_many(scores, "json"))["models"]} == {"A", "B"}


def test_an_lm_eval_version_difference_is_noted_but_comparable(root: Path) -> None:
    f = next((root / "org__c").glob("results_*.json"))
    data = json.loads(f.read_text())
    data["lm_eval_version"] = "0.4.9"
    f.write_text(json.dumps(data))
    scores = _many(root)
    assert scores.signature_differences == ("lm-eval",)
    assert scores.comparable
    assert "differ only in lm-eval=" in render_many(scores, "md")


# ------------------------------------------------------------------------------- failing folders


def _break(root: Path, model: str) -> None:
    f = next((root / model).glob("results_*.json"))
    f.write_text(f.read_text()[:40])


def test_a_failing_model_folder_is_an_error_naming_it(root: Path) -> None:
    _break(root, "org__b")
    with pytest.raises(ResultsFormatError, match="org__b") as info:
        _many(root)
    assert "\n" not in str(info.value)


def test_a_model_lacking_a_task_is_an_error_naming_it_or_drops_the_member(root: Path) -> None:
    sr.write_run(root / "org__e", "org/e", {"t1": {"scores": _scores(0.7, 60, 11)}})
    with pytest.raises(MTLError, match="org__e"):
        _many(root)
    scores = _many(root, missing="drop")
    e = next(r.composite for r in scores.rows if r.composite.model == "org/e")
    assert e.tasks_dropped == ("t2",) and e.tasks_scored == 1
    assert not scores.comparable and "drop" in scores.signature_differences
    assert "DROPPED members in 1 model(s)" in render_many(scores, "table")


def test_with_missing_drop_a_failing_folder_is_listed_as_not_scored(root: Path) -> None:
    _break(root, "org__b")
    scores = _many(root, missing="drop")
    assert [r.composite.model for r in scores.rows] == ["org/a", "org/c"]
    assert [x.folder for x in scores.not_scored] == ["org__b"]
    assert "NOT SCORED org__b (--missing drop):" in render_many(scores, "table")
    lines = list(csv.DictReader(io.StringIO(render_many(scores, "csv"))))
    assert [(x["folder"], x["status"]) for x in lines][-1] == ("org__b", "not scored")
    assert lines[-1]["composite"] == "" and "org__b" in lines[-1]["reason"]
    assert json.loads(render_many(scores, "json"))["not_scored"][0]["folder"] == "org__b"


def test_no_model_scored_is_an_error(root: Path) -> None:
    for m in ("org__a", "org__b", "org__c"):
        _break(root, m)
    with pytest.raises(MTLError, match="no model folder .* could be scored"):
        _many(root, missing="drop")


# ---------------------------------------------------------------------------------------- memory


def test_no_run_or_composite_score_outlives_its_model(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    refs: list[weakref.ref[Any]] = []
    real_load, real_score = many.load_run, many.score_run

    def load(*a: Any, **k: Any) -> Any:
        run = real_load(*a, **k)
        refs.append(weakref.ref(run))
        return run

    def score(*a: Any, **k: Any) -> Any:
        s = real_score(*a, **k)
        refs.append(weakref.ref(s))
        refs.append(weakref.ref(s._bootstrap))
        return s

    monkeypatch.setattr(many, "load_run", load)
    monkeypatch.setattr(many, "score_run", score)
    scores = _many(root)
    gc.collect()
    assert len(refs) == 9 and len(scores.rows) == 3
    assert [r for r in refs if r() is not None] == []


def test_peak_memory_does_not_grow_with_the_number_of_models(tmp_path: Path) -> None:
    out = tmp_path / "out"
    for i in range(20):
        write_model(out, f"org/m{i:02d}", 0.5 + i / 50, seed=i, n=200)
    models = find_model_runs(out)
    _ = score_many(models[:2], SUITE, n_resamples=1000)  # warm up: imports, caches

    def peak(k: int) -> int:
        gc.collect()
        tracemalloc.start()
        try:
            score_many(models[:k], SUITE, n_resamples=1000)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    # measured: +4% from 5 to 20 models (the rows); keeping each CompositeScore alive: +19%, each run: x2.6
    small, large = peak(5), peak(20)
    assert large < 1.1 * small, (small, large)


# ------------------------------------------------------------------------------------------ plot


def test_one_forest_plot_of_the_composites(root: Path, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot_many(_many(root), tmp_path / "p" / "models.png")
    assert path.read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------------------------------- CLI


def _demo_tasks(p: float, seed: int) -> dict[str, Any]:
    import sacrebleu

    from lm_eval_mtl.suites import load_suite

    rng = np.random.default_rng(seed)
    tasks: dict[str, Any] = {}
    for m in load_suite("mtl_demo").members:
        if m.metric == "chrf":
            refs = [f"das ist satz {i} hier" for i in range(40)]
            preds = [f"das ist ein satz {i}" for i in range(40)]
            tasks[m.task] = fx.corpus_task(refs, preds, aggregate=sacrebleu.corpus_chrf(preds, [refs]).score)
        elif m.output_type == "multiple_choice":
            tasks[m.task] = fx.mc_task((rng.random(40) < p).astype(int), round(1 / m.chance))
        else:
            tasks[m.task] = fx.gen_task(
                (rng.random(40) < p / 2).astype(int), metric=m.metric, filter=m.filter
            )
    return tasks


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("many") / "out"
    for i, (model, p) in enumerate((("org/a", 0.6), ("org/b", 0.8), ("org/c", 0.5))):
        tasks = _demo_tasks(p, i)
        fx.write_run(out, tasks, model=model, groups={"mtl_demo": list(tasks)})
    return out


def main(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    from lm_eval_mtl.cli.main import main as cli_main

    try:
        code = cli_main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_writes_one_table_and_the_json_matches_the_api(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = main(capsys, "report", str(demo_root), "--n-resamples", "200", "--seed", "3")
    assert code == 0, err
    assert out.startswith("mtl_demo@1.0: 3 models")
    assert "suite mtl_demo@1.0 (auto-detected from org__a" in err
    assert "\r" not in err  # stderr is not a terminal: no progress bar
    code, out, err = main(
        capsys, "report", str(demo_root), "--n-resamples", "200", "--seed", "3", "--format", "json"
    )
    assert code == 0, err
    d = json.loads(out)
    from lm_eval_mtl.suites import load_suite

    for m in d["models"]:
        api = score_run(
            load_run(demo_root / m["folder"]),
            load_suite("mtl_demo"),
            rng=model_seed(3, m["model"]),
            n_resamples=200,
        )
        assert (m["composite"], m["ci"], m["signature"]) == (api.value, list(api.ci), api.signature)
    assert [m["rank"] for m in d["models"]] == sorted(m["rank"] for m in d["models"])


def test_cli_progress_bar_is_forced_with_progress(
    demo_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = main(
        capsys, "report", str(demo_root), "--method", "analytic", "--progress", "--format", "csv"
    )
    assert code == 0, err
    assert "/3 [" in err and "model/s" in err  # the bar (tqdm throttles its updates)


def test_cli_failing_folder_exits_2_naming_it_or_is_listed_with_missing_drop(
    demo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    shutil.copytree(demo_root, out)
    _break(out, "org__b")
    code, stdout, err = main(capsys, "report", str(out), "--method", "analytic")
    assert code == 2 and stdout == ""
    (line,) = err.strip().splitlines()
    assert line.startswith("lm-eval-mtl report: error: ") and "org__b" in line
    code, stdout, err = main(capsys, "report", str(out), "--method", "analytic", "--missing", "drop")
    assert code == 0, err
    assert "NOT SCORED org__b" in stdout and "1 model folder(s) not scored (org__b" in err


def test_cli_refuses_run_with_many_models(demo_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = main(capsys, "report", str(demo_root), "--run", "2026")
    assert code == 2 and "pass one model's folder" in err


def test_cli_plots_one_forest_plot(
    demo_root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("matplotlib")
    plots = tmp_path / "plots"
    code, _, err = main(
        capsys, "report", str(demo_root), "--method", "analytic", "--plots", str(plots), "--format", "md"
    )
    assert code == 0, err
    assert [p.name for p in plots.iterdir()] == ["composite_models.png"]


@pytest.mark.e2e
def test_console_script_end_to_end(demo_root: Path, tmp_path: Path, lm_eval_mtl_bin: Path) -> None:
    env = dict(os.environ, MPLBACKEND="Agg")
    target = tmp_path / "board.csv"
    proc = subprocess.run(
        [str(lm_eval_mtl_bin), "report", str(demo_root), "--n-resamples", "200", "--format", "csv"]
        + ["--output", str(target)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(target.read_text(encoding="utf-8").splitlines()))
    assert [r["model"] for r in rows] == ["org/b", "org/a", "org/c"]
    assert [r["rank"] for r in rows] == ["1", "2", "3"]
    assert f"wrote {target}" in proc.stderr
