"""lm_eval_mtl.scoring.composite: score_run on hand-written lm-eval run folders."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest
from scipy import stats

from lm_eval_mtl.errors import (
    DegenerateDataWarning,
    IncompatibleWeightsError,
    MissingMetricError,
    MissingTaskError,
    ResultsFormatError,
    UnknownNameError,
)
from lm_eval_mtl.io import load_run
from lm_eval_mtl.scoring.composite import CompositeScore, score_run, signature
from lm_eval_mtl.suites import MemberSpec, SuiteSpec
from lm_eval_mtl.suites.detect import detect_suite


def _suite(*members: MemberSpec, weights: str = "equal", name: str = "mtl_test") -> SuiteSpec:
    return SuiteSpec(name=name, version="1.0", kind="suite", members=tuple(members), weights=weights)


def mc(task: str, chance: float = 0.25, family: str = "f1", **kw: Any) -> MemberSpec:
    return MemberSpec(task, "acc", "none", chance, 1.0, family, **kw)


def gen(task: str, family: str = "f2", **kw: Any) -> MemberSpec:
    return MemberSpec(
        task, "exact_match", "strict-match", 0.0, 1.0, family, output_type="generate_until", **kw
    )


def _bern(n: int, p: float, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random(n) < p).astype(int)


# --------------------------------------------------------------------------- analytic


def test_analytic_composite_matches_hand_computation(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path,
        {
            "a": fx.mc_task([1], 4, aggregate=0.70, stderr=0.02),
            "b": fx.gen_task([1], aggregate=0.30, stderr=0.04),
        },
        log_samples=False,
    )
    c = score_run(load_run(folder), _suite(mc("a"), gen("b")), confidence_level=0.9)
    za, zb = (0.70 - 0.25) / 0.75, 0.30
    sea, seb = 0.02 / 0.75, 0.04
    assert c.method == "analytic"
    assert c.value == pytest.approx(0.5 * za + 0.5 * zb)
    assert c.se == pytest.approx(math.sqrt(0.25 * sea**2 + 0.25 * seb**2))
    zq = stats.norm.ppf(0.95)
    assert c.ci.low == pytest.approx(c.value - zq * c.se)
    assert c.ci.high == pytest.approx(c.value + zq * c.se)
    assert [t.chance_source for t in c.tasks] == ["spec", "spec"]
    assert c.n_resamples is None


def test_missing_stderr_gives_nan_se_and_a_warning(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4, stderr="N/A")}, log_samples=False)
    with pytest.warns(DegenerateDataWarning, match=r"standard error is undefined"):
        c = score_run(load_run(folder), _suite(mc("a")))
    assert math.isnan(c.se) and math.isnan(c.ci.low)
    assert math.isfinite(c.value)


def test_higher_confidence_level_widens_interval(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path, {"a": fx.mc_task(_bern(400, 0.6, 1), 4), "b": fx.gen_task(_bern(300, 0.3, 2))}
    )
    c = score_run(load_run(folder), _suite(mc("a"), gen("b")), rng=3, n_resamples=2000)
    lo90, hi90 = c.confidence_interval(0.90)
    lo99, hi99 = c.confidence_interval(0.99)
    assert lo99 < lo90 < c.value < hi90 < hi99


# --------------------------------------------------------------------------- bootstrap


def test_bootstrap_agrees_with_analytic_for_independent_binary_tasks(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path, {"a": fx.mc_task(_bern(3000, 0.6, 1), 4), "b": fx.gen_task(_bern(2000, 0.3, 2))}
    )
    run = load_run(folder)
    suite = _suite(mc("a"), gen("b"))
    boot = score_run(run, suite, rng=7, n_resamples=4000)
    ana = score_run(run, suite, method="analytic")
    assert boot.method == "percentile" and boot.n_resamples == 4000 and boot.seed == 7
    assert boot.value == pytest.approx(ana.value, abs=1e-12)
    assert boot.se == pytest.approx(ana.se, rel=0.06)
    assert [t.resample for t in boot.tasks] == ["binomial", "binomial"]


def test_same_seed_gives_same_interval(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task(_bern(200, 0.6, 1), 4)})
    run = load_run(folder)
    a = score_run(run, _suite(mc("a")), rng=11, n_resamples=500)
    b = score_run(run, _suite(mc("a")), rng=11, n_resamples=500)
    assert a.ci == b.ci


def test_chance_is_mean_inverse_choices_from_samples(tmp_path: Path) -> None:
    ks = [2, 4, 4, 5]
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0, 1, 1], ks)})
    c = score_run(load_run(folder), _suite(mc("a", chance=0.3)), rng=0, n_resamples=200)
    chance = (1 / 2 + 1 / 4 + 1 / 4 + 1 / 5) / 4
    t = c.tasks[0]
    assert t.chance == pytest.approx(chance) and t.chance_source == "samples"
    assert t.normalized == pytest.approx((0.75 - chance) / (1 - chance))


def test_percentile_without_samples_is_refused(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4)}, log_samples=False)
    with pytest.raises(MissingTaskError, match=r"method='percentile' bootstraps over items.*--log_samples"):
        score_run(load_run(folder), _suite(mc("a")), method="percentile")


def test_bca_interval_is_available(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path, {"a": fx.mc_task(_bern(300, 0.6, 1), 4), "b": fx.gen_task(_bern(300, 0.3, 2))}
    )
    c = score_run(load_run(folder), _suite(mc("a"), gen("b")), method="bca", rng=1, n_resamples=2000)
    assert c.method == "bca"
    assert c.ci.low < c.value < c.ci.high


def test_clustered_items_widen_the_interval_like_the_cluster_formula(tmp_path: Path) -> None:
    # 40 passages x 10 questions; correctness mostly shared within a passage.
    rng = np.random.default_rng(5)
    passage_ok = rng.random(40) < 0.5
    flips = rng.random(400) < 0.1
    correct = np.repeat(passage_ok, 10) ^ flips
    docs = [{"passage": f"p{i // 10}", "q": i} for i in range(400)]
    folder = fx.write_run(tmp_path, {"boolq": fx.mc_task(correct.astype(int), 2, docs=docs)})
    run = load_run(folder)
    plain = score_run(run, _suite(mc("boolq", chance=0.5)), rng=1, n_resamples=4000)
    clustered = score_run(run, _suite(mc("boolq", chance=0.5, cluster="passage")), rng=1, n_resamples=4000)
    via_cli_arg = score_run(
        run, _suite(mc("boolq", chance=0.5)), clusters={"boolq": "passage"}, rng=1, n_resamples=4000
    )
    # reference: CR1 cluster-robust SE of a mean, by hand, over (u - c) = 0.5
    s = correct.astype(float)
    resid_sums = np.array([np.sum(s[g * 10 : (g + 1) * 10] - s.mean()) for g in range(40)])
    se_ref = math.sqrt(40 / 39 * np.sum(resid_sums**2)) / 400 / 0.5
    assert clustered.tasks[0].se == pytest.approx(se_ref, rel=1e-9)
    assert clustered.se == pytest.approx(se_ref, rel=0.08)
    assert clustered.se > 2 * plain.se
    assert clustered.tasks[0].resample == "cluster"
    assert via_cli_arg.ci == clustered.ci


def test_missing_cluster_field_is_named(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 2)})
    with pytest.raises(MissingMetricError, match=r"the doc of task 'a' has no field 'passage'"):
        score_run(load_run(folder), _suite(mc("a", chance=0.5, cluster="passage")))


# --------------------------------------------------------------------------- overlapping items


def test_tasks_sharing_documents_are_resampled_jointly(tmp_path: Path) -> None:
    # "main" and "diamond" score the same 500 documents identically: the composite is
    # one task in disguise, so its se must be the single task's se, not se/sqrt(2).
    x = _bern(500, 0.5, 3)
    docs = [{"question": f"q{i}"} for i in range(500)]
    folder = fx.write_run(
        tmp_path, {"main": fx.mc_task(x, 4, docs=docs), "diamond": fx.mc_task(x, 4, docs=docs)}
    )
    c = score_run(load_run(folder), _suite(mc("main"), mc("diamond")), rng=2, n_resamples=4000)
    single = float(np.std(x, ddof=1) / math.sqrt(500) / 0.75)
    assert c.se == pytest.approx(single, rel=0.07)
    assert [t.resample for t in c.tasks] == ["joint", "joint"]
    assert any("share items" in n and "resampled jointly" in n for n in c.notes)


def test_two_members_of_one_task_without_samples_use_the_upper_bound(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path,
        {
            "ifeval": fx.gen_task(
                [1], metric="inst", filter="none", aggregate=0.6, stderr=0.02, extra_metrics={}
            )
        },
        log_samples=False,
    )
    # add a second metric to the same task row
    f = next(folder.glob("results_*.json"))
    data = json.loads(f.read_text())
    data["results"]["ifeval"]["prompt,none"] = 0.5
    data["results"]["ifeval"]["prompt_stderr,none"] = 0.03
    f.write_text(json.dumps(data))
    a = MemberSpec(
        "ifeval", "inst", "none", 0.0, 1.0, "if", output_type="generate_until", label="ifeval:inst"
    )
    b = MemberSpec(
        "ifeval", "prompt", "none", 0.0, 1.0, "if", output_type="generate_until", label="ifeval:prompt"
    )
    c = score_run(load_run(folder), _suite(a, b))
    assert c.se == pytest.approx(0.5 * 0.02 + 0.5 * 0.03)  # perfectly correlated: sum of w*se
    assert any("perfectly correlated" in n for n in c.notes)


# --------------------------------------------------------------------------- corpus metrics


def test_corpus_metric_member_is_bootstrapped_over_segments(tmp_path: Path) -> None:
    import sacrebleu

    refs = [f"the cat number {i} sat on the mat" for i in range(60)]
    preds = [f"a cat number {i} sat on a mat" if i % 3 else f"the dog {i} ran" for i in range(60)]
    chrf = sacrebleu.corpus_chrf(preds, [refs]).score
    folder = fx.write_run(
        tmp_path,
        {"mt": fx.corpus_task(refs, preds, aggregate=chrf), "a": fx.mc_task(_bern(100, 0.7, 1), 4)},
    )
    mt = MemberSpec("mt", "chrf", "none", 0.0, 100.0, "translation", output_type="generate_until")
    c = score_run(load_run(folder), _suite(mt, mc("a")), rng=4, n_resamples=1000)
    t = c.tasks[0]
    assert t.raw == pytest.approx(chrf) and t.normalized == pytest.approx(chrf / 100)
    assert t.resample == "corpus"
    assert math.isfinite(t.se) and t.se > 0  # from a segment bootstrap (lm-eval wrote N/A)
    assert c.ci.low < c.value < c.ci.high


def test_corpus_value_not_matching_results_is_an_error(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"mt": fx.corpus_task(["a b c d"], ["a b c d"], aggregate=42.0)})
    mt = MemberSpec("mt", "chrf", "none", 0.0, 100.0, "translation", output_type="generate_until")
    with pytest.raises(
        ResultsFormatError, match=r"corpus chrf recomputed from the logged segments is 100.0.*reports 42.0"
    ):
        score_run(load_run(folder), _suite(mt))


def test_samples_not_matching_results_are_an_error(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0, 0, 0], 4, aggregate=0.9, stderr=0.1)})
    with pytest.raises(
        ResultsFormatError,
        match=r"the mean of 4 logged items of task 'a' \(acc\) is 0.25, but the results file reports 0.9",
    ):
        score_run(load_run(folder), _suite(mc("a")))


# --------------------------------------------------------------------------- missing tasks and metrics


def test_missing_task_raises_and_suggests_drop(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4)})
    with pytest.raises(
        MissingTaskError, match=r"lacks 1 of the 2 tasks of suite mtl_test@1.0: b\. .*--missing drop"
    ):
        score_run(load_run(folder), _suite(mc("a"), gen("b")))


def test_a_run_with_none_of_the_suite_says_so_instead_of_suggesting_drop(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"z": fx.mc_task([1, 0], 4)})
    with pytest.raises(MissingTaskError, match=r"has none of the 2 tasks of suite mtl_test@1.0") as err:
        score_run(load_run(folder), _suite(mc("a"), gen("b")))
    assert "--missing drop" not in str(err.value) and "--suite" in str(err.value)


def test_drop_renormalizes_weights_and_lists_dropped(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path,
        {
            "a": fx.mc_task([1], 4, aggregate=0.7, stderr=0.02),
            "c": fx.mc_task([1], 4, aggregate=0.4, stderr=0.02),
        },
        log_samples=False,
    )
    # family weights: f1 = {a, b} -> 0.25 each, f2 = {c} -> 0.5; b is missing.
    suite = _suite(mc("a"), mc("b"), mc("c", family="f2"), weights="family")
    c = score_run(load_run(folder), suite, missing="drop")
    assert c.tasks_dropped == ("b",)
    assert "not in the run" in c.drop_reasons["b"]
    w = {t.label: t.weight for t in c.tasks}
    assert w["a"] == pytest.approx(0.25 / 0.75) and w["c"] == pytest.approx(0.5 / 0.75)
    assert c.signature.endswith("|drop=b")
    assert c.percentile is None


def test_missing_metric_names_task_metric_and_available(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4)})
    with pytest.raises(
        MissingMetricError, match=r"task 'a' has no metric 'acc_norm'.*Available: acc \(none\).*member 'a'"
    ):
        score_run(load_run(folder), _suite(MemberSpec("a", "acc_norm", "none", 0.25, 1.0, "f")))


def test_nan_score_is_an_error(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4)}, log_samples=False)
    f = next(folder.glob("results_*.json"))
    data = json.loads(f.read_text())
    data["results"]["a"]["acc,none"] = float("nan")
    f.write_text(json.dumps(data))
    with pytest.raises(ResultsFormatError, match=r"reports metric 'acc' \(filter 'none'\) as nan"):
        score_run(load_run(folder), _suite(mc("a")))


# --------------------------------------------------------------------------- weights


def test_weights_for_another_suite_are_refused(tmp_path: Path) -> None:
    from lm_eval_mtl.scoring.weights_file import WeightsFile, save_weights

    wf = WeightsFile(
        id="w-other", suite="other_suite", suite_version="1.0", scheme="equal", weights={"a": 1.0}
    )
    path = save_weights(wf, tmp_path / "w.json")
    folder = fx.write_run(tmp_path / "runs", {"a": fx.mc_task([1, 0], 4)}, log_samples=False)
    with pytest.raises(
        IncompatibleWeightsError,
        match=r"weights 'w-other' are for suite other_suite@1.0; they cannot weight suite mtl_test@1.0",
    ):
        score_run(load_run(folder), _suite(mc("a")), weights=str(path))


def test_weights_for_another_version_are_refused(tmp_path: Path) -> None:
    from lm_eval_mtl.scoring.weights_file import WeightsFile, save_weights

    wf = WeightsFile(id="w-old", suite="mtl_test", suite_version="0.9", scheme="equal", weights={"a": 1.0})
    path = save_weights(wf, tmp_path / "w.json")
    folder = fx.write_run(tmp_path / "runs", {"a": fx.mc_task([1, 0], 4)}, log_samples=False)
    with pytest.raises(
        IncompatibleWeightsError, match=r"for suite mtl_test@0.9; they cannot weight suite mtl_test@1.0"
    ):
        score_run(load_run(folder), _suite(mc("a")), weights=str(path))


def test_weights_file_is_used_and_named_in_the_signature(tmp_path: Path) -> None:
    from lm_eval_mtl.scoring.weights_file import WeightsFile, save_weights

    wf = WeightsFile(
        id="w-mine", suite="mtl_test", suite_version="1.0", scheme="redundancy", weights={"a": 0.8, "b": 0.2}
    )
    path = save_weights(wf, tmp_path / "w.json")
    folder = fx.write_run(
        tmp_path / "runs",
        {
            "a": fx.mc_task([1], 4, aggregate=0.7, stderr=0.02),
            "b": fx.gen_task([1], aggregate=0.3, stderr=0.04),
        },
        log_samples=False,
    )
    c = score_run(load_run(folder), _suite(mc("a"), gen("b")), weights=str(path))
    assert [t.weight for t in c.tasks] == pytest.approx([0.8, 0.2])
    assert c.weights.id == "w-mine" and c.weights.scheme == "redundancy" and c.weights.sha256 == wf.sha256
    assert f"|w=w-mine@sha256:{wf.sha256[:6]}|" in c.signature


def test_unknown_weights_and_method_list_close_matches(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4)}, log_samples=False)
    run = load_run(folder)
    with pytest.raises(UnknownNameError, match=r"Unknown interval method 'bcaa'\. Did you mean: bca\?"):
        score_run(run, _suite(mc("a")), method="bcaa")  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError, match=r"Unknown weights id 'redundancy-openllm_v3'\. Did you mean"):
        score_run(run, _suite(mc("a")), weights="redundancy-openllm_v3")


def test_bad_arguments_are_named(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4)}, log_samples=False)
    run = load_run(folder)
    with pytest.raises(ValueError, match=r"`confidence_level` must be in \(0, 1\); got 1.5"):
        score_run(run, _suite(mc("a")), confidence_level=1.5)
    with pytest.raises(ValueError, match=r"`missing` must be 'error' or 'drop'; got 'skip'"):
        score_run(run, _suite(mc("a")), missing="skip")  # type: ignore[arg-type]
    with pytest.raises(UnknownNameError, match=r"Unknown task of suite 'mtl_test' in `clusters` 'zz'"):
        score_run(run, _suite(mc("a")), clusters={"zz": "passage"})
    with pytest.raises(TypeError, match=r"`run` must be a RunResult"):
        score_run("runs/x", _suite(mc("a")))  # type: ignore[arg-type]


# --------------------------------------------------------------------------- signature, dict, frame


def test_signature_hashes_the_task_hashes(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4), "b": fx.gen_task([0, 1])})
    run = load_run(folder)
    c = score_run(run, _suite(mc("a"), gen("b")), rng=0, n_resamples=100)
    lines = "\n".join(f"{t}:{run.tasks[t].task_hash}" for t in sorted(["a", "b"]))
    expect = hashlib.sha256(lines.encode()).hexdigest()[:8]
    assert re.fullmatch(
        r"mtl_test@1\.0\|norm=chance\|w=equal@sha256:[0-9a-f]{6}\|lm-eval=0\.4\.13\|tasks=[0-9a-f]{8}",
        c.signature,
    )
    assert c.signature.endswith(f"tasks={expect}")
    assert signature(_suite(mc("a")), c.weights, None, {"a": None}).endswith("|lm-eval=unknown|tasks=na")
    many = [f"t{i}" for i in range(7)]
    digest = hashlib.sha256("\n".join(sorted(many)).encode()).hexdigest()[:8]
    assert signature(_suite(mc("a")), c.weights, None, {}, many).endswith(f"|drop=7@{digest}")


def test_to_dict_is_strict_json_with_the_documented_keys(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task(_bern(50, 0.5, 1), 4)})
    c = score_run(load_run(folder), _suite(mc("a")), rng=0, n_resamples=200)
    d = json.loads(json.dumps(c.to_dict(), allow_nan=False))
    assert set(d["composite"]) >= {"value", "se", "ci", "confidence_level", "method"}
    assert d["composite"]["ci"] == [c.ci.low, c.ci.high]
    assert set(d["tasks"][0]) >= {"task", "metric", "raw", "normalized", "se", "n", "weight"}
    assert set(d["weights"]) == {"scheme", "id", "sha256"}
    assert d["signature"] == c.signature


def test_to_frame_has_one_row_per_member(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4), "b": fx.gen_task([1, 1])}, log_samples=False)
    c = score_run(load_run(folder), _suite(mc("a"), gen("b")))
    frame = c.to_frame()
    assert list(frame["task"]) == ["a", "b"]
    assert frame["weight"].sum() == pytest.approx(1.0)


def test_result_is_a_frozen_typed_object(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 4)}, log_samples=False)
    c = score_run(load_run(folder), _suite(mc("a")))
    assert isinstance(c, CompositeScore)
    with pytest.raises(AttributeError):
        c.value = 1.0  # type: ignore[misc]


# --------------------------------------------------------------------------- suite detection


def test_detect_suite_prefers_a_group_in_the_run(tmp_path: Path) -> None:
    s1 = _suite(mc("a"), mc("b"), name="mtl_one")
    s2 = _suite(mc("a"), name="mtl_two")
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1], 4)}, groups={"mtl_one": ["a"]})
    choice = detect_suite(load_run(folder), [s1, s2])
    assert choice.suite.name == "mtl_one" and "has the group 'mtl_one'" in choice.reason


def test_detect_suite_by_coverage_and_refuses_when_none_match(tmp_path: Path) -> None:
    s1 = _suite(mc("a"), mc("b"), name="mtl_one")
    s2 = _suite(mc("a"), mc("zz"), mc("yy"), name="mtl_two")
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1], 4), "b": fx.mc_task([1], 4)})
    choice = detect_suite(load_run(folder), [s2, s1])
    assert choice.suite.name == "mtl_one" and choice.coverage == 1.0
    assert "covers 2 of its 2 members" in choice.reason
    other = fx.write_run(tmp_path / "o", {"q": fx.mc_task([1], 4)})
    with pytest.raises(UnknownNameError, match=r"no shipped suite has a member in the run"):
        detect_suite(load_run(other), [s1, s2])


# --------------------------------------------------------------------------- real public data


def test_real_metabench_results_give_the_hand_computed_composite(shared_data: Path) -> None:
    f = (
        shared_data
        / "lm_eval_outputs"
        / "metabench_v04_results"
        / "finetuning_results_json"
        / "Llama-3.1-8B_standard_results.json"
    )
    if not f.is_file():
        pytest.skip(f"{f} absent")
    members = (
        MemberSpec("metabench_arc", "acc_norm", "none", 0.25, 1.0, "reasoning"),
        MemberSpec(
            "metabench_gsm8k", "exact_match", "strict-match", 0.0, 1.0, "math", output_type="generate_until"
        ),
        MemberSpec("metabench_hellaswag", "acc_norm", "none", 0.25, 1.0, "commonsense"),
        MemberSpec("metabench_mmlu", "acc", "none", 0.25, 1.0, "knowledge"),
        MemberSpec("metabench_winogrande", "acc", "none", 0.5, 1.0, "commonsense"),
    )
    c = score_run(load_run(f), _suite(*members, weights="family", name="mtl_metabench"))
    # reference: read the JSON with the json module and do the arithmetic by hand
    raw = json.loads(f.read_text())
    w = {
        "metabench_arc": 0.25,
        "metabench_gsm8k": 0.25,
        "metabench_mmlu": 0.25,
        "metabench_hellaswag": 0.125,
        "metabench_winogrande": 0.125,
    }
    value = var = 0.0
    for m in members:
        key = f"{m.metric},{m.filter}"
        span = m.ceiling - m.chance
        value += w[m.task] * (raw[m.task][key] - m.chance) / span
        var += (w[m.task] * raw[m.task][f"{m.metric}_stderr,{m.filter}"] / span) ** 2
    assert c.value == pytest.approx(value, rel=1e-12)
    assert c.se == pytest.approx(math.sqrt(var), rel=1e-12)
    assert c.method == "analytic"
    assert c.signature.startswith("mtl_metabench@1.0|norm=chance|w=family@sha256:")
    assert c.signature.endswith("|lm-eval=unknown|tasks=na")  # a bare results mapping records neither


def test_real_asdiv_samples_bootstrap_matches_the_binomial_se(shared_data: Path) -> None:
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
    run = load_run(folder, run="2024-08-21T03-44")
    member = MemberSpec("asdiv", "acc", "none", 0.0, 1.0, "math", output_type="loglikelihood")
    c = score_run(run, _suite(member, name="mtl_asdiv"), rng=0, n_resamples=20_000)
    assert c.method == "percentile" and c.tasks[0].resample == "binomial"
    assert c.value == pytest.approx(0.92)
    # bootstrap SE of a proportion: sqrt(p(1-p)/n) with p = 46/50
    assert c.se == pytest.approx(math.sqrt(0.92 * 0.08 / 50), rel=0.03)
    assert c.lm_eval_version == "git-59170e85"
    assert c.signature.endswith(
        "|lm-eval=git-59170e85|tasks="
        + hashlib.sha256(f"asdiv:{run.tasks['asdiv'].task_hash}".encode()).hexdigest()[:8]
        + "|limit=50"  # the run was made with lm_eval --limit 50 (issue 11: marked in the signature)
    )


def test_openllm_v2_suites_also_give_the_published_average(tmp_path: Path) -> None:
    folder = fx.write_run(
        tmp_path,
        {
            "a": fx.mc_task([1], 4, aggregate=0.7, stderr=0.02),
            "b": fx.mc_task([1], 4, aggregate=0.1, stderr=0.02),
        },
        log_samples=False,
    )
    suite = SuiteSpec(
        name="mtl_lb",
        version="1.0",
        kind="suite",
        members=(mc("a", family="A"), mc("b", family="B")),
        weights="equal",
        leaderboard="openllm_v2",
    )
    c = score_run(load_run(folder), suite)
    # by hand: max(0, (x - 1/4)/(3/4)) * 100 per benchmark, then the plain mean: (60 + 0)/2
    assert c.leaderboard_average == pytest.approx(30.0)
    assert c.value == pytest.approx(0.5 * 0.6 + 0.5 * (0.1 - 0.25) / 0.75)  # the composite is not clipped
    assert c.to_dict()["leaderboard"] == {"name": "openllm_v2", "average": c.leaderboard_average}


def test_task_interval_is_wilson_for_binary_items_and_matches_scipy(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 1] + [0] * 18, 4), "z": fx.gen_task([0] * 25)})
    c = score_run(load_run(folder), _suite(mc("a"), gen("z")), rng=0, n_resamples=200)
    a, z = c.tasks
    assert a.interval_kind == "wilson" and a.successes == 2
    ref = stats.binomtest(2, 20).proportion_ci(confidence_level=0.9, method="wilson")
    lo, hi = a.confidence_interval(0.9)
    assert lo == pytest.approx((ref.low - 0.25) / 0.75) and hi == pytest.approx((ref.high - 0.25) / 0.75)
    # 0 of 25: the normal interval collapses to a point, Wilson does not
    zlo, zhi = z.confidence_interval(0.95)
    assert zlo == pytest.approx(0.0, abs=1e-12) and zhi == pytest.approx(
        stats.binomtest(0, 25).proportion_ci(method="wilson").high
    )
    assert zhi > 0.1


def test_shipped_weights_give_a_population_percentile(tmp_path: Path) -> None:
    from lm_eval_mtl.scoring.weights_file import list_shipped_weights, load_weights, percentile
    from lm_eval_mtl.suites import load_suite

    if "redundancy-openllm_v1" not in list_shipped_weights():
        pytest.skip("redundancy-openllm_v1 weights are not shipped in this checkout")
    suite = load_suite("mtl_openllm_v1")
    wf = load_weights("redundancy-openllm_v1")
    if "fitted" not in wf.percentiles:
        pytest.skip("the shipped file has no percentile table")
    tasks = {
        m.task: (
            fx.mc_task([1], 4, metric=m.metric, aggregate=0.6, stderr=0.01)
            if m.output_type == "multiple_choice"
            else fx.gen_task([1], metric=m.metric, filter=m.filter, aggregate=0.4, stderr=0.01)
        )
        for m in suite.members
    }
    folder = fx.write_run(tmp_path, tasks, log_samples=False)
    c = score_run(load_run(folder), suite)
    assert c.weights.id == "redundancy-openllm_v1" and c.weights.sha256 == wf.sha256
    assert c.percentile == percentile(c.value, wf.percentiles["fitted"])
    assert c.percentile_reference is not None and "redundancy-openllm_v1" in c.percentile_reference


def test_instruction_level_lists_are_resampled_by_prompt_jointly_with_prompt_level(tmp_path: Path) -> None:
    # IFEval logs a list of 0/1 per prompt (one per instruction); lm-eval averages the flattened
    # values. Instruction- and prompt-level members share prompts: one joint resampling unit.
    rng = np.random.default_rng(8)
    inst = []
    for _ in range(300):
        k = int(rng.integers(1, 4))
        p = rng.random()
        inst.append([bool(rng.random() < p) for _ in range(k)])
    prompt = [float(all(v)) for v in inst]
    flat = np.array([x for v in inst for x in v], dtype=float)
    task = fx.gen_task(
        [0.0] * 300,
        metric="inst_level_strict_acc",
        filter="none",
        aggregate=float(flat.mean()),
        stderr="N/A",
        extra_metrics={"prompt_level_strict_acc": prompt},
    )
    task.values = inst
    folder = fx.write_run(tmp_path, {"ifeval": task})
    a = MemberSpec(
        "ifeval",
        "inst_level_strict_acc",
        "none",
        0.0,
        1.0,
        "ifeval",
        output_type="generate_until",
        label="ifeval:inst",
    )
    b = MemberSpec(
        "ifeval",
        "prompt_level_strict_acc",
        "none",
        0.0,
        1.0,
        "ifeval",
        output_type="generate_until",
        label="ifeval:prompt",
    )
    c = score_run(load_run(folder), _suite(a, b), rng=1, n_resamples=4000)
    assert c.value == pytest.approx(0.5 * flat.mean() + 0.5 * np.mean(prompt))
    assert [t.resample for t in c.tasks] == ["joint", "joint"]
    # reference: a plain bootstrap over prompts, written out here
    gen = np.random.default_rng(2)
    sums = np.array([sum(v) for v in inst], dtype=float)
    sizes = np.array([len(v) for v in inst], dtype=float)
    pr = np.array(prompt)
    idx = gen.integers(0, 300, size=(4000, 300))
    dist = 0.5 * sums[idx].sum(1) / sizes[idx].sum(1) + 0.5 * pr[idx].mean(1)
    assert c.se == pytest.approx(float(np.std(dist, ddof=1)), rel=0.08)
    # the instruction-level member alone: its se is cluster-robust by prompt
    alone = score_run(load_run(folder), _suite(a), rng=1, n_resamples=4000)
    assert alone.tasks[0].resample == "cluster"
    ref_alone = float(np.std(sums[idx].sum(1) / sizes[idx].sum(1), ddof=1))
    assert alone.se == pytest.approx(ref_alone, rel=0.08)


def test_corpus_row_interval_comes_from_its_segments_not_the_results_stderr(tmp_path: Path) -> None:
    import sacrebleu

    from lm_eval_mtl.stats.corpus import bootstrap_corpus, segment_stats

    rng = np.random.default_rng(3)
    words = ["das", "haus", "ist", "klein", "der", "hund", "lauft", "weit"]
    refs = [" ".join(rng.choice(words, 6)) for _ in range(60)]
    preds = [" ".join(w if rng.random() < 0.6 else str(rng.choice(words)) for w in r.split()) for r in refs]
    chrf = sacrebleu.corpus_chrf(preds, [refs]).score
    folder = fx.write_run(tmp_path, {"mt": fx.corpus_task(refs, preds, aggregate=chrf)})
    results = next(folder.glob("results_*.json"))
    data = json.loads(results.read_text())
    data["results"]["mt"]["chrf_stderr,none"] = 0.0  # a results file claiming no uncertainty
    results.write_text(json.dumps(data))
    suite = _suite(MemberSpec("mt", "chrf", "none", 0.0, 100.0, "t", output_type="generate_until"))
    c = score_run(load_run(folder), suite, rng=0, n_resamples=2000)
    (t,) = c.tasks
    ref = bootstrap_corpus(segment_stats("chrf", refs, preds), n_resamples=2000, rng=1).se
    assert t.raw_se > 0 and t.raw_se == pytest.approx(ref, rel=0.15)  # Monte Carlo error of the SD
    lo, hi = t.confidence_interval(0.95)
    assert hi - lo > 0
    assert c.se == pytest.approx(t.se, rel=0.15)  # the row and the composite see the same segments


# --------------------------------------------------------------------------- a per-item chance metric


def _ranking_task(values: list[float], chances: list[float]) -> Any:
    return fx.gen_task(values, metric="rr10", filter="none", extra_metrics={"rr10_chance": chances})


def test_chance_metric_sets_the_chance_on_both_paths(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    values = [float(v) for v in rng.choice([0.0, 0.25, 0.5, 1.0], size=60)]
    chances = [float(c) for c in rng.uniform(0.1, 0.4, size=60)]
    spec = MemberSpec("rank", "rr10", "none", 0.0, 1.0, "search", output_type="loglikelihood",
                      chance_metric="rr10_chance")  # fmt: skip
    suite = _suite(spec, mc("a"))
    tasks = {"rank": _ranking_task(values, chances), "a": fx.mc_task([1, 0, 1, 1], 4)}
    with_samples = score_run(load_run(fx.write_run(tmp_path / "s", tasks)), suite, n_resamples=200, rng=0)
    results_only = score_run(
        load_run(fx.write_run(tmp_path / "r", tasks, log_samples=False)), suite, method="analytic"
    )
    for score in (with_samples, results_only):
        member = next(t for t in score.tasks if t.task == "rank")
        assert member.chance == pytest.approx(float(np.mean(chances)), abs=1e-12)
        assert member.chance_source == "metric"
        assert member.normalized == pytest.approx(
            (np.mean(values) - np.mean(chances)) / (1 - np.mean(chances))
        )
    assert with_samples.value == pytest.approx(results_only.value, abs=1e-12)  # one number on both paths
    assert "norm=chance[samples]" not in results_only.signature


def test_a_missing_chance_metric_is_named(tmp_path: Path) -> None:
    spec = MemberSpec("rank", "rr10", "none", 0.0, 1.0, "search", output_type="loglikelihood",
                      chance_metric="rr10_chance")  # fmt: skip
    folder = fx.write_run(tmp_path, {"rank": fx.gen_task([0.5, 1.0], metric="rr10", filter="none")})
    with pytest.raises(MissingMetricError, match=r"takes its chance from metric 'rr10_chance'"):
        score_run(load_run(folder), _suite(spec))
