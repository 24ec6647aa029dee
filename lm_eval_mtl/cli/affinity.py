"""``lm-eval-mtl affinity``: predicted task transfer from one model's gradients, without fine-tuning.

Examples::

    lm-eval-mtl affinity --model hf --model_args pretrained=ORG/MODEL,dtype=bfloat16
        --tasks mtl_suite_lite --limit 64 --output_path runs/affinity --device cuda:0 --batch_size 8
        (one command line)
    accelerate launch -m lm_eval_mtl.cli.main affinity ...      # several processes share the items
    lm-eval-mtl transfer --manifest study.yaml --predicted runs/affinity/affinity.json

The model is loaded by lm-eval (its registry and ``create_from_arg_string``), the tasks are
lm-eval's (the same documents, prompts and few-shot contexts as ``lm_eval --tasks``). Writes
``affinity.json``, ``affinity.md``, ``affinity.tex`` and a heatmap per measure into
``--output_path``; prints the matrices. See docs/affinity.md.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from lm_eval_mtl.cli.options import (
    add_confidence_level,
    add_format,
    add_n_resamples,
    add_seed,
    positive_int,
)


def _limit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be a number of items or a fraction below 1; got {text!r}."
        ) from None
    if not math.isfinite(value) or value <= 0 or (value >= 1 and value != int(value)):
        raise argparse.ArgumentTypeError(
            f"must be a positive integer (items per task) or a fraction in (0, 1); got {text}."
        )
    return int(value) if value >= 1 else value


def _step(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1]; got {text!r}.") from None
    if not math.isfinite(value) or not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in (0, 1]; got {text}.")
    return value


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text!r}.") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer; got {text}.")
    return value


def register(subparsers: Any) -> None:
    """Add the ``affinity`` parser."""
    parser = subparsers.add_parser(
        "affinity",
        help="predicted task transfer from one model's gradients (TAG lookahead, gradient cosine), no fine-tuning",
        description=(
            "Per task, the gradient of the task's own loss on its gold answers (multiple choice: the "
            "cross-entropy over the choices; generation: the NLL of the reference), on the output head and "
            "the last transformer blocks, projected per item to d dimensions with a fixed-seed random "
            "projection. Per pair of tasks: the cosine of the mean gradients (bootstrap intervals, split-half "
            "reliability), the first-order lookahead and the exact TAG lookahead 1 - L_t(theta - eta g_s) / "
            "L_t(theta) (one extra pass per source, of the chosen layers only). A prediction from one checkpoint, not the transfer "
            "after fine-tuning; set it beside measured transfer with `lm-eval-mtl transfer --predicted`."
        ),
    )
    lm = parser.add_argument_group("model and tasks (as lm_eval takes them)")
    lm.add_argument("--model", default="hf", help="lm-eval model name (default: hf)")
    lm.add_argument(
        "--model_args", default="", help="lm-eval model arguments, e.g. pretrained=ORG/MODEL,dtype=bfloat16"
    )
    lm.add_argument("--tasks", required=True, help="comma-separated lm-eval tasks, groups or tags")
    lm.add_argument(
        "--include_path", action="append", default=None, metavar="DIR", help="extra task folder (repeatable)"
    )
    lm.add_argument(
        "--limit",
        type=_limit,
        default=None,
        help="items per task (or a fraction below 1), as lm_eval --limit",
    )
    lm.add_argument(
        "--num_fewshot", type=_non_negative, default=None, help="few-shot examples (default: each task's)"
    )
    lm.add_argument(
        "--fewshot_seed",
        type=_non_negative,
        default=1234,
        help="few-shot sampler seed (default: 1234, as lm_eval)",
    )
    lm.add_argument("--device", default=None, help="device, e.g. cuda:0 or cpu (default: the backend's)")
    lm.add_argument(
        "--batch_size", type=positive_int, default=8, help="sequences per batch of every pass (default: 8)"
    )
    lm.add_argument(
        "--output_path",
        required=True,
        metavar="DIR",
        help="folder for affinity.json/.md/.tex and the heatmaps",
    )
    how = parser.add_argument_group("what is measured")
    how.add_argument(
        "--blocks",
        type=_non_negative,
        default=1,
        help="last transformer blocks whose linear weights are included (default: 1)",
    )
    how.add_argument("--no-head", action="store_true", help="leave out the output head (default: included)")
    how.add_argument(
        "--proj-dim", type=positive_int, default=2048, help="projected dimensions d (default: 2048)"
    )
    how.add_argument(
        "--step",
        type=_step,
        default=0.01,
        help="relative lookahead step eps: the update moves the chosen parameters by eps x their norm (default: 0.01)",
    )
    how.add_argument(
        "--lookahead",
        choices=("exact", "first-order"),
        default="exact",
        help="exact: the TAG lookahead, one extra pass of the chosen layers per source (default); first-order: skip it",
    )
    how.add_argument(
        "--n-splits",
        type=positive_int,
        default=100,
        help="random half splits behind the split-half reliabilities (default: 100)",
    )
    add_confidence_level(parser)
    add_n_resamples(parser)
    add_seed(parser, what="the projection, the bootstrap and the half splits")
    add_format(parser, ("table", "md", "latex", "json"))
    parser.add_argument("--no-plots", action="store_true", help="do not write the heatmaps")
    parser.set_defaults(func=_run)


def _inputs(args: argparse.Namespace) -> tuple[Path, ...]:
    """Files the run reads: a local model folder and the task folders; no output may overwrite one."""
    from lm_eval_mtl import MTLError
    from lm_eval_mtl.cli.options import parse_pairs

    out: list[Path] = []
    try:
        pretrained = (
            parse_pairs([args.model_args], "--model_args").get("pretrained") if args.model_args else None
        )
    except MTLError:  # lm-eval parses --model_args itself, and reports its own errors
        pretrained = None
    folders = [Path(p) for p in (args.include_path or [])]
    if pretrained and Path(pretrained).is_dir():
        folders.append(Path(pretrained))
    for folder in folders:
        if folder.is_dir():
            out += [p for p in folder.rglob("*") if p.is_file()]
    return tuple(out)


def _run(args: argparse.Namespace) -> int:
    from lm_eval_mtl import (
        MTLError,
        affinity_tables,
        check_output_path,
        gradient_affinity,
        json_dumps,
        render_table,
        write_affinity,
    )

    out = Path(args.output_path)
    if out.exists() and not out.is_dir():
        raise MTLError(f"--output_path {out} is a file; give a folder.")
    for folder in args.include_path or []:
        if not Path(folder).is_dir():
            raise MTLError(f"--include_path {folder} is not a folder; give a folder of task YAML files.")
    inputs = _inputs(args)
    for name in ("affinity.json", "affinity.md", "affinity.tex"):
        check_output_path(out / name, inputs)
    result = gradient_affinity(
        args.tasks,
        model=args.model,
        model_args=args.model_args,
        include_path=args.include_path,
        limit=args.limit,
        num_fewshot=args.num_fewshot,
        fewshot_seed=args.fewshot_seed,
        batch_size=args.batch_size,
        device=args.device,
        blocks=args.blocks,
        head=not args.no_head,
        proj_dim=args.proj_dim,
        step=args.step,
        lookahead=args.lookahead,
        confidence_level=args.confidence_level,
        n_resamples=args.n_resamples,
        n_splits=args.n_splits,
        seed=args.seed,
    )
    if result.world_size > 1 and _rank() != 0:
        return 0  # every rank computed the same numbers; rank 0 writes them
    for path in write_affinity(result, out, inputs=inputs, plots=not args.no_plots):
        print(f"wrote {path}", file=sys.stderr)
    if args.format == "json":
        sys.stdout.write(json_dumps(result.to_dict()))
    else:
        sys.stdout.write("\n".join(render_table(t, args.format) for t in affinity_tables(result)))
    return 0


def _rank() -> int:
    import torch.distributed as dist

    return int(dist.get_rank()) if dist.is_available() and dist.is_initialized() else 0
