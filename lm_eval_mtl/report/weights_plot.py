"""Plots of a weights file: the weights bar chart and the population correlation heatmap.

Needs the optional extra ``plot`` (matplotlib).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from lm_eval_mtl.errors import MissingExtraError, MTLError
from lm_eval_mtl.scoring.weights_file import WeightsFile

__all__ = ["plot_weights"]


def plot_weights(
    wf: WeightsFile, path: str | Path, *, inputs: Iterable[str | Path] = (), dpi: int = 100
) -> Path:
    """Draw ``wf``'s weights (bars) and, when recorded, its shrunk correlation (heatmap).

    The legend sits outside the bars; the heatmap's numbers are black or white by the
    luminance of their cell.

    Args:
        wf: The weights file.
        path: Output image (``.png``, ``.pdf``, ``.svg``), written atomically.
        inputs: Files the caller read (the weights file); ``path`` may not be one of them.
        dpi: Resolution of a PNG.

    Returns:
        The path written.

    Raises:
        MissingExtraError: matplotlib is not installed.
        MTLError: ``path`` has no image suffix.
        OutputPathError: ``path`` is one of ``inputs`` or a folder, or the write failed.
    """
    out = Path(path)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise MTLError(f"`path` must end in .png, .pdf or .svg; got {str(path)!r}.")
    try:
        import matplotlib  # noqa: F401 - the package itself, even where a submodule is already loaded
        from matplotlib.figure import Figure
    except ImportError:
        raise MissingExtraError("plots need: pip install 'lm-eval-mtl[plot]'") from None
    from lm_eval_mtl.report.plots import draw_heatmap

    keys = list(wf.weights)
    has_corr = bool(wf.correlation)
    fig = Figure(figsize=(11 if has_corr else 6, 4.5))
    axes = fig.subplots(1, 2 if has_corr else 1, squeeze=False)
    ax = axes[0][0]
    ax.barh(keys[::-1], [wf.weights[k] for k in keys][::-1], color="#4472c4")
    ax.axvline(1.0 / len(keys), color="grey", linestyle="--", linewidth=1, label="equal weights (1/n)")
    ax.set_xlabel("weight")
    ax.set_title(f"{wf.id} ({wf.scheme})")
    # below the x label, outside the axes: a legend inside would cover a bar
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False, fontsize=8)
    if has_corr:
        ax2 = axes[0][1]
        corr = np.asarray(wf.correlation, dtype=np.float64)
        # a correlation matrix has a unit diagonal: the color scale spans [-1, 1]
        draw_heatmap(fig, ax2, corr, keys, keys, fontsize=7, colorbar_kw={"shrink": 0.8})
        n = wf.population.n_models if wf.population else 0
        ax2.set_title(f"shrunk correlation (delta={wf.delta:.4f}, {n} models)")
    fig.tight_layout()
    from lm_eval_mtl.io.atomic import atomic_output

    with atomic_output(out, inputs=inputs) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight", format=out.suffix[1:].lower())
    return out
