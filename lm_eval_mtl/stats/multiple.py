"""Multiple comparisons, McNemar's test and the minimum detectable effect.

- :func:`holm`: Holm (1979) step-down adjusted p-values (family-wise error).
- :func:`benjamini_hochberg`: Benjamini & Hochberg (1995) adjusted p-values (FDR); equal
  to :func:`scipy.stats.false_discovery_control` with ``method="bh"``.
- :func:`mcnemar`: McNemar (1947) test for paired 0/1 outcomes.
- :func:`mcnemar_vector`, :func:`mcnemar_exact_p`, :func:`discordant_counts`: the exact
  McNemar test for many columns of paired 0/1 differences at once (the one implementation
  of the exact p-value; :func:`mcnemar` and :mod:`lm_eval_mtl.stats.paired` use it).
- :func:`minimum_detectable_effect`: ``(z_{1-alpha/2} + z_{power}) * se``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.stats._special import ndtri

__all__ = [
    "MCNEMAR_EXACT_BELOW",
    "McNemarResult",
    "benjamini_hochberg",
    "discordant_counts",
    "holm",
    "mcnemar",
    "mcnemar_exact_p",
    "mcnemar_vector",
    "minimum_detectable_effect",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MCNEMAR_EXACT_BELOW = 25
"""With ``method="auto"``, fewer discordant pairs than this use the exact binomial test."""


def _check_p_values(p_values: npt.ArrayLike) -> FloatArray:
    try:
        p = np.asarray(p_values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"`p_values` must be a 1-D array of numbers in [0, 1]; got {p_values!r:.80}."
        ) from None
    if p.ndim != 1:
        raise ValueError(f"`p_values` must be 1-D; got shape {p.shape}.")
    if p.size == 0:
        raise InsufficientDataError("`p_values` must hold at least 1 p-value; got 0.")
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError(f"`p_values` must be finite and in [0, 1]; got {p.tolist()}.")
    return p


def holm(p_values: npt.ArrayLike) -> FloatArray:
    """Holm step-down adjusted p-values.

    For sorted ``p_(1) <= ... <= p_(m)``: ``adj_(i) = max_{j<=i} min(1, (m - j + 1) p_(j))``,
    returned in the input order. Reject at level alpha where ``adj <= alpha``.

    Args:
        p_values: 1-D p-values in [0, 1].

    Returns:
        The adjusted p-values, same order.

    Raises:
        ValueError: Not 1-D, or values outside [0, 1]/non-finite.
        InsufficientDataError: Empty.
    """
    p = _check_p_values(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adj_sorted = np.maximum.accumulate(scaled)
    out = np.empty(m, dtype=np.float64)
    out[order] = adj_sorted
    return out


def benjamini_hochberg(p_values: npt.ArrayLike) -> FloatArray:
    """Benjamini-Hochberg adjusted p-values (q-values of the step-up FDR procedure).

    For sorted p-values: ``adj_(i) = min_{j>=i} min(1, m p_(j) / j)``, in the input order.

    Args:
        p_values: 1-D p-values in [0, 1].

    Returns:
        The adjusted p-values, same order.

    Raises:
        ValueError: Not 1-D, or values outside [0, 1]/non-finite.
        InsufficientDataError: Empty.
    """
    p = _check_p_values(p_values)
    m = p.size
    order = np.argsort(p, kind="stable")
    scaled = p[order] * m / np.arange(1, m + 1)
    adj_sorted = np.minimum(1.0, np.minimum.accumulate(scaled[::-1])[::-1])
    out = np.empty(m, dtype=np.float64)
    out[order] = adj_sorted
    return out


@dataclass(frozen=True)
class McNemarResult:
    """McNemar's test of paired 0/1 outcomes of models A and B on the same items."""

    statistic: float
    """``exact``: n10 (the binomial count); ``chi2``: (|n10 - n01| - 1)^2 / (n10 + n01)."""
    p_value: float
    """Two-sided p-value."""
    n01: int
    """Items where A is wrong (0) and B is right (1)."""
    n10: int
    """Items where A is right (1) and B is wrong (0)."""
    method: Literal["exact", "chi2"]
    """``exact``: binomial test of n10 ~ Binomial(n01 + n10, 1/2); ``chi2``: chi-square
    with one degree of freedom and Edwards' continuity correction."""

    def to_dict(self) -> dict[str, Any]:
        """Full-precision fields."""
        return {
            "statistic": self.statistic,
            "p_value": self.p_value,
            "n01": self.n01,
            "n10": self.n10,
            "method": self.method,
        }


