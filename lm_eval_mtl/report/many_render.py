"""Render a many-model result (:class:`ManyScores`) for people: the ranked table in any format, or a plot.

Renderers (:func:`render_many`): ``table``, ``md``, ``latex`` (the ranked table with its
footer), ``csv`` (tidy: one row per model, full precision, plain cells; a model folder that
was not scored is a row with ``status`` ``not scored`` and its ``reason``) and ``json``
(:meth:`ManyScores.to_dict`). :func:`plot_many` draws one forest plot of the composites.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Literal

from lm_eval_mtl.jsonout import json_dumps
from lm_eval_mtl.report.many_rows import RANK_RANGE_TEXT, ManyScores, ModelRow, _signature_fields, _tag
from lm_eval_mtl.report.tables import Cell, Table, render_table

__all__ = [
    "ManyFormat",
    "many_table",
    "plot_many",
    "render_many",
]

ManyFormat = Literal["table", "md", "latex", "json", "csv"]
_FORMATS: tuple[str, ...] = ("table", "md", "latex", "json", "csv")

_FIELD_TEXT = {
    "suite": "suite@version",
    "norm": "norm= (normalization)",
    "w": "w= (weights)",
    "lm-eval": "lm-eval= (lm-eval version)",
    "tasks": "tasks= (task hashes: documents, prompts, targets)",
    "drop": "drop= (dropped members)",
    "limit": "limit= (an lm_eval --limit run)",
}


def _method_summary(rows: Sequence[ModelRow]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        c = r.composite
        if c.method == "analytic":
            key = "analytic (from standard errors)"
        elif c.method == "wild":
            key = f"wild cluster bootstrap-t, B={c.n_resamples}"
        else:
            key = f"bootstrap {c.method} over items, B={c.n_resamples}"
        counts[key] = counts.get(key, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{k} for {n} model(s)" for k, n in counts.items())


def _listing(items: Sequence[str], limit: int = 10) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _notes(scores: ManyScores) -> tuple[str, ...]:
    rows = scores.rows
    n = len(rows)
    lvl = f"{scores.confidence_level * 100:g}%"
    notes = [
        f"composite: each model's latest run, chance-normalized and weighted; CI: {lvl} interval, "
        f"{_method_summary(rows)}; se: its standard error; tasks/dropped: members scored/dropped.",
        RANK_RANGE_TEXT,
    ]
    if any(r.composite.method != "analytic" for r in rows):
        notes.append(
            f"seeds: each model's bootstrap seed is derived from --seed {scores.seed} and its model name "
            "(seed in csv/json; `report MODEL_FOLDER --seed <it>` reproduces a row): adding a model does "
            "not change the others' intervals."
        )
    if scores.suite_reason is not None:
        notes.append(
            f"suite {scores.suite}@{scores.suite_version} detected from {scores.suite_from} "
            f"({scores.suite_reason}) and used for every model."
        )
    sigs = scores.signatures
    if len(sigs) == 1:
        notes.append(f"signature (all {n} models): {sigs[0]}")
    else:
        diff = scores.signature_differences
        what = ", ".join(_FIELD_TEXT.get(k, k) for k in diff)
        if scores.comparable:
            versions = sorted({str(r.composite.lm_eval_version) for r in rows})
            notes.append(
                f"note: the signatures differ only in {what} ({', '.join(versions)}): same suite, weights and "
                "documents; metric implementations may differ between lm-eval versions."
            )
        else:
            notes.append(
                f"WARNING: the models' signatures differ in {what}: composites with different signatures "
                "are NOT comparable (sig column: the signature group of each model)."
            )
        notes.extend(f"signature {_tag(i)}: {s}" for i, s in enumerate(sigs))
    if all(_signature_fields(s).get("tasks") == "na" for s in sigs):
        notes.append(
            "note: no task hashes recorded (tasks=na; runs without --log_samples): that the models saw "
            "the same documents cannot be checked."
        )
    dropped = [r.composite for r in rows if r.composite.tasks_dropped]
    if dropped:
        notes.append(
            f"DROPPED members in {len(dropped)} model(s) (--missing drop; weights renormalized, those "
            f"composites cover fewer members): "
            + "; ".join(f"{c.model}: {_listing(list(c.tasks_dropped), 5)}" for c in dropped[:10])
            + (f"; and {len(dropped) - 10} more" if len(dropped) > 10 else "")
        )
    several = sum(1 for r in rows if r.composite.other_runs)
    if several:
        notes.append(
            f"{several} model folder(s) hold several runs; the latest of each is used (json: other_runs)."
        )
    noted = sum(1 for r in rows if r.composite.notes)
    if noted:
        notes.append(
            f"{noted} model(s) have notes (overlapping members, small samples, ...): see --format json, "
            "or report one model's folder."
        )
    notes.extend(f"NOT SCORED {x.folder} (--missing drop): {x.reason}" for x in scores.not_scored)
    return tuple(notes)


def many_table(scores: ManyScores) -> Table:
    """Build the ranked table (rank, model, composite, CI, se, rank range, tasks, dropped) and its footer.

    A ``sig`` column (signature group) is added when the signatures differ, a ``folder``
    column when two folders hold runs of the same model name.
    """
    rows = scores.rows
    with_sig = len(scores.signatures) > 1
    names = [r.composite.model for r in rows]
    with_folder = len(set(names)) < len(names)
    columns = ["rank", "model", "composite", "CI", "se", "rank range", "tasks", "dropped"]
    columns += ["sig"] * with_sig + ["folder"] * with_folder
    body: list[tuple[Cell, ...]] = []
    for r in rows:
        c = r.composite
        span = f"{r.rank_low}" if r.rank_low == r.rank_high else f"{r.rank_low}-{r.rank_high}"
        cells: list[Cell] = [r.rank, c.model, c.value, c.ci, c.se, span, c.tasks_scored, len(c.tasks_dropped)]
        if with_sig:
            cells.append(scores.signature_group(c.signature))
        if with_folder:
            cells.append(c.folder)
        body.append(tuple(cells))
    title = f"{scores.suite}@{scores.suite_version}: {len(rows)} models"
    if scores.not_scored:
        title += f" ({len(scores.not_scored)} not scored)"
    lvl = f"{scores.confidence_level * 100:g}%"
    return Table(
        title=title,
        columns=tuple(columns),
        rows=tuple(body),
        formats={"composite": ".3f", "CI": ".3f", "se": ".3f"},
        notes=_notes(scores),
        caption=f"{title}: composites with {lvl} intervals, best first"
        + ("" if scores.comparable else " (signatures differ: not comparable)"),
    )


_CSV_COLUMNS = (
    "rank",
    "rank_low",
    "rank_high",
    "model",
    "folder",
    "composite",
    "se",
    "ci_low",
    "ci_high",
    "confidence_level",
    "method",
    "n_resamples",
    "seed",
    "tasks_scored",
    "tasks_dropped",
    "signature",
    "signature_group",
    "lm_eval_version",
    "results_file",
    "other_runs",
    "status",
    "reason",
)


def _csv_table(scores: ManyScores) -> Table:
    body: list[tuple[Cell, ...]] = []
    for r in scores.rows:
        c = r.composite
        body.append(
            (
                r.rank,
                r.rank_low,
                r.rank_high,
                c.model,
                c.folder,
                c.value,
                c.se,
                float(c.ci.low),
                float(c.ci.high),
                c.confidence_level,
                c.method,
                c.n_resamples,
                c.seed,
                c.tasks_scored,
                len(c.tasks_dropped),
                c.signature,
                scores.signature_group(c.signature),
                c.lm_eval_version,
                c.results_file,
                len(c.other_runs),
                "scored",
                None,
            )
        )
    for x in scores.not_scored:
        body.append((None,) * 3 + (None, x.folder) + (None,) * 15 + ("not scored", x.reason))
    return Table(title="", columns=_CSV_COLUMNS, rows=tuple(body))


def render_many(scores: ManyScores, fmt: ManyFormat = "table") -> str:
    """Render the table of many models.

    Args:
        scores: From :func:`score_many`.
        fmt: ``table``, ``md``, ``latex`` (ranked table and footer), ``csv`` (tidy, one row per
            model folder, full precision) or ``json`` (:meth:`ManyScores.to_dict`).

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: Unknown ``fmt``.
    """
    if fmt == "json":
        return json_dumps(scores.to_dict())
    if fmt == "csv":
        return render_table(_csv_table(scores), "csv")
    if fmt not in _FORMATS:
        raise ValueError(f"`fmt` must be one of {', '.join(_FORMATS)}; got {fmt!r}.")
    return render_table(many_table(scores), fmt)


def plot_many(scores: ManyScores, path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """Draw one forest plot of the models' composites with their intervals, best at the top, and a caption.

    Args:
        scores: From :func:`score_many`.
        path: Output file (``.png``, ``.svg`` or ``.pdf``).
        inputs: Files the caller read; ``path`` may not be one of them.

    Returns:
        The path written.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: Unsupported extension.
    """
    from lm_eval_mtl.report.plots import _check_path, _figure, _save

    p = _check_path(path)
    rows = scores.rows
    n = len(rows)
    with_sig = len(scores.signatures) > 1
    fig, ax = _figure((7.5, min(1.8 + 0.3 * n, 400.0)))
    ys = [float(n - 1 - i) for i in range(n)]
    for y, r in zip(ys, rows, strict=True):
        c = r.composite
        if math.isfinite(c.ci.low) and math.isfinite(c.ci.high):
            ax.plot([c.ci.low, c.ci.high], [y, y], color="#2166ac", lw=1.6, solid_capstyle="butt")
        ax.plot([c.value], [y], marker="D", color="#b2182b", ms=5, zorder=3)
    labels = [
        f"{r.rank}. {r.composite.model}"
        + (f" [{scores.signature_group(r.composite.signature)}]" if with_sig else "")
        for r in rows
    ]
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8 if n > 40 else 9)
    ax.set_ylim(-0.7, n - 0.3)
    lvl = f"{scores.confidence_level * 100:g}%"
    ax.set_xlabel(f"composite (chance-normalized, weighted), {lvl} intervals")
    ax.set_title(f"{scores.suite}@{scores.suite_version}: {n} models", fontsize=10)
    ax.grid(axis="x", color="0.92")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    caption = (
        f"Composite of each model's latest run on {scores.suite}@{scores.suite_version} with its {lvl} "
        f"interval ({_method_summary(rows)}; seeds derived from seed {scores.seed} and each model name), "
        "best first. The intervals are marginal: overlap is not a test of a difference."
    )
    if not scores.comparable:
        caption += (
            " WARNING: the models' signatures differ ([A], [B], ...): those composites are not comparable."
        )
    if scores.not_scored:
        caption += f" Not scored: {_listing([x.folder for x in scores.not_scored])}."
    fig.text(0.01, 0.0, textwrap.fill(caption, 110), ha="left", va="top", fontsize=7, color="0.25")
    return _save(fig, p, inputs)
