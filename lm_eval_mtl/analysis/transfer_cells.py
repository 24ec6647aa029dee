"""Per-target statistics of transfer-matrix cells (private to :mod:`lm_eval_mtl.analysis.transfer`).

One target's column holds every checkpoint's change against the base: paired per-item
differences (exact McNemar p for 0/1 metrics, else a sign-flip randomization p), a corpus
metric's paired segment bootstrap (interval) with an approximate randomization p, or,
without samples, the unpaired analytic difference from the results JSON.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.joint import resample_column_means, resample_totals
from lm_eval_mtl.stats.paired import RANDOMIZATION, SIGN_FLIP, normal_test
from lm_eval_mtl.stats.permutation import corpus_randomization_test, sign_flip_p_values

__all__ = ["Column", "analytic_column", "corpus_column", "mcnemar_vector", "paired_column"]

FloatArray = npt.NDArray[np.float64]


def mcnemar_vector(d: FloatArray) -> FloatArray:
    """Exact two-sided McNemar p per column of 0/1 paired differences (values -1, 0, 1)."""
    n10 = np.count_nonzero(d == 1, axis=0)
    n01 = np.count_nonzero(d == -1, axis=0)
    m = n10 + n01
    k = np.minimum(n10, n01)
    p = np.where(m > 0, np.minimum(1.0, 2 * sps.binom.cdf(k, np.maximum(m, 1), 0.5)), 1.0)
    return np.asarray(p, dtype=np.float64)


@dataclass
class Column:
    """Per-target statistics for the S (+1) checkpoint columns (mutable scratch)."""

    delta: FloatArray
    se: FloatArray
    lo: FloatArray
    hi: FloatArray
    p: FloatArray
    method: list[str]
    boot: FloatArray | None  # (B, S+) scaled bootstrap of delta; None when analytic
    item_diff: FloatArray | None  # (n, S+) raw per-item differences
    scale: float = 1.0
    clusters: npt.NDArray[np.int64] | None = None
    corpus: Sequence[CorpusStats] | None = None  # base first, then every checkpoint (corpus metrics)


def paired_column(
    d: FloatArray,
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    level: float,
    nres: int,
    gen: np.random.Generator,
) -> Column:
    """Per-item paired statistics of one target for every checkpoint at once (columns of ``d``)."""
    n = d.shape[0]
    boot = scale * resample_column_means(d, nres, gen, clusters, joint=False)
    delta = scale * d.mean(axis=0)
    if n < 2:
        se = np.full(d.shape[1], np.nan)
    elif clusters is None:
        se = scale * d.std(axis=0, ddof=1) / math.sqrt(n)
    else:
        _, inv = np.unique(clusters, return_inverse=True)
        inv = inv.reshape(-1)
        g = int(inv.max()) + 1
        sums = np.zeros((g, d.shape[1]))
        np.add.at(sums, inv, d - d.mean(axis=0))
        se = (
            scale * np.sqrt(g / (g - 1) * np.sum(sums**2, axis=0)) / n
            if g > 1
            else np.full(d.shape[1], np.nan)
        )
    alpha = 1 - level
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    binary = bool(np.all((d == 0) | (d == 1) | (d == -1)))
    if binary and clusters is None:
        p, method = mcnemar_vector(d), "mcnemar"
    else:
        p = sign_flip_p_values(d, clusters=clusters, n_resamples=nres, rng=gen)
        method = SIGN_FLIP
    return Column(delta, se, lo, hi, p, [method] * d.shape[1], boot, d, scale, clusters)


def corpus_column(
    corpus: Sequence[CorpusStats],
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    level: float,
    nres: int,
    gen: np.random.Generator,
) -> Column:
    """Corpus metric: paired bootstrap of score(M_s) - score(M0) from resampled segment totals.

    The p-values are approximate randomization tests of each checkpoint against the base.
    """
    from lm_eval_mtl.stats.corpus import corpus_score

    totals = resample_totals([c.stats for c in corpus], nres, gen, clusters)
    s0 = float(corpus_score(corpus[0]))
    b0 = corpus[0].score_totals(totals[0])
    delta = np.array([scale * (float(corpus_score(c)) - s0) for c in corpus[1:]])
    boot = np.column_stack(
        [scale * (c.score_totals(t) - b0) for c, t in zip(corpus[1:], totals[1:], strict=True)]
    )
    se = boot.std(axis=0, ddof=1) if nres > 1 else np.full(delta.shape, np.nan)
    alpha = 1 - level
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    p = np.array(
        [
            corpus_randomization_test(c, corpus[0], clusters=clusters, n_resamples=nres, rng=gen).p_value
            for c in corpus[1:]
        ]
    )
    return Column(
        delta,
        se,
        lo,
        hi,
        p,
        [RANDOMIZATION] * delta.size,
        boot,
        None,
        scale,
        clusters,
        corpus,
    )


def analytic_column(
    base: tuple[float, float], others: Sequence[tuple[float, float]], scale: float, level: float
) -> Column:
    """Unpaired statistics of one target from results-file values (value, stderr) of the base and each checkpoint."""
    x0, s0 = base
    delta = np.array([scale * (x - x0) for x, _ in others])
    se = np.array([scale * math.sqrt(s**2 + s0**2) for _, s in others])
    lo, hi, p = normal_test(delta, se, level)
    return Column(delta, se, lo, hi, p, ["analytic-unpaired"] * len(others), None, None)
