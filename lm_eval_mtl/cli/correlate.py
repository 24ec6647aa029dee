"""``lm-eval-mtl correlate``: task correlations, PCA and the predictive matrix over a population.

Examples::

    lm-eval-mtl correlate panel.csv --id-column Model --tasks ARC,HellaSwag,MMLU,TruthfulQA,Winogrande,GSM8K
    lm-eval-mtl correlate base_llm_benchmark_eval.csv --impute pca --format json
    lm-eval-mtl correlate runs/ --suite mtl_suite
"""

from __future__ import annotations

import argparse
from typing import Any

from lm_eval_mtl.cli.compare import add_common_options, emit, run_reporting_warnings


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
        "--tasks", default=None, help="comma-separated task columns (default: every numeric column)"
    )
    parser.add_argument("--suite", default=None, help="suite (for a folder of lm-eval runs)")
    parser.add_argument(
        "--impute",
        choices=("none", "pca"),
        default="none",
        help="fill missing cells by iterative PCA (default: none)",
    )
    parser.add_argument(
        "--missing",
        choices=("raise", "drop"),
        default="raise",
        help="without --impute: refuse gaps, or drop models with gaps",
    )
    parser.add_argument(
        "--n-components", type=int, default=None, help="rank of the PCA imputation (default: Kaiser)"
    )
    add_common_options(parser, resampling=False)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from lm_eval_mtl.analysis.correlate import correlate_tasks
    from lm_eval_mtl.report.analysis import correlation_tables

    study = run_reporting_warnings(
        correlate_tasks,
        args.panel,
        tasks=[t.strip() for t in args.tasks.split(",") if t.strip()] if args.tasks else None,
        id_column=args.id_column,
        suite=args.suite,
        impute=args.impute,
        missing=args.missing,
        n_components=args.n_components,
        confidence_level=args.confidence_level,
    )
    emit(args, study.to_dict(), correlation_tables(study))
    return 0
