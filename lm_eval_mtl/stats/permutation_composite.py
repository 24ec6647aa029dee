"""Paired randomization tests of a weighted composite difference across tasks.

:func:`composite_sign_flip_test` swaps every task's pairs (items, clusters or corpus
segments) at once and recomputes sum_t w_t scale_t Delta_t; :func:`composite_sign_flip_p_values`
does so for S comparisons at once, sharing one set of random swap patterns among the
columns that are not exact. The null distributions and the p-value rule are
:mod:`lm_eval_mtl.stats.permutation_engine`'s; the method is described in
:mod:`lm_eval_mtl.stats.permutation`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats._common import RngLike, as_generator
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.permutation_engine import (
    _CHUNK_CELLS,
    _FEW_VALUES,
    _REL_TOL,
    Alternative,
    FloatArray,
    PermutationResult,
    _common_iv,
    _corpus_task,
    _CorpusTask,
    _mean_task,
    _random_flips,
    _run,
    _Task,
    _unit_labels,
)

__all__ = [
    "ColumnTask",
    "CompositeTask",
    "composite_sign_flip_p_values",
    "composite_sign_flip_test",
]

CompositeTask = npt.ArrayLike | tuple[CorpusStats, CorpusStats]


def composite_sign_flip_test(
    task_diffs: Sequence[CompositeTask],
    weights: npt.ArrayLike,
    scales: npt.ArrayLike | None = None,
    *,
    clusters: Sequence[npt.ArrayLike | None] | None = None,
    n_resamples: int = 10_000,
    rng: RngLike = None,
    alternative: Alternative = "two-sided",
) -> PermutationResult:
    """Randomization test of a weighted composite difference sum_t w_t scale_t Delta_t = 0.

    Every task's pairs are swapped independently and simultaneously (per item, cluster or
    segment); the composite statistic is recomputed for each pattern.

    Args:
        task_diffs: One entry per task: a 1-D array of per-item differences A - B (Delta_t
            = its mean), or a pair ``(CorpusStats of A, CorpusStats of B)`` (Delta_t =
            score(A) - score(B)).
        weights: (T,) finite composite weights w_t.
        scales: (T,) positive finite normalizations scale_t (default 1).
        clusters: Optional per-task cluster labels (None entries for unclustered tasks).
        n_resamples: Random swap patterns R when the test is not exact.
        rng: Generator, int seed or None.
        alternative: ``two-sided``, ``greater`` or ``less``.

    Returns:
        A :class:`PermutationResult`; exact only when at most :data:`EXACT_MAX_UNITS` units
        differ across all tasks together.

    Raises:
        ValueError: No task; weights/scales/clusters of the wrong length or invalid; a task's
            data invalid (the message names the task index).
    """
    nres = _common_iv(n_resamples, alternative)
    if isinstance(task_diffs, (str, bytes)) or len(task_diffs) == 0:
        raise ValueError("`task_diffs` must hold at least one task; got none.")
    n_tasks = len(task_diffs)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (n_tasks,) or not np.all(np.isfinite(w)):
        raise ValueError(
            f"`weights` must hold {n_tasks} finite numbers (one per task); got {np.asarray(weights)!r}."
        )
    sc = np.ones(n_tasks) if scales is None else np.asarray(scales, dtype=np.float64).reshape(-1)
    if sc.shape != (n_tasks,) or not np.all(np.isfinite(sc)) or np.any(sc <= 0):
        raise ValueError(
            f"`scales` must hold {n_tasks} positive finite numbers (one per task); got {np.asarray(scales)!r}."
        )
    if clusters is not None and len(clusters) != n_tasks:
        raise ValueError(
            f"`clusters` must hold one entry (or None) per task ({n_tasks}); got {len(clusters)}."
        )
    tasks: list[_Task] = []
    for t, item in enumerate(task_diffs):
        cl = None if clusters is None else clusters[t]
        coef = float(w[t] * sc[t])
        name = f"task_diffs[{t}]"
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], CorpusStats):
            tasks.append(_corpus_task(item[0], item[1], None, cl, coef, name))
        else:
            tasks.append(_mean_task(item, cl, coef, name))
    return _run(tasks, nres, rng, alternative, "composite sign-flip")


# --------------------------------------------------------------------------- many columns at once

ColumnTask = npt.ArrayLike | Sequence[tuple[CorpusStats, CorpusStats]]


def _corpus_pairs(task: object, t: int) -> list[tuple[CorpusStats, CorpusStats]] | None:
    """Return the task's (A, B) CorpusStats pairs, or None for an array task."""
    if not (isinstance(task, Sequence) and not isinstance(task, str) and len(task) > 0):
        return None
    if not isinstance(task[0], tuple):
        return None
    out: list[tuple[CorpusStats, CorpusStats]] = []
    for pair in task:
        if not (
            isinstance(pair, tuple)
            and len(pair) == 2
            and isinstance(pair[0], CorpusStats)
            and isinstance(pair[1], CorpusStats)
        ):
            raise ValueError(
                f"`task_diffs[{t}]` must hold (CorpusStats of A, CorpusStats of B) pairs; got {pair!r:.80}."
            )
        out.append((pair[0], pair[1]))
    return out


