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
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import DegenerateDataWarning
from lm_eval_mtl.stats._common import ConfidenceInterval
from lm_eval_mtl.stats._special import ndtr, ndtri  # scipy.stats.norm's own ppf/sf, imported on first use
from lm_eval_mtl.stats.clusters import FINE_CLUSTERS
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.intervals import se_mean_columns
from lm_eval_mtl.stats.joint import resample_column_means, resample_totals
from lm_eval_mtl.stats.multiple import discordant_counts, mcnemar_exact_p, mcnemar_vector
from lm_eval_mtl.stats.permutation import (
    corpus_randomization_test,
    paired_sign_flip_test,
    sign_flip_p_values,
)

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

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
Correction = Literal["holm", "bh", "none"]
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


def _is_binary(*arrays: FloatArray) -> bool:
    return all(bool(np.all((x == 0) | (x == 1))) for x in arrays)


def _se(d: FloatArray, clusters: npt.NDArray[np.int64] | None) -> float:
    """One column's SE, warning where it is undefined (the column form returns NaN silently)."""
    from lm_eval_mtl.stats.intervals import analytic_se_mean, clustered_se

    if clusters is None:
        return analytic_se_mean(d)
    return clustered_se(d, clusters)


def paired_from_arrays(
    task: str,
    a: FloatArray,
    b: FloatArray,
    *,
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    confidence_level: float,
    boot: FloatArray,
    n_resamples: int,
    rng: np.random.Generator,
) -> PairedDifference:
    """Paired statistics given aligned scores and the bootstrap of mean(a - b) (raw units).

    Args:
        task: Label.
        a: Aligned scores of A.
        b: Aligned scores of B.
        scale: 1 / (ceiling - chance).
        clusters: Cluster label per item, or None.
        confidence_level: In (0, 1).
        boot: (B,) bootstrap distribution of mean(a - b), raw units.
        n_resamples: Random sign patterns of the sign-flip test (when not exact).
        rng: Generator of the sign-flip test (the same seeded chain as the bootstrap).

    Warns:
        DegenerateDataWarning: Fewer than 2 items (or clusters): SE, MDE are NaN.
    """
    n = a.shape[0]
    d = a - b
    diff = scale * float(d.mean())
    if n < 2:
        warnings.warn(
            DegenerateDataWarning(f"task {task!r}: 1 paired item; its standard error is undefined (NaN)."),
            stacklevel=3,
        )
        se = su = math.nan
    else:
        se = scale * _se(d, clusters)  # NaN with a warning for a single cluster
        su = scale * math.sqrt(float(np.var(a, ddof=1) + np.var(b, ddof=1)) / n)
    lo_b, hi_b = _percentile_bounds(boot, confidence_level)
    lo, hi = float(lo_b), float(hi_b)
    binary = _is_binary(a, b)
    discordant: tuple[int, int] | None = None
    method: DiffMethod
    g = int(np.unique(clusters).size) if clusters is not None else None
    min_p: float | None = None
    if binary and clusters is None:
        p, discordant = mcnemar_exact(a, b)
        method = "mcnemar"
    elif clusters is not None and g is not None and 2 <= g < FINE_CLUSTERS:
        # few clusters: the pairs cluster bootstrap under-covers; the wild cluster bootstrap-t does not
        from lm_eval_mtl.stats.wild import wild_cluster_paired

        wild = wild_cluster_paired(
            a, b, clusters, confidence_level=confidence_level, n_resamples=n_resamples, rng=rng
        )
        p, lo, hi, min_p = wild.p_value, float(wild.ci.low), float(wild.ci.high), wild.min_p_value
        method = WILD
        if binary:
            discordant = mcnemar_exact(a, b)[1]
    else:
        p = paired_sign_flip_test(a - b, clusters=clusters, n_resamples=n_resamples, rng=rng).p_value
        method = SIGN_FLIP
        if binary:
            discordant = mcnemar_exact(a, b)[1]
    return PairedDifference(
        task=task,
        diff=diff,
        se=se,
        ci=ConfidenceInterval(scale * float(lo), scale * float(hi)),
        p_value=p,
        mde=minimum_detectable_effect(se, confidence_level),
        n=n,
        method=method,
        mean_a=float(a.mean()),
        mean_b=float(b.mean()),
        se_unpaired=su,
        n_discordant=discordant,
        n_clusters=g,
        min_p_value=min_p,
    )


