"""Figures (the ``plot`` extra): per-task forest plot, weights bar chart, a generic heatmap.

matplotlib is imported lazily and used without pyplot (``matplotlib.figure.Figure``), so
no global backend or figure state changes, in a notebook either; without it every
function raises :class:`~lm_eval_mtl.errors.MissingExtraError`. The file format
follows the extension of ``path`` (``.png``, ``.svg``, ``.pdf``). Files are written
atomically (:func:`lm_eval_mtl.io.atomic.atomic_output`); ``inputs`` names files the
caller read, which a plot path may not be.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import MissingExtraError

if TYPE_CHECKING:
    from lm_eval_mtl.scoring.types import CompositeScore

__all__ = ["PLOT_SUFFIXES", "forest_plot", "heatmap", "weights_plot", "write_composite_plots"]

PLOT_SUFFIXES: tuple[str, ...] = (".png", ".svg", ".pdf")
_MISSING = "plots need: pip install 'lm-eval-mtl[plot]'"


def _figure(figsize: tuple[float, float]) -> tuple[Any, Any]:
    """Create a matplotlib Figure and Axes without pyplot (no global backend or figure state)."""
    try:
        import matplotlib  # noqa: F401 - the package itself, even where a submodule is already loaded
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(_MISSING) from None
    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if p.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(f"`path` must end with one of {', '.join(PLOT_SUFFIXES)}; got {str(p)!r}.")
    return p


def _save(fig: Any, path: Path, inputs: Iterable[str | Path] = ()) -> Path:
    from lm_eval_mtl.io.atomic import atomic_output

    with atomic_output(path, inputs=inputs) as tmp:
        fig.savefig(tmp, dpi=150, bbox_inches="tight", format=path.suffix[1:].lower())
    return path


def forest_plot(
    score: CompositeScore, path: str | Path, *, title: str | None = None, inputs: Iterable[str | Path] = ()
) -> Path:
    """Per-task normalized scores with their intervals, and the composite below them.

    Args:
        score: A composite score.
        path: Output file (``.png``, ``.svg`` or ``.pdf``).
        title: Figure title (default: suite and model).
        inputs: Files the caller read; ``path`` may not be one of them.

    Returns:
        The path written.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: Unsupported extension.
    """
    p = _check_path(path)
    tasks = list(score.tasks)
    labels = [t.label for t in tasks] + ["composite"]
    values = [t.normalized for t in tasks] + [score.value]
    cis = [t.confidence_interval(score.confidence_level) for t in tasks] + [score.ci]
    n = len(labels)
    fig, ax = _figure((7.0, 1.2 + 0.32 * n))
    y = np.arange(n)[::-1].astype(float)
    y[-1] -= 0.6  # gap before the composite row
    for yi, v, ci, is_comp in zip(y, values, cis, [False] * len(tasks) + [True], strict=True):
        color = "#b2182b" if is_comp else "#2166ac"
        if math.isfinite(ci.low) and math.isfinite(ci.high):
            ax.plot(
                [ci.low, ci.high], [yi, yi], color=color, lw=2.2 if is_comp else 1.5, solid_capstyle="butt"
            )
        ax.plot([v], [yi], marker="D" if is_comp else "o", color=color, ms=7 if is_comp else 5, zorder=3)
    ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
    ax.axvline(1.0, color="0.8", lw=0.8, ls=":")
    ax.set_yticks(y)
    ax.set_yticklabels(labels)
    ax.set_xlabel(
        f"normalized score z = (x - chance)/(ceiling - chance), {score.confidence_level * 100:g}% intervals"
    )
    ax.set_title(title or f"{score.suite}@{score.suite_version}: {score.model_name}", fontsize=10)
    ax.grid(axis="x", color="0.92")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, p, inputs)


def weights_plot(
    score: CompositeScore, path: str | Path, *, title: str | None = None, inputs: Iterable[str | Path] = ()
) -> Path:
    """Bar chart of the members' weights, colored by family.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: Unsupported extension.
    """
    p = _check_path(path)
    tasks = list(score.tasks)
    families = list(dict.fromkeys(t.family for t in tasks))
    fig, ax = _figure((7.0, 1.0 + 0.3 * len(tasks)))
    from matplotlib import colormaps
    from matplotlib.patches import Rectangle

    cmap = colormaps["tab10"]
    colors = [cmap(families.index(t.family) % 10) for t in tasks]
    y = np.arange(len(tasks))[::-1]
    ax.barh(y, [t.weight for t in tasks], color=colors)
    ax.set_yticks(y)
    ax.set_yticklabels([t.label for t in tasks])
    ax.set_xlabel("weight")
    handles = [Rectangle((0, 0), 1, 1, color=cmap(i % 10)) for i in range(len(families))]
    ax.legend(
        handles,
        families,
        title="family",
        fontsize=8,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        frameon=False,
    )
    top = max((t.weight for t in tasks), default=1.0)
    for yi, t in zip(y, tasks, strict=True):
        ax.text(t.weight + 0.01 * top, yi, f"{t.weight:.3f}", va="center", fontsize=8)
    ax.set_xlim(0, top * 1.15)
    ax.set_title(title or f"weights: {score.weights.id} (sha256 {score.weights.short_hash})", fontsize=10)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, p, inputs)


def heatmap(
    matrix: npt.ArrayLike,
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    path: str | Path,
    mask: npt.ArrayLike | None = None,
    title: str = "",
    center: float | None = 0.0,
    annotate: bool = True,
    fmt: str = ".2f",
    colorbar_label: str = "",
    cell_text: Sequence[Sequence[str]] | None = None,
    xlabel: str = "",
    ylabel: str = "",
    inputs: Iterable[str | Path] = (),
) -> Path:
    """Draw a labeled heatmap (e.g. a transfer matrix), with masked cells greyed out.

    Args:
        matrix: 2-D values, shape (len(rows), len(cols)); NaN cells are left blank.
        rows: Row labels.
        cols: Column labels.
        path: Output file (``.png``, ``.svg`` or ``.pdf``).
        mask: Boolean array of the same shape; True cells are shown greyed (e.g. not
            significant after FDR control) with their value still annotated.
        title: Figure title.
        center: Value at the middle of a diverging colormap (None: sequential viridis).
        annotate: Write each value in its cell.
        fmt: Format spec of annotations.
        colorbar_label: Label of the color bar.
        cell_text: Text of each cell (same shape), written instead of the formatted
            values, in NaN cells too (e.g. values with significance marks).
        xlabel: Label of the column axis.
        ylabel: Label of the row axis.
        inputs: Files the caller read; ``path`` may not be one of them.

    Returns:
        The path written.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: Shapes do not match, or unsupported extension.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape != (len(rows), len(cols)):
        raise ValueError(
            f"`matrix` must have shape (len(rows), len(cols)) = ({len(rows)}, {len(cols)}); got {m.shape}."
        )
    mk = None
    if mask is not None:
        mk = np.asarray(mask, dtype=bool)
        if mk.shape != m.shape:
            raise ValueError(f"`mask` must have the shape of `matrix` {m.shape}; got {mk.shape}.")
    if cell_text is not None:
        lengths = sorted({len(r) for r in cell_text})
        if len(cell_text) != m.shape[0] or lengths != [m.shape[1]]:
            raise ValueError(
                f"`cell_text` must have the shape of `matrix` {m.shape}; "
                f"got {len(cell_text)} rows of length(s) {lengths}."
            )
    p = _check_path(path)
    fig, ax = _figure((1.2 + 0.7 * len(cols), 1.0 + 0.5 * len(rows)))
    draw_heatmap(
        fig,
        ax,
        m,
        rows,
        cols,
        mask=mk,
        center=center,
        annotate=annotate,
        fmt=fmt,
        colorbar_label=colorbar_label,
        cell_text=cell_text,
    )
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    return _save(fig, p, inputs)


