"""lm_eval_mtl.io: lm-eval output folders -> typed objects."""

from __future__ import annotations

import json
import math
from pathlib import Path

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest

from lm_eval_mtl.errors import MissingMetricError, MissingTaskError, ResultsFormatError, UnknownNameError
from lm_eval_mtl.io import (
    MetricKey,
    find_runs,
    load_run,
    read_results_file,
    read_samples,
)

# --------------------------------------------------------------------------- results JSON (v0.4)


def test_v04_results_become_typed_metrics_without_string_keys(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t_mc": fx.mc_task([1, 0, 1, 1], 4), "t_gen": fx.gen_task([1, 0, 0, 0])})
    run = load_run(folder)
    assert run.format == "v0.4"
    assert run.model_name == "org/tiny-model"
    assert run.lm_eval_version == "0.4.13"
    assert set(run.tasks) == {"t_mc", "t_gen"}
    mv = run.task("t_mc").metric("acc")
    assert mv.key == MetricKey("acc", "none")
    assert mv.value == pytest.approx(0.75)
    # sample stderr of the mean of [1,0,1,1], computed by hand: sqrt(0.25/4)
    assert mv.stderr == pytest.approx(math.sqrt((3 * 0.0625 + 0.5625) / 3 / 4))
    gen = run.task("t_gen")
    assert gen.metric("exact_match", "strict-match").value == pytest.approx(0.25)
    assert gen.n == 4 and gen.n_original == 4
    assert gen.output_type == "generate_until"
    assert gen.task_hash and len(gen.task_hash) == 64
    assert all("," not in k.metric for t in run.tasks.values() for k in t.metrics)


def test_na_stderr_becomes_nan(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 2, stderr="N/A")})
    mv = load_run(folder).task("t").metric("acc")
    assert mv.value == pytest.approx(2 / 3)
    assert math.isnan(mv.stderr)


def test_nan_score_raises_naming_file_task_and_metric(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0], 2)})
    f = next(folder.glob("results_*.json"))
    data = json.loads(f.read_text())
    data["results"]["t"]["acc,none"] = float("nan")
    f.write_text(json.dumps(data))  # json writes NaN, as lm-eval can
    task = load_run(folder).task("t")
    with pytest.raises(
        ResultsFormatError, match=r"task 't' reports metric 'acc' \(filter 'none'\) as nan in .*results_"
    ):
        task.metric("acc")


def test_missing_metric_names_task_metric_and_available(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.gen_task([1, 0])})
    task = load_run(folder).task("t")
    with pytest.raises(
        MissingMetricError,
        match=r"task 't' has no metric 'exact_match' with filter 'none'.*under filter\(s\) strict-match.*Available: exact_match \(strict-match\)",
    ):
        task.metric("exact_match")


def test_missing_task_lists_close_matches(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"arc_easy": fx.mc_task([1], 4)})
    with pytest.raises(
        MissingTaskError, match=r"task 'arc_eazy' is not in the run .* Did you mean: arc_easy\?"
    ):
        load_run(folder).task("arc_eazy")


def test_groups_are_separated_from_leaf_tasks(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path,
        {"a": fx.mc_task([1, 0], 2), "b": fx.mc_task([1, 1, 0], 2)},
        groups={"grp": ["a", "b"]},
        group_rows={"grp": {"acc,none": 0.6, "acc_stderr,none": 0.2}},
    )
    run = load_run(folder)
    assert set(run.tasks) == {"a", "b"}
    assert set(run.groups) == {"grp"}
    assert run.groups["grp"].is_group
    assert run.group_subtasks["grp"] == ("a", "b")
    assert run.leaf_tasks("grp") == ("a", "b")
    assert run.task("grp").metric("acc").value == 0.6


def test_group_samples_concatenate_leaf_tasks(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path, {"a": fx.mc_task([1, 0], 2), "b": fx.mc_task([1, 1, 0], 4)}, groups={"grp": ["a", "b"]}
    )
    s = load_run(folder).samples("grp")
    assert len(s) == 5
    np.testing.assert_array_equal(s.item_scores("acc"), [1, 0, 1, 1, 0])
    assert s.subtasks == ("a", "a", "b", "b", "b")
    np.testing.assert_array_equal(s.n_choices, [2, 2, 4, 4, 4])


# --------------------------------------------------------------------------- run folders


