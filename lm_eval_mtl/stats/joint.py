"""Joint bootstrap of column means of aligned per-item values.

Used by :mod:`lm_eval_mtl.analysis.compare` and :mod:`lm_eval_mtl.analysis.transfer`: the columns are
paired per-item differences (one per comparison or per source checkpoint) of one
task, and every column is resampled with the *same* item (or cluster) draws, so that
functions of several columns (a multi-task checkpoint's gain over the best single
source) keep their joint distribution.

The cost does not grow with the number of items when it need not: with few columns
and few distinct rows (a paired 0/1 difference takes -1, 0, 1) a resample is a
multinomial draw over the distinct rows followed by a matrix product; otherwise item
indices are drawn in memory-bounded chunks, counted with ``bincount``, and the (B, n)
count matrix multiplies the (n, S) values once for all columns. A clustered bootstrap resamples whole clusters
and takes the ratio of resampled sums to resampled sizes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["exact_in_float32", "multinomial_rows", "resample_column_means", "resample_totals"]

FloatArray = npt.NDArray[np.float64]

_COUNT_CELLS = 1 << 19  # counts of one bincount (4 MiB of int64)
_MAX_PATTERNS = 64  # multinomial over distinct rows up to this many


def _count_matrix(
    n_units: int,
    probs: FloatArray | None,
    n_draw: int,
    n_resamples: int,
    rng: np.random.Generator,
    dtype: type[np.floating[Any]] = np.float64,
) -> npt.NDArray[np.floating[Any]]:
    """(B, U) counts of each unit in each resample of ``n_draw`` draws (float32: exact below 2**24)."""
    if probs is not None:
        return multinomial_rows(n_draw, probs, n_resamples, rng)
    out = np.empty((n_resamples, n_units), dtype=dtype)
    # Blocks of about _COUNT_CELLS counts: bincount's scattered increments then stay in the CPU's
    # cache (at 10,000 x 3,000 cells in one block they took twice as long). int64 draws: bincount
    # takes no other type without a copy, and below 2**32 numpy draws them from 32-bit words.
    rows = max(1, _COUNT_CELLS // max(n_units, n_draw, 1))
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        b = stop - start
        draws = rng.integers(0, n_units, size=(b, n_draw), dtype=np.int64)
        draws += (np.arange(b, dtype=np.int64) * n_units)[:, None]
        out[start:stop] = np.bincount(draws.ravel(), minlength=b * n_units).reshape(b, n_units)
    return out


def _distinct_rows(rows: FloatArray, n: int) -> tuple[FloatArray | None, FloatArray]:
    """Distinct rows and their counts when a multinomial over them is the cheaper exact law.

    A multinomial over k distinct rows costs k - 1 vectorized binomial draws per resample; item
    draws cost n integer draws and a count. Up to ``max(64, n // 8)`` distinct rows the
    multinomial is used (continuous differences with a few hundred values over thousands of
    items included); otherwise ``(None, empty)``.
    """
    limit = max(_MAX_PATTERNS, n // 8)
    if rows.shape[1] == 1:
        u, f = np.unique(rows[:, 0], return_counts=True)
        uniq = u[:, None]
    else:
        uniq, f = np.unique(rows, axis=0, return_counts=True)
    if uniq.shape[0] > limit:
        return None, np.empty(0)
    return np.asarray(uniq, dtype=np.float64), f.astype(np.float64)


def multinomial_rows(n: int, probs: FloatArray, size: int, rng: np.random.Generator) -> FloatArray:
    """(size, k) multinomial counts of ``n`` draws over ``probs``, by conditional binomials.

    The law of :meth:`numpy.random.Generator.multinomial` (which draws the same conditional
    binomials, ``X_j ~ Binomial(n - X_1 - ... - X_{j-1}, p_j / (1 - p_1 - ... - p_{j-1}))``, one
    row at a time), drawn one category at a time for all rows: a few vectorized calls instead of
    ``size`` rows of Python-level loop in C (about 10x faster for B = 10,000 rows of 3 categories).
    """
    p = np.asarray(probs, dtype=np.float64)
    out = np.empty((size, p.size), dtype=np.float64)
    remaining = np.full(size, int(n), dtype=np.int64)
    left = 1.0
    for j in range(p.size - 1):
        q = 0.0 if left <= 0 else min(1.0, max(0.0, float(p[j]) / left))
        x = rng.binomial(remaining, q)
        out[:, j] = x
        remaining -= x
        left -= float(p[j])
    out[:, -1] = remaining
    return out


def exact_in_float32(stats: FloatArray) -> bool:
    """Whether sums of resampled rows of ``stats`` are exact in float32.

    They are for integer statistics whose column totals over any resample (at most
    ``n * max|stat|``) stay below 2**24 (BLEU and chrF counts); then a float32 matrix
    product gives the same totals as float64, at half the memory traffic.
    """
    if stats.size == 0:
        return True
    top = float(np.max(np.abs(stats)))
    return bool(stats.shape[0] * top < 2.0**24 and np.array_equal(stats, np.round(stats)))


def resample_column_means(
    values: FloatArray,
    n_resamples: int,
    rng: np.random.Generator,
    clusters: npt.NDArray[np.int64] | None = None,
    *,
    joint: bool = True,
) -> FloatArray:
    """Bootstrap distribution of the column means of ``values`` (rows resampled jointly).

    Args:
        values: (n, S) finite per-item values (n >= 1).
        n_resamples: B.
        rng: Generator.
        clusters: Optional (n,) integer cluster label per row; clusters are resampled
            (always jointly across columns).
        joint: Resample all columns with the same draws. With False, each column whose
            values take few distinct values (at most max(64, n / 8)) is resampled on its
            own by a multinomial over its value counts (exact and O(B) per value); the other
            columns share one set of item draws.

    Returns:
        (B, S) resampled column means.
    """
    n, _ = values.shape
    if clusters is not None:
        _, inv = np.unique(clusters, return_inverse=True)
        inv = inv.reshape(-1)
        n_groups = int(inv.max()) + 1
        sums = np.zeros((n_groups, values.shape[1]), dtype=np.float64)
        np.add.at(sums, inv, values)
        sizes = np.bincount(inv, minlength=n_groups).astype(np.float64)
        # Clusters with the same (sums, size) row are exchangeable: when few distinct rows exist
        # (0/1 differences in small clusters), a multinomial over them is the same law.
        rows, freq = _distinct_rows(np.column_stack([sums, sizes]), n_groups)
        if rows is not None:
            counts = _count_matrix(rows.shape[0], freq / n_groups, n_groups, n_resamples, rng)
            return np.asarray((counts @ rows[:, :-1]) / (counts @ rows[:, -1])[:, None], dtype=np.float64)
        tot_sums, tot_sizes = count_products(n_groups, [sums, sizes[:, None]], n_resamples, rng)
        return np.asarray(tot_sums / tot_sizes, dtype=np.float64)
    if not joint:
        out = np.empty((n_resamples, values.shape[1]), dtype=np.float64)
        rest: list[int] = []
        for j in range(values.shape[1]):
            u, f = _distinct_rows(values[:, j : j + 1], n)
            if u is not None:
                out[:, j] = _count_matrix(u.shape[0], f / n, n, n_resamples, rng) @ u[:, 0] / n
            else:
                rest.append(j)
        if rest:
            out[:, rest] = count_products(n, [values[:, rest]], n_resamples, rng)[0] / n
        return out
    if values.shape[1] <= 3:  # few columns: count distinct rows (0/1 differences: <= 27 patterns)
        uniq, freq = _distinct_rows(values, n)
        if uniq is not None:
            counts = _count_matrix(uniq.shape[0], freq / n, n, n_resamples, rng)
            return np.asarray(counts @ uniq / n, dtype=np.float64)
    return np.asarray(count_products(n, [values], n_resamples, rng)[0] / n, dtype=np.float64)


def resample_totals(
    stats: list[FloatArray],
    n_resamples: int,
    rng: np.random.Generator,
    clusters: npt.NDArray[np.int64] | None = None,
) -> list[FloatArray]:
    """Bootstrap sums of additive per-item statistics, the same draws for every array.

    Args:
        stats: Arrays (n, d_r) of per-item sufficient statistics (one per run), same n.
        n_resamples: B.
        rng: Generator.
        clusters: Optional cluster label per item; clusters are resampled.

    Returns:
        One (B, d_r) array of resampled totals per input array.
    """
    n = stats[0].shape[0]
    if clusters is not None:
        _, inv = np.unique(clusters, return_inverse=True)
        inv = inv.reshape(-1)
        units = int(inv.max()) + 1
        summed = []
        for a in stats:
            g = np.zeros((units, a.shape[1]), dtype=np.float64)
            np.add.at(g, inv, a)
            summed.append(g)
        stats = summed
        n = units
    return count_products(n, stats, n_resamples, rng)


def count_products(
    n: int, mats: list[FloatArray], n_resamples: int, rng: np.random.Generator
) -> list[FloatArray]:
    """Return ``counts @ m`` for each of ``mats`` ((n, d) each); ``counts``: (B, n) item counts of B resamples.

    The counts are drawn a block of rows at a time (about :data:`_COUNT_CELLS` cells), never
    held whole; the draws are those of one :func:`_count_matrix` call. The products are in float32
    when that is exact for every matrix (integer statistics: BLEU/chrF counts).
    """
    out = [np.empty((n_resamples, a.shape[1]), dtype=np.float64) for a in mats]
    small = all(exact_in_float32(a) for a in mats)
    weights = [a.astype(np.float32) if small else a for a in mats]
    rows = max(1, _COUNT_CELLS // max(n, 1))  # the blocks of _count_matrix: the same draws
    for start in range(0, n_resamples, rows):
        stop = min(n_resamples, start + rows)
        counts = _count_matrix(n, None, n, stop - start, rng, np.float32 if small else np.float64)
        for o, w in zip(out, weights, strict=True):
            o[start:stop] = np.matmul(counts, w)
    return out
