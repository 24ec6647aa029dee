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
models with gaps (listed in the result); ``impute="pca"`` fills them by iterative PCA:
start from column means; repeat {standardize, rank-k SVD reconstruction, replace the
missing cells} until the largest change of a filled cell, in column-SD units, is below
1e-6, or 500 iterations (then a DegenerateDataWarning). k defaults to the number of
eigenvalues above 1 of the mean-filled correlation matrix (Kaiser), between 1 and T - 1.
Every statistic is then computed on the completed matrix, which understates
uncertainty: the result records how many cells were imputed.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError, MTLError
from lm_eval_mtl.scoring.population import Population, load_panel_csv
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
_MAX_ITER = 500

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
    pca_on: PcaMatrix = "correlation"
    """Matrix the PCA (explained variance ratios, loadings) was computed on."""
    excluded_columns: tuple[ExcludedColumn, ...] = ()
    """Numeric CSV columns left out of the default task set (metadata, aggregates)."""

    @property
    def notes(self) -> tuple[str, ...]:
        """One line on the columns left out, if any."""
        if not self.excluded_columns:
            return ()
        parts = "; ".join(f"{e.column} ({e.reason})" for e in self.excluded_columns)
        return (
            f"left out {len(self.excluded_columns)} non-task column(s): {parts}; "
            "name the columns with --tasks (tasks=) to override",
        )

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
    panel: Population | str | Path, id_column: str | None, tasks: Sequence[str] | None, suite: str | None
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
        import csv

        with path.open(encoding="utf-8-sig") as fh:
            header = [h.strip() for h in next(csv.reader(fh), [])]
        id_column = "Model" if "Model" in header else header[0]
    if tasks:
        return load_panel_csv(path, id_column=id_column, tasks=list(tasks), duplicates="first"), ()
    pop = load_panel_csv(path, id_column=id_column, duplicates="first")
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
        n_components: Rank of the PCA imputation (default: Kaiser rule).
        confidence_level: Level of the correlation intervals.
        pca_on: PCA of the ``correlation`` matrix (standardized scores) or of the
            ``covariance`` matrix (raw scores, as Observational Scaling Laws do).

    Returns:
        The :class:`CorrelationStudy`.

    Raises:
        InsufficientDataError: Gaps with ``missing="raise"``; fewer than 4 models or 2 tasks
            (also after leaving out non-task columns); a constant task.
        CorrelateOptionError: Bad ``impute``, ``missing`` or ``pca_on`` (a ValueError).
        ValueError: Bad ``confidence_level``.
    """
    level = check_confidence_level(confidence_level)
    if impute not in ("none", "pca"):
        raise CorrelateOptionError(f"`impute` must be 'none' or 'pca'; got {impute!r}.")
    if missing not in ("raise", "drop"):
        raise CorrelateOptionError(f"`missing` must be 'raise' or 'drop'; got {missing!r}.")
    if pca_on not in _PCA_MATRICES:
        raise CorrelateOptionError(f"`pca_on` must be 'correlation' or 'covariance'; got {pca_on!r}.")
    pop, excluded = _population(panel, id_column, tasks, suite)
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
    z = _standardize(x)[0] if pca_on == "correlation" else x - x.mean(axis=0)
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
        pca_on=pca_on,
        excluded_columns=excluded,
    )
