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
- :func:`lm_eval_mtl.stats.wild.wild_cluster_bootstrap`: the restricted wild cluster bootstrap-t (WCR) p-value of
  ``mean = null`` and the interval that inverts it (or the unrestricted bootstrap-t interval),
  with Rademacher weights, or Webb's six-point weights when G <= :data:`lm_eval_mtl.stats.wild.WEBB_MAX_CLUSTERS`;
  every pattern is enumerated when there are at most :data:`lm_eval_mtl.stats.wild.EXACT_MAX_PATTERNS`. The result
  states the smallest attainable p-value. :func:`lm_eval_mtl.stats.wild.wild_cluster_paired` is its paired form.
- :func:`few_clusters_policy` / :func:`check_clusters`: fine (G >= :data:`FINE_CLUSTERS`),
  warn (:class:`~lm_eval_mtl.errors.FewClustersWarning`), or refuse below
  :data:`MIN_CLUSTERS` (:class:`~lm_eval_mtl.errors.FewClustersError`) unless
  ``allow_few_clusters=True``.

Formulas, thresholds and the simulation behind them: ``docs/concepts-intervals.md``, "Few
clusters"; ``bench/validate_clusters.py``.

t critical values and the Bell-McCaffrey and Satterthwaite degrees of freedom live in
:mod:`lm_eval_mtl.stats.student_t` (re-exported here).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import DegenerateDataWarning, FewClustersError, FewClustersWarning
from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    check_confidence_level,
)
from lm_eval_mtl.stats.intervals import _as_1d_finite, _cluster_index
from lm_eval_mtl.stats.student_t import bell_mccaffrey_df, satterthwaite_df, t_critical

__all__ = [
    "FINE_CLUSTERS",
    "MIN_CLUSTERS",
    "ClusterAction",
    "ClusterPolicy",
    "ClusteredMeanInterval",
    "CompositeTInterval",
    "bell_mccaffrey_df",
    "check_clusters",
    "cluster_totals",
    "clustered_t_interval",
    "composite_t_interval",
    "few_clusters_policy",
    "satterthwaite_df",
    "t_critical",
]

FloatArray = npt.NDArray[np.float64]
ClusterAction = Literal["fine", "warn", "refuse"]
Variance = Literal["CR1", "CR2"]

MIN_CLUSTERS: Final = 4
"""Below this many clusters clustered statistics are refused unless ``allow_few_clusters=True``.

With G = 3 (``bench/validate_clusters.py``, 0/1 items, 1,000 replications) the wild cluster
bootstrap interval is longer than the whole [0, 1] range (mean width 1.84) and its paired test
rejects a true null 0.4% of the time (no power); the sign-flip p cannot go below 0.25; CR1-t has
2 degrees of freedom (t = 4.30) and covers 0.90 at ICC 0.33. From G = 4 the wild test holds a
usable level (0.026-0.036) and CR1-t/CR2-t cover 0.88-0.95."""
FINE_CLUSTERS: Final = 20
"""From this many clusters on, the normal CR1 interval and the cluster bootstrap cover (no warning)."""


# --------------------------------------------------------------------------- helpers


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


# --------------------------------------------------------------------------- analytic intervals


def _t_interval(estimate: float, se: float, df: float, confidence_level: float) -> ConfidenceInterval:
    """``estimate +- t_{df, 1 - alpha/2} se`` at ``confidence_level``."""
    half = t_critical(df, check_confidence_level(confidence_level)) * se
    return ConfidenceInterval(estimate - half, estimate + half)


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

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Return the t interval at another level (same df)."""
        return _t_interval(self.estimate, self.se, self.df, confidence_level)

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

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Return the t interval at another level (same df)."""
        return _t_interval(self.estimate, self.se, self.df, confidence_level)

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
