"""Paired randomization tests: sign-flip (Fisher-Pitman) and approximate randomization.

Under the null hypothesis that two systems A and B are exchangeable on every item,
the labels "A" and "B" of each pair may be swapped without changing the joint
distribution. For a per-item metric, swapping a pair flips the sign of its difference
d_k = s^A_k - s^B_k, so the null distribution of T = mean(d) is that of

    T* = (1/n) sum_k eps_k d_k,     eps_k independent, P(eps_k = +1) = P(eps_k = -1) = 1/2

(Fisher 1935; Pitman 1937). With clusters of items that share a context, whole
clusters are swapped: T* = (1/n) sum_g eps_g D_g with D_g the cluster sums.

For a corpus metric (BLEU, chrF, TER) the score is a formula of summed per-segment
sufficient statistics, so swapping a segment swaps its statistics between the systems.
With a (R, n) 0/1 swap matrix S and x_k = stats^B_k - stats^A_k,

    totals_A' = totals_A + S x,     totals_B' = totals_B - S x,
    T* = score(totals_A') - score(totals_B')

(approximate randomization; Noreen 1989; Riezler & Maxwell 2005).

p-values: with m items (clusters, segments) whose swap changes anything, the 2^m
patterns are enumerated when m <= :data:`EXACT_MAX_UNITS`
(p = #{patterns with |T*| >= |T|} / 2^m, which includes the observed pattern);
otherwise R patterns are drawn at random and p = (1 + #{|T*| >= |T|}) / (1 + R), a
valid p-value for Monte Carlo tests (Phipson & Smyth 2010). Comparisons use a
tolerance of 1e-12 times the scale of the statistic, so that ties computed in
floating point in another order still count as ties.

Unlike the bootstrap percentile p-value, these tests hold their level at small n:
with 4 items all favouring A the two-sided p-value is 2/2^4 = 0.125.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats._common import RngLike, as_generator, check_n_resamples
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.joint import exact_in_float32

__all__ = [
    "EXACT_MAX_UNITS",
    "Alternative",
    "PermutationResult",
    "composite_sign_flip_p_values",
    "composite_sign_flip_test",
    "corpus_randomization_test",
    "paired_sign_flip_test",
    "sign_flip_p_values",
]

FloatArray = npt.NDArray[np.float64]
Alternative = Literal["two-sided", "greater", "less"]
ScoreFn = Callable[[FloatArray], FloatArray]

EXACT_MAX_UNITS = 16
"""Enumerate all 2^m swap patterns when at most this many units can change the statistic."""

_REL_TOL = 1e-12
_CHUNK_CELLS = 4_000_000  # swap-matrix cells held at once (32 MB of float64)
_ALTERNATIVES: tuple[str, ...] = ("two-sided", "greater", "less")
_FEW_VALUES = 32  # distinct non-zero unit values (or 1/16 of the units) up to which signs are binomial counts


@dataclass(frozen=True)
class PermutationResult:
    """Result of a paired randomization test."""

    statistic: float
    """Observed statistic (mean difference, corpus score difference, or composite difference)."""
    p_value: float
    """p-value of the null hypothesis of exchangeable pairs (see ``alternative``)."""
    n_resamples: int
    """Swap patterns evaluated: 2^m when exact, else the number of random draws R."""
    exact: bool
    """True when every swap pattern was enumerated."""
    method: str
    """``sign-flip``, ``clustered sign-flip``, ``approximate randomization`` or ``composite sign-flip``."""
    alternative: Alternative = "two-sided"
    """``two-sided`` (|T*| >= |T|), ``greater`` (T* >= T) or ``less`` (T* <= T)."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "statistic": self.statistic,
            "p_value": self.p_value,
            "n_resamples": self.n_resamples,
            "exact": self.exact,
            "method": self.method,
            "alternative": self.alternative,
        }


# --------------------------------------------------------------------------- task null distributions


