"""Invariants between paths: every tool gives the same composite for the same runs.

On every shipped suite, and on runs whose multiple-choice items have 3 to 5 choices:

* the plugin's ``mtl_composite`` row (lm-eval's table) equals ``score_run``'s analytic
  composite on the same results file;
* ``report`` with and without samples agree, or their signatures differ;
* ``compare``'s composite difference equals ``report(A) - report(B)``;
* ``transfer``'s composite cell equals ``compare(source checkpoint, base)``;
* ``compare`` without ``--suite`` on runs that carry the suite's group equals ``compare --suite``.
"""

from __future__ import annotations

import json
import math
import warnings
import zlib
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest

from lm_eval_mtl.analysis.compare import compare_runs
from lm_eval_mtl.analysis.transfer import transfer_matrix
from lm_eval_mtl.errors import DegenerateDataWarning
from lm_eval_mtl.io import load_run
from lm_eval_mtl.plugin.composite import group_composite
from lm_eval_mtl.scoring.composite import score_run
from lm_eval_mtl.stats.corpus import corpus_score, segment_stats
from lm_eval_mtl.suites import SuiteSpec, load_suite

SUITES = ["mtl_suite", "mtl_suite_lite", "mtl_openllm_v1", "mtl_openllm_v2", "mtl_demo", "mtl_suite_vision"]
N = 24
WORDS = ["das", "haus", "ist", "klein", "der", "hund", "lauft", "weit"]


def _k(chance: float) -> int:
    return max(2, round(1.0 / chance)) if chance > 0 else 4


def _suite_run(root: Path, spec: SuiteSpec, model: str, p: float, seed: int, *, varying: bool) -> Path:
    """A run of every member of ``spec``: items consistent with the spec (or 3-5 choices with ``varying``)."""
    rng = np.random.default_rng(seed)
    tasks: dict[str, fx.FixtureTask] = {}
    nested: dict[str, tuple[str, str, list[list[float]]]] = {}
    by_task: dict[str, list[Any]] = {}
    for m in spec.members:
        by_task.setdefault(m.task, []).append(m)
    for task, ms in by_task.items():
        main = ms[0]
        if main.metric in ("chrf", "bleu", "chrf++", "ter"):
            same = np.random.default_rng(
                zlib.crc32(task.encode())
            )  # the references are the task's, not the model's
            refs = [" ".join(same.choice(WORDS, 6)) for _ in range(N)]
            preds = [
                " ".join(w if rng.random() < p else str(rng.choice(WORDS)) for w in r.split()) for r in refs
            ]
            agg = corpus_score(segment_stats(main.metric, refs, preds))  # type: ignore[arg-type]
            tasks[task] = fx.corpus_task(refs, preds, metric=main.metric, aggregate=agg)
            continue
        correct = (rng.random(N) < p).astype(int).tolist()
        keys = {x.cluster for x in ms if x.cluster}
        docs = [{"question": f"{task} q{i}", **{k: f"context {i // 4}" for k in keys}} for i in range(N)]
        if main.output_type == "multiple_choice":
            same = np.random.default_rng(zlib.crc32(task.encode()))  # an item's choices are the task's
            ks: int | list[int] = same.integers(3, 6, N).tolist() if varying else _k(main.chance)
            tasks[task] = fx.mc_task(correct, ks, metric=main.metric, docs=docs)
        else:
            scalar = [x for x in ms if not x.metric.startswith("inst_level")]
            first = scalar[0] if scalar else main
            tasks[task] = fx.gen_task(correct, metric=first.metric, filter=first.filter, docs=docs)
            for x in ms:
                if x.metric.startswith("inst_level"):
                    same = np.random.default_rng(zlib.crc32(task.encode()))  # the instructions are the task's
                    counts = same.integers(1, 4, N)
                    lists = [[float(rng.random() < p) for _ in range(int(c))] for c in counts]
                    nested[task] = (x.metric, x.filter, lists)
        for x in ms:  # a per-item chance the task logs (a ranking task's expected metric at random)
            if x.chance_metric:
                same = np.random.default_rng(zlib.crc32(task.encode()))  # the candidates are the task's
                tasks[task].extra_metrics[x.chance_metric] = same.uniform(0.05, 0.4, N).tolist()
    folder = fx.write_run(root, tasks, model=model, groups={spec.name: list(by_task)})
    for task, (metric, filt, lists) in nested.items():
        _add_nested(folder, task, metric, filt, lists)
    return folder


def _add_nested(folder: Path, task: str, metric: str, filt: str, lists: list[list[float]]) -> None:
    """Add a list-valued metric (IFEval's instruction level) to a task's results row and samples."""
    results = next(folder.glob("results_*.json"))
    data = json.loads(results.read_text())
    flat = [v for xs in lists for v in xs]
    mean = sum(flat) / len(flat)
    data["results"][task][f"{metric},{filt}"] = mean
    data["results"][task][f"{metric}_stderr,{filt}"] = math.sqrt(mean * (1 - mean) / len(flat))
    results.write_text(json.dumps(data))
    samples = next(folder.glob(f"samples_{task}_*.jsonl"))
    recs = [json.loads(line) for line in samples.read_text().splitlines()]
    for rec, xs in zip(recs, lists, strict=True):
        rec[metric] = xs
        rec["metrics"] = [*rec["metrics"], metric]
    samples.write_text("".join(json.dumps(r) + "\n" for r in recs))


