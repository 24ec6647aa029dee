"""Paired comparison: statistics on aligned arrays, alignment, refusal of mismatched runs."""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from score_runs import write_run  # tests/data, on sys.path via tests/conftest.py

from lm_eval_mtl.analysis.compare import compare_runs
from lm_eval_mtl.errors import IncompatibleRunsError, InsufficientDataError, ResultsFormatError
from lm_eval_mtl.io.align import align_items
from lm_eval_mtl.stats.paired import adjust_p_values, paired_difference


def _two_task_runs(
    tmp_path: Path, rng: np.random.Generator, n: int = 300
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    a = {"t1": (rng.random(n) < 0.7).astype(float), "t2": (rng.random(n) < 0.5).astype(float)}
    b = {k: np.where(rng.random(n) < 0.8, v, 1 - v) for k, v in a.items()}
    return a, b


# --------------------------------------------------------------------------- real per-item data


def _chembench(shared_data: Path) -> tuple[list[str], np.ndarray]:
    path = shared_data / "items" / "chembench" / "binary_matrix.csv"
    if not path.is_file():
        pytest.skip(f"chembench items not available at {path}")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    return rows[0][1:], np.array([[float(v) for v in r[1:]] for r in rows[1:]])


def test_paired_se_is_below_unpaired_se_on_correlated_real_models(shared_data: Path) -> None:
    names, x = _chembench(shared_data)
    r = np.corrcoef(x, rowvar=False)
    np.fill_diagonal(r, -1)
    i, j = np.unravel_index(np.argmax(r), r.shape)
    a, b = x[:, i], x[:, j]
    res = paired_difference(a, b, rng=0, n_resamples=2000, task="chembench")
    n = a.size
    unpaired = math.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
    assert r[i, j] > 0.3
    assert res.se < unpaired
    assert res.se == pytest.approx(np.std(a - b, ddof=1) / math.sqrt(n), rel=1e-12)
    assert res.se_unpaired == pytest.approx(unpaired, rel=1e-12)
    assert res.diff == pytest.approx(a.mean() - b.mean())
    assert res.ci.low < res.diff < res.ci.high


def test_mcnemar_p_equals_binomial_test_on_discordant_pairs(shared_data: Path) -> None:
    names, x = _chembench(shared_data)
    a = x[:, names.index("Llama-3.1-70B-Instruct")]
    b = x[:, names.index("Llama-3.1-405B-Instruct")]
    res = paired_difference(a, b, rng=0, n_resamples=200)
    n10 = int(np.sum((a == 1) & (b == 0)))
    n01 = int(np.sum((a == 0) & (b == 1)))
    assert res.method == "mcnemar"
    assert res.n_discordant == (n10, n01)
    assert res.p_value == pytest.approx(stats.binomtest(n10, n10 + n01, 0.5).pvalue, rel=1e-12)
    # and close to the chi-square McNemar with continuity correction at this size
    chi2 = (abs(n10 - n01) - 1) ** 2 / (n10 + n01)
    assert res.p_value == pytest.approx(stats.chi2.sf(chi2, 1), rel=0.15)


def test_paired_bootstrap_ci_matches_scipy_paired_bootstrap() -> None:
    rng = np.random.default_rng(3)
    a = rng.random(800)
    b = np.clip(a + rng.normal(0.03, 0.1, 800), 0, 1)
    res = paired_difference(a, b, rng=1, n_resamples=4000)
    ref = stats.bootstrap(
        (a, b),
        lambda x, y, axis=-1: np.mean(x - y, axis=axis),
        paired=True,
        n_resamples=4000,
        method="percentile",
        rng=np.random.default_rng(2),
        vectorized=True,
    )
    assert res.method == "paired-bootstrap CI, sign-flip p"
    assert res.ci.low == pytest.approx(ref.confidence_interval.low, abs=0.002)
    assert res.ci.high == pytest.approx(ref.confidence_interval.high, abs=0.002)
    assert res.se == pytest.approx(ref.standard_error, rel=0.06)
    assert res.p_value < 1e-3


def test_clustered_difference_uses_cluster_robust_se() -> None:
    from lm_eval_mtl.stats.intervals import clustered_se

    rng = np.random.default_rng(5)
    clusters = np.repeat(np.arange(40), 10)
    shift = rng.normal(0, 0.3, 40)[clusters]
    a = (rng.random(400) < 0.5 + 0.2 * np.tanh(shift)).astype(float)
    b = (rng.random(400) < 0.5).astype(float)
    res = paired_difference(a, b, clusters=clusters, rng=0, n_resamples=500)
    assert res.method == "paired-bootstrap CI, sign-flip p"  # McNemar assumes independent items
    assert res.se == pytest.approx(clustered_se(a - b, clusters), rel=1e-12)


def test_scale_converts_to_normalized_units() -> None:
    a = np.array([1.0, 1, 0, 1, 0, 1])
    b = np.array([0.0, 1, 0, 0, 0, 1])
    raw = paired_difference(a, b, rng=0, n_resamples=100)
    z = paired_difference(a, b, scale=2.0, rng=0, n_resamples=100)
    assert z.diff == pytest.approx(2 * raw.diff)
    assert z.se == pytest.approx(2 * raw.se)
    assert z.p_value == raw.p_value


def test_holm_and_bh_match_references() -> None:
    from lm_eval_mtl.stats.multiple import holm

    p = np.array([0.01, 0.04, 0.03, 0.2, 0.001, 0.5])
    np.testing.assert_allclose(adjust_p_values(p, "bh"), stats.false_discovery_control(p), rtol=1e-12)
    np.testing.assert_allclose(adjust_p_values(p, "holm"), holm(p), rtol=1e-12)
    # hand: Holm for the smallest = 6 * 0.001
    assert adjust_p_values(p, "holm")[4] == pytest.approx(0.006)


def test_paired_difference_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="equal length"):
        paired_difference([1.0, 0.0], [1.0])
    with pytest.raises(ValueError, match="finite"):
        paired_difference([1.0, math.nan], [1.0, 0.0])
    with pytest.raises(ValueError, match="confidence_level"):
        paired_difference([1.0, 0.0], [1.0, 0.0], confidence_level=1.5)
    with pytest.raises(ValueError, match="clusters"):
        paired_difference([1.0, 0.0], [1.0, 0.0], clusters=[1])


