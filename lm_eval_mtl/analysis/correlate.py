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
* PCA: the SVD of the column-standardized data (mean 0, ddof=0 variance 1); explained
  variance ratios and loadings.
* The leave-one-model-out predictive matrix P[i, j]: the R^2 of predicting task j from
  task i by simple linear regression fitted without the held-out model,
  P[i, j] = 1 - PRESS / sum_k (y_k - ybar)^2, PRESS = sum_k (e_k / (1 - h_k))^2 (exact LOO
  residuals of least squares). Its rank version does the same on average ranks
  (ranks over the whole population). This measures co-variation across models, not
  causal transfer. A task predicted by another at P > 0.95 is flagged redundant.

Missing cells: ``missing="raise"`` (default) refuses them; ``missing="drop"`` drops the
models with gaps (listed in the result); ``impute="pca"`` fills them by iterative PCA:
start from column means; repeat {standardize, rank-k SVD reconstruction, replace the
missing cells} until the largest change of a filled cell, in column-SD units, is below
1e-6, or 500 iterations (then a DegenerateDataWarning). k defaults to the number of
eigenvalues above 1 of the mean-filled correlation matrix (Kaiser), between 1 and T - 1.
Every statistic is then computed on the completed matrix, which understates
uncertainty: the result records how many cells were imputed.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError
from lm_eval_mtl.scoring.population import Population, load_panel_csv
from lm_eval_mtl.stats._common import check_confidence_level

__all__ = ["CorrelationStudy", "Imputation", "correlate_tasks", "impute_pca", "loo_r2_matrix"]

FloatArray = npt.NDArray[np.float64]
REDUNDANCY_THRESHOLD = 0.95
_TOL = 1e-6
_MAX_ITER = 500


@dataclass(frozen=True)
class Imputation:
    """How missing cells were filled by iterative PCA."""

    n_imputed: int
    """Number of cells filled."""
    n_components: int
    """Rank of the reconstruction."""
    iterations: int
    """Iterations run."""
    converged: bool
    """Whether the largest change fell below the tolerance."""
    max_change: float
    """Largest change of a filled cell in the last iteration (column-SD units)."""


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
            "effective_number": {"nyholt": self.effective_nyholt, "li_ji": self.effective_li_ji},
            "pca": {
                "explained_variance_ratio": self.explained_variance_ratio.tolist(),
                "loadings": self.loadings.tolist(),
            },
            "predictive_r2": self.predictive_r2.tolist(),
            "predictive_r2_rank": self.predictive_r2_rank.tolist(),
            "predictive_label": self.label,
            "redundant": [{"task": t, "predictor": p, "r2": r} for t, p, r in self.redundant],
            "confidence_level": self.confidence_level,
            "dropped": list(self.dropped),
            "imputation": None
            if imp is None
            else {
                "method": "iterative-pca",
                "n_imputed": imp.n_imputed,
                "n_components": imp.n_components,
                "iterations": imp.iterations,
                "converged": imp.converged,
                "max_change": imp.max_change,
            },
        }


