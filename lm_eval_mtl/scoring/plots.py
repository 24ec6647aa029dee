"""Plots of a weights file: the weights bar chart and the population correlation heatmap.

Needs the optional extra ``plot`` (matplotlib).
"""

from __future__ import annotations

from pathlib import Path

from lm_eval_mtl.errors import MissingExtraError, MTLError
from lm_eval_mtl.scoring.weights_file import WeightsFile

__all__ = ["plot_weights"]


def plot_weights(wf: WeightsFile, path: str | Path) -> Path:
    """Draw ``wf``'s weights (bars) and, when recorded, its shrunk correlation (heatmap).

    Args:
        wf: The weights file.
        path: Output image (``.png``, ``.pdf``, ``.svg``).

    Returns:
        The path written.

    Raises:
        MissingExtraError: matplotlib is not installed.
        MTLError: ``path`` has no image suffix.
    """
    out = Path(path)
    if out.suffix.lower() not in (".png", ".pdf", ".svg"):
        raise MTLError(f"`path` must end in .png, .pdf or .svg; got {str(path)!r}.")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError("plots need: pip install 'lm-eval-mtl[plot]'") from None
    keys = list(wf.weights)
    has_corr = bool(wf.correlation)
    fig, axes = plt.subplots(1, 2 if has_corr else 1, figsize=(11 if has_corr else 6, 4.5), squeeze=False)
    ax = axes[0][0]
    ax.barh(keys[::-1], [wf.weights[k] for k in keys][::-1], color="#4472c4")
    ax.axvline(1.0 / len(keys), color="grey", linestyle="--", linewidth=1, label="equal")
    ax.set_xlabel("weight")
    ax.set_title(f"{wf.id} ({wf.scheme})")
    ax.legend(loc="lower right")
    if has_corr:
        ax2 = axes[0][1]
        im = ax2.imshow(wf.correlation, vmin=-1, vmax=1, cmap="RdBu_r")
        ax2.set_xticks(range(len(keys)), keys, rotation=45, ha="right")
        ax2.set_yticks(range(len(keys)), keys)
        for i, row in enumerate(wf.correlation):
            for j, v in enumerate(row):
                ax2.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7)
        n = wf.population.n_models if wf.population else 0
        ax2.set_title(f"shrunk correlation (delta={wf.delta:.4f}, {n} models)")
        fig.colorbar(im, ax=ax2, shrink=0.8)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out
