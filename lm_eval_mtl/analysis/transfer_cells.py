"""Per-target statistics of transfer-matrix cells (private to :mod:`lm_eval_mtl.analysis.transfer`).

One target's column holds every checkpoint's change against the base: paired per-item
differences (exact McNemar p for 0/1 metrics, else a sign-flip randomization p), a corpus
metric's paired segment bootstrap (interval) with an approximate randomization p, or,
without samples, the unpaired analytic difference from the results JSON.

The statistics themselves live in :mod:`lm_eval_mtl.stats.paired` (its column form,
:func:`~lm_eval_mtl.stats.paired.paired_columns` and
:func:`~lm_eval_mtl.stats.paired.corpus_columns`); this module only packs them into the
mutable :class:`Column` scratch that the matrix assembly reads.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.multiple import mcnemar_vector
from lm_eval_mtl.stats.paired import corpus_columns, normal_test, paired_columns

__all__ = ["Column", "analytic_column", "corpus_column", "mcnemar_vector", "paired_column"]

FloatArray = npt.NDArray[np.float64]


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
    pc = paired_columns(d, scale=scale, clusters=clusters, confidence_level=level, n_resamples=nres, rng=gen)
    return Column(
        pc.delta,
        pc.se,
        pc.ci_low,
        pc.ci_high,
        pc.p_value,
        [pc.method] * d.shape[1],
        pc.boot,
        d,
        scale,
        clusters,
    )


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
    pc = corpus_columns(
        corpus, scale=scale, clusters=clusters, confidence_level=level, n_resamples=nres, rng=gen
    )
    return Column(
        pc.delta,
        pc.se,
        pc.ci_low,
        pc.ci_high,
        pc.p_value,
        [pc.method] * pc.delta.size,
        pc.boot,
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
