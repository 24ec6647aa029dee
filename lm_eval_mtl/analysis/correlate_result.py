"""The result of :func:`lm_eval_mtl.analysis.correlate.correlate_tasks`: :class:`CorrelationStudy`.

Every matrix and number of a between-model correlation study, the rows it was computed on
(:attr:`CorrelationStudy.rows`), its notes, and its plain-JSON form; :data:`MINIMUM_MODELS`
is the fewest models each statistic is computed on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.analysis.columns import ExcludedColumn
from lm_eval_mtl.analysis.imputation import Imputation, PcaMatrix

__all__ = ["MINIMUM_MODELS", "CorrelationStudy"]

FloatArray = npt.NDArray[np.float64]
MINIMUM_MODELS: dict[str, int] = {
    "Pearson and Spearman correlations with Fisher-z intervals (n - 3 > 0)": 4,
    "Ledoit-Wolf shrinkage and the effective number of tasks (of those correlations)": 4,
    "PCA (explained variance ratios, loadings)": 4,
    "leave-one-model-out predictive R^2 (a line fitted on n - 1 >= 3 models)": 4,
}
"""The fewest models each statistic of :func:`correlate_tasks` is computed on; fewer are refused."""


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
    effective_nyholt_shrunk: float = math.nan
    """Effective number of tasks (Nyholt) of the Ledoit-Wolf-shrunk matrix, as ``weights fit`` records it."""
    effective_li_ji_shrunk: float = math.nan
    """Effective number of tasks (Li-Ji) of the Ledoit-Wolf-shrunk matrix."""
    undefined_predictors: tuple[str, ...] = ()
    """Tasks whose predictive R^2 row is undefined (all models but one share the task's value)."""

    @property
    def rows(self) -> str:
        """Return which rows every statistic was computed on, in words (complete cases, dropped, imputed)."""
        if self.imputation is not None:
            return (
                f"{self.n_models} models, {self.imputation.n_imputed} missing cell(s) imputed (iterative PCA)"
            )
        if self.dropped:
            return f"{self.n_models} complete models ({len(self.dropped)} with gaps dropped)"
        return f"{self.n_models} models, complete cases"

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

    def tidy(self) -> dict[str, list[dict[str, Any]]]:
        """Return tidy tables: ``pairs``, ``summary``, ``pca``, ``redundant`` (see :mod:`~lm_eval_mtl.analysis.correlate_tidy`)."""
        from lm_eval_mtl.analysis.correlate_tidy import correlation_records

        return correlation_records(self)

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
                "correlation": "pearson",
                "rows": self.rows,
                "population": self.source,
                "nyholt": self.effective_nyholt,
                "li_ji": self.effective_li_ji,
            },
            "effective_number_shrunk": {
                "matrix": "ledoit-wolf shrunk correlation",
                "correlation": "pearson",
                "rows": self.rows,
                "population": self.source,
                "nyholt": self.effective_nyholt_shrunk,
                "li_ji": self.effective_li_ji_shrunk,
            },
            "minimum_models": dict(MINIMUM_MODELS),
            "pca_on": self.pca_on,
            "pca": {
                "matrix": self.pca_on,
                "explained_variance_ratio": self.explained_variance_ratio.tolist(),
                "loadings": self.loadings.tolist(),
            },
            "predictive_r2": self.predictive_r2.tolist(),
            "predictive_r2_rank": self.predictive_r2_rank.tolist(),
            "predictive_label": self.label,
            "undefined_predictors": list(self.undefined_predictors),
            "redundant": [{"task": t, "predictor": p, "r2": r} for t, p, r in self.redundant],
            "confidence_level": self.confidence_level,
            "dropped": list(self.dropped),
            "excluded_columns": [
                {"column": e.column, "kind": e.kind, "reason": e.reason} for e in self.excluded_columns
            ],
            "notes": list(self.notes),
            "imputation": None if imp is None else imp.to_dict(),
        }
