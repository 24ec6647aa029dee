"""A real ``lm_eval run`` of the bundled suite, found by the plugin (no --include_path).

All asserts share one session-scoped run (``mtl_demo_run`` in conftest): the
installed ``lm_eval`` console script, a tiny local HF model, offline.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from lm_eval_mtl.suites import task_config_dir

pytestmark = pytest.mark.e2e

FAMILIES = (
    "mtl_demo_classification",
    "mtl_demo_qa",
    "mtl_demo_translation",
    "mtl_demo_commonsense",
    "mtl_demo_math",
)


def _spec_members(group: str) -> list[dict[str, Any]]:
    """Members straight from the shipped YAML (no lm_eval_mtl code involved)."""
    path = task_config_dir() / "mtl_demo" / f"_{group}.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    members: list[dict[str, Any]] = doc["metadata"]["mtl"]["members"]
    return members


def _independent_composite(results: dict[str, Any], group: str, weights: str) -> tuple[float, float]:
    members = _spec_members(group)
    per_family = Counter(m["family"] for m in members)
    total, var = 0.0, 0.0
    for m in members:
        task = results[m["task"]]
        filt = m.get("filter", "none")
        x = task[f"{m['metric']},{filt}"]
        se = task[f"{m['metric']}_stderr,{filt}"]
        c, u = m.get("chance", 0.0), m.get("ceiling", 1.0)
        if weights == "family":
            w = 1.0 / (len(per_family) * per_family[m["family"]])
        else:
            w = 1.0 / len(members)
        total += w * (x - c) / (u - c)
        var += (w * se / (u - c)) ** 2
    return total, math.sqrt(var)


def test_results_json_has_composite_for_suite_and_every_family(mtl_demo_run: Any) -> None:
    data = mtl_demo_run.results()
    for group in ("mtl_demo", *FAMILIES):
        row = data["groups"][group]
        assert isinstance(row["mtl_composite,none"], float), group
        assert isinstance(row["mtl_composite_stderr,none"], float), group
        # ... and the same numbers in the flat results section.
        assert data["results"][group]["mtl_composite,none"] == row["mtl_composite,none"]


def test_suite_composite_equals_independent_computation_from_the_same_file(mtl_demo_run: Any) -> None:
    data = mtl_demo_run.results()
    value, se = _independent_composite(data["results"], "mtl_demo", "family")
    assert data["groups"]["mtl_demo"]["mtl_composite,none"] == pytest.approx(value, abs=1e-12)
    assert data["groups"]["mtl_demo"]["mtl_composite_stderr,none"] == pytest.approx(se, abs=1e-12)


@pytest.mark.parametrize("family", FAMILIES)
def test_family_composite_equals_independent_computation(mtl_demo_run: Any, family: str) -> None:
    data = mtl_demo_run.results()
    value, se = _independent_composite(data["results"], family, "equal")
    assert data["groups"][family]["mtl_composite,none"] == pytest.approx(value, abs=1e-12)
    assert data["groups"][family]["mtl_composite_stderr,none"] == pytest.approx(se, abs=1e-12)


def test_printed_groups_table_has_a_composite_row_per_group(mtl_demo_run: Any) -> None:
    out = mtl_demo_run.stdout
    assert "|           Groups" in out or "Groups" in out.split("\n\n")[-1]
    groups_table = out[out.index("Groups") :]
    rows = [line for line in groups_table.splitlines() if "mtl_composite" in line]
    assert len(rows) == 1 + len(FAMILIES)
    assert "mtl_demo (bundled demo suite)" in rows[0]
    # lm-eval found no values for our pseudo-entry only because we handled it.
    assert "no values found" not in mtl_demo_run.stderr


def _samples(run: Any, task: str) -> list[dict[str, Any]]:
    lines = run.samples_file(task).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _limit(run: Any) -> int:
    return int(run.argv[run.argv.index("--limit") + 1])


def test_samples_cover_multiple_choice(mtl_demo_run: Any) -> None:
    for task, k in (("mtl_demo_sentiment", 2), ("mtl_demo_topic", 4), ("mtl_demo_physical", 2)):
        rows = _samples(mtl_demo_run, task)
        assert len(rows) == _limit(mtl_demo_run)
        for row in rows:
            assert row["acc"] in (0.0, 1.0)
            assert len(row["filtered_resps"]) == k  # one loglikelihood per choice


def test_samples_cover_generation_with_exact_match(mtl_demo_run: Any) -> None:
    qa = _samples(mtl_demo_run, "mtl_demo_closed_qa")
    math_rows = _samples(mtl_demo_run, "mtl_demo_arithmetic")
    assert len(qa) == len(math_rows) == _limit(mtl_demo_run)
    assert all(r["exact_match"] in (0.0, 1.0) and r["filter"] == "none" for r in qa)
    assert all(r["exact_match"] in (0.0, 1.0) and r["filter"] == "get-answer" for r in math_rows)
    data = mtl_demo_run.results()["results"]
    assert data["mtl_demo_arithmetic"]["exact_match,get-answer"] == pytest.approx(
        sum(r["exact_match"] for r in math_rows) / len(math_rows)
    )


def test_samples_cover_translation_and_chrf_recomputes_with_sacrebleu(mtl_demo_run: Any) -> None:
    import sacrebleu

    rows = _samples(mtl_demo_run, "mtl_demo_de_en")
    assert len(rows) == _limit(mtl_demo_run)
    refs = [r["chrf"][0] for r in rows]
    hyps = [r["chrf"][1] for r in rows]
    assert [r["bleu"] for r in rows] == [r["chrf"] for r in rows]
    data = mtl_demo_run.results()["results"]["mtl_demo_de_en"]
    assert data["chrf,none"] == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score, abs=1e-9)
    assert data["bleu,none"] == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score, abs=1e-9)


def test_bundled_data_loads_from_another_working_directory(mtl_demo_run: Any) -> None:
    # The run's working directory was an empty temp folder, far from task_configs/.
    cwd = Path(mtl_demo_run.output_dir).parent
    assert not (cwd / "data").exists()
    doc = _samples(mtl_demo_run, "mtl_demo_sentiment")[0]["doc"]
    first = (
        (task_config_dir() / "mtl_demo" / "data" / "sentiment.jsonl")
        .read_text(encoding="utf-8")
        .splitlines()[0]
    )
    assert doc == json.loads(first)
