"""Parsing a panel CSV (one row per model): its checked text, gap cells, score columns, duplicates.

The checked text of the file and its header row, which cells are gaps
(:data:`NA_TOKENS`), which columns hold scores rather than metadata, the ``tasks`` and
option checks, and merging a model id found on several rows.
:func:`lm_eval_mtl.scoring.population.load_panel_csv` puts them together into a
:class:`~lm_eval_mtl.scoring.population.Population` of normalized scores.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import PanelFormatError

__all__ = ["NA_TOKENS", "DuplicatePolicy", "is_na", "panel_header", "read_panel_text"]

DuplicatePolicy = Literal["error", "first", "mean"]
_DUPLICATE_POLICIES: tuple[str, ...] = ("error", "first", "mean")


def _parse_tasks(tasks: Sequence[str] | Mapping[str, str] | None) -> dict[str, str]:
    """Column -> key mapping. ``tasks`` items may be ``COL`` or ``COL=KEY``."""
    if tasks is None:
        return {}
    if isinstance(tasks, Mapping):
        return {str(k): str(v) for k, v in tasks.items()}
    if isinstance(tasks, str):
        raise PanelFormatError(f"`tasks` must be a sequence of column names; got the string {tasks!r}.")
    out: dict[str, str] = {}
    for item in tasks:
        col, _, key = str(item).partition("=")
        out[col.strip()] = (key or col).strip()
    return out


NA_TOKENS: frozenset[str] = frozenset({"", "na", "n/a", "nan", "null", "none", "-"})
"""Cells read as gaps (NaN), compared after stripping whitespace and lower-casing: the empty
cell, ``NA``, ``N/A``, ``nan``/``NaN``, ``null``, ``None`` and ``-`` (any letter case)."""
_PANEL_WHAT = "a panel CSV (UTF-8, a header row, one row per model)"
_NUMBER_LIKE = re.compile(
    r"^[+-]?(\d[\d,]*(\.\d*)?|\.\d+)\s*%$|^[+-]?\d+,\d+$|^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$"
)
"""Cells that look like numbers but are not (``85%``, ``85,3``, ``1,234.5``)."""


def is_na(cell: str) -> bool:
    """Whether a (stripped) panel cell is a gap: one of :data:`NA_TOKENS`, in any letter case."""
    return cell.lower() in NA_TOKENS


def read_panel_text(path: str | Path) -> str:
    """Read the text of a panel CSV, checked: a regular, readable, uncompressed, UTF-8 file.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        PanelFormatError: A FIFO, device or folder; permission denied; gzip data; not UTF-8
            (line and byte named).
    """
    from lm_eval_mtl.io.files import decode_utf8, read_input_bytes

    p = Path(path)
    return decode_utf8(
        read_input_bytes(p, what=_PANEL_WHAT, error=PanelFormatError),
        p,
        what=_PANEL_WHAT,
        error=PanelFormatError,
    )


def panel_header(path: str | Path) -> list[str]:
    """Read the header row of a panel CSV (names stripped), read as :func:`load_panel_csv` reads it.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        PanelFormatError: The file is unreadable (see :func:`read_panel_text`) or empty.
    """
    text = read_panel_text(path)
    header = [h.strip() for h in next(csv.reader(io.StringIO(text)), [])]
    if not any(header):
        raise PanelFormatError(f"`path`: {path} is empty; expected {_PANEL_WHAT}.")
    return header


def _load_panel_csv_iv(path: Path, id_column: str, scale: float, duplicates: str) -> None:
    if not path.exists():
        raise FileNotFoundError(f"`path`: no such panel file: {path}")
    if not isinstance(id_column, str) or not id_column:
        raise PanelFormatError(f"`id_column` must be a non-empty column name; got {id_column!r}.")
    if (
        isinstance(scale, bool)
        or not isinstance(scale, (int, float))
        or not (math.isfinite(scale) and scale > 0)
    ):
        raise PanelFormatError(f"`scale` must be a positive finite number; got {scale!r}.")
    if duplicates not in _DUPLICATE_POLICIES:
        raise PanelFormatError(
            f"`duplicates` must be one of {', '.join(_DUPLICATE_POLICIES)}; got {duplicates!r}."
        )


def _numeric_column(rows: Sequence[Sequence[str]], i: int, id_index: int, name: str, path: Path) -> bool:
    """Whether column ``i`` is a score column (default task set) rather than metadata.

    Gaps (:data:`NA_TOKENS`) are ignored. A column with no numeric cell (model type, license) is
    metadata. A column whose non-gap cells are mostly numbers (or number-like text such as
    ``85%``) but not all of them is an error naming the bad cells: leaving it out would drop a
    task silently.

    Raises:
        PanelFormatError: A mostly-numeric column holds non-numeric cells.
    """
    numbers = 0
    bad: list[tuple[int, str]] = []
    looks_numeric = 0
    for r, row in enumerate(rows):
        cell = row[i].strip() if i < len(row) else ""
        if is_na(cell):
            continue
        try:
            v = float(cell)
        except ValueError:
            bad.append((r, cell))
            looks_numeric += bool(_NUMBER_LIKE.match(cell))
            continue
        if math.isfinite(v):
            numbers += 1
        else:
            bad.append((r, cell))
            looks_numeric += 1
    if not bad:
        return numbers > 0
    if numbers + looks_numeric <= len(bad) - looks_numeric:
        return False  # mostly text: metadata
    shown = "; ".join(f"row {r + 2} (model {rows[r][id_index].strip()!r}): {cell!r}" for r, cell in bad[:5])
    more = f" and {len(bad) - 5} more" if len(bad) > 5 else ""
    hint = " (strip the % sign and pass --scale 0.01 / scale=0.01)" if any("%" in c for _, c in bad) else ""
    raise PanelFormatError(
        f"{path}: column {name!r} is mostly numeric but {len(bad)} cell(s) are not finite numbers: "
        f"{shown}{more}{hint}. Expected a number or a gap ({', '.join(repr(t) for t in _NA_DISPLAY)})."
    )


_NA_DISPLAY: tuple[str, ...] = ("", "NA", "N/A", "nan", "null", "None", "-")


def _merge_duplicates(
    ids: list[str], values: npt.NDArray[np.float64], policy: str, path: Path, id_column: str
) -> tuple[tuple[str, ...], npt.NDArray[np.float64], str]:
    order: dict[str, list[int]] = {}
    for i, m in enumerate(ids):
        order.setdefault(m, []).append(i)
    dupes = {m: rows for m, rows in order.items() if len(rows) > 1}
    if not dupes:
        return tuple(order), values, "no duplicate model ids"
    if policy == "error":
        first = list(dupes.items())[:3]
        shown = "; ".join(f"{m!r} on rows {', '.join(str(r + 2) for r in rs)}" for m, rs in first)
        raise PanelFormatError(
            f"{path}: {len(dupes)} model id(s) in column {id_column!r} repeat ({shown}"
            f"{'; ...' if len(dupes) > 3 else ''}). Pass duplicates='first' or 'mean' "
            "(CLI: --duplicates first|mean) to merge them."
        )
    out = np.empty((len(order), values.shape[1]))
    for k, rows in enumerate(order.values()):
        if policy == "first" or len(rows) == 1:
            out[k] = values[rows[0]]
        else:
            block = values[rows]
            with np.errstate(all="ignore"):
                counts = (~np.isnan(block)).sum(axis=0)
                sums = np.nansum(block, axis=0)
                out[k] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    n_extra = sum(len(r) - 1 for r in dupes.values())
    note = f"{len(dupes)} duplicated model id(s) ({n_extra} extra row(s)) merged by {policy}"
    return tuple(order), out, note
