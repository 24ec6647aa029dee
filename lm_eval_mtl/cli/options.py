"""The options shared by several subcommands, each defined once with one default.

=====================  ==========================  ============================================
option                 default                     offered by
=====================  ==========================  ============================================
``--seed``             ``0``                       report, compare, transfer, affinity, demo
``--n-resamples``      ``10000``                   report, compare, transfer, affinity, demo
``--confidence-level`` ``0.95``                    report, compare, transfer, affinity, correlate
``--format``           ``table``                   report, compare, transfer, affinity, correlate,
                                                   suites, weights show (each with its formats)
``--output``           stdout                      report, compare, transfer, correlate
``--missing``          ``error`` (``error|drop``)  report, correlate, weights fit
``--no-cache``         off (the cache is used)     report, compare, transfer
=====================  ==========================  ============================================

An option is offered only where it changes the result: ``correlate`` has closed-form
intervals, so it has no ``--seed`` or ``--n-resamples``.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping, Sequence

__all__ = [
    "CONFIDENCE_LEVEL",
    "FORMAT",
    "FORMATS",
    "MISSING",
    "MISSING_CHOICES",
    "NO_CACHE_ENV",
    "N_RESAMPLES",
    "SEED",
    "add_cache",
    "add_confidence_level",
    "add_format",
    "add_missing",
    "add_n_resamples",
    "add_output",
    "add_resampling",
    "add_seed",
    "apply_cache",
    "confidence_level_arg",
    "parse_pairs",
    "positive_int",
    "seed_arg",
]

SEED = 0
"""Default ``--seed``: every resampling subcommand is reproducible unless told otherwise."""
N_RESAMPLES = 10_000
"""Default ``--n-resamples`` (bootstrap and randomization resamples)."""
CONFIDENCE_LEVEL = 0.95
"""Default ``--confidence-level``."""
FORMAT = "table"
"""Default ``--format``."""
FORMATS: tuple[str, ...] = ("table", "md", "latex", "json", "csv")
"""Every output format; a subcommand offers the subset it can write."""
MISSING = "error"
"""Default ``--missing``."""
MISSING_CHOICES: tuple[str, ...] = ("error", "drop")
"""``--missing``: refuse gaps (``error``) or drop what has them (``drop``)."""


def positive_int(text: str) -> int:
    """Parse an integer >= 1 (an ``argparse`` type).

    Raises:
        argparse.ArgumentTypeError: Not an integer, or below 1.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text!r}.") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer; got {text}.")
    return value


def seed_arg(text: str) -> int:
    """Parse a seed: an integer >= 0 (an ``argparse`` type).

    Raises:
        argparse.ArgumentTypeError: Not an integer, or negative.
    """
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"--seed must be a non-negative integer; got {text!r}.") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"--seed must be a non-negative integer; got {text}.")
    return value


def confidence_level_arg(text: str) -> float:
    """Parse a confidence level in (0, 1) (an ``argparse`` type).

    Raises:
        argparse.ArgumentTypeError: Not a number, or outside (0, 1).
    """
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--confidence-level must be a number in (0, 1); got {text!r}."
        ) from None
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"--confidence-level must be in (0, 1); got {text}.")
    return value


def add_seed(parser: argparse.ArgumentParser, *, what: str = "the bootstrap") -> None:
    """Add ``--seed`` (default :data:`SEED`)."""
    parser.add_argument(
        "--seed", type=seed_arg, default=SEED, help=f"random seed of {what} (default: {SEED})"
    )


def add_n_resamples(parser: argparse.ArgumentParser) -> None:
    """Add ``--n-resamples`` (default :data:`N_RESAMPLES`)."""
    parser.add_argument(
        "--n-resamples",
        type=positive_int,
        default=N_RESAMPLES,
        help=f"bootstrap resamples (default: {N_RESAMPLES})",
    )


def add_confidence_level(parser: argparse.ArgumentParser) -> None:
    """Add ``--confidence-level`` (default :data:`CONFIDENCE_LEVEL`)."""
    parser.add_argument(
        "--confidence-level",
        type=confidence_level_arg,
        default=CONFIDENCE_LEVEL,
        help=f"confidence level of the intervals (default: {CONFIDENCE_LEVEL})",
    )


def add_resampling(parser: argparse.ArgumentParser) -> None:
    """Add ``--confidence-level``, ``--n-resamples`` and ``--seed``."""
    add_confidence_level(parser)
    add_n_resamples(parser)
    add_seed(parser)


