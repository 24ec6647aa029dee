"""chrF segment statistics for a whole corpus at once, equal to sacrebleu's (vectorized).

sacrebleu's ``CHRF._extract_corpus_statistics`` builds one ``Counter`` of character n-grams per
segment and order in Python (about 1 ms per segment of 150 characters); a full ``mtl_suite`` run has
5,000 translation segments per model. This module computes the same integers with one sort
over the concatenated text:

1. Every string (hypotheses, then each reference stream) has its whitespace removed exactly as
   sacrebleu does (``''.join(s.split())``) and is encoded to code points (UTF-32, so one position
   is one Python character, lone surrogates included).
2. Code points get dense ids ``1..V`` (0 is a padding sentinel, ``R = V + 1``); position ``i``
   gets the window ``digits = id[i] * R**(c-1) + ... + id[i+c-1]`` of the next ``c = char_order``
   characters, padded with 0 past the end of its own text.
3. One sort of the codes ``(segment * R**c + digits) * S + side`` (``S = n_ref + 1``; side 0: the
   hypothesis, ``r``: reference stream ``r``). The digits are big-endian, so for every order
   ``n`` the entries sharing (segment, first ``n`` characters), ``code // (S * R**(c-n))``, form
   one run, ordered by side; the run is an n-gram iff its ``n``-th digit is not 0. Each run gives
   ``min(count_hyp, count_ref)`` per stream, and their sum per segment is sacrebleu's match count.
4. When the codes would not fit in 64 bits (large alphabets such as CJK, or huge corpora), the
   fallback sorts per order and stream the codes ``(segment * V**n + key) * 2 + side`` of the
   n-gram keys ``sum(id[i + j] * V**j)`` (ids ``0..V-1``), whose keys of order ``n - 1`` are first
   replaced by their dense rank when ``V**n`` (times the number of strings) exceeds 63 bits.

Both are exact: two n-grams get the same key if and only if they are the same string. The rows
follow sacrebleu: per order ``[hyp, ref, match]`` with ``hyp = 0`` when the reference has no n-gram
of that order; with several references, the reference with the highest segment chrF (the first
one on ties) is kept. Only character n-grams are handled (``word_order = 0``, chrF's default and
lm-eval's); :func:`lm_eval_mtl.stats.corpus.segment_stats` uses sacrebleu itself for chrF++.
Tested equal to sacrebleu on random Unicode text and on real translation sets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

__all__ = ["chrf_char_stats"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
U64Array = npt.NDArray[np.uint64]
_U64 = np.uint64
_LIMIT = 1 << 63  # fallback: n-gram keys times the number of strings stay below this
_CODE_LIMIT = 1 << 64  # one sort: every code stays below this (uint64)


def chrf_char_stats(
    predictions: Sequence[str],
    streams: Sequence[Sequence[str]],
    *,
    char_order: int,
    remove_whitespace: bool,
    f_scores: Callable[[FloatArray], FloatArray],
) -> FloatArray:
    """Return sacrebleu's chrF segment statistics (character n-grams only), shape (n, 3 * char_order).

    Args:
        predictions: One hypothesis per segment.
        streams: Reference streams, each with one reference per segment.
        char_order: Highest character n-gram order (sacrebleu's ``char_order``).
        remove_whitespace: sacrebleu's ``not whitespace`` (lm-eval's default: True).
        f_scores: Segment chrF of statistics rows (used to pick the best of several references).
    """
    n_seg, n_ref = len(predictions), len(streams)
    texts: list[str] = list(predictions)
    for stream in streams:
        texts.extend(stream)
    if remove_whitespace:
        texts = ["".join(t.split()) for t in texts]
    cp, lengths = _code_points(texts)
    ids = _dense_ids(cp)
    alphabet = int(ids.max()) + 1 if ids.size else 0
    if n_seg * (alphabet + 1) ** char_order * (n_ref + 1) < _CODE_LIMIT:
        matches = _one_sort_matches(ids, lengths, n_seg, n_ref, char_order)
    else:
        matches = _per_order_matches(ids, lengths, n_seg, n_ref, char_order)
    return _rows(matches, lengths, n_seg, n_ref, f_scores)


def _code_points(texts: Sequence[str]) -> tuple[npt.NDArray[np.uint32], IntArray]:
    """All texts concatenated as code points, and each text's length."""
    lengths = np.fromiter((len(t) for t in texts), dtype=np.int64, count=len(texts))
    joined = "".join(texts).encode("utf-32-le", "surrogatepass")
    return np.frombuffer(joined, dtype="<u4"), lengths


