"""A generic table and its renderers: aligned terminal text, GitHub Markdown, LaTeX booktabs, CSV.

Every report (composite, comparison, transfer) builds a :class:`Table` from its
result object and calls :func:`render_table`. Values stay at full precision in
the table; this module is the only place that rounds them (terminal, Markdown
and LaTeX use each column's format; CSV writes full precision).

Cells are ``str``, ``int``, ``float``, ``bool``, ``None`` (rendered as a dash;
an empty CSV field) or a :class:`~lm_eval_mtl.stats._common.ConfidenceInterval`
(rendered ``[low, high]``; in CSV it becomes two columns ``<name>_low`` and
``<name>_high``). NaN renders as ``nan``.

Example::

    t = Table(
        title="Composite",
        columns=("task", "raw", "z"),
        rows=(("sst2", 0.91, 0.82), ("rte", 0.63, 0.26)),
        formats={"raw": ".3f", "z": "+.3f"},
        notes=("z = (x - chance) / (ceiling - chance)",),
    )
    print(render_table(t, "md"))
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from lm_eval_mtl.stats._common import ConfidenceInterval

__all__ = ["Cell", "TableFormat", "Table", "TABLE_FORMATS", "format_cell", "render_table"]

Cell = str | int | float | bool | None | ConfidenceInterval
TableFormat = Literal["table", "md", "latex", "csv"]
TABLE_FORMATS: tuple[str, ...] = ("table", "md", "latex", "csv")

_DASH = {"table": "-", "md": "–", "latex": "--"}


@dataclass(frozen=True)
class Table:
    """A titled table of cells with per-column number formats."""

    title: str
    """Shown above the table (terminal, Markdown), as the LaTeX caption when ``caption`` is empty."""
    columns: tuple[str, ...]
    """Column headers."""
    rows: tuple[tuple[Cell, ...], ...]
    """Rows of cells, each as long as ``columns``."""
    formats: Mapping[str, str] = field(default_factory=dict)
    """Column -> Python format spec for its numbers (``".3f"``, ``"+.2f"``, ``".1%"``, ``"d"``)."""
    precision: int = 3
    """Decimals for float columns without a format."""
    notes: tuple[str, ...] = ()
    """Lines printed under the table (terminal, Markdown, LaTeX); not in CSV."""
    caption: str = ""
    """LaTeX caption (default: ``title``)."""
    label: str = ""
    """LaTeX ``\\label`` (none when empty)."""
    separators: tuple[int, ...] = ()
    """Row indices before which a rule is drawn (e.g. before a composite row)."""

    def __post_init__(self) -> None:
        cols = tuple(str(c) for c in self.columns)
        rows = tuple(tuple(r) for r in self.rows)
        object.__setattr__(self, "columns", cols)
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "notes", tuple(self.notes))
        object.__setattr__(self, "separators", tuple(self.separators))
        if not cols:
            raise ValueError("`columns` must name at least one column; got none.")
        for i, row in enumerate(rows):
            if len(row) != len(cols):
                raise ValueError(
                    f"`rows[{i}]` must have {len(cols)} cells (one per column); got {len(row)}: {row!r}."
                )
        unknown = sorted(set(self.formats) - set(cols))
        if unknown:
            raise ValueError(
                f"`formats` names unknown column(s) {', '.join(unknown)}; columns: {', '.join(cols)}."
            )
        if isinstance(self.precision, bool) or not isinstance(self.precision, int) or self.precision < 0:
            raise ValueError(f"`precision` must be a non-negative int; got {self.precision!r}.")
        bad = [s for s in self.separators if not 0 <= s <= len(rows)]
        if bad:
            raise ValueError(f"`separators` must be row indices in [0, {len(rows)}]; got {bad}.")

    def is_numeric(self, j: int) -> bool:
        """Tell whether column ``j`` holds only numbers, intervals and empty cells."""
        cells = [r[j] for r in self.rows if r[j] is not None]
        return bool(cells) and all(
            isinstance(c, (int, float, ConfidenceInterval)) and not isinstance(c, bool) for c in cells
        )


def format_cell(value: Cell, spec: str | None, precision: int = 3, *, empty: str = "-") -> str:
    """Format one cell for display (rounded).

    Args:
        value: The cell.
        spec: A format spec for numbers, or None for ``precision`` decimals
            (ints are written as ints).
        precision: Decimals when ``spec`` is None.
        empty: Text for ``None``.

    Returns:
        The text.
    """
    if value is None:
        return empty
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, ConfidenceInterval):
        return f"[{format_cell(value.low, spec, precision)}, {format_cell(value.high, spec, precision)}]"
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, (int, float)):
        if spec:
            if spec.endswith("d") and isinstance(value, float):
                return format(round(value), spec)
            return format(value, spec)
        if isinstance(value, int):
            return str(value)
        return f"{value:.{precision}f}"
    return str(value)


def _display_rows(table: Table, empty: str) -> list[list[str]]:
    return [
        [
            format_cell(c, table.formats.get(col), table.precision, empty=empty)
            for c, col in zip(r, table.columns, strict=True)
        ]
        for r in table.rows
    ]


def _render_terminal(table: Table) -> str:
    body = _display_rows(table, _DASH["table"])
    widths = [len(c) for c in table.columns]
    for r in body:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    numeric = [table.is_numeric(j) for j in range(len(table.columns))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = []
    if table.title:
        out.append(table.title)
        out.append("=" * len(table.title))
    out.append(line(table.columns))
    out.append(rule)
    for i, r in enumerate(body):
        if i in table.separators and i > 0:
            out.append(rule)
        out.append(line(r))
    if len(body) in table.separators and body:
        out.append(rule)
    out.extend(table.notes)
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _render_markdown(table: Table) -> str:
    body = _display_rows(table, _DASH["md"])
    numeric = [table.is_numeric(j) for j in range(len(table.columns))]
    out = []
    if table.title:
        out.append(f"**{_md_escape(table.title)}**")
        out.append("")
    out.append("| " + " | ".join(_md_escape(c) for c in table.columns) + " |")
    out.append("|" + "|".join("---:" if num else ":---" for num in numeric) + "|")
    for r in body:
        out.append("| " + " | ".join(_md_escape(c) for c in r) + " |")
    if table.notes:
        out.append("")
        out.extend(f"- {n}".replace("\n", " ") for n in table.notes)
    return "\n".join(out) + "\n"


_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "±": r"$\pm$",
    "–": "--",
}


def latex_escape(text: str) -> str:
    """Escape LaTeX's special characters in plain text."""
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _latex_number(text: str) -> str:
    # A leading minus sign typesets as a hyphen in text mode; use a math minus.
    return re.sub(r"(?<![\w.])-(?=[\d.])", "$-$", latex_escape(text))


