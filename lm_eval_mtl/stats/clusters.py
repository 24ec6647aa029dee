r"""Small-cluster inference for clustered means: t-based CR1/CR2 intervals, the wild cluster bootstrap, a policy.

With G clusters (items sharing a passage, a subject) the cluster-robust variance of a mean
rests on G cluster sums, so it is a G-point estimate with about G - 1 degrees of freedom.
With tens of clusters the normal interval of :func:`lm_eval_mtl.stats.intervals.clustered_se`
is fine; with 5 to 10 it under-covers (the normal quantile ignores the variability of the
variance estimate) and the pairs cluster bootstrap is worse (its SE is too small by about
sqrt((G-1)/G) and its distribution is lumpy). This module gives the econometric remedies
(Cameron, Gelbach & Miller 2008; MacKinnon & Webb 2017; Imbens & Kolesar 2016; Webb 2023):

- :func:`clustered_t_interval`: CR1 (``G/(G-1)`` factor) with ``t_{G-1}`` quantiles, or CR2
  (Bell & McCaffrey 2002) with the Bell-McCaffrey degrees of freedom. For a mean
  (intercept-only regression) CR2 has a closed form: each cluster's residual sum is scaled by
  ``1/sqrt(1 - n_g/n)``.
- :func:`composite_t_interval`: a weighted sum of independent (clustered) means, with the
  Welch-Satterthwaite degrees of freedom.
- :func:`wild_cluster_bootstrap`: the restricted wild cluster bootstrap-t (WCR) p-value of
  ``mean = null`` and the interval that inverts it (or the unrestricted bootstrap-t interval),
  with Rademacher weights, or Webb's six-point weights when G <= :data:`WEBB_MAX_CLUSTERS`;
  every pattern is enumerated when there are at most :data:`EXACT_MAX_PATTERNS`. The result
  states the smallest attainable p-value. :func:`wild_cluster_paired` is its paired form.
- :func:`few_clusters_policy` / :func:`check_clusters`: fine (G >= :data:`FINE_CLUSTERS`),
  warn (:class:`~lm_eval_mtl.errors.FewClustersWarning`), or refuse below
  :data:`MIN_CLUSTERS` (:class:`~lm_eval_mtl.errors.FewClustersError`) unless
  ``allow_few_clusters=True``.

Formulas, thresholds and the simulation behind them: ``docs/concepts-intervals.md``, "Few
clusters"; ``bench/validate_clusters.py``.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from lm_eval_mtl.errors import DegenerateDataWarning, FewClustersError, FewClustersWarning
from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    RngLike,
    as_generator,
    check_confidence_level,
    check_n_resamples,
)
from lm_eval_mtl.stats.intervals import _as_1d_finite, _cluster_index

__all__ = [
    "EXACT_MAX_PATTERNS",
    "FINE_CLUSTERS",
    "MIN_CLUSTERS",
    "RADEMACHER_WEIGHTS",
    "WEBB_MAX_CLUSTERS",
    "WEBB_WEIGHTS",
    "ClusterAction",
    "ClusterPolicy",
    "ClusteredMeanInterval",
    "CompositeTInterval",
    "WildClusterResult",
    "bell_mccaffrey_df",
    "check_clusters",
    "cluster_totals",
    "clustered_t_interval",
    "composite_t_interval",
    "few_clusters_policy",
    "min_attainable_p",
    "satterthwaite_df",
    "t_critical",
    "wild_cluster_bootstrap",
    "wild_cluster_paired",
]

FloatArray = npt.NDArray[np.float64]
ClusterAction = Literal["fine", "warn", "refuse"]
Variance = Literal["CR1", "CR2"]
WildWeights = Literal["auto", "rademacher", "webb"]
WildInterval = Literal["restricted", "unrestricted"]

MIN_CLUSTERS: Final = 4
"""Below this many clusters clustered statistics are refused unless ``allow_few_clusters=True``.

