"""Entry point of the ``lm-eval-mtl`` console script.

Each subcommand lives in its own module ``lm_eval_mtl.cli.<name>`` exposing
``register(subparsers)``, which adds its parser and sets ``func`` (a callable
taking the parsed namespace and returning an exit code). Modules keep heavy
imports inside ``func`` so that ``lm-eval-mtl --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from lm_eval_mtl import MTLError

SUBCOMMANDS: tuple[str, ...] = (
    "report",
    "compare",
    "transfer",
    "correlate",
    "weights",
    "suites",
    "demo",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the full argument parser with every subcommand registered."""
    from lm_eval_mtl import __version__

    parser = argparse.ArgumentParser(
        prog="lm-eval-mtl",
        description=(
            "Composite scores with honest intervals, paired comparisons and task-transfer "
            "matrices from lm-evaluation-harness output folders."
        ),
    )
    parser.add_argument("--version", action="version", version=f"lm-eval-mtl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in SUBCOMMANDS:
        module = importlib.import_module(f"lm_eval_mtl.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 2 bad input)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except MTLError as err:
        print(f"lm-eval-mtl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"lm-eval-mtl {args.command}: error: {err}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
