"""The wild cluster bootstrap for a clustered mean and a paired difference, for few clusters.

Restricted (null imposed) bootstrap-t by default, Webb's six-point weights when G <= 12,
Rademacher above; every pattern enumerated when there are at most 2^16; the attainable
minimum p-value is stated. References: Cameron, Gelbach and Miller (2008); MacKinnon and Webb
(2017); Webb (2023). See docs/concepts-intervals.md, "Few clusters".
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import DegenerateDataWarning
from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    RngLike,
    as_generator,
    check_confidence_level,
    check_n_resamples,
)
from lm_eval_mtl.stats.clusters import cluster_totals
from lm_eval_mtl.stats.intervals import _as_1d_finite
from lm_eval_mtl.stats.student_t import t_critical

__all__ = [
    "EXACT_MAX_PATTERNS",
    "RADEMACHER_WEIGHTS",
    "WEBB_MAX_CLUSTERS",
    "WEBB_WEIGHTS",
    "WildClusterResult",
    "min_attainable_p",
    "wild_cluster_bootstrap",
    "wild_cluster_paired",
]

FloatArray = npt.NDArray[np.float64]
WildWeights = Literal["auto", "rademacher", "webb"]
WildInterval = Literal["restricted", "unrestricted"]

WEBB_MAX_CLUSTERS: Final = 12
"""``weights="auto"`` uses Webb's six-point weights up to this many clusters, Rademacher above."""
EXACT_MAX_PATTERNS: Final = 1 << 16
"""Enumerate every weight pattern when there are at most this many (2^G or 6^G)."""
RADEMACHER_WEIGHTS: Final = np.array([-1.0, 1.0])
"""Rademacher weights: -1 and +1, each with probability 1/2."""
WEBB_WEIGHTS: Final = np.array([-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)])
"""Webb's (2023) six-point weights, each with probability 1/6 (mean 0, variance 1, E v^4 = 7/6)."""

_REL_TOL = 1e-10
_BISECT_STEPS = 60
_MAX_DOUBLINGS = 60


def min_attainable_p(
    n_clusters: int, weights: Literal["rademacher", "webb"], n_patterns: int, exact: bool
) -> float:
    """Smallest two-sided p-value the wild cluster bootstrap-t can return.

    Enumerated: the k constant patterns (k = 2 Rademacher, 6 Webb values) rescale the data, and
    the studentized statistic is scale-free up to sign, so they always tie with the observed
    ``|t|``: the minimum is ``k / k^G = k^(1-G)`` (2^(1-G): 0.0625 for G = 5, 0.25 for G = 3;
    Webb 6^(1-G)). Monte Carlo: ``1 / (1 + R)``.

    Args:
        n_clusters: G.
        weights: ``rademacher`` or ``webb``.
        n_patterns: Patterns evaluated (k^G when exact, else R).
        exact: Whether every pattern was enumerated.

    Returns:
        The minimum attainable p-value.
    """
    if not exact:
        return 1.0 / (1.0 + n_patterns)
    k = 2 if weights == "rademacher" else 6
    return float(k) ** (1 - int(n_clusters))


@dataclass(frozen=True)
class WildClusterResult:
    """Wild cluster bootstrap-t inference on a clustered mean (or a paired mean difference)."""

    estimate: float
    """The mean over all items."""
    se: float
    """CR1 standard error of ``estimate``."""
    statistic: float
    """``(estimate - null) / se``."""
    p_value: float
    """Two-sided restricted (WCR) bootstrap-t p-value of ``mean = null``."""
    ci: ConfidenceInterval
    """The interval (see ``interval``); infinite bounds when ``min_p_value`` > alpha."""
    null: float
    """The hypothesised mean of the test (0 for a paired difference)."""
    n_items: int
    """Items n."""
    n_clusters: int
    """Clusters G."""
    weights: Literal["rademacher", "webb"]
    """Wild weights: Rademacher (+-1) or Webb's six-point."""
    n_patterns: int
    """Weight patterns evaluated: k^G when exact, else the number of random draws R."""
    exact: bool
    """True when every pattern was enumerated."""
    min_p_value: float
    """Smallest attainable p-value (:func:`min_attainable_p`); no test can reject below it."""
    interval: Literal["restricted", "unrestricted"]
    """``restricted``: the set of means the WCR test does not reject at 1 - confidence_level;
    ``unrestricted``: the WCU bootstrap-t interval ``estimate - q*_{1-a/2,a/2} se``."""
    confidence_level: float
    """The confidence level 1 - alpha."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision (infinite bounds as ``inf`` floats)."""
        return {
            "estimate": self.estimate,
            "se": self.se,
            "statistic": self.statistic,
            "p_value": self.p_value,
            "ci": [self.ci.low, self.ci.high],
            "null": self.null,
            "n_items": self.n_items,
            "n_clusters": self.n_clusters,
            "weights": self.weights,
            "n_patterns": self.n_patterns,
            "exact": self.exact,
            "min_p_value": self.min_p_value,
            "interval": self.interval,
            "confidence_level": self.confidence_level,
        }