With G = 3 (``bench/validate_clusters.py``, 0/1 items, 1,000 replications) the wild cluster
bootstrap interval is longer than the whole [0, 1] range (mean width 1.84) and its paired test
rejects a true null 0.4% of the time (no power); the sign-flip p cannot go below 0.25; CR1-t has
2 degrees of freedom (t = 4.30) and covers 0.90 at ICC 0.33. From G = 4 the wild test holds a
usable level (0.026-0.036) and CR1-t/CR2-t cover 0.88-0.95."""
FINE_CLUSTERS: Final = 20
"""From this many clusters on, the normal CR1 interval and the cluster bootstrap cover (no warning)."""
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


# --------------------------------------------------------------------------- helpers


def t_critical(df: float, confidence_level: float = 0.95) -> float:
    """Two-sided critical value ``t_{df, 1 - alpha/2}``; the normal quantile for ``df = inf``.

    Args:
        df: Degrees of freedom (> 0; ``math.inf`` for the normal).
        confidence_level: ``1 - alpha`` in (0, 1).

    Returns:
        The critical value.

    Raises:
        ValueError: ``df`` is not positive, or the level is outside (0, 1).
    """
    level = check_confidence_level(confidence_level)
    d = float(df)
    if not d > 0:
        raise ValueError(f"`df` must be > 0; got {df!r}.")
    q = 0.5 + level / 2.0
    if math.isinf(d):
        return float(sps.norm.ppf(q))
    return float(sps.t.ppf(q, d))


def cluster_totals(scores: npt.ArrayLike, clusters: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
    """Per-cluster sums of the scores and cluster sizes, clusters in sorted label order.

    Args:
        scores: Per-item values, 1-D, finite.
        clusters: One label per item.

    Returns:
        (sums, sizes), each of shape (G,).

    Raises:
        ValueError: Shapes differ or values are not finite.
        InsufficientDataError: ``scores`` is empty.
    """
    s = _as_1d_finite(scores, "scores")
    idx = _cluster_index(clusters, s.size)
    g = int(idx.max()) + 1
    sums = np.bincount(idx, weights=s, minlength=g).astype(np.float64)
    sizes = np.bincount(idx, minlength=g).astype(np.float64)
    return sums, sizes


def bell_mccaffrey_df(sizes: npt.ArrayLike) -> float:
    r"""Bell-McCaffrey degrees of freedom of the CR2 variance of a mean.

    Under the working model of independent homoskedastic errors, the CR2 variance is
    :math:`\varepsilon' (\sum_g v_g v_g') \varepsilon` with
    :math:`v_g = M 1_g / (n \sqrt{1 - n_g/n})` (M the centring matrix, :math:`1_g` the indicator of
    cluster g); with :math:`\Gamma_{gh} = v_g' v_h` the Satterthwaite approximation gives
    :math:`df = (\mathrm{tr}\,\Gamma)^2 / \mathrm{tr}(\Gamma^2)` (Bell & McCaffrey 2002; Imbens &
    Kolesar 2016). Here :math:`n^2 \Gamma = \mathrm{diag}(d) - w w'/n` with
    :math:`d_g = n_g/s_g^2`, :math:`w_g = n_g/s_g`, :math:`s_g^2 = 1 - n_g/n`, so it costs O(G).
    It equals G - 1 for clusters of equal size and is smaller otherwise.

    Args:
        sizes: Cluster sizes (G >= 2, positive).

    Returns:
        The degrees of freedom.

    Raises:
        ValueError: Fewer than 2 clusters, or a non-positive size.
    """
    m = np.asarray(sizes, dtype=np.float64).reshape(-1)
    if m.size < 2 or not np.all(m > 0):
        raise ValueError(f"`sizes` must hold at least 2 positive cluster sizes; got {m.tolist()!r:.80}.")
    n = float(m.sum())
    s2 = 1.0 - m / n
    d = m / s2
    w = m / np.sqrt(s2)
    ww = float(w @ w)
    trace = float(d.sum()) - ww / n
    trace2 = float(d @ d) - 2.0 * float(w @ (d * w)) / n + ww * ww / (n * n)
    return trace * trace / trace2


def satterthwaite_df(variances: npt.ArrayLike, dfs: npt.ArrayLike) -> float:
    r"""Welch-Satterthwaite degrees of freedom of a sum of independent variance estimates.

    :math:`df = (\sum_t V_t)^2 / \sum_t V_t^2 / df_t`; components with infinite df contribute
    nothing to the denominator (all infinite: infinite). It lies between the smallest df of a
    component with a non-zero variance and the sum of the dfs.

    Args:
        variances: The components' (weighted) variance estimates V_t >= 0.
        dfs: Their degrees of freedom (> 0, or ``inf``).

    Returns:
        The degrees of freedom (``inf`` when every variance is zero or every df infinite).

    Raises:
        ValueError: Shapes differ, negative variances or non-positive dfs.
    """
    v = np.asarray(variances, dtype=np.float64).reshape(-1)
    f = np.asarray(dfs, dtype=np.float64).reshape(-1)
    if v.shape != f.shape:
        raise ValueError(f"`variances` and `dfs` must have the same length; got {v.size} and {f.size}.")
    if np.any(~np.isfinite(v)) or np.any(v < 0) or np.any(np.isnan(f)) or np.any(f <= 0):
        raise ValueError("`variances` must be finite and >= 0 and `dfs` > 0 (inf allowed).")
    total = float(v.sum())
    finite = np.isfinite(f) & (v > 0)
    denom = float(np.sum(v[finite] ** 2 / f[finite]))
    if total == 0.0 or denom == 0.0:
        return math.inf
    return total * total / denom


# --------------------------------------------------------------------------- analytic intervals


@dataclass(frozen=True)
class ClusteredMeanInterval:
    """A clustered mean with its cluster-robust SE and t interval."""

    estimate: float
    """The mean over all items (sum of scores / number of items)."""
    se: float
    """Cluster-robust standard error (CR1 or CR2, see ``method``)."""
    ci: ConfidenceInterval
    """``estimate +- critical_value * se``."""
    df: float
    """Degrees of freedom of the t quantile: G - 1 (CR1) or Bell-McCaffrey (CR2)."""
    critical_value: float
    """``t_{df, 1 - alpha/2}``."""
    n_items: int
    """Items n."""
    n_clusters: int
    """Clusters G."""
    method: Literal["CR1-t", "CR2-t"]
    """``CR1-t`` (factor G/(G-1), t on G - 1 df) or ``CR2-t`` (Bell-McCaffrey)."""
    confidence_level: float
    """The confidence level 1 - alpha."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci": [self.ci.low, self.ci.high],
            "df": self.df,
            "critical_value": self.critical_value,
            "n_items": self.n_items,
            "n_clusters": self.n_clusters,
            "method": self.method,
            "confidence_level": self.confidence_level,
        }


