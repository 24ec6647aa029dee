"""Which columns of a leaderboard panel are tasks: metadata and aggregates are left out, and named.

See :mod:`lm_eval_mtl.analysis.correlate` for the rule (names, value ranges, numeric aggregates).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

__all__ = ["ExcludedColumn", "ExclusionKind", "task_columns"]

FloatArray = npt.NDArray[np.float64]

ExclusionKind = Literal["metadata", "aggregate"]
_META_SUBSTRINGS: tuple[str, ...] = ("#", "\u2764", "\u2665", "param", "flop")
_META_WORDS: frozenset[str] = frozenset(
    {
        "size", "sizes", "parameter", "parameters", "tokens", "compute", "likes", "hearts",
        "downloads", "stars", "hub", "count", "counts", "num", "date", "year", "release",
        "sha", "id", "rank", "license", "cost", "price", "latency", "throughput", "memory",
    }
)  # fmt: skip
_AGG_MIN_ROWS = 5
_AGG_ROW_SHARE = 0.99


@dataclass(frozen=True)
class ExcludedColumn:
    """A numeric panel column left out of the default task set, and why."""

    column: str
    """Column name."""
    kind: ExclusionKind
    """``metadata`` (name or value range) or ``aggregate`` (sum / mean of other columns)."""
    reason: str
    """Human-readable reason, e.g. ``mean of ARC, GSM8K, ...``."""


def _metadata_name(name: str) -> str | None:
    low = name.lower()
    for sub in _META_SUBSTRINGS:
        if sub in low:
            return f"metadata name ({sub!r})"
    words = set(re.split(r"[^0-9a-z]+", low)) & _META_WORDS
    if words:
        return f"metadata name ({', '.join(sorted(words))})"
    return None


def _quantum(col: FloatArray) -> float:
    """Largest 10^-k (k <= 12) of which every finite value is a multiple; 0 if none."""
    v = col[np.isfinite(col)]
    for k in range(13):
        scaled = v * 10.0**k
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 + 1e-13 * np.abs(scaled)):
            return float(10.0**-k)
    return 0.0


def _aggregate_reason(
    j: int, x: FloatArray, names: Sequence[str], others: Sequence[int], quanta: FloatArray
) -> str | None:
    """Why column ``j`` is a mean / sum / combination of ``others``, or None."""
    if len(others) < 2:
        return None
    from scipy.optimize import nnls

    c = x[:, j]
    o = x[:, list(others)]
    q_o = quanta[list(others)]
    scale = float(np.nanmax(np.abs(c))) if np.isfinite(c).any() else 0.0
    floor = 1e-8 * scale
    q_c = float(quanta[j])
    present = ~np.isnan(o)
    k = present.sum(axis=1)
    rows = ~np.isnan(c) & (k >= 2)
    if int(rows.sum()) >= _AGG_MIN_ROWS:
        filled = np.where(present, o, 0.0)[rows]
        kr, cr = k[rows], c[rows]
        tol_mean = 0.5 * (q_c + float(q_o.max())) + floor
        tol_sum = 0.5 * (q_c + kr * float(q_o.max())) + floor
        if np.mean(np.abs(cr - filled.sum(axis=1) / kr) <= tol_mean) >= _AGG_ROW_SHARE:
            return "mean of the other task columns present on each row"
        if np.mean(np.abs(cr - filled.sum(axis=1)) <= tol_sum) >= _AGG_ROW_SHARE:
            return "sum of the other task columns present on each row"
    full = ~np.isnan(c) & present.all(axis=1)
    if int(full.sum()) < len(others) + 4:
        return None
    a, b = o[full], c[full]
    w, _ = nnls(a, b)
    tol = 0.5 * (q_c + float(np.abs(w) @ q_o)) + floor
    if not np.all(np.abs(b - a @ w) <= tol):
        return None
    big = w > 0.02 * float(np.max(w))
    if int(big.sum()) < 2:
        return None
    used = [names[others[i]] for i in np.flatnonzero(big).tolist()]
    ws = w[big]
    if np.all(np.abs(ws - ws.mean()) <= 0.02 * ws.mean()):
        if abs(ws.mean() * len(ws) - 1) <= 0.02:
            return f"mean of {', '.join(used)}"
        if abs(ws.mean() - 1) <= 0.02:
            return f"sum of {', '.join(used)}"
    return f"weighted combination of {', '.join(used)}"


def task_columns(
    names: Sequence[str], scores: npt.ArrayLike
) -> tuple[tuple[str, ...], tuple[ExcludedColumn, ...]]:
    """Split numeric panel columns into task columns and the ones left out.

    The rules (metadata names, value ranges, aggregates) are in the module docstring. An
    aggregate is looked for among the columns not excluded by name, against the columns
    excluded neither by name nor by value range nor as aggregates (repeated until no new
    one is found); its reason takes precedence over a value-range one (a sum of
    percentages exceeds 100).

    Args:
        names: Column names.
        scores: (models x columns) values; NaN marks an empty cell.

    Returns:
        The task column names (in their order) and the excluded columns with reasons.

    Raises:
        ValueError: ``scores`` does not have one column per name.
    """
    x = np.asarray(scores, dtype=np.float64)
    cols = list(names)
    if x.ndim != 2 or x.shape[1] != len(cols):
        raise ValueError(f"`scores` must be (models x {len(cols)}); got shape {x.shape}.")
    excluded: dict[int, ExcludedColumn] = {}
    for j, name in enumerate(cols):
        why = _metadata_name(name)
        if why is not None:
            excluded[j] = ExcludedColumn(name, "metadata", why)
    top = np.array(
        [float(np.nanmax(np.abs(x[:, j]))) if np.isfinite(x[:, j]).any() else 0.0 for j in range(len(cols))]
    )
    by_range: dict[int, ExcludedColumn] = {}
    for j, name in enumerate(cols):
        if j not in excluded and top[j] > 100:
            by_range[j] = ExcludedColumn(
                name, "metadata", f"values up to {top[j]:.4g} exceed 100, not a score"
            )
    rest = [j for j in range(len(cols)) if j not in excluded and j not in by_range]
    fractions = [j for j in rest if top[j] <= 1.0]
    if 2 * len(fractions) > len(rest):
        for j in rest:
            if top[j] > 1.0:
                by_range[j] = ExcludedColumn(
                    cols[j],
                    "metadata",
                    f"values up to {top[j]:.4g} outside [-1, 1], the range of most columns",
                )
    scored = [j for j in range(len(cols)) if j not in excluded and j not in by_range]
    quanta = np.array([_quantum(x[:, j]) for j in range(len(cols))])
    found = True
    while found:  # an aggregate among the others can hide another: repeat without those found
        found = False
        for j in range(len(cols)):
            if j in excluded:
                continue
            others = [i for i in scored if i != j and i not in excluded]
            why = _aggregate_reason(j, x, cols, others, quanta)
            if why is not None:
                excluded[j] = ExcludedColumn(cols[j], "aggregate", why)
                found = True
    excluded.update({j: e for j, e in by_range.items() if j not in excluded})
    kept = tuple(c for j, c in enumerate(cols) if j not in excluded)
    return kept, tuple(excluded[j] for j in sorted(excluded))
