"""``lm-eval-mtl report RUN``: the composite score of one lm-eval run, with its interval and citation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lm_eval_mtl.cli.options import (
    add_allow_few_clusters,
    add_format,
    add_missing,
    add_output,
    add_resampling,
)
from lm_eval_mtl.cli.output import check_outputs, input_files, write_text


def _cluster_arg(text: str) -> tuple[str, str]:
    task, sep, fld = text.partition("=")
    if not sep or not task or not fld:
        raise argparse.ArgumentTypeError(f"--cluster must be TASK=DOC_FIELD; got {text!r}.")
    return task, fld


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="composite score, interval, table and citation signature of one run",
        description=(
            "Score one lm-eval run (a results_*.json file or a run folder such as runs/ORG__MODEL) on a suite: "
            "chance-normalized, weighted, with a confidence interval (bootstrap over items when samples were "
            "logged with --log_samples, analytic otherwise) and a citation signature."
        ),
    )
    p.add_argument("run", help="results_*.json file, or a folder holding them (the latest run unless --run)")
    p.add_argument("--suite", help="suite name (default: detected from the run; see `lm-eval-mtl suites`)")
    p.add_argument(
        "--weights", metavar="SCHEME|FILE", help="equal, family, size, a shipped weights id or a weights file"
    )
    add_format(p)
    add_output(p)
    p.add_argument(
        "--plots", metavar="DIR", help="also write the forest plot and weights chart (PNG) into DIR"
    )
    add_resampling(p)
    p.add_argument(
        "--method",
        choices=("auto", "analytic", "percentile", "bca"),
        default="auto",
        help="interval: auto (bootstrap when every member has samples, else analytic), analytic, percentile, bca",
    )
    p.add_argument(
        "--cluster",
        type=_cluster_arg,
        action="append",
        default=[],
        metavar="TASK=DOC_FIELD",
        help="resample TASK's items in clusters sharing DOC_FIELD (repeatable)",
    )
    add_allow_few_clusters(p)
    add_missing(p, "a suite task absent from the run: error, or drop it and renormalize the weights")
    p.add_argument(
        "--run", dest="run_id", metavar="TIMESTAMP", help="with several runs in the folder, which one"
    )
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from lm_eval_mtl import (
        SuiteSpec,
        detect_suite,
        load_run,
        render_composite,
        score_run,
        shipped_suites,
        unknown_name,
    )

    inputs = input_files(args.run, args.weights)
    check_outputs(inputs, output=args.output, folder=args.plots)
    run = load_run(Path(args.run), run=args.run_id)
    spec: SuiteSpec
    if args.suite:
        known = {s.name: s for s in shipped_suites()}
        if args.suite not in known:
            raise unknown_name("suite", args.suite, tuple(known))
        spec = known[args.suite]
    else:
        choice = detect_suite(run)
        spec = choice.suite
        print(
            f"lm-eval-mtl report: suite {spec.id} (auto-detected: {choice.reason}; set --suite to override)",
            file=sys.stderr,
        )
    if run.other_runs and args.run_id is None:
        print(
            f"lm-eval-mtl report: {len(run.other_runs) + 1} runs in the folder; using the latest, {run.path.name} "
            "(choose another with --run TIMESTAMP)",
            file=sys.stderr,
        )
    score = score_run(
        run,
        spec,
        weights=args.weights,
        confidence_level=args.confidence_level,
        n_resamples=args.n_resamples,
        rng=args.seed,
        method=args.method,
        clusters=dict(args.cluster),
        allow_few_clusters=args.allow_few_clusters,
        missing=args.missing,
    )
    write_text(args, render_composite(score, args.format), prefix="lm-eval-mtl report: ", inputs=inputs)
    if args.plots:
        from lm_eval_mtl import write_composite_plots

        for path in write_composite_plots(score, args.plots, inputs=inputs):
            print(f"lm-eval-mtl report: wrote {path}", file=sys.stderr)
    if score.tasks_dropped:
        print(
            f"lm-eval-mtl report: WARNING: dropped {len(score.tasks_dropped)} member(s) "
            f"({', '.join(score.tasks_dropped[:10])}{' ...' if len(score.tasks_dropped) > 10 else ''}; --missing drop); "
            "the composite covers the remaining members only.",
            file=sys.stderr,
        )
    return 0
