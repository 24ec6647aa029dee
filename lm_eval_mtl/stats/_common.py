"""Shared small types and input checks for :mod:`lm_eval_mtl.stats`."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple, TypeVar

import numpy as np

from lm_eval_mtl.errors import MTLError, ResourceLimitError

__all__ = [
    "DEFAULT_MAX_MEMORY_GB",
    "MAX_MEMORY_ENV",
    "THREADS_ENV",
    "ConfidenceInterval",
    "as_generator",
    "check_confidence_level",
    "check_n_resamples",
    "check_resample_memory",
    "keyed_generator",
    "map_threads",
    "resample_memory_bytes",
    "resample_memory_limit",
    "stream_root",
    "worker_threads",
]

_R = TypeVar("_R")

DEFAULT_MAX_MEMORY_GB = 4.0
"""Default ceiling (GiB) on the memory one resampling may take (lowered to half the available memory)."""
MAX_MEMORY_ENV = "LM_EVAL_MTL_MAX_MEMORY_GB"
"""Environment variable that sets the ceiling in GiB (it replaces the default and the half-memory cap)."""
_GIB = 1 << 30
_COPIES = 4
"""float64 arrays of shape (B, n_values) alive at once: the resamples, their weighted sum,
sorting copies for quantiles, and the randomization null."""
_CHUNK_BYTES = 64 << 20
"""The memory-bounded index chunks of :mod:`lm_eval_mtl.stats.bootstrap` and ``joint``."""


THREADS_ENV = "LM_EVAL_MTL_THREADS"
"""Environment variable: threads that resample tasks side by side (1: none; default: the CPUs, at most 8)."""
THREAD_MIN_WORK = 20_000_000
"""Resampled units (B x items, summed over the jobs) below which threads do not pay."""


def worker_threads(n_jobs: int, work: int) -> int:
    """Return how many threads run ``n_jobs`` independent resampling jobs side by side.

    ``$LM_EVAL_MTL_THREADS`` when set, else the CPUs (at most 8 and ``n_jobs``) when the work
    (resampled units) is at least :data:`THREAD_MIN_WORK`, else 1.
    """
    env = os.environ.get(THREADS_ENV, "").strip()
    if env.isdigit() and int(env) >= 1:
        return max(1, min(int(env), n_jobs))
    if n_jobs < 2 or work < THREAD_MIN_WORK:
        return 1
    count = getattr(os, "process_cpu_count", None) or os.cpu_count
    return max(1, min(8, n_jobs, int(count() or 1)))


def map_threads(fn: Callable[[int], _R], costs: Sequence[int], threads: int) -> list[_R]:
    """``[fn(k) for k in range(len(costs))]``, run in ``threads`` threads, costliest first.

    Each job must draw from its own generator: the results then do not depend on the
    threads' order or number. numpy releases the GIL in its draws, counts and products;
    BLAS runs one thread per job meanwhile (``threadpoolctl``).
    """
    n = len(costs)
    if threads < 2 or n < 2:
        return [fn(k) for k in range(n)]
    from concurrent.futures import ThreadPoolExecutor

    out: list[Any] = [None] * n

    def run(k: int) -> None:
        out[k] = fn(k)

    from threadpoolctl import threadpool_limits

    order = sorted(range(n), key=lambda k: -costs[k])
    # one BLAS thread per job: BLAS's own threads would contend with ours (and spin while idle)
    with threadpool_limits(limits=1, user_api="blas"):
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="lm-eval-mtl-resample") as pool:
            for done in pool.map(run, order):
                del done
    return out


class ConfidenceInterval(NamedTuple):
    """A two-sided confidence interval."""

    low: float
    """Lower bound."""
    high: float
    """Upper bound."""


RngLike = np.random.Generator | int | None


def as_generator(rng: RngLike) -> np.random.Generator:
    """Turn ``rng`` (a Generator, an int seed or None) into a Generator.

    Args:
        rng: A :class:`numpy.random.Generator`, a non-negative int seed, or None
            (fresh OS entropy).

    Returns:
        The generator.

    Raises:
        TypeError: ``rng`` is of another type.
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"`rng` must be a numpy.random.Generator, an int seed or None; got {type(rng).__name__}.")


def stream_root(gen: np.random.Generator) -> list[int]:
    """Root entropy for keyed streams: four 32-bit words, the first draw of ``gen``."""
    return [int(x) for x in gen.integers(0, 2**32, size=4, dtype=np.uint64)]


def keyed_generator(root: list[int], *keys: str) -> np.random.Generator:
    """Return a generator keyed by ``root`` and names (a task, a pair of models ...).

    The stream of one cell of a study then depends only on the seed and the cell's names,
    not on which other cells the study has: ``compare`` and ``transfer`` give a (task, pair)
    cell the same stream, so its interval is the same in both and whatever else they hold.
    """
    import hashlib

    words: list[int] = list(root)
    for key in keys:
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        words.extend(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))
    return np.random.default_rng(np.random.SeedSequence(words))