def paired_difference(
    a: npt.ArrayLike,
    b: npt.ArrayLike,
    *,
    scale: float = 1.0,
    clusters: npt.ArrayLike | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
    task: str = "task",
) -> PairedDifference:
    """Paired difference of two models' aligned per-item scores of one task.

    Args:
        a: Per-item scores of model A (1-D, finite).
        b: Per-item scores of model B on the same items, same order.
        scale: Normalization 1 / (ceiling - chance); 1 for raw units.
        clusters: Optional cluster label per item (resampled and used for the SE).
        confidence_level: In (0, 1).
        n_resamples: Bootstrap resamples, and random sign patterns of the sign-flip test
            (when not exact).
        rng: Generator, seed or None.
        task: Label used in messages and the result.

    Returns:
        The :class:`PairedDifference`.

    Raises:
        ValueError: Shapes differ, empty input, non-finite values, bad level or resamples.
    """
    from lm_eval_mtl.stats._common import as_generator, check_confidence_level, check_n_resamples

    level = check_confidence_level(confidence_level)
    nres = check_n_resamples(n_resamples)
    gen = as_generator(rng)
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape or x.size == 0:
        raise ValueError(
            f"`a` and `b` must be non-empty 1-D arrays of equal length; got shapes {x.shape} and {y.shape}."
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("`a` and `b` must be finite (no NaN/inf scores).")
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"`scale` must be a positive finite number; got {scale!r}.")
    cl: npt.NDArray[np.int64] | None = None
    if clusters is not None:
        raw = np.asarray(clusters)
        if raw.shape != x.shape:
            raise ValueError(f"`clusters` must hold one label per item ({x.size}); got shape {raw.shape}.")
        cl = np.unique(raw, return_inverse=True)[1].reshape(-1).astype(np.int64)
    boot = resample_column_means((x - y)[:, None], nres, gen, cl)[:, 0]
    return paired_from_arrays(
        task, x, y, scale=scale, clusters=cl, confidence_level=level, boot=boot, n_resamples=nres, rng=gen
    )


def corpus_from_totals(
    task: str,
    a: CorpusStats,
    b: CorpusStats,
    boot_a: FloatArray,
    boot_b: FloatArray,
    *,
    scale: float,
    confidence_level: float,
    clusters: npt.NDArray[np.int64] | None,
    n_resamples: int,
    rng: np.random.Generator,
) -> tuple[PairedDifference, FloatArray]:
    """Paired difference of a corpus metric (BLEU, chrF, TER) from resampled segment totals.

    ``boot_a``/``boot_b`` are (B, d) totals resampled with the *same* segment draws
    (Koehn 2004's paired bootstrap). The SE is the bootstrap SD of the difference; the
    p-value is approximate randomization (segments, or clusters, swapped between A and B;
    ``n_resamples`` patterns drawn from ``rng`` unless exact).

    Returns:
        The difference, and its (B,) bootstrap distribution in normalized units.
    """
    from lm_eval_mtl.stats.corpus import corpus_score

    score_a, score_b = float(corpus_score(a)), float(corpus_score(b))
    sa, sb = a.score_totals(boot_a), b.score_totals(boot_b)
    boot = scale * (sa - sb)
    diff = scale * (score_a - score_b)
    se = float(np.std(boot, ddof=1)) if boot.size > 1 else math.nan
    lo, hi = _percentile_bounds(boot, confidence_level)
    res = PairedDifference(
        task=task,
        diff=diff,
        se=se,
        ci=ConfidenceInterval(float(lo), float(hi)),
        p_value=corpus_randomization_test(a, b, clusters=clusters, n_resamples=n_resamples, rng=rng).p_value,
        mde=minimum_detectable_effect(se, confidence_level),
        n=a.n,
        method=RANDOMIZATION,
        mean_a=score_a,
        mean_b=score_b,
        se_unpaired=scale * math.sqrt(float(np.var(sa, ddof=1) + np.var(sb, ddof=1))),
    )
    return res, boot


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


