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
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import MissingExtraError

if TYPE_CHECKING:
    from lm_eval_mtl.scoring.types import CompositeScore

__all__ = [
    "BLANK_FOOTNOTE",
    "DPI",
    "MARKS_FOOTNOTE",
    "PLOT_SUFFIXES",
    "check_formats",
    "default_footnote",
    "forest_plot",
    "heatmap",
    "no_negative_zero",
    "short_model_name",
    "text_color",
    "weights_plot",
    "write_composite_plots",
]

PLOT_SUFFIXES: tuple[str, ...] = (".png", ".svg", ".pdf")
DPI = 100
"""Default resolution of raster (PNG) figures, in dots per inch."""
_MISSING = "plots need: pip install 'lm-eval-mtl[plot]'"
MARKS_FOOTNOTE = "* significant at the FDR level in the title;  ** adjusted p < 0.01;  *** adjusted p < 0.001"
"""What the significance marks of the package's tables and heatmaps mean."""
BLANK_FOOTNOTE = "hatched cells: no value (not defined for that cell)"
"""Footnote of a heatmap with undefined (NaN) cells, which are left blank and hatched."""
_MARKED = re.compile(r"\d\*{1,3}\s*$")
_NEGATIVE_ZERO = re.compile(r"(?<![\w.])-(?=0*\.?0+(?![\d.]))")


def _figure(figsize: tuple[float, float]) -> tuple[Any, Any]:
    """Create a matplotlib Figure and Axes without pyplot (no global backend or figure state)."""
    try:
        import matplotlib  # noqa: F401 - the package itself, even where a submodule is already loaded
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError(_MISSING) from None
    fig = Figure(figsize=figsize)
    return fig, fig.subplots()


def check_formats(formats: Iterable[str]) -> tuple[str, ...]:
    """Return ``formats`` if each is a plot format (``png``, ``svg``, ``pdf``).

    Raises:
        MTLError: Another format (named).
    """
    from lm_eval_mtl.errors import MTLError

    got = tuple(formats)
    bad = [f for f in got if "." + f not in PLOT_SUFFIXES]
    if bad:
        raise MTLError(f"`formats` must be among png, svg, pdf; got {', '.join(bad)}.")
    return got


def _check_path(path: str | Path) -> Path:
    p = Path(path)
    if p.suffix.lower() not in PLOT_SUFFIXES:
        raise ValueError(f"`path` must end with one of {', '.join(PLOT_SUFFIXES)}; got {str(p)!r}.")
    return p


def _save(fig: Any, path: Path, inputs: Iterable[str | Path] = (), dpi: int = DPI) -> Path:
    from lm_eval_mtl.io.atomic import atomic_output

    with atomic_output(path, inputs=inputs) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=path.suffix[1:].lower())
    return path


def short_model_name(name: str) -> str:
    """Return a model name fit for a figure: a local path becomes its last component.

    lm-eval names a local model by its path (``pretrained=/tmp/x/tiny-gpt2``); a Hub id
    such as ``ORG/MODEL`` is kept as it is.
    """
    text = name.strip()
    if text.startswith(("/", "./", "../", "~", "\\")) or re.match(r"^[A-Za-z]:[\\/]", text):
        return Path(text.rstrip("/\\")).name or text
    return text


def no_negative_zero(text: str, plus: bool = False) -> str:
    """Rewrite every negative zero in ``text`` (``-0.00``, ``-0``) as ``0.00`` (``+0.00`` with ``plus``)."""
    return _NEGATIVE_ZERO.sub("+" if plus else "", text)


def text_color(rgba: Sequence[float]) -> str:
    """Return ``"black"`` or ``"white"``, whichever is more readable on the colour ``rgba``.

    Uses the WCAG relative luminance: white text below 0.179, where both have the same
    contrast ratio.
    """

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(float(c)) for c in rgba[:3])
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return "white" if luminance < 0.179 else "black"