def check_confidence_level(confidence_level: float) -> float:
    """Validate a confidence level.

    Raises:
        ValueError: ``confidence_level`` is not a finite number in (0, 1).
    """
    try:
        level = float(confidence_level)
    except (TypeError, ValueError):
        raise ValueError(
            f"`confidence_level` must be a number in (0, 1); got {confidence_level!r}."
        ) from None
    if not (math.isfinite(level) and 0.0 < level < 1.0):
        raise ValueError(f"`confidence_level` must be in (0, 1); got {confidence_level!r}.")
    return level


def check_n_resamples(n_resamples: int) -> int:
    """Validate a number of bootstrap resamples.

    Raises:
        ValueError: ``n_resamples`` is not an int >= 1.
    """
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise ValueError(f"`n_resamples` must be a positive int; got {n_resamples!r}.")
    if n_resamples < 1:
        raise ValueError(f"`n_resamples` must be a positive int; got {n_resamples!r}.")
    return int(n_resamples)


def resample_memory_bytes(n_resamples: int, n_values: int) -> int:
    """Estimated peak bytes of a resampling of ``n_resamples`` draws of ``n_values`` statistics.

    Every resampling routine keeps float64 arrays of shape (B, n_values) (the resampled
    statistics of each task or cell, their weighted sum, sorted copies for quantiles) and draws
    item indices in chunks bounded by a constant; the estimate is
    ``8 * B * (n_values + 1) * 4 + 64 MiB``.

    Args:
        n_resamples: Resamples B.
        n_values: Statistics kept per resample (tasks, cells, shared documents of jointly
            resampled members).

    Returns:
        The estimate in bytes.
    """
    return 8 * int(n_resamples) * (max(int(n_values), 1) + 1) * _COPIES + _CHUNK_BYTES


def _available_bytes() -> int | None:
    """Memory available to this process (``MemAvailable`` on Linux, else physical pages), or None."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def resample_memory_limit() -> tuple[int, str]:
    """Return the ceiling on one resampling's memory, and where it came from.

    ``LM_EVAL_MTL_MAX_MEMORY_GB`` (GiB, a positive number) when set; else
    :data:`DEFAULT_MAX_MEMORY_GB` GiB, or half of the available memory if lower.

    Returns:
        (bytes, a phrase naming the source of the limit).

    Raises:
        MTLError: ``LM_EVAL_MTL_MAX_MEMORY_GB`` is not a positive number.
    """
    raw = os.environ.get(MAX_MEMORY_ENV, "").strip()
    if raw:
        try:
            gb = float(raw)
        except ValueError:
            gb = math.nan
        if not (math.isfinite(gb) and gb > 0):
            raise MTLError(f"{MAX_MEMORY_ENV} must be a positive number of GiB; got {raw!r}.")
        return int(gb * _GIB), f"set by {MAX_MEMORY_ENV}={raw}"
    limit = int(DEFAULT_MAX_MEMORY_GB * _GIB)
    available = _available_bytes()
    if available is not None and available // 2 < limit:
        return available // 2, "half of the memory available now"
    return limit, f"the default {DEFAULT_MAX_MEMORY_GB:g} GiB"


def check_resample_memory(n_resamples: int, n_values: int, *, what: str) -> int:
    """Refuse a resampling whose estimated memory exceeds the limit, before anything is allocated.

    Args:
        n_resamples: Resamples B (``--n-resamples``).
        n_values: Statistics kept per resample (see :func:`resample_memory_bytes`).
        what: What is resampled, for the message ("the composite bootstrap", ...).

    Returns:
        The estimate in bytes.

    Raises:
        ResourceLimitError: The estimate exceeds :func:`resample_memory_limit`; the message
            names ``--n-resamples``, the estimate, the limit and how to raise it.
        MTLError: ``LM_EVAL_MTL_MAX_MEMORY_GB`` is malformed.
    """
    need = resample_memory_bytes(n_resamples, n_values)
    limit, source = resample_memory_limit()
    if need > limit:
        fit = max(1, (limit - _CHUNK_BYTES) // (8 * (max(int(n_values), 1) + 1) * _COPIES))
        raise ResourceLimitError(
            f"--n-resamples {int(n_resamples)} would need about {need / _GIB:.1f} GiB for "
            f"{what} ({int(n_resamples)} resamples x {max(int(n_values), 1)} values); the limit is "
            f"{limit / _GIB:.1f} GiB ({source}). Lower --n-resamples (at most about {fit} fits), "
            f"or raise the limit with {MAX_MEMORY_ENV}=GIB."
        )
    return need
