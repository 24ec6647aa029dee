"""``lm-eval-mtl report RUN``: the composite score of one lm-eval run, with its interval and citation."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

FORMATS = ("table", "md", "latex", "json", "csv")


def _cluster_arg(text: str) -> tuple[str, str]:
    task, sep, fld = text.partition("=")
    if not sep or not task or not fld:
        raise argparse.ArgumentTypeError(f"--cluster must be TASK=DOC_FIELD; got {text!r}.")
    return task, fld


def _level_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--confidence-level must be a number in (0, 1); got {text!r}."
        ) from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"--confidence-level must be in (0, 1); got {text}.")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}.") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}.")
    return value


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
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--output", metavar="FILE", help="write the report to FILE instead of stdout")
    p.add_argument(
        "--plots", metavar="DIR", help="also write the forest plot and weights chart (PNG) into DIR"
    )
    p.add_argument(
        "--confidence-level", type=_level_arg, default=0.95, help="confidence level (default: 0.95)"
    )
    p.add_argument(
        "--n-resamples", type=_positive_int, default=10_000, help="bootstrap resamples (default: 10000)"
    )
    p.add_argument(
        "--seed", type=int, default=None, help="random seed of the bootstrap (default: fresh entropy)"
    )
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
    p.add_argument(
        "--missing",
        choices=("error", "drop"),
        default="error",
        help="a suite task absent from the run: error (default) or drop it and renormalize the weights",
    )
    p.add_argument(
        "--run", dest="run_id", metavar="TIMESTAMP", help="with several runs in the folder, which one"
    )
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from lm_eval_mtl.io import load_run
    from lm_eval_mtl.report.render import render_composite
    from lm_eval_mtl.scoring.composite import score_run
    from lm_eval_mtl.suites import SuiteSpec
    from lm_eval_mtl.suites.detect import detect_suite, shipped_suites

    run = load_run(Path(args.run), run=args.run_id)
    spec: SuiteSpec
    if args.suite:
        known = {s.name: s for s in shipped_suites()}
        if args.suite not in known:
            from lm_eval_mtl.errors import unknown_name

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
        missing=args.missing,
    )
    text = render_composite(score, args.format)
    if args.output:
        out = Path(args.output)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"lm-eval-mtl report: wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    if args.plots:
        from lm_eval_mtl.report.plots import write_composite_plots

        for path in write_composite_plots(score, args.plots):
            print(f"lm-eval-mtl report: wrote {path}", file=sys.stderr)
    if score.tasks_dropped:
        print(
            f"lm-eval-mtl report: WARNING: dropped {len(score.tasks_dropped)} member(s) "
            f"({', '.join(score.tasks_dropped[:10])}{' ...' if len(score.tasks_dropped) > 10 else ''}; --missing drop); "
            "the composite covers the remaining members only.",
            file=sys.stderr,
        )
    return 0
