"""``mtl_suite_vision`` end to end: a tiny random-weight VLM through the installed ``lm_eval --model hf-multimodal``.

The model (``tests/data/tiny_vlm.py``: LLaVA with a 2-layer CLIP tower on 28x28 images and a 2-layer Llama,
its processor built locally) and the rows (``MMMU/MMMU`` and ``HuggingFaceM4/ChartQA`` schemas, images drawn
with PIL) are made by the test. An ``--include_path`` folder overrides, under their own names, the 30 shipped
``mtl_mmmu_val_<subject>`` tasks (each includes the shipped YAML and swaps only the dataset for the local
parquet) and lm-eval's ``chartqa`` (includes lm-eval's YAML, same swap), so the shipped group
``mtl_suite_vision`` runs as it is, with ``--limit 2`` and ``--gen_kwargs max_gen_toks=4`` (a random model
only needs a few tokens to be scored).

One lm_eval start-up, about 50 s on 2 cores: part of the default suite; ``LM_EVAL_MTL_VISION_E2E=0``
skips it.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(
        os.environ.get("LM_EVAL_MTL_VISION_E2E") == "0",
        reason="LM_EVAL_MTL_VISION_E2E=0: the vision end-to-end run (about 50 s) is skipped",
    ),
]

REPO = Path(__file__).resolve().parents[2]
VISION = REPO / "task_configs" / "mtl_suite_vision"
LIMIT = 2


@pytest.fixture(scope="module")
def vision_run(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_hf_model: Path,
    offline_env: dict[str, str],
    lm_eval_bin: Path,
) -> dict[str, Any]:
    import lm_eval.tasks
    import tiny_vlm

    root = tmp_path_factory.mktemp("vision_e2e")
    model = tiny_vlm.build_tiny_vlm(root / "tiny-vlm", tiny_hf_model)
    files = tiny_vlm.write_vision_rows(root / "rows", n_mmmu=LIMIT + 2, n_chart=LIMIT + 1)
    inc = root / "tasks"
    inc.mkdir()
    for path in sorted(VISION.glob("mtl_mmmu_val_*.yaml")):
        (inc / path.name).write_text(
            textwrap.dedent(
                f"""\
                include: {path}
                task: {path.stem}
                dataset_path: parquet
                dataset_name: null
                dataset_kwargs:
                  data_files:
                    validation: {files["mmmu"]}
                """
            ),
            encoding="utf-8",
        )
    chartqa = Path(lm_eval.tasks.__file__).parent / "chartqa" / "chartqa.yaml"
    (inc / "chartqa.yaml").write_text(
        textwrap.dedent(
            f"""\
            include: {chartqa}
            task: chartqa
            dataset_path: parquet
            dataset_kwargs:
              data_files:
                test: {files["chartqa"]}
            """
        ),
        encoding="utf-8",
    )
    out = root / "out"
    argv = [
        str(lm_eval_bin), "run", "--model", "hf-multimodal", "--model_args", f"pretrained={model},dtype=float32",
        "--tasks", "mtl_suite_vision", "--include_path", str(inc), "--device", "cpu", "--batch_size", "8",
        "--limit", str(LIMIT), "--gen_kwargs", "max_gen_toks=4", "--output_path", str(out), "--log_samples",
    ]  # fmt: skip
    proc = subprocess.run(
        argv, cwd=root, env=offline_env, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    (results,) = out.rglob("results_*.json")
    return {
        "results": json.loads(results.read_text(encoding="utf-8")),
        "run_dir": results.parent,
        "stdout": proc.stdout,
    }


def _samples(run_dir: Path, task: str) -> list[dict[str, Any]]:
    (path,) = run_dir.glob(f"samples_{task}_*.jsonl")
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_results_json_has_the_composite_for_the_suite_and_each_family(vision_run: dict[str, Any]) -> None:
    data = vision_run["results"]
    for group in ("mtl_suite_vision", "mtl_suite_vision_multidiscipline", "mtl_suite_vision_charts"):
        row = data["groups"][group]
        assert isinstance(row["mtl_composite,none"], float), group
        assert isinstance(row["mtl_composite_stderr,none"], float), group
    assert data["results"]["chartqa"]["relaxed_accuracy,none"] in (0.0, 0.5, 1.0)
    assert len([t for t in data["results"] if t.startswith("mtl_mmmu_val_")]) == 30
    assert "mtl_composite" in vision_run["stdout"]


def test_acc_chance_is_logged_per_item(vision_run: dict[str, Any]) -> None:
    import ast

    recs = _samples(vision_run["run_dir"], "mtl_mmmu_val_accounting")
    assert len(recs) == LIMIT
    for rec in recs:
        doc = rec["doc"]
        k = len(ast.literal_eval(doc["options"]))
        assert rec["acc_chance"] == (1.0 / k if doc["question_type"] == "multiple-choice" else 0.0)
    row = vision_run["results"]["results"]["mtl_mmmu_val_accounting"]
    assert row["acc_chance,none"] == pytest.approx(sum(r["acc_chance"] for r in recs) / len(recs))


def test_report_reads_the_run_with_the_items_chance(
    vision_run: dict[str, Any], lm_eval_mtl_bin: Path, offline_env: dict[str, str]
) -> None:
    proc = subprocess.run(
        [str(lm_eval_mtl_bin), "report", str(vision_run["run_dir"]), "--suite", "mtl_suite_vision", "--format", "json"],
        env=offline_env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(proc.stdout)
    results = vision_run["results"]["results"]
    assert len(rep["tasks"]) == 31 and not rep["tasks_dropped"]
    for t in rep["tasks"]:
        if t["task"].startswith("mtl_mmmu_val_"):
            assert t["chance_source"] == "metric"
            assert t["chance"] == pytest.approx(results[t["task"]]["acc_chance,none"], abs=1e-12)
        else:
            assert t["chance"] == 0.0