def forest_plot(
    score: CompositeScore,
    path: str | Path,
    *,
    title: str | None = None,
    inputs: Iterable[str | Path] = (),
    dpi: int = DPI,
) -> Path:
    """Per-task normalized scores with their intervals, and the composite below them.

    Args:
        score: A composite score.
        path: Output file (``.png``, ``.svg`` or ``.pdf``).
        title: Figure title (default: suite and model, a local model path shortened to its name).
        inputs: Files the caller read; ``path`` may not be one of them.
        dpi: Resolution of a PNG.

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
    model = short_model_name(score.model_name)
    ax.set_title(title or f"{score.suite}@{score.suite_version}: {model}", fontsize=10)
    ax.grid(axis="x", color="0.92")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    return _save(fig, p, inputs, dpi)


def weights_plot(
    score: CompositeScore,
    path: str | Path,
    *,
    title: str | None = None,
    inputs: Iterable[str | Path] = (),
    dpi: int = DPI,
) -> Path:
    """Bar chart of the members' weights, colored by family (the legend outside the axes).

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
    return _save(fig, p, inputs, dpi)


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
    footnote: str | None = None,
    dpi: int = DPI,
) -> Path:
    """Draw a labeled heatmap (e.g. a transfer matrix), with masked cells greyed out.

    Each annotation is black or white, whichever reads better on its cell's colour;
    a negative zero is written ``0.00`` (``+0.00`` where the texts carry signs).

    Args:
        matrix: 2-D values, shape (len(rows), len(cols)); NaN cells are left blank
            (hatched) and never annotated ``nan``.
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
            values (e.g. values with significance marks); in a NaN cell only a text
            other than ``nan`` is written (e.g. ``n/a``).
        xlabel: Label of the column axis.
        ylabel: Label of the row axis.
        inputs: Files the caller read; ``path`` may not be one of them.
        footnote: Text under the figure. None: explain what the figure needs explained,
            i.e. significance marks (``*``, ``**``, ``***``: :data:`MARKS_FOOTNOTE`) and
            hatched NaN cells (:data:`BLANK_FOOTNOTE`); ``""``: none.
        dpi: Resolution of a PNG.

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
    note = default_footnote(m, cell_text) if footnote is None else footnote
    if note:
        _footnote(ax, note, below_label=bool(xlabel))
    return _save(fig, p, inputs, dpi)


def default_footnote(m: npt.NDArray[np.float64], cell_text: Sequence[Sequence[str]] | None = None) -> str:
    """Return the footnote a heatmap of ``m`` needs: what its marks and its blank cells mean."""
    parts: list[str] = []
    if cell_text is not None and any(_MARKED.search(t) for row in cell_text for t in row):
        parts.append(MARKS_FOOTNOTE)
    if bool(np.any(~np.isfinite(m))):
        parts.append(BLANK_FOOTNOTE)
    return "\n".join(parts)


def _footnote(ax: Any, text: str, *, below_label: bool) -> None:
    """Write ``text`` small, left-aligned under the axes (under the x label when there is one)."""
    if below_label:
        ax.annotate(
            text,
            xy=(0.5, 0.0),
            xycoords=ax.xaxis.label,
            xytext=(0, -6),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=7,
            color="0.25",
        )
    else:
        ax.annotate(
            text,
            xy=(0.0, 0.0),
            xycoords="axes fraction",
            xytext=(0, -70),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize=7,
            color="0.25",
        )


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
    from matplotlib import colormaps
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    mk = mask
    finite = m[np.isfinite(m)]
    if center is not None:
        span = float(np.max(np.abs(finite - center))) if finite.size else 1.0
        span = span or 1.0
        cmap, norm = colormaps["RdBu_r"], Normalize(vmin=center - span, vmax=center + span)
    else:
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        cmap, norm = colormaps["viridis"], Normalize(vmin=lo, vmax=hi if hi > lo else lo + 1.0)
    im = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, norm=norm)
    grey = colormaps["Greys"](1.0 / 1.6)
    if mk is not None:
        overlay = np.where(mk, 1.0, np.nan)
        ax.imshow(np.ma.masked_invalid(overlay), cmap="Greys", vmin=0, vmax=1.6, alpha=0.75)
    for i, j in zip(*np.nonzero(~np.isfinite(m)), strict=True):
        # undefined, not zero: a white cell would read as 0 on a diverging scale
        ax.add_patch(
            Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", edgecolor="0.75", linewidth=0)
        )
    if annotate:
        texts = cell_text if cell_text is not None else [[format(v, fmt) for v in row] for row in m]
        plus = "+" in fmt if cell_text is None else any(t.lstrip().startswith("+") for r in texts for t in r)
        for i in range(m.shape[0]):
            for j in range(m.shape[1]):
                text = texts[i][j]
                if not math.isfinite(m[i, j]) and (cell_text is None or _is_nan_text(text)):
                    continue
                rgba = cmap(norm(m[i, j])) if math.isfinite(m[i, j]) else (1.0, 1.0, 1.0, 1.0)
                if mk is not None and bool(mk[i, j]):
                    rgba = tuple(0.25 * c + 0.75 * g for c, g in zip(rgba[:3], grey[:3], strict=True))
                ax.text(
                    j,
                    i,
                    no_negative_zero(text, plus),
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color=text_color(rgba),
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


def _is_nan_text(text: str) -> bool:
    return text.strip().lower() in ("", "nan", "+nan", "-nan")


def write_composite_plots(
    score: CompositeScore,
    folder: str | Path,
    *,
    suffix: str = ".png",
    inputs: Iterable[str | Path] = (),
    dpi: int = DPI,
) -> tuple[Path, ...]:
    """Write the forest plot and the weights chart into ``folder``; returns the paths.

    ``inputs``: files the caller read, which neither plot may overwrite; ``dpi``: the
    resolution of PNGs.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: Unsupported ``suffix``.
    """
    if suffix not in PLOT_SUFFIXES:
        raise ValueError(f"`suffix` must be one of {', '.join(PLOT_SUFFIXES)}; got {suffix!r}.")
    d = Path(folder)
    inputs = tuple(inputs)
    return (
        forest_plot(score, d / f"composite_tasks{suffix}", inputs=inputs, dpi=dpi),
        weights_plot(score, d / f"composite_weights{suffix}", inputs=inputs, dpi=dpi),
    )
