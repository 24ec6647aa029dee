"""Corpus BLEU/chrF/TER from sufficient statistics equal sacrebleu and lm-eval, on resamples too."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import sacrebleu

from lm_eval_mtl.errors import InsufficientDataError, UnknownNameError
from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_composite
from lm_eval_mtl.stats.corpus import CorpusStats, bootstrap_corpus, corpus_score, segment_stats

WMT_DIR = "eval_sets/wmt16_de_en_popovic"


@pytest.fixture(scope="module")
def wmt(request: pytest.FixtureRequest) -> tuple[list[str], list[str], list[str]]:
    """Real WMT16 news-test segments: (references, NMT outputs, PBMT outputs), de-en then en-de."""
    root = Path(__file__).resolve().parents[3].parent / "shared" / "data" / WMT_DIR
    files = [root / "de-en_uedin_nmt_pbmt_ref.jsonl", root / "en-de_uedin_nmt_pbmt_ref.jsonl"]
    if not all(f.is_file() for f in files):
        pytest.skip(f"WMT16 segments not available under {root}")
    rows = [
        json.loads(line) for f in files for line in f.read_text(encoding="utf-8").splitlines() if line.strip()
    ]
    return [r["ref"] for r in rows], [r["nmt"] for r in rows], [r["pbmt"] for r in rows]


def _lm_eval_aggregation(metric: str):  # type: ignore[no-untyped-def]
    from lm_eval.api import metrics as lm_metrics

    return {
        "bleu": lm_metrics.bleu,
        "chrf": lm_metrics.chrf,
        "chrf++": lm_metrics.chrfpp,
        "ter": lm_metrics.ter,
    }[metric]


@pytest.mark.parametrize("metric", ["bleu", "chrf", "chrf++", "ter"])
def test_corpus_score_equals_lm_eval_aggregation_on_wmt16(
    wmt: tuple[list[str], list[str], list[str]], metric: str
) -> None:
    refs, nmt, _ = wmt
    if metric == "ter":  # sacrebleu's TER edit distance is slow; 150 segments suffice
        refs, nmt = refs[:150], nmt[:150]
    agg = _lm_eval_aggregation(metric)
    st = segment_stats(metric, refs, nmt)  # type: ignore[arg-type]
    assert st.n == len(refs)
    assert corpus_score(st) == pytest.approx(agg(list(zip(refs, nmt, strict=True))), abs=1e-9)


@pytest.mark.parametrize("metric", ["bleu", "chrf", "ter"])
def test_resampled_corpus_scores_equal_lm_eval_on_materialized_resamples(
    wmt: tuple[list[str], list[str], list[str]], metric: str
) -> None:
    refs, nmt, pbmt = wmt
    # both systems (2 x segments); TER's edit distance is slow in sacrebleu, so one system for it
    refs2, preds = (refs[:150], nmt[:150]) if metric == "ter" else (refs + refs, nmt + pbmt)
    agg = _lm_eval_aggregation(metric)
    st = segment_stats(metric, refs2, preds)  # type: ignore[arg-type]
    rng = np.random.default_rng(0)
    n = len(preds)
    sizes = [n, 40, 3, 1] if metric == "ter" else [n, n, 40, 3, 1]  # full-size and tiny (smoothing)
    idx_list = [rng.integers(0, n, size=k) for k in sizes]
    counts = np.stack([np.bincount(i, minlength=n) for i in idx_list])
    ours = corpus_score(st, counts)
    for k, idx in enumerate(idx_list):
        ref = agg([(refs2[i], preds[i]) for i in idx])
        assert ours[k] == pytest.approx(ref, abs=1e-9), (metric, sizes[k])


_EDGE_REFS = [
    "The cat sat on the mat .",
    "a",
    "Hello world",
    "It is raining today in Berlin, said the man.",
    "",
    "Numbers: 1,000.50 and (brackets)",
]
_EDGE_HYPS = [
    "the cat sat on the mat.",
    "b",
    "Hello",
    "Today it rains in Berlin, the man said.",
    "something",
    "Numbers : 1,000.50 and ( brackets )",
]


@pytest.mark.parametrize(
    ("kwargs"),
    [
        {},
        {"smooth_method": "floor"},
        {"smooth_method": "floor", "smooth_value": 0.3},
        {"smooth_method": "add-k"},
        {"smooth_method": "none"},
        {"use_effective_order": True},
        {"lowercase": True},
        {"tokenize": "intl"},
    ],
)
def test_bleu_options_and_edge_segments_match_sacrebleu(kwargs: dict[str, object]) -> None:
    st = segment_stats("bleu", _EDGE_REFS, _EDGE_HYPS, **kwargs)
    subsets = [list(range(6)), [0], [1], [2], [1, 2], [4], [1, 4], [3, 3, 2], [5, 0, 0]]
    for sub in subsets:
        ref = sacrebleu.corpus_bleu(
            [_EDGE_HYPS[i] for i in sub], [[_EDGE_REFS[i] for i in sub]], **kwargs
        ).score
        counts = np.bincount(sub, minlength=6)
        assert corpus_score(st, counts)[0] == pytest.approx(ref, abs=1e-9), sub


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"word_order": 2},
        {"eps_smoothing": True},
        {"remove_whitespace": False},
        {"beta": 1},
        {"char_order": 4},
    ],
)
def test_chrf_options_and_edge_segments_match_sacrebleu(kwargs: dict[str, object]) -> None:
    st = segment_stats("chrf", _EDGE_REFS, _EDGE_HYPS, **kwargs)
    for sub in [list(range(6)), [1], [4], [1, 4], [0, 0, 3], [2, 5]]:
        ref = sacrebleu.corpus_chrf(
            [_EDGE_HYPS[i] for i in sub], [[_EDGE_REFS[i] for i in sub]], **kwargs
        ).score
        assert corpus_score(st, np.bincount(sub, minlength=6))[0] == pytest.approx(ref, abs=1e-9), sub


def test_ter_edge_segments_match_sacrebleu() -> None:
    st = segment_stats("ter", _EDGE_REFS, _EDGE_HYPS)
    for sub in [list(range(6)), [4], [1, 4], [0, 3, 3]]:
        ref = sacrebleu.corpus_ter([_EDGE_HYPS[i] for i in sub], [[_EDGE_REFS[i] for i in sub]]).score
        assert corpus_score(st, np.bincount(sub, minlength=6))[0] == pytest.approx(ref, abs=1e-9), sub


def test_multiple_references_per_segment_match_sacrebleu() -> None:
    refs = [["The cat sat on the mat.", "A cat was sitting on the mat."], ["Hello world", "Hi world"]]
    hyps = ["A cat sat on the mat.", "Hi there world"]
    streams = [list(s) for s in zip(*refs, strict=True)]
    for metric, fn in [
        ("bleu", sacrebleu.corpus_bleu),
        ("chrf", sacrebleu.corpus_chrf),
        ("ter", sacrebleu.corpus_ter),
    ]:
        st = segment_stats(metric, refs, hyps)  # type: ignore[arg-type]
        assert corpus_score(st) == pytest.approx(fn(hyps, streams).score, abs=1e-9)


def test_paired_corpus_bootstrap_value_is_the_score_difference(
    wmt: tuple[list[str], list[str], list[str]],
) -> None:
    refs, nmt, pbmt = wmt
    a, b = segment_stats("bleu", refs, nmt), segment_stats("bleu", refs, pbmt)
    res = bootstrap_corpus(a, baseline=b, n_resamples=500, rng=0)
    expected = sacrebleu.corpus_bleu(nmt, [refs]).score - sacrebleu.corpus_bleu(pbmt, [refs]).score
    assert res.value == pytest.approx(expected, abs=1e-9)
    assert res.ci.low < res.value < res.ci.high
    # paired: the difference varies less than the two systems resampled independently
    sa = bootstrap_corpus(a, n_resamples=500, rng=1).se
    sb = bootstrap_corpus(b, n_resamples=500, rng=2).se
    assert res.se < math.sqrt(sa**2 + sb**2)


def test_corpus_bootstrap_se_is_deterministic_and_bca_works(
    wmt: tuple[list[str], list[str], list[str]],
) -> None:
    refs, nmt, _ = wmt
    st = segment_stats("chrf", refs, nmt)
    r1 = bootstrap_corpus(st, n_resamples=300, rng=3, method="bca")
    r2 = bootstrap_corpus(st, n_resamples=300, rng=3, method="bca")
    np.testing.assert_array_equal(r1.distribution, r2.distribution)
    assert r1.ci.low < r1.value < r1.ci.high
    # leave-one-segment-out jackknife equals brute-force re-scoring with sacrebleu (3 segments checked)
    for i in (0, 17, 100):
        keep = [k for k in range(len(refs)) if k != i]
        ref = sacrebleu.corpus_chrf([nmt[k] for k in keep], [[refs[k] for k in keep]]).score
        assert r1.jackknife_values[0][i] == pytest.approx(ref, abs=1e-9)


def test_corpus_task_mixes_with_item_tasks_in_a_composite() -> None:
    st = segment_stats("chrf", _EDGE_REFS, _EDGE_HYPS)
    items = ItemScores(np.array([0.0, 1.0, 1.0, 1.0]))
    res = bootstrap_composite([items, st], [0.5, 0.5], scales=[1.0, 1 / 100], n_resamples=200, rng=0)
    assert res.value == pytest.approx(0.5 * 0.75 + 0.5 * corpus_score(st) / 100)
    assert res.resample_kinds == ("binomial", "corpus")


def test_segment_stats_unknown_metric_suggests_close_match() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown corpus metric 'bleuu'. Did you mean: bleu\?"):
        segment_stats("bleuu", ["a"], ["a"])  # type: ignore[arg-type]


def test_segment_stats_rejects_unknown_option() -> None:
    with pytest.raises(ValueError, match=r"Unknown option\(s\) \['smooth'\] for metric 'bleu'"):
        segment_stats("bleu", ["a"], ["a"], smooth="exp")


def test_segment_stats_rejects_length_mismatch() -> None:
    with pytest.raises(ValueError, match=r"one entry per segment; got 2 and 1"):
        segment_stats("bleu", ["a", "b"], ["a"])


def test_segment_stats_rejects_ragged_references() -> None:
    with pytest.raises(ValueError, match=r"same number of references .*got \[1, 2\]"):
        segment_stats("bleu", [["a"], ["b", "c"]], ["a", "b"])


def test_segment_stats_rejects_empty_corpus() -> None:
    with pytest.raises(InsufficientDataError, match=r"`predictions` must hold at least 1 segment; got 0"):
        segment_stats("chrf", [], [])


def test_segment_stats_rejects_non_string_prediction() -> None:
    with pytest.raises(ValueError, match=r"`predictions\[1\]` must be a string; got NoneType"):
        segment_stats("chrf", ["a", "b"], ["a", None])  # type: ignore[list-item]


def test_corpus_score_rejects_wrong_count_shape() -> None:
    st = segment_stats("chrf", ["a b", "c d"], ["a b", "c"])
    with pytest.raises(ValueError, match=r"`counts` must have shape \(B, n_segments=2\); got \(3,\)"):
        corpus_score(st, np.ones(3))


def test_corpus_stats_rejects_wrong_width() -> None:
    with pytest.raises(
        ValueError, match=r"`stats` for 'bleu' with these options must have 10 columns; got 3"
    ):
        CorpusStats("bleu", np.zeros((2, 3)))
