"""The search family (``mtl_msmarco``, ``mtl_lite_msmarco``): metrics, chance levels, spec and task config.

* RR@10 and NDCG@10 of ``msmarco_utils`` equal ir-measures' (trec_eval through pytrec_eval) on the same
  rankings;
* the closed-form chance levels equal the exact expectation over random rankings (enumeration of every
  placement of the relevant passages) and a simulation;
* the suite specs carry the member with ``chance_metric: rr10_chance``, versions bumped;
* lm-eval's real ``ConfigurableTask`` builds the task on local rows in the dataset's schema: one
  `` Yes`` loglikelihood request per passage, per-query metrics from ``process_results``, the lite cap.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import random
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "task_configs"
FULL = CONFIGS / "mtl_suite"
LITE = CONFIGS / "mtl_suite_lite"


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


U = _load(FULL / "msmarco_utils.py", "_test_msmarco_utils")


# ----------------------------------------------------------------- chance levels


def _enumerated(n: int, r: int, k: int = 10) -> tuple[float, float]:
    """Exact E[RR@k], E[NDCG@k] over uniform rankings: every placement of the r relevant is equally likely."""
    rr = nd = 0.0
    count = 0
    for pos in itertools.combinations(range(n), r):
        ranked = [0] * n
        for p in pos:
            ranked[p] = 1
        rr += U.rr_at_k(ranked, k)
        nd += U.ndcg_at_k(ranked, k)
        count += 1
    return rr / count, nd / count


@pytest.mark.parametrize("n", range(1, 14))
def test_closed_form_chance_equals_enumeration(n: int) -> None:
    for r in range(n + 1):
        rr, nd = _enumerated(n, r)
        assert U.expected_rr_at_k(n, r) == pytest.approx(rr, abs=1e-12), (n, r)
        assert U.expected_ndcg_at_k(n, r) == pytest.approx(nd, abs=1e-12), (n, r)


def test_closed_form_chance_known_values() -> None:
    h10 = sum(1 / j for j in range(1, 11))
    assert U.expected_rr_at_k(10, 1) == pytest.approx(h10 / 10, abs=1e-15)  # the spec's documented chance
    assert U.expected_rr_at_k(12, 1) == pytest.approx(h10 / 12, abs=1e-15)  # ranks 11, 12 score 0
    assert U.expected_ndcg_at_k(5, 5) == pytest.approx(1.0) and U.expected_rr_at_k(5, 5) == 1.0
    assert U.expected_rr_at_k(4, 0) == 0.0 and U.expected_ndcg_at_k(4, 0) == 0.0
    with pytest.raises(ValueError):
        U.expected_rr_at_k(3, 4)


@pytest.mark.parametrize(("n", "r"), [(10, 1), (10, 3), (7, 2), (14, 2)])
def test_closed_form_chance_equals_simulation(n: int, r: int) -> None:
    rng = np.random.default_rng(n * 100 + r)
    sims = 20000
    labels = np.zeros(n, dtype=int)
    labels[:r] = 1
    perm = np.argsort(rng.random((sims, n)), axis=1)
    ranked = labels[perm]
    # the metrics written out again, vectorized over the simulated rankings
    top = ranked[:, :10]
    first = np.where(top.any(axis=1), top.argmax(axis=1) + 1, np.inf)
    rr = 1.0 / first
    disc = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    nd = (top * disc).sum(axis=1) / disc[: min(r, 10)].sum()
    assert [U.rr_at_k(list(row)) for row in ranked[:50]] == pytest.approx(rr[:50].tolist(), abs=1e-12)
    assert [U.ndcg_at_k(list(row)) for row in ranked[:50]] == pytest.approx(nd[:50].tolist(), abs=1e-12)
    for values, expected in ((rr, U.expected_rr_at_k(n, r)), (nd, U.expected_ndcg_at_k(n, r))):
        se = values.std(ddof=1) / math.sqrt(sims)
        assert abs(values.mean() - expected) < 4 * se + 1e-12, (n, r, values.mean(), expected, se)


# ----------------------------------------------------------------- metrics vs ir-measures


def _ir_measures(queries: list[tuple[list[float], list[int]]]) -> dict[str, tuple[float, float]]:
    ir_measures = pytest.importorskip("ir_measures")
    qrels, run = [], []
    for q, (scores, labels) in enumerate(queries):
        for i, (s, rel) in enumerate(zip(scores, labels, strict=True)):
            qrels.append(ir_measures.Qrel(f"q{q}", f"d{i}", int(rel)))
            run.append(ir_measures.ScoredDoc(f"q{q}", f"d{i}", float(s)))
    out: dict[str, dict[str, float]] = {}
    for m in ir_measures.iter_calc([ir_measures.RR @ 10, ir_measures.nDCG @ 10], qrels, run):
        out.setdefault(m.query_id, {})[str(m.measure)] = float(m.value)
    return {q: (v.get("RR@10", 0.0), v["nDCG@10"]) for q, v in out.items()}


def test_rr10_and_ndcg10_equal_ir_measures_on_random_rankings() -> None:
    rng = random.Random(7)
    queries = []
    for _ in range(300):
        n = rng.randint(1, 14)
        r = rng.randint(1, n)
        labels = [1] * r + [0] * (n - r)
        rng.shuffle(labels)
        queries.append(([rng.gauss(0, 1) for _ in range(n)], labels))
    ref = _ir_measures(queries)
    for q, (scores, labels) in enumerate(queries):
        got = U.score_query(scores, labels, [str(i) for i in range(len(labels))])
        assert got["rr10"] == pytest.approx(ref[f"q{q}"][0], abs=1e-12), q
        assert got["ndcg10"] == pytest.approx(ref[f"q{q}"][1], abs=1e-12), q


def test_ties_are_broken_by_the_hash_not_by_dataset_order() -> None:
    # equal scores: the order follows tie_key, so a constant scorer does not inherit Bing's order
    texts = [f"passage {i}" for i in range(10)]
    keys = [U.tie_key("q", t) for t in texts]
    order = U.ranking([0.0] * 10, keys)
    assert order == sorted(range(10), key=lambda i: keys[i])
    assert order != list(range(10))
    # and the library agrees once the tie order is given as scores (same ranking)
    labels = [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]
    got = U.score_query([0.0] * 10, labels, keys)
    as_scores = [0.0] * 10
    for rank, i in enumerate(order):
        as_scores[i] = -float(rank)
    ref = _ir_measures([(as_scores, labels)])["q0"]
    assert (got["rr10"], got["ndcg10"]) == pytest.approx(ref, abs=1e-12)


# ----------------------------------------------------------------- the spec


def _spec(name: str) -> Any:
    from lm_eval_mtl.suites import load_suite

    return load_suite(name, CONFIGS)


@pytest.mark.parametrize(
    ("suite", "task"), [("mtl_suite", "mtl_msmarco"), ("mtl_suite_lite", "mtl_lite_msmarco")]
)
def test_suites_carry_the_search_member_with_its_chance_metric(suite: str, task: str) -> None:
    top = _spec(suite)
    assert top.version == "1.1"
    assert top.families[-1] == "search"
    (m,) = [m for m in top if m.family == "search"]
    assert (m.task, m.metric, m.filter, m.chance_metric, m.ceiling) == (
        task,
        "rr10",
        "none",
        "rr10_chance",
        1.0,
    )
    assert m.output_type == "multiple_choice" and m.cluster is None and not m.chance_per_item
    assert m.chance == pytest.approx(U.expected_rr_at_k(10, 1), abs=1e-15)
    fam = _spec(f"{suite}_search")
    assert fam.kind == "family" and fam.weights == "equal" and fam.members == (m,)
    assert len(top) == 15 + 57


def test_generator_writes_what_is_shipped() -> None:
    gen = _load(CONFIGS / "_generate_configs.py", "_test_generate_configs")
    for lite, suite in ((False, "mtl_suite"), (True, "mtl_suite_lite")):
        from lm_eval_mtl.suites import SuiteSpec

        fams = gen.flagship_members(lite)
        members = [m for ms in fams.values() for m in ms]
        spec = SuiteSpec.from_metadata(suite, {"version": gen.FLAGSHIP_VERSION, "mtl": {"members": members}})
        assert spec.members == _spec(suite).members
    assert gen.MSMARCO_CHANCE == pytest.approx(U.expected_rr_at_k(10, 1), abs=1e-15)


@pytest.mark.parametrize("path", [FULL / "mtl_msmarco.yaml", LITE / "mtl_lite_msmarco.yaml"])
def test_task_yaml_reports_the_member_metric_and_chance_metric(path: Path) -> None:
    from lm_eval.tasks._yaml_loader import load_yaml

    cfg = load_yaml(path, resolve_func=True, recursive=True)
    names = [m["metric"] for m in cfg["metric_list"]]
    assert names == ["rr10", "ndcg10", "rr10_chance", "ndcg10_chance"]
    assert all(m["aggregation"] == "mean" for m in cfg["metric_list"])
    assert cfg["output_type"] == "multiple_choice" and cfg["doc_to_target"] == "Yes"
    assert (cfg["dataset_path"], cfg["dataset_name"], cfg["validation_split"]) == (
        "microsoft/ms_marco",
        "v1.1",
        "validation",
    )
    assert callable(cfg["process_results"]) and callable(cfg["doc_to_choice"])
    assert cfg["process_docs"].__name__ == ("cap_msmarco" if "lite" in path.name else "process_docs")


# ----------------------------------------------------------------- the real task on local rows


@pytest.fixture(scope="module")
def local_rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    import msmarco_rows

    rows = msmarco_rows.make_rows(40, seed=11)
    folder = msmarco_rows.write_local_dataset(tmp_path_factory.mktemp("ms_marco"), rows)
    return folder, rows


def _task(yaml_path: Path, folder: Path) -> Any:
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    cfg = load_yaml(yaml_path, resolve_func=True, recursive=True)
    cfg["dataset_path"] = str(folder)  # the Hub repo's layout, local: only the path changes
    return ConfigurableTask(config=cfg)


def test_real_task_builds_one_yes_request_per_passage(local_rows: tuple[Path, list[dict[str, Any]]]) -> None:
    folder, rows = local_rows
    task = _task(FULL / "mtl_msmarco.yaml", folder)
    docs = list(task.eval_docs)
    kept = [r for r in rows if any(r["passages"]["is_selected"]) and len(r["passages"]["passage_text"]) >= 2]
    assert len(docs) == len(kept) < len(rows)  # rows without a relevant passage are dropped
    assert task.multiple_input == len(docs[0]["passages"]["passage_text"])
    for doc_id, doc in enumerate(docs[:6]):
        reqs = task.construct_requests(
            doc=doc, ctx=task.fewshot_context(doc, num_fewshot=0), metadata=("t", doc_id, 1)
        )
        texts = doc["passages"]["passage_text"]
        assert len(reqs) == len(texts)
        for req, text in zip(reqs, texts, strict=True):
            context, continuation = req.arguments
            assert continuation == " Yes"
            assert context == U.PROMPT.format(passage=text.strip(), query=doc["query"].strip())
        scores = [(-float(i), False) for i in range(len(texts))]  # the dataset's order, no ties
        got = task.process_results(doc, scores)
        labels = doc["passages"]["is_selected"]
        assert got == U.score_query(
            [s for s, _ in scores], labels, [U.tie_key(doc["query"], t) for t in texts]
        )
        n, r = len(labels), sum(labels)
        assert got["rr10_chance"] == U.expected_rr_at_k(n, r) and got[
            "ndcg10_chance"
        ] == U.expected_ndcg_at_k(n, r)


def test_lite_cap_keeps_500_queries_stratified_by_candidates_and_relevant(tmp_path: Path) -> None:
    import msmarco_rows

    rows = msmarco_rows.make_rows(700, seed=3)
    folder = msmarco_rows.write_local_dataset(tmp_path / "ms", rows)
    task = _task(LITE / "mtl_lite_msmarco.yaml", folder)
    docs = list(task.eval_docs)
    assert len(docs) == 500
    lite = _load(LITE / "msmarco_lite_utils.py", "_test_msmarco_lite_utils")
    usable = [r for r in rows if U.usable(r)]
    full = Counter(lite.stratum(r) for r in usable)
    kept = Counter(lite.stratum(d) for d in docs)
    for key, n in full.items():
        assert abs(kept[key] - 500 * n / len(usable)) < 1.0, key
    again = [d["query_id"] for d in _task(LITE / "mtl_lite_msmarco.yaml", folder).eval_docs]
    assert again == [d["query_id"] for d in docs]  # deterministic


# ----------------------------------------------------------------- bench/make_suite_run.py writes the member


def test_make_suite_run_writes_the_search_member_that_report_compare_and_transfer_score(
    tmp_path: Path,
) -> None:
    import json
    import warnings

    from lm_eval_mtl.analysis.compare import compare_runs
    from lm_eval_mtl.analysis.transfer import transfer_matrix
    from lm_eval_mtl.io import load_run
    from lm_eval_mtl.scoring.composite import score_run

    maker = _load(REPO / "bench" / "make_suite_run.py", "make_suite_run")
    maker.make_suite_run(tmp_path, scale=0.001, model_names=["base", "ft-mtl_msmarco"], seed=2, min_items=8)
    base, ft = tmp_path / "synth__base", tmp_path / "synth__ft-mtl_msmarco"
    run = load_run(base)
    recs = [json.loads(x) for x in run.samples_files["mtl_msmarco"].read_text(encoding="utf-8").splitlines()]
    data = json.loads(run.path.read_text(encoding="utf-8"))
    row = data["results"]["mtl_msmarco"]
    assert len(recs) == row["sample_len"] >= 8
    for rec in recs:  # what the task's process_results gives for the logged loglikelihoods
        doc = rec["doc"]
        labels = doc["passages"]["is_selected"]
        lls = [float(pair[0]) for pair in rec["filtered_resps"]]
        assert len(rec["arguments"]) == len(lls) == len(labels)
        keys = [U.tie_key(doc["query"].strip(), t.strip()) for t in doc["passages"]["passage_text"]]
        assert {k: rec[k] for k in ("rr10", "ndcg10", "rr10_chance", "ndcg10_chance")} == U.score_query(
            lls, labels, keys
        )
    for key in ("rr10", "rr10_chance"):
        assert row[f"{key},none"] == pytest.approx(np.mean([r[key] for r in recs]), abs=1e-12)
    spec = _spec("mtl_suite_search")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few items per task at this scale: warned, not wrong
        a = score_run(load_run(ft), spec, n_resamples=100, rng=0)
        b = score_run(run, spec, n_resamples=100, rng=0)
        cmp = compare_runs([ft, base], suite=spec.name, rng=0, n_resamples=100)
        tm = transfer_matrix(base, {"mtl_msmarco": ft}, suite=spec.name, rng=0, n_resamples=100)
    (ms,) = b.tasks
    assert ms.chance == pytest.approx(row["rr10_chance,none"], abs=1e-12)  # the run's chance metric
    assert data["groups"]["mtl_suite_search"]["mtl_composite,none"] == pytest.approx(b.value, abs=1e-12)
    assert cmp.pairs[0].composite.diff == pytest.approx(a.value - b.value, abs=1e-12)
    assert float(tm.composite[0]) == pytest.approx(cmp.pairs[0].composite.diff, abs=1e-12)
    assert a.value > b.value  # the checkpoint fine-tuned on the task gains on it
