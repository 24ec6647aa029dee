"""The affinity matrices from per-item projected gradients and losses (numpy only).

Inputs per task t: the projected per-item loss gradients phi_ti (n_t x d), the per-item losses
l_ti at theta, and (exact lookahead) the per-item losses l'_sti at theta - eta_s g_s for every
source s. With means phi_t = mean_i phi_ti and L_t = mean_i l_ti:

* cosine      C[s,t] = phi_s . phi_t / (|phi_s| |phi_t|)        (diagonal 1 by definition)
* first order F[s,t] = c * phi_s . phi_t / (|phi_s| L_t),  c = epsilon |theta_P|
  (the Taylor expansion of the lookahead: L_t(theta - eta_s g_s) ~ L_t - eta_s g_s . g_t)
* exact TAG   A[s,t] = 1 - mean_i l'_sti / L_t   (L_t from the same computation as l', when given)

Intervals: percentile bootstrap. For C and F every task's items are resampled independently
(:func:`~lm_eval_mtl.stats.joint.resample_column_means` on the columns [phi_ti, l_ti]), in
memory-bounded chunks; for A the target's items are resampled (before and after losses jointly)
with the source's update held fixed. Reliability: over random half splits of every task's items,
each cell's value on the first halves (a) and on the second halves (b); per cell the agreement
rho = 2 sum ab / sum (a^2 + b^2) (1: the halves agree, 0: they are unrelated noise around 0),
Spearman-Brown adjusted to the full sample, 2 rho / (1 + rho) (a negative rho is kept as it is); for the matrix, the Pearson
correlation of the off-diagonal cells of the two halves, averaged over splits, Spearman-Brown
adjusted. A's halves split the target's items only.
"""

from __future__ import annotations

import contextlib
import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.affinity.result import AffinityMeasure, MeasureName
from lm_eval_mtl.errors import DegenerateDataWarning
from lm_eval_mtl.stats._common import as_generator
from lm_eval_mtl.stats.intervals import percentile_interval
from lm_eval_mtl.stats.joint import resample_column_means

__all__ = ["CellInputs", "CellResults", "affinity_cells"]

FloatArray = npt.NDArray[np.float64]
_CHUNK_BYTES = 64 << 20
_GRAM_BYTES = 64 << 20  # the Gram matrices of all tasks' items at most (else feature space)
_SMALL_WORK = 2e9  # multiply-adds below which the products run on one BLAS thread (~0.2 s at most)
_FORMULAS: dict[MeasureName, str] = {
    "cosine": "C[s,t] = cos(mean projected gradient of s, mean projected gradient of t)",
    "first_order": "F[s,t] = eps*|theta| * (Pg_s . Pg_t) / (|Pg_s| * L_t)  (first-order lookahead)",
    "tag": "A[s,t] = 1 - L_t(theta - eta_s g_s) / L_t(theta),  eta_s = eps*|theta|/|g_s|  (exact TAG lookahead)",
}
_INTERVALS: dict[MeasureName, str] = {
    "cosine": "percentile bootstrap, items of each task resampled independently",
    "first_order": "percentile bootstrap, items of each task resampled independently",
    "tag": "percentile bootstrap over the target's items (before/after losses jointly); the source's update held fixed",
}


@dataclass(frozen=True)
class CellInputs:
    """Per-task arrays the matrices are computed from (tasks in order; sources = targets)."""

    features: Sequence[FloatArray]
    """Per task, (n_t, d) projected per-item loss gradients."""
    losses: Sequence[FloatArray]
    """Per task, (n_t,) per-item losses at theta."""
    after: Sequence[FloatArray] | None
    """Per target, (S, n_t) per-item losses after each source's step; None without the exact lookahead."""
    step_scale: float
    """epsilon * |theta_P| (the first-order coefficient)."""
    before: Sequence[FloatArray] | None = None
    """Per target, (n_t,) per-item losses at theta computed as ``after`` is (the TAG denominator);
    None: ``losses``."""


@dataclass(frozen=True)
class CellResults:
    """The measures and each task's split-half cosine."""

    measures: dict[MeasureName, AffinityMeasure]
    """cosine, first_order and (with the exact lookahead) tag."""
    split_half_cosine: FloatArray
    """(T,) per task: mean over splits of cos(half-A mean gradient, half-B mean gradient)."""
    projected_norm: FloatArray
    """(T,) |mean projected gradient|."""


