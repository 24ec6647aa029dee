"""``lm-eval-mtl report RUN``: the composite score of one lm-eval run, with its interval and citation.

On an ``--output_path`` folder holding the runs of several models it writes one ranked table of
their composites instead (:func:`lm_eval_mtl.score_many`; docs/cli.md, "Many runs").
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lm_eval_mtl.cli.options import (
    add_allow_few_clusters,
    add_cache,
    add_format,
    add_missing,
    add_output,
    add_resampling,
    apply_cache,
)
from lm_eval_mtl.cli.output import check_outputs, input_files, write_text

if TYPE_CHECKING:
    from lm_eval_mtl import ModelFolder


def _cluster_arg(text: str) -> tuple[str, str]:
    task, sep, fld = text.partition("=")
    if not sep or not task or not fld:
        raise argparse.ArgumentTypeError(f"--cluster must be TASK=DOC_FIELD; got {text!r}.")
    return task, fld


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    p = subparsers.add_parser(
        "report",
        help="composite score, interval, table and citation signature of one run (or a table of many models)",
        description=(
            "Score one lm-eval run (a results_*.json file or a run folder such as runs/ORG__MODEL) on a suite: "
            "chance-normalized, weighted, with a confidence interval (bootstrap over items when samples were "
            "logged with --log_samples, analytic otherwise) and a citation signature. On an --output_path folder "
            "holding several models' folders: one ranked table of their composites."
        ),
    )
    p.add_argument(
        "run",
        help="results_*.json file, or a folder holding them (the latest run unless --run), or an --output_path "
        "folder of several models (one table; the latest run of each)",
    )
    p.add_argument("--suite", help="suite name (default: detected from the run; see `lm-eval-mtl suites`)")
    p.add_argument(
        "--weights", metavar="SCHEME|FILE", help="equal, family, size, a shipped weights id or a weights file"
    )
    add_format(p)
    add_output(p)
    p.add_argument(
        "--plots",
        metavar="DIR",
        help="also write the forest plot and weights chart (PNG) into DIR (several models: one forest plot "
        "of their composites)",
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
    add_cache(p)
    add_missing(
        p,
        "a suite task absent from the run: error, or drop it and renormalize the weights; with several "
        "models, drop also lists a model folder that cannot be scored as NOT SCORED instead of failing",
    )
    p.add_argument(
        "--run", dest="run_id", metavar="TIMESTAMP", help="with several runs in the folder, which one"
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="with several models, a progress bar on stderr, one tick per model (default: when stderr is a "
        "terminal)",
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

    apply_cache(args)
    inputs = input_files(args.run, args.weights)
    check_outputs(inputs, output=args.output, folder=args.plots)
    from lm_eval_mtl import find_model_runs

    models = find_model_runs(args.run)
    if len(models) >= 2:
        return _main_many(args, models, inputs)
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


def _progress_shown(args: argparse.Namespace) -> bool:
    if args.progress is not None:
        return bool(args.progress)
    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def _main_many(args: argparse.Namespace, models: Sequence[ModelFolder], inputs: Sequence[Path]) -> int:
    """Score every model folder under ``args.run`` and write one ranked table."""
    import contextlib

    from lm_eval_mtl import (
        MTLError,
        SuiteSpec,
        plot_many,
        render_many,
        score_many,
        shipped_suites,
        unknown_name,
    )

    if args.run_id is not None:
        raise MTLError(
            f"--run picks one of a model folder's runs, but {args.run} holds the folders of {len(models)} models "
            "(the latest run of each is scored); pass one model's folder with --run."
        )
    spec: SuiteSpec | None = None
    if args.suite:
        known = {s.name: s for s in shipped_suites()}
        if args.suite not in known:
            raise unknown_name("suite", args.suite, tuple(known))
        spec = known[args.suite]
    bar: Any = contextlib.nullcontext(models)
    if _progress_shown(args):
        try:
            from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]
        except ImportError:  # lm-eval depends on tqdm; without it, no bar
            pass
        else:
            bar = tqdm(
                models,
                total=len(models),
                desc="lm-eval-mtl report",
                unit="model",
                file=sys.stderr,
                leave=False,
                **({"disable": False} if args.progress else {}),  # --progress wins over TQDM_DISABLE
            )
    with bar as items:
        scores = score_many(
            items,
            spec,
            weights=args.weights,
            confidence_level=args.confidence_level,
            n_resamples=args.n_resamples,
            seed=args.seed,
            method=args.method,
            clusters=dict(args.cluster),
            missing=args.missing,
            allow_few_clusters=args.allow_few_clusters,
            path=args.run,
        )
    say = "lm-eval-mtl report: "
    if scores.suite_reason is not None:
        print(
            f"{say}suite {scores.suite}@{scores.suite_version} (auto-detected from {scores.suite_from}: "
            f"{scores.suite_reason}; used for every model; set --suite to override)",
            file=sys.stderr,
        )
    print(f"{say}{len(scores.rows)} models scored under {args.run}", file=sys.stderr)
    write_text(args, render_many(scores, args.format), prefix=say, inputs=inputs)
    if args.plots:
        path = plot_many(scores, Path(args.plots) / "composite_models.png", inputs=inputs)
        print(f"{say}wrote {path}", file=sys.stderr)
    if not scores.comparable:
        print(
            f"{say}WARNING: the models' signatures differ ({', '.join(scores.signature_differences)}); "
            "composites with different signatures are not comparable.",
            file=sys.stderr,
        )
    dropped = [r.composite.model for r in scores.rows if r.composite.tasks_dropped]
    if dropped:
        print(
            f"{say}WARNING: members dropped in {len(dropped)} model(s) ({', '.join(dropped[:10])}"
            f"{' ...' if len(dropped) > 10 else ''}; --missing drop).",
            file=sys.stderr,
        )
    if scores.not_scored:
        names = [x.folder for x in scores.not_scored]
        print(
            f"{say}WARNING: {len(names)} model folder(s) not scored ({', '.join(names[:10])}"
            f"{' ...' if len(names) > 10 else ''}; --missing drop); the reasons are in the output.",
            file=sys.stderr,
        )
    return 0
