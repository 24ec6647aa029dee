"""Paired statistics of a per-item (mean) metric: one comparison, or k columns against one reference.

:func:`paired_difference` / :func:`paired_from_arrays` give a :class:`PairedDifference`
for model A against model B on one task; :func:`paired_columns` gives the same statistics
for every column of per-item differences at once (a :class:`PairedColumns`). The method
(SE, percentile bootstrap, exact McNemar, sign-flip or wild cluster bootstrap) is described
in :mod:`lm_eval_mtl.stats.paired`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import DegenerateDataWarning
from lm_eval_mtl.stats._common import ConfidenceInterval
from lm_eval_mtl.stats.clusters import FINE_CLUSTERS
from lm_eval_mtl.stats.intervals import se_mean_columns
from lm_eval_mtl.stats.joint import resample_column_means
from lm_eval_mtl.stats.multiple import mcnemar_vector
from lm_eval_mtl.stats.paired_result import (
    SIGN_FLIP,
    WILD,
    DiffMethod,
    FloatArray,
    PairedColumns,
    PairedDifference,
    _percentile_bounds,
    mcnemar_exact,
    minimum_detectable_effect,
)
from lm_eval_mtl.stats.permutation import paired_sign_flip_test, sign_flip_p_values

__all__ = ["paired_columns", "paired_difference", "paired_from_arrays"]


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
