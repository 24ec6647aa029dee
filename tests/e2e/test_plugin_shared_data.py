"""A user's own suite on real public rows (shared data), via --include_path, scored by the plugin.

The fixture tasks use the schema of the suites' real members: lm-eval's ``sst2``
prompt on GLUE SST-2 validation rows and a WMT16 de-en translation task scored
with chrF and BLEU, both reading the shared files in place (nothing is copied).
The group carries a ``metadata.mtl`` block, so the plugin adds its composite
although the suite is not one of ours. Skips when the shared data is absent.
"""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

LIMIT = 12


@pytest.fixture(scope="module")
def fixture_run(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, tiny_hf_model: Path, offline_env: dict[str, str],
    lm_eval_bin: Path,
) -> dict[str, Any]:  # fmt: skip
    sst2 = shared_data / "eval_sets" / "sst2_glue_dev" / "sst2_validation.jsonl"
    wmt = shared_data / "eval_sets" / "wmt16_de_en_popovic" / "de-en_uedin_nmt_pbmt_ref.jsonl"
    for path in (sst2, wmt):
        if not path.is_file():
            pytest.skip(f"shared data file missing: {path}")
    tasks = tmp_path_factory.mktemp("user_suite")
    (tasks / "sst2_local.yaml").write_text(
        textwrap.dedent(
            f"""
            task: mtl_fixture_sst2
            dataset_path: json
            dataset_kwargs:
              data_files: {{validation: {sst2}}}
            output_type: multiple_choice
            validation_split: validation
            doc_to_text: "{{{{sentence}}}}\\nQuestion: Is this sentence positive or negative?\\nAnswer:"
            doc_to_target: label
            doc_to_choice: ["negative", "positive"]
            metric_list:
              - metric: acc
            metadata:
              version: 1.0
            """
        ),
        encoding="utf-8",
    )
    (tasks / "wmt_local.yaml").write_text(
        textwrap.dedent(
            f"""
            task: mtl_fixture_de_en
            dataset_path: json
            dataset_kwargs:
              data_files: {{test: {wmt}}}
            output_type: generate_until
            test_split: test
            doc_to_text: "German: {{{{src}}}}\\nEnglish:"
            doc_to_target: "{{{{ref}}}}"
            generation_kwargs: {{until: ["\\n"], max_gen_toks: 12, do_sample: false}}
            metric_list:
              - {{metric: chrf, aggregation: chrf, higher_is_better: true}}
              - {{metric: bleu, aggregation: bleu, higher_is_better: true}}
            metadata:
              version: 1.0
            """
        ),
        encoding="utf-8",
    )
    (tasks / "_group.yaml").write_text(
        textwrap.dedent(
            """
            group: mtl_fixture
            task: [mtl_fixture_sst2, mtl_fixture_de_en]
            aggregate_metric_list:
              - {metric: mtl_composite, filter_list: [none]}
            metadata:
              version: 1.0
              mtl:
                schema: 1
                kind: suite
                weights: equal
                members:
                  - {task: mtl_fixture_sst2, metric: acc, chance: 0.5, family: classification}
                  - {task: mtl_fixture_de_en, metric: chrf, chance: 0.0, ceiling: 100.0, family: translation,
                     output_type: generate_until}
            """
        ),
        encoding="utf-8",
    )
    work = tmp_path_factory.mktemp("user_suite_run")
    argv = [
        str(lm_eval_bin), "run", "--model", "hf", "--model_args", f"pretrained={tiny_hf_model},dtype=float32",
        "--tasks", "mtl_fixture", "--include_path", str(tasks), "--device", "cpu", "--batch_size", "16",
        "--limit", str(LIMIT), "--output_path", str(work / "out"), "--log_samples",
    ]  # fmt: skip
    proc = subprocess.run(
        argv, cwd=work, env=offline_env, capture_output=True, text=True, timeout=900, check=False
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    results = list((work / "out").rglob("results_*.json"))
    assert len(results) == 1
    data: dict[str, Any] = json.loads(results[0].read_text(encoding="utf-8"))
    return data


def test_user_suite_on_real_rows_gets_the_composite(fixture_run: dict[str, Any]) -> None:
    res = fixture_run["results"]
    acc, chrf = res["mtl_fixture_sst2"]["acc,none"], res["mtl_fixture_de_en"]["chrf,none"]
    se_acc, se_chrf = res["mtl_fixture_sst2"]["acc_stderr,none"], res["mtl_fixture_de_en"]["chrf_stderr,none"]
    expected = 0.5 * (acc - 0.5) / 0.5 + 0.5 * chrf / 100.0
    expected_se = ((0.5 * se_acc / 0.5) ** 2 + (0.5 * se_chrf / 100.0) ** 2) ** 0.5
    row = fixture_run["groups"]["mtl_fixture"]
    assert row["mtl_composite,none"] == pytest.approx(expected, abs=1e-12)
    assert row["mtl_composite_stderr,none"] == pytest.approx(expected_se, abs=1e-12)
    assert fixture_run["n-samples"]["mtl_fixture_sst2"]["effective"] == LIMIT
