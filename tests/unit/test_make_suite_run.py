"""bench/make_suite_run.py writes an mtl_suite run that the reader loads and the composite scores."""

from __future__ import annotations

import importlib.util
import json
import math
import sys
import warnings
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from lm_eval_mtl.io import load_run
from lm_eval_mtl.scoring.composite import score_run
from lm_eval_mtl.suites import load_suite

BENCH = Path(__file__).resolve().parents[2] / "bench" / "make_suite_run.py"


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_suite_run", BENCH)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["make_suite_run"] = mod  # dataclasses look the module up while the class is built
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("suite_run")
    summary = _maker().make_suite_run(out, scale=0.002, models=2, seed=3, min_items=8)
    return out, summary


def test_writes_one_folder_per_model(tiny_run: tuple[Path, object]) -> None:
    out, summary = tiny_run
    folders = sorted(p.name for p in out.iterdir() if p.is_dir())
    assert folders == ["synth__model-000", "synth__model-001"]
    assert summary.n_records > 0 and summary.n_bytes > 0  # type: ignore[attr-defined]
    for f in folders:
        assert len(list((out / f).glob("results_*.json"))) == 1
        assert len(list((out / f).glob("samples_*.jsonl"))) == len(load_suite("mtl_suite").members)


def test_load_and_score(tiny_run: tuple[Path, object]) -> None:
    out, _ = tiny_run
    suite = load_suite("mtl_suite")
    scores = []
    for model in ("synth__model-000", "synth__model-001"):
        run = load_run(out / model)
        assert "mtl_suite" in run.groups
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # few items / few boolq clusters at this scale: warned, not wrong
            score = score_run(run, suite, n_resamples=200, rng=0)
        assert math.isfinite(score.value)
        assert not score.tasks_dropped
        scores.append(score.value)
    assert scores[0] != scores[1]  # each model has its own ability


def test_gsm8k_filters_banking77_choices_boolq_passages(tiny_run: tuple[Path, object]) -> None:
    out, _ = tiny_run
    run = load_run(out / "synth__model-000")
    strict = run.samples("gsm8k", "strict-match")
    flexible = run.samples("gsm8k", "flexible-extract")
    assert len(strict) == len(flexible) == run.task("gsm8k").n
    assert np.array_equal(strict.doc_ids, flexible.doc_ids)
    assert set(strict.filters_available) == {"strict-match", "flexible-extract"}
    assert np.all(strict.item_scores("exact_match") <= flexible.item_scores("exact_match"))

    bank = run.samples("mtl_banking77")
    assert bank.n_choices is not None and set(bank.n_choices.tolist()) == {77}
    line = json.loads(run.samples_files["mtl_banking77"].read_text(encoding="utf-8").splitlines()[0])
    args = line["arguments"]
    assert len(args) == 77 and len({a["arg_0"] for a in args.values()}) == 1  # the prompt, once per choice
    assert list(line)[:11] == [
        "doc_id",
        "doc",
        "target",
        "arguments",
        "resps",
        "filtered_resps",
        "filter",
        "metrics",
        "doc_hash",
        "prompt_hash",
        "target_hash",
    ]

    boolq = run.samples("boolq")
    labels = boolq.clusters("passage")
    assert 4 <= len(set(labels.tolist())) < len(boolq)


def test_translation_chrf_matches_results(tiny_run: tuple[Path, object]) -> None:
    import sacrebleu

    out, _ = tiny_run
    run = load_run(out / "synth__model-000")
    results = json.loads(run.path.read_text(encoding="utf-8"))["results"]
    for task in ("wmt16-de-en", "wmt16-ro-en"):
        recs = [json.loads(x) for x in run.samples_files[task].read_text(encoding="utf-8").splitlines()]
        refs = [r["chrf"][0] for r in recs]
        preds = [r["chrf"][1] for r in recs]
        assert sacrebleu.corpus_chrf(preds, [refs]).score == pytest.approx(
            results[task]["chrf,none"], abs=1e-9
        )
        assert run.samples(task).pairs["chrf"] == (tuple(refs), tuple(preds))