def _as_binary(x: npt.ArrayLike, name: str) -> npt.NDArray[np.bool_]:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D; got shape {arr.shape}.")
    if arr.dtype == np.bool_:
        return np.asarray(arr, dtype=np.bool_)
    try:
        f = arr.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"`{name}` must hold 0/1 or booleans; got dtype {arr.dtype}.") from None
    if not np.all((f == 0.0) | (f == 1.0)):
        bad = f[~((f == 0.0) | (f == 1.0))][:3].tolist()
        raise ValueError(f"`{name}` must hold only 0/1 or booleans; got values such as {bad}.")
    return np.asarray(f == 1.0, dtype=np.bool_)


def discordant_counts(d: npt.ArrayLike) -> tuple[IntArray, IntArray]:
    """Discordant pairs per column of paired 0/1 differences ``d = a - b`` (values -1, 0, 1).

    Args:
        d: Differences, 1-D (one comparison) or (n, k) (one comparison per column).

    Returns:
        ``(n10, n01)``: per column, the items with ``d == 1`` (A right, B wrong) and with
        ``d == -1`` (A wrong, B right); 0-d arrays for 1-D input.
    """
    arr = np.asarray(d, dtype=np.float64)
    n10 = np.asarray(np.count_nonzero(arr == 1, axis=0), dtype=np.int64)
    n01 = np.asarray(np.count_nonzero(arr == -1, axis=0), dtype=np.int64)
    return n10, n01


def mcnemar_exact_p(n10: npt.ArrayLike, n01: npt.ArrayLike) -> FloatArray:
    """Exact two-sided McNemar p-value from discordant counts, elementwise.

    Under the null ``n10 ~ Binomial(n10 + n01, 1/2)``, a symmetric distribution, so the
    two-sided p-value (:func:`scipy.stats.binomtest`'s "as or less likely" rule) is the
    doubled smaller tail ``min(1, 2 P(X <= min(n10, n01)))``. With no discordant pair the
    only possible outcome is observed: p = 1.

    Args:
        n10: Items where A is right and B wrong (non-negative integers).
        n01: Items where A is wrong and B right, broadcastable with ``n10``.

    Returns:
        The p-values, of the broadcast shape.
    """
    a = np.asarray(n10, dtype=np.int64)
    b = np.asarray(n01, dtype=np.int64)
    m = a + b
    k = np.minimum(a, b)
    flat_m, flat_k = m.reshape(-1), k.reshape(-1)
    p = np.ones(flat_m.shape, dtype=np.float64)
    big = flat_m > _EXACT_BINOM_MAX
    for i in np.flatnonzero(~big & (flat_m > 0)):
        p[i] = _half_binomial_tail(int(flat_k[i]), int(flat_m[i]))
    if np.any(big):
        from scipy import stats as _st  # only here: scipy.stats costs ~0.5 s to import

        p[big] = np.minimum(1.0, 2 * _st.binom.cdf(flat_k[big], flat_m[big], 0.5))
    return p.reshape(m.shape)


_EXACT_BINOM_MAX = 20_000
"""Up to this many discordant pairs the McNemar tail is summed in exact integers (a few ms)."""


def _half_binomial_tail(k: int, m: int) -> float:
    """``min(1, 2 P(X <= k))`` for X ~ Binomial(m, 1/2), k <= m / 2, correctly rounded.

    The tail is the exact integer sum of C(m, i) for i <= k over 2**m; Python's integer
    division rounds the quotient correctly (scipy's binomial CDF agrees to about 1e-15).
    """
    term = 1
    total = 1
    for i in range(k):
        term = term * (m - i) // (i + 1)
        total += term
    return min(1.0, (2 * total) / (1 << m))


