"""Tables and heatmaps of an :class:`~lm_eval_mtl.affinity.result.AffinityMatrix`.

:func:`affinity_tables` gives one matrix table per measure (terminal, Markdown, LaTeX and CSV
through :func:`~lm_eval_mtl.report.tables.render_table`), a table of every cell with its
interval and reliability, and a table of the tasks' gradients. :func:`plot_affinity` draws a
heatmap per measure with the package's :func:`~lm_eval_mtl.report.plots.heatmap`, captioned
with what was measured (model, parameters, projection, items, seed). :func:`predicted_tables` and
:func:`plot_predicted` render a :class:`~lm_eval_mtl.analysis.predicted.PredictedTransfer`
(``lm-eval-mtl transfer --predicted``): the rank agreements, the matched cells, a scatter plot.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from lm_eval_mtl.affinity.result import AffinityMatrix, MeasureName
from lm_eval_mtl.report.tables import Cell, Table
from lm_eval_mtl.stats._common import ConfidenceInterval

if TYPE_CHECKING:
    from lm_eval_mtl.analysis.predicted import PredictedTransfer

__all__ = [
    "MEASURE_TITLES",
    "affinity_caption",
    "affinity_tables",
    "plot_affinity",
    "plot_predicted",
    "predicted_tables",
]

MEASURE_TITLES: dict[MeasureName, str] = {
    "cosine": "Gradient cosine C[source, target]",
    "first_order": "First-order lookahead F[source, target]",
    "tag": "TAG lookahead A[source, target] = 1 - L_t(theta - eta g_s) / L_t(theta)",
}


def _num(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def affinity_caption(result: AffinityMatrix) -> str:
    """One paragraph saying what the matrices measure and on what."""
    n = ", ".join(f"{g.task} {g.n_items}" for g in result.tasks) or "-"
    return (
        f"Predicted transfer from the gradients of {result.model} ({result.model_args}) at one checkpoint, "
        f"not transfer after fine-tuning. Parameters: {result.parameters.description} "
        f"({result.parameters.n_parameters:,} weights); per-item gradients projected to d = {result.projection.dim} "
        f"({result.projection.kind}, seed {result.projection.seed}); lookahead step eps = {result.step:g}. "
        f"Items per task: {n}."
    )


def affinity_tables(result: AffinityMatrix) -> list[Table]:
    """Return the matrices, every cell with its interval and reliability, and the tasks' gradients."""
    tables: list[Table] = []
    caption = affinity_caption(result)
    for name, m in result.measures.items():
        rows: tuple[tuple[Cell, ...], ...] = tuple(
            (src, *(_num(v) for v in m.value[s])) for s, src in enumerate(result.sources)
        )
        tables.append(
            Table(
                title=MEASURE_TITLES[name],
                columns=("source", *result.targets),
                rows=rows,
                formats={t: "+.3f" for t in result.targets},
                notes=(
                    m.formula,
                    f"matrix split-half reliability (off-diagonal cells, Spearman-Brown): "
                    f"{m.matrix_reliability:.2f}"
                    if math.isfinite(m.matrix_reliability)
                    else "matrix split-half reliability: undefined",
                ),
                caption=f"{MEASURE_TITLES[name]}. {caption}",
                label=f"tab:affinity-{name}",
            )
        )
    level = f"{result.confidence_level:.0%}"
    cell_rows: list[tuple[Cell, ...]] = []
    for name, m in result.measures.items():
        for s, src in enumerate(result.sources):
            for t, tgt in enumerate(result.targets):
                lo, hi = m.ci_low[s, t], m.ci_high[s, t]
                ci: Cell = (
                    ConfidenceInterval(float(lo), float(hi))
                    if math.isfinite(lo) and math.isfinite(hi)
                    else None
                )
                cell_rows.append((name, src, tgt, _num(m.value[s, t]), ci, _num(m.reliability[s, t])))
    tables.append(
        Table(
            title="Affinity cells with intervals",
            columns=("measure", "source", "target", "value", f"CI {level}", "reliability"),
            rows=tuple(cell_rows),
            formats={"value": "+.4f", f"CI {level}": "+.4f", "reliability": ".2f"},
            notes=(
                f"percentile bootstrap, {result.n_resamples} resamples; reliability: split-half agreement per "
                f"cell over {result.n_splits} random half splits, Spearman-Brown adjusted (1 = the halves agree)",
                *result.notes,
            ),
        )
    )
    tables.append(
        Table(
            title="Task gradients",
            columns=("task", "type", "loss", "n", "shots", "L_t", "|g_t|", "|Pg_t|", "split-half cos"),
            rows=tuple(
                (
                    g.task,
                    g.output_type,
                    g.loss_kind,
                    g.n_items,
                    g.num_fewshot,
                    _num(g.loss),
                    _num(g.grad_norm),
                    _num(g.projected_norm),
                    _num(g.split_half_cosine),
                )
                for g in result.tasks
            ),
            formats={
                "L_t": ".4f",
                "|g_t|": ".4g",
                "|Pg_t|": ".4g",
                "split-half cos": ".2f",
                "n": "d",
                "shots": "d",
            },
            notes=(
                "split-half cos: cosine between the mean gradients of two random halves of the task's items "
                "(near 1: the task's gradient direction is well determined by its items)",
            ),
        )
    )
    return tables