def test_identical_models_give_p_one_and_zero_difference() -> None:
    a = np.array([1.0, 0.0, 1.0, 1.0])
    res = paired_difference(a, a, rng=0, n_resamples=50)
    assert res.diff == 0 and res.p_value == 1.0 and res.n_discordant == (0, 0)


# --------------------------------------------------------------------------- alignment


def test_align_items_puts_shuffled_records_in_one_order() -> None:
    ids_a = np.array([3, 1, 2, 0])
    ids_b = np.array([0, 2, 3, 1])
    al = align_items("t", ids_a, [f"h{i}" for i in ids_a], ids_b, [f"h{i}" for i in ids_b])
    np.testing.assert_array_equal(ids_a[al.index_a], ids_b[al.index_b])
    np.testing.assert_array_equal(al.doc_ids, [0, 1, 2, 3])


def test_align_items_refuses_other_items_and_hashes() -> None:
    with pytest.raises(IncompatibleRunsError, match=r"different items.*1 doc_id\(s\) only in A \(3\)"):
        align_items("t", [0, 1, 2, 3], ["a"] * 4, [0, 1, 2], ["a"] * 3)
    with pytest.raises(IncompatibleRunsError, match=r"document hashes differ for 1 of 3 items \(doc_id 2\)"):
        align_items("t", [0, 1, 2], ["x", "y", "z"], [0, 1, 2], ["x", "y", "other"])
    with pytest.raises(IncompatibleRunsError, match="repeats doc_id"):
        align_items("t", [0, 0, 1], ["a"] * 3, [0, 1, 2], ["a"] * 3)


# --------------------------------------------------------------------------- runs on disk


