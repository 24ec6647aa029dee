"""The swap null distributions and the p-value rule behind every paired randomization test.

Each task becomes the differing units whose swap can change its statistic (per-item
differences, or per-segment corpus statistics; summed per cluster where clusters are
given); :func:`_run` evaluates the summed statistic over every swap pattern (at most
:data:`EXACT_MAX_UNITS` units) or over random patterns, and turns the null distribution
into a :class:`PermutationResult`. The method and its references are in
:mod:`lm_eval_mtl.stats.permutation`; the public tests live there and in
:mod:`lm_eval_mtl.stats.permutation_composite`.
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