def plot_affinity(
    result: AffinityMatrix,
    directory: str | Path,
    formats: tuple[str, ...] = ("png",),
    *,
    inputs: Iterable[str | Path] = (),
) -> list[Path]:
    """Heatmap of every measure, ``affinity_<measure>.<fmt>``, captioned.

    Raises:
        MissingExtraError: matplotlib is not installed.
        MTLError: Unknown format.
    """
    from lm_eval_mtl.report.plots import check_formats, heatmap

    formats = check_formats(formats)
    out = Path(directory)
    caption = affinity_caption(result)
    written: list[Path] = []
    for name, m in result.measures.items():
        text = [[("" if not math.isfinite(v) else _short(float(v))) for v in row] for row in m.value]
        for fmt in formats:
            written.append(
                heatmap(
                    m.value,
                    result.sources,
                    result.targets,
                    path=out / f"affinity_{name}.{fmt}",
                    title=MEASURE_TITLES[name],
                    center=0.0,
                    colorbar_label=name,
                    cell_text=text,
                    xlabel="target task",
                    ylabel="source task",
                    inputs=inputs,
                    footnote=_wrap(caption),
                )
            )
    return written


def predicted_tables(pt: PredictedTransfer) -> list[Table]:
    """Return the agreement table (one row per measure) and the matched cells (predicted beside measured)."""
    level = f"{pt.confidence_level:.0%}"
    rows = tuple(
        (a.measure, len(pt.cells), a.spearman, a.spearman_ci, a.kendall, a.kendall_ci) for a in pt.agreements
    )
    tables = [
        Table(
            title="Predicted (gradient affinity) vs measured transfer",
            columns=(
                "measure",
                "cells",
                "Spearman",
                f"Spearman CI {level}",
                "Kendall tau-b",
                f"Kendall CI {level}",
            ),
            rows=rows,
            formats={
                "Spearman": "+.3f",
                f"Spearman CI {level}": "+.3f",
                "Kendall tau-b": "+.3f",
                f"Kendall CI {level}": "+.3f",
            },
            notes=pt.notes,
        )
    ]
    cell_rows: tuple[tuple[Cell, ...], ...] = tuple(
        (s, t, float(pt.measured[i]), *(float(a.predicted[i]) for a in pt.agreements))
        for i, (s, t) in enumerate(pt.cells)
    )
    names = tuple(a.measure for a in pt.agreements)
    tables.append(
        Table(
            title="Matched cells: measured T[s,t] and predicted",
            columns=("source", "target", "measured", *names),
            rows=cell_rows,
            formats={"measured": "+.4f", **{n: "+.4f" for n in names}},
        )
    )
    return tables


def plot_predicted(
    pt: PredictedTransfer,
    directory: str | Path,
    formats: Sequence[str] = ("png",),
    *,
    inputs: Iterable[str | Path] = (),
) -> list[Path]:
    """Scatter of predicted against measured transfer, one panel per measure: ``predicted_vs_measured.<fmt>``.

    Raises:
        MissingExtraError: matplotlib is not installed.
    """
    from lm_eval_mtl.errors import MissingExtraError
    from lm_eval_mtl.io.atomic import atomic_output

    try:
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError("plots need: pip install 'lm-eval-mtl[plot]'") from None
    k = len(pt.agreements)
    fig = Figure(figsize=(4.2 * k, 4.0), layout="constrained")
    axes = fig.subplots(1, k, squeeze=False, sharey=True)[0]
    for j, (ax, a) in enumerate(zip(axes, pt.agreements, strict=True)):
        ax.scatter(a.predicted, pt.measured, s=22, color="#2b6cb0", alpha=0.8)
        if len(pt.cells) <= 12:  # beyond a dozen the labels hide the points
            for (s, t), x, y in zip(pt.cells, a.predicted, pt.measured, strict=True):
                ax.annotate(
                    f"{s}->{t}", (x, y), fontsize=6, alpha=0.7, xytext=(2, 2), textcoords="offset points"
                )
        ax.axhline(0.0, color="grey", lw=0.6)
        ax.axvline(0.0, color="grey", lw=0.6)
        ax.set_xlabel(f"predicted ({a.measure})")
        if j == 0:
            ax.set_ylabel("measured T[s,t]")
        ax.set_title(f"Spearman {a.spearman:+.2f}, Kendall {a.kendall:+.2f}", fontsize=9)
    fig.suptitle(f"Predicted vs measured transfer, {len(pt.cells)} off-diagonal cells", fontsize=10)
    out: list[Path] = []
    for fmt in formats:
        path = Path(directory) / f"predicted_vs_measured.{fmt}"
        with atomic_output(path, inputs=inputs) as tmp:
            fig.savefig(tmp, dpi=100, format=fmt)
        out.append(path)
    return out


def _short(v: float) -> str:
    """Two significant digits, signed (lookahead values are small: +0.069, -0.00031)."""
    from lm_eval_mtl.report.plots import no_negative_zero

    return no_negative_zero(f"{v:+.2f}" if abs(v) >= 0.095 else f"{v:+.2g}", plus=True)


def _wrap(text: str, width: int = 100) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
