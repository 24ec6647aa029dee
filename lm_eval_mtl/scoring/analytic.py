"""The analytic composite: chance normalization and a weighted sum with its stderr.

Pure arithmetic on per-task numbers, shared by the start-up plugin (inside
lm-eval's ``Group.aggregate``) and by the report when only results JSON exists.
It imports numpy only.

    z_t = (x_t - c_t) / (u_t - c_t),  se(z_t) = se(x_t) / (u_t - c_t)
    C   = sum_t w_t z_t,              se(C) = sqrt(sum_t w_t^2 se(z_t)^2)

The variance formula assumes the tasks' item sets are disjoint (independent
estimates); callers must detect overlapping item sets and not use it there.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.scoring.normalize import normalize

__all__ = ["AnalyticComposite", "analytic_composite", "composite_se", "normalize"]


class AnalyticComposite(NamedTuple):
    """A composite value and its standard error."""

    value: float
    """sum_t w_t z_t."""
    se: float
    """sqrt(sum_t w_t^2 se_t^2); NaN when any task's stderr is unknown."""


def analytic_composite(
    values: Sequence[float],
    ses: Sequence[float],
    weights: Sequence[float],
    groups: Sequence[Hashable] | None = None,
) -> AnalyticComposite:
    """Weighted sum of normalized scores with the independent-tasks stderr.

    Members in one ``group`` score overlapping items; their covariance is unknown, so
    their errors are added as perfectly correlated, the upper bound:
    Var(C) = sum_g (sum_{t in g} w_t se_t)^2. Without groups every member is its own.

    Args:
        values: Normalized scores z_t.
        ses: Their standard errors (NaN where unknown).
        weights: Non-negative weights summing to 1, same order.
        groups: Overlap key per member (same order), or None for disjoint item sets.

    Returns:
        The composite and its stderr (NaN if any stderr is NaN).

    Raises:
        ValueError: Lengths differ, a value is not finite, or the weights are not
            non-negative and summing to 1 (within 1e-9).
    """
    if not (len(values) == len(ses) == len(weights)) or len(values) == 0:
        raise ValueError(
            "`values`, `ses` and `weights` must be non-empty and of equal length; "
            f"got {len(values)}, {len(ses)}, {len(weights)}."
        )
    if any(not math.isfinite(v) for v in values):
        raise ValueError(f"`values` must be finite; got {list(values)}.")
    if any(w < 0 or not math.isfinite(w) for w in weights) or abs(math.fsum(weights) - 1.0) > 1e-9:
        raise ValueError(f"`weights` must be non-negative and sum to 1; got {list(weights)}.")
    if groups is not None and len(groups) != len(values):
        raise ValueError(f"`groups` must have one key per value; got {len(groups)} for {len(values)} values.")
    value = math.fsum(w * v for w, v in zip(weights, values, strict=True))
    return AnalyticComposite(value, float(composite_se(np.asarray(ses, dtype=np.float64), weights, groups)))


def composite_se(
    ses: npt.NDArray[np.float64], weights: npt.ArrayLike, groups: Sequence[Hashable] | None = None
) -> npt.NDArray[np.float64]:
    """Return the composite's standard error from its members' (the one formula; last axis: members).

    Var(C) = sum_g (sum_{t in g} w_t se_t)^2: members of one overlap group add as perfectly
    correlated (the upper bound where their covariance is unknown), groups as independent.
    Members with weight 0 are left out; a NaN stderr of a weighted member gives NaN.

    Args:
        ses: Standard errors, shape (..., T).
        weights: T weights.
        groups: T overlap keys, or None (every member its own group).

    Returns:
        The standard errors, shape (...).
    """
    se = np.asarray(ses, dtype=np.float64)
    w = np.asarray(weights, dtype=np.float64)
    keys: Sequence[Hashable] = groups if groups is not None else range(w.shape[0])
    index: dict[Hashable, list[int]] = {}
    for t, key in enumerate(keys):
        if w[t] > 0:
            index.setdefault(key, []).append(t)
    var = np.zeros(se.shape[:-1])
    for idx in index.values():
        part = se[..., idx] @ w[idx]
        var = var + part * part
    with np.errstate(invalid="ignore"):
        out = np.sqrt(var)
    return np.where(np.isfinite(var), out, np.nan)
