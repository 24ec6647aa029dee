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

Layout: this module holds the tests of one comparison on one task
(:func:`paired_sign_flip_test`, :func:`corpus_randomization_test`, and
:func:`sign_flip_p_values` for many columns of differences at once) and re-exports the rest;
the composite tests are :mod:`lm_eval_mtl.stats.permutation_composite`'s, the null
distributions and the p-value rule :mod:`lm_eval_mtl.stats.permutation_engine`'s.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats._common import RngLike
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.permutation_composite import ColumnTask as ColumnTask
from lm_eval_mtl.stats.permutation_composite import CompositeTask as CompositeTask
from lm_eval_mtl.stats.permutation_composite import composite_sign_flip_p_values, composite_sign_flip_test
from lm_eval_mtl.stats.permutation_engine import (
    EXACT_MAX_UNITS,
    Alternative,
    FloatArray,
    PermutationResult,
    ScoreFn,
    _common_iv,
    _corpus_task,
    _mean_task,
    _run,
)

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
