"""Tidy machine-readable output of ``compare`` and ``transfer``: ``--format csv`` and ``--output-dir``.

A result's ``tidy()`` gives one list of records per table (``compare``: ``tasks``, ``composite``;
``transfer``: ``cells``, ``composite``, ``relative``, ``mtl``), each record one row with plain
columns at full precision (significance is its own boolean column). ``--format csv`` writes the
main table (one row per pair and task, or per source-target cell) to ``--output`` or stdout;
``--output-dir DIR`` writes every table, one file each, as ``DIR/<table>.csv`` or
``DIR/<table>.json`` (a list of records). ``--format json`` carries the same records under
``tables``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lm_eval_mtl import Table

__all__ = ["add_output_dir", "check_output_dir", "emit_tidy", "records_table"]

Records = Mapping[str, Sequence[Mapping[str, Any]]]


def add_output_dir(parser: argparse.ArgumentParser, tables: Sequence[str]) -> None:
    """Add ``--output-dir DIR`` (one file per tidy table; needs ``--format csv`` or ``json``)."""
    names = ", ".join(f"{t}.csv" for t in tables)
    parser.set_defaults(tidy_tables=tuple(tables))
    parser.add_argument(
        "--output-dir",
        default=None,
        metavar="DIR",
        help=f"write one file per table into DIR ({names}; .json with --format json); "
        "needs --format csv or json",
    )


def check_output_dir(args: argparse.Namespace, inputs: Iterable[str | Path]) -> None:
    """Refuse, before any work, an ``--output-dir`` that cannot be honoured.

    Raises:
        MTLError: ``--output-dir`` with a display format, or together with ``--output``.
        OutputPathError: The folder is a file, or lies in one.
    """
    from lm_eval_mtl import MTLError

    if not args.output_dir:
        return
    if args.format not in ("csv", "json"):
        raise MTLError(
            f"--output-dir writes tidy data, one file per table: add --format csv or --format json "
            f"(got --format {args.format})."
        )
    if args.output:
        raise MTLError("give --output FILE (the main table) or --output-dir DIR (every table), not both.")
    from lm_eval_mtl import OutputPathError, check_output_path

    d = Path(args.output_dir)
    seen = tuple(inputs)
    if d.exists() and not d.is_dir():
        raise OutputPathError(f"--output-dir {d} is a file, not a folder; give a folder.")
    for name in getattr(args, "tidy_tables", ()) or ("table",):
        check_output_path(d / f"{name}.{args.format}", seen)


def records_table(name: str, records: Sequence[Mapping[str, Any]]) -> Table:
    """Return the records of one tidy table as a :class:`Table` (columns in the records' key order)."""
    from lm_eval_mtl import Table

    columns = tuple(records[0]) if records else ("empty",)
    return Table(title=name, columns=columns, rows=tuple(tuple(r[c] for c in columns) for r in records))


def emit_tidy(
    args: argparse.Namespace,
    records: Records,
    main: str,
    *,
    prefix: str,
    inputs: Iterable[str | Path] = (),
) -> bool:
    """Write the tidy output that ``args`` asks for; return False when it asks for none.

    With ``--output-dir``: every non-empty table, one file each (a line on stderr per file).
    With ``--format csv``: the ``main`` table to ``--output`` or stdout, and a ``note:`` naming
    the other tables and ``--output-dir``.

    Raises:
        OutputPathError: A file would overwrite an input, or cannot be written.
    """
    from lm_eval_mtl import atomic_write_text, json_dumps, render_table

    inputs = tuple(inputs)
    tables = {k: v for k, v in records.items() if v}
    if args.output_dir:
        for name, recs in tables.items():
            if args.format == "csv":
                text = render_table(records_table(name, recs), "csv")
            else:
                text = json_dumps([dict(r) for r in recs])
            path = atomic_write_text(Path(args.output_dir) / f"{name}.{args.format}", text, inputs=inputs)
            print(f"{prefix}wrote {path}", file=sys.stderr)
        return True
    if args.format != "csv":
        return False
    text = render_table(records_table(main, tables.get(main, ())), "csv")
    if args.output:
        out = atomic_write_text(args.output, text, inputs=inputs)
        print(f"{prefix}wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    others = [k for k in tables if k != main]
    if others:
        print(
            f"note: --format csv writes the {main} table (one row each); --output-dir DIR writes every table: "
            + ", ".join(f"{k}.csv" for k in tables),
            file=sys.stderr,
        )
    return True
