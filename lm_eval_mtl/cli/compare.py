"""``lm-eval-mtl compare``: paired comparison of two or more runs.

Examples::

    lm-eval-mtl compare runs/A runs/B
    lm-eval-mtl compare runs/A runs/B runs/C --suite mtl_suite --correction bh --format md
    lm-eval-mtl compare runs/A runs/B --cluster boolq=passage --format json --output cmp.json

This module also holds the options and output helpers shared by ``transfer`` and
``correlate``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lm_eval_mtl.report.tables import Table

FORMATS = ("table", "md", "latex", "json", "csv")


def add_common_options(parser: argparse.ArgumentParser, *, resampling: bool = True) -> None:
    """--format, --output, --confidence-level, and (with ``resampling``) --seed, --n-resamples."""
    parser.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    parser.add_argument(
        "--output", default=None, metavar="FILE", help="write the output here instead of stdout"
    )
    parser.add_argument("--confidence-level", type=float, default=0.95, help="interval level (default 0.95)")
    if resampling:
        parser.add_argument("--seed", type=int, default=0, help="random seed of the bootstrap (default 0)")
        parser.add_argument(
            "--n-resamples", type=int, default=2000, help="bootstrap resamples (default 2000)"
        )
    else:  # accepted for a uniform CLI; the statistics are closed-form
        parser.add_argument("--seed", type=int, default=0, help="accepted; unused (no resampling here)")
        parser.add_argument(
            "--n-resamples", type=int, default=0, help="accepted; unused (no resampling here)"
        )


def _json_default(o: Any) -> Any:
    raise TypeError(f"not JSON serializable: {type(o).__name__}")


def _clean(o: Any) -> Any:
    """Replace NaN/inf by None so the JSON is strict (RFC 8259)."""
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {k: _clean(v) for k, v in o.items()}
    if isinstance(o, (list, tuple)):
        return [_clean(v) for v in o]
    return o


def emit(args: argparse.Namespace, payload: dict[str, Any], tables: Sequence[Table]) -> None:
    """Write JSON (``payload``) or the rendered tables to --output or stdout."""
    from lm_eval_mtl.report.tables import render_table

    if args.format == "json":
        text = json.dumps(_clean(payload), indent=2, default=_json_default) + "\n"
    else:
        sep = "\n" if args.format != "csv" else "\n"
        text = sep.join(render_table(t, args.format) for t in tables)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)


def run_reporting_warnings(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Call ``func``, printing each DegenerateDataWarning as one ``warning:`` line on stderr."""
    import warnings

    from lm_eval_mtl.errors import DegenerateDataWarning

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


def parse_pairs(items: Sequence[str] | None, option: str) -> dict[str, str]:
    """``KEY=VALUE`` strings (repeatable or comma-separated) as a dict.

    Raises:
        MTLError: An item lacks ``=``.
    """
    from lm_eval_mtl.errors import MTLError

    out: dict[str, str] = {}
    for raw in items or ():
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise MTLError(f"{option} expects KEY=VALUE; got {item!r}.")
            out[key.strip()] = value.strip()
    return out


def register(subparsers: Any) -> None:
    """Add the ``compare`` parser."""
    parser = subparsers.add_parser(
        "compare",
        help="paired comparison of two or more runs, per task and composite",
        description=(
            "Paired differences on the items both runs scored (aligned by doc_id and doc_hash): "
            "difference, SE, CI, p-value (exact McNemar for 0/1 metrics, paired sign-flip randomization otherwise), "
            "minimum detectable effect, Holm or BH across tasks. Without samples: unpaired analytic "
            "statistics from the results JSON, labelled analytic-unpaired."
        ),
    )
    parser.add_argument("runs", nargs="+", help="two or more lm-eval run folders or results_*.json files")
    parser.add_argument("--suite", default=None, help="suite whose members, normalization and weights to use")
    parser.add_argument(
        "--tasks", default=None, help="comma-separated tasks to compare (default: all common)"
    )
    parser.add_argument("--weights", default=None, help="weighting scheme or weights id (with --suite)")
    parser.add_argument(
        "--cluster",
        action="append",
        default=None,
        metavar="TASK=DOC_FIELD",
        help="items of TASK sharing DOC_FIELD form a cluster (repeatable)",
    )
    parser.add_argument(
        "--correction",
        choices=("holm", "bh", "none"),
        default="holm",
        help="multiple-comparison adjustment across tasks (default holm)",
    )
    add_common_options(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from lm_eval_mtl.analysis.compare import compare_runs
    from lm_eval_mtl.errors import MTLError
    from lm_eval_mtl.report.analysis import comparison_tables

    if len(args.runs) < 2:
        raise MTLError(f"compare needs at least two runs; got {len(args.runs)}.")
    result = run_reporting_warnings(
        compare_runs,
        args.runs,
        suite=args.suite,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None,
        weights=args.weights,
        cluster=parse_pairs(args.cluster, "--cluster"),
        correction=args.correction,
        confidence_level=args.confidence_level,
        n_resamples=args.n_resamples,
        rng=args.seed,
    )
    print_notes(args, result.notes)
    emit(args, result.to_dict(), comparison_tables(result))
    return 0
