"""Tables and heatmaps for comparisons, transfer matrices and correlation studies (private).

Builds :class:`~lm_eval_mtl.report.tables.Table` objects (rendered by
:func:`~lm_eval_mtl.report.tables.render_table` as terminal text, Markdown, LaTeX or
CSV) from :class:`~lm_eval_mtl.analysis.compare.ModelComparison`,
:class:`~lm_eval_mtl.analysis.transfer.TransferMatrix` and
:class:`~lm_eval_mtl.analysis.correlate.CorrelationStudy`, and draws transfer heatmaps with
significance marks (matplotlib, the ``plot`` extra).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.report.tables import Cell, Table
from lm_eval_mtl.stats._common import ConfidenceInterval

if TYPE_CHECKING:
    from lm_eval_mtl.analysis.compare import ModelComparison
    from lm_eval_mtl.analysis.correlate import CorrelationStudy
    from lm_eval_mtl.analysis.transfer import TransferMatrix

__all__ = ["comparison_tables", "correlation_tables", "plot_transfer", "transfer_tables"]


def _limit_title(limits: Iterable[float | None]) -> str:
    """`` [--limit N]`` for a title when some run was made with ``lm_eval --limit``."""
    from lm_eval_mtl.scoring.signature import limit_text

    values = sorted({v for v in limits if v is not None})
    if not values:
        return ""
    return " [--limit " + ", ".join(limit_text(v) for v in values) + "]"


def comparison_tables(c: ModelComparison) -> list[Table]:
    """One table per pair (tasks + composite), and a tie table with more than two runs.

    A, B and diff are in one unit: the normalized scores z (raw metric values when no suite
    normalizes them) and, on the composite row, each run's composite; the raw values are in
    :meth:`ModelComparison.tidy` (``raw_a``, ``raw_b``). An unknown item count is left empty.
    """
    from lm_eval_mtl.analysis.compare_result import item_count

    tables: list[Table] = []
    level = f"{c.confidence_level:.0%}"
    if c.normalization.startswith("raw metric units"):
        units = (
            f"A, B: {c.normalization}; composite row: sum_t w_t x_t of each run; diff = A - B, "
            "in the same units"
        )
    else:
        units = (
            f"A, B: normalized scores z = (raw - chance) / (ceiling - chance), {c.normalization}; "
            "composite row: sum_t w_t z_t of each run; diff = A - B, in the same units "
            "(raw metric values: raw_a, raw_b in --format csv or json)"
        )
    limited = _limit_title(c.limits.values())
    for pair in c.pairs:
        per_task, (ca, cb) = c.scores(pair)
        rows: list[tuple[Cell, ...]] = []
        for t, (za, zb) in zip(pair.tasks, per_task, strict=True):
            rows.append(
                (
                    t.task,
                    za,
                    zb,
                    t.diff,
                    t.se,
                    t.ci,
                    t.p_value,
                    t.p_adjusted,
                    t.mde,
                    item_count(t),
                    t.method,
                )
            )
        comp = pair.composite
        rows.append(
            (
                "composite",
                ca,
                cb,
                comp.diff,
                comp.se,
                comp.ci,
                comp.p_value,
                comp.p_adjusted,
                comp.mde,
                None,
                comp.method,
            )
        )
        notes = [
            units,
            f"CI {level}; p adjusted across tasks: {c.correction}",
            "mcnemar: exact McNemar p, paired-bootstrap CI; sign-flip / randomization p: paired randomization test; "
            "analytic-unpaired: results JSON only (no samples)",
        ]
        notes.extend(c.notes)
        tables.append(
            Table(
                title=f"A = {pair.a}  vs  B = {pair.b}{limited}",
                columns=("task", "A", "B", "diff", "se", f"CI {level}", "p", "p_adj", "mde", "n", "method"),
                rows=tuple(rows),
                formats={
                    "A": ".4f",
                    "B": ".4f",
                    "diff": "+.4f",
                    "se": ".4f",
                    f"CI {level}": "+.4f",
                    "p": ".3g",
                    "p_adj": ".3g",
                    "mde": ".4f",
                },
                notes=tuple(notes),
                separators=(len(rows) - 1,),
            )
        )
    if len(c.runs) > 2:
        tie = c.tie_matrix()
        rows2 = tuple(
            (r, *("=" if tie[i, j] else "" for j in range(len(c.runs)))) for i, r in enumerate(c.runs)
        )
        tables.append(
            Table(
                title="Statistically tied models (composite; '=' = no significant difference)",
                columns=("model", *c.runs),
                rows=rows2,
                notes=(
                    f"composite p-values adjusted across {len(c.pairs)} pairs ({c.correction}); "
                    f"tied where adjusted p >= {1 - c.confidence_level:.2g}",
                ),
            )
        )
    return tables


def _mark(p_adj: float, significant: bool) -> str:
    if not significant or math.isnan(p_adj):
        return ""
    return "***" if p_adj < 0.001 else "**" if p_adj < 0.01 else "*"


def transfer_tables(tm: TransferMatrix) -> list[Table]:
    """Transfer matrix (delta with marks, plus composite), intervals, relative transfer, MTL gain."""
    targets = list(tm.targets)
    rows: list[tuple[Cell, ...]] = []
    for s, src in enumerate(tm.sources):
        cells: list[Cell] = [src]
        for t in range(len(targets)):
            cells.append(
                f"{tm.delta[s, t]:+.4f}{_mark(float(tm.p_adjusted[s, t]), bool(tm.significant[s, t]))}"
            )
        cells.append(float(tm.composite[s]))
        rows.append(tuple(cells))
    kind = "analytic (unpaired, results JSON only)" if tm.is_analytic else "paired per item"
    notes = (
        f"T[s,t] = z_t(M_s) - z_t(M0), base {tm.base}; {tm.normalization}; cells {kind}",
        f"* / ** / ***: significant at FDR {tm.fdr:.2g} (Benjamini-Hochberg over all cells), adjusted p < 0.05 / 0.01 / 0.001",
        *tm.notes,
    )
    limited = _limit_title(tm.limits.values())
    tables = [
        Table(
            title=f"Transfer matrix T[source, target]{limited}",
            columns=("source", *targets, "composite"),
            rows=tuple(rows),
            formats={"composite": "+.4f"},
            notes=notes,
        )
    ]
    ci_rows: list[tuple[Cell, ...]] = []
    for s, src in enumerate(tm.sources):
        for t, tgt in enumerate(targets):
            ci_rows.append(
                (
                    src,
                    tgt,
                    float(tm.delta[s, t]),
                    float(tm.se[s, t]),
                    ConfidenceInterval(float(tm.ci_low[s, t]), float(tm.ci_high[s, t])),
                    float(tm.p_value[s, t]),
                    float(tm.p_adjusted[s, t]),
                    bool(tm.significant[s, t]),
                    None if tm.relative_reason(tgt) else float(tm.relative[s, t]),
                    tm.method[s][t],
                )
            )
        ci_rows.append(
            (
                src,
                "composite",
                float(tm.composite[s]),
                float(tm.composite_se[s]),
                ConfidenceInterval(float(tm.composite_ci_low[s]), float(tm.composite_ci_high[s])),
                float(tm.composite_p_value[s]),
                None,
                None,
                None,
                tm.composite_method,
            )
        )
    level = f"{tm.confidence_level:.0%}"
    tables.append(
        Table(
            title="Transfer cells with intervals",
            columns=(
                "source",
                "target",
                "delta",
                "se",
                f"CI {level}",
                "p",
                "p_adj",
                "significant",
                "relative",
                "method",
            ),
            rows=tuple(ci_rows),
            formats={
                "delta": "+.4f",
                "se": ".4f",
                f"CI {level}": "+.4f",
                "p": ".3g",
                "p_adj": ".3g",
                "relative": "+.2f",
            },
            notes=(
                "relative = T[s,t] / |T[t,t]|: undefined (-) where no source is named like t (no checkpoint "
                "trained on it) or T[t,t] = 0; the relative table of --output-dir says which",
            ),
        )
    )
    if tm.mtl is not None:
        g = tm.mtl
        g_rows = tuple(
            (
                tgt,
                float(g.delta[t]),
                g.best_source[t],
                float(g.gain[t]),
                float(g.se[t]),
                ConfidenceInterval(float(g.ci_low[t]), float(g.ci_high[t])),
                float(g.p_value[t]),
            )
            for t, tgt in enumerate(targets)
        )
        tables.append(
            Table(
                title="Multi-task checkpoint: gain over the best single-source checkpoint",
                columns=("target", "T[mtl,t]", "best source", "gain", "se", f"CI {level}", "p"),
                rows=g_rows,
                formats={"T[mtl,t]": "+.4f", "gain": "+.4f", "se": ".4f", f"CI {level}": "+.4f", "p": ".3g"},
                notes=("best source chosen by point estimate; the interval ignores that selection",),
            )
        )
    return tables


def _matrix_table(
    title: str, names: tuple[str, ...], m: npt.NDArray[np.float64], fmt: str, notes: tuple[str, ...] = ()
) -> Table:
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (n, *(float(v) if math.isfinite(v) else None for v in m[i])) for i, n in enumerate(names)
    )
    return Table(
        title=title, columns=("task", *names), rows=rows, formats={n: fmt for n in names}, notes=notes
    )


def correlation_tables(st: CorrelationStudy) -> list[Table]:
    """Pearson, shrunk, Spearman, predictive R^2 matrices and a summary.

    Every statistic of the summary names the matrix it comes from and the rows it was
    computed on (complete cases, models with gaps dropped, or an imputed matrix): the
    effective number of tasks of the Pearson matrix, and of the Ledoit-Wolf-shrunk one (the
    figure ``weights show`` prints for weights fitted on the same population); the PCA rows
    of ``st.pca_on``. Undefined matrix cells are left blank, with a note saying why.
    """
    from statistics import NormalDist

    from lm_eval_mtl.analysis.correlate import FEW_MODELS, MINIMUM_MODELS, undefined_note

    names = st.tasks
    pca = "correlation matrix" if st.pca_on == "correlation" else "covariance matrix"
    case = "imputed" if st.imputation is not None else "gaps dropped" if st.dropped else "complete cases"
    summary_rows: list[tuple[Cell, ...]] = [
        ("models", st.n_models),
        ("tasks", len(names)),
        ("computed on", f"{st.rows}; population: {st.source}"),
        ("Ledoit-Wolf shrinkage delta (Pearson correlation matrix)", st.shrinkage),
        (f"effective number of tasks (Nyholt; Pearson correlation matrix, {case})", st.effective_nyholt),
        (f"effective number of tasks (Li-Ji; Pearson correlation matrix, {case})", st.effective_li_ji),
        (
            f"effective number of tasks (Nyholt; Ledoit-Wolf-shrunk Pearson matrix, {case}; as in weights fit)",
            st.effective_nyholt_shrunk,
        ),
        (
            "PCA on",
            "correlation matrix (standardized scores)"
            if st.pca_on == "correlation"
            else "covariance matrix (raw scores)",
        ),
    ]
    summary_notes = list(st.notes)
    if st.n_models < FEW_MODELS:
        z = NormalDist().inv_cdf(1 - (1 - st.confidence_level) / 2)
        half = z / math.sqrt(st.n_models - 3)
        lo, hi = math.tanh(math.atanh(0.5) - half), math.tanh(math.atanh(0.5) + half)
        summary_notes.append(
            f"only {st.n_models} models (every statistic here needs at least {max(MINIMUM_MODELS.values())}): "
            f"a correlation of 0.5 has the {st.confidence_level:.0%} Fisher-z interval [{lo:.2f}, {hi:.2f}]; "
            "read these figures as rough"
        )
    for k, v in enumerate(st.explained_variance_ratio):
        summary_rows.append((f"PC{k + 1} explained variance ratio ({pca})", float(v)))
    if st.imputation is not None:
        imp = st.imputation
        summary_rows.append(
            (
                "imputed cells (iterative PCA)",
                f"{imp.n_imputed} (rank {imp.n_components}, {imp.iterations} iterations, "
                f"{'converged' if imp.converged else 'NOT converged'})",
            )
        )
    if st.dropped:
        summary_rows.append(("models dropped for gaps", len(st.dropped)))
    if st.excluded_columns:
        summary_rows.append(
            ("columns left out (not tasks)", ", ".join(e.column for e in st.excluded_columns))
        )
    for task, pred, r2 in st.redundant:
        summary_rows.append((f"redundant: {task}", f"predicted by {pred} at R^2 = {r2:.3f}"))
    tables = [
        Table(
            title=f"Task correlation study ({st.source})",
            columns=("statistic", "value"),
            rows=tuple(summary_rows),
            precision=4,
            notes=tuple(summary_notes),
        ),
        _matrix_table(
            "Pearson correlation across models",
            names,
            st.pearson,
            ".3f",
            (f"{st.confidence_level:.0%} Fisher-z intervals in the JSON output",),
        ),
        _matrix_table("Ledoit-Wolf shrunk correlation", names, st.shrunk, ".3f"),
        _matrix_table("Spearman correlation across models", names, st.spearman, ".3f"),
        _matrix_table(
            "Predictive matrix: leave-one-model-out R^2 of column task from row task",
            names,
            st.predictive_r2,
            ".3f",
            (f"{st.label}",)
            + ((f"-: {undefined_note(st.undefined_predictors)}",) if st.undefined_predictors else ()),
        ),
    ]
    return tables


def plot_transfer(
    tm: TransferMatrix,
    directory: str | Path,
    formats: tuple[str, ...] = ("png",),
    *,
    inputs: Iterable[str | Path] = (),
) -> list[Path]:
    """Heatmaps of T (with significance marks) and of relative transfer.

    Args:
        tm: The transfer matrix.
        directory: Output folder (created); each file is written atomically.
        formats: Any of ``png``, ``svg``, ``pdf``.
        inputs: Files the caller read (the runs, the manifest); no plot may overwrite one.

    Returns:
        The files written.

    Raises:
        MissingExtraError: matplotlib is not installed.
        MTLError: Unknown format.
    """
    from lm_eval_mtl.report.plots import check_formats, heatmap

    formats = check_formats(formats)
    out_dir = Path(directory)
    inputs = tuple(inputs)
    written: list[Path] = []
    panels = (
        ("transfer", tm.delta, "T[s,t] (normalized units)"),
        ("relative_transfer", tm.relative, "T[s,t] / |T[t,t]|"),
    )
    for name, mat, label in panels:
        text = [
            [
                ""  # left blank and hatched by the heatmap (its footnote says why)
                if not math.isfinite(mat[s, t])
                else f"{mat[s, t]:+.2f}" + _mark(float(tm.p_adjusted[s, t]), bool(tm.significant[s, t]))
                for t in range(len(tm.targets))
            ]
            for s in range(len(tm.sources))
        ]
        title = f"{label}; * = significant at FDR {tm.fdr:.2g}" + (" (analytic)" if tm.is_analytic else "")
        for fmt in formats:
            path = heatmap(
                mat,
                tm.sources,
                tm.targets,
                path=out_dir / f"{name}.{fmt}",
                title=title,
                center=0.0,
                colorbar_label=label,
                cell_text=text,
                xlabel="target",
                ylabel="source checkpoint",
                inputs=inputs,
            )
            written.append(path)
    return written