def add_format(parser: argparse.ArgumentParser, choices: Sequence[str] = FORMATS) -> None:
    """Add ``--format`` with ``choices`` (a subset of :data:`FORMATS`; default :data:`FORMAT`)."""
    unknown = set(choices) - set(FORMATS)
    if unknown or FORMAT not in choices:
        raise ValueError(f"`choices` must be a subset of {FORMATS} holding {FORMAT!r}; got {tuple(choices)}.")
    parser.add_argument(
        "--format", choices=tuple(choices), default=FORMAT, help=f"output format (default: {FORMAT})"
    )


def add_output(parser: argparse.ArgumentParser) -> None:
    """Add ``--output FILE`` (default: stdout)."""
    parser.add_argument(
        "--output", default=None, metavar="FILE", help="write the output to FILE instead of stdout"
    )


def add_missing(
    parser: argparse.ArgumentParser, help: str, *, aliases: Mapping[str, str] | None = None
) -> None:
    """Add ``--missing error|drop`` (default :data:`MISSING`).

    Args:
        parser: The subcommand's parser.
        help: What ``error`` and ``drop`` mean for this subcommand.
        aliases: Older spellings accepted and mapped to ``error`` or ``drop``
            (not listed in the help).
    """
    table = dict(aliases or {})

    def missing_arg(text: str) -> str:
        return table.get(text, text)

    missing_arg.__name__ = "--missing"  # argparse names the type in its error message
    parser.add_argument(
        "--missing",
        type=missing_arg,
        choices=MISSING_CHOICES,
        default=MISSING,
        help=f"{help} (default: {MISSING})",
    )


def add_cache(parser: argparse.ArgumentParser) -> None:
    """Add ``--no-cache``: read every samples file afresh and leave the samples cache alone."""
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="do not read or write the samples cache (<cache root>/samples/, where the cache root is "
        "$LM_EVAL_MTL_CACHE, else $XDG_CACHE_HOME/lm-eval-mtl, else ~/.cache/lm-eval-mtl); every samples "
        "file is decoded again (the same as LM_EVAL_MTL_NO_CACHE=1)",
    )


NO_CACHE_ENV = "LM_EVAL_MTL_NO_CACHE"
"""What ``--no-cache`` sets to ``1`` (read by the samples cache, and by worker processes)."""
_cache_flag = {"set": False}  # whether --no-cache set the variable (so a later command clears it)


def apply_cache(args: argparse.Namespace) -> None:
    """Turn the samples cache off for this command when ``--no-cache`` is given (``$LM_EVAL_MTL_NO_CACHE=1``).

    Without the flag, a variable set by an earlier command in the same process is cleared; one
    set by the user is left alone.
    """
    if getattr(args, "no_cache", False):
        os.environ[NO_CACHE_ENV] = "1"
        _cache_flag["set"] = True
    elif _cache_flag["set"]:
        os.environ.pop(NO_CACHE_ENV, None)
        _cache_flag["set"] = False


def add_suite_selection(parser: argparse.ArgumentParser) -> None:
    """``--suite``, ``--weights`` and ``--units``: how runs are normalized and weighted (compare, transfer)."""
    parser.add_argument(
        "--suite",
        default=None,
        help="suite whose members, normalization and weights to use (default: detected from the runs, "
        "as report does: the suite whose group row the runs carry, or whose members they all cover)",
    )
    parser.add_argument(
        "--weights", default=None, help="weighting scheme or weights id (default: the suite's)"
    )
    parser.add_argument(
        "--units",
        choices=("suite", "raw"),
        default=None,
        help="raw: compare raw metric values over the common tasks with equal weights, no suite (needed when "
        "no suite is found and the metrics have different scales, e.g. chrF 0-100 beside accuracies); "
        "suite: require a suite (default: a suite where one is named or detected, else raw units when "
        "every metric has the same scale)",
    )


def add_allow_few_clusters(parser: argparse.ArgumentParser) -> None:
    """``--allow-few-clusters``: go on (with a warning) where a cluster key gives fewer than 4 clusters."""
    parser.add_argument(
        "--allow-few-clusters",
        action="store_true",
        help="go on where a cluster key gives 2 or 3 clusters (refused by default: no clustered interval or "
        "test is honest there; with it, t intervals and the wild cluster bootstrap, with a warning). "
        "4 to 19 clusters always go on, with a warning",
    )


def parse_pairs(items: Sequence[str] | None, option: str) -> dict[str, str]:
    """``KEY=VALUE`` strings (repeatable or comma-separated) as a dict.

    Raises:
        MTLError: An item lacks ``=``.
    """
    from lm_eval_mtl import MTLError

    out: dict[str, str] = {}
    for raw in items or ():
        for item in raw.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise MTLError(f"{option} expects KEY=VALUE; got {item!r}.")
            out[key.strip()] = value.strip()
    return out
