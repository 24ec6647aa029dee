"""Paired statistics of a corpus metric (BLEU, chrF, TER): one comparison, or k runs against one reference.

:func:`corpus_from_totals` gives a :class:`PairedDifference` from segment totals resampled
with the same draws for both systems (Koehn 2004's paired bootstrap), with an approximate
randomization p-value; :func:`corpus_columns` does the same for every compared run at once
(a :class:`PairedColumns`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats._common import ConfidenceInterval
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.joint import resample_totals
from lm_eval_mtl.stats.paired_result import (
    RANDOMIZATION,
    FloatArray,
    PairedColumns,
    PairedDifference,
    _percentile_bounds,
    minimum_detectable_effect,
)
from lm_eval_mtl.stats.permutation import corpus_randomization_test

__all__ = ["corpus_columns", "corpus_from_totals"]


def corpus_from_totals(
    task: str,
    a: CorpusStats,
    b: CorpusStats,
    boot_a: FloatArray,
    boot_b: FloatArray,
    *,
    scale: float,
    confidence_level: float,
    clusters: npt.NDArray[np.int64] | None,
    n_resamples: int,
    rng: np.random.Generator,
) -> tuple[PairedDifference, FloatArray]:
    """Paired difference of a corpus metric (BLEU, chrF, TER) from resampled segment totals.

    ``boot_a``/``boot_b`` are (B, d) totals resampled with the *same* segment draws
    (Koehn 2004's paired bootstrap). The SE is the bootstrap SD of the difference; the
    p-value is approximate randomization (segments, or clusters, swapped between A and B;
    ``n_resamples`` patterns drawn from ``rng`` unless exact).

    Returns:
        The difference, and its (B,) bootstrap distribution in normalized units.
    """
    from lm_eval_mtl.stats.corpus import corpus_score

    score_a, score_b = float(corpus_score(a)), float(corpus_score(b))
    sa, sb = a.score_totals(boot_a), b.score_totals(boot_b)
    boot = scale * (sa - sb)
    diff = scale * (score_a - score_b)
    se = float(np.std(boot, ddof=1)) if boot.size > 1 else math.nan
    lo, hi = _percentile_bounds(boot, confidence_level)
    res = PairedDifference(
        task=task,
        diff=diff,
        se=se,
        ci=ConfidenceInterval(float(lo), float(hi)),
        p_value=corpus_randomization_test(a, b, clusters=clusters, n_resamples=n_resamples, rng=rng).p_value,
        mde=minimum_detectable_effect(se, confidence_level),
        n=a.n,
        method=RANDOMIZATION,
        mean_a=score_a,
        mean_b=score_b,
        se_unpaired=scale * math.sqrt(float(np.var(sa, ddof=1) + np.var(sb, ddof=1))),
    )
    return res, boot


def corpus_columns(
    corpus: Sequence[CorpusStats],
    *,
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    confidence_level: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> PairedColumns:
    """Corpus metric: score(M_j) - score(M_0) for every j at once, from one segment bootstrap.

    The column form of :func:`corpus_from_totals`: every run's segment totals are
    resampled with the same draws; the p-values are approximate randomization tests of
    each run against the reference.

    Args:
        corpus: The reference first, then every compared run (same segments).
        scale: 1 / (ceiling - chance).
        clusters: Cluster index per segment, or None.
        confidence_level: In (0, 1).
        n_resamples: Bootstrap resamples and random swap patterns.
        rng: Generator (bootstrap first, then each randomization test in turn).

    Returns:
        The :class:`PairedColumns` (k = len(corpus) - 1).
    """
    from lm_eval_mtl.stats.corpus import corpus_score

    totals = resample_totals([c.stats for c in corpus], n_resamples, rng, clusters)
    s0 = float(corpus_score(corpus[0]))
    b0 = corpus[0].score_totals(totals[0])
    delta = np.array([scale * (float(corpus_score(c)) - s0) for c in corpus[1:]])
    boot = np.column_stack(
        [scale * (c.score_totals(t) - b0) for c, t in zip(corpus[1:], totals[1:], strict=True)]
    )
    se = boot.std(axis=0, ddof=1) if n_resamples > 1 else np.full(delta.shape, np.nan)
    lo, hi = _percentile_bounds(boot, confidence_level)
    p = np.array(
        [
            corpus_randomization_test(
                c, corpus[0], clusters=clusters, n_resamples=n_resamples, rng=rng
            ).p_value
            for c in corpus[1:]
        ]
    )
    return PairedColumns(delta, se, lo, hi, p, RANDOMIZATION, boot)
