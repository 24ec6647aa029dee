"""The vectorized chrF segment statistics equal sacrebleu's, row for row, on any text."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_eval_mtl.stats import chrf_stats
from lm_eval_mtl.stats.corpus import corpus_score, segment_stats

sacrebleu = pytest.importorskip("sacrebleu")
from sacrebleu.metrics import CHRF  # noqa: E402

SHARED = Path(__file__).resolve().parents[4] / "shared" / "data" / "eval_sets"


def _sacrebleu_rows(hyps: list[str], streams: list[list[str]], **kw: object) -> np.ndarray:
    rows = CHRF(**kw)._extract_corpus_statistics(hyps, streams)  # type: ignore[arg-type]
    return np.asarray(rows, dtype=np.float64).reshape(len(hyps), -1)


# characters that exercise whitespace removal (incl. non-ASCII spaces), punctuation, accents,
# characters outside the BMP, a lone surrogate, and CJK
ALPHABET = list("ab c.dé\u00a0\t\nX,!") + ["\U0001f600", "\ud800", "世", "界"]
text = st.text(alphabet=st.sampled_from(ALPHABET), max_size=14)


@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 12),
    n_refs=st.integers(1, 3),
    whitespace=st.booleans(),
    eps=st.booleans(),
    order=st.sampled_from([1, 3, 6]),
)
def test_rows_equal_sacrebleu(
    data: st.DataObject, n: int, n_refs: int, whitespace: bool, eps: bool, order: int
) -> None:
    hyps = data.draw(st.lists(text, min_size=n, max_size=n))
    streams = [data.draw(st.lists(text, min_size=n, max_size=n)) for _ in range(n_refs)]
    refs = [list(r) for r in zip(*streams, strict=True)] if n_refs > 1 else streams[0]
    got = segment_stats(
        "chrf", refs, hyps, remove_whitespace=not whitespace, eps_smoothing=eps, char_order=order
    ).stats
    want = _sacrebleu_rows(hyps, streams, whitespace=whitespace, eps_smoothing=eps, char_order=order)
    np.testing.assert_array_equal(got, want)


def test_a_large_alphabet_takes_the_dense_keys_and_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3,000 distinct characters: 3001**6 window codes overflow 64 bits, so the per-order fallback
    # runs, and there 3000**6 overflows too, so n-gram keys are re-ranked per order
    monkeypatch.setattr(chrf_stats, "_one_sort_matches", _must_not_run)
    rng = random.Random(1)
    alphabet = [chr(0x4E00 + i) for i in range(3000)] + [" "]
    hyps = ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(200)]
    streams = [["".join(rng.choice(alphabet[:60]) for _ in range(rng.randint(0, 40))) for _ in range(200)]]
    got = segment_stats("chrf", streams[0], hyps).stats
    np.testing.assert_array_equal(got, _sacrebleu_rows(hyps, streams))


def _must_not_run(*args: object) -> None:
    raise AssertionError("this path must not be taken")


def _random_corpus(seed: int, n: int, n_refs: int) -> tuple[list[str], list[list[str]]]:
    rng = random.Random(seed)
    words = "the cat sat on a mat dog ran far Käse naïve 世界 \U0001f600".split()

    def line() -> str:
        return " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))

    return [line() for _ in range(n)], [[line() for _ in range(n)] for _ in range(n_refs)]


@pytest.mark.parametrize("n_refs", [1, 3])
def test_ordinary_text_takes_the_one_sort_path(monkeypatch: pytest.MonkeyPatch, n_refs: int) -> None:
    monkeypatch.setattr(chrf_stats, "_per_order_matches", _must_not_run)
    hyps, streams = _random_corpus(3, 400, n_refs)
    refs = [list(r) for r in zip(*streams, strict=True)]
    np.testing.assert_array_equal(segment_stats("chrf", refs, hyps).stats, _sacrebleu_rows(hyps, streams))


@pytest.mark.parametrize("n_refs", [1, 2])
def test_the_per_order_fallback_equals_sacrebleu(monkeypatch: pytest.MonkeyPatch, n_refs: int) -> None:
    monkeypatch.setattr(chrf_stats, "_CODE_LIMIT", 0)  # no window code fits: always the fallback
    monkeypatch.setattr(chrf_stats, "_one_sort_matches", _must_not_run)
    hyps, streams = _random_corpus(4, 400, n_refs)
    refs = [list(r) for r in zip(*streams, strict=True)]
    np.testing.assert_array_equal(segment_stats("chrf", refs, hyps).stats, _sacrebleu_rows(hyps, streams))


@pytest.mark.parametrize("fallback", [False, True])
@pytest.mark.parametrize("order", [1, 2, 6])
def test_empty_and_short_texts_equal_sacrebleu(
    monkeypatch: pytest.MonkeyPatch, fallback: bool, order: int
) -> None:
    if fallback:
        monkeypatch.setattr(chrf_stats, "_CODE_LIMIT", 0)
    hyps = ["", "a", "aaaa", "ab", "", "xyz"]
    streams = [["", "aa", "a", "ba", "q", ""], ["a", "", "aaaaaaa", "ab", "", "xyz"]]
    for k in (1, 2):
        got = segment_stats("chrf", [list(r) for r in zip(*streams[:k], strict=True)], hyps, char_order=order)
        np.testing.assert_array_equal(got.stats, _sacrebleu_rows(hyps, streams[:k], char_order=order))
    empty = chrf_stats.chrf_char_stats([], [[]], char_order=order, remove_whitespace=True, f_scores=_f_scores)
    assert empty.shape == (0, 3 * order)


def _f_scores(rows: np.ndarray) -> np.ndarray:
    return np.asarray(rows[:, 2::3].sum(axis=1) / (1.0 + rows[:, 1::3].sum(axis=1)), dtype=np.float64)


# few distinct characters so that n-grams repeat; whole strings that are empty, one character, one
# character repeated
short = st.one_of(
    st.text(alphabet=st.sampled_from(list("aab \u00e9") + ["\U0001f600"]), max_size=9),
    st.sampled_from(["", "a", "b", "aaaaaaaa", "abababab"]),
)


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    n=st.integers(0, 6),
    n_refs=st.integers(1, 3),
    order=st.integers(1, 7),
    remove_whitespace=st.booleans(),
)
def test_both_paths_give_identical_statistics(
    data: st.DataObject, n: int, n_refs: int, order: int, remove_whitespace: bool
) -> None:
    hyps = data.draw(st.lists(short, min_size=n, max_size=n))
    streams = [data.draw(st.lists(short, min_size=n, max_size=n)) for _ in range(n_refs)]
    texts = [("".join(t.split()) if remove_whitespace else t) for t in hyps + sum(streams, [])]
    cp, lengths = chrf_stats._code_points(texts)
    ids = chrf_stats._dense_ids(cp)
    one = chrf_stats._one_sort_matches(ids, lengths, n, n_refs, order)
    per_order = chrf_stats._per_order_matches(ids, lengths, n, n_refs, order)
    np.testing.assert_array_equal(one, per_order)  # every stream's match counts, not only the best
    kw = {"char_order": order, "remove_whitespace": remove_whitespace, "f_scores": _f_scores}
    fast = chrf_stats.chrf_char_stats(hyps, streams, **kw)  # type: ignore[arg-type]
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(chrf_stats, "_CODE_LIMIT", 0)
        mp.setattr(chrf_stats, "_one_sort_matches", _must_not_run)
        slow = chrf_stats.chrf_char_stats(hyps, streams, **kw)  # type: ignore[arg-type]
    assert fast.shape == slow.shape == (n, 3 * order)
    np.testing.assert_array_equal(fast, slow)


def test_corpus_score_equals_sacrebleu_corpus_chrf() -> None:
    rng = random.Random(2)
    words = ["the", "cat", "sat", "on", "a", "mat", "dog", "ran", "far", "Käse", "naïve"]
    refs = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 12))) for _ in range(300)]
    hyps = [" ".join(rng.choice(words) for _ in range(rng.randint(0, 12))) for _ in range(300)]
    want = sacrebleu.corpus_chrf(hyps, [refs]).score
    assert corpus_score(segment_stats("chrf", refs, hyps)) == pytest.approx(want, abs=1e-9)


def test_chrf_plus_plus_still_goes_through_sacrebleu() -> None:
    hyps, refs = ["a cat sat.", "on the mat"], ["the cat sat.", "on a mat"]
    got = segment_stats("chrf++", refs, hyps, word_order=2).stats
    np.testing.assert_array_equal(got, _sacrebleu_rows(hyps, [refs], word_order=2))


@pytest.mark.skipif(not SHARED.is_dir(), reason="needs ../shared/data/eval_sets")
@pytest.mark.parametrize("pair", ["de-en", "en-de"])
def test_real_wmt16_systems_equal_sacrebleu(pair: str) -> None:
    import json

    path = SHARED / "wmt16_de_en_popovic" / f"{pair}_uedin_nmt_pbmt_ref.jsonl"
    if not path.is_file():
        pytest.skip(f"{path} is absent")
    recs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    nmt, pbmt, ref = ([r[k] for r in recs] for k in ("nmt", "pbmt", "ref"))
    np.testing.assert_array_equal(segment_stats("chrf", ref, nmt).stats, _sacrebleu_rows(nmt, [ref]))
    # two references per segment: the best one by segment chrF, as sacrebleu picks it
    two = [list(x) for x in zip(ref, pbmt, strict=True)]
    np.testing.assert_array_equal(segment_stats("chrf", two, nmt).stats, _sacrebleu_rows(nmt, [ref, pbmt]))
    assert corpus_score(segment_stats("chrf", ref, nmt)) == pytest.approx(
        sacrebleu.corpus_chrf(nmt, [ref]).score, abs=1e-9
    )


def test_corpus_resampling_in_float32_is_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    from lm_eval_mtl.stats import bootstrap as bs
    from lm_eval_mtl.stats import joint

    rng = np.random.default_rng(0)
    counts = rng.integers(0, 400, size=(3000, 18)).astype(np.float64)  # chrF-like integer statistics
    assert joint.exact_in_float32(counts)
    fast = bs._resampled_totals(counts, 700, np.random.default_rng(5))
    monkeypatch.setattr(joint, "exact_in_float32", lambda stats: False)
    slow = bs._resampled_totals(counts, 700, np.random.default_rng(5))
    np.testing.assert_array_equal(fast, slow)
    # each row is the column totals of one multinomial resample of the 3,000 rows
    np.testing.assert_allclose(fast.mean(axis=0), counts.sum(axis=0), rtol=0.01)
    monkeypatch.undo()
    assert not joint.exact_in_float32(counts + 0.5)  # TER-like non-integer statistics stay in float64
    assert not joint.exact_in_float32(np.full((100_000, 2), 400.0))  # totals past 2**24


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 0x10FFFF), max_size=300))
def test_dense_code_point_ids_are_numpys_unique_inverse(points: list[int]) -> None:
    from lm_eval_mtl.stats.chrf_stats import _dense_ids

    cp = np.array(points, dtype=np.uint32)
    want = np.unique(cp, return_inverse=True)[1].reshape(-1).astype(np.uint64)
    np.testing.assert_array_equal(_dense_ids(cp), want)
