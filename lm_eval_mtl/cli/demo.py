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
import sys
from pathlib import Path
from typing import Any

from lm_eval_mtl.cli.options import add_n_resamples, add_seed

_DESCRIPTION = """\
The whole pipeline on this machine, offline, in nine steps (`--quick`: the first three):

  1. build (first run) or reuse a tiny random-weight GPT-2 with a locally trained
     tokenizer, cached under $LM_EVAL_MTL_CACHE (default ~/.cache/lm-eval-mtl; or --cache-dir)
  2. run the real `lm_eval` CLI (hf backend) on the bundled mtl_demo suite, six small
     project-written tasks, with --log_samples (a live status line on stderr says how far
     it is; lm-eval's own log goes to OUTPUT_DIR/lm_eval.log)
  3. print lm-eval's table, with the composite rows the plugin adds per suite and family
  4. run `lm_eval --model mtl-sim` (a simulated backend whose per-item answers follow
     planted abilities) for a base model, two single-task and one multi-task checkpoint
  5. report: each run's composite, bootstrap interval over items and citation signature
  6. compare: the multi-task checkpoint vs the base, paired item by item
  7. transfer: the transfer matrix T[source, target], beside the planted one
  8. correlate: tasks over a simulated population of 200 models (effective number of tasks)
  9. write OUTPUT_DIR/report/REPORT.md (tables, plots with captions) and summary.json

A random-weight model scores near 0 (chance); the simulated checkpoints show effects
whose truth is known. Nothing is downloaded: the Hugging Face Hub is switched off.
"""

_EPILOG = """\
environment:
  LM_EVAL_MTL_CACHE   cache root for the tiny model (default $XDG_CACHE_HOME/lm-eval-mtl,
                      else ~/.cache/lm-eval-mtl); --cache-dir overrides it

examples:
  lm-eval-mtl demo
  lm-eval-mtl demo --quick --limit 4          # the tiny model's lm_eval run only, 4 items per task
  lm-eval-mtl demo --output-dir runs/demo --n-resamples 2000
"""


def register(subparsers: Any) -> None:
    """Add the ``demo`` parser."""
    parser = subparsers.add_parser(
        "demo",
        help="run the whole pipeline offline: a tiny local model, simulated checkpoints, report",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=Path("lm-eval-mtl-demo"),
        help="lm-eval --output_path, and the report under it (default: ./lm-eval-mtl-demo)",
    )
    parser.add_argument(
        "--limit", type=int, default=None, help="items per task, in every lm_eval run (default: all 24)"
    )
    parser.add_argument("--batch-size", type=int, default=8, help="lm-eval --batch_size (default: 8)")
    parser.add_argument("--device", default="cpu", help="lm-eval --device (default: cpu)")
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=None,
        help="cache root for the tiny model (default: $LM_EVAL_MTL_CACHE, else ~/.cache/lm-eval-mtl)",
    )
    parser.add_argument(
        "--rebuild-model",
        action="store_true",
        help="rebuild the tiny model even if cached (removes only folders the demo created)",
    )
    add_seed(parser, what="lm-eval, the simulation and the bootstrap")
    add_n_resamples(parser)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="stop after step 3, the tiny model's lm_eval run (no simulated checkpoints, no report)",
    )
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from lm_eval_mtl import (
        DEMO_STEPS,
        DEMO_STORY_STEPS,
        DemoContext,
        LiveLine,
        OutputPathError,
        display_path,
        run_demo,
    )

    if args.limit is not None and args.limit < 1:
        raise SystemExit(f"lm-eval-mtl demo: error: `--limit` must be a positive integer; got {args.limit}.")
    if args.batch_size < 1:
        raise SystemExit(
            f"lm-eval-mtl demo: error: `--batch-size` must be a positive integer; got {args.batch_size}."
        )
    for flag, folder in (("--output-dir", args.output_dir), ("--cache-dir", args.cache_dir)):
        if folder is not None and folder.exists() and not folder.is_dir():
            raise OutputPathError(f"{flag} {folder} is a file, not a folder; give a folder.")
    live = LiveLine(sys.stderr)
    ctx = DemoContext(
        output_dir=args.output_dir.resolve(),
        cache_dir=args.cache_dir,
        limit=args.limit,
        batch_size=args.batch_size,
        device=args.device,
        rebuild_model=args.rebuild_model,
        seed=args.seed,
        n_resamples=args.n_resamples,
        echo=live.print_above,
        status=live.update,
    )
    run_demo(ctx, DEMO_STEPS if args.quick else [*DEMO_STEPS, *DEMO_STORY_STEPS])
    where = ctx.report_path if ctx.report_path is not None else ctx.run_dir
    shown = display_path(where) if where is not None else "?"
    print(f"\nDone in {sum(ctx.timings.values()):.0f} s. Output: {shown}", flush=True)
    return 0
