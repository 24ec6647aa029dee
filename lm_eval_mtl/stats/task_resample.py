"""One task's bootstrap distribution, drawn by the cheapest exact fast path for its data.

Each task of the stratified bootstrap (:mod:`lm_eval_mtl.stats.bootstrap`) is resampled
independently, with its own size. Per task the cheapest exact way to draw the bootstrap
distribution of its mean is chosen:

- ``binomial``: every value is 0 or 1. The number of ones in a resample of n items is
  Binomial(n, p), so the resampled mean is Binomial(n, p)/n: O(1) per resample.
- ``multinomial``: at most :data:`MAX_DISTINCT_VALUES` distinct values (a paired 0/1
  difference takes -1, 0, 1; a 5-point rubric). The resampled value counts are
  Multinomial(n, frequencies); the mean is counts @ values / n: O(k) per resample.
- ``cluster``: cluster labels are given. Clusters are resampled with replacement and the
  mean is the ratio sum(cluster sums) / sum(cluster sizes): O(C) per resample, or, when
  few distinct (cluster sum, cluster size) pairs exist (0/1 items in equal-size clusters),
  a multinomial over those pairs: O(k) per resample.
- ``pair_sums``: anything else (continuous scores). Multinomial counts of draws per block
  of 256 items, then pairs of draws within a block as one uniform 16-bit number looked up
  in a table of pair sums (:mod:`lm_eval_mtl.stats.resample_mean`): ~2 ns per draw, no
  B x n index array, the same law as the item gather.
- ``corpus``: a task given as sufficient statistics (:class:`SufficientStatistics`, e.g.
  :class:`lm_eval_mtl.stats.corpus.CorpusStats`): segment multiplicities times the
  per-segment statistics, then the corpus formula.

All paths draw from the same distribution as the plain item bootstrap; only the cost differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.stats.joint import count_products, multinomial_rows
from lm_eval_mtl.stats.resample_mean import pair_sum_means

__all__ = [
    "MAX_DISTINCT_VALUES",
    "ItemScores",
    "ResampleKind",
    "SufficientStatistics",
    "Task",
    "resample_kind",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
ResampleKind = Literal["binomial", "multinomial", "cluster", "pair_sums", "corpus"]

MAX_DISTINCT_VALUES = 16
"""Up to this many distinct values, a task is resampled through value counts (multinomial)."""

_CHUNK_ELEMENTS = 1 << 22
"""Elements per gather chunk (4M: ~32 MB per float64/int64 temporary)."""


@runtime_checkable
class SufficientStatistics(Protocol):
    """A task whose statistic is a function of summed per-unit statistics (e.g. corpus BLEU).

    ``stats`` has one row per resampling unit (segment); a resample with multiplicities
    ``counts`` (shape (B, n)) has statistics ``score_totals(counts @ stats)``.
    """

    @property
    def stats(self) -> FloatArray:
        """Per-unit additive statistics, shape (n_units, d)."""
        ...

    def score_totals(self, totals: FloatArray) -> FloatArray:
        """Return the statistic for each row of summed statistics ``totals`` (shape (B, d)) -> (B,)."""
        ...


@dataclass(frozen=True, eq=False)
class ItemScores:
    """Per-item metric values of one task, with optional cluster labels.

    Values are converted to read-only float64/int64 arrays and validated on construction.
    Instances compare and hash by identity (they hold arrays).
    """

    scores: FloatArray
    """Per-item metric values, 1-D, finite, non-empty."""
    clusters: IntArray | None = None
    """Cluster label per item (same length as ``scores``), or None for independent items."""

    def __post_init__(self) -> None:
        try:
            s = np.array(self.scores, dtype=np.float64, copy=True)
        except (TypeError, ValueError):
            raise ValueError(
                f"`scores` must be a 1-D array of finite numbers; got {type(self.scores).__name__}."
            ) from None
        if s.ndim != 1:
            raise ValueError(f"`scores` must be 1-D; got an array of shape {s.shape}.")
        if s.size == 0:
            raise InsufficientDataError("`scores` must hold at least 1 item; got 0.")
        if not np.all(np.isfinite(s)):
            bad = int(np.count_nonzero(~np.isfinite(s)))
            raise ValueError(f"`scores` must be finite; got {bad} NaN/inf value(s) of {s.size}.")
        s.setflags(write=False)
        object.__setattr__(self, "scores", s)
        if self.clusters is not None:
            raw = np.asarray(self.clusters)
            if raw.ndim != 1 or raw.shape[0] != s.size:
                raise ValueError(
                    f"`clusters` must be 1-D with one label per item ({s.size}); got shape {raw.shape}."
                )
            if raw.dtype.kind not in "iub":
                if raw.dtype.kind == "f" and np.all(np.isfinite(raw)) and np.all(raw == np.round(raw)):
                    raw = raw.astype(np.int64)
                else:
                    raise ValueError(
                        f"`clusters` must hold integer labels; got dtype {raw.dtype}. "
                        "Map string keys to integers first (e.g. with numpy.unique(return_inverse=True))."
                    )
            c = np.array(raw, dtype=np.int64, copy=True)
            c.setflags(write=False)
            object.__setattr__(self, "clusters", c)

    @property
    def n(self) -> int:
        """Number of items."""
        return int(self.scores.size)

    def mean(self) -> float:
        """Mean of the scores (for clustered data too: the ratio of sums equals the item mean)."""
        return float(self.scores.mean())


Task = ItemScores | SufficientStatistics


def resample_kind(task: Task) -> ResampleKind:
    """Which exact fast path :func:`bootstrap_task_means` uses for ``task``.

    Args:
        task: Per-item scores or sufficient statistics.

    Returns:
        ``"corpus"``, ``"cluster"``, ``"binomial"``, ``"multinomial"`` or ``"pair_sums"``.
    """
    if not isinstance(task, ItemScores):
        return "corpus"
    if task.clusters is not None:
        return "cluster"
    s = task.scores
    if np.all((s == 0.0) | (s == 1.0)):
        return "binomial"
    if np.unique(s).size <= MAX_DISTINCT_VALUES:
        return "multinomial"
    return "pair_sums"


# --------------------------------------------------------------------------- per-task resampling


def _chunks(n_resamples: int, per_resample: int) -> list[int]:
    size = max(1, _CHUNK_ELEMENTS // max(1, per_resample))
    out = [size] * (n_resamples // size)
    if n_resamples % size:
        out.append(n_resamples % size)
    return out


def _index_dtype(n: int) -> type[np.signedinteger[Any]]:
    """int32 indices when they fit (bounded int32 draws are ~3x cheaper than int64)."""
    return np.int32 if n < 2**31 else np.int64


def _cluster_sums(task: ItemScores) -> tuple[FloatArray, FloatArray]:
    assert task.clusters is not None
    _, inv = np.unique(task.clusters, return_inverse=True)
    inv = inv.reshape(-1)
    sums = np.bincount(inv, weights=task.scores)
    sizes = np.bincount(inv).astype(np.float64)
    return np.asarray(sums, dtype=np.float64), sizes


def _cluster_means(task: ItemScores, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    sums, sizes = _cluster_sums(task)
    n_c = sums.size
    # Clusters with the same (sum, size) are exchangeable: when few distinct pairs exist
    # (0/1 items in clusters of similar size), draw their multiplicities from a multinomial.
    pairs, freq = np.unique(np.stack([sums, sizes], axis=1), axis=0, return_counts=True)
    if pairs.shape[0] <= max(MAX_DISTINCT_VALUES, n_c // 8):
        draws = multinomial_rows(n_c, freq / n_c, n_resamples, rng)
        return np.asarray((draws @ pairs[:, 0]) / (draws @ pairs[:, 1]), dtype=np.float64)
    out = np.empty(n_resamples, dtype=np.float64)
    start = 0
    for b in _chunks(n_resamples, 2 * n_c):
        idx = rng.integers(0, n_c, size=(b, n_c), dtype=_index_dtype(n_c))
        out[start : start + b] = sums[idx].sum(axis=1) / sizes[idx].sum(axis=1)
        start += b
    return out


def _resampled_totals(stats: FloatArray, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    """Column totals (B, d) of the statistics over B resamples of the n rows (``counts @ stats``)."""
    return count_products(stats.shape[0], [stats], n_resamples, rng)[0]


def _corpus_values(task: SufficientStatistics, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    stats = np.asarray(task.stats, dtype=np.float64)
    totals = _resampled_totals(stats, n_resamples, rng)
    return np.asarray(task.score_totals(totals), dtype=np.float64)


def _task_resample(task: Task, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    kind = resample_kind(task)
    if kind == "corpus":
        return _corpus_values(task, n_resamples, rng)  # type: ignore[arg-type]
    assert isinstance(task, ItemScores)
    s = task.scores
    n = s.size
    if kind == "cluster":
        return _cluster_means(task, n_resamples, rng)
    if kind == "binomial":
        p = float(s.mean())
        return rng.binomial(n, p, size=n_resamples).astype(np.float64) / n
    if kind == "multinomial":
        values, counts = np.unique(s, return_counts=True)
        draws = multinomial_rows(n, counts / n, n_resamples, rng)
        return (draws @ values) / n
    return pair_sum_means(s, n_resamples, rng)


def _task_observed(task: Task) -> float:
    if isinstance(task, ItemScores):
        return task.mean()
    stats = np.asarray(task.stats, dtype=np.float64)
    return float(task.score_totals(stats.sum(axis=0, keepdims=True))[0])


def _task_jackknife(task: Task) -> FloatArray:
    """Leave-one-unit-out values of the task statistic (units: items, clusters or segments).

    Closed forms, O(n): (S - s_i)/(n - 1) for items; (S - S_c)/(N - m_c) for clusters;
    ``score_totals(T - stats_i)`` for sufficient statistics. A single unit gives one value.
    """
    if not isinstance(task, ItemScores):
        stats = np.asarray(task.stats, dtype=np.float64)
        if stats.shape[0] < 2:
            return np.array([_task_observed(task)])
        total = stats.sum(axis=0)
        return np.asarray(task.score_totals(total[None, :] - stats), dtype=np.float64)
    if task.clusters is not None:
        sums, sizes = _cluster_sums(task)
        if sums.size < 2:
            return np.array([task.mean()])
        return np.asarray((sums.sum() - sums) / (sizes.sum() - sizes), dtype=np.float64)
    s = task.scores
    if s.size < 2:
        return np.array([float(s[0])])
    return np.asarray((s.sum() - s) / (s.size - 1), dtype=np.float64)