def test_compare_runs_aligns_items_in_another_order(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    a, b = _two_task_runs(tmp_path, rng)
    perm = rng.permutation(300)
    write_run(tmp_path / "A", "model-a", {t: {"scores": v} for t, v in a.items()})
    write_run(tmp_path / "B", "model-b", {t: {"scores": v[perm], "doc_ids": perm} for t, v in b.items()})
    res = compare_runs([tmp_path / "A", tmp_path / "B"], rng=0, n_resamples=500)
    pair = res.pairs[0]
    assert (pair.a, pair.b) == ("model-a", "model-b")
    for t in pair.tasks:
        ref = paired_difference(a[t.task], b[t.task], rng=0, n_resamples=10)
        assert t.diff == pytest.approx(ref.diff)
        assert t.se == pytest.approx(ref.se)
        assert t.p_value == pytest.approx(ref.p_value)
        assert t.method == "mcnemar"
    assert pair.composite.diff == pytest.approx(np.mean([t.diff for t in pair.tasks]))
    assert pair.composite.se == pytest.approx(0.5 * math.sqrt(sum(t.se**2 for t in pair.tasks)))
    assert pair.composite.method == "paired-bootstrap CI, sign-flip p"
    holm = adjust_p_values([t.p_value for t in pair.tasks], "holm")
    np.testing.assert_allclose([t.p_adjusted for t in pair.tasks], holm)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"num_fewshot": 5}, r"num_fewshot differs \(.*: 0, .*: 5\)"),
        ({"version": 2.0}, r"task version differs \(.*: 1.0, .*: 2.0\)"),
        ({"task_hash": "other"}, r"task hash differs"),
    ],
)
def test_compare_runs_refuses_other_settings(tmp_path: Path, change: dict[str, Any], message: str) -> None:
    scores = np.array([1.0, 0, 1, 1, 0, 1])
    write_run(tmp_path / "A", "a", {"t": {"scores": scores}})
    write_run(tmp_path / "B", "b", {"t": {"scores": scores, **change}})
    with pytest.raises(IncompatibleRunsError, match=message):
        compare_runs([tmp_path / "A", tmp_path / "B"], rng=0, n_resamples=10)


def test_compare_runs_refuses_another_limit(tmp_path: Path) -> None:
    write_run(tmp_path / "A", "a", {"t": {"scores": [1.0, 0, 1, 1, 0, 1]}})
    write_run(tmp_path / "B", "b", {"t": {"scores": [1.0, 0, 1, 1], "n_original": 6}})
    with pytest.raises(IncompatibleRunsError, match=r"number of items \(--limit\) differs \(.*: 6, .*: 4\)"):
        compare_runs([tmp_path / "A", tmp_path / "B"], rng=0, n_resamples=10)


def test_compare_runs_refuses_other_document_hashes(tmp_path: Path) -> None:
    write_run(tmp_path / "A", "a", {"t": {"scores": [1.0, 0, 1, 1]}})
    write_run(
        tmp_path / "B", "b", {"t": {"scores": [1.0, 0, 1, 1], "doc_hashes": ["h-t-0", "h-t-1", "X", "h-t-3"]}}
    )
    with pytest.raises(IncompatibleRunsError, match=r"document hashes differ for 1 of 4 items \(doc_id 2\)"):
        compare_runs([tmp_path / "A", tmp_path / "B"], rng=0, n_resamples=10)


def test_compare_without_samples_falls_back_to_analytic_unpaired(tmp_path: Path) -> None:
    write_run(
        tmp_path / "A", "a", {"t": {"scores": np.ones(10), "value": 0.7, "stderr": 0.03}}, samples=False
    )
    write_run(
        tmp_path / "B", "b", {"t": {"scores": np.ones(10), "value": 0.6, "stderr": 0.04}}, samples=False
    )
    res = compare_runs([tmp_path / "A", tmp_path / "B"], rng=0)
    t = res.pairs[0].tasks[0]
    assert t.method == "analytic-unpaired" and res.pairs[0].composite.method == "analytic-unpaired"
    assert t.diff == pytest.approx(0.1)
    assert t.se == pytest.approx(0.05)
    assert t.p_value == pytest.approx(2 * stats.norm.sf(2.0))
    assert any("analytic-unpaired" in n for n in res.notes)
    assert res.to_dict()["pairs"][0]["tasks"][0]["method"] == "analytic-unpaired"


