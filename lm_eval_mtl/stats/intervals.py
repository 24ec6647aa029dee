"""Confidence intervals and standard errors of means and bootstrap distributions.

Closed forms only; the resampling itself lives in :mod:`lm_eval_mtl.stats.bootstrap`.
The formulas, their assumptions and references are in ``docs/concepts-intervals.md``.

- :func:`normal_interval`: ``estimate +- z_{1-alpha/2} se``.
- :func:`wilson_interval`: the Wilson score interval of a binomial proportion.
- :func:`percentile_interval`, :func:`basic_interval`, :func:`bca_interval`: intervals
  from a bootstrap distribution (same quantile rule as :func:`scipy.stats.bootstrap`).
- :func:`analytic_se_mean`: ``sd(s, ddof=1) / sqrt(n)``.
- :func:`clustered_se`: the cluster-robust standard error of a mean (Miller 2024).
- :func:`se_mean_columns`: either standard error for every column of a matrix at once
  (the one implementation of the clustered SE; :func:`clustered_se` is its 1-column case).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError
from lm_eval_mtl.stats._common import ConfidenceInterval, check_confidence_level
from lm_eval_mtl.stats._special import NDTRI_TABLE, ndtr, ndtri

__all__ = [
    "analytic_se_mean",
    "basic_interval",
    "bca_interval",
    "clustered_se",
    "normal_interval",
    "percentile_interval",
    "se_mean_columns",
    "wilson_interval",
    "Z_TABLE",
]

FloatArray = npt.NDArray[np.float64]


Z_TABLE = {
    level: NDTRI_TABLE[0.5 + level / 2.0] for level in (0.5, 0.68, 0.8, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999)
}
"""``float(scipy.special.ndtri(0.5 + level / 2))`` for the usual levels, bit for bit (from
:data:`lm_eval_mtl.stats._special.NDTRI_TABLE`): rendering a table of intervals then needs no
``scipy.special`` import (0.1 s)."""


def _z(confidence_level: float) -> float:
    """Two-sided normal quantile ``z_{1-alpha/2}`` for ``confidence_level = 1 - alpha``."""
    return float(ndtri(0.5 + confidence_level / 2.0))


def _as_1d_finite(x: npt.ArrayLike, name: str, *, min_size: int = 1) -> FloatArray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must be a 1-D array of finite numbers; got {x!r:.80}.") from None
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got an array of shape {arr.shape}.")
    if arr.size < min_size:
        raise InsufficientDataError(f"`{name}` must hold at least {min_size} value(s); got {arr.size}.")
    if not np.all(np.isfinite(arr)):
        bad = int(np.count_nonzero(~np.isfinite(arr)))
        raise ValueError(f"`{name}` must be finite; got {bad} NaN/inf value(s).")
    return arr


# --------------------------------------------------------------------------- standard errors


def analytic_se_mean(scores: npt.ArrayLike) -> float:
    """Compute the standard error of a mean: ``sd(scores, ddof=1) / sqrt(n)``.

    Args:
        scores: Per-item values, 1-D, finite.

    Returns:
        The standard error. With a single item it is undefined: NaN with a warning.

    Raises:
        ValueError: ``scores`` is not 1-D or holds NaN/inf.
        InsufficientDataError: ``scores`` is empty.

    Warns:
        DegenerateDataWarning: Only one item (the sample variance is undefined).
    """
    s = _as_1d_finite(scores, "scores")
    if s.size < 2:
        warnings.warn(
            DegenerateDataWarning("The standard error of a mean of 1 item is undefined; returning NaN."),
            stacklevel=2,
        )
        return math.nan
    return float(np.std(s, ddof=1) / math.sqrt(s.size))


def _cluster_index(clusters: npt.ArrayLike, n: int, name: str = "clusters") -> npt.NDArray[np.intp]:
    """Map arbitrary cluster labels to 0..C-1 (in sorted label order)."""
    lab = np.asarray(clusters)
    if lab.ndim != 1 or lab.shape[0] != n:
        raise ValueError(f"`{name}` must be 1-D with one label per item ({n}); got shape {lab.shape}.")
    if lab.dtype.kind == "f" and not np.all(np.isfinite(lab)):
        raise ValueError(f"`{name}` must not hold NaN/inf labels.")
    _, inverse = np.unique(lab, return_inverse=True)
    return inverse.reshape(-1).astype(np.intp)


def clustered_se(scores: npt.ArrayLike, clusters: npt.ArrayLike, *, small_sample: bool = True) -> float:
    r"""Cluster-robust standard error of a mean (Miller 2024, eq. for :math:`SE_{clustered}`).

    With residuals :math:`e_k = s_k - \bar s` and cluster sums :math:`E_c = \sum_{k \in c} e_k`,

    .. math:: SE = \sqrt{f \sum_c E_c^2} / n, \qquad f = C/(C-1) \text{ if small\_sample else } 1.

    With ``small_sample=True`` (the default, the CR1 factor) and one item per cluster this
    equals :func:`analytic_se_mean` exactly; without it, it equals the ``ddof=0`` version.

    Args:
        scores: Per-item values, 1-D, finite.
        clusters: One cluster label per item (any hashable numpy dtype).
        small_sample: Multiply the variance by ``C/(C-1)``.

    Returns:
        The standard error; NaN with a warning when there is a single cluster.

    Raises:
        ValueError: Shapes differ, or values are not finite.
        InsufficientDataError: ``scores`` is empty.

    Warns:
        DegenerateDataWarning: Fewer than 2 clusters.
    """
    s = _as_1d_finite(scores, "scores")
    idx = _cluster_index(clusters, s.size)
    if int(idx.max()) + 1 < 2:
        warnings.warn(
            DegenerateDataWarning(
                "The clustered standard error needs at least 2 clusters; got 1. Returning NaN."
            ),
            stacklevel=2,
        )
        return math.nan
    return float(_clustered_columns(s[:, None], idx, small_sample)[0])


def _clustered_columns(values: FloatArray, idx: npt.NDArray[np.intp], small_sample: bool) -> FloatArray:
    """CR1 (or CR0) standard error of each column's mean; NaN with fewer than 2 clusters."""
    n_clusters = int(idx.max()) + 1
    if n_clusters < 2:
        return np.full(values.shape[1], np.nan)
    resid = values - values.mean(axis=0)
    sums = np.zeros((n_clusters, values.shape[1]))
    np.add.at(sums, idx, resid)
    factor = n_clusters / (n_clusters - 1) if small_sample else 1.0
    out: FloatArray = np.sqrt(factor * np.sum(sums * sums, axis=0)) / values.shape[0]
    return out


