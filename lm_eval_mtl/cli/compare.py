"""``lm-eval-mtl compare``: paired comparison of two or more runs.

Examples::

    lm-eval-mtl compare runs/A runs/B
    lm-eval-mtl compare runs/A runs/B runs/C --suite mtl_suite --correction bh --format md
    lm-eval-mtl compare runs/A runs/B --cluster boolq=passage --format json --output cmp.json
    lm-eval-mtl compare runs/A runs/B --format csv --output-dir cmp/   # cmp/tasks.csv, cmp/composite.csv
"""

from __future__ import annotations

import argparse
from typing import Any

from lm_eval_mtl.cli.options import (
    add_allow_few_clusters,
    add_cache,
    add_format,
    add_output,
    add_resampling,
    add_suite_selection,
    apply_cache,
    parse_pairs,
)
from lm_eval_mtl.cli.output import check_outputs, emit, input_files, print_notes, run_reporting_warnings
from lm_eval_mtl.cli.tidy import add_output_dir, check_output_dir, emit_tidy


def register(subparsers: Any) -> None:
    """Add the ``compare`` parser."""
    parser = subparsers.add_parser(
        "compare",
        help="paired comparison of two or more runs, per task and composite",
        description=(
            "Paired differences on the items both runs scored (aligned by doc_id and doc_hash): "
            "difference, SE, CI, p-value (exact McNemar for 0/1 metrics, paired sign-flip randomization otherwise), "
            "minimum detectable effect, Holm or BH across tasks. Without samples: unpaired analytic "
            "statistics from the results JSON, labelled analytic-unpaired. A, B and diff are in the same "
            "units (normalized scores z; raw values as raw_a, raw_b in csv/json). A folder holding several "
            "runs: the latest is used, and a note names it and the ones ignored."
        ),
    )
    parser.add_argument("runs", nargs="+", help="two or more lm-eval run folders or results_*.json files")
    add_suite_selection(parser)
    parser.add_argument(
        "--tasks", default=None, help="comma-separated tasks to compare (default: all common)"
    )
    parser.add_argument(
        "--cluster",
        action="append",
        default=None,
        metavar="TASK=DOC_FIELD",
        help="items of TASK sharing DOC_FIELD form a cluster (repeatable)",
    )
    add_allow_few_clusters(parser)
    add_cache(parser)
    parser.add_argument(
        "--correction",
        choices=("holm", "bh", "none"),
        default="holm",
        help="multiple-comparison adjustment across tasks (default holm)",
    )
    add_resampling(parser)
    add_format(parser)
    add_output(parser)
    add_output_dir(parser, ("tasks", "composite"))
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from lm_eval_mtl import MTLError, compare_runs, comparison_tables

    if len(args.runs) < 2:
        raise MTLError(f"compare needs at least two runs; got {len(args.runs)}.")
    apply_cache(args)
    inputs = input_files(*args.runs, args.weights)
    check_outputs(inputs, output=args.output)
    check_output_dir(args, inputs)
    result = run_reporting_warnings(
        compare_runs,
        args.runs,
        suite=args.suite,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None,
        weights=args.weights,
        units=args.units,
        clusters=parse_pairs(args.cluster, "--cluster"),
        allow_few_clusters=args.allow_few_clusters,
        correction=args.correction,
        confidence_level=args.confidence_level,
        n_resamples=args.n_resamples,
        rng=args.seed,
    )
    print_notes(args, result.notes)
    if not emit_tidy(args, result.tidy(), "tasks", prefix="", inputs=inputs):
        emit(args, result.to_dict(), comparison_tables(result), inputs=inputs)
    return 0