def test_three_runs_give_all_pairs_and_a_tie_table(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n = 2000
    base = (rng.random(n) < 0.5).astype(float)
    twin = np.where(rng.random(n) < 0.98, base, 1 - base)
    better = np.maximum(base, (rng.random(n) < 0.3).astype(float))
    for name, s in (("base", base), ("twin", twin), ("better", better)):
        write_run(tmp_path / name, name, {"t": {"scores": s}})
    res = compare_runs([tmp_path / "base", tmp_path / "twin", tmp_path / "better"], rng=0, n_resamples=500)
    assert [(p.a, p.b) for p in res.pairs] == [("base", "twin"), ("base", "better"), ("twin", "better")]
    assert res.tied == (("base", "twin"),)
    tie = res.tie_matrix()
    assert tie[0, 1] and not tie[0, 2] and not tie[1, 2]
    d = res.to_dict()
    assert {"a", "b", "composite", "tasks"} <= set(d["pairs"][0])
    assert {"diff", "se", "ci", "p_value"} <= set(d["pairs"][0]["composite"])
    assert {"diff", "se", "ci", "p_value", "p_adjusted"} <= set(d["pairs"][0]["tasks"][0])


def test_compare_runs_rejects_bad_arguments(tmp_path: Path) -> None:
    write_run(tmp_path / "A", "a", {"t": {"scores": [1.0, 0.0, 1.0]}})
    with pytest.raises(InsufficientDataError, match="at least two runs"):
        compare_runs([tmp_path / "A"])
    with pytest.raises(ValueError, match="`correction` must be"):
        compare_runs([tmp_path / "A", tmp_path / "A"], correction="bonferroni")  # type: ignore[arg-type]


def test_compare_runs_clusters_by_doc_field(tmp_path: Path) -> None:
    from lm_eval_mtl.stats.intervals import clustered_se

    rng = np.random.default_rng(2)
    n = 200
    groups = np.repeat(np.arange(20), 10)
    a = (rng.random(n) < 0.6).astype(float)
    b = (rng.random(n) < 0.5).astype(float)
    docs = [{"passage": f"p{g}"} for g in groups]
    write_run(tmp_path / "A", "a", {"t": {"scores": a, "docs": docs}})
    write_run(tmp_path / "B", "b", {"t": {"scores": b, "docs": docs}})
    res = compare_runs([tmp_path / "A", tmp_path / "B"], clusters={"t": "passage"}, rng=0, n_resamples=300)
    t = res.pairs[0].tasks[0]
    assert t.method == "paired-bootstrap CI, sign-flip p"
    assert t.se == pytest.approx(clustered_se(a - b, groups), rel=1e-12)


def test_corpus_metric_is_compared_by_paired_segment_bootstrap(tmp_path: Path) -> None:
    import sacrebleu

    rng = np.random.default_rng(0)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "away", "home", "today"]
    refs = [" ".join(rng.choice(words, 8)) for _ in range(120)]

    def noisy(p: float) -> list[str]:
        return [" ".join(w if rng.random() > p else str(rng.choice(words)) for w in r.split()) for r in refs]

    good, bad = noisy(0.1), noisy(0.4)
    chrf_good = sacrebleu.corpus_chrf(good, [refs]).score
    chrf_bad = sacrebleu.corpus_chrf(bad, [refs]).score
    perm = rng.permutation(120)
    write_run(
        tmp_path / "A",
        "a",
        {"mt": {"pairs": (refs, good), "metric": "chrf", "value": chrf_good, "stderr": 1.0}},
    )
    write_run(
        tmp_path / "B",
        "b",
        {
            "mt": {
                "pairs": ([refs[k] for k in perm], [bad[k] for k in perm]),
                "doc_ids": perm,
                "metric": "chrf",
                "value": chrf_bad,
                "stderr": 1.0,
            }
        },
    )
    res = compare_runs([tmp_path / "A", tmp_path / "B"], rng=0, n_resamples=400)
    t = res.pairs[0].tasks[0]
    assert t.method == "paired-bootstrap CI, randomization p"
    assert t.diff == pytest.approx(chrf_good - chrf_bad, rel=1e-9)
    assert t.mean_a == pytest.approx(chrf_good, rel=1e-9)
    assert t.ci.low < t.diff < t.ci.high and t.p_value < 0.01