def mcnemar_vector(d: npt.ArrayLike) -> FloatArray:
    """Exact two-sided McNemar p per column of 0/1 paired differences (values -1, 0, 1).

    Args:
        d: (n,) or (n, k) differences ``a - b`` of 0/1 scores.

    Returns:
        One p-value per column (a 0-d array for 1-D input); see :func:`mcnemar_exact_p`.
    """
    return mcnemar_exact_p(*discordant_counts(d))


def mcnemar(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    method: Literal["auto", "exact", "chi2"] = "auto",
) -> McNemarResult:
    """McNemar's test for two models' 0/1 outcomes on the same items (McNemar 1947).

    Only discordant items matter. ``exact`` is the two-sided binomial test of
    ``n10 ~ Binomial(n01 + n10, 1/2)`` (:func:`mcnemar_exact_p`, equal to
    :func:`scipy.stats.binomtest`); ``chi2`` is
    ``(|n10 - n01| - 1)^2 / (n01 + n10)`` against chi-square(1). ``auto`` uses ``exact``
    below :data:`MCNEMAR_EXACT_BELOW` discordant pairs and ``chi2`` otherwise. With no
    discordant pair the exact test's only outcome is observed: p = 1.

    Args:
        a: Model A's outcome per item (0/1 or bool).
        b: Model B's outcome on the same items.
        method: ``auto``, ``exact`` or ``chi2``.

    Returns:
        The :class:`McNemarResult`.

    Raises:
        ValueError: Lengths differ, values other than 0/1, unknown method.
        InsufficientDataError: No items.
    """
    if method not in ("auto", "exact", "chi2"):
        from lm_eval_mtl.errors import unknown_name

        raise unknown_name("McNemar method", str(method), ["auto", "exact", "chi2"])
    aa = _as_binary(a, "a")
    bb = _as_binary(b, "b")
    if aa.size != bb.size:
        raise ValueError(f"`a` and `b` must score the same items; got {aa.size} and {bb.size} items.")
    if aa.size == 0:
        raise InsufficientDataError("`a` and `b` must hold at least 1 item; got 0.")
    n10 = int(np.count_nonzero(aa & ~bb))
    n01 = int(np.count_nonzero(~aa & bb))
    n_disc = n10 + n01
    chosen: Literal["exact", "chi2"]
    if method == "auto":
        chosen = "exact" if n_disc < MCNEMAR_EXACT_BELOW else "chi2"
    else:
        chosen = method
    if n_disc == 0:
        return McNemarResult(0.0, 1.0, n01, n10, chosen)
    if chosen == "exact":
        p = float(mcnemar_exact_p(n10, n01))
        return McNemarResult(float(n10), p, n01, n10, "exact")
    stat = (abs(n10 - n01) - 1.0) ** 2 / n_disc
    from scipy import stats as _st  # only here: scipy.stats costs ~0.5 s to import

    return McNemarResult(float(stat), float(_st.chi2.sf(stat, 1)), n01, n10, "chi2")


def minimum_detectable_effect(se: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true effect a two-sided z-test at ``alpha`` detects with probability ``power``.

    ``MDE = (z_{1-alpha/2} + z_{power}) * se``; about 2.80 se at the defaults.

    Args:
        se: Standard error of the estimated effect (>= 0; NaN gives NaN).
        alpha: Two-sided significance level in (0, 1).
        power: Desired power in (0, 1).

    Returns:
        The minimum detectable effect, in the units of ``se``.

    Raises:
        ValueError: ``se`` negative or infinite, ``alpha`` or ``power`` outside (0, 1).
    """
    s = float(se)
    if s < 0 or s == math.inf:
        raise ValueError(f"`se` must be a non-negative finite number or NaN; got {se!r}.")
    for name, v in (("alpha", alpha), ("power", power)):
        if not (isinstance(v, (int, float)) and 0.0 < float(v) < 1.0):
            raise ValueError(f"`{name}` must be in (0, 1); got {v!r}.")
    return float((ndtri(1.0 - float(alpha) / 2.0) + ndtri(float(power))) * s)