def clustered_t_interval(
    scores: npt.ArrayLike,
    clusters: npt.ArrayLike,
    confidence_level: float = 0.95,
    *,
    variance: Variance = "CR1",
) -> ClusteredMeanInterval:
    r"""Cluster-robust interval of a mean with a t quantile (small-cluster inference).

    With residual cluster sums :math:`E_g = \sum_{k \in g} (s_k - \bar s)`, sizes :math:`n_g`,
    n items and G clusters:

    - CR1: :math:`se^2 = \frac{G}{G-1} \sum_g E_g^2 / n^2` (equal to
      :func:`~lm_eval_mtl.stats.intervals.clustered_se`), df = G - 1 (Cameron, Gelbach & Miller 2008);
    - CR2: :math:`se^2 = \sum_g E_g^2 / (1 - n_g/n) / n^2` (Bell & McCaffrey 2002: the residuals of
      cluster g multiplied by :math:`(I - H_{gg})^{-1/2}`, which for an intercept-only regression
      scales their sum by :math:`1/\sqrt{1 - n_g/n}`), df = :func:`bell_mccaffrey_df`.

    The interval is :math:`\bar s \pm t_{df, 1-\alpha/2}\, se`.

    Args:
        scores: Per-item values, 1-D, finite.
        clusters: One cluster label per item.
        confidence_level: In (0, 1).
        variance: ``CR1`` or ``CR2``.

    Returns:
        The interval. With a single cluster SE, df and the interval are NaN (with a warning).

    Raises:
        ValueError: Shapes differ, values are not finite, bad level or ``variance``.
        InsufficientDataError: ``scores`` is empty.

    Warns:
        DegenerateDataWarning: Fewer than 2 clusters.
    """
    level = check_confidence_level(confidence_level)
    if variance not in ("CR1", "CR2"):
        raise ValueError(f"`variance` must be 'CR1' or 'CR2'; got {variance!r}.")
    sums, sizes = cluster_totals(scores, clusters)
    n = float(sizes.sum())
    g = int(sizes.size)
    est = float(sums.sum() / n)
    method: Literal["CR1-t", "CR2-t"] = "CR1-t" if variance == "CR1" else "CR2-t"
    if g < 2:
        warnings.warn(
            DegenerateDataWarning("A clustered interval needs at least 2 clusters; got 1. Returning NaN."),
            stacklevel=2,
        )
        nan_ci = ConfidenceInterval(math.nan, math.nan)
        return ClusteredMeanInterval(est, math.nan, nan_ci, math.nan, math.nan, int(n), g, method, level)
    resid = sums - sizes * est
    if variance == "CR1":
        se = math.sqrt(g / (g - 1) * float(resid @ resid)) / n
        df = float(g - 1)
    else:
        se = math.sqrt(float(np.sum(resid * resid / (1.0 - sizes / n)))) / n
        df = bell_mccaffrey_df(sizes)
    crit = t_critical(df, level)
    ci = ConfidenceInterval(est - crit * se, est + crit * se)
    return ClusteredMeanInterval(est, se, ci, df, crit, int(n), g, method, level)


