"""Shared small types and input checks for :mod:`lm_eval_mtl.stats`."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

__all__ = ["ConfidenceInterval", "as_generator", "check_confidence_level", "check_n_resamples"]


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
