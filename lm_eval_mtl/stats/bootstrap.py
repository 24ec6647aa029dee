"""Stratified bootstrap of task means and of weighted composites, with exact fast paths.

Each task is resampled independently (stratified by task), with its own size, by the
cheapest exact fast path for its data (:mod:`lm_eval_mtl.stats.task_resample`: binomial,
multinomial, cluster, pair sums or corpus). This module stacks the tasks' columns (each
from its own stream, in threads) into the composite's distribution, estimate and interval.

All paths draw from the same distribution as the plain item bootstrap; only the cost differs.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError
from lm_eval_mtl.stats._common import (
    THREADS_ENV as THREADS_ENV,
)
from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    RngLike,
    as_generator,
    check_confidence_level,
    check_n_resamples,
    map_threads,
    worker_threads,
)
from lm_eval_mtl.stats.intervals import basic_interval, bca_interval, percentile_interval
from lm_eval_mtl.stats.task_resample import (
    MAX_DISTINCT_VALUES,
    ItemScores,
    ResampleKind,
    SufficientStatistics,
    Task,
    _task_jackknife,
    _task_observed,
    _task_resample,
    resample_kind,
)
from lm_eval_mtl.stats.task_resample import (
    _resampled_totals as _resampled_totals,
)

__all__ = [
    "MAX_DISTINCT_VALUES",
    "BootstrapResult",
    "ItemScores",
    "ResampleKind",
    "SufficientStatistics",
    "bootstrap_composite",
    "bootstrap_task_means",
    "resample_kind",
]

FloatArray = npt.NDArray[np.float64]
BootstrapMethod = Literal["percentile", "bca", "basic"]
_METHODS: tuple[str, ...] = ("percentile", "bca", "basic")


# --------------------------------------------------------------------------- public API


def _check_tasks(tasks: Sequence[Task], name: str = "tasks") -> list[Task]:
    if isinstance(tasks, (ItemScores, str)) or not isinstance(tasks, Sequence):
        raise ValueError(
            f"`{name}` must be a sequence of ItemScores or sufficient-statistics objects; "
            f"got {type(tasks).__name__}."
        )
    if len(tasks) == 0:
        raise InsufficientDataError(f"`{name}` must hold at least 1 task; got 0.")
    for i, t in enumerate(tasks):
        if not isinstance(t, (ItemScores, SufficientStatistics)):
            raise ValueError(
                f"`{name}[{i}]` must be an ItemScores or a sufficient-statistics object "
                f"(e.g. CorpusStats); got {type(t).__name__}."
            )
    return list(tasks)


def bootstrap_task_means(tasks: Sequence[Task], *, n_resamples: int, rng: RngLike = None) -> FloatArray:
    """Bootstrap distribution of every task's mean, each task resampled independently.

    Args:
        tasks: One :class:`ItemScores` per task (or a sufficient-statistics object such as
            :class:`~lm_eval_mtl.stats.corpus.CorpusStats`, whose "mean" is its corpus score).
        n_resamples: Number of bootstrap resamples B.
        rng: Generator, int seed or None. Results are deterministic given ``rng``. Each
            task draws from its own stream keyed by its content, so permuting ``tasks``
            permutes the columns exactly.

    Returns:
        Array of shape (n_resamples, n_tasks): column t holds the resampled statistic of
        task t. Each task is resampled with its own size (stratified bootstrap).

    Raises:
        ValueError: ``tasks`` is not a sequence of tasks, or ``n_resamples`` < 1.
        InsufficientDataError: ``tasks`` is empty.
    """
    task_list = _check_tasks(tasks)
    b = check_n_resamples(n_resamples)
    gen = as_generator(rng)
    out = np.empty((b, len(task_list)), dtype=np.float64)
    children = _task_generators(task_list, gen)
    threads = _resample_threads(task_list, b)

    def column(j: int) -> None:
        task, child = task_list[j], children[j]
        digest = _memo_digest(task, b)
        if digest is None:
            out[:, j] = _task_resample(task, b, child)
            return
        from lm_eval_mtl.io.memo import cached_resample

        seed = repr(child.bit_generator.seed_seq.entropy)  # type: ignore[attr-defined]
        out[:, j] = cached_resample(
            ["bootstrap-column", str(b), seed, digest], _MEMO_CODE, lambda: _task_resample(task, b, child)
        )

    # Each task has its own stream, so the columns do not depend on the threads' order.
    map_threads(column, [_task_units(t) for t in task_list], threads)
    return out


_MEMO_MIN_WORK = 1_000_000  # resampled segments (B x n) from which a corpus column is worth a cache entry
_MEMO_CODE = (
    "lm_eval_mtl.stats.bootstrap",
    "lm_eval_mtl.stats.task_resample",
    "lm_eval_mtl.stats.joint",
    "lm_eval_mtl.stats.corpus",
)


def _memo_digest(task: Task, n_resamples: int) -> str | None:
    """Content digest of a corpus task whose column is costly (kept in the samples cache), else None.

    Only the shipped corpus statistics qualify (their scoring is fixed by metric and options);
    a column then depends only on this digest, its stream's seed words and B.
    """
    from lm_eval_mtl.stats.corpus import CorpusDifference, CorpusStats

    parts = [task.a, task.b] if isinstance(task, CorpusDifference) else [task]
    if not all(isinstance(c, CorpusStats) for c in parts):
        return None
    if n_resamples * _task_units(task) < _MEMO_MIN_WORK:
        return None
    h = hashlib.sha256(type(task).__name__.encode())
    for c in parts:
        assert isinstance(c, CorpusStats)
        stats = np.ascontiguousarray(c.stats, dtype=np.float64)
        h.update(
            repr(
                (str(c.metric), sorted((str(k), repr(v)) for k, v in c.options.items()), stats.shape)
            ).encode()
        )
        h.update(stats.tobytes())
    return h.hexdigest()


def _task_units(task: Task) -> int:
    return int(task.scores.size) if isinstance(task, ItemScores) else int(np.asarray(task.stats).shape[0])


def _resample_threads(tasks: Sequence[Task], n_resamples: int) -> int:
    """Return how many threads :func:`bootstrap_task_means` uses (:func:`~lm_eval_mtl.stats._common.worker_threads`)."""
    return worker_threads(len(tasks), n_resamples * sum(_task_units(t) for t in tasks))


def _task_fingerprint(task: Task) -> list[int]:
    """Content hash of a task as 32-bit words (seeds its resampling stream)."""
    h = hashlib.sha256()
    if isinstance(task, ItemScores):
        h.update(b"items")
        h.update(task.scores.tobytes())
        if task.clusters is not None:
            h.update(b"clusters")
            h.update(task.clusters.tobytes())
    else:
        h.update(type(task).__name__.encode())
        h.update(np.ascontiguousarray(task.stats, dtype=np.float64).tobytes())
    digest = h.digest()
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def _task_generators(tasks: Sequence[Task], gen: np.random.Generator) -> list[np.random.Generator]:
    """One independent generator per task, keyed by (one draw of ``gen``, task content, repeat).

    A task's stream depends on its content, not its position, so permuting the tasks
    permutes the columns of :func:`bootstrap_task_means` exactly, and adding or dropping a
    task leaves the other tasks' resamples unchanged. Identical tasks get distinct streams.
    """
    base = [int(x) for x in gen.integers(0, 2**32, size=2, dtype=np.uint64)]
    seen: dict[tuple[int, ...], int] = {}
    out: list[np.random.Generator] = []
    for task in tasks:
        key = tuple(_task_fingerprint(task))
        k = seen.get(key, 0)
        seen[key] = k + 1
        out.append(np.random.default_rng(np.random.SeedSequence([*base, *key, k])))
    return out


@dataclass(frozen=True, eq=False)
class BootstrapResult:
    """A bootstrap estimate: observed statistic, standard error, interval and distribution."""

    value: float
    """The statistic on the original data."""
    se: float
    """Standard deviation (ddof=1) of the bootstrap distribution."""
    ci: ConfidenceInterval
    """The interval at :attr:`confidence_level` by :attr:`method`."""
    confidence_level: float
    """Confidence level of :attr:`ci`."""
    method: BootstrapMethod
    """Interval method: ``percentile``, ``bca`` or ``basic``."""
    n_resamples: int
    """Number of bootstrap resamples B."""
    distribution: FloatArray = field(repr=False)
    """The B resampled statistics."""
    jackknife_values: tuple[FloatArray, ...] = field(default=(), repr=False)
    """Leave-one-unit-out statistics per stratum (for BCa); empty unless method is ``bca``."""
    resample_kinds: tuple[str, ...] = ()
    """The fast path used per task (see :func:`resample_kind`)."""
    rng_seed: int | None = None
    """The int seed when ``rng`` was given as one; None otherwise (a Generator or OS entropy)."""

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Recompute the interval at another level from the stored distribution.

        Args:
            confidence_level: In (0, 1).

        Returns:
            The interval by :attr:`method`.

        Raises:
            ValueError: ``confidence_level`` is outside (0, 1).

        Warns:
            DegenerateDataWarning: BCa is undefined for this distribution.
        """
        return _interval(self.method, self.distribution, self.value, self.jackknife_values, confidence_level)

    def to_dict(self) -> dict[str, Any]:
        """Full-precision summary (without the distribution)."""
        return {
            "value": self.value,
            "se": self.se,
            "ci_low": self.ci.low,
            "ci_high": self.ci.high,
            "confidence_level": self.confidence_level,
            "method": self.method,
            "n_resamples": self.n_resamples,
            "resample_kinds": list(self.resample_kinds),
            "rng_seed": self.rng_seed,
        }


