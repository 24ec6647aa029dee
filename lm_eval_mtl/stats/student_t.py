r"""Student-t critical values and the degrees of freedom of small-sample variance estimates.

:func:`t_critical` gives ``t_{df, 1 - alpha/2}`` (the normal quantile for ``df = inf``);
:func:`bell_mccaffrey_df` is the df of the CR2 variance of a clustered mean (Bell &
McCaffrey 2002) and :func:`satterthwaite_df` the Welch-Satterthwaite df of a sum of
independent variance estimates. The clustered intervals built on them live in
:mod:`lm_eval_mtl.stats.clusters`.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats._common import check_confidence_level
from lm_eval_mtl.stats._special import (  # scipy.special's t/normal quantiles, imported on first use
    ndtri,
    stdtrit,
)

__all__ = ["bell_mccaffrey_df", "satterthwaite_df", "t_critical"]


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
        return float(ndtri(q))
    return float(stdtrit(d, q))


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
