"""Weighting schemes as values: the contract a scheme implements, and the built-in schemes.

A scheme is a :class:`WeightingScheme`: a function from a :class:`SchemeContext` (task
keys, the shrunk correlation, the suite, parameters) to raw non-negative weights, which
:func:`lm_eval_mtl.scoring.weighting.scheme_weights` normalizes. The built-in schemes
(formulas in docs/concepts-weighting.md):

* ``equal``: w_t = 1/T.
* ``family``: 1/F per family, split equally within (needs a suite spec).
* ``size``: w_t proportional to the item count n_t (needs ``sizes``).
* ``redundancy``: w_t proportional to 1 / sum_j r*_tj^2, with r* the
  Ledoit-Wolf-shrunk between-model correlation of z over the population.
* ``cluster``: average-linkage clustering on the distance 1 - |r*_tj|, cut at
  ``threshold``; 1/K per cluster, split equally within.
* ``factor``: one factor from the first principal component of r*: loadings
  l = sqrt(lambda_1) v_1 (sign: sum positive), uniquenesses
  psi = max(1 - l^2, ``uniqueness_floor``), Bartlett (1937) factor-score
  weights w proportional to l / psi, clipped at 0, renormalized.

They are registered by name in :mod:`lm_eval_mtl.scoring.weighting_registry`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.suites import SuiteSpec

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_UNIQUENESS_FLOOR",
    "SchemeContext",
    "SchemeFunction",
    "WeightingScheme",
]

FloatArray = npt.NDArray[np.float64]
DEFAULT_THRESHOLD = 0.2
DEFAULT_UNIQUENESS_FLOOR = 0.01


@dataclass(frozen=True)
class SchemeContext:
    """What a weighting scheme may use."""

    tasks: tuple[str, ...]
    """Task keys, in column order."""
    correlation: FloatArray | None
    """Shrunk between-model correlation r* (T x T), or None without a population."""
    spec: SuiteSpec | None
    """The suite, when given."""
    level: Literal["member", "family"]
    """Whether ``tasks`` are member labels or families."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Scheme parameters (``threshold``, ``uniqueness_floor``, ``sizes``)."""


SchemeFunction = Callable[[SchemeContext], FloatArray]


@dataclass(frozen=True)
class WeightingScheme:
    """A registered weighting scheme."""

    name: str
    """Registry name (``redundancy``; third-party: ``package/name``)."""
    function: SchemeFunction
    """Maps a context to raw non-negative weights (normalized by the caller)."""
    needs_population: bool
    """Whether the scheme needs the population's correlation matrix."""
    description: str
    """One line for ``lm-eval-mtl weights list``."""
    params: tuple[str, ...] = ()
    """Names of the parameters the scheme reads from ``SchemeContext.params``."""


# ------------------------------------------------------------------ built-in schemes


def _equal(ctx: SchemeContext) -> FloatArray:
    return np.full(len(ctx.tasks), 1.0 / len(ctx.tasks))


def _structural(ctx: SchemeContext, scheme: str) -> FloatArray:
    from lm_eval_mtl.scoring.structural import structural_weights

    if ctx.spec is None:
        raise InsufficientDataError(f"`{scheme}` weights need a suite spec (`suite=`); got none.")
    if ctx.level != "member":
        raise InsufficientDataError(f"`{scheme}` weights need member-level tasks; these are families.")
    sizes = ctx.params.get("sizes")
    w = structural_weights(ctx.spec, scheme, sizes)
    missing = [t for t in ctx.tasks if t not in w]
    if missing:
        raise InsufficientDataError(f"tasks {', '.join(missing)} are not members of suite {ctx.spec.name!r}.")
    return np.array([w[t] for t in ctx.tasks])


def _family(ctx: SchemeContext) -> FloatArray:
    return _structural(ctx, "family")


def _size(ctx: SchemeContext) -> FloatArray:
    return _structural(ctx, "size")


def _need_corr(ctx: SchemeContext, name: str) -> FloatArray:
    if ctx.correlation is None:
        raise InsufficientDataError(f"`{name}` weights need a population (a correlation matrix); got none.")
    return ctx.correlation


def _redundancy(ctx: SchemeContext) -> FloatArray:
    r = _need_corr(ctx, "redundancy")
    out: FloatArray = 1.0 / np.sum(r**2, axis=1)
    return out


def _cluster_labels(r: FloatArray, threshold: float) -> npt.NDArray[np.int64]:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    t = r.shape[0]
    if t == 1:
        return np.ones(1, dtype=np.int64)
    dist = 1.0 - np.abs(r)
    dist = (dist + dist.T) / 2.0
    np.fill_diagonal(dist, 0.0)
    dist = np.clip(dist, 0.0, None)
    z = linkage(squareform(dist, checks=False), method="average")
    return np.asarray(fcluster(z, t=threshold, criterion="distance"), dtype=np.int64)


def _cluster(ctx: SchemeContext) -> FloatArray:
    r = _need_corr(ctx, "cluster")
    threshold = float(ctx.params.get("threshold", DEFAULT_THRESHOLD))
    labels = _cluster_labels(r, threshold)
    uniq, counts = np.unique(labels, return_counts=True)
    size = dict(zip(uniq.tolist(), counts.tolist(), strict=True))
    return np.array([1.0 / (len(uniq) * size[int(c)]) for c in labels])


def _factor(ctx: SchemeContext) -> FloatArray:
    r = _need_corr(ctx, "factor")
    floor = float(ctx.params.get("uniqueness_floor", DEFAULT_UNIQUENESS_FLOOR))
    vals, vecs = np.linalg.eigh(r)
    lam, v = float(vals[-1]), vecs[:, -1]
    if len(vals) > 1 and lam - float(vals[-2]) <= 1e-8 * max(lam, 1.0):
        raise InsufficientDataError(
            "`factor` weights: the first factor is not identified (the two largest eigenvalues of the "
            f"shrunk correlation tie at {lam:.6g}; e.g. the correlation shrank to the identity)."
        )
    loadings = math.sqrt(max(lam, 0.0)) * v
    if loadings.sum() < 0:
        loadings = -loadings
    psi = np.maximum(1.0 - loadings**2, floor)
    raw = loadings / psi
    raw = raw / float(loadings @ (loadings / psi))
    clipped: FloatArray = np.clip(raw, 0.0, None)
    if not np.any(clipped > 0):
        raise InsufficientDataError(
            "`factor` weights: every Bartlett weight is <= 0; the first factor is degenerate."
        )
    return clipped


_BUILTINS: tuple[WeightingScheme, ...] = (
    WeightingScheme("equal", _equal, False, "w_t = 1/T"),
    WeightingScheme("family", _family, False, "1/F per family, equal within (needs a suite)"),
    WeightingScheme(
        "size", _size, False, "w_t proportional to items n_t (lm-eval's micro average)", ("sizes",)
    ),
    WeightingScheme(
        "redundancy",
        _redundancy,
        True,
        "w_t proportional to 1/sum_j r_tj^2, r = Ledoit-Wolf-shrunk correlation over a population",
    ),
    WeightingScheme(
        "cluster",
        _cluster,
        True,
        "average-linkage on 1-|r| cut at a threshold; equal per cluster, equal within",
        ("threshold",),
    ),
    WeightingScheme(
        "factor",
        _factor,
        True,
        "first-principal-component loadings -> Bartlett factor-score weights, clipped at 0",
        ("uniqueness_floor",),
    ),
)
_BUILTIN_NAMES = frozenset(s.name for s in _BUILTINS)