def test_latest_run_is_chosen_and_others_listed(tmp_path: Path) -> None:
    fx.write_run(tmp_path, {"old": fx.mc_task([1], 2)}, ts="2026-01-01T00-00-00.000001")
    folder = fx.write_run(tmp_path, {"new": fx.mc_task([0], 2)}, ts="2026-02-01T00-00-00.000001")
    run = load_run(folder)
    assert run.path.name == "results_2026-02-01T00-00-00.000001.json"
    assert [p.name for p in run.other_runs] == ["results_2026-01-01T00-00-00.000001.json"]
    assert set(run.tasks) == {"new"}
    assert set(run.samples_files) == {"new"}


def test_run_argument_picks_an_older_run_by_timestamp_prefix(tmp_path: Path) -> None:
    fx.write_run(tmp_path, {"old": fx.mc_task([1], 2)}, ts="2026-01-01T00-00-00.000001")
    folder = fx.write_run(tmp_path, {"new": fx.mc_task([0], 2)}, ts="2026-02-01T00-00-00.000001")
    run = load_run(folder, run="2026-01-01")
    assert set(run.tasks) == {"old"}
    assert run.timestamp == "2026-01-01T00-00-00.000001"
    with pytest.raises(
        UnknownNameError, match=r"Unknown run in .* '2025-01-01T00-00-00.000001'\. Did you mean"
    ):
        load_run(folder, run="2025-01-01T00-00-00.000001")


def test_output_folder_with_one_model_is_accepted_and_with_several_refused(tmp_path: Path) -> None:
    fx.write_run(tmp_path, {"t": fx.mc_task([1], 2)}, model="org/a")
    assert load_run(tmp_path).model_name == "org/a"
    fx.write_run(tmp_path, {"t": fx.mc_task([1], 2)}, model="org/b")
    assert [p.name for p in find_runs(tmp_path)] == ["org__a", "org__b"]
    with pytest.raises(
        FileNotFoundError, match=r"runs of 2 models: org__a, org__b\. Pass one model's folder"
    ):
        load_run(tmp_path)


def test_folder_without_results_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"holds no lm-eval results file"):
        load_run(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"does not exist"):
        load_run(tmp_path / "nope")


# --------------------------------------------------------------------------- bad files


def test_truncated_json_names_file_and_line(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0], 2)})
    f = next(folder.glob("results_*.json"))
    text = f.read_text()
    f.write_text(text[: len(text) // 2])
    with pytest.raises(ResultsFormatError, match=r"results_.*\.json:\d+: invalid JSON .*truncated"):
        load_run(folder)


def test_non_lm_eval_json_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "results_2026-01-01T00-00-00.json"
    f.write_text(json.dumps({"accuracy": 0.5, "model": "x"}))
    with pytest.raises(
        ResultsFormatError,
        match=r"not an lm-eval results file: no 'results' mapping \(top-level keys: accuracy, model\)",
    ):
        load_run(f)
    f.write_text("[1, 2]")
    with pytest.raises(ResultsFormatError, match=r"top level is a JSON list"):
        load_run(f)
    f.write_text("")
    with pytest.raises(ResultsFormatError, match=r"the file is empty"):
        load_run(f)


def test_empty_samples_file_is_an_error(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0], 2)})
    next(folder.glob("samples_*.jsonl")).write_text("")
    with pytest.raises(ResultsFormatError, match=r"samples_t_.*\.jsonl: empty samples file"):
        load_run(folder).samples("t")


def test_truncated_samples_file_gives_the_line(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 2)})
    f = next(folder.glob("samples_*.jsonl"))
    text = f.read_text()
    f.write_text(text[:-40])
    with pytest.raises(ResultsFormatError, match=r"samples_t_.*\.jsonl:3: invalid JSON .*truncated"):
        load_run(folder).samples("t")


def test_samples_missing_for_task_suggests_log_samples(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0], 2)}, log_samples=False)
    run = load_run(folder)
    assert not run.has_samples("t")
    with pytest.raises(MissingTaskError, match=r"--log_samples"):
        run.samples("t")


def test_nan_item_score_names_line(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 2)})
    f = next(folder.glob("samples_*.jsonl"))
    lines = f.read_text().splitlines()
    rec = json.loads(lines[1])
    rec["acc"] = float("nan")
    lines[1] = json.dumps(rec)
    f.write_text("\n".join(lines) + "\n")
    s = load_run(folder).samples("t")
    with pytest.raises(
        ResultsFormatError,
        match=r"samples_t_.*\.jsonl:2: metric 'acc' of task 't' is missing or not a finite",
    ):
        s.item_scores("acc")
    with pytest.raises(MissingMetricError, match=r"no per-item metric 'f1'.*Available: acc"):
        s.item_scores("f1")