@dataclass(frozen=True)
class _MeanTask:
    """A per-item task: differing unit sums ``u`` (m,), item count ``n``, weight ``coef``."""

    u: FloatArray
    total: float
    n: int
    coef: float

    @property
    def m(self) -> int:
        return int(self.u.shape[0])

    def observed(self) -> float:
        return self.coef * self.total / self.n

    def null(self, flips: npt.NDArray[np.floating[Any]]) -> FloatArray:
        # eps = 1 - 2 f: T* = (sum(u) - 2 f @ u) / n over the differing units only
        # (units with u = 0 never change anything and are not part of ``u``).
        out: FloatArray = self.coef * (self.total - 2.0 * (flips @ self.u)) / self.n
        return out


@dataclass(frozen=True)
class _CorpusTask:
    """A corpus task: totals of A and B, per-unit swap deltas x = B - A (m, d), a scorer."""

    total_a: FloatArray
    total_b: FloatArray
    x: FloatArray
    score_fn: ScoreFn
    coef: float

    @property
    def m(self) -> int:
        return int(self.x.shape[0])

    @functools.cached_property
    def x32(self) -> npt.NDArray[np.float32] | None:
        """The deltas in float32 when every sum of them is exact there (integer counts), else None."""
        return self.x.astype(np.float32) if exact_in_float32(self.x) else None

    def observed(self) -> float:
        sa = self.score_fn(self.total_a[None, :])
        sb = self.score_fn(self.total_b[None, :])
        return self.coef * float(sa[0] - sb[0])

    def null(self, flips: npt.NDArray[np.floating[Any]]) -> FloatArray:
        shift = np.asarray(flips @ self.x32, dtype=np.float64) if self.x32 is not None else flips @ self.x
        sa = self.score_fn(self.total_a[None, :] + shift)
        sb = self.score_fn(self.total_b[None, :] - shift)
        out: FloatArray = self.coef * (np.asarray(sa, dtype=np.float64) - np.asarray(sb, dtype=np.float64))
        return out


_Task = _MeanTask | _CorpusTask


def _unit_labels(clusters: npt.ArrayLike | None, n: int, name: str) -> npt.NDArray[np.intp] | None:
    if clusters is None:
        return None
    raw = np.asarray(clusters)
    if raw.shape != (n,):
        raise ValueError(f"`{name}` must hold one cluster label per item ({n}); got shape {raw.shape}.")
    return np.unique(raw, return_inverse=True)[1].reshape(-1).astype(np.intp)


def _mean_task(d: npt.ArrayLike, clusters: npt.ArrayLike | None, coef: float, name: str) -> _MeanTask:
    arr = np.asarray(d, dtype=np.float64)
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(
            f"`{name}` must be a non-empty 1-D array of paired differences; got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite (no NaN/inf differences).")
    labels = _unit_labels(clusters, arr.size, "clusters" if name == "d" else f"clusters of {name}")
    units = arr if labels is None else np.bincount(labels, weights=arr).astype(np.float64)
    u = units[units != 0]
    return _MeanTask(np.ascontiguousarray(u), float(arr.sum()), int(arr.size), coef)


def _corpus_task(
    stats_a: CorpusStats | npt.ArrayLike,
    stats_b: CorpusStats | npt.ArrayLike,
    score_fn: ScoreFn | None,
    clusters: npt.ArrayLike | None,
    coef: float,
    name: str,
) -> _CorpusTask:
    if isinstance(stats_a, CorpusStats) != isinstance(stats_b, CorpusStats):
        raise ValueError(f"`{name}`: `stats_a` and `stats_b` must both be CorpusStats or both arrays.")
    if isinstance(stats_a, CorpusStats) and isinstance(stats_b, CorpusStats):
        if stats_a.metric != stats_b.metric or dict(stats_a.options) != dict(stats_b.options):
            raise ValueError(
                f"`{name}`: `stats_a` and `stats_b` must use the same metric and options; got "
                f"{stats_a.metric} and {stats_b.metric}."
            )
        fn: ScoreFn | None = score_fn if score_fn is not None else stats_a.score_totals
        a, b = stats_a.stats, stats_b.stats
    else:
        fn = score_fn
        a = np.asarray(stats_a, dtype=np.float64)
        b = np.asarray(stats_b, dtype=np.float64)
    if fn is None or not callable(fn):
        raise ValueError(
            f"`{name}`: `score_fn` must be a callable from (R, d) summed statistics to (R,) scores "
            "(it may be omitted only for CorpusStats inputs)."
        )
    if a.ndim != 2 or a.shape != b.shape or a.shape[0] == 0:
        raise ValueError(
            f"`{name}`: `stats_a` and `stats_b` must be (n_segments >= 1, d) arrays of the same shape; "
            f"got {a.shape} and {b.shape}."
        )
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError(f"`{name}`: `stats_a` and `stats_b` must be finite.")
    labels = _unit_labels(clusters, a.shape[0], "clusters" if name == "stats" else f"clusters of {name}")
    if labels is not None:
        g = int(labels.max()) + 1
        ga = np.zeros((g, a.shape[1]))
        gb = np.zeros((g, b.shape[1]))
        np.add.at(ga, labels, a)
        np.add.at(gb, labels, b)
        a, b = ga, gb
    x = b - a
    differ = np.any(x != 0, axis=1)
    return _CorpusTask(a.sum(axis=0), b.sum(axis=0), np.ascontiguousarray(x[differ]), fn, coef)


