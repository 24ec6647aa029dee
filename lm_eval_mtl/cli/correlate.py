"""``lm-eval-mtl correlate``: task correlations, PCA and the predictive matrix over a population.

Examples::

    lm-eval-mtl correlate panel.csv --id-column Model --tasks ARC,HellaSwag,MMLU,TruthfulQA,Winogrande,GSM8K
    lm-eval-mtl correlate base_llm_benchmark_eval.csv --pca-on covariance --impute pca
    lm-eval-mtl correlate runs/ --suite mtl_suite
"""

from __future__ import annotations

import argparse
from typing import Any

from lm_eval_mtl.cli.options import add_confidence_level, add_format, add_missing, add_output
from lm_eval_mtl.cli.output import check_outputs, emit, input_files, print_notes, run_reporting_warnings
from lm_eval_mtl.cli.tidy import add_output_dir, check_output_dir, emit_tidy


def register(subparsers: Any) -> None:
    """Add the ``correlate`` parser."""
    parser = subparsers.add_parser(
        "correlate",
        help="between-model task correlations, effective number of tasks, PCA, predictive R^2",
        description=(
            "On a population of models (CSV panel or a folder of lm-eval runs): Pearson and Spearman "
            "correlation matrices with intervals, the Ledoit-Wolf shrunk matrix, the effective number of "
            "tasks, PCA, and the leave-one-model-out R^2 predictive matrix (co-variation across models, "
            "not causal transfer), with redundancy flags (R^2 > 0.95)."
        ),
    )
    parser.add_argument("panel", help="a CSV panel (one row per model) or a folder of lm-eval run folders")
    parser.add_argument(
        "--id-column", default=None, help="CSV column with the model id (default Model / first)"
    )
    parser.add_argument(
        "--tasks",
        default=None,
        help=(
            "comma-separated task columns (default: the numeric columns that are task scores; "
            "sizes, FLOPs, likes and other metadata, and sums/averages of other columns, are left "
            "out and listed)"
        ),
    )
    parser.add_argument("--suite", default=None, help="suite (for a folder of lm-eval runs)")
    parser.add_argument(
        "--impute",
        choices=("none", "pca"),
        default="none",
        help="fill missing cells by iterative PCA (default: none)",
    )
    add_missing(parser, "without --impute: refuse gaps, or drop models with gaps", aliases={"raise": "error"})
    parser.add_argument(
        "--n-components", type=int, default=None, help="rank of the PCA imputation (default: cross-validated)"
    )
    parser.add_argument(
        "--pca-on",
        choices=("correlation", "covariance"),
        default="correlation",
        help="PCA of the correlation matrix (standardized scores, default) or of the covariance "
        "matrix (raw scores, as Observational Scaling Laws)",
    )
    parser.add_argument(
        "--duplicates",
        choices=("error", "first", "mean"),
        default="error",
        help="CSV: a model id on several rows: refuse (default), keep the first row, or their mean",
    )
    # no --seed / --n-resamples: every statistic here is closed-form
    add_format(parser)
    add_output(parser)
    add_output_dir(parser, ("pairs", "summary", "pca", "redundant"))
    add_confidence_level(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from lm_eval_mtl import correlate_tasks, correlation_tables

    inputs = input_files(args.panel)
    check_outputs(inputs, output=args.output)
    check_output_dir(args, inputs)
    study = run_reporting_warnings(
        correlate_tasks,
        args.panel,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None,
        id_column=args.id_column,
        suite=args.suite,
        impute=args.impute,
        missing="drop" if args.missing == "drop" else "raise",
        n_components=args.n_components,
        confidence_level=args.confidence_level,
        pca_on=args.pca_on,
        duplicates=args.duplicates,
    )
    if not emit_tidy(args, study.tidy(), "pairs", prefix="", inputs=inputs):
        emit(args, study.to_dict(), correlation_tables(study), inputs=inputs)
    print_notes(args, study.notes)
    return 0