def se_mean_columns(
    values: npt.ArrayLike, clusters: npt.ArrayLike | None = None, *, small_sample: bool = True
) -> FloatArray:
    """Compute the standard error of the mean of every column of ``values`` (n items x k columns).

    Without ``clusters``: ``sd(column, ddof=1) / sqrt(n)`` (:func:`analytic_se_mean`);
    with them: the cluster-robust SE of :func:`clustered_se`, one cluster label per row.

    Args:
        values: (n, k) finite values, or (n,) for one column.
        clusters: One cluster label per row, or None.
        small_sample: With clusters, multiply the variance by ``C/(C-1)`` (CR1).

    Returns:
        (k,) standard errors (shape () for 1-D input). NaN, without a warning, where it is
        undefined: fewer than 2 rows, or fewer than 2 clusters.

    Raises:
        ValueError: Not 1-D/2-D, non-finite values, or clusters of the wrong shape.
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim not in (1, 2):
        raise ValueError(f"`values` must be 1-D or 2-D; got an array of shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError(
            f"`values` must be finite; got {int(np.count_nonzero(~np.isfinite(arr)))} NaN/inf value(s)."
        )
    mat = arr.reshape(arr.shape[0], -1)
    n = mat.shape[0]
    if n < 2:
        out = np.full(mat.shape[1], np.nan)
    elif clusters is None:
        out = mat.std(axis=0, ddof=1) / math.sqrt(n)
    else:
        out = _clustered_columns(mat, _cluster_index(clusters, n), small_sample)
    return out.reshape(arr.shape[1:])


# --------------------------------------------------------------------------- closed-form intervals


def normal_interval(estimate: float, se: float, confidence_level: float = 0.95) -> ConfidenceInterval:
    """Compute the normal (Wald) interval ``estimate +- z_{1-alpha/2} * se``.

    Args:
        estimate: Point estimate.
        se: Its standard error (>= 0). NaN gives a NaN interval (no warning: the caller
            already warned when it produced the NaN).
        confidence_level: In (0, 1).

    Returns:
        The interval.

    Raises:
        ValueError: ``se`` is negative or ``confidence_level`` is outside (0, 1), or
            ``estimate`` is not finite.
    """
    level = check_confidence_level(confidence_level)
    est = float(estimate)
    s = float(se)
    if not math.isfinite(est):
        raise ValueError(f"`estimate` must be finite; got {estimate!r}.")
    if s < 0 or s == math.inf:
        raise ValueError(f"`se` must be a non-negative finite number or NaN; got {se!r}.")
    if math.isnan(s):
        return ConfidenceInterval(math.nan, math.nan)
    half = _z(level) * s
    return ConfidenceInterval(est - half, est + half)


def wilson_interval(successes: int, n: int, confidence_level: float = 0.95) -> ConfidenceInterval:
    r"""Wilson score interval of a binomial proportion (no continuity correction).

    .. math::
        \frac{\hat p + z^2/(2n)}{1 + z^2/n} \pm
        \frac{z}{1 + z^2/n}\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}

    Args:
        successes: Number of successes, ``0 <= successes <= n``.
        n: Number of trials, >= 1.
        confidence_level: In (0, 1).

    Returns:
        The interval, within [0, 1].

    Raises:
        ValueError: ``n`` < 1, ``successes`` outside [0, n], non-integers, or a bad level.
    """
    level = check_confidence_level(confidence_level)
    for name, v in (("successes", successes), ("n", n)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise ValueError(f"`{name}` must be an int; got {v!r}.")
    if n < 1:
        raise ValueError(f"`n` must be >= 1; got {n}.")
    if not 0 <= successes <= n:
        raise ValueError(f"`successes` must be in [0, n] = [0, {n}]; got {successes}.")
    z = _z(level)
    p = successes / n
    z2n = z * z / n
    denom = 1.0 + z2n
    center = (p + z2n / 2.0) / denom
    half = z / denom * math.sqrt(p * (1.0 - p) / n + z2n / (4.0 * n))
    return ConfidenceInterval(max(0.0, center - half), min(1.0, center + half))


# --------------------------------------------------------------------------- bootstrap intervals


def _check_distribution(distribution: npt.ArrayLike) -> FloatArray:
    d = np.asarray(distribution, dtype=np.float64)
    if d.ndim != 1 or d.size < 1:
        raise ValueError(
            f"`distribution` must be a non-empty 1-D array of resampled statistics; got shape {d.shape}."
        )
    return d


def _quantiles(d: FloatArray, probs: Sequence[float]) -> tuple[float, float]:
    """Linear-interpolation (type 7) quantiles, as scipy.stats.bootstrap; NaN probs give NaN."""
    out: list[float] = []
    for p in probs:
        if not math.isfinite(p) or np.isnan(d).any():
            out.append(math.nan)
        else:
            out.append(float(np.quantile(d, min(1.0, max(0.0, p)))))
    return out[0], out[1]


def percentile_interval(distribution: npt.ArrayLike, confidence_level: float = 0.95) -> ConfidenceInterval:
    """Percentile bootstrap interval: the alpha/2 and 1-alpha/2 quantiles of the distribution.

    Quantiles use linear interpolation (numpy's default, as :func:`scipy.stats.bootstrap`).

    Args:
        distribution: Resampled statistics, 1-D.
        confidence_level: In (0, 1).

    Returns:
        The interval (NaN if the distribution holds NaN).

    Raises:
        ValueError: ``distribution`` is not a non-empty 1-D array, or a bad level.
    """
    level = check_confidence_level(confidence_level)
    d = _check_distribution(distribution)
    alpha = (1.0 - level) / 2.0
    return ConfidenceInterval(*_quantiles(d, (alpha, 1.0 - alpha)))


def basic_interval(
    distribution: npt.ArrayLike, observed: float, confidence_level: float = 0.95
) -> ConfidenceInterval:
    """Compute the basic ("reverse percentile") bootstrap interval.

    ``(2*observed - q_{1-a/2}, 2*observed - q_{a/2})``.

    Args:
        distribution: Resampled statistics, 1-D.
        observed: The statistic on the original data.
        confidence_level: In (0, 1).

    Returns:
        The interval.

    Raises:
        ValueError: As :func:`percentile_interval`.
    """
    low, high = percentile_interval(distribution, confidence_level)
    obs = float(observed)
    return ConfidenceInterval(2.0 * obs - high, 2.0 * obs - low)


def bca_acceleration(jackknife_values: Sequence[npt.ArrayLike] | npt.ArrayLike) -> float:
    """Jackknife estimate of the BCa acceleration, for one or several independent samples.

    For sample ``j`` with leave-one-out statistics ``theta_(i)``, ``U_i = (n_j - 1)(mean - theta_(i))``;
    ``a = sum_j sum_i U^3 / n_j^3 / (6 (sum_j sum_i U^2 / n_j^2)^{3/2})`` (Efron & Tibshirani 1993,
    eq. 14.15, extended to several samples as in :func:`scipy.stats.bootstrap`). A sample with
    one value contributes nothing.

    Args:
        jackknife_values: A 1-D array (one sample) or a sequence of 1-D arrays (one per
            independent sample/stratum) of leave-one-out statistics.

    Returns:
        The acceleration (NaN when every leave-one-out value is equal).
    """
    arrays = _jackknife_list(jackknife_values)
    num = 0.0
    den = 0.0
    for th in arrays:
        n = float(th.size)
        if th.size < 2:
            continue
        u = (n - 1.0) * (th.mean() - th)
        num += float(np.sum(u**3)) / n**3
        den += float(np.sum(u**2)) / n**2
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(num) / (6.0 * np.float64(den) ** 1.5))


def _jackknife_list(jackknife_values: Sequence[npt.ArrayLike] | npt.ArrayLike) -> list[FloatArray]:
    if isinstance(jackknife_values, np.ndarray) and jackknife_values.dtype != object:
        arrays = [np.asarray(jackknife_values, dtype=np.float64)]
    elif (
        isinstance(jackknife_values, Sequence)
        and len(jackknife_values) > 0
        and all(np.ndim(v) == 0 for v in jackknife_values)
    ):
        arrays = [np.asarray(jackknife_values, dtype=np.float64)]
    elif isinstance(jackknife_values, Sequence):
        arrays = [np.asarray(v, dtype=np.float64) for v in jackknife_values]
    else:
        raise ValueError(
            "`jackknife_values` must be a 1-D array or a sequence of 1-D arrays; "
            f"got {type(jackknife_values).__name__}."
        )
    if not arrays or any(a.ndim != 1 for a in arrays) or sum(a.size for a in arrays) == 0:
        raise ValueError(
            "`jackknife_values` must be a non-empty 1-D array or a sequence of 1-D arrays; "
            f"got shapes {[a.shape for a in arrays]}."
        )
    return arrays


def bca_interval(
    distribution: npt.ArrayLike,
    observed: float,
    jackknife_values: Sequence[npt.ArrayLike] | npt.ArrayLike,
    confidence_level: float = 0.95,
) -> ConfidenceInterval:
    """Bias-corrected and accelerated (BCa) bootstrap interval (Efron & Tibshirani 1993, ch. 14).

    ``z0 = Phi^{-1}(mean-rank of observed in distribution)`` (ties count half, as scipy),
    ``a`` from :func:`bca_acceleration`, and the interval is the quantiles
    ``Phi(z0 + (z0 + z_q)/(1 - a (z0 + z_q)))`` for ``z_q = -+z_{1-alpha/2}``.

    Args:
        distribution: Resampled statistics, 1-D.
        observed: The statistic on the original data.
        jackknife_values: Leave-one-out statistics; one 1-D array, or one per independent
            sample (stratum).
        confidence_level: In (0, 1).

    Returns:
        The interval; NaN bounds (with a warning) when BCa is undefined (a degenerate
        distribution or jackknife).

    Raises:
        ValueError: Bad shapes or level.

    Warns:
        DegenerateDataWarning: The BCa interval cannot be computed.
    """
    level = check_confidence_level(confidence_level)
    d = _check_distribution(distribution)
    obs = float(observed)
    n_b = d.size
    pct = (np.count_nonzero(d < obs) + np.count_nonzero(d <= obs)) / (2.0 * n_b)
    z0 = float(ndtri(pct))
    a_hat = bca_acceleration(jackknife_values)
    alpha = (1.0 - level) / 2.0
    z_alpha = float(ndtri(alpha))
    probs: list[float] = []
    for zq in (z_alpha, -z_alpha):
        num = z0 + zq
        with np.errstate(divide="ignore", invalid="ignore"):
            probs.append(float(ndtr(z0 + num / (1.0 - a_hat * num))))
    ci = ConfidenceInterval(*_quantiles(d, probs))
    if math.isnan(ci.low) or math.isnan(ci.high):
        warnings.warn(
            DegenerateDataWarning(
                "The BCa confidence interval cannot be calculated: the bootstrap distribution "
                "or the jackknife is degenerate (e.g. all items equal). Returning NaN."
            ),
            stacklevel=2,
        )
        return ConfidenceInterval(math.nan, math.nan)
    return ci