def _interval(
    method: str,
    distribution: FloatArray,
    observed: float,
    jackknife_values: Sequence[FloatArray],
    confidence_level: float,
) -> ConfidenceInterval:
    level = check_confidence_level(confidence_level)
    if method == "percentile":
        return percentile_interval(distribution, level)
    if method == "basic":
        return basic_interval(distribution, observed, level)
    if method == "bca":
        if not jackknife_values:
            raise ValueError("BCa needs jackknife values; this result was computed without them.")
        return bca_interval(distribution, observed, list(jackknife_values), level)
    raise ValueError(f"`method` must be one of {_METHODS}; got {method!r}.")


def _float_vector(x: Sequence[float] | None, name: str, n: int, default: float) -> FloatArray:
    if x is None:
        return np.full(n, default, dtype=np.float64)
    if isinstance(x, (str, bytes)):
        raise ValueError(f"`{name}` must be a sequence of {n} finite numbers; got a string.")
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a sequence of {n} finite numbers; got {x!r:.80}.") from None
    if arr.ndim != 1 or arr.size != n:
        raise ValueError(f"`{name}` must hold one number per task ({n}); got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"`{name}` must be finite; got {arr.tolist()}.")
    return arr


def _bootstrap_composite_iv(
    tasks: Sequence[Task],
    weights: Sequence[float],
    offsets: Sequence[float] | None,
    scales: Sequence[float] | None,
    confidence_level: float,
    method: str,
    n_resamples: int,
    rng: RngLike,
) -> tuple[list[Task], FloatArray, FloatArray, FloatArray, float, BootstrapMethod, int, np.random.Generator]:
    task_list = _check_tasks(tasks)
    n = len(task_list)
    w = _float_vector(weights, "weights", n, 1.0)
    off = _float_vector(offsets, "offsets", n, 0.0)
    sc = _float_vector(scales, "scales", n, 1.0)
    if np.any(sc == 0.0):
        raise ValueError(f"`scales` must be non-zero; got {sc.tolist()}.")
    level = check_confidence_level(confidence_level)
    if method not in _METHODS:
        from lm_eval_mtl.errors import unknown_name

        raise unknown_name("bootstrap method", str(method), list(_METHODS))
    b = check_n_resamples(n_resamples)
    gen = as_generator(rng)
    return task_list, w, off, sc, level, method, b, gen  # type: ignore[return-value]


def bootstrap_composite(
    tasks: Sequence[Task],
    weights: Sequence[float],
    *,
    offsets: Sequence[float] | None = None,
    scales: Sequence[float] | None = None,
    confidence_level: float = 0.95,
    method: BootstrapMethod = "percentile",
    n_resamples: int = 10_000,
    rng: RngLike = None,
) -> BootstrapResult:
    """Stratified bootstrap of ``C = sum_t w_t * (mean_t - offset_t) * scale_t``.

    With ``offset_t = c_t`` (chance) and ``scale_t = 1/(u_t - c_t)`` this is the
    chance-normalized composite of DESIGN.md section 4. Each task is resampled
    independently (tasks must have disjoint item sets); see :func:`bootstrap_task_means`.
    A paired comparison is this function applied to per-item differences ``a_k - b_k``.

    Args:
        tasks: One :class:`ItemScores` (or sufficient-statistics object) per task.
        weights: One finite weight per task (not required to be non-negative or to sum
            to 1: the caller's weighting scheme enforces that).
        offsets: Subtracted from each task mean (default 0).
        scales: Multiplies each centred task mean (default 1; non-zero).
        confidence_level: In (0, 1).
        method: ``"percentile"``, ``"bca"`` (jackknife acceleration in closed form per
            task; units are items, clusters or segments) or ``"basic"``.
        n_resamples: Number of resamples B.
        rng: Generator, int seed or None.

    Returns:
        The :class:`BootstrapResult`. When every resample equals the observed value
        (e.g. all items equal) ``se`` is 0 and the percentile/basic interval is the point.

    Raises:
        ValueError: Lengths differ, non-finite numbers, zero scales, bad level or B.
        UnknownNameError: ``method`` is not a known method.
        InsufficientDataError: ``tasks`` is empty.

    Warns:
        DegenerateDataWarning: BCa is undefined (interval NaN).
    """
    task_list, w, off, sc, level, meth, b, gen = _bootstrap_composite_iv(
        tasks, weights, offsets, scales, confidence_level, method, n_resamples, rng
    )
    coef = w * sc
    means = bootstrap_task_means(task_list, n_resamples=b, rng=gen)
    observed_means = np.array([_task_observed(t) for t in task_list])
    value = float(np.dot(coef, observed_means - off))
    dist = (means - off) @ coef
    # Exact zero spread when every resample equals the observed statistic (e.g. all items equal).
    se = float(np.std(dist, ddof=1)) if b > 1 else math.nan
    if b == 1:
        warnings.warn(
            DegenerateDataWarning("The standard error needs n_resamples >= 2; returning NaN."), stacklevel=2
        )
    jack: tuple[FloatArray, ...] = ()
    if meth == "bca":
        jack = tuple(
            value + coef[j] * (_task_jackknife(t) - observed_means[j]) for j, t in enumerate(task_list)
        )
    ci = _interval(meth, dist, value, jack, level)
    return BootstrapResult(
        value=value,
        se=se,
        ci=ci,
        confidence_level=level,
        method=meth,
        n_resamples=b,
        distribution=dist,
        jackknife_values=jack,
        resample_kinds=tuple(resample_kind(t) for t in task_list),
        rng_seed=int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None,
    )
