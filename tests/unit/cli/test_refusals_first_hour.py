"""Refusals and marks instead of silence (issue 11, item 5), through ``lm_eval_mtl.cli.main.main``.

* ``transfer --source NAME=RUN`` where NAME is no task of the runs: exit 2, one line naming the
  source and the tasks (``--any-source-name`` accepts it);
* ``correlate`` below the minimum number of models: exit 2 with the minimum of each statistic; at
  the minimum, no -inf, no nan and no numpy warning: undefined cells are blank, with a warning;
* ``compare`` and ``transfer`` on a folder holding several runs say which file they used;
* a run made with ``lm_eval --limit`` is marked in ``report``'s table, headline and signature, and
  in ``compare`` and ``transfer``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest
from score_runs import write_run

from lm_eval_mtl.cli.main import main
from lm_eval_mtl.errors import DegenerateDataWarning

RES = ["--n-resamples", "100", "--seed", "0"]


def _call(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _runs(tmp_path: Path) -> dict[str, Path]:
    rng = np.random.default_rng(0)
    base = {t: (rng.random(60) < 0.5).astype(float) for t in ("rte", "boolq")}
    ft = {t: np.maximum(v, (rng.random(60) < 0.2).astype(float)) for t, v in base.items()}
    return {
        "base": write_run(tmp_path / "base", "org/base", {t: {"scores": v} for t, v in base.items()}),
        "ft": write_run(tmp_path / "ft", "org/ft", {t: {"scores": v} for t, v in ft.items()}),
    }


# ------------------------------------------------------------------ transfer --source


def test_a_source_named_like_no_task_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = _runs(tmp_path)
    argv = ["transfer", "--base", str(runs["base"]), "--source", f"sst2={runs['ft']}", *RES]
    code, out, err = _call(capsys, *argv)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1
    assert lines[0].startswith("lm-eval-mtl transfer: error: --source sst2: names no task of the runs")
    assert "(tasks: rte, boolq)" in lines[0] and "--any-source-name" in lines[0]
    code, _, err = _call(
        capsys, "transfer", "--base", str(runs["base"]), "--source", f"rte_={runs['ft']}", *RES
    )
    assert code == 2 and "Did you mean: rte?" in err
    # a source named like its task, or any name with --any-source-name, is accepted
    assert (
        _call(capsys, "transfer", "--base", str(runs["base"]), "--source", f"rte={runs['ft']}", *RES)[0] == 0
    )
    code, out, err = _call(capsys, *argv, "--any-source-name", "--format", "json")
    assert code == 0, err
    assert json.loads(out)["sources"] == ["sst2"]
    # the manifest's sources are checked the same way
    manifest = tmp_path / "study.yaml"
    manifest.write_text("base: base\nsources:\n  sst2: ft\nunits: raw\n", encoding="utf-8")
    code, _, err = _call(capsys, "transfer", "--manifest", str(manifest), *RES)
    assert code == 2 and "--source sst2: names no task" in err


# ------------------------------------------------------------------ correlate


def _population(tmp_path: Path, values: dict[str, list[float]]) -> Path:
    root = tmp_path / "pop"
    for i in range(len(next(iter(values.values())))):
        write_run(
            root / f"m{i}",
            f"org/m{i}",
            {t: {"scores": [1.0, 0.0], "value": v[i], "stderr": 0.05} for t, v in values.items()},
            samples=False,
        )
    return root


def test_correlate_refuses_fewer_models_than_it_needs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pop = _population(tmp_path, {"a": [0.5, 0.6, 0.9], "b": [0.2, 0.4, 0.7], "c": [0.3, 0.1, 0.8]})
    code, out, err = _call(capsys, "correlate", str(pop))
    assert code == 2 and out == ""
    assert "correlations need at least 4 models and 2 tasks; got 3 models x 3 tasks" in err
    assert "Fisher-z intervals (n - 3 > 0): 4" in err and "leave-one-model-out predictive R^2" in err


def test_correlate_at_the_minimum_prints_no_inf_nan_or_numpy_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # task a: three of the four models share a value, so no line can be fitted without the fourth
    values = {"a": [0.5, 0.5, 0.5, 0.9], "b": [0.2, 0.4, 0.5, 0.7], "c": [0.3, 0.1, 0.6, 0.8]}
    pop = _population(tmp_path, values)
    code, out, err = _call(capsys, "correlate", str(pop))
    assert code == 0, err
    assert "inf" not in out and "nan" not in out
    assert "divide by zero" not in err and "invalid value" not in err and "RuntimeWarning" not in err
    assert err.count("warning: predictive R^2 from a is undefined (left blank)") == 1
    assert "-: predictive R^2 from a is undefined" in out
    assert "only 4 models (every statistic here needs at least 4)" in out
    code, js, err = _call(capsys, "correlate", str(pop), "--format", "json")
    d = json.loads(js)
    assert d["predictive_r2"][0] == [1.0, None, None] and d["undefined_predictors"] == ["a"]
    assert [d["predictive_r2"][i][i] for i in range(3)] == [1.0, 1.0, 1.0]
    assert d["minimum_models"] and set(d["minimum_models"].values()) == {4}
    # the API warns once, with the library's own warning, and no numpy warning
    from lm_eval_mtl.analysis.correlate import correlate_tasks

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        st = correlate_tasks(pop)
    assert [w.category for w in caught] == [DegenerateDataWarning]
    assert st.redundant == () or all(np.isfinite(r) for _, _, r in st.redundant)


# ------------------------------------------------------------------ several runs in a folder


def test_compare_and_transfer_say_which_run_of_a_folder_they_used(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = _runs(tmp_path)
    rng = np.random.default_rng(9)
    old = {t: {"scores": (rng.random(60) < 0.5).astype(float)} for t in ("rte", "boolq")}
    write_run(tmp_path / "ft", "org/ft", old, ts="2025-06-01T00-00-00.000000")  # an older run beside it
    used, ignored = "results_2026-01-01T00-00-00.000000.json", "results_2025-06-01T00-00-00.000000.json"
    code, out, err = _call(capsys, "compare", str(runs["base"]), str(runs["ft"]), *RES)
    assert code == 0, err
    assert f"run org/ft: {runs['ft']} holds 2 runs; used {used} (the latest), ignored {ignored}" in out
    code, out, err = _call(capsys, "compare", str(runs["base"]), str(runs["ft"]), "--format", "json", *RES)
    assert f"note: run org/ft: {runs['ft']} holds 2 runs; used {used}" in err
    assert json.loads(out)["other_runs"] == {"org/ft": [str(runs["ft"] / ignored)]}
    # a results file named on the command line is the user's choice: no note
    code, out, _ = _call(capsys, "compare", str(runs["base"]), str(runs["ft"] / ignored), *RES)
    assert code == 0 and "holds 2 runs" not in out
    code, out, err = _call(
        capsys, "transfer", "--base", str(runs["base"]), "--source", f"rte={runs['ft']}", *RES
    )
    assert code == 0, err
    assert f"run source rte: {runs['ft']} holds 2 runs; used {used} (the latest), ignored {ignored}" in out


# ------------------------------------------------------------------ --limit runs


def _demo_tasks(seed: int) -> dict[str, Any]:
    import sacrebleu

    from lm_eval_mtl.suites import load_suite

    rng = np.random.default_rng(seed)
    tasks: dict[str, Any] = {}
    for m in load_suite("mtl_demo").members:
        if m.metric == "chrf":
            refs = [f"das ist satz {i} hier" for i in range(20)]
            preds = [f"das ist ein satz {i}" for i in range(20)]
            tasks[m.task] = fx.corpus_task(refs, preds, aggregate=sacrebleu.corpus_chrf(preds, [refs]).score)
        elif m.output_type == "multiple_choice":
            tasks[m.task] = fx.mc_task((rng.random(20) < 0.6).astype(int), round(1 / m.chance))
        else:
            tasks[m.task] = fx.gen_task((rng.random(20) < 0.3).astype(int), metric=m.metric, filter=m.filter)
    return tasks


def test_a_limit_run_is_marked_in_the_table_the_headline_and_the_signature(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    limited = fx.write_run(tmp_path / "lim", _demo_tasks(0), model="org/a", limit=20)
    full = fx.write_run(tmp_path / "full", _demo_tasks(0), model="org/a")
    argv = ["report", "--suite", "mtl_demo", *RES]
    code, out, err = _call(capsys, *argv[:1], str(limited), *argv[1:])
    assert code == 0, err
    assert out.splitlines()[0] == "mtl_demo@1.0: org/a [--limit 20]"
    assert "; lm_eval --limit 20: first 20 items per task, not the full benchmark)" in out  # the headline
    assert "LIMITED RUN: lm_eval --limit 20" in out
    assert out.rstrip().splitlines()[-1].endswith("|limit=20")
    code, js, _ = _call(capsys, *argv[:1], str(limited), *argv[1:], "--format", "json")
    d = json.loads(js)
    assert d["limit"] == 20 and d["signature"].endswith("|limit=20")
    code, out, _ = _call(capsys, *argv[:1], str(full), *argv[1:])
    assert "limit" not in out.lower()
    # the signature differs from the full run's only by the limit field (same items here)
    full_sig = json.loads(_call(capsys, *argv[:1], str(full), *argv[1:], "--format", "json")[1])["signature"]
    assert d["signature"] == full_sig + "|limit=20"


def test_compare_and_transfer_mark_limit_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = fx.write_run(tmp_path / "a", _demo_tasks(0), model="org/a", limit=20)
    b = fx.write_run(tmp_path / "b", _demo_tasks(1), model="org/b", limit=20)
    code, out, err = _call(capsys, "compare", str(a), str(b), "--suite", "mtl_demo", *RES)
    assert code == 0, err
    assert out.splitlines()[0] == "A = org/a  vs  B = org/b [--limit 20]"
    assert (
        "every run was made with lm_eval --limit 20: first 20 items per task, not the full benchmark." in out
    )
    code, js, err = _call(capsys, "compare", str(a), str(b), "--suite", "mtl_demo", "--format", "json", *RES)
    assert json.loads(js)["limits"] == {"org/a": 20.0, "org/b": 20.0}
    assert "note: every run was made with lm_eval --limit 20" in err
    argv = ["transfer", "--base", str(a), "--source", f"mtl_demo_topic={b}", "--suite", "mtl_demo", *RES]
    code, out, err = _call(capsys, *argv)
    assert code == 0, err
    assert out.splitlines()[0] == "Transfer matrix T[source, target] [--limit 20]"
    assert "every run was made with lm_eval --limit 20" in out
    assert json.loads(_call(capsys, *argv, "--format", "json")[1])["limits"]["base"] == 20.0


def test_signature_limit_field() -> None:
    from lm_eval_mtl.scoring.signature import limit_mark, limit_text, signature
    from lm_eval_mtl.scoring.types import WeightsInfo
    from lm_eval_mtl.suites import load_suite

    spec = load_suite("mtl_demo")
    info = WeightsInfo(scheme="equal", id="equal", sha256="0" * 64)
    base = signature(spec, info, "0.4.13", {"t": "h"})
    assert "limit=" not in base
    assert signature(spec, info, "0.4.13", {"t": "h"}, limit=10.0) == base + "|limit=10"
    assert signature(spec, info, "0.4.13", {"t": "h"}, ("x",), limit=0.25) == base + "|limit=0.25|drop=x"
    assert limit_text(3.0) == "3" and limit_text(0.5) == "0.5"
    assert limit_mark(None) == "" and "a fraction 0.5 of each task's items" in limit_mark(0.5)
