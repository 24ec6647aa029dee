r"""A generic table and its renderers: aligned terminal text, GitHub Markdown, LaTeX booktabs, CSV.

Every report (composite, comparison, transfer) builds a :class:`Table` from its
result object and calls :func:`render_table`. Values stay at full precision in
the table; this module is the only place that rounds them (terminal, Markdown
and LaTeX use each column's format; CSV writes full precision).

Cells are ``str``, ``int``, ``float``, ``bool``, ``None`` (rendered as a dash;
an empty CSV field) or a :class:`~lm_eval_mtl.stats._common.ConfidenceInterval`
(rendered ``[low, high]``; in CSV it becomes two columns ``<name>_low`` and
``<name>_high``). NaN renders as ``nan``.

Text that came from files (task and model names) may hold anything: every renderer drops
ANSI escape sequences and other control characters (C0 but newline and tab, DEL, C1, bidi
overrides; :func:`printable`), and LaTeX escapes every special character, setting text that
holds a ``|`` (the citation signature) in ``\texttt`` where the ASCII bar exists in every font
encoding (:func:`latex_text`).

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

__all__ = [
    "Cell",
    "TableFormat",
    "Table",
    "TABLE_FORMATS",
    "format_cell",
    "latex_escape",
    "latex_text",
    "printable",
    "render_table",
]

Cell = str | int | float | bool | None | ConfidenceInterval
TableFormat = Literal["table", "md", "latex", "csv"]
TABLE_FORMATS: tuple[str, ...] = ("table", "md", "latex", "csv")

_DASH = {"table": "-", "md": "–", "latex": "--"}

# ANSI/VT escape sequences: CSI (ESC [ ... final), OSC/DCS/PM/APC strings (ESC ] ... BEL or ST),
# two-character escapes (ESC x); and their 8-bit C1 forms (CSI 0x9b, OSC 0x9d, ...).
_ANSI = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]*[ -/]*[@-~]?"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c)?"
    r"|\x1b[ -/]*[0-~]?"
)
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: object, *, one_line: bool = False) -> str:
    r"""Return ``text`` without ANSI escape sequences or control characters.

    Drops escape sequences whole (``\x1b[31m``), then every C0 control but newline and tab
    (so ``\r`` and ``\x1b``), DEL, C1 controls and the bidirectional overrides, which would
    let a task or model name read from a file recolour, rewrite or reorder the terminal.

    Args:
        text: Anything; converted with ``str``.
        one_line: Also turn newlines and tabs into spaces (a table cell or title).

    Returns:
        The cleaned text.
    """
    s = _CONTROL.sub("", _ANSI.sub("", str(text)))
    if one_line:
        s = s.replace("\n", " ").replace("\t", " ")
    return s


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
    return printable(value, one_line=True)


def _display_rows(table: Table, empty: str) -> list[list[str]]:
    return [
        [
            format_cell(c, table.formats.get(col), table.precision, empty=empty)
            for c, col in zip(r, table.columns, strict=True)
        ]
        for r in table.rows
    ]


def _clean(table: Table) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
    """Return the title, column headers and notes of ``table`` without control characters."""
    return (
        printable(table.title, one_line=True),
        tuple(printable(c, one_line=True) for c in table.columns),
        tuple(printable(n) for n in table.notes),
    )


def _render_terminal(table: Table) -> str:
    body = _display_rows(table, _DASH["table"])
    title, columns, notes = _clean(table)
    widths = [len(c) for c in columns]
    for r in body:
        widths = [max(w, len(c)) for w, c in zip(widths, r, strict=True)]
    numeric = [table.is_numeric(j) for j in range(len(table.columns))]

    def line(cells: Sequence[str]) -> str:
        parts = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    out = []
    if title:
        out.append(title)
        out.append("=" * len(title))
    out.append(line(columns))
    out.append(rule)
    for i, r in enumerate(body):
        if i in table.separators and i > 0:
            out.append(rule)
        out.append(line(r))
    if len(body) in table.separators and body:
        out.append(rule)
    out.extend(notes)
    return "\n".join(out) + "\n"


def _md_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _render_markdown(table: Table) -> str:
    body = _display_rows(table, _DASH["md"])
    title, columns, notes = _clean(table)
    numeric = [table.is_numeric(j) for j in range(len(table.columns))]
    out = []
    if title:
        out.append(f"**{_md_escape(title)}**")
        out.append("")
    out.append("| " + " | ".join(_md_escape(c) for c in columns) + " |")
    out.append("|" + "|".join("---:" if num else ":---" for num in numeric) + "|")
    for r in body:
        out.append("| " + " | ".join(_md_escape(c) for c in r) + " |")
    if notes:
        out.append("")
        out.extend(f"- {n}".replace("\n", " ") for n in notes)
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


def latex_text(text: object) -> str:
    r"""Return ``text`` as LaTeX source that typesets it literally.

    Control characters go (:func:`printable`; newlines become spaces, since a blank line ends a
    paragraph inside a tabular), special characters are escaped (:func:`latex_escape`), and text
    holding a ``|`` is set in ``\texttt``: under LaTeX's default OT1 encoding a bare ``|`` in the
    roman font prints as a dash, while the typewriter font has the ASCII bar (so a citation
    signature ``suite@1.0|norm=chance|...`` reads as it is cited). A leading ``[`` or ``*`` gets
    ``{}`` so that the ``\\`` ending the previous row does not read it as an argument.
    """
    s = latex_escape(" ".join(printable(text).replace("\t", " ").split("\n")))
    if "|" in s:
        s = f"\\texttt{{{s}}}"
    if s[:1] in ("[", "*"):
        s = "{}" + s
    return s


def _latex_number(text: str) -> str:
    # A leading minus sign typesets as a hyphen in text mode; use a math minus.
    return re.sub(r"(?<![\w.])-(?=[\d.])", "$-$", latex_escape(text))


def _render_latex(table: Table) -> str:
    body = _display_rows(table, _DASH["latex"])
    _, columns, notes = _clean(table)
    numeric = [table.is_numeric(j) for j in range(len(table.columns))]
    spec = "".join("r" if num else "l" for num in numeric)
    out = [
        "% requires \\usepackage{booktabs}",
        "\\begin{table}[t]",
        "\\centering",
    ]
    caption = table.caption or table.title
    if caption:
        out.append(f"\\caption{{{latex_text(caption)}}}")
    if table.label:
        out.append(f"\\label{{{latex_text(table.label)}}}")
    out.append(f"\\begin{{tabular}}{{{spec}}}")
    out.append("\\toprule")
    out.append(" & ".join(latex_text(c) for c in columns) + " \\\\")
    out.append("\\midrule")
    for i, r in enumerate(body):
        if i in table.separators and i > 0:
            out.append("\\midrule")
        cells = [_latex_number(c) if num else latex_text(c) for c, num in zip(r, numeric, strict=True)]
        out.append(" & ".join(cells) + " \\\\")
    out.append("\\bottomrule")
    out.append("\\end{tabular}")
    if notes:
        out.append("\\par\\smallskip")
        out.append("{\\footnotesize " + " \\\\\n".join(latex_text(n) for n in notes) + "}")
    out.append("\\end{table}")
    return "\n".join(out) + "\n"


def _csv_value(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest repr that round-trips: full precision
    if isinstance(value, str):
        return printable(value)
    return str(value)


def _render_csv(table: Table) -> str:
    interval_cols = [
        any(isinstance(r[j], ConfidenceInterval) for r in table.rows) for j in range(len(table.columns))
    ]
    header: list[str] = []
    for col, is_iv in zip(_clean(table)[1], interval_cols, strict=True):
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
