"""Between-model task correlations, PCA and the cross-model predictive matrix.

On a population of models (a CSV panel, or lm-eval output folders, one per model),
with scores X (models x tasks):

* Pearson and Spearman correlation matrices with intervals: Fisher z for Pearson,
  tanh(atanh(r) +- z/sqrt(n - 3)); for Spearman the Fisher z approximation with the
  Bonett-Wright variance (1 + r^2/2)/(n - 3).
* The Ledoit-Wolf-shrunk Pearson matrix and its intensity delta
  (:func:`lm_eval_mtl.stats.shrinkage.ledoit_wolf_correlation`).
* The effective number of tasks of the Pearson matrix, Nyholt and Li-Ji
  (:func:`lm_eval_mtl.stats.effective.effective_number`).
* PCA, on the correlation matrix (``pca_on="correlation"``, default: the SVD of the
  column-standardized data, mean 0, ddof=0 variance 1) or on the covariance matrix of the
  raw scores (``pca_on="covariance"``: the SVD of the column-centred data, as Observational
  Scaling Laws, Ruan et al. 2024, do on raw accuracies); explained variance ratios and
  loadings. The correlation matrices, the shrunk matrix and the effective number of tasks
  are always computed on the correlation scale.
* The leave-one-model-out predictive matrix P[i, j]: the R^2 of predicting task j from
  task i by simple linear regression fitted without the held-out model,
  P[i, j] = 1 - PRESS / sum_k (y_k - ybar)^2, PRESS = sum_k (e_k / (1 - h_k))^2 (exact LOO
  residuals of least squares). Its rank version does the same on average ranks
  (ranks over the whole population). This measures co-variation across models, not
  causal transfer. A task predicted by another at P > 0.95 is flagged redundant.

Missing cells: ``missing="raise"`` (default) refuses them; ``missing="drop"`` drops the
models with gaps (listed in the result); ``impute="pca"`` fills them by regularized
iterative PCA (:func:`impute_pca`): the rank is chosen by cross-validation on 10% of the
observed cells held out (seed 0), the fit is SQUAREM-accelerated to a change below 1e-6
column SDs, and each row's imputed cells get a seeded draw of their Gaussian conditional
residual, so that the completed matrix keeps the variance and correlations of the data
(conditional means alone inflate them). Every statistic is then computed on the completed
matrix, which understates uncertainty: the result records how many cells were imputed, the
rank, the held-out error per rank, and, when at least 4 models have no gap, the complete-case
PC1 share next to the imputed one, with a note when they differ by more than 0.01.

Task columns of a CSV panel (when ``tasks`` is not given): a leaderboard export also holds
numeric columns that are not tasks. :func:`task_columns` leaves out, and the result lists
(``excluded_columns``, with a one-line note):

1. metadata by name: a column whose name contains ``#``, a heart (likes), ``param`` or
   ``flop``, or has a word among size(s), parameter(s), tokens, compute, likes, hearts,
   downloads, stars, hub, count(s), num, date, year, release, sha, id, rank, license,
   cost, price, latency, throughput, memory (words split on anything not a letter or digit);
2. metadata by value range: any ``|value| > 100`` (no accuracy, normalized score or
   percentage exceeds 100); and, when most of the remaining columns lie in [-1, 1]
   (fractions), a column with values outside [-1, 1];
3. aggregates, found numerically among the columns left: a column equal on at least 99%
   of its rows to the mean, or the sum, of the other columns present on that row (at least
   5 rows with 2 or more others present); or, on the complete rows (at least T + 4 of
   them), exactly a non-negative linear combination of 2 or more other columns (least
   squares, no intercept: a mean or sum of a subset, or a weighted mean). "Equal" means
   within the rounding of the figures: half the decimal quantum of the column plus the
   weighted half-quanta of the others (quantum = the largest 10^-k, k <= 12, of which every
   value is a multiple; 0 for unrounded floats), plus 1e-8 of the column's scale.

The filter applies to CSV panels only; a :class:`Population` or a folder of lm-eval runs
holds tasks by construction. An explicit ``tasks`` list overrides it.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError, MTLError
from lm_eval_mtl.scoring.population import DuplicatePolicy, Population, load_panel_csv, panel_header
from lm_eval_mtl.stats._common import check_confidence_level

__all__ = [
    "CorrelateOptionError",
    "CorrelationStudy",
    "ExcludedColumn",
    "Imputation",
    "PcaMatrix",
    "correlate_tasks",
    "impute_pca",
    "loo_r2_matrix",
    "task_columns",
]

FloatArray = npt.NDArray[np.float64]
REDUNDANCY_THRESHOLD = 0.95
_TOL = 1e-6
_MAX_ITER = 5000
HOLDOUT_FRACTION = 0.1
PC1_TOLERANCE = 0.01

PcaMatrix = Literal["correlation", "covariance"]
"""Matrix the PCA decomposes: correlation (standardized scores) or covariance (raw scores)."""
_PCA_MATRICES: tuple[str, ...] = ("correlation", "covariance")

ExclusionKind = Literal["metadata", "aggregate"]
_META_SUBSTRINGS: tuple[str, ...] = ("#", "\u2764", "\u2665", "param", "flop")
_META_WORDS: frozenset[str] = frozenset(
    {
        "size", "sizes", "parameter", "parameters", "tokens", "compute", "likes", "hearts",
        "downloads", "stars", "hub", "count", "counts", "num", "date", "year", "release",
        "sha", "id", "rank", "license", "cost", "price", "latency", "throughput", "memory",
    }
)  # fmt: skip
_AGG_MIN_ROWS = 5
_AGG_ROW_SHARE = 0.99


class CorrelateOptionError(MTLError, ValueError):
    """An option of :func:`correlate_tasks` has a value outside its choices."""


@dataclass(frozen=True)
class ExcludedColumn:
    """A numeric panel column left out of the default task set, and why."""

    column: str
    """Column name."""
    kind: ExclusionKind
    """``metadata`` (name or value range) or ``aggregate`` (sum / mean of other columns)."""
    reason: str
    """Human-readable reason, e.g. ``mean of ARC, GSM8K, ...``."""


@dataclass(frozen=True)
class Imputation:
    """How missing cells were filled by regularized iterative PCA (see :func:`impute_pca`)."""

    n_imputed: int
    """Number of cells filled."""
    n_components: int
    """Rank of the reconstruction (chosen by cross-validation unless given)."""
    iterations: int
    """Map evaluations of the final fit."""
    converged: bool
    """Whether the largest change fell below the tolerance."""
    max_change: float
    """Largest change of a filled cell in the last iteration (column-SD units)."""
    rank_selection: Literal["cross-validation", "fixed"] = "cross-validation"
    """How the rank was chosen: held-out cells, or ``n_components`` given."""
    candidates: tuple[int, ...] = ()
    """Ranks tried by cross-validation."""
    heldout_rmse: tuple[float, ...] = ()
    """Held-out RMSE (column-SD units) per candidate rank."""
    n_heldout: int = 0
    """Observed cells held out for the cross-validation."""
    residuals: bool = True
    """Whether conditional residual draws were added to the imputed cells."""
    seed: int = 0
    """Seed of the held-out cells and of the residual draws."""
    n_complete: int | None = None
    """Models without gaps (set by :func:`correlate_tasks`)."""
    complete_case_pc1: float | None = None
    """PC1 share of the complete rows (same PCA matrix); None when they are too few."""
    imputed_pc1: float | None = None
    """PC1 share of the completed matrix."""
    pc1_tolerance: float = PC1_TOLERANCE
    """Difference of the two PC1 shares above which a note is raised."""

    @property
    def note(self) -> str:
        """A line when the imputed and complete-case PC1 shares differ beyond the tolerance."""
        cc, imp = self.complete_case_pc1, self.imputed_pc1
        if cc is None or imp is None or abs(imp - cc) <= self.pc1_tolerance:
            return ""
        return (
            f"imputed PC1 share {imp:.3f} differs from the complete-case {cc:.3f} "
            f"({self.n_complete} models without gaps) by {imp - cc:+.3f} (tolerance "
            f"{self.pc1_tolerance:g}); the gaps may not be missing at random, or the "
            "complete rows are few"
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "method": "iterative-pca",
            "regularized": True,
            "n_imputed": self.n_imputed,
            "n_components": self.n_components,
            "rank_selection": self.rank_selection,
            "candidates": list(self.candidates),
            "heldout_rmse": list(self.heldout_rmse),
            "n_heldout": self.n_heldout,
            "iterations": self.iterations,
            "converged": self.converged,
            "max_change": self.max_change,
            "residuals": "conditional-gaussian" if self.residuals else "none",
            "seed": self.seed,
            "complete_case": {
                "n_models": self.n_complete,
                "pc1_share": self.complete_case_pc1,
                "imputed_pc1_share": self.imputed_pc1,
                "tolerance": self.pc1_tolerance,
            },
            "note": self.note,
        }


@dataclass(frozen=True)
class CorrelationStudy:
    """Correlation structure of tasks across a population of models."""

    tasks: tuple[str, ...]
    """Task names (columns)."""
    models: tuple[str, ...]
    """Models used (rows)."""
    pearson: FloatArray
    """(T, T) Pearson correlation."""
    pearson_ci_low: FloatArray
    """(T, T) Fisher-z lower bound."""
    pearson_ci_high: FloatArray
    """(T, T) Fisher-z upper bound."""
    spearman: FloatArray
    """(T, T) Spearman rank correlation."""
    spearman_ci_low: FloatArray
    """(T, T) Fisher-z (Bonett-Wright) lower bound."""
    spearman_ci_high: FloatArray
    """(T, T) upper bound."""
    shrunk: FloatArray
    """(T, T) Ledoit-Wolf-shrunk Pearson correlation."""
    shrinkage: float
    """Ledoit-Wolf intensity delta."""
    effective_nyholt: float
    """Effective number of tasks, Nyholt (2004)."""
    effective_li_ji: float
    """Effective number of tasks, Li and Ji (2005)."""
    explained_variance_ratio: FloatArray
    """(T,) PCA explained variance ratios, descending."""
    loadings: FloatArray
    """(T, T) principal axes as rows (right singular vectors)."""
    predictive_r2: FloatArray
    """(T, T) P[i, j]: LOO R^2 of task j (column) predicted from task i (row)."""
    predictive_r2_rank: FloatArray
    """(T, T) the same on ranks."""
    redundant: tuple[tuple[str, str, float], ...]
    """(task, best predictor, R^2) for tasks predicted above the threshold."""
    confidence_level: float
    """Level of the correlation intervals."""
    dropped: tuple[str, ...] = ()
    """Models dropped for gaps (``missing="drop"``)."""
    imputation: Imputation | None = None
    """Set when missing cells were imputed."""
    source: str = ""
    """Where the population came from."""
    label: str = "co-variation across models, not causal transfer"
    """What the predictive matrix measures."""
    pca_on: PcaMatrix = "correlation"
    """Matrix the PCA (explained variance ratios, loadings) was computed on."""
    excluded_columns: tuple[ExcludedColumn, ...] = ()
    """Numeric CSV columns left out of the default task set (metadata, aggregates)."""

    @property
    def notes(self) -> tuple[str, ...]:
        """One line on the columns left out, and one on an imputed / complete-case PC1 gap, if any."""
        imp_note = (self.imputation.note,) if self.imputation is not None and self.imputation.note else ()
        if not self.excluded_columns:
            return imp_note
        parts = "; ".join(f"{e.column} ({e.reason})" for e in self.excluded_columns)
        return (
            f"left out {len(self.excluded_columns)} non-task column(s): {parts}; "
            "name the columns with --tasks (tasks=) to override",
        ) + imp_note

    @property
    def n_models(self) -> int:
        """Models used."""
        return len(self.models)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        imp = self.imputation
        return {
            "tasks": list(self.tasks),
            "n_models": self.n_models,
            "source": self.source,
            "correlation": self.pearson.tolist(),
            "correlation_ci_low": self.pearson_ci_low.tolist(),
            "correlation_ci_high": self.pearson_ci_high.tolist(),
            "spearman": self.spearman.tolist(),
            "spearman_ci_low": self.spearman_ci_low.tolist(),
            "spearman_ci_high": self.spearman_ci_high.tolist(),
            "shrunk_correlation": self.shrunk.tolist(),
            "shrinkage": self.shrinkage,
            "effective_number": {
                "matrix": "correlation",
                "nyholt": self.effective_nyholt,
                "li_ji": self.effective_li_ji,
            },
            "pca_on": self.pca_on,
            "pca": {
                "matrix": self.pca_on,
                "explained_variance_ratio": self.explained_variance_ratio.tolist(),
                "loadings": self.loadings.tolist(),
            },
            "predictive_r2": self.predictive_r2.tolist(),
            "predictive_r2_rank": self.predictive_r2_rank.tolist(),
            "predictive_label": self.label,
            "redundant": [{"task": t, "predictor": p, "r2": r} for t, p, r in self.redundant],
            "confidence_level": self.confidence_level,
            "dropped": list(self.dropped),
            "excluded_columns": [
                {"column": e.column, "kind": e.kind, "reason": e.reason} for e in self.excluded_columns
            ],
            "notes": list(self.notes),
            "imputation": None if imp is None else imp.to_dict(),
        }


def _standardize(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    return (x - mu) / sd, mu, sd


def _rpca_fit(h: FloatArray, k: int) -> tuple[FloatArray, int, bool, float]:
    """Regularized iterative PCA of ``h`` (NaN = missing) at rank ``k``, SQUAREM-accelerated.

    Returns the completed matrix, the number of map evaluations, whether the fixed-point
    residual fell below the tolerance, and that residual (column-SD units).
    """
    a = h.copy()
    miss = np.isnan(a)
    rows, cols = np.nonzero(miss)
    if rows.size == 0:
        return a, 0, True, 0.0
    t = a.shape[1]
    a[rows, cols] = np.nanmean(h, axis=0)[cols]
    scale = np.nanstd(h, axis=0)[cols]
    evals = 0

    def step(theta: FloatArray) -> FloatArray:
        nonlocal evals
        evals += 1
        a[rows, cols] = theta
        mu = a.mean(axis=0)
        c = a - mu
        sd = np.sqrt(np.mean(c * c, axis=0))
        z = c / sd
        ev, v = np.linalg.eigh(z.T @ z)
        ev, v = ev[::-1], v[:, ::-1]
        sigma2 = float(np.sum(ev[k:]) / (t - k)) if k < t else 0.0
        lam = ev[:k]
        shrink = np.where(lam > 0, np.maximum(lam - sigma2, 0.0) / np.where(lam > 0, lam, 1.0), 0.0)
        proj = (v[:, :k] * shrink) @ v[:, :k].T
        rec = np.einsum("ij,ij->i", z[rows], proj[:, cols].T)
        return np.asarray(rec * sd[cols] + mu[cols], dtype=np.float64)

    def resid(new: FloatArray, old: FloatArray) -> float:
        return float(np.max(np.abs(new - old) / scale))

    start = a[rows, cols].copy()
    theta = start.copy()
    change = math.inf
    while evals < _MAX_ITER:
        t1 = step(theta)
        change = resid(t1, theta)
        if change < _TOL:
            theta = t1
            break
        t2 = step(t1)
        change = resid(t2, t1)
        if change < _TOL:
            theta = t2
            break
        r, d = t1 - theta, t2 - 2 * t1 + theta
        dd = float(d @ d)
        alpha = min(-math.sqrt(float(r @ r) / dd), -1.0) if dd > 0 else -1.0
        extra = theta - 2 * alpha * r + alpha * alpha * d
        t3 = step(extra) if np.all(np.isfinite(extra)) else t2
        c3 = resid(t3, extra) if np.all(np.isfinite(t3)) else math.inf
        if c3 <= change:  # accept the extrapolation; otherwise keep the plain EM step
            theta, change = t3, c3
            if change < _TOL:
                break
        else:
            theta = t2
    if change >= _TOL:  # SQUAREM can cycle near rank T - 1: restart with plain EM steps
        theta = start
        while evals < 2 * _MAX_ITER:
            t1 = step(theta)
            change, theta = resid(t1, theta), t1
            if change < _TOL:
                break
    a[rows, cols] = theta
    return a, evals, change < _TOL, change


def _pairwise_correlation(h: FloatArray, fallback: FloatArray) -> FloatArray:
    """Pairwise-complete correlations of ``h`` (``fallback`` where a pair has < 3 rows), made PSD."""
    t = h.shape[1]
    obs = ~np.isnan(h)
    r = np.asarray(np.corrcoef(fallback, rowvar=False), dtype=np.float64)
    for i in range(t):
        for j in range(i + 1, t):
            ok = obs[:, i] & obs[:, j]
            if ok.sum() >= 3 and h[ok, i].std() > 0 and h[ok, j].std() > 0:
                r[i, j] = r[j, i] = float(np.corrcoef(h[ok, i], h[ok, j])[0, 1])
    w, u = np.linalg.eigh((r + r.T) / 2)
    r = (u * np.maximum(w, 1e-10)) @ u.T
    d = np.sqrt(np.diag(r))
    return np.asarray(r / np.outer(d, d), dtype=np.float64)


def _draw_residuals(filled: FloatArray, h: FloatArray, seed: int) -> FloatArray:
    """Add to each row's imputed cells a draw of their Gaussian conditional residual."""
    miss = np.isnan(h)
    out = filled.copy()
    sd = np.nanstd(h, axis=0)
    corr = _pairwise_correlation(h, filled)
    rng = np.random.default_rng(seed)
    patterns, inverse = np.unique(miss, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    for p, pat in enumerate(patterns):
        if not pat.any():
            continue
        idx = np.flatnonzero(inverse == p)
        m, o = np.flatnonzero(pat), np.flatnonzero(~pat)
        cov = corr[np.ix_(m, m)]
        if o.size:
            cov = cov - corr[np.ix_(m, o)] @ np.linalg.solve(corr[np.ix_(o, o)], corr[np.ix_(o, m)])
        w, u = np.linalg.eigh((cov + cov.T) / 2)
        root = u * np.sqrt(np.maximum(w, 0.0))
        e = rng.standard_normal((idx.size, m.size)) @ root.T
        out[np.ix_(idx, m)] += e * sd[m]
    return out


def impute_pca(
    x: npt.ArrayLike,
    n_components: int | None = None,
    *,
    residuals: bool = False,
    holdout: float = HOLDOUT_FRACTION,
    seed: int = 0,
) -> tuple[FloatArray, Imputation]:
    """Fill NaN cells of ``x`` (models x tasks) by regularized iterative PCA.

    Point prediction: regularized iterative PCA (Josse and Husson 2012, J. SFdS 153(2),
    "Handling missing values in exploratory multivariate data analysis methods"; the default
    of R's missMDA): start from column means; repeat {standardize, keep the first k
    components with singular values shrunk as lambda_s -> lambda_s - sigma^2 (sigma^2 the
    mean of the T - k trailing eigenvalues), replace the missing cells}. The shrinkage keeps
    rows with few observed cells from being fitted exactly, which makes the unregularized
    hard-rank iteration overfit (on the Open LLM v1 panel with 20% gaps its held-out error
    grows from rank 1 to 2, so cross-validation would keep the biased rank 1) and converge
    slowly; hard-rank soft-impute (Mazumder et al. 2010) shrinks every component by the same
    amount, PC1 included, which biases PC1 the most. The map is accelerated by SQUAREM
    (Varadhan and Roland 2008) with a fall-back to the plain step (and, should the accelerated
    run not converge in 5000 map evaluations, a restart with plain steps for 5000 more); it
    stops when the largest change of a filled cell, in column-SD units, is below 1e-6 (else a
    DegenerateDataWarning).

    Rank: by cross-validation (``n_components=None``): ``holdout`` of the observed cells
    (seeded by ``seed``) are hidden, the matrix is imputed at each rank 1..T-1, and the rank
    with the smallest held-out RMSE (column-SD units) is found; the smallest rank whose mean
    squared held-out error is within one standard error of it (paired over the held-out cells;
    the one-standard-error rule of Hastie, Tibshirani and Friedman 2009, section 7.10) is
    chosen, so that ranks past the true one, whose errors are flat, are not picked by noise.
    The final fit uses every observed cell.

    Residuals (``residuals=True``; :func:`correlate_tasks` asks for them): the point prediction estimates a conditional mean,
    so a completed matrix of predictions lacks the residual variance of the cells it fills and
    overstates correlations and the PC1 share (20% gaps on the Open LLM v1 panel: +0.017 to
    +0.021 at every rank). Each row's imputed cells therefore get a draw (seeded by ``seed``)
    of their Gaussian conditional residual given the row's observed cells, with the
    pairwise-complete correlation matrix (made positive semi-definite) and the observed column
    SDs, as in multiple imputation with PCA (Josse, Pages and Husson 2011, ADAC 5). The result
    is then unbiased for second-moment statistics (PC1 share bias within 0.005 there), at the
    cost of noisier single cells. ``residuals=False`` (default here: the best single-cell
    predictions) returns the point predictions.

    Args:
        x: Scores, NaN for missing cells.
        n_components: Rank of the reconstruction (1..T); ``None``: cross-validated.
        residuals: Add conditional residual draws to the imputed cells.
        holdout: Fraction of the observed cells held out to choose the rank, in (0, 0.5].
        seed: Seed of the held-out cells and of the residual draws.

    Returns:
        The completed matrix and its :class:`Imputation` record.

    Raises:
        InsufficientDataError: A column has fewer than 2 observed values, or fewer than 3 rows.
        ValueError: ``n_components`` outside [1, T] or ``holdout`` outside (0, 0.5].
    """
    a = np.array(x, dtype=np.float64)
    miss = np.isnan(a)
    n, t = a.shape
    if n < 3 or t < 2:
        raise InsufficientDataError(f"PCA imputation needs at least 3 models and 2 tasks; got {n} x {t}.")
    n_obs = np.sum(~miss, axis=0)
    empty = np.flatnonzero(n_obs < 2)
    if empty.size:
        raise InsufficientDataError(
            f"column(s) {empty.tolist()} have fewer than 2 observed values; cannot impute."
        )
    if n_components is not None and not 1 <= n_components <= t:
        raise ValueError(f"`n_components` must be in [1, {t}]; got {n_components}.")
    if not 0 < holdout <= 0.5:
        raise ValueError(f"`holdout` must be in (0, 0.5]; got {holdout}.")
    if not miss.any():
        return a, Imputation(0, n_components or 1, 0, True, 0.0, residuals=False, seed=seed)
    candidates: tuple[int, ...] = ()
    errors: tuple[float, ...] = ()
    n_held = 0
    k = n_components
    if k is None:
        candidates = tuple(range(1, t))
        held = _holdout_cells(miss, holdout, seed)
        n_held = int(held[0].size)
        if len(candidates) > 1 and n_held:
            sd = np.nanstd(a, axis=0)
            h = a.copy()
            h[held] = np.nan
            truth = a[held]
            sq = np.array([((_rpca_fit(h, c)[0][held] - truth) / sd[held[1]]) ** 2 for c in candidates])
            errors = tuple(float(e) for e in np.sqrt(sq.mean(axis=1)))
            best = int(np.argmin(errors))
            k = candidates[best]
            for i, c in enumerate(candidates[:best]):  # one-standard-error rule, paired by cell
                diff = sq[i] - sq[best]
                if diff.mean() <= diff.std(ddof=1) / math.sqrt(diff.size):
                    k = c
                    break
        else:
            k = 1
    filled, it, converged, change = _rpca_fit(a, k)
    if not converged:
        warnings.warn(
            DegenerateDataWarning(
                f"iterative PCA imputation (rank {k}) did not converge in {it} iterations "
                f"(last change {change:.2g} SD)."
            ),
            stacklevel=2,
        )
    if residuals:
        filled = _draw_residuals(filled, a, seed)
    return filled, Imputation(
        n_imputed=int(miss.sum()),
        n_components=k,
        iterations=it,
        converged=converged,
        max_change=change,
        rank_selection="fixed" if n_components is not None else "cross-validation",
        candidates=candidates,
        heldout_rmse=errors,
        n_heldout=n_held,
        residuals=residuals,
        seed=seed,
    )


def _holdout_cells(
    miss: npt.NDArray[np.bool_], fraction: float, seed: int
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """Pick a seeded random ``fraction`` of the observed cells, leaving each column 2 observed."""
    t = miss.shape[1]
    obs = np.flatnonzero(~miss.ravel())
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(obs, size=max(1, round(fraction * obs.size)), replace=False))
    r, c = np.divmod(pick, t)
    left = np.sum(~miss, axis=0) - np.bincount(c, minlength=t)
    bad = np.isin(c, np.flatnonzero(left < 2))
    return r[~bad], c[~bad]


def _with_complete_case(imp: Imputation, x: FloatArray, pc1: float, pca_on: PcaMatrix) -> Imputation:
    """``imp`` with the PC1 share of the rows of ``x`` without gaps, next to the imputed one."""
    cc = x[~np.isnan(x).any(axis=1)]
    share: float | None = None
    if cc.shape[0] >= 4 and np.all(cc.std(axis=0) > 0):
        z = _standardize(cc)[0] if pca_on == "correlation" else cc - cc.mean(axis=0)
        sv = np.linalg.svd(z, compute_uv=False)
        share = float(sv[0] ** 2 / np.sum(sv**2))
    return replace(imp, n_complete=int(cc.shape[0]), complete_case_pc1=share, imputed_pc1=pc1)


def _metadata_name(name: str) -> str | None:
    low = name.lower()
    for sub in _META_SUBSTRINGS:
        if sub in low:
            return f"metadata name ({sub!r})"
    words = set(re.split(r"[^0-9a-z]+", low)) & _META_WORDS
    if words:
        return f"metadata name ({', '.join(sorted(words))})"
    return None


def _quantum(col: FloatArray) -> float:
    """Largest 10^-k (k <= 12) of which every finite value is a multiple; 0 if none."""
    v = col[np.isfinite(col)]
    for k in range(13):
        scaled = v * 10.0**k
        if np.all(np.abs(scaled - np.round(scaled)) <= 1e-6 + 1e-13 * np.abs(scaled)):
            return float(10.0**-k)
    return 0.0


def _aggregate_reason(
    j: int, x: FloatArray, names: Sequence[str], others: Sequence[int], quanta: FloatArray
) -> str | None:
    """Why column ``j`` is a mean / sum / combination of ``others``, or None."""
    if len(others) < 2:
        return None
    from scipy.optimize import nnls

    c = x[:, j]
    o = x[:, list(others)]
    q_o = quanta[list(others)]
    scale = float(np.nanmax(np.abs(c))) if np.isfinite(c).any() else 0.0
    floor = 1e-8 * scale
    q_c = float(quanta[j])
    present = ~np.isnan(o)
    k = present.sum(axis=1)
    rows = ~np.isnan(c) & (k >= 2)
    if int(rows.sum()) >= _AGG_MIN_ROWS:
        filled = np.where(present, o, 0.0)[rows]
        kr, cr = k[rows], c[rows]
        tol_mean = 0.5 * (q_c + float(q_o.max())) + floor
        tol_sum = 0.5 * (q_c + kr * float(q_o.max())) + floor
        if np.mean(np.abs(cr - filled.sum(axis=1) / kr) <= tol_mean) >= _AGG_ROW_SHARE:
            return "mean of the other task columns present on each row"
        if np.mean(np.abs(cr - filled.sum(axis=1)) <= tol_sum) >= _AGG_ROW_SHARE:
            return "sum of the other task columns present on each row"
    full = ~np.isnan(c) & present.all(axis=1)
    if int(full.sum()) < len(others) + 4:
        return None
    a, b = o[full], c[full]
    w, _ = nnls(a, b)
    tol = 0.5 * (q_c + float(np.abs(w) @ q_o)) + floor
    if not np.all(np.abs(b - a @ w) <= tol):
        return None
    big = w > 0.02 * float(np.max(w))
    if int(big.sum()) < 2:
        return None
    used = [names[others[i]] for i in np.flatnonzero(big).tolist()]
    ws = w[big]
    if np.all(np.abs(ws - ws.mean()) <= 0.02 * ws.mean()):
        if abs(ws.mean() * len(ws) - 1) <= 0.02:
            return f"mean of {', '.join(used)}"
        if abs(ws.mean() - 1) <= 0.02:
            return f"sum of {', '.join(used)}"
    return f"weighted combination of {', '.join(used)}"


def task_columns(
    names: Sequence[str], scores: npt.ArrayLike
) -> tuple[tuple[str, ...], tuple[ExcludedColumn, ...]]:
    """Split numeric panel columns into task columns and the ones left out.

    The rules (metadata names, value ranges, aggregates) are in the module docstring. An
    aggregate is looked for among the columns not excluded by name, against the columns
    excluded neither by name nor by value range nor as aggregates (repeated until no new
    one is found); its reason takes precedence over a value-range one (a sum of
    percentages exceeds 100).

    Args:
        names: Column names.
        scores: (models x columns) values; NaN marks an empty cell.

    Returns:
        The task column names (in their order) and the excluded columns with reasons.

    Raises:
        ValueError: ``scores`` does not have one column per name.
    """
    x = np.asarray(scores, dtype=np.float64)
    cols = list(names)
    if x.ndim != 2 or x.shape[1] != len(cols):
        raise ValueError(f"`scores` must be (models x {len(cols)}); got shape {x.shape}.")
    excluded: dict[int, ExcludedColumn] = {}
    for j, name in enumerate(cols):
        why = _metadata_name(name)
        if why is not None:
            excluded[j] = ExcludedColumn(name, "metadata", why)
    top = np.array(
        [float(np.nanmax(np.abs(x[:, j]))) if np.isfinite(x[:, j]).any() else 0.0 for j in range(len(cols))]
    )
    by_range: dict[int, ExcludedColumn] = {}
    for j, name in enumerate(cols):
        if j not in excluded and top[j] > 100:
            by_range[j] = ExcludedColumn(
                name, "metadata", f"values up to {top[j]:.4g} exceed 100, not a score"
            )
    rest = [j for j in range(len(cols)) if j not in excluded and j not in by_range]
    fractions = [j for j in rest if top[j] <= 1.0]
    if 2 * len(fractions) > len(rest):
        for j in rest:
            if top[j] > 1.0:
                by_range[j] = ExcludedColumn(
                    cols[j],
                    "metadata",
                    f"values up to {top[j]:.4g} outside [-1, 1], the range of most columns",
                )
    scored = [j for j in range(len(cols)) if j not in excluded and j not in by_range]
    quanta = np.array([_quantum(x[:, j]) for j in range(len(cols))])
    found = True
    while found:  # an aggregate among the others can hide another: repeat without those found
        found = False
        for j in range(len(cols)):
            if j in excluded:
                continue
            others = [i for i in scored if i != j and i not in excluded]
            why = _aggregate_reason(j, x, cols, others, quanta)
            if why is not None:
                excluded[j] = ExcludedColumn(cols[j], "aggregate", why)
                found = True
    excluded.update({j: e for j, e in by_range.items() if j not in excluded})
    kept = tuple(c for j, c in enumerate(cols) if j not in excluded)
    return kept, tuple(excluded[j] for j in sorted(excluded))


def loo_r2_matrix(x: npt.ArrayLike) -> FloatArray:
    """P[i, j]: leave-one-out R^2 of column j predicted from column i by simple regression.

    Exact LOO residuals of least squares, e_k / (1 - h_k), h_k = 1/n + (x_k - xbar)^2 / Sxx.
    """
    a = np.asarray(x, dtype=np.float64)
    n, t = a.shape
    c = a - a.mean(axis=0)
    sst = np.sum(c**2, axis=0)
    out = np.empty((t, t))
    for i in range(t):
        xi = c[:, i]
        sxx = float(xi @ xi)
        b = (xi @ c) / sxx
        resid = c - np.outer(xi, b)
        h = 1.0 / n + xi**2 / sxx
        press = np.sum((resid / (1 - h)[:, None]) ** 2, axis=0)
        out[i] = 1 - press / sst
    return out


def _fisher_ci(r: FloatArray, se: FloatArray | float, level: float) -> tuple[FloatArray, FloatArray]:
    z = float(sps.norm.ppf(1 - (1 - level) / 2))
    with np.errstate(divide="ignore"):
        zr = np.arctanh(np.clip(r, -1.0, 1.0))
    lo, hi = np.tanh(zr - z * se), np.tanh(zr + z * se)
    return np.asarray(lo, dtype=np.float64), np.asarray(hi, dtype=np.float64)


def _population_from_common_tasks(folders: Sequence[Path], tasks: Sequence[str] | None) -> Population:
    """Raw metric values of the tasks every run reports (first metric lm-eval lists for each)."""
    from lm_eval_mtl.analysis.plan import as_run, plan_runs, task_value

    if len(folders) < 2:
        raise InsufficientDataError(f"a folder of runs must hold several model runs; found {len(folders)}.")
    runs = [as_run(f) for f in folders]
    study = plan_runs(runs, tasks=tasks, units="raw")
    plans = study.tasks
    x = np.array([[task_value(study, k, p)[0] for p in plans] for k in range(len(runs))], dtype=np.float64)
    return Population(
        models=tuple(r.model_name for r in runs),
        tasks=tuple(p.label for p in plans),
        scores=x,
        source=f"{len(runs)} lm-eval runs",
        sha256="",
        notes="raw metric values (first metric of each task)",
    )


def _population(
    panel: Population | str | Path,
    id_column: str | None,
    tasks: Sequence[str] | None,
    suite: str | None,
    duplicates: DuplicatePolicy = "error",
) -> tuple[Population, tuple[ExcludedColumn, ...]]:
    if isinstance(panel, Population):
        return (panel.select(tasks) if tasks else panel), ()
    path = Path(panel)
    if not path.exists():
        raise FileNotFoundError(
            f"`panel` {str(path)!r} does not exist (a CSV file or a folder of lm-eval runs)."
        )
    if path.is_dir():
        from lm_eval_mtl.io import find_runs
        from lm_eval_mtl.scoring.population import population_from_runs
        from lm_eval_mtl.suites import load_suite

        folders = find_runs(path)
        if suite is None:
            return _population_from_common_tasks(folders, tasks), ()
        pop = population_from_runs(folders, load_suite(suite))
        return (pop.select(tasks) if tasks else pop), ()
    if id_column is None:
        header = panel_header(path)  # checked: regular file, readable, UTF-8, not empty
        id_column = "Model" if "Model" in header else header[0]
    if tasks:
        return load_panel_csv(path, id_column=id_column, tasks=list(tasks), duplicates=duplicates), ()
    pop = load_panel_csv(path, id_column=id_column, duplicates=duplicates)
    kept, excluded = task_columns(pop.tasks, pop.scores)
    if len(kept) < 2:
        left = "; ".join(f"{e.column} ({e.reason})" for e in excluded) or "none"
        raise InsufficientDataError(
            f"{path.name}: only {len(kept)} of {pop.n_tasks} numeric column(s) look like task scores "
            f"({', '.join(kept) or 'none'}); left out: {left}. Name the task columns with --tasks (tasks=)."
        )
    return (pop.select(kept) if excluded else pop), excluded


def correlate_tasks(
    panel: Population | str | Path,
    *,
    tasks: Sequence[str] | None = None,
    id_column: str | None = None,
    suite: str | None = None,
    impute: Literal["none", "pca"] = "none",
    missing: Literal["raise", "drop"] = "raise",
    n_components: int | None = None,
    confidence_level: float = 0.95,
    pca_on: PcaMatrix = "correlation",
    duplicates: DuplicatePolicy = "error",
) -> CorrelationStudy:
    """Correlation structure of tasks across models.

    Args:
        panel: A :class:`Population`, a CSV panel (one row per model), or a folder of
            lm-eval run folders (with ``suite``: its members, normalized; without: the
            tasks every run reports, first metric of each, raw values).
        tasks: Columns / tasks to use. Default: for a CSV panel, the numeric columns that
            are task scores (metadata such as sizes, FLOPs, likes, and sums / averages of
            other columns are left out and listed in ``excluded_columns``; see
            :func:`task_columns`); otherwise every task of the population.
        id_column: The CSV's model-id column (default ``Model`` if present, else the first).
        suite: Suite for lm-eval folders (optional).
        impute: ``pca`` fills missing cells by iterative PCA; ``none`` leaves them to ``missing``.
        missing: With gaps and no imputation: ``raise`` or ``drop`` the models with gaps.
        n_components: Rank of the PCA imputation (default: chosen by cross-validation on
            held-out observed cells; see :func:`impute_pca`).
        confidence_level: Level of the correlation intervals.
        pca_on: PCA of the ``correlation`` matrix (standardized scores) or of the
            ``covariance`` matrix (raw scores, as Observational Scaling Laws do).
        duplicates: A CSV panel's model id on several rows: ``error`` (default), keep the
            ``first`` row, or the ``mean`` of the rows (as :func:`load_panel_csv`).

    Returns:
        The :class:`CorrelationStudy`.

    Raises:
        InsufficientDataError: Gaps with ``missing="raise"``; fewer than 4 models or 2 tasks
            (also after leaving out non-task columns); a constant task.
        CorrelateOptionError: Bad ``impute``, ``missing``, ``pca_on`` or ``duplicates`` (a ValueError).
        PanelFormatError: A CSV panel is unreadable or malformed, or a model id repeats under
            ``duplicates="error"``.
        ValueError: Bad ``confidence_level``.
    """
    level = check_confidence_level(confidence_level)
    if impute not in ("none", "pca"):
        raise CorrelateOptionError(f"`impute` must be 'none' or 'pca'; got {impute!r}.")
    if missing not in ("raise", "drop"):
        raise CorrelateOptionError(f"`missing` must be 'raise' or 'drop'; got {missing!r}.")
    if pca_on not in _PCA_MATRICES:
        raise CorrelateOptionError(f"`pca_on` must be 'correlation' or 'covariance'; got {pca_on!r}.")
    if duplicates not in ("error", "first", "mean"):
        raise CorrelateOptionError(f"`duplicates` must be 'error', 'first' or 'mean'; got {duplicates!r}.")
    pop, excluded = _population(panel, id_column, tasks, suite, duplicates)
    x = np.asarray(pop.scores, dtype=np.float64)
    models = list(pop.models)
    dropped: tuple[str, ...] = ()
    imputation = None
    gaps = np.isnan(x)
    if gaps.any():
        if impute == "pca":
            x_gappy = x
            x, imputation = impute_pca(x, n_components, residuals=True)
        elif missing == "drop":
            keep = [not bool(g) for g in np.asarray(gaps.any(axis=1)).tolist()]
            dropped = tuple(m for m, k in zip(models, keep, strict=False) if not k)
            x, models = x[np.array(keep)], [m for m, k in zip(models, keep, strict=False) if k]
        else:
            per_task = {t: int(c) for t, c in zip(pop.tasks, gaps.sum(axis=0), strict=False) if c}
            raise InsufficientDataError(
                f"the panel has {int(gaps.sum())} missing cells ({', '.join(f'{t}: {c}' for t, c in per_task.items())}); "
                "pass impute='pca' (--impute pca) or missing='drop' (--missing drop)."
            )
    n, t = x.shape
    if n < 4 or t < 2:
        raise InsufficientDataError(
            f"correlations need at least 4 models and 2 tasks; got {n} models x {t} tasks."
        )
    sd = x.std(axis=0)
    if np.any(sd == 0):
        const = [pop.tasks[i] for i in np.flatnonzero(sd == 0)]
        raise InsufficientDataError(
            f"task(s) {', '.join(const)} are constant across the models; correlation undefined."
        )
    from lm_eval_mtl.stats.effective import effective_number
    from lm_eval_mtl.stats.shrinkage import ledoit_wolf_correlation

    pearson = np.asarray(np.corrcoef(x, rowvar=False), dtype=np.float64)
    np.fill_diagonal(pearson, 1.0)
    ranks = np.apply_along_axis(sps.rankdata, 0, x)
    spearman = np.asarray(np.corrcoef(ranks, rowvar=False), dtype=np.float64)
    np.fill_diagonal(spearman, 1.0)
    p_lo, p_hi = _fisher_ci(pearson, 1 / math.sqrt(n - 3), level)
    s_lo, s_hi = _fisher_ci(spearman, np.sqrt((1 + spearman**2 / 2) / (n - 3)), level)
    shrunk = ledoit_wolf_correlation(x)
    eff = effective_number(pearson)
    z = _standardize(x)[0] if pca_on == "correlation" else x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    evr = s**2 / np.sum(s**2)
    if imputation is not None:
        imputation = _with_complete_case(imputation, x_gappy, float(evr[0]), pca_on)
    pr2 = loo_r2_matrix(x)
    pr2_rank = loo_r2_matrix(ranks)
    names = tuple(pop.tasks)
    redundant = []
    for j in range(t):
        col = pr2[:, j].copy()
        col[j] = -np.inf
        i = int(np.argmax(col))
        if col[i] > REDUNDANCY_THRESHOLD:
            redundant.append((names[j], names[i], float(col[i])))
    return CorrelationStudy(
        tasks=names,
        models=tuple(models),
        pearson=pearson,
        pearson_ci_low=p_lo,
        pearson_ci_high=p_hi,
        spearman=spearman,
        spearman_ci_low=s_lo,
        spearman_ci_high=s_hi,
        shrunk=shrunk.correlation,
        shrinkage=float(shrunk.delta),
        effective_nyholt=eff.nyholt,
        effective_li_ji=eff.li_ji,
        explained_variance_ratio=evr,
        loadings=vt,
        predictive_r2=pr2,
        predictive_r2_rank=pr2_rank,
        redundant=tuple(redundant),
        confidence_level=level,
        dropped=dropped,
        imputation=imputation,
        source=pop.source,
        pca_on=pca_on,
        excluded_columns=excluded,
    )