# --------------------------------------------------------------------------- the engine


def _random_flips(gen: np.random.Generator, rows: int, m: int) -> npt.NDArray[np.float32]:
    """(rows, m) independent fair 0/1 swap indicators (random bytes unpacked: 8 per byte).

    float32 (0 and 1 are exact): a product with float64 values promotes to float64 exactly as
    before; a product with a corpus task's integer deltas stays in float32 where that is exact.
    """
    cells = rows * m
    bits = np.unpackbits(np.frombuffer(gen.bytes((cells + 7) // 8), dtype=np.uint8), count=cells)
    return bits.reshape(rows, m).astype(np.float32)


def _all_patterns(m: int) -> FloatArray:
    """(2^m, m) 0/1 matrix of every swap pattern."""
    codes = np.arange(2**m, dtype=np.int64)[:, None]
    return ((codes >> np.arange(m, dtype=np.int64)[None, :]) & 1).astype(np.float64)


def _null_sum(tasks: Sequence[_Task], flips: npt.NDArray[np.floating[Any]]) -> FloatArray:
    out = np.zeros(flips.shape[0], dtype=np.float64)
    start = 0
    for t in tasks:
        out += t.null(flips[:, start : start + t.m])
        start += t.m
    return out


def _run(
    tasks: Sequence[_Task],
    n_resamples: int,
    rng: RngLike,
    alternative: str,
    method: str,
    exact_max: int = EXACT_MAX_UNITS,
) -> PermutationResult:
    observed = float(sum(t.observed() for t in tasks))
    m = sum(t.m for t in tasks)
    alt: Alternative = "greater" if alternative == "greater" else "less"
    if alternative == "two-sided":
        alt = "two-sided"
    if m <= exact_max:
        null = _null_sum(tasks, _all_patterns(m))
        exact, count_total = True, int(null.shape[0])
    else:
        gen = as_generator(rng)
        null = np.empty(n_resamples, dtype=np.float64)
        rows = max(1, _CHUNK_CELLS // m)
        for start in range(0, n_resamples, rows):
            stop = min(n_resamples, start + rows)
            flips = _random_flips(gen, stop - start, m)
            null[start:stop] = _null_sum(tasks, flips)
        exact, count_total = False, n_resamples
    finite = null[np.isfinite(null)]
    scale = max(abs(observed), float(np.max(np.abs(finite))) if finite.size else 0.0)
    tol = _REL_TOL * scale
    if alt == "two-sided":
        hits = np.abs(null) >= abs(observed) - tol
    elif alt == "greater":
        hits = null >= observed - tol
    else:
        hits = null <= observed + tol
    k = int(np.count_nonzero(hits))
    p = k / count_total if exact else (1 + k) / (1 + count_total)
    return PermutationResult(observed, float(min(1.0, p)), count_total, exact, method, alt)


def _common_iv(n_resamples: int, alternative: str) -> int:
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"`alternative` must be one of {list(_ALTERNATIVES)}; got {alternative!r}.")
    return check_n_resamples(n_resamples)


# --------------------------------------------------------------------------- public functions


def paired_sign_flip_test(
    d: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_resamples: int = 10_000,
    rng: RngLike = None,
    alternative: Alternative = "two-sided",
) -> PermutationResult:
    """Paired sign-flip (Fisher-Pitman randomization) test of mean(d) = 0.

    Args:
        d: Per-item paired differences A - B (1-D, finite, at least one).
        clusters: Optional cluster label per item; whole clusters are flipped (their
            sums change sign together), for items that share a context.
        n_resamples: Random sign patterns R when the test is not exact.
        rng: Generator, int seed or None (used only when not exact).
        alternative: ``two-sided``, ``greater`` (A > B) or ``less``.

    Returns:
        A :class:`PermutationResult` with statistic mean(d). Exact (2^m patterns) when at
        most :data:`EXACT_MAX_UNITS` items (clusters) have a non-zero difference (sum),
        else Monte Carlo with p = (1 + #{|T*| >= |T|}) / (1 + R).

    Raises:
        ValueError: ``d`` empty, not 1-D or not finite; ``clusters`` of the wrong shape;
            bad ``n_resamples`` or ``alternative``.
    """
    nres = _common_iv(n_resamples, alternative)
    task = _mean_task(d, clusters, 1.0, "d")
    method = "sign-flip" if clusters is None else "clustered sign-flip"
    return _run([task], nres, rng, alternative, method)


def corpus_randomization_test(
    stats_a: CorpusStats | npt.ArrayLike,
    stats_b: CorpusStats | npt.ArrayLike,
    score_fn: ScoreFn | None = None,
    *,
    clusters: npt.ArrayLike | None = None,
    n_resamples: int = 10_000,
    rng: RngLike = None,
    alternative: Alternative = "two-sided",
) -> PermutationResult:
    """Approximate randomization test of score(A) = score(B) for a corpus metric.

    Each segment's sufficient statistics are swapped between A and B with probability
    1/2, and both corpus scores are recomputed from the summed statistics (Riezler &
    Maxwell 2005).

    Args:
        stats_a: System A's per-segment statistics: a :class:`CorpusStats` or an (n, d) array.
        stats_b: System B's, same segments in the same order.
        score_fn: Maps (R, d) summed statistics to (R,) corpus scores; defaults to
            ``stats_a.score_totals`` for CorpusStats inputs (required for arrays).
        clusters: Optional cluster label per segment; whole clusters are swapped.
        n_resamples: Random swap patterns R when the test is not exact.
        rng: Generator, int seed or None.
        alternative: ``two-sided``, ``greater`` (A > B) or ``less``.

    Returns:
        A :class:`PermutationResult` with statistic score(A) - score(B); exact when at most
        :data:`EXACT_MAX_UNITS` segments (clusters) differ between the systems.

    Raises:
        ValueError: Mismatched shapes, metrics or options; non-finite statistics; missing
            ``score_fn`` for arrays; bad ``clusters``, ``n_resamples`` or ``alternative``.
    """
    nres = _common_iv(n_resamples, alternative)
    task = _corpus_task(stats_a, stats_b, score_fn, clusters, 1.0, "stats")
    return _run([task], nres, rng, alternative, "approximate randomization")


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


def sign_flip_p_values(
    d: npt.ArrayLike,
    *,
    clusters: npt.ArrayLike | None = None,
    n_resamples: int = 10_000,
    rng: RngLike = None,
    alternative: Alternative = "two-sided",
) -> FloatArray:
    """:func:`paired_sign_flip_test` p-value of every column of an (n, S) array of differences.

    Exact columns are enumerated; the others share one set of random sign patterns.

    Raises:
        ValueError: ``d`` is not a non-empty 2-D finite array; bad ``clusters``,
            ``n_resamples`` or ``alternative``.
    """
    arr = np.asarray(d, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(
            f"`d` must be an (n_items >= 1, S >= 1) array of paired differences; got shape {arr.shape}."
        )
    return composite_sign_flip_p_values(
        [arr],
        [1.0],
        clusters=None if clusters is None else [clusters],
        n_resamples=n_resamples,
        rng=rng,
        alternative=alternative,
    )