def _standardize(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    return (x - mu) / sd, mu, sd


def impute_pca(x: npt.ArrayLike, n_components: int | None = None) -> tuple[FloatArray, Imputation]:
    """Fill NaN cells of ``x`` (models x tasks) by iterative PCA (see the module docstring).

    Raises:
        InsufficientDataError: A column is entirely missing or constant, or fewer than 3 rows.
    """
    a = np.array(x, dtype=np.float64)
    miss = np.isnan(a)
    n, t = a.shape
    if n < 3 or t < 2:
        raise InsufficientDataError(f"PCA imputation needs at least 3 models and 2 tasks; got {n} x {t}.")
    empty = np.flatnonzero(miss.all(axis=0) | (np.sum(~miss, axis=0) < 2))
    if empty.size:
        raise InsufficientDataError(
            f"column(s) {empty.tolist()} have fewer than 2 observed values; cannot impute."
        )
    col_mean = np.nanmean(a, axis=0)
    a[miss] = np.take(col_mean, np.nonzero(miss)[1])
    if n_components is None:
        ev = np.linalg.eigvalsh(np.corrcoef(a, rowvar=False))
        n_components = int(np.clip(np.sum(ev > 1.0), 1, t - 1))
    if not 1 <= n_components <= t:
        raise ValueError(f"`n_components` must be in [1, {t}]; got {n_components}.")
    change = math.inf
    it = 0
    while it < _MAX_ITER and miss.any():
        it += 1
        z, mu, sd = _standardize(a)
        u, s, vt = np.linalg.svd(z, full_matrices=False)
        rec = (u[:, :n_components] * s[:n_components]) @ vt[:n_components] * sd + mu
        change = float(np.max(np.abs(rec[miss] - a[miss]) / np.take(sd, np.nonzero(miss)[1])))
        a[miss] = rec[miss]
        if change < _TOL:
            break
    converged = change < _TOL or not miss.any()
    if not converged:
        warnings.warn(
            DegenerateDataWarning(
                f"iterative PCA imputation did not converge in {_MAX_ITER} iterations "
                f"(last change {change:.2g} SD)."
            ),
            stacklevel=2,
        )
    return a, Imputation(int(miss.sum()), n_components, it, converged, 0.0 if not miss.any() else change)


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
    from lm_eval_mtl.analysis.plan import as_run, plan_tasks, task_value

    if len(folders) < 2:
        raise InsufficientDataError(f"a folder of runs must hold several model runs; found {len(folders)}.")
    runs = [as_run(f) for f in folders]
    plans, _ = plan_tasks(runs, tasks=tasks)
    x = np.array([[task_value(r, p)[0] for p in plans] for r in runs], dtype=np.float64)
    return Population(
        models=tuple(r.model_name for r in runs),
        tasks=tuple(p.label for p in plans),
        scores=x,
        source=f"{len(runs)} lm-eval runs",
        sha256="",
        notes="raw metric values (first metric of each task)",
    )


def _population(
    panel: Population | str | Path, id_column: str | None, tasks: Sequence[str] | None, suite: str | None
) -> Population:
    if isinstance(panel, Population):
        return panel.select(tasks) if tasks else panel
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
            return _population_from_common_tasks(folders, tasks)
        pop = population_from_runs(folders, load_suite(suite))
        return pop.select(tasks) if tasks else pop
    if id_column is None:
        import csv

        with path.open(encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
        id_column = "Model" if "Model" in header else header[0]
    return load_panel_csv(path, id_column=id_column, tasks=list(tasks) if tasks else None, duplicates="first")


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
) -> CorrelationStudy:
    """Correlation structure of tasks across models.

    Args:
        panel: A :class:`Population`, a CSV panel (one row per model), or a folder of
            lm-eval run folders (with ``suite``: its members, normalized; without: the
            tasks every run reports, first metric of each, raw values).
        tasks: Columns / tasks to use (default: every numeric column).
        id_column: The CSV's model-id column (default ``Model`` if present, else the first).
        suite: Suite for lm-eval folders (optional).
        impute: ``pca`` fills missing cells by iterative PCA; ``none`` leaves them to ``missing``.
        missing: With gaps and no imputation: ``raise`` or ``drop`` the models with gaps.
        n_components: Rank of the PCA imputation (default: Kaiser rule).
        confidence_level: Level of the correlation intervals.

    Returns:
        The :class:`CorrelationStudy`.

    Raises:
        InsufficientDataError: Gaps with ``missing="raise"``; fewer than 4 models or 2 tasks;
            a constant task.
        ValueError: Bad ``impute``, ``missing`` or ``confidence_level``.
    """
    level = check_confidence_level(confidence_level)
    if impute not in ("none", "pca"):
        raise ValueError(f"`impute` must be 'none' or 'pca'; got {impute!r}.")
    if missing not in ("raise", "drop"):
        raise ValueError(f"`missing` must be 'raise' or 'drop'; got {missing!r}.")
    pop = _population(panel, id_column, tasks, suite)
    x = np.asarray(pop.scores, dtype=np.float64)
    models = list(pop.models)
    dropped: tuple[str, ...] = ()
    imputation = None
    gaps = np.isnan(x)
    if gaps.any():
        if impute == "pca":
            x, imputation = impute_pca(x, n_components)
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
    z, _, _ = _standardize(x)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    evr = s**2 / np.sum(s**2)
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
    )