@functools.lru_cache(maxsize=32)
def _pattern_digits(k: int, g: int) -> npt.NDArray[np.int64]:
    """(k^g, g) every pattern of g digits in base k (cached, read-only)."""
    codes = np.arange(k**g, dtype=np.int64)
    digits = (codes[:, None] // (k ** np.arange(g, dtype=np.int64))[None, :]) % k
    digits.setflags(write=False)
    return digits


def _weight_patterns(
    g: int, values: FloatArray, n_resamples: int, exact_max: int, rng: RngLike
) -> tuple[FloatArray, bool]:
    """Every weight pattern (when at most ``exact_max``) or ``n_resamples`` random ones."""
    k = int(values.size)
    if g <= 64 and k**g <= exact_max:
        return values[_pattern_digits(k, g)], True
    gen = as_generator(rng)
    return values[gen.integers(0, k, size=(n_resamples, g))], False


class _Wild:
    """Vectorized bootstrap-t statistics of a clustered mean for fixed weight patterns V (R, G).

    Restricted at ``delta = mean - mu0`` the wild cluster sums of ``y* - mu0`` are
    ``v_g (E_g + n_g delta)``; their total is ``a + delta b`` and their residual sums around the
    wild mean are ``A_g + delta B_g`` with ``A_g = v_g E_g - n_g a / n``,
    ``B_g = v_g n_g - n_g b / n``. The sums of squares ``AA, AB, BB`` are kept per pattern, so
    every ``delta`` costs O(R) (and the squares are taken after centring: no cancellation).
    """

    def __init__(self, resid: FloatArray, sizes: FloatArray, patterns: FloatArray, factor: float) -> None:
        n = float(sizes.sum())
        self.a = patterns @ resid
        self.b = patterns @ sizes
        big_a = patterns * resid[None, :] - sizes[None, :] * (self.a / n)[:, None]
        big_b = patterns * sizes[None, :] - sizes[None, :] * (self.b / n)[:, None]
        self.aa = factor * np.einsum("rg,rg->r", big_a, big_a)
        self.ab = factor * np.einsum("rg,rg->r", big_a, big_b)
        self.bb = factor * np.einsum("rg,rg->r", big_b, big_b)

    def t_star(self, delta: float) -> FloatArray:
        """t* of the wild data built from the residuals around ``mean - delta`` (restricted at delta)."""
        total = self.a + delta * self.b
        ss = np.maximum(self.aa + 2.0 * delta * self.ab + delta * delta * self.bb, 0.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            t = total / np.sqrt(ss)
        t = np.where(ss > 0, t, np.where(total == 0, 0.0, np.copysign(np.inf, total)))
        out: FloatArray = t.astype(np.float64)
        return out

    def p_value(self, delta: float, t_obs: float, exact: bool) -> float:
        t = self.t_star(delta)
        hits = int(np.count_nonzero(np.abs(t) >= abs(t_obs) * (1.0 - _REL_TOL)))
        r = t.shape[0]
        return float(hits / r if exact else (1 + hits) / (1 + r))


def _invert(wild: _Wild, se: float, sign: float, alpha: float, exact: bool, start: float) -> float:
    """Distance from the estimate to the boundary of {mu0 : p(mu0) > alpha} on one side."""

    def accepted(dist: float) -> bool:
        delta = sign * dist  # delta = estimate - mu0
        return wild.p_value(delta, delta / se, exact) > alpha

    lo, hi = 0.0, start
    for _ in range(_MAX_DOUBLINGS):
        if not accepted(hi):
            break
        lo, hi = hi, 2.0 * hi
    else:
        return math.inf
    for _ in range(_BISECT_STEPS):
        mid = 0.5 * (lo + hi)
        if accepted(mid):
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-9 * se:
            break
    return 0.5 * (lo + hi)


def wild_cluster_bootstrap(
    scores: npt.ArrayLike,
    clusters: npt.ArrayLike,
    *,
    null: float = 0.0,
    confidence_level: float = 0.95,
    weights: WildWeights = "auto",
    interval: WildInterval = "restricted",
    n_resamples: int = 9999,
    exact_max: int = EXACT_MAX_PATTERNS,
    rng: RngLike = None,
) -> WildClusterResult:
    r"""Wild cluster bootstrap-t for a clustered mean: a p-value and an interval.

    With cluster residual sums :math:`E_g` and weights :math:`v_g` (Rademacher :math:`\pm 1`, or
    Webb's :math:`\pm\sqrt{1/2}, \pm 1, \pm\sqrt{3/2}`), the restricted bootstrap (WCR) at
    :math:`\mu_0` builds :math:`y^*_k = \mu_0 + v_{g(k)} (y_k - \mu_0)`, recomputes the mean and
    its CR1 SE on :math:`y^*`, and compares :math:`t^* = (\bar y^* - \mu_0)/se^*` with
    :math:`t = (\bar y - \mu_0)/se`: :math:`p = \#\{|t^*| \ge |t|\}/k^G` when every pattern is
    enumerated, else :math:`(1 + \#\{|t^*_r| \ge |t|\})/(1 + R)`. With Rademacher weights at
    :math:`\mu_0 = 0` on paired differences this is the studentized clustered sign-flip test
    (exact under exchangeability). The ``restricted`` interval is
    :math:`\{\mu_0 : p(\mu_0) > \alpha\}` (found by bisection, the same patterns for every
    :math:`\mu_0`); the ``unrestricted`` one (WCU) draws :math:`y^* = \bar y + v_g e_k` and is
    :math:`[\bar y - q^*_{1-\alpha/2}\, se, \bar y - q^*_{\alpha/2}\, se]`.
    Cameron, Gelbach & Miller (2008); MacKinnon & Webb (2017); Webb (2023).

    Args:
        scores: Per-item values, 1-D, finite.
        clusters: One cluster label per item.
        null: The hypothesised mean of the test.
        confidence_level: In (0, 1).
        weights: ``auto`` (Webb when G <= :data:`WEBB_MAX_CLUSTERS`, else Rademacher),
            ``rademacher`` or ``webb``.
        interval: ``restricted`` (test inversion) or ``unrestricted``.
        n_resamples: Random patterns R when there are more than ``exact_max``.
        exact_max: Enumerate all k^G patterns up to this many.
        rng: Generator, seed or None (used only when not enumerating).

    Returns:
        The result; ``min_p_value`` states the smallest p-value the test can give. When it
        exceeds alpha (Rademacher with G <= 5 at 95%) the restricted interval is unbounded.

    Raises:
        ValueError: Bad arguments, shapes, or non-finite values.
        InsufficientDataError: ``scores`` is empty.

    Warns:
        DegenerateDataWarning: Fewer than 2 clusters (NaN result), or every cluster's residual
            sum is zero (se = 0: the interval is the point, p is 1 or the minimum).
    """
    level = check_confidence_level(confidence_level)
    alpha = 1.0 - level
    if weights not in ("auto", "rademacher", "webb"):
        raise ValueError(f"`weights` must be 'auto', 'rademacher' or 'webb'; got {weights!r}.")
    if interval not in ("restricted", "unrestricted"):
        raise ValueError(f"`interval` must be 'restricted' or 'unrestricted'; got {interval!r}.")
    reps = check_n_resamples(n_resamples)
    if isinstance(exact_max, bool) or not isinstance(exact_max, (int, np.integer)) or exact_max < 1:
        raise ValueError(f"`exact_max` must be a positive int; got {exact_max!r}.")
    mu0 = float(null)
    if not math.isfinite(mu0):
        raise ValueError(f"`null` must be finite; got {null!r}.")
    sums, sizes = cluster_totals(scores, clusters)
    g = int(sizes.size)
    n = float(sizes.sum())
    est = float(sums.sum() / n)
    kind: Literal["rademacher", "webb"]
    if weights == "auto":
        kind = "webb" if g <= WEBB_MAX_CLUSTERS else "rademacher"
    else:
        kind = weights
    if g < 2:
        warnings.warn(
            DegenerateDataWarning(
                "The wild cluster bootstrap needs at least 2 clusters; got 1. Returning NaN."
            ),
            stacklevel=2,
        )
        nan_ci = ConfidenceInterval(math.nan, math.nan)
        return WildClusterResult(
            est,
            math.nan,
            math.nan,
            math.nan,
            nan_ci,
            mu0,
            int(n),
            g,
            kind,
            0,
            True,
            math.nan,
            interval,
            level,
        )
    values = WEBB_WEIGHTS if kind == "webb" else RADEMACHER_WEIGHTS
    patterns, exact = _weight_patterns(g, values, reps, int(exact_max), rng)
    n_pat = int(patterns.shape[0])
    min_p = min_attainable_p(g, kind, n_pat, exact)
    resid = sums - sizes * est
    factor = g / (g - 1)
    se = math.sqrt(factor * float(resid @ resid)) / n
    wild = _Wild(resid, sizes, patterns, factor)
    delta0 = est - mu0
    scale = max(abs(est), float(np.max(np.abs(sums / sizes))), 1e-300)
    if se <= 1e-13 * scale:
        warnings.warn(
            DegenerateDataWarning(
                f"Every cluster mean equals the overall mean ({est:.6g}): the clustered SE is 0; the "
                "wild bootstrap interval is the point."
            ),
            stacklevel=2,
        )
        p = 1.0 if abs(delta0) <= 1e-13 * scale else min_p
        stat = 0.0 if p == 1.0 else math.copysign(math.inf, delta0)
        return WildClusterResult(
            est, 0.0, stat, p, ConfidenceInterval(est, est), mu0, int(n), g, kind, n_pat, exact, min_p,
            interval, level,
        )  # fmt: skip
    t_obs = delta0 / se
    p = wild.p_value(delta0, t_obs, exact)
    if interval == "unrestricted":
        t_u = wild.t_star(0.0)
        q_lo, q_hi = np.quantile(t_u, [alpha / 2.0, 1.0 - alpha / 2.0])
        ci = ConfidenceInterval(est - float(q_hi) * se, est - float(q_lo) * se)
    elif min_p > alpha:
        ci = ConfidenceInterval(-math.inf, math.inf)
    else:
        start = se * t_critical(g - 1, level)
        upper = _invert(wild, se, -1.0, alpha, exact, start)
        lower = _invert(wild, se, 1.0, alpha, exact, start)
        ci = ConfidenceInterval(est - lower, est + upper)
    return WildClusterResult(
        est, se, t_obs, float(min(1.0, p)), ci, mu0, int(n), g, kind, n_pat, exact, min_p, interval, level
    )


def wild_cluster_paired(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    clusters: npt.ArrayLike,
    *,
    confidence_level: float = 0.95,
    weights: WildWeights = "auto",
    interval: WildInterval = "restricted",
    n_resamples: int = 9999,
    exact_max: int = EXACT_MAX_PATTERNS,
    rng: RngLike = None,
) -> WildClusterResult:
    """Wild cluster bootstrap-t of a paired difference ``mean(a - b)`` (test of 0, and its interval).

    :func:`wild_cluster_bootstrap` on ``d = a - b`` with ``null = 0``. The statistic is
    scale-free: for a difference in normalized units multiply ``estimate``, ``se`` and ``ci`` by
    the scale; ``p_value`` is unchanged.

    Args:
        a: Aligned scores of A.
        b: Aligned scores of B.
        clusters: One cluster label per aligned item.
        confidence_level: In (0, 1).
        weights: See :func:`wild_cluster_bootstrap`.
        interval: See :func:`wild_cluster_bootstrap`.
        n_resamples: See :func:`wild_cluster_bootstrap`.
        exact_max: See :func:`wild_cluster_bootstrap`.
        rng: See :func:`wild_cluster_bootstrap`.

    Returns:
        The result for mean(a - b).

    Raises:
        ValueError: ``a`` and ``b`` differ in shape, or see :func:`wild_cluster_bootstrap`.
    """
    x = _as_1d_finite(a, "a")
    y = _as_1d_finite(b, "b")
    if x.shape != y.shape:
        raise ValueError(f"`a` and `b` must have the same shape; got {x.shape} and {y.shape}.")
    return wild_cluster_bootstrap(
        x - y,
        clusters,
        null=0.0,
        confidence_level=confidence_level,
        weights=weights,
        interval=interval,
        n_resamples=n_resamples,
        exact_max=exact_max,
        rng=rng,
    )


# --------------------------------------------------------------------------- policy
