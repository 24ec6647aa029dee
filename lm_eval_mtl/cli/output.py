"""Output helpers shared by the subcommands: write JSON or tables, relay warnings and notes."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from lm_eval_mtl import Table

__all__ = ["emit", "print_notes", "run_reporting_warnings", "write_text"]

T = TypeVar("T")


def write_text(args: argparse.Namespace, text: str, *, prefix: str = "") -> None:
    """Write ``text`` to ``--output`` (creating its folder; a note on stderr) or to stdout."""
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"{prefix}wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def emit(args: argparse.Namespace, payload: dict[str, Any], tables: Sequence[Table]) -> None:
    """Write JSON (``payload``, NaN as null) or the rendered tables to ``--output`` or stdout."""
    from lm_eval_mtl import json_dumps, render_table

    if args.format == "json":
        text = json_dumps(payload)
    else:
        text = "\n".join(render_table(t, args.format) for t in tables)
    write_text(args, text)


def run_reporting_warnings(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``func``, printing each DegenerateDataWarning as one ``warning:`` line on stderr."""
    import warnings

    from lm_eval_mtl import DegenerateDataWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DegenerateDataWarning)
        result = func(*args, **kwargs)
    for w in caught:
        if issubclass(w.category, DegenerateDataWarning):
            print(f"warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return result


def print_notes(args: argparse.Namespace, notes: Sequence[str]) -> None:
    """Print notes on stderr for machine formats (the text tables carry them already)."""
    if args.format in ("json", "csv"):
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