def _render_latex(table: Table) -> str:
    body = _display_rows(table, _DASH["latex"])
    numeric = [table.is_numeric(j) for j in range(len(table.columns))]
    spec = "".join("r" if num else "l" for num in numeric)
    out = [
        "% requires \\usepackage{booktabs}",
        "\\begin{table}[t]",
        "\\centering",
    ]
    caption = table.caption or table.title
    if caption:
        out.append(f"\\caption{{{latex_escape(caption)}}}")
    if table.label:
        out.append(f"\\label{{{table.label}}}")
    out.append(f"\\begin{{tabular}}{{{spec}}}")
    out.append("\\toprule")
    out.append(" & ".join(latex_escape(c) for c in table.columns) + " \\\\")
    out.append("\\midrule")
    for i, r in enumerate(body):
        if i in table.separators and i > 0:
            out.append("\\midrule")
        cells = [_latex_number(c) if num else latex_escape(c) for c, num in zip(r, numeric, strict=True)]
        out.append(" & ".join(cells) + " \\\\")
    out.append("\\bottomrule")
    out.append("\\end{tabular}")
    if table.notes:
        out.append("\\par\\smallskip")
        out.append("{\\footnotesize " + " \\\\\n".join(latex_escape(n) for n in table.notes) + "}")
    out.append("\\end{table}")
    return "\n".join(out) + "\n"


def _csv_value(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest repr that round-trips: full precision
    return str(value)


def _render_csv(table: Table) -> str:
    interval_cols = [
        any(isinstance(r[j], ConfidenceInterval) for r in table.rows) for j in range(len(table.columns))
    ]
    header: list[str] = []
    for col, is_iv in zip(table.columns, interval_cols, strict=True):
        header.extend([f"{col}_low", f"{col}_high"] if is_iv else [col])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(header)
    for r in table.rows:
        cells: list[str] = []
        for c, is_iv in zip(r, interval_cols, strict=True):
            if is_iv:
                if isinstance(c, ConfidenceInterval):
                    cells.extend([_csv_value(float(c.low)), _csv_value(float(c.high))])
                else:
                    cells.extend([_csv_value(c), ""])
            else:
                cells.append(_csv_value(c))
        writer.writerow(cells)
    return buf.getvalue()


def render_table(table: Table, fmt: TableFormat = "table") -> str:
    r"""Render a table.

    Args:
        table: The table.
        fmt: ``table`` (aligned terminal text), ``md`` (GitHub Markdown),
            ``latex`` (a booktabs ``table`` environment, ready to ``\input``;
            needs ``\usepackage{booktabs}``) or ``csv`` (full precision, header row,
            no title or notes).

    Returns:
        The rendered text, ending with a newline.

    Raises:
        ValueError: Unknown ``fmt``.
    """
    if fmt == "table":
        return _render_terminal(table)
    if fmt == "md":
        return _render_markdown(table)
    if fmt == "latex":
        return _render_latex(table)
    if fmt == "csv":
        return _render_csv(table)
    raise ValueError(f"`fmt` must be one of {', '.join(TABLE_FORMATS)}; got {fmt!r}.")
