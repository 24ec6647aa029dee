"""Output helpers shared by the subcommands: write JSON or tables, relay warnings and notes."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from lm_eval_mtl import Table

__all__ = ["check_outputs", "emit", "input_files", "print_notes", "run_reporting_warnings", "write_text"]

T = TypeVar("T")

_RESULTS_TS = re.compile(r"^results_(?P<ts>.+)\.json$")


def input_files(*paths: str | Path | None) -> tuple[Path, ...]:
    """Return the files a command reads from its arguments, which no output may overwrite.

    A folder (a run folder, an output folder, a folder of runs) contributes every
    ``results_*.json`` and ``samples_*.jsonl`` under it; a ``results_<ts>.json`` file, itself
    and the ``samples_*_<ts>.jsonl`` files beside it; any other file (a panel CSV, a weights
    file, a manifest) itself. ``None`` and paths that do not exist are skipped.
    """
    out: list[Path] = []
    for item in paths:
        if not isinstance(item, (str, Path)) or str(item) == "":
            continue  # None, or a manifest value that is not a path (refused where it is read)
        p = Path(item)
        if p.is_dir():
            out += sorted(p.rglob("results_*.json")) + sorted(p.rglob("samples_*.jsonl"))
        elif p.is_file():
            out.append(p)
            m = _RESULTS_TS.match(p.name)
            if m:
                out += sorted(p.parent.glob(f"samples_*_{m.group('ts')}.jsonl"))
    return tuple(out)


def check_outputs(
    inputs: Iterable[str | Path], *, output: str | None = None, folder: str | None = None
) -> None:
    """Refuse, before any work, an ``--output`` file or a ``--plots`` folder that would hit an input.

    Raises:
        OutputPathError: ``output`` is an input or a folder; ``folder`` is (or lies in) a file.
    """
    from lm_eval_mtl import OutputPathError, check_output_path

    seen = tuple(inputs)
    if output:
        check_output_path(output, seen)
    if folder:
        d = Path(folder)
        if not d.is_dir():
            check_output_path(d, seen)  # the folder named is an input file
            if d.exists():
                raise OutputPathError(f"plots folder {d} is a file, not a folder; give a folder.")
            check_output_path(d / "plot.png", seen)  # a parent that is a file


def write_text(
    args: argparse.Namespace, text: str, *, prefix: str = "", inputs: Iterable[str | Path] = ()
) -> None:
    """Write ``text`` to ``--output`` (atomically, creating its folder; a note on stderr) or to stdout.

    Raises:
        OutputPathError: ``--output`` is one of ``inputs``, a folder, or could not be written.
    """
    if args.output:
        from lm_eval_mtl import atomic_write_text

        out = atomic_write_text(args.output, text, inputs=inputs)
        print(f"{prefix}wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def emit(
    args: argparse.Namespace,
    payload: dict[str, Any],
    tables: Sequence[Table],
    *,
    inputs: Iterable[str | Path] = (),
) -> None:
    """Write JSON (``payload``, NaN as null) or the rendered tables to ``--output`` or stdout."""
    from lm_eval_mtl import json_dumps, render_table

    if args.format == "json":
        text = json_dumps(payload)
    else:
        text = "\n".join(render_table(t, args.format) for t in tables)
    write_text(args, text, inputs=inputs)


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
