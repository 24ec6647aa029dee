"""``lm-eval-mtl demo``: the whole pipeline on a fresh machine, offline.

Builds (or reuses) a tiny local model and runs the real ``lm_eval`` CLI on the
bundled ``mtl_demo`` suite, printing lm-eval's table with the composite rows;
then runs ``lm_eval`` with the simulated backend (``mtl-sim``) for a base model,
two single-task checkpoints and a multi-task checkpoint, and scores, compares,
builds the transfer matrix and correlates tasks, writing one Markdown report with
plots and a JSON summary.

Examples::

    lm-eval-mtl demo
    lm-eval-mtl demo --output-dir runs/demo --limit 8
    lm-eval-mtl demo --quick          # only the tiny model's lm_eval run
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lm_eval_mtl.cli.options import add_n_resamples, add_seed


def register(subparsers: Any) -> None:
    """Add the ``demo`` parser."""
    parser = subparsers.add_parser(
        "demo",
        help="run the bundled demo suite on a tiny local model (offline)",
        description=(
            "Build (or reuse, cached under ~/.cache/lm-eval-mtl) a tiny random-weight model, run the "
            "real `lm_eval` CLI on the bundled mtl_demo suite and print its table with the composite."
        ),
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("lm-eval-mtl-demo"),
        help="lm-eval --output_path (default: ./lm-eval-mtl-demo)",
    )
    parser.add_argument("--limit", type=int, default=None, help="items per task (default: all)")
    parser.add_argument("--batch-size", type=int, default=8, help="lm-eval --batch_size (default: 8)")
    parser.add_argument("--device", default="cpu", help="lm-eval --device (default: cpu)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="cache root for the tiny model")
    parser.add_argument("--rebuild-model", action="store_true", help="rebuild the tiny model even if cached")
    add_seed(parser, what="lm-eval, the simulation and the bootstrap")
    add_n_resamples(parser)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="stop after the tiny model's lm_eval run (skip the simulated checkpoints and the analyses)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from lm_eval_mtl import DEMO_STEPS, DEMO_STORY_STEPS, DemoContext, OutputPathError, run_demo

    if args.limit is not None and args.limit < 1:
        raise SystemExit(f"lm-eval-mtl demo: error: `--limit` must be a positive integer; got {args.limit}.")
    if args.batch_size < 1:
        raise SystemExit(
            f"lm-eval-mtl demo: error: `--batch-size` must be a positive integer; got {args.batch_size}."
        )
    for flag, folder in (("--output-dir", args.output_dir), ("--cache-dir", args.cache_dir)):
        if folder is not None and folder.exists() and not folder.is_dir():
            raise OutputPathError(f"{flag} {folder} is a file, not a folder; give a folder.")
    ctx = DemoContext(
        output_dir=args.output_dir.resolve(),
        cache_dir=args.cache_dir,
        limit=args.limit,
        batch_size=args.batch_size,
        device=args.device,
        rebuild_model=args.rebuild_model,
        seed=args.seed,
        n_resamples=args.n_resamples,
        echo=lambda line: print(line, flush=True),
    )
    run_demo(ctx, DEMO_STEPS if args.quick else [*DEMO_STEPS, *DEMO_STORY_STEPS])
    where = ctx.report_path if ctx.report_path is not None else ctx.run_dir
    print(f"\nDone in {sum(ctx.timings.values()):.0f} s. Output: {where}", flush=True)
    return 0