def _dense_ids(cp: npt.NDArray[np.uint32]) -> U64Array:
    """Each code point's rank among the distinct code points (``np.unique``'s inverse, without a sort)."""
    if cp.size == 0:
        return np.zeros(0, dtype=_U64)
    seen = np.zeros(int(cp.max()) + 1, dtype=np.bool_)  # at most 0x110000 entries
    seen[cp] = True
    rank = np.cumsum(seen, dtype=np.int64) - 1
    return rank[cp].astype(_U64)


def _positions(lengths: IntArray) -> tuple[IntArray, IntArray]:
    """Each position's text, and the number of characters from it to the end of its text."""
    offsets = np.zeros(lengths.size, dtype=np.int64)
    np.cumsum(lengths[:-1], out=offsets[1:])
    doc_of = np.repeat(np.arange(lengths.size, dtype=np.int64), lengths)
    pos_in_doc = np.arange(doc_of.size, dtype=np.int64) - offsets[doc_of]
    return doc_of, lengths[doc_of] - pos_in_doc


def _rows(
    matches: FloatArray,
    lengths: IntArray,
    n_seg: int,
    n_ref: int,
    f_scores: Callable[[FloatArray], FloatArray],
) -> FloatArray:
    """Build sacrebleu's rows from the match counts (shape (char_order, n_ref, n_seg)) and the text lengths."""
    char_order = matches.shape[0]
    stats = np.zeros((n_ref, n_seg, 3 * char_order), dtype=np.float64)
    for n in range(1, char_order + 1):
        grams = np.maximum(lengths - n + 1, 0).astype(np.float64)
        hyp_total = grams[:n_seg]
        for r in range(n_ref):
            ref_total = grams[(r + 1) * n_seg : (r + 2) * n_seg]
            stats[r, :, 3 * (n - 1)] = np.where(ref_total > 0, hyp_total, 0.0)
            stats[r, :, 3 * (n - 1) + 1] = ref_total
            stats[r, :, 3 * (n - 1) + 2] = matches[n - 1, r]
    if n_ref == 1:
        return np.asarray(stats[0], dtype=np.float64)
    best = np.argmax(np.stack([f_scores(stats[r]) for r in range(n_ref)]), axis=0)
    return np.asarray(stats[best, np.arange(n_seg)], dtype=np.float64)


