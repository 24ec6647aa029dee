"""Between-model task correlations, PCA and the cross-model predictive matrix.

On a population of models (a CSV panel, or lm-eval output folders, one per model),
with scores X (models x tasks):

* Pearson and Spearman correlation matrices with intervals: Fisher z for Pearson,
  tanh(atanh(r) +- z/sqrt(n - 3)); for Spearman the Fisher z approximation with the
  Bonett-Wright variance (1 + r^2/2)/(n - 3).
* The Ledoit-Wolf-shrunk Pearson matrix and its intensity delta
  (:func:`lm_eval_mtl.stats.shrinkage.ledoit_wolf_correlation`).
* The effective number of tasks of the Pearson matrix, Nyholt and Li-Ji
  (:func:`lm_eval_mtl.stats.effective.effective_number`); and of the Ledoit-Wolf-shrunk
  matrix, the one ``weights fit`` records (so ``weights show`` prints that one). Every
  printed statistic names its matrix and the rows it was computed on (complete cases,
  models with gaps dropped, or an imputed matrix).
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
  causal transfer. A task predicted by another at P > 0.95 is flagged redundant. The
  diagonal is 1 by definition. Where all models but one share a predictor task's value, the
  line cannot be fitted without that model (leverage 1): that predictor's row is undefined
  (NaN, blank in tables, null in JSON) and a :class:`~lm_eval_mtl.errors.DegenerateDataWarning`
  says so; no numpy warning leaks.

Minimum number of models (:data:`MINIMUM_MODELS`): 4 for every statistic here (Fisher-z
intervals need n - 3 > 0; the leave-one-model-out regression fits a line on n - 1 >= 3 models;
the correlation matrices, their shrinkage, the effective number of tasks and the PCA are
computed on the same rows); fewer are refused with the minimum of each statistic. Below
:data:`FEW_MODELS` models the summary table says how wide a correlation's interval is.

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

The result type, :class:`CorrelationStudy`, lives in :mod:`lm_eval_mtl.analysis.correlate_result`
(re-exported here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.analysis.columns import ExcludedColumn, task_columns
from lm_eval_mtl.analysis.correlate_result import (
    MINIMUM_MODELS as MINIMUM_MODELS,
)
from lm_eval_mtl.analysis.correlate_result import CorrelationStudy
from lm_eval_mtl.analysis.imputation import (
    Imputation,
    PcaMatrix,
    impute_pca,
    with_complete_case,
)
from lm_eval_mtl.analysis.imputation import standardize as _standardize
from lm_eval_mtl.errors import CorrelateOptionError, InsufficientDataError
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
FEW_MODELS = 10
"""Below this many models the summary table states the width of a correlation's Fisher-z interval."""
_PCA_MATRICES: tuple[str, ...] = ("correlation", "covariance")


def loo_r2_matrix(x: npt.ArrayLike) -> FloatArray:
    """P[i, j]: leave-one-out R^2 of column j predicted from column i by simple regression.

    Exact LOO residuals of least squares, e_k / (1 - h_k), h_k = 1/n + (x_k - xbar)^2 / Sxx.
    The diagonal is 1. Where some h_k is 1 (every row but k shares column i's value, so the
    line cannot be fitted without row k), row i is NaN off the diagonal. No numpy warning
    is emitted.
    """
    a = np.asarray(x, dtype=np.float64)
    n, t = a.shape
    c = a - a.mean(axis=0)
    sst = np.sum(c**2, axis=0)
    out = np.empty((t, t))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for i in range(t):
            xi = c[:, i]
            sxx = float(xi @ xi)
            h = 1.0 / n + xi**2 / sxx if sxx > 0 else np.ones(n)
            if np.any(1.0 - h <= 1e-12):
                out[i] = np.nan
                continue
            b = (xi @ c) / sxx
            resid = c - np.outer(xi, b)
            press = np.sum((resid / (1 - h)[:, None]) ** 2, axis=0)
            out[i] = 1 - press / sst
    out[~np.isfinite(out)] = np.nan
    np.fill_diagonal(out, 1.0)
    return out


