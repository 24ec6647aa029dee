"""Tidy records of a correlation study (``correlate --format csv|json --output-dir``).

Four tables, every number at full precision (None where undefined):

* ``pairs``: one row per task pair (i < j): Pearson and Spearman with their interval,
  the Ledoit-Wolf-shrunk correlation, and the leave-one-model-out R^2 each way;
* ``summary``: one row: models, rows used, effective numbers of tasks (raw and shrunk
  matrix), shrinkage, PCA matrix, level;
* ``pca``: one row per (component, task): the loading and the component's explained
  variance ratio;
* ``redundant``: one row per task predicted above R^2 0.95 by another.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lm_eval_mtl.analysis.correlate_result import CorrelationStudy

__all__ = ["correlation_records"]


def _num(x: Any) -> float | None:
    v = float(x)
    return v if math.isfinite(v) else None


def correlation_records(study: CorrelationStudy) -> dict[str, list[dict[str, Any]]]:
    """Return the tidy tables of ``study`` (see the module docstring)."""
    t = study.tasks
    pairs = [
        {
            "task_a": t[i],
            "task_b": t[j],
            "pearson": _num(study.pearson[i, j]),
            "pearson_ci_low": _num(study.pearson_ci_low[i, j]),
            "pearson_ci_high": _num(study.pearson_ci_high[i, j]),
            "spearman": _num(study.spearman[i, j]),
            "spearman_ci_low": _num(study.spearman_ci_low[i, j]),
            "spearman_ci_high": _num(study.spearman_ci_high[i, j]),
            "shrunk": _num(study.shrunk[i, j]),
            "r2_b_from_a": _num(study.predictive_r2[i, j]),
            "r2_a_from_b": _num(study.predictive_r2[j, i]),
            "n_models": study.n_models,
            "confidence_level": study.confidence_level,
        }
        for i in range(len(t))
        for j in range(i + 1, len(t))
    ]
    summary = [
        {
            "n_models": study.n_models,
            "n_tasks": len(t),
            "rows": study.rows,
            "effective_nyholt": _num(study.effective_nyholt),
            "effective_li_ji": _num(study.effective_li_ji),
            "effective_nyholt_shrunk": _num(study.effective_nyholt_shrunk),
            "effective_li_ji_shrunk": _num(study.effective_li_ji_shrunk),
            "shrinkage": _num(study.shrinkage),
            "pca_on": study.pca_on,
            "confidence_level": study.confidence_level,
            "source": study.source,
        }
    ]
    pca = [
        {
            "component": k + 1,
            "task": t[j],
            "loading": _num(study.loadings[k, j]),
            "explained_variance_ratio": _num(study.explained_variance_ratio[k]),
        }
        for k in range(len(study.explained_variance_ratio))
        for j in range(len(t))
    ]
    redundant = [{"task": a, "predictor": b, "r2": _num(r2)} for a, b, r2 in study.redundant]
    return {"pairs": pairs, "summary": summary, "pca": pca, "redundant": redundant}