def _window_codes(
    ids: U64Array, lengths: IntArray, n_seg: int, sides: int, radix: int, order: int
) -> U64Array:
    """Return the code ``(segment * radix**order + digits) * sides + side`` of every position (unsorted)."""
    doc_of, room = _positions(lengths)
    size = ids.size
    shifted = ids + _U64(1)
    digits = shifted.copy()
    for j in range(1, order):
        nxt = np.zeros(size, dtype=_U64)
        if j < size:
            nxt[: size - j] = shifted[j:]
        nxt[room <= j] = 0  # past the end of this position's text
        digits *= _U64(radix)
        digits += nxt
    docs = np.arange(lengths.size, dtype=np.int64)
    prefix = (docs % n_seg).astype(_U64) * _U64(radix**order * sides) + (docs // n_seg).astype(_U64)
    digits *= _U64(sides)
    digits += prefix[doc_of]
    return digits


def _one_sort_matches(ids: U64Array, lengths: IntArray, n_seg: int, n_ref: int, order: int) -> FloatArray:
    """Match counts, shape (order, n_ref, n_seg), from one sort of the window codes (see the module doc)."""
    out = np.zeros((order, n_ref, n_seg), dtype=np.float64)
    if ids.size == 0:
        return out
    radix, sides = int(ids.max()) + 2, n_ref + 1
    codes = np.sort(_window_codes(ids, lengths, n_seg, sides, radix, order))
    side = codes % _U64(sides)
    # before[s][k]: entries of side s among the first k (a run's count of side s is a difference)
    before = [np.concatenate(([0], np.cumsum(side == _U64(s)))) for s in range(sides)]
    head = codes // _U64(sides)  # (segment, first n characters), from n = order down to 1
    for n in range(order, 0, -1):
        cuts = np.flatnonzero(head[1:] != head[:-1]) + 1
        starts, ends = np.concatenate(([0], cuts)), np.append(cuts, codes.size)
        gram = head[starts] % _U64(radix) != 0  # the n-th character is real, so all n are
        seg = (head[starts[gram]] // _U64(radix**n)).astype(np.int64)
        starts, ends = starts[gram], ends[gram]
        hyp = before[0][ends] - before[0][starts]
        for r in range(1, sides):
            shared = np.minimum(hyp, before[r][ends] - before[r][starts])
            out[n - 1, r - 1] = np.bincount(seg, weights=shared, minlength=n_seg)[:n_seg]
        head //= _U64(radix)
    return out


def _per_order_matches(ids: U64Array, lengths: IntArray, n_seg: int, n_ref: int, order: int) -> FloatArray:
    """Match counts, shape (order, n_ref, n_seg), with one sort per order and stream (the fallback)."""
    doc_of, room = _positions(lengths)
    n_docs = lengths.size
    radix = max(1, int(ids.max()) + 1) if ids.size else 1
    out = np.zeros((order, n_ref, n_seg), dtype=np.float64)
    keys = np.zeros(ids.size, dtype=_U64)
    base, dense = 1, False
    for n in range(1, order + 1):
        valid = room >= n
        keys, base, dense = _order_keys(keys, ids, n, radix, base, dense)
        if base * n_docs >= _LIMIT or (n < order and base * radix * n_docs >= _LIMIT and not dense):
            keys, base = _densify(keys, valid)
            dense = True
        for r, m in enumerate(_matches(keys[valid], doc_of[valid], base, n_seg, n_ref)):
            out[n - 1, r] = m
    return out


def _order_keys(
    prev: U64Array, ids: U64Array, n: int, radix: int, base: int, dense: bool
) -> tuple[U64Array, int, bool]:
    """Keys of the n-grams starting at every position (garbage where no n-gram fits).

    ``prev`` holds the keys of order ``n - 1`` and ``base`` their range (exclusive); the new key
    is ``prev + ids[i + n - 1] * base`` (``prev * radix + id`` once keys have been densified).
    """
    size = prev.size
    shifted = np.zeros(size, dtype=_U64)
    if n - 1 < size:
        shifted[: size - (n - 1)] = ids[n - 1 :]
    if dense:
        return prev * _U64(radix) + shifted, base * radix, True
    return prev + shifted * _U64(base), base * radix, False


def _densify(keys: U64Array, valid: npt.NDArray[np.bool_]) -> tuple[U64Array, int]:
    """Replace the keys at valid positions by their rank among the distinct valid keys."""
    uniq, inverse = np.unique(keys[valid], return_inverse=True)
    out = np.zeros(keys.size, dtype=_U64)
    out[valid] = inverse.astype(_U64, copy=False).reshape(-1)
    return out, max(1, int(uniq.size))


def _matches(keys: U64Array, docs: IntArray, base: int, n_seg: int, n_ref: int) -> list[FloatArray]:
    """Per reference stream, per segment: the sum over shared n-grams of min(hypothesis count, reference count).

    ``docs`` numbers the hypotheses ``0..n_seg-1``, then stream ``r``'s references
    ``(r + 1) * n_seg + segment``. A (segment, n-gram) pair is ``segment * base + key`` (below
    ``n_seg * base``); doubled, plus 1 for the reference side, it sorts each hypothesis run just
    before the same pair's reference run.
    """
    stream = docs // n_seg
    pair2 = ((docs - stream * n_seg).astype(_U64) * _U64(base) + keys) * _U64(2)
    hyp = pair2[stream == 0]
    out = []
    for r in range(1, n_ref + 1):
        codes = np.sort(np.concatenate([hyp, pair2[stream == r] + _U64(1)]))
        if codes.size == 0:
            out.append(np.zeros(n_seg, dtype=np.float64))
            continue
        starts = np.flatnonzero(np.concatenate([[True], codes[1:] != codes[:-1]]))
        counts = np.diff(np.append(starts, codes.size))
        run = codes[starts]
        both = np.flatnonzero((run[1:] == run[:-1] + _U64(1)) & ((run[:-1] & _U64(1)) == _U64(0)))
        seg = ((run[both] >> _U64(1)) // _U64(base)).astype(np.int64)
        shared = np.minimum(counts[both], counts[both + 1]).astype(np.float64)
        out.append(np.asarray(np.bincount(seg, weights=shared, minlength=n_seg)[:n_seg], dtype=np.float64))
    return out