def draw_heatmap(
    fig: Any,
    ax: Any,
    m: npt.NDArray[np.float64],
    rows: Sequence[str],
    cols: Sequence[str],
    *,
    mask: npt.NDArray[np.bool_] | None = None,
    center: float | None = 0.0,
    annotate: bool = True,
    fmt: str = ".2f",
    colorbar_label: str = "",
    cell_text: Sequence[Sequence[str]] | None = None,
    fontsize: float = 8,
    colorbar_kw: dict[str, Any] | None = None,
) -> None:
    """Draw a heatmap on the matplotlib Axes ``ax`` of ``fig`` (inputs already checked).

    The drawing of :func:`heatmap`, for the package's figures with several panels or
    files (not part of the public API); the arguments
    are those of :func:`heatmap`, plus the annotation ``fontsize`` and the keyword
    arguments of the color bar (default ``fraction=0.046, pad=0.04``).
    """
    mk = mask
    finite = m[np.isfinite(m)]
    if center is not None:
        span = float(np.max(np.abs(finite - center))) if finite.size else 1.0
        span = span or 1.0
        im = ax.imshow(np.ma.masked_invalid(m), cmap="RdBu_r", vmin=center - span, vmax=center + span)
    else:
        im = ax.imshow(np.ma.masked_invalid(m), cmap="viridis")
    if mk is not None:
        overlay = np.where(mk, 1.0, np.nan)
        ax.imshow(np.ma.masked_invalid(overlay), cmap="Greys", vmin=0, vmax=1.6, alpha=0.75)
    if annotate:
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                if cell_text is not None or math.isfinite(m[i, j]):
                    muted = mk is not None and bool(mk[i, j])
                    ax.text(
                        j,
                        i,
                        cell_text[i][j] if cell_text is not None else format(m[i, j], fmt),
                        ha="center",
                        va="center",
                        fontsize=fontsize,
                        color="0.35" if muted else "black",
                    )
    ax.set_xticks(range(len(cols)))
    ax.set_xticklabels(list(cols), rotation=45, ha="right")
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(list(rows))
    cb = fig.colorbar(
        im, ax=ax, **(colorbar_kw if colorbar_kw is not None else {"fraction": 0.046, "pad": 0.04})
    )
    if colorbar_label:
        cb.set_label(colorbar_label)


def write_composite_plots(
    score: CompositeScore, folder: str | Path, *, suffix: str = ".png", inputs: Iterable[str | Path] = ()
) -> tuple[Path, ...]:
    """Write the forest plot and the weights chart into ``folder``; returns the paths.

    ``inputs``: files the caller read, which neither plot may overwrite.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: Unsupported ``suffix``.
    """
    if suffix not in PLOT_SUFFIXES:
        raise ValueError(f"`suffix` must be one of {', '.join(PLOT_SUFFIXES)}; got {suffix!r}.")
    d = Path(folder)
    inputs = tuple(inputs)
    return (
        forest_plot(score, d / f"composite_tasks{suffix}", inputs=inputs),
        weights_plot(score, d / f"composite_weights{suffix}", inputs=inputs),
    )