def _column_count(task: ColumnTask, t: int) -> int:
    pairs = _corpus_pairs(task, t)
    if pairs is not None:
        return len(pairs)
    arr = np.asarray(task, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"`task_diffs[{t}]` must be an (n_items >= 1, S >= 1) array of paired differences or a "
            f"sequence of (CorpusStats of A, CorpusStats of B) pairs; got shape {arr.shape}."
        )
    return int(arr.shape[1])


def composite_sign_flip_p_values(
    task_diffs: Sequence[ColumnTask],
    weights: npt.ArrayLike,
    scales: npt.ArrayLike | None = None,
    *,
    clusters: Sequence[npt.ArrayLike | None] | None = None,
    n_resamples: int = 10_000,
    rng: RngLike = None,
    alternative: Alternative = "two-sided",
) -> FloatArray:
    """:func:`composite_sign_flip_test` for S comparisons at once (e.g. S checkpoints vs one base).

    Column s of the result is the p-value of the composite sum_t w_t scale_t Delta_ts = 0.
    Columns whose composite has at most :data:`EXACT_MAX_UNITS` differing units are enumerated
    exactly; the other columns share one set of random swap patterns (each column's test is
    valid on its own; the columns' p-values are dependent, as the comparisons are).

    Args:
        task_diffs: One entry per task: an (n_t, S) array of per-item differences (column s:
            comparison s), or a sequence of S ``(CorpusStats of A, CorpusStats of B)`` pairs.
        weights: (T,) finite weights.
        scales: (T,) positive finite normalizations (default 1).
        clusters: Optional per-task cluster labels (None entries for unclustered tasks).
        n_resamples: Random swap patterns R for the columns that are not exact.
        rng: Generator, int seed or None.
        alternative: ``two-sided``, ``greater`` or ``less``.

    Returns:
        (S,) p-values.

    Raises:
        ValueError: As :func:`composite_sign_flip_test`; tasks with different numbers of columns.
    """
    nres = _common_iv(n_resamples, alternative)
    if isinstance(task_diffs, (str, bytes)) or len(task_diffs) == 0:
        raise ValueError("`task_diffs` must hold at least one task; got none.")
    counts = {_column_count(task, t) for t, task in enumerate(task_diffs)}
    if len(counts) != 1:
        raise ValueError(
            f"every entry of `task_diffs` must have the same number of columns; got {sorted(counts)}."
        )
    n_cols = counts.pop()

    def column(s: int) -> list[CompositeTask]:
        out: list[CompositeTask] = []
        for t, task in enumerate(task_diffs):
            pairs = _corpus_pairs(task, t)
            if pairs is not None:
                out.append(pairs[s])
            else:
                out.append(np.asarray(task, dtype=np.float64)[:, s])
        return out

    p = np.empty(n_cols, dtype=np.float64)
    mc: list[int] = []
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    sc = np.ones(w.shape) if scales is None else np.asarray(scales, dtype=np.float64).reshape(-1)
    for s in range(n_cols):
        # validates every input (weights, scales, clusters, data) and reduces to differing units
        exact = composite_sign_flip_test(
            column(s), weights, scales, clusters=clusters, n_resamples=1, rng=0, alternative=alternative
        )
        if exact.exact:
            p[s] = exact.p_value
        else:
            mc.append(s)
    if not mc:
        return p
    # Monte Carlo columns: the same random patterns over every unit (all units, not only the
    # differing ones, so that the patterns are shared; swapping an equal pair changes nothing).
    gen = as_generator(rng)
    observed = np.zeros(len(mc))
    units: list[int] = []
    kinds: list[tuple[str, Any]] = []
    for t, task in enumerate(task_diffs):
        coef = float(w[t] * sc[t])
        cl = None if clusters is None else clusters[t]
        pairs = _corpus_pairs(task, t)
        if pairs is not None:
            ctasks = []
            for s in mc:
                a, b = pairs[s]
                labels = _unit_labels(cl, a.n, f"clusters of task_diffs[{t}]")
                sa, sb = a.stats, b.stats
                if labels is not None:
                    g = int(labels.max()) + 1
                    ga, gb = np.zeros((g, sa.shape[1])), np.zeros((g, sb.shape[1]))
                    np.add.at(ga, labels, sa)
                    np.add.at(gb, labels, sb)
                    sa, sb = ga, gb
                ctasks.append(_CorpusTask(sa.sum(axis=0), sb.sum(axis=0), sb - sa, a.score_totals, coef))
            observed += np.array([c.observed() for c in ctasks])
            units.append(ctasks[0].m)
            kinds.append(("corpus", ctasks))
        else:
            d = np.asarray(task, dtype=np.float64)[:, mc]
            labels = _unit_labels(cl, d.shape[0], f"clusters of task_diffs[{t}]")
            u = d if labels is None else np.stack([np.bincount(labels, weights=c) for c in d.T], axis=1)
            total = d.sum(axis=0)
            observed += coef * total / d.shape[0]
            # Columns whose unit values take few distinct values (0/1 differences: -1, 0, 1)
            # draw, per value v held by n_v units, the sum of n_v random signs as
            # 2 Binomial(n_v, 1/2) - n_v: the same distribution, O(distinct) per pattern.
            # A random sign makes v and -v alike, so units are grouped by |v| (0/1
            # differences: one binomial per pattern).
            few: list[tuple[int, FloatArray, npt.NDArray[np.int64]]] = []
            dense: list[int] = []
            for j in range(len(mc)):
                col = u[:, j]
                vals, cnt = np.unique(np.abs(col[col != 0]), return_counts=True)
                # a binomial per value costs about what 16 unit flips do
                if vals.size <= max(_FEW_VALUES, int(cnt.sum()) // 16):
                    few.append((j, vals, cnt.astype(np.int64)))
                else:
                    dense.append(j)
            units.append(int(u.shape[0]) if dense else 0)
            kinds.append(("mean", (u[:, dense], total[dense], dense, few, d.shape[0], coef)))
    null = np.empty((nres, len(mc)), dtype=np.float64)
    rows = max(1, _CHUNK_CELLS // max(1, sum(units)))
    for start in range(0, nres, rows):
        stop = min(nres, start + rows)
        acc = np.zeros((stop - start, len(mc)))
        for m_t, (kind, data) in zip(units, kinds, strict=True):
            if kind == "mean":
                u, total, dense, few, n_t, coef = data
                if dense:
                    flips = _random_flips(gen, stop - start, m_t)
                    acc[:, dense] += coef * (total[None, :] - 2.0 * (flips @ u)) / n_t
                for j, vals, cnt in few:
                    heads = gen.binomial(cnt[None, :], 0.5, size=(stop - start, cnt.size))
                    acc[:, j] += coef * ((2.0 * heads - cnt[None, :]) @ vals) / n_t
            else:
                flips = _random_flips(gen, stop - start, m_t)
                for j, c in enumerate(data):
                    acc[:, j] += c.null(flips)
        null[start:stop] = acc
    for j, s in enumerate(mc):
        col = null[:, j]
        finite = col[np.isfinite(col)]
        scale = max(abs(observed[j]), float(np.max(np.abs(finite))) if finite.size else 0.0)
        tol = _REL_TOL * scale
        if alternative == "two-sided":
            k = np.count_nonzero(np.abs(col) >= abs(observed[j]) - tol)
        elif alternative == "greater":
            k = np.count_nonzero(col >= observed[j] - tol)
        else:
            k = np.count_nonzero(col <= observed[j] + tol)
        p[s] = min(1.0, (1 + int(k)) / (1 + nres))
    return p
