"""The vocabulary every paired-statistics form shares: result records, method labels, closed-form rules.

:class:`PairedDifference` (one comparison) and :class:`PairedColumns` (k comparisons against
one reference) are returned by the mean-metric forms (:mod:`lm_eval_mtl.stats.paired_mean`),
the corpus-metric forms (:mod:`lm_eval_mtl.stats.paired_corpus`) and the unpaired fallback
(:mod:`lm_eval_mtl.stats.paired`); every form draws its minimum detectable effect, normal
test, exact McNemar p-value and percentile bounds from here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.stats._common import ConfidenceInterval
from lm_eval_mtl.stats._special import ndtr, ndtri  # scipy.stats.norm's own ppf/sf, imported on first use
from lm_eval_mtl.stats.multiple import discordant_counts, mcnemar_exact_p

__all__ = [
    "POWER",
    "RANDOMIZATION",
    "SIGN_FLIP",
    "WILD",
    "DiffMethod",
    "PairedColumns",
    "PairedDifference",
    "mcnemar_exact",
    "minimum_detectable_effect",
    "normal_test",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
SIGN_FLIP: Final = "paired-bootstrap CI, sign-flip p"
"""Method label: paired-bootstrap interval, paired sign-flip randomization p-value."""
RANDOMIZATION: Final = "paired-bootstrap CI, randomization p"
"""Method label (corpus metrics): paired segment-bootstrap interval, approximate randomization p."""
WILD: Final = "wild cluster bootstrap CI and p"
"""Method label (fewer than 20 clusters): wild cluster bootstrap-t interval and p-value (Webb weights at G <= 12)."""
DiffMethod = Literal[
    "mcnemar",
    "paired-bootstrap CI, sign-flip p",
    "paired-bootstrap CI, randomization p",
    "wild cluster bootstrap CI and p",
    "analytic-unpaired",
]
POWER = 0.8


@dataclass(frozen=True)
class PairedDifference:
    """A difference A - B on one task (normalized units), with its uncertainty."""

    task: str
    """Task (member label)."""
    diff: float
    """Mean of A minus mean of B, divided by (ceiling - chance)."""
    se: float
    """Standard error of ``diff`` (paired, clustered where declared; unpaired for analytic)."""
    ci: ConfidenceInterval
    """Confidence interval for ``diff``."""
    p_value: float
    """Two-sided p-value of diff = 0 (see ``method``)."""
    mde: float
    """Minimum detectable effect at 80% power and level 1 - confidence_level."""
    n: int
    """Items paired (items per run for the analytic method)."""
    method: DiffMethod
    """``mcnemar`` (0/1: exact McNemar p, bootstrap CI), ``paired-bootstrap CI, sign-flip p``
    (other per-item metrics, or clustered), ``paired-bootstrap CI, randomization p`` (corpus
    metrics) or ``analytic-unpaired``."""
    mean_a: float
    """A's raw metric."""
    mean_b: float
    """B's raw metric."""
    se_unpaired: float
    """The SE an unpaired analysis would report (sqrt(se_A^2 + se_B^2), normalized)."""
    p_adjusted: float = math.nan
    """p-value adjusted across tasks (Holm or BH); NaN until adjusted."""
    n_discordant: tuple[int, int] | None = None
    """(A right & B wrong, A wrong & B right) for 0/1 metrics."""
    n_clusters: int | None = None
    """Clusters G where a cluster key applies, else None."""
    min_p_value: float | None = None
    """The smallest p-value the test can give (few clusters: 2^(1-G) or 6^(1-G)), when it matters."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "task": self.task,
            "diff": self.diff,
            "se": self.se,
            "ci": [self.ci.low, self.ci.high],
            "p_value": self.p_value,
            "p_adjusted": self.p_adjusted,
            "mde": self.mde,
            "n": self.n,
            "method": self.method,
            "mean_a": self.mean_a,
            "mean_b": self.mean_b,
            "se_unpaired": self.se_unpaired,
            "n_discordant": list(self.n_discordant) if self.n_discordant is not None else None,
            "n_clusters": self.n_clusters,
            "min_p_value": self.min_p_value,
        }


def minimum_detectable_effect(se: float, confidence_level: float) -> float:
    """(z_{1-alpha/2} + z_{power}) * se with alpha = 1 - confidence_level, power 0.8."""
    from lm_eval_mtl.stats.multiple import minimum_detectable_effect as mde

    return mde(se, alpha=1.0 - confidence_level, power=POWER)


def normal_test(
    diff: npt.ArrayLike, se: npt.ArrayLike, confidence_level: float
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Compute the normal interval ``diff +- z se`` and the two-sided z-test p-value of 0.

    Elementwise: the analytic (unpaired) statistics of compare and transfer, for scalars
    or arrays.
    A NaN SE gives NaN bounds and a NaN p-value; an SE of 0 gives p = 1 when the
    difference is 0, else p = 0.

    Returns:
        (lower bounds, upper bounds, p-values), each of the broadcast shape.
    """
    d = np.asarray(diff, dtype=np.float64)
    s = np.asarray(se, dtype=np.float64)
    z = float(ndtri(1 - (1 - confidence_level) / 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(s > 0, 2 * ndtr(-np.abs(d) / s), np.where(d == 0, 1.0, 0.0))
    p = np.where(np.isnan(s), np.nan, p)
    return np.asarray(d - z * s, dtype=np.float64), np.asarray(d + z * s, dtype=np.float64), p


def mcnemar_exact(a: FloatArray, b: FloatArray) -> tuple[float, tuple[int, int]]:
    """Exact two-sided McNemar p-value of paired 0/1 scores, and the discordant counts (n10, n01).

    With no discordant pair the only possible outcome is observed: p = 1. The one-column
    case of :func:`lm_eval_mtl.stats.multiple.mcnemar_vector`.
    """
    n10, n01 = discordant_counts(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))
    return float(mcnemar_exact_p(n10, n01)), (int(n10), int(n01))


def _percentile_bounds(boot: FloatArray, confidence_level: float) -> tuple[FloatArray, FloatArray]:
    """Percentile interval of each column of a bootstrap distribution (axis 0 = resamples)."""
    alpha = 1 - confidence_level
    lo, hi = np.quantile(boot, [alpha / 2, 1 - alpha / 2], axis=0)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


@dataclass(frozen=True)
class PairedColumns:
    """Paired statistics of k comparisons against one reference on the same items.

    Column j is what :class:`PairedDifference` holds for one comparison, in normalized units.
    """

    delta: FloatArray
    """(k,) scale * mean difference (corpus metrics: scale * score difference)."""
    se: FloatArray
    """(k,) standard errors (paired, clustered where declared; corpus: bootstrap SD); NaN
    where undefined (fewer than 2 items or clusters, or 1 resample)."""
    ci_low: FloatArray
    """(k,) lower percentile-bootstrap bounds."""
    ci_high: FloatArray
    """(k,) upper bounds."""
    p_value: FloatArray
    """(k,) two-sided p-values of a zero difference (see ``method``)."""
    method: DiffMethod
    """Shared by every column: ``mcnemar``, ``paired-bootstrap CI, sign-flip p`` or
    ``paired-bootstrap CI, randomization p``."""
    boot: FloatArray
    """(B, k) bootstrap distribution of ``delta`` (normalized units)."""