def paired_columns(
    d: FloatArray,
    *,
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    confidence_level: float,
    n_resamples: int,
    rng: np.random.Generator | Sequence[np.random.Generator],
) -> PairedColumns:
    """Paired statistics of every column of per-item differences at once.

    The column form of :func:`paired_from_arrays`: the SE is
    :func:`~lm_eval_mtl.stats.intervals.se_mean_columns`, the interval the percentile
    bootstrap of each column (columns resampled independently), the p-value exact McNemar
    when every difference is -1, 0 or 1 and there are no clusters, else the sign-flip test
    (:func:`~lm_eval_mtl.stats.permutation.sign_flip_p_values`). With 2 to 19 clusters the
    interval and p-value of each column are the wild cluster bootstrap-t's (method ``WILD``).

    Args:
        d: (n, k) raw per-item differences, finite.
        scale: 1 / (ceiling - chance).
        clusters: Cluster index per item (0..C-1), or None.
        confidence_level: In (0, 1).
        n_resamples: Bootstrap resamples and random sign patterns.
        rng: Generator (bootstrap first, then the sign flips); or one generator per column,
            each column then drawn from its own as if alone (keyed streams of study cells).

    Returns:
        The :class:`PairedColumns`.
    """
    one: np.random.Generator | None = rng if isinstance(rng, np.random.Generator) else None
    gens: list[np.random.Generator] | None = None if isinstance(rng, np.random.Generator) else list(rng)
    if gens is not None and len(gens) != d.shape[1]:
        raise ValueError(f"`rng` must be one generator or one per column ({d.shape[1]}); got {len(gens)}.")
    if one is not None:
        boot = scale * resample_column_means(d, n_resamples, one, clusters, joint=False)
    else:
        assert gens is not None  # noqa: S101 - one or the other
        boot = scale * np.column_stack(
            [
                resample_column_means(d[:, [k]], n_resamples, g, clusters, joint=False)[:, 0]
                for k, g in enumerate(gens)
            ]
        ).reshape(n_resamples, d.shape[1])

    def col_rng(k: int) -> np.random.Generator:
        return one if one is not None else gens[k]  # type: ignore[index]

    delta = scale * d.mean(axis=0)
    se = scale * se_mean_columns(d, clusters)
    lo, hi = _percentile_bounds(boot, confidence_level)
    method: DiffMethod
    g = int(np.unique(clusters).size) if clusters is not None else None
    if clusters is None and bool(np.all((d == 0) | (d == 1) | (d == -1))):
        p, method = mcnemar_vector(d), "mcnemar"
    elif clusters is not None and g is not None and 2 <= g < FINE_CLUSTERS:
        # few clusters: per column, the wild cluster bootstrap-t interval and p (as paired_from_arrays)
        from lm_eval_mtl.stats.wild import wild_cluster_bootstrap

        p = np.empty(d.shape[1])
        for k in range(d.shape[1]):
            wild = wild_cluster_bootstrap(
                d[:, k], clusters, confidence_level=confidence_level, n_resamples=n_resamples, rng=col_rng(k)
            )
            p[k], lo[k], hi[k] = wild.p_value, scale * wild.ci.low, scale * wild.ci.high
        method = WILD
    else:
        if one is not None:
            p = sign_flip_p_values(d, clusters=clusters, n_resamples=n_resamples, rng=one)
        else:
            p = np.concatenate(
                [
                    sign_flip_p_values(d[:, [k]], clusters=clusters, n_resamples=n_resamples, rng=col_rng(k))
                    for k in range(d.shape[1])
                ]
            )
        method = SIGN_FLIP
    return PairedColumns(delta, se, lo, hi, p, method, boot)


def corpus_columns(
    corpus: Sequence[CorpusStats],
    *,
    scale: float,
    clusters: npt.NDArray[np.int64] | None,
    confidence_level: float,
    n_resamples: int,
    rng: np.random.Generator,
) -> PairedColumns:
    """Corpus metric: score(M_j) - score(M_0) for every j at once, from one segment bootstrap.

    The column form of :func:`corpus_from_totals`: every run's segment totals are
    resampled with the same draws; the p-values are approximate randomization tests of
    each run against the reference.

    Args:
        corpus: The reference first, then every compared run (same segments).
        scale: 1 / (ceiling - chance).
        clusters: Cluster index per segment, or None.
        confidence_level: In (0, 1).
        n_resamples: Bootstrap resamples and random swap patterns.
        rng: Generator (bootstrap first, then each randomization test in turn).

    Returns:
        The :class:`PairedColumns` (k = len(corpus) - 1).
    """
    from lm_eval_mtl.stats.corpus import corpus_score

    totals = resample_totals([c.stats for c in corpus], n_resamples, rng, clusters)
    s0 = float(corpus_score(corpus[0]))
    b0 = corpus[0].score_totals(totals[0])
    delta = np.array([scale * (float(corpus_score(c)) - s0) for c in corpus[1:]])
    boot = np.column_stack(
        [scale * (c.score_totals(t) - b0) for c, t in zip(corpus[1:], totals[1:], strict=True)]
    )
    se = boot.std(axis=0, ddof=1) if n_resamples > 1 else np.full(delta.shape, np.nan)
    lo, hi = _percentile_bounds(boot, confidence_level)
    p = np.array(
        [
            corpus_randomization_test(
                c, corpus[0], clusters=clusters, n_resamples=n_resamples, rng=rng
            ).p_value
            for c in corpus[1:]
        ]
    )
    return PairedColumns(delta, se, lo, hi, p, RANDOMIZATION, boot)


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