def test_unknown_filter_lists_filters_present(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.gen_task([1, 0])})
    with pytest.raises(
        MissingMetricError, match=r"no records with filter 'none'; filters present: strict-match"
    ):
        load_run(folder).samples("t")


# --------------------------------------------------------------------------- samples content


def test_samples_give_scores_choices_hashes_and_clusters(tmp_path: Path) -> None:
    docs = [{"passage": "p1"}, {"passage": "p1"}, {"passage": "p2"}]
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], [2, 3, 4], docs=docs)})
    s = load_run(folder).samples("t")
    np.testing.assert_array_equal(s.doc_ids, [0, 1, 2])
    np.testing.assert_array_equal(s.item_scores("acc"), [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(s.n_choices, [2, 3, 4])
    np.testing.assert_array_equal(s.clusters("passage"), [0, 0, 1])
    assert all(len(h) == 64 for h in s.doc_hashes)
    with pytest.raises(
        MissingMetricError, match=r":1: the doc of task 't' has no field 'subject'.*its fields: passage"
    ):
        s.clusters("subject")


def test_corpus_metric_items_are_reference_prediction_pairs(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path, {"mt": fx.corpus_task(["a b c", "d e"], ["a b", "d e f"], metric="chrf", aggregate=55.0)}
    )
    run = load_run(folder)
    s = run.samples("mt")
    assert s.pairs["chrf"] == (("a b c", "d e"), ("a b", "d e f"))
    assert s.n_choices is None
    assert math.isnan(run.task("mt").metric("chrf").stderr)
    with pytest.raises(MissingMetricError, match=r"'chrf' is a corpus metric"):
        s.item_scores("chrf")


# --------------------------------------------------------------------------- v0.3 and bare files


def test_v03_keys_are_read_with_filter_none(tmp_path: Path) -> None:
    f = tmp_path / "model_suite_0-shot.json"
    f.write_text(
        json.dumps(
            {
                "results": {
                    "piqa": {"acc": 0.7, "acc_stderr": 0.01, "acc_norm": 0.71, "acc_norm_stderr": 0.011}
                },
                "versions": {"piqa": 0},
                "config": {
                    "model": "hf-causal",
                    "model_args": "pretrained=EleutherAI/pythia-70m",
                    "num_fewshot": 0,
                },
            }
        )
    )
    run = load_run(f)
    assert run.format == "v0.3"
    assert run.model_name == "EleutherAI/pythia-70m"
    piqa = run.task("piqa")
    assert piqa.metric("acc_norm").value == 0.71 and piqa.metric("acc_norm").stderr == 0.011
    assert piqa.version == "0" and piqa.num_fewshot == 0 and piqa.n is None


def test_bare_results_mapping_recovers_groups_from_aliases(tmp_path: Path) -> None:
    f = tmp_path / "bare.json"
    f.write_text(
        json.dumps(
            {
                "grp": {"acc,none": 0.5, "acc_stderr,none": 0.1, "alias": "grp"},
                "a": {"alias": " - a", "acc,none": 0.4, "acc_stderr,none": 0.1},
                "b": {"alias": " - b", "acc,none": 0.6, "acc_stderr,none": "N/A"},
            }
        )
    )
    run = load_run(f)
    assert set(run.groups) == {"grp"} and set(run.tasks) == {"a", "b"}
    assert run.group_subtasks == {"grp": ("a", "b")}
    assert run.tasks["a"].alias == "a"


# --------------------------------------------------------------------------- real public data


def _walk(root: Path) -> list[Path]:
    return sorted(root.rglob("*.json"))


@pytest.mark.parametrize(
    "folder", ["metabench_v04_results", "pythia_v03_results", "harness_v03_results", "samples_v04_asdiv"]
)
def test_every_real_results_file_parses(shared_data: Path, folder: str) -> None:
    root = shared_data / "lm_eval_outputs" / folder
    if not root.is_dir():
        pytest.skip(f"{root} absent")
    files = _walk(root)
    assert files
    failures = []
    n_metrics = 0
    for f in files:
        try:
            run = read_results_file(f)
        except ResultsFormatError as err:  # a one-line reason is acceptable; none expected today
            failures.append(f"{f}: {err}")
            continue
        assert run.tasks or run.groups
        n_metrics += sum(len(t.metrics) for t in run.tasks.values())
        for t in run.tasks.values():
            for mv in t.metrics.values():
                assert math.isfinite(mv.value)
    assert not failures, "\n".join(failures)
    assert n_metrics > 0


def test_real_pythia_value_matches_published_table(shared_data: Path) -> None:
    # Pythia paper appendix: pythia-12b step143000 zero-shot PIQA acc 0.760 (PROVENANCE.md).
    root = (
        shared_data
        / "lm_eval_outputs"
        / "pythia_v03_results"
        / "evals"
        / "pythia-v1"
        / "pythia-12b"
        / "zero-shot"
    )
    files = [f for f in root.glob("*.json") if "143000" in f.name]
    if not files:
        pytest.skip("pythia-12b step143000 zero-shot file absent")
    run = read_results_file(files[0])
    assert run.format == "v0.3"
    assert run.task("piqa").metric("acc").value == pytest.approx(0.760, abs=5e-4)


def test_real_asdiv_run_folder_latest_and_chosen_run(shared_data: Path) -> None:
    folder = (
        shared_data
        / "lm_eval_outputs"
        / "samples_v04_asdiv"
        / "results"
        / "asdiv"
        / "meta-llama__Meta-Llama-3-8B-Instruct"
    )
    if not folder.is_dir():
        pytest.skip(f"{folder} absent")
    latest = load_run(folder)
    assert set(latest.tasks) == {"asdiv_cot_llama"}  # 04-27 is after 03-44
    assert len(latest.other_runs) == 1
    assert latest.samples_files == {}  # its samples file was not published
    run = load_run(folder, run="2024-08-21T03-44")
    assert run.task("asdiv").n == 50 and run.task("asdiv").n_original == 2305
    assert run.lm_eval_version == "git-59170e85"
    s = run.samples("asdiv")
    assert len(s) == 50
    assert s.n_choices is None  # loglikelihood with one request per item
    assert s.item_scores("acc").mean() == pytest.approx(run.task("asdiv").metric("acc").value)


@pytest.mark.parametrize(
    ("name", "n_items", "acc", "chance"),
    [
        # PROVENANCE.md: winogrande_secondary 106 docs acc 0.519; truthfulqa_secondary 136 docs.
        ("winogrande", 106, 0.519, 0.5),
        ("truthfulqa", 136, None, None),
    ],
)
def test_real_metabench_samples_parse(
    shared_data: Path, name: str, n_items: int, acc: float | None, chance: float | None
) -> None:
    folder = shared_data / "lm_eval_outputs" / "metabench_v04_results" / "harness-results"
    files = list(folder.glob(f"samples_metabench_{name}_secondary_*.jsonl"))
    if not files:
        pytest.skip(f"no {name} samples in {folder}")
    s = read_samples(files[0])
    assert s.task == f"metabench_{name}_secondary"
    assert len(s) == n_items
    assert s.n_choices is not None and (s.n_choices >= 2).all()
    if acc is not None:
        assert s.item_scores("acc").mean() == pytest.approx(acc, abs=5e-4)
    if chance is not None:
        assert float(np.mean(1.0 / s.n_choices)) == chance
    # n_choices equals the number of choices in the doc (mc1 targets for truthfulqa)
    if name == "truthfulqa":
        ks = [len(d["mc1_targets"]["choices"]) for d in s.docs]
        np.testing.assert_array_equal(s.n_choices, ks)


def test_list_valued_item_metrics_are_flattened_with_owners(tmp_path: Path) -> None:
    task = fx.gen_task(
        [0.0, 0.0], metric="inst_level_strict_acc", filter="none", aggregate=2 / 3, stderr="N/A"
    )
    task.values = [[True, False], [True]]
    folder = fx.write_run(tmp_path, {"ifeval": task})
    s = load_run(folder).samples("ifeval")
    flat, owner = s.nested["inst_level_strict_acc"]
    np.testing.assert_array_equal(flat, [1.0, 0.0, 1.0])
    np.testing.assert_array_equal(owner, [0, 0, 1])
    with pytest.raises(MissingMetricError, match=r"has a list of values per item: use `nested`"):
        s.item_scores("inst_level_strict_acc")


def test_gold_prediction_pairs_of_f1_are_not_taken_as_value_lists(tmp_path: Path) -> None:
    task = fx.gen_task([0.0, 0.0], metric="f1", filter="none", aggregate=0.5, stderr="N/A")
    task.values = [[1, 0], [1, 1]]
    folder = fx.write_run(tmp_path, {"t": task})
    s = load_run(folder).samples("t")
    assert "f1" not in s.nested and "f1" not in s.scores and "f1" not in s.pairs
