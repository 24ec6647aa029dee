"""Render a :class:`~lm_eval_mtl.scoring.composite.CompositeScore` as text.

Formats: ``table`` (terminal), ``md`` (GitHub Markdown), ``latex`` (booktabs),
``csv`` (tidy: one row per member plus the composite, full precision; :data:`CSV_COLUMNS`) and ``json``
(:meth:`CompositeScore.to_dict`, full precision). Rounding happens only in
:mod:`lm_eval_mtl.report.tables`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from lm_eval_mtl.jsonout import json_dumps
from lm_eval_mtl.report.tables import Cell, Table, render_table
from lm_eval_mtl.scoring.signature import limit_mark, limit_text

if TYPE_CHECKING:
    from lm_eval_mtl.scoring.types import CompositeScore

__all__ = [
    "CSV_COLUMNS",
    "REPORT_FORMATS",
    "ReportFormat",
    "composite_csv",
    "composite_table",
    "render_composite",
]

ReportFormat = Literal["table", "md", "latex", "json", "csv"]
REPORT_FORMATS: tuple[str, ...] = ("table", "md", "latex", "json", "csv")

_COLUMNS = ("task", "family", "metric", "n", "raw", "chance", "z", "se(z)", "CI(z)", "weight")


def _method_text(score: CompositeScore) -> str:
    if score.method == "analytic":
        return "analytic (normal, or t for clustered members, from standard errors)"
    # the seed is part of the citation: with it, the interval can be reproduced exactly
    seed = f"seed {score.seed}" if score.seed is not None else "no seed recorded (not reproducible)"
    if score.method == "wild":
        return f"wild cluster bootstrap-t over clusters (few clusters), B={score.n_resamples}, {seed}"
    return f"bootstrap {score.method} over items, B={score.n_resamples}, {seed}"


def headline(score: CompositeScore, precision: int = 3) -> str:
    """Return the one-line summary: value, interval, level and method (and a ``--limit`` mark)."""
    lvl = f"{score.confidence_level * 100:g}%"
    lo, hi = score.ci
    limited = f"; {limit_mark(score.limit)}" if score.limit is not None else ""
    return (
        f"composite {score.value:.{precision}f} "
        f"({lvl} CI {lo:.{precision}f} to {hi:.{precision}f}; se {score.se:.{precision}f}; {_method_text(score)}"
        f"{limited})"
    )


def composite_table(score: CompositeScore) -> Table:
    """Build the per-member table with a final composite row, and notes with the provenance."""
    rows: list[tuple[Cell, ...]] = []
    for t in score.tasks:
        metric = t.metric if t.filter == "none" else f"{t.metric} ({t.filter})"
        rows.append(
            (
                t.label,
                t.family,
                metric,
                t.n,
                t.raw,
                t.chance,
                t.normalized,
                t.se,
                t.confidence_interval(score.confidence_level),
                t.weight,
            )
        )
    total_n = (
        sum(t.n for t in score.tasks if t.n is not None)
        if all(t.n is not None for t in score.tasks)
        else None
    )
    rows.append(
        (
            "composite",
            None,
            None,
            total_n,
            None,
            None,
            score.value,
            score.se,
            score.ci,
            sum(t.weight for t in score.tasks),
        )
    )
    notes = [
        headline(score),
        f"weights: {score.weights.id} (scheme {score.weights.scheme}, sha256 {score.weights.short_hash})",
        "z = (raw - chance) / (ceiling - chance); task intervals: Wilson for 0/1 metrics with logged items, "
        "else normal from se(z).",
    ]
    if score.leaderboard_average is not None:
        notes.append(
            f"{score.leaderboard} leaderboard average (as published, 0-100): {score.leaderboard_average:.2f}"
        )
    if score.percentile is not None:
        notes.append(f"percentile: {score.percentile:.1f} in the {score.percentile_reference}")
    if score.tasks_dropped:
        by_reason: dict[str, list[str]] = {}
        for label, why in score.drop_reasons.items():
            key = "task not in the run" if why.endswith("not in the run") else why
            by_reason.setdefault(key, []).append(label)
        reasons = "; ".join(
            f"{why}: {', '.join(labels[:10])}" + (f" and {len(labels) - 10} more" if len(labels) > 10 else "")
            for why, labels in by_reason.items()
        )
        notes.append(f"DROPPED {len(score.tasks_dropped)} member(s), weights renormalized ({reasons})")
    notes.extend(f"note: {n}" for n in score.notes)
    if score.other_runs:
        notes.append(
            f"run used: {score.run_path} (other runs in the folder: {len(score.other_runs)}; pick one with --run)"
        )
    if score.limit is not None:
        notes.append(
            f"LIMITED RUN: {limit_mark(score.limit)} (limit={limit_text(score.limit)} in the signature)"
        )
    notes.append(f"signature: {score.signature}")
    title = f"{score.suite}@{score.suite_version}: {score.model_name}"
    if score.limit is not None:
        title += f" [--limit {limit_text(score.limit)}]"
    return Table(
        title=title,
        columns=_COLUMNS,
        rows=tuple(rows),
        formats={"raw": ".3f", "chance": ".3f", "z": ".3f", "se(z)": ".3f", "CI(z)": ".3f", "weight": ".3f"},
        notes=tuple(notes),
        caption=f"{title}. {headline(score)}.",
        separators=(len(rows) - 1,),
    )


def render_composite(score: CompositeScore, fmt: ReportFormat = "table") -> str:
    """Render a composite score.

    Args:
        score: The composite.
        fmt: ``table``, ``md``, ``latex``, ``csv`` or ``json``.

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: Unknown ``fmt``.
    """
    if fmt == "json":
        return json_dumps(score.to_dict())
    if fmt not in REPORT_FORMATS:
        raise ValueError(f"`fmt` must be one of {', '.join(REPORT_FORMATS)}; got {fmt!r}.")
    if fmt == "csv":
        return composite_csv(score)
    return render_table(composite_table(score), fmt)


CSV_COLUMNS: tuple[str, ...] = (
    *("model", "suite", "suite_version", "task", "label", "family", "metric", "filter", "n", "raw", "raw_se"),
    *("chance", "chance_source", "ceiling", "z", "se_z", "ci_low", "ci_high", "confidence_level", "weight"),
    *("interval_method", "limit", "signature"),
)
"""Columns of ``report --format csv``: one row per member, then the ``composite`` row (task
``composite``); numbers at full precision, empty where a value does not apply."""


def composite_csv(score: CompositeScore) -> str:
    """Tidy CSV of a composite: one row per member plus the composite row (:data:`CSV_COLUMNS`).

    Written through :func:`~lm_eval_mtl.report.tables.render_table` (floats at full precision,
    text made printable).
    """
    level = score.confidence_level
    limit = None if score.limit is None else limit_text(score.limit)
    common = (score.model_name, score.suite, score.suite_version)
    rows: list[tuple[Cell, ...]] = []
    for t in score.tasks:
        lo, hi = t.confidence_interval(level)
        rows.append(
            (
                *common,
                *(
                    t.task,
                    t.label,
                    t.family,
                    t.metric,
                    t.filter,
                    t.n,
                    t.raw,
                    t.raw_se,
                    t.chance,
                    t.chance_source,
                ),
                *(t.ceiling, t.normalized, t.se, float(lo), float(hi), level, t.weight, t.interval_method),
                *(limit, score.signature),
            )
        )
    total_n = (
        sum(t.n for t in score.tasks if t.n is not None)
        if all(t.n is not None for t in score.tasks)
        else None
    )
    lo, hi = score.ci
    rows.append(
        (
            *common,
            *("composite", "composite", None, None, None, total_n, None, None, None, None, None),
            *(score.value, score.se, float(lo), float(hi), level, sum(t.weight for t in score.tasks)),
            *(score.method, limit, score.signature),
        )
    )
    return render_table(Table(title="", columns=CSV_COLUMNS, rows=tuple(rows)), "csv")