def _cos_fo(g: FloatArray, loss: FloatArray, scale: float) -> tuple[FloatArray, FloatArray]:
    """Cosine and first-order matrices from (..., T, d) mean gradients and (..., T) mean losses."""
    return _from_dots(np.einsum("...sd,...td->...st", g, g), loss, scale)


def _from_dots(dots: FloatArray, loss: FloatArray, scale: float) -> tuple[FloatArray, FloatArray]:
    """Cosine and first-order matrices from (..., T, T) dot products of mean gradients and (..., T) mean losses."""
    norms = np.sqrt(np.maximum(np.einsum("...tt->...t", dots), 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        cos = dots / (norms[..., :, None] * norms[..., None, :])
        fo = scale * dots / (norms[..., :, None] * loss[..., None, :])
    return cos, fo


def _dots(w: Sequence[FloatArray], gram: Sequence[Sequence[FloatArray]]) -> FloatArray:
    """(K, T, T) dot products of the means with weights w[t] (K, n_t): w_s G_st w_t."""
    t_count = len(w)
    out = np.empty((w[0].shape[0], t_count, t_count))
    for s in range(t_count):
        for t in range(s, t_count):
            out[:, s, t] = out[:, t, s] = np.einsum("ki,ki->k", w[s] @ gram[s][t], w[t])
    return out


def _resample_weights(n: int, n_resamples: int, rng: np.random.Generator) -> FloatArray:
    """(B, n) bootstrap weights (counts / n), the draws resample_column_means makes for a many-column array."""
    eye = np.zeros((n, max(n, 4)))
    eye[:, :n] = np.eye(n)
    return resample_column_means(eye, n_resamples, rng)[:, :n]


def _tag(after_t: FloatArray, loss_t: float | FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(1.0 - after_t / loss_t, dtype=np.float64)


def _intervals(boot: FloatArray, level: float) -> tuple[FloatArray, FloatArray]:
    s_count, t_count = boot.shape[1:]
    lo = np.full((s_count, t_count), math.nan)
    hi = np.full((s_count, t_count), math.nan)
    for s in range(s_count):
        for t in range(t_count):
            col = boot[:, s, t]
            if np.isfinite(col).all():
                lo[s, t], hi[s, t] = percentile_interval(col, level)
    return lo, hi


def _agreement(sab: FloatArray, saa: FloatArray) -> FloatArray:
    with np.errstate(divide="ignore", invalid="ignore"):
        rho = 2.0 * sab / saa
    rho = np.clip(rho, -1.0, 1.0)
    # Spearman-Brown is defined for a non-negative split-half agreement; a negative one (the
    # halves disagree in sign more than they agree) is reported unadjusted.
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rho > 0.0, 2.0 * rho / (1.0 + rho), rho)


def _spearman_brown(r: float) -> float:
    if not math.isfinite(r):
        return math.nan
    return 2.0 * r / (1.0 + r) if r > 0 else r


class _Reliability:
    """Running sums of the split-half statistics of one measure."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.sab = np.zeros(shape)
        self.saa = np.zeros(shape)
        self.corrs: list[float] = []
        self.off = ~np.eye(shape[0], shape[1], dtype=bool)

    def add(self, a: FloatArray, b: FloatArray) -> None:
        self.sab += a * b
        self.saa += a * a + b * b
        x, y = a[self.off], b[self.off]
        ok = np.isfinite(x) & np.isfinite(y)
        if ok.sum() >= 3 and np.std(x[ok]) > 0 and np.std(y[ok]) > 0:
            self.corrs.append(float(np.corrcoef(x[ok], y[ok])[0, 1]))

    def result(self) -> tuple[FloatArray, float]:
        matrix = float(np.mean(self.corrs)) if self.corrs else math.nan
        return _agreement(self.sab, self.saa), _spearman_brown(matrix)


def _blas_threads(work: float) -> Any:
    """One BLAS thread for small products (threads there only cost, and stall on a loaded machine)."""
    if work > _SMALL_WORK:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def affinity_cells(
    inputs: CellInputs,
    *,
    confidence_level: float,
    n_resamples: int,
    n_splits: int,
    rng: np.random.Generator | int | None,
) -> CellResults:
    """Compute the matrices, their bootstrap intervals and their split-half reliabilities.

    Args:
        inputs: The per-task arrays.
        confidence_level: Interval level.
        n_resamples: Bootstrap resamples.
        n_splits: Random half splits.
        rng: Generator or seed (the bootstrap and the splits).

    Returns:
        The :class:`CellResults`.

    Warns:
        DegenerateDataWarning: A task with fewer than 4 items (no split-half reliability), a zero
            mean gradient (its cosines are NaN).
    """
    n_items = [int(np.shape(f)[0]) for f in inputs.features]
    d = int(np.shape(inputs.features[0])[1]) if inputs.features else 0
    work = float(sum(n_items)) ** 2 * d + float(n_resamples + n_splits) * sum(n_items) ** 2
    with _blas_threads(work):
        return _affinity_cells(
            inputs, confidence_level=confidence_level, n_resamples=n_resamples, n_splits=n_splits, rng=rng
        )


def _affinity_cells(
    inputs: CellInputs,
    *,
    confidence_level: float,
    n_resamples: int,
    n_splits: int,
    rng: np.random.Generator | int | None,
) -> CellResults:
    """:func:`affinity_cells` (the BLAS threads set)."""
    feats = [np.asarray(f, dtype=np.float64) for f in inputs.features]
    losses = [np.asarray(x, dtype=np.float64) for x in inputs.losses]
    t_count = len(feats)
    d = feats[0].shape[1]
    gen = as_generator(rng)
    boot_gens = gen.spawn(t_count)
    tag_gens = gen.spawn(t_count)
    split_gens = gen.spawn(t_count)
    scale = float(inputs.step_scale)
    g_mean = np.stack([f.mean(axis=0) for f in feats])
    l_mean = np.array([x.mean() for x in losses])
    cos, fo = _cos_fo(g_mean, l_mean, scale)
    norms = np.sqrt((g_mean**2).sum(axis=1))
    zero = [t for t, n in enumerate(norms) if not n > 0]
    if zero:
        warnings.warn(
            f"task(s) at position {zero} have a zero mean gradient: their cosines and first-order cells are NaN.",
            DegenerateDataWarning,
            stacklevel=3,
        )
    np.fill_diagonal(cos, np.where(norms > 0, 1.0, np.nan))
    # bootstrap over items, in chunks of resamples. With fewer items than dimensions, a resample is
    # a weight row w (n_t,) (the same draws as resample_column_means on the columns [phi_ti, l_ti]),
    # and the dot products of resampled mean gradients are w_s G_st w_t with the Gram matrices
    # G_st = phi_s phi_t^T: no (B, T, d) array of resampled means.
    n_max = max(f.shape[0] for f in feats)
    use_gram = d >= 3 and n_max <= d and sum(f.shape[0] for f in feats) ** 2 * 8 <= _GRAM_BYTES
    gram = [[feats[a] @ feats[b].T for b in range(t_count)] for a in range(t_count)] if use_gram else []
    per_resample = t_count * (d + 1) * 8 * 3
    chunk = max(1, min(n_resamples, _CHUNK_BYTES // max(per_resample, 1)))
    boot_cos = np.empty((n_resamples, t_count, t_count))
    boot_fo = np.empty((n_resamples, t_count, t_count))
    for start in range(0, n_resamples, chunk):
        nb = min(chunk, n_resamples - start)
        if use_gram:
            weights = [_resample_weights(feats[t].shape[0], nb, boot_gens[t]) for t in range(t_count)]
            l_b = np.stack([w @ x for w, x in zip(weights, losses, strict=True)], axis=1)
            c_b, f_b = _from_dots(_dots(weights, gram), l_b, scale)
        else:
            means = [
                resample_column_means(np.column_stack([feats[t], losses[t]]), nb, boot_gens[t])
                for t in range(t_count)
            ]
            g_b = np.stack([m[:, :d] for m in means], axis=1)
            c_b, f_b = _cos_fo(g_b, np.stack([m[:, d] for m in means], axis=1), scale)
        boot_cos[start : start + nb] = c_b
        boot_fo[start : start + nb] = f_b
    cos_lo, cos_hi = _intervals(boot_cos, confidence_level)
    fo_lo, fo_hi = _intervals(boot_fo, confidence_level)
    del boot_cos, boot_fo
    tag = tag_lo = tag_hi = None
    if inputs.after is not None:
        after = [np.asarray(a, dtype=np.float64) for a in inputs.after]
        base = losses if inputs.before is None else [np.asarray(x, dtype=np.float64) for x in inputs.before]
        tag = np.column_stack([_tag(after[t].mean(axis=1), base[t].mean()) for t in range(t_count)])
        boot_tag = np.empty((n_resamples, t_count, t_count))
        for t in range(t_count):
            cols = np.column_stack([base[t], after[t].T])
            m = resample_column_means(cols, n_resamples, tag_gens[t])
            boot_tag[:, :, t] = _tag(m[:, 1:], m[:, :1])
        tag_lo, tag_hi = _intervals(boot_tag, confidence_level)
    # split halves
    shape = (t_count, t_count)
    rel: dict[MeasureName, _Reliability] = {m: _Reliability(shape) for m in ("cosine", "first_order", "tag")}
    halves_cos = np.zeros(t_count)
    small = [t for t in range(t_count) if feats[t].shape[0] < 4]
    if small:
        warnings.warn(
            f"{len(small)} task(s) have fewer than 4 items: no split-half reliability (NaN).",
            DegenerateDataWarning,
            stacklevel=3,
        )
    if not small and n_splits > 0:
        wa, wb = [], []  # per task, (n_splits, n_t) weights of the first and second halves
        for t in range(t_count):
            n = feats[t].shape[0]
            perms = np.stack([split_gens[t].permutation(n) for _ in range(n_splits)])
            rows = np.arange(n_splits)[:, None]
            w = np.zeros((2, n_splits, n))
            w[0, rows, perms[:, : n // 2]] = 1.0 / (n // 2)
            w[1, rows, perms[:, n // 2 : 2 * (n // 2)]] = 1.0 / (n // 2)
            wa.append(w[0])
            wb.append(w[1])
        la = np.stack([w @ x for w, x in zip(wa, losses, strict=True)], axis=1)
        lb = np.stack([w @ x for w, x in zip(wb, losses, strict=True)], axis=1)
        if use_gram:
            dots_a, dots_b = _dots(wa, gram), _dots(wb, gram)
            ab = np.stack([np.einsum("ki,ki->k", wa[t] @ gram[t][t], wb[t]) for t in range(t_count)], axis=1)
        else:
            ga = np.stack([w @ f for w, f in zip(wa, feats, strict=True)], axis=1)  # (n_splits, T, d)
            gb = np.stack([w @ f for w, f in zip(wb, feats, strict=True)], axis=1)
            dots_a = np.einsum("ksd,ktd->kst", ga, ga)
            dots_b = np.einsum("ksd,ktd->kst", gb, gb)
            ab = np.einsum("ktd,ktd->kt", ga, gb)
        ca, fa = _from_dots(dots_a, la, scale)
        cb, fb = _from_dots(dots_b, lb, scale)
        # per task, cos(half-a mean gradient, half-b mean gradient)
        sq = np.einsum("ktt->kt", dots_a) * np.einsum("ktt->kt", dots_b)
        with np.errstate(divide="ignore", invalid="ignore"):
            halves_cos += (ab / np.sqrt(sq)).sum(axis=0)
        if inputs.after is not None:
            # tag_a[k, s, t] = 1 - (after_t[s] on half a of t) / (base_t on half a of t)
            ta = np.stack(
                [_tag(wa[t] @ after[t].T, (wa[t] @ base[t])[:, None]) for t in range(t_count)], axis=2
            )
            tb = np.stack(
                [_tag(wb[t] @ after[t].T, (wb[t] @ base[t])[:, None]) for t in range(t_count)], axis=2
            )
        for k in range(n_splits):
            rel["cosine"].add(ca[k], cb[k])
            rel["first_order"].add(fa[k], fb[k])
            if inputs.after is not None:
                rel["tag"].add(ta[k], tb[k])
    measures: dict[MeasureName, AffinityMeasure] = {}
    computed: list[tuple[MeasureName, FloatArray | None, FloatArray | None, FloatArray | None]] = [
        ("cosine", cos, cos_lo, cos_hi),
        ("first_order", fo, fo_lo, fo_hi),
        ("tag", tag, tag_lo, tag_hi),
    ]
    for name, value, lo, hi in computed:
        if value is None or lo is None or hi is None:
            continue
        if small:
            cell_rel, matrix_rel = np.full(shape, math.nan), math.nan
        else:
            cell_rel, matrix_rel = rel[name].result()
        if name == "cosine":
            np.fill_diagonal(cell_rel, math.nan)  # cos(t, t) = 1 by definition
        measures[name] = AffinityMeasure(
            name=name,
            value=value,
            ci_low=lo,
            ci_high=hi,
            reliability=cell_rel,
            matrix_reliability=matrix_rel,
            formula=_FORMULAS[name],
            interval=_INTERVALS[name],
        )
    split_cos = halves_cos / n_splits if not small else np.full(t_count, math.nan)
    return CellResults(measures=measures, split_half_cosine=split_cos, projected_norm=norms)
