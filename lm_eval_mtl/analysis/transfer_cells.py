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

from lm_eval_mtl.stats._common import keyed_generator
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.multiple import mcnemar_vector
from lm_eval_mtl.stats.paired import PairedColumns, corpus_columns, normal_test, paired_columns

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


def cell_generators(root: list[int], target: str, names: Sequence[str]) -> list[np.random.Generator]:
    """One stream per (target, checkpoint) cell (:func:`~lm_eval_mtl.stats._common.keyed_generator`).

    A cell's resamples and sign flips then depend only on the seed, its target and its
    names (``names``: one per checkpoint, :func:`pair_key` of the base and the checkpoint):
    adding, dropping or reordering other sources leaves its interval unchanged, and
    ``compare`` of the checkpoint against the base gives it the same stream.
    """
    return [keyed_generator(root, target, n) for n in names]


def paired_column(
    d: FloatArray,
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    level: float,
    nres: int,
    gens: Sequence[np.random.Generator],
) -> Column:
    """Per-item paired statistics of one target for every checkpoint (columns of ``d``).

    Each cell has its own stream (``gens``, one per column: :func:`cell_generators`).
    """
    pc = paired_columns(d, scale=scale, clusters=clusters, confidence_level=level, n_resamples=nres, rng=gens)
    return _stacked([pc], d, scale, clusters, None)


def corpus_column(
    corpus: Sequence[CorpusStats],
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    level: float,
    nres: int,
    gens: Sequence[np.random.Generator],
) -> Column:
    """Corpus metric: paired bootstrap of score(M_s) - score(M0) from resampled segment totals.

    Each checkpoint is resampled jointly with the base (the same segment draws), with its own
    stream (``gens``, one per checkpoint). The p-values are approximate randomization tests
    of each checkpoint against the base.
    """
    cells = [
        corpus_columns(
            [corpus[0], corpus[k + 1]],
            scale=scale,
            clusters=clusters,
            confidence_level=level,
            n_resamples=nres,
            rng=g,
        )
        for k, g in enumerate(gens)
    ]
    return _stacked(cells, None, scale, clusters, corpus)


def _stacked(
    cells: Sequence[PairedColumns],
    item_diff: FloatArray | None,
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    corpus: Sequence[CorpusStats] | None,
) -> Column:
    """One target's column from its one-checkpoint cells."""
    boot = None if any(c.boot is None for c in cells) else np.concatenate([c.boot for c in cells], axis=1)
    return Column(
        np.concatenate([c.delta for c in cells]),
        np.concatenate([c.se for c in cells]),
        np.concatenate([c.ci_low for c in cells]),
        np.concatenate([c.ci_high for c in cells]),
        np.concatenate([c.p_value for c in cells]),
        [c.method for c in cells for _ in range(c.delta.size)],
        boot,
        item_diff,
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