def undefined_note(tasks: Sequence[str]) -> str:
    """Say why the predictive R^2 rows of ``tasks`` are undefined."""
    return (
        f"predictive R^2 from {', '.join(tasks)} is undefined (left blank): all models but one share "
        "that task's value, so the line cannot be fitted without that model; add models that differ on it."
    )


def _fisher_ci(r: FloatArray, se: FloatArray | float, level: float) -> tuple[FloatArray, FloatArray]:
    from lm_eval_mtl.stats._special import ndtri  # scipy.stats.norm.ppf's own function

    z = float(ndtri(1 - (1 - level) / 2))
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
    x_gappy: FloatArray | None = None
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
    least = max(MINIMUM_MODELS.values())
    if n < least or t < 2:
        needs = "; ".join(f"{what}: {k}" for what, k in MINIMUM_MODELS.items())
        raise InsufficientDataError(
            f"correlations need at least {least} models and 2 tasks; got {n} models x {t} tasks "
            f"(fewest models per statistic: {needs})."
        )
    sd = x.std(axis=0)
    if np.any(sd == 0):
        const = [pop.tasks[i] for i in np.flatnonzero(sd == 0)]
        raise InsufficientDataError(
            f"task(s) {', '.join(const)} are constant across the models; correlation undefined."
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return _study(x, models, pop, excluded, dropped, imputation, x_gappy, level, pca_on)


def _study(
    x: FloatArray,
    models: Sequence[str],
    pop: Population,
    excluded: tuple[ExcludedColumn, ...],
    dropped: tuple[str, ...],
    imputation: Imputation | None,
    x_gappy: FloatArray | None,
    level: float,
    pca_on: PcaMatrix,
) -> CorrelationStudy:
    """Every statistic of the study on the complete matrix ``x`` (numpy warnings silenced by the caller)."""
    import warnings

    from lm_eval_mtl.errors import DegenerateDataWarning
    from lm_eval_mtl.stats.effective import effective_number
    from lm_eval_mtl.stats.shrinkage import ledoit_wolf_correlation

    n, t = x.shape
    pearson = np.asarray(np.corrcoef(x, rowvar=False), dtype=np.float64)
    np.fill_diagonal(pearson, 1.0)
    from scipy.stats import rankdata  # only here: scipy.stats costs about 1 s to import

    ranks = np.apply_along_axis(rankdata, 0, x)
    spearman = np.asarray(np.corrcoef(ranks, rowvar=False), dtype=np.float64)
    np.fill_diagonal(spearman, 1.0)
    p_lo, p_hi = _fisher_ci(pearson, 1 / math.sqrt(n - 3), level)
    s_lo, s_hi = _fisher_ci(spearman, np.sqrt((1 + spearman**2 / 2) / (n - 3)), level)
    shrunk = ledoit_wolf_correlation(x)
    eff = effective_number(pearson)
    eff_shrunk = effective_number(shrunk.correlation)
    z = _standardize(x)[0] if pca_on == "correlation" else x - x.mean(axis=0)
    _, s, vt = np.linalg.svd(z, full_matrices=False)
    evr = s**2 / np.sum(s**2)
    if imputation is not None and x_gappy is not None:
        imputation = with_complete_case(imputation, x_gappy, float(evr[0]), pca_on)
    pr2 = loo_r2_matrix(x)
    pr2_rank = loo_r2_matrix(ranks)
    names = tuple(pop.tasks)
    undefined = tuple(
        names[i] for i in range(t) if not (np.isfinite(pr2[i]).all() and np.isfinite(pr2_rank[i]).all())
    )
    if undefined:
        warnings.warn(DegenerateDataWarning(undefined_note(undefined)), stacklevel=3)
    redundant = []
    for j in range(t):
        col = np.where(np.isfinite(pr2[:, j]), pr2[:, j], -np.inf)
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
        effective_nyholt_shrunk=eff_shrunk.nyholt,
        effective_li_ji_shrunk=eff_shrunk.li_ji,
        undefined_predictors=undefined,
    )