def _without_samples(folder: Path, dest: Path) -> Path:
    dest.mkdir(parents=True)
    for f in folder.glob("results_*.json"):
        (dest / f.name).write_text(f.read_text())
    return dest


def _plugin_row(folder: Path, spec: SuiteSpec) -> tuple[float, float]:
    """The composite lm-eval's Group.aggregate gets from the plugin, from the results file's rows."""
    data = json.loads(next(folder.glob("results_*.json")).read_text())
    metrics = {
        t: {**row, "sample_len": data["n-samples"][t]["effective"]}
        for t, row in data["results"].items()
        if t in data["n-samples"]
    }
    gc = group_composite(spec, metrics)
    return gc.value, gc.stderr


def _quiet(fn: Any, *args: Any, **kw: Any) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        return fn(*args, **kw)


@pytest.fixture(
    scope="module",
    params=[(s, v) for s in SUITES for v in (False, True)],
    ids=lambda x: f"{x[0]}-{'varying' if x[1] else 'fixed'}k",
)
def runs(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[SuiteSpec, dict[str, Path], bool]:
    name, varying = request.param
    spec = load_suite(name)
    root = tmp_path_factory.mktemp(f"{name}-{varying}")
    folders = {
        "base": _suite_run(root, spec, "org/base", 0.5, 1, varying=varying),
        "ft": _suite_run(root, spec, "org/ft", 0.7, 2, varying=varying),
    }
    folders["base-nosamples"] = _without_samples(folders["base"], root / "base-nosamples")
    return spec, folders, varying


def test_plugin_row_equals_the_analytic_report(runs: tuple[SuiteSpec, dict[str, Path], bool]) -> None:
    spec, f, _ = runs
    value, se = _plugin_row(f["base"], spec)
    c = _quiet(score_run, load_run(f["base-nosamples"]), spec, method="analytic")
    assert c.value == pytest.approx(value, abs=1e-12)
    assert c.se == pytest.approx(se, abs=1e-12, nan_ok=True)
    assert "norm=chance|" in c.signature


def test_report_with_and_without_samples_agree_or_say_why(
    runs: tuple[SuiteSpec, dict[str, Path], bool],
) -> None:
    spec, f, varying = runs
    with_s = _quiet(score_run, load_run(f["base"]), spec, rng=0, n_resamples=200)
    without = _quiet(score_run, load_run(f["base-nosamples"]), spec, rng=0, n_resamples=200)
    if with_s.signature == without.signature:
        assert with_s.value == pytest.approx(without.value, abs=1e-12)
    else:
        assert "norm=chance[samples]" in with_s.signature
    if varying and any(m.chance_per_item for m in spec.members):
        # items with 3 to 5 choices: the chance is the items' own, and the signature says so
        assert "norm=chance[samples]" in with_s.signature


def test_compare_difference_is_the_difference_of_reports(
    runs: tuple[SuiteSpec, dict[str, Path], bool],
) -> None:
    spec, f, _ = runs
    a = _quiet(score_run, load_run(f["ft"]), spec, rng=0, n_resamples=200)
    b = _quiet(score_run, load_run(f["base"]), spec, rng=0, n_resamples=200)
    cmp = _quiet(compare_runs, [f["ft"], f["base"]], suite=spec.name, rng=0, n_resamples=200)
    assert cmp.pairs[0].composite.diff == pytest.approx(a.value - b.value, abs=1e-12)
    # without --suite: the suite is detected from the runs' group row, same number
    detected = _quiet(compare_runs, [f["ft"], f["base"]], rng=0, n_resamples=200)
    assert detected.pairs[0].composite.diff == pytest.approx(cmp.pairs[0].composite.diff, abs=1e-12)
    assert spec.id in detected.normalization


def test_transfer_cell_is_the_compare_of_that_checkpoint(
    runs: tuple[SuiteSpec, dict[str, Path], bool],
) -> None:
    spec, f, _ = runs
    tm = _quiet(transfer_matrix, f["base"], {"ft": f["ft"]}, suite=spec.name, rng=0, n_resamples=200)
    cmp = _quiet(compare_runs, [f["ft"], f["base"]], suite=spec.name, rng=0, n_resamples=200)
    assert float(tm.composite[0]) == pytest.approx(cmp.pairs[0].composite.diff, abs=1e-12)
    assert float(tm.composite_se[0]) == pytest.approx(cmp.pairs[0].composite.se, abs=1e-12)
    for t, d in zip(tm.targets, tm.delta[0], strict=True):
        assert float(d) == pytest.approx({x.task: x.diff for x in cmp.pairs[0].tasks}[t], abs=1e-12)
