r"""The wild cluster bootstrap-t of a weighted composite of independent clustered means.

For a composite :math:`C = \sum_k c_k \bar y_k + \text{const}` over independent strata (a
suite's members), each stratum a ratio mean over clusters (an unclustered member: every item
its own cluster), the unrestricted wild cluster bootstrap (WCU) draws, for every cluster of
every stratum, a weight :math:`v_g` (Webb's six-point weights for a stratum with at most 12
clusters, Rademacher above) and forms the bootstrap cluster totals
:math:`S^*_g = \bar y_k N_g + v_g u_g` with residual totals :math:`u_g = S_g - \bar y_k N_g`.
Each replicate's composite and its CR1 standard error (per stratum factor G/(G-1)) give
:math:`t^* = (C^* - C)/se^*`; the interval is :math:`[C - q^*_{1-\alpha/2} se, C - q^*_{\alpha/2} se]`.

Strata with Rademacher weights are compressed: clusters with the same (residual, size) pair
share one draw of :math:`\sum v_g = 2\,\mathrm{Bin}(m, 1/2) - m` (exact in distribution), so a
0/1 member of 10,000 unclustered items costs two binomial draws per replicate.

Used by :func:`lm_eval_mtl.scoring.interval.bootstrap_interval` whenever a member has fewer
than 20 clusters, where the pairs cluster bootstrap under-covers (bench/RESULTS.md, "Few
clusters"). References: Cameron, Gelbach and Miller (2008); MacKinnon and Webb (2017);
Webb (2023).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    RngLike,
    as_generator,
    check_confidence_level,
    check_n_resamples,
)
from lm_eval_mtl.stats.wild import WEBB_MAX_CLUSTERS, WEBB_WEIGHTS

__all__ = ["WildComposite", "WildStratum", "wild_composite"]

FloatArray = npt.NDArray[np.float64]

_CHUNK_VALUES = 4_000_000
"""Replicates are processed in chunks of at most this many (replicate x cluster) weights."""


@dataclass(frozen=True)
class WildStratum:
    """One independent stratum of the composite: its cluster totals and its coefficient."""

    sums: FloatArray
    """Per-cluster totals S_g of the item values."""
    sizes: FloatArray
    """Per-cluster item counts N_g."""
    coef: float
    """Change of the composite per unit change of the stratum mean (weight x normalization scale)."""

    @classmethod
    def from_items(cls, scores: npt.ArrayLike, clusters: npt.ArrayLike | None, coef: float) -> WildStratum:
        """Build a stratum from per-item values and cluster labels (None: every item its own cluster)."""
        y = np.asarray(scores, dtype=np.float64).ravel()
        if clusters is None:
            return cls(y, np.ones_like(y), float(coef))
        _, inv = np.unique(np.asarray(clusters).ravel(), return_inverse=True)
        g = int(inv.max()) + 1 if inv.size else 0
        sums: FloatArray = np.bincount(inv, weights=y, minlength=g).astype(np.float64)
        return cls(
            sums,
            np.bincount(inv, minlength=g).astype(np.float64),
            float(coef),
        )

    @property
    def n_clusters(self) -> int:
        """Clusters G of the stratum."""
        return int(self.sizes.size)


@dataclass(frozen=True)
class WildComposite:
    """A composite's wild cluster bootstrap-t interval (reusable at other levels)."""

    value: float
    """The composite."""
    se: float
    """Its CR1 standard error (strata independent; ``extra_variance`` added)."""
    ci: ConfidenceInterval
    """The bootstrap-t interval at :attr:`confidence_level`."""
    confidence_level: float
    n_resamples: int
    """Replicates B."""
    weights: tuple[Literal["rademacher", "webb"], ...]
    """Weights used per stratum."""
    n_clusters: tuple[int, ...]
    """Clusters per stratum."""
    t_star: FloatArray = field(repr=False)
    """The B bootstrap t statistics."""

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Return the bootstrap-t interval at another level from the stored t statistics."""
        return _t_interval(self.value, self.se, self.t_star, check_confidence_level(confidence_level))


def _t_interval(value: float, se: float, t_star: FloatArray, level: float) -> ConfidenceInterval:
    if se == 0.0:
        return ConfidenceInterval(value, value)
    if not math.isfinite(se):
        return ConfidenceInterval(math.nan, math.nan)
    a = 1.0 - level
    q_lo, q_hi = np.quantile(t_star, [a / 2.0, 1.0 - a / 2.0])
    return ConfidenceInterval(value - float(q_hi) * se, value - float(q_lo) * se)


def _chunks(b: int, g: int) -> list[tuple[int, int]]:
    step = max(1, _CHUNK_VALUES // max(1, g))
    return [(s, min(b, s + step)) for s in range(0, b, step)]


def _stratum_draws(
    st: WildStratum, b: int, gen: np.random.Generator
) -> tuple[FloatArray, FloatArray, Literal["rademacher", "webb"]]:
    """(B,) composite deviations c (m* - m) and CR1 variances of m* for one stratum."""
    sizes, sums = st.sizes, st.sums
    g = sizes.size
    n = float(sizes.sum())
    m = float(sums.sum() / n)
    u = sums - m * sizes
    f = g / (g - 1) if g > 1 else 1.0
    sum_n2 = float(sizes @ sizes)
    dev = np.empty(b)
    var = np.empty(b)
    if g <= WEBB_MAX_CLUSTERS:
        kind: Literal["rademacher", "webb"] = "webb"
        un = u * sizes
        for s, e in _chunks(b, g):
            v = WEBB_WEIGHTS[gen.integers(0, WEBB_WEIGHTS.size, size=(e - s, g))]
            p1 = v @ u
            pu = v @ un
            q = (v * v) @ (u * u)
            d = p1 / n
            dev[s:e] = d
            var[s:e] = q - 2.0 * d * pu + d * d * sum_n2
    else:
        kind = "rademacher"
        # clusters with equal (residual, size) share one binomial draw of their weight sum
        pairs, counts = np.unique(np.column_stack([u, sizes]), axis=0, return_counts=True)
        ur, nr = pairs[:, 0], pairs[:, 1]
        q = float(counts @ (ur * ur))  # v^2 = 1
        un = ur * nr
        for s, e in _chunks(b, ur.size):
            t = 2.0 * gen.binomial(counts[None, :], 0.5, size=(e - s, ur.size)) - counts[None, :]
            p1 = t @ ur
            pu = t @ un
            d = p1 / n
            dev[s:e] = d
            var[s:e] = q - 2.0 * d * pu + d * d * sum_n2
    c = st.coef
    return c * dev, np.maximum(f * c * c * var / (n * n), 0.0), kind


def wild_composite(
    strata: Sequence[WildStratum],
    value: float,
    *,
    extra_deviations: FloatArray | None = None,
    extra_variance: float = 0.0,
    confidence_level: float = 0.95,
    n_resamples: int = 9999,
    rng: RngLike = None,
) -> WildComposite:
    """Wild cluster bootstrap-t interval of a composite of independent clustered means.

    Args:
        strata: The independent clustered members (see :class:`WildStratum`).
        value: The composite (the strata's weighted means plus any constant and the extra part).
        extra_deviations: (B,) bootstrap deviations ``C*_rest - C_rest`` of parts that are not
            clustered means (corpus metrics, members sharing items), drawn independently; added
            to every replicate's numerator.
        extra_variance: Their variance, added to the standard error and to every replicate's.
        confidence_level: In (0, 1).
        n_resamples: Replicates B.
        rng: Generator, seed or None.

    Returns:
        The :class:`WildComposite`.

    Raises:
        ValueError: No strata, a stratum without items, or bad arguments.
    """
    level = check_confidence_level(confidence_level)
    b = check_n_resamples(n_resamples)
    if not strata:
        raise ValueError("`strata` must hold at least one stratum.")
    if any(float(st.sizes.sum()) <= 0 for st in strata):
        raise ValueError("every stratum needs at least one item.")
    if extra_deviations is not None and np.shape(extra_deviations) != (b,):
        raise ValueError(f"`extra_deviations` must have shape ({b},); got {np.shape(extra_deviations)}.")
    gen = as_generator(rng)
    num = np.zeros(b) if extra_deviations is None else np.asarray(extra_deviations, dtype=np.float64).copy()
    den = np.full(b, float(extra_variance))
    observed = float(extra_variance)
    kinds: list[Literal["rademacher", "webb"]] = []
    for st in strata:
        g = st.n_clusters
        n = float(st.sizes.sum())
        u = st.sums - (st.sums.sum() / n) * st.sizes
        f = g / (g - 1) if g > 1 else 1.0
        observed += f * st.coef * st.coef * float(u @ u) / (n * n)
        dev, var, kind = _stratum_draws(st, b, gen)
        num += dev
        den += var
        kinds.append(kind)
    se = math.sqrt(observed)
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(den > 0, num / np.sqrt(den), 0.0)
    return WildComposite(
        float(value),
        se,
        _t_interval(float(value), se, t, level),
        level,
        b,
        tuple(kinds),
        tuple(st.n_clusters for st in strata),
        t,
    )
