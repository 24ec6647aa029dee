"""Paired statistics on aligned per-item scores (arrays only).

Two forms compute the same statistics: :func:`paired_difference` /
:func:`paired_from_arrays` / :func:`corpus_from_totals` for one comparison (model A
against model B on one task, a :class:`PairedDifference`), and :func:`paired_columns` /
:func:`corpus_columns` for k comparisons against one reference on the same items at once
(the columns of a transfer-matrix target, a :class:`PairedColumns`). Both draw on the same
helpers: :func:`lm_eval_mtl.stats.intervals.se_mean_columns` (SE),
:func:`lm_eval_mtl.stats.multiple.mcnemar_vector` (exact McNemar) and one percentile rule.

For two models scored on the same n items, with per-item differences
d_k = s^A_k - s^B_k on a metric scaled by ``scale`` = 1/(u - c):

* diff = scale * mean(d);
* se = scale * sd(d, ddof=1)/sqrt(n) (cluster-robust CR1 when clusters are given);
* ci: percentile interval of the paired bootstrap (items, or clusters, resampled);
* p-value: exact McNemar (two-sided binomial test on the discordant pairs, conditional
  on their number) for 0/1 metrics without clusters; otherwise the paired sign-flip
  randomization test of mean(d) = 0 (items, or whole clusters, flipped; exact for at most
  16 non-zero units, else Monte Carlo with p = (1 + #{|T*| >= |T|})/(1 + R)), and for corpus
  metrics approximate randomization (segments' statistics swapped between A and B), see
  :mod:`lm_eval_mtl.stats.permutation`. The bootstrap percentile p-value is not used: it
  is too liberal at small n (4 items all one way: about 0.03 against the exact 0.125);
* mde: minimum detectable effect at 80% power and two-sided level 1 - confidence_level,
  (z_{1-alpha/2} + z_{0.8}) * se.

Also the unpaired analytic fallback (results JSON only), and Holm / Benjamini-Hochberg.

The one-comparison and the column forms consume the generator differently (the column form
shares one set of random sign patterns across columns), so their Monte Carlo p-values
agree in distribution, not draw for draw.

Layout: the records, method labels and shared rules (MDE, normal test, McNemar,
percentile bounds) are :mod:`lm_eval_mtl.stats.paired_result`'s; the per-item metric forms
:mod:`lm_eval_mtl.stats.paired_mean`'s; the corpus metric forms
:mod:`lm_eval_mtl.stats.paired_corpus`'s. This module holds the unpaired analytic fallback
and the adjustment across tasks, and re-exports every name above.
"""

from __future__ import annotations

import math
import warnings
from typing import Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import DegenerateDataWarning
from lm_eval_mtl.stats._common import ConfidenceInterval
from lm_eval_mtl.stats.paired_corpus import corpus_columns, corpus_from_totals
from lm_eval_mtl.stats.paired_mean import paired_columns, paired_difference, paired_from_arrays
from lm_eval_mtl.stats.paired_result import POWER as POWER
from lm_eval_mtl.stats.paired_result import RANDOMIZATION as RANDOMIZATION
from lm_eval_mtl.stats.paired_result import SIGN_FLIP as SIGN_FLIP
from lm_eval_mtl.stats.paired_result import WILD as WILD
from lm_eval_mtl.stats.paired_result import (
    DiffMethod,
    PairedColumns,
    PairedDifference,
    mcnemar_exact,
    minimum_detectable_effect,
    normal_test,
)
from lm_eval_mtl.stats.paired_result import FloatArray as FloatArray
from lm_eval_mtl.stats.paired_result import IntArray as IntArray

__all__ = [
    "Correction",
    "DiffMethod",
    "PairedColumns",
    "PairedDifference",
    "adjust_p_values",
    "corpus_columns",
    "corpus_from_totals",
    "mcnemar_exact",
    "paired_difference",
    "minimum_detectable_effect",
    "normal_test",
    "paired_columns",
    "paired_from_arrays",
    "unpaired_analytic",
]

Correction = Literal["holm", "bh", "none"]


def unpaired_analytic(
    task: str,
    value_a: float,
    se_a: float,
    value_b: float,
    se_b: float,
    n: int,
    *,
    scale: float,
    confidence_level: float,
) -> PairedDifference:
    """Difference from results JSON alone: sqrt(se_A^2 + se_B^2), normal CI, z-test.

    This ignores the positive correlation of two models' errors on shared items, so its
    SE is usually larger than the paired one (conservative).

    Warns:
        DegenerateDataWarning: A stderr is missing: SE, CI and p-value are NaN.
    """
    diff = scale * (value_a - value_b)
    se = scale * math.sqrt(se_a**2 + se_b**2)
    if math.isnan(se):
        warnings.warn(
            DegenerateDataWarning(f"task {task!r}: a run reports no stderr; the unpaired SE is NaN."),
            stacklevel=3,
        )
    lo, hi, p = normal_test(diff, se, confidence_level)
    return PairedDifference(
        task=task,
        diff=diff,
        se=se,
        ci=ConfidenceInterval(float(lo), float(hi)),
        p_value=float(p),
        mde=minimum_detectable_effect(se, confidence_level),
        n=n,
        method="analytic-unpaired",
        mean_a=value_a,
        mean_b=value_b,
        se_unpaired=se,
    )


def adjust_p_values(p: npt.ArrayLike, method: Correction) -> FloatArray:
    """Holm (FWER) or Benjamini-Hochberg (FDR) adjusted p-values; NaN entries stay NaN.

    Raises:
        ValueError: Unknown ``method``.
    """
    from lm_eval_mtl.stats.multiple import benjamini_hochberg, holm

    if method not in ("holm", "bh", "none"):
        raise ValueError(f"`correction` must be 'holm', 'bh' or 'none'; got {method!r}.")
    arr = np.asarray(p, dtype=np.float64).reshape(-1)
    out = np.full(arr.shape, np.nan)
    ok = ~np.isnan(arr)
    if method == "none" or not ok.any():
        out[ok] = arr[ok]
        return out
    out[ok] = holm(arr[ok]) if method == "holm" else benjamini_hochberg(arr[ok])
    return out
