"""The search family end to end: the real ``mtl_msmarco`` YAML on local rows, through the installed ``lm_eval``.

The rows (``tests/data/msmarco_rows.py``) have the schema of ``microsoft/ms_marco`` v1.1 and sit in a
local folder laid out like the Hub repo (``v1.1/validation-*.parquet`` + README configs). A one-line
user task in ``--include_path`` includes the shipped ``task_configs/mtl_suite/mtl_msmarco.yaml`` and
swaps only ``dataset_path`` for that folder, under the same task name, so lm-eval runs the shipped
family group ``mtl_suite_search`` on it (the user's path wins over ours, as the start-up hook intends).

Checked: per-query RR@10 and NDCG@10 in the samples equal ir-measures' (trec_eval) values for the same
rankings; the per-query chance fields equal the closed forms; random scores give a mean metric at the
run's chance level within its simulation error; the composite row and ``lm-eval-mtl report`` use it.
"""

from __future__ import annotations

import json
import math
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
TASK_YAML = REPO / "task_configs" / "mtl_suite" / "mtl_msmarco.yaml"
N_QUERIES = 36


def _utils() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("_e2e_msmarco_utils", TASK_YAML.parent / "msmarco_utils.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def search_run(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_hf_model: Path,
    offline_env: dict[str, str],
    lm_eval_bin: Path,
) -> dict[str, Any]:
    import msmarco_rows

    pytest.importorskip("ir_measures")
    root = tmp_path_factory.mktemp("search_e2e")
    rows = msmarco_rows.make_rows(N_QUERIES, seed=5)
    data = msmarco_rows.write_local_dataset(root / "ms_marco", rows)
    inc = root / "tasks"
    inc.mkdir()
    (inc / "mtl_msmarco.yaml").write_text(
        textwrap.dedent(
            f"""\
            include: {TASK_YAML}
            task: mtl_msmarco
            dataset_path: {data}
            """
        ),
        encoding="utf-8",
    )
    out = root / "out"
    argv = [
        str(lm_eval_bin), "run", "--model", "hf", "--model_args", f"pretrained={tiny_hf_model},dtype=float32",
        "--tasks", "mtl_suite_search", "--include_path", str(inc), "--device", "cpu", "--batch_size", "32",
        "--output_path", str(out), "--log_samples", "--seed", "0",
    ]  # fmt: skip
    proc = subprocess.run(
        argv, cwd=root, env=offline_env, capture_output=True, text=True, timeout=600, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    (results,) = out.rglob("results_*.json")
    (samples,) = out.rglob("samples_mtl_msmarco_*.jsonl")
    recs = [json.loads(line) for line in samples.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {
        "results": json.loads(results.read_text(encoding="utf-8")),
        "samples": recs,
        "run_dir": results.parent,
        "rows": rows,
        "stdout": proc.stdout,
    }


def _lls(rec: dict[str, Any]) -> list[float]:
    return [float(pair[0]) for pair in rec["filtered_resps"]]


def _ir(queries: list[tuple[list[float], list[int]]]) -> list[tuple[float, float]]:
    import ir_measures

    qrels, run = [], []
    for q, (scores, labels) in enumerate(queries):
        for i, (s, rel) in enumerate(zip(scores, labels, strict=True)):
            qrels.append(ir_measures.Qrel(str(q), f"p{i}", int(rel)))
            run.append(ir_measures.ScoredDoc(str(q), f"p{i}", float(s)))
    got: dict[str, dict[str, float]] = {}
    for m in ir_measures.iter_calc([ir_measures.RR @ 10, ir_measures.nDCG @ 10], qrels, run):
        got.setdefault(m.query_id, {})[str(m.measure)] = float(m.value)
    return [(got[str(q)].get("RR@10", 0.0), got[str(q)]["nDCG@10"]) for q in range(len(queries))]


def test_one_doc_per_usable_query_and_one_yes_request_per_passage(search_run: dict[str, Any]) -> None:
    recs = search_run["samples"]
    usable = [r for r in search_run["rows"] if any(r["passages"]["is_selected"])]
    assert len(recs) == len(usable) == search_run["results"]["n-samples"]["mtl_msmarco"]["effective"]
    for rec in recs:
        n = len(rec["doc"]["passages"]["passage_text"])
        assert len(rec["arguments"]) == len(rec["filtered_resps"]) == n
        assert {a["arg_1"] for a in rec["arguments"].values()} == {" Yes"}


def test_per_query_metrics_equal_ir_measures_for_the_same_rankings(search_run: dict[str, Any]) -> None:
    U = _utils()
    recs = search_run["samples"]
    # 1) the model's scores as they are, where no two passages of a query tie (trec_eval's own tie order
    #    would otherwise apply)
    untied = [r for r in recs if len(set(_lls(r))) == len(_lls(r))]
    assert len(untied) >= len(recs) // 2
    ref = _ir([(_lls(r), r["doc"]["passages"]["is_selected"]) for r in untied])
    for rec, (rr, nd) in zip(untied, ref, strict=True):
        assert rec["rr10"] == pytest.approx(rr, abs=1e-12) and rec["ndcg10"] == pytest.approx(nd, abs=1e-12)
    # 2) every query, ties included: the task's ranking (score, then tie key) handed over as scores
    queries = []
    for rec in recs:
        texts = [t.strip() for t in rec["doc"]["passages"]["passage_text"]]
        keys = [U.tie_key(rec["doc"]["query"].strip(), t) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: (-_lls(rec)[i], keys[i], i))
        scores = [0.0] * len(texts)
        for rank, i in enumerate(order):
            scores[i] = -float(rank)
        queries.append((scores, rec["doc"]["passages"]["is_selected"]))
    for rec, (rr, nd) in zip(recs, _ir(queries), strict=True):
        assert rec["rr10"] == pytest.approx(rr, abs=1e-12) and rec["ndcg10"] == pytest.approx(nd, abs=1e-12)
    row = search_run["results"]["results"]["mtl_msmarco"]
    assert row["rr10,none"] == pytest.approx(np.mean([r["rr10"] for r in recs]), abs=1e-12)
    assert row["ndcg10,none"] == pytest.approx(np.mean([r["ndcg10"] for r in recs]), abs=1e-12)


def test_chance_levels_are_exact_per_query_and_match_a_simulation(search_run: dict[str, Any]) -> None:
    U = _utils()
    recs = search_run["samples"]
    row = search_run["results"]["results"]["mtl_msmarco"]
    for rec in recs:
        labels = rec["doc"]["passages"]["is_selected"]
        assert rec["rr10_chance"] == pytest.approx(U.expected_rr_at_k(len(labels), sum(labels)), abs=1e-15)
        assert rec["ndcg10_chance"] == pytest.approx(
            U.expected_ndcg_at_k(len(labels), sum(labels)), abs=1e-15
        )
    assert row["rr10_chance,none"] == pytest.approx(np.mean([r["rr10_chance"] for r in recs]), abs=1e-12)
    # random scores for the same queries, scored by ir-measures: mean at the run's chance within its error
    rng = np.random.default_rng(0)
    sims = 150
    queries = [
        (rng.random(len(r["filtered_resps"])).tolist(), r["doc"]["passages"]["is_selected"])
        for _ in range(sims)
        for r in recs
    ]
    values = np.array(_ir(queries))
    per_sim = values.reshape(sims, len(recs), 2).mean(axis=1)  # one mean over the queries per simulation
    for j, key in enumerate(("rr10_chance,none", "ndcg10_chance,none")):
        mean = per_sim[:, j].mean()
        se = per_sim[:, j].std(ddof=1) / math.sqrt(sims)
        assert abs(mean - row[key]) < 4 * se, (key, mean, row[key], se)


def test_family_composite_row_uses_the_runs_chance_metric(search_run: dict[str, Any]) -> None:
    data = search_run["results"]
    group = data["groups"]["mtl_suite_search"]
    row = data["results"]["mtl_msmarco"]
    x, se, c = row["rr10,none"], row["rr10_stderr,none"], row["rr10_chance,none"]
    assert "mtl_composite" in search_run["stdout"]
    spec_c = 7381 / 25200  # the spec's documentation-only chance: the run's differs, and is the one used
    assert abs(c - spec_c) > 1e-6
    assert group["mtl_composite,none"] == pytest.approx((x - c) / (1 - c), abs=1e-12)
    assert group["mtl_composite_stderr,none"] == pytest.approx(se / (1 - c), abs=1e-12)


def test_report_normalizes_with_the_runs_chance_metric(
    search_run: dict[str, Any], lm_eval_mtl_bin: Path, offline_env: dict[str, str]
) -> None:
    proc = subprocess.run(
        [str(lm_eval_mtl_bin), "report", str(search_run["run_dir"]), "--suite", "mtl_suite_search", "--format", "json"],
        env=offline_env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(proc.stdout)
    (task,) = rep["tasks"]
    row = search_run["results"]["results"]["mtl_msmarco"]
    assert (
        task["chance"] == pytest.approx(row["rr10_chance,none"], abs=1e-12)
        and task["chance_source"] == "metric"
    )
    c = task["chance"]
    assert task["normalized"] == pytest.approx((row["rr10,none"] - c) / (1 - c), abs=1e-12)
    assert rep["composite"]["value"] == pytest.approx(task["normalized"], abs=1e-12)