def test_suite_members_give_normalization_and_weights(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    a = {
        "mtl_demo_sentiment": (rng.random(200) < 0.8).astype(float),
        "mtl_demo_topic": (rng.random(200) < 0.6).astype(float),
    }
    b = {k: (rng.random(200) < 0.5).astype(float) for k in a}
    # the logged items have as many choices as the spec's chance says (2 and 4)
    choices = {"mtl_demo_sentiment": 2, "mtl_demo_topic": 4}
    write_run(tmp_path / "A", "a", {t: {"scores": v, "n_choices": choices[t]} for t, v in a.items()})
    write_run(tmp_path / "B", "b", {t: {"scores": v, "n_choices": choices[t]} for t, v in b.items()})
    res = compare_runs(
        [tmp_path / "A", tmp_path / "B"],
        suite="mtl_demo",
        tasks=["mtl_demo_sentiment", "mtl_demo_topic"],
        rng=0,
        n_resamples=200,
    )
    t = {x.task: x for x in res.pairs[0].tasks}
    # chance 0.5 (sentiment) and 0.25 (topic), ceiling 1: z differences are scaled by 1/(1 - c)
    assert t["mtl_demo_sentiment"].diff == pytest.approx(
        (a["mtl_demo_sentiment"] - b["mtl_demo_sentiment"]).mean() / 0.5
    )
    assert t["mtl_demo_topic"].diff == pytest.approx(
        (a["mtl_demo_topic"] - b["mtl_demo_topic"]).mean() / 0.75
    )
    assert res.weights == {"mtl_demo_sentiment": 0.5, "mtl_demo_topic": 0.5}
    assert "mtl_demo@" in res.normalization


def test_runs_of_different_suite_versions_are_refused(tmp_path: Path) -> None:
    tasks = {"mtl_demo_sentiment": {"scores": [1.0, 0, 1, 1]}, "mtl_demo_topic": {"scores": [1.0, 0, 0, 1]}}
    write_run(tmp_path / "A", "a", tasks, groups={"mtl_demo": 1.0})
    write_run(tmp_path / "B", "b", tasks, groups={"mtl_demo": 2.0})
    with pytest.raises(
        IncompatibleRunsError, match=r"different versions of suite 'mtl_demo' \(a: 1.0, b: 2.0\)"
    ):
        compare_runs(
            [tmp_path / "A", tmp_path / "B"], suite="mtl_demo", tasks=list(tasks), rng=0, n_resamples=10
        )


@given(st.integers(min_value=1, max_value=40), st.integers(min_value=0, max_value=2**32 - 1))
def test_alignment_recovers_any_permutation(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.choice(10_000, size=n, replace=False)
    pa, pb = rng.permutation(n), rng.permutation(n)
    al = align_items("t", ids[pa], [f"h{i}" for i in ids[pa]], ids[pb], [f"h{i}" for i in ids[pb]])
    np.testing.assert_array_equal(ids[pa][al.index_a], ids[pb][al.index_b])
    np.testing.assert_array_equal(al.doc_ids, np.sort(ids))


def test_compare_runs_names_file_and_line_of_a_non_finite_item_score(tmp_path: Path) -> None:
    write_run(tmp_path / "A", "a", {"t": {"scores": [1.0, 0, 1, 1]}})
    bad = {"scores": [1.0, 0, math.nan, 1], "value": 0.5, "stderr": 0.1}
    write_run(tmp_path / "B", "b", {"t": bad})
    with pytest.raises(
        ResultsFormatError,
        match=r"samples_t_.*\.jsonl:3: metric 'acc' of task 't' is missing or not a finite number for 1 item",
    ):
        compare_runs([tmp_path / "A", tmp_path / "B"], rng=0, n_resamples=10)