@dataclass(frozen=True)
class CompositeTInterval:
    """A weighted sum of independent means with a Satterthwaite t interval."""

    estimate: float
    """``sum_t w_t estimate_t``."""
    se: float
    """``sqrt(sum_t w_t^2 se_t^2)``."""
    ci: ConfidenceInterval
    """``estimate +- critical_value * se``."""
    df: float
    """Welch-Satterthwaite degrees of freedom (``inf``: the normal quantile)."""
    critical_value: float
    """``t_{df, 1 - alpha/2}``."""
    confidence_level: float
    """The confidence level 1 - alpha."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "estimate": self.estimate,
            "se": self.se,
            "ci": [self.ci.low, self.ci.high],
            "df": self.df,
            "critical_value": self.critical_value,
            "confidence_level": self.confidence_level,
        }


def composite_t_interval(
    estimates: npt.ArrayLike,
    ses: npt.ArrayLike,
    dfs: npt.ArrayLike,
    weights: npt.ArrayLike,
    confidence_level: float = 0.95,
) -> CompositeTInterval:
    r"""Interval of :math:`C = \sum_t w_t \hat\theta_t` for independent estimates with t-type SEs.

    :math:`se_C^2 = \sum_t w_t^2 se_t^2`, and the t quantile uses the Welch-Satterthwaite df
    :math:`(\sum_t w_t^2 se_t^2)^2 / \sum_t (w_t^2 se_t^2)^2 / df_t` (:func:`satterthwaite_df`).
    Pass normalized task scores z_t with se(z_t) and the composite weights; per task, df is
    the clustered interval's ``df`` (G_t - 1 for CR1) and ``inf`` for a task treated as
    independent items (or ``n_t - 1``). Satterthwaite rather than the conservative
    ``min_t(G_t) - 1``: a task with few clusters and a small share of the composite variance
    would otherwise widen the whole composite interval (one 5-cluster task among ten: t_4 =
    2.78 for all of it); the Satterthwaite df tends to that task's df as its share grows.

    Args:
        estimates: Per-task estimates.
        ses: Their standard errors (>= 0).
        dfs: Their degrees of freedom (> 0, or ``inf``).
        weights: Composite weights (including any normalization scale).
        confidence_level: In (0, 1).

    Returns:
        The composite interval.

    Raises:
        ValueError: Lengths differ, non-finite estimates or weights, negative SEs, bad dfs.
    """
    level = check_confidence_level(confidence_level)
    est = np.asarray(estimates, dtype=np.float64).reshape(-1)
    se = np.asarray(ses, dtype=np.float64).reshape(-1)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    f = np.asarray(dfs, dtype=np.float64).reshape(-1)
    if not (est.shape == se.shape == w.shape == f.shape) or est.size == 0:
        raise ValueError(
            f"`estimates`, `ses`, `dfs` and `weights` must have one equal, non-zero length; got "
            f"{est.size}, {se.size}, {f.size}, {w.size}."
        )
    if not (np.all(np.isfinite(est)) and np.all(np.isfinite(w)) and np.all(np.isfinite(se))):
        raise ValueError("`estimates`, `ses` and `weights` must be finite.")
    if np.any(se < 0):
        raise ValueError("`ses` must be >= 0.")
    parts = (w * se) ** 2
    df = satterthwaite_df(parts, f)
    total_se = math.sqrt(float(parts.sum()))
    value = float(w @ est)
    crit = t_critical(df, level)
    return CompositeTInterval(
        value, total_se, ConfidenceInterval(value - crit * total_se, value + crit * total_se), df, crit, level
    )


# --------------------------------------------------------------------------- wild cluster bootstrap


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


@dataclass(frozen=True)
class ClusterPolicy:
    """What to do with clustered statistics resting on ``n_clusters`` clusters."""

    n_clusters: int
    """Clusters G."""
    action: ClusterAction
    """``fine`` (G >= FINE_CLUSTERS), ``warn`` (use the small-cluster methods, with a warning) or
    ``refuse`` (G < MIN_CLUSTERS without ``allow_few_clusters``; G < 2 always)."""
    message: str
    """The warning or error text ("" when fine)."""


def few_clusters_policy(
    n_clusters: int, *, allow_few_clusters: bool = False, what: str = "clustered statistics"
) -> ClusterPolicy:
    """Decide how to treat ``n_clusters`` clusters (no warning or error raised here).

    - G >= :data:`FINE_CLUSTERS` (20): ``fine``;
    - :data:`MIN_CLUSTERS` (4) <= G < 20: ``warn`` (report CR1-t intervals / the wild bootstrap);
    - 2 <= G < 4: ``refuse``, or ``warn`` with ``allow_few_clusters=True``;
    - G < 2: ``refuse`` (no clustered variance exists).

    Args:
        n_clusters: G.
        allow_few_clusters: Downgrade a refusal for 2 <= G < MIN_CLUSTERS to a warning.
        what: What the statistics are of, for the message (e.g. ``"task 'race'"``).

    Returns:
        The policy.

    Raises:
        ValueError: ``n_clusters`` is not a non-negative int.
    """
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)) or n_clusters < 0:
        raise ValueError(f"`n_clusters` must be a non-negative int; got {n_clusters!r}.")
    g = int(n_clusters)
    if g >= FINE_CLUSTERS:
        return ClusterPolicy(g, "fine", "")
    sign_flip_min = 2.0 ** (1 - g) if g >= 1 else 1.0
    if g < 2:
        return ClusterPolicy(
            g,
            "refuse",
            f"{what}: {g} cluster(s); a clustered standard error needs at least 2 and an honest interval "
            f"at least {MIN_CLUSTERS}. Drop the cluster key (treat items as independent).",
        )
    if g < MIN_CLUSTERS and not allow_few_clusters:
        return ClusterPolicy(
            g,
            "refuse",
            f"{what}: only {g} clusters; at least {MIN_CLUSTERS} are needed for an honest clustered "
            f"interval or test (with {g} clusters the CR1 standard error has {g - 1} degree(s) of "
            f"freedom, t = {t_critical(g - 1):.2f} at 95%, and the sign-flip p-value cannot go below "
            f"{sign_flip_min:.3g}). Either drop the cluster key (items treated as independent, which "
            "understates the uncertainty when they are correlated), or insist with "
            "allow_few_clusters=True (t intervals and the wild cluster bootstrap, with a warning).",
        )
    return ClusterPolicy(
        g,
        "warn",
        f"{what}: only {g} clusters (fewer than {FINE_CLUSTERS}); clustered intervals use CR1 with "
        f"t({g - 1}) quantiles (t = {t_critical(g - 1):.2f} at 95%, not 1.96) and the wild cluster "
        f"bootstrap; the clustered sign-flip p-value cannot go below {sign_flip_min:.3g}. Treat "
        "intervals and p-values as approximate.",
    )


def check_clusters(
    n_clusters: int,
    *,
    allow_few_clusters: bool = False,
    what: str = "clustered statistics",
    stacklevel: int = 2,
) -> ClusterPolicy:
    """Apply :func:`few_clusters_policy`: raise on ``refuse``, warn on ``warn``.

    Args:
        n_clusters: G.
        allow_few_clusters: See :func:`few_clusters_policy`.
        what: See :func:`few_clusters_policy`.
        stacklevel: Passed to :func:`warnings.warn` (2: the caller of this function).

    Returns:
        The policy (``fine`` or ``warn``).

    Raises:
        FewClustersError: ``refuse``; the message names the count, the minimum and the
            alternatives.

    Warns:
        FewClustersWarning: ``warn``.
    """
    policy = few_clusters_policy(n_clusters, allow_few_clusters=allow_few_clusters, what=what)
    if policy.action == "refuse":
        raise FewClustersError(policy.message)
    if policy.action == "warn":
        warnings.warn(FewClustersWarning(policy.message), stacklevel=stacklevel)
    return policy
