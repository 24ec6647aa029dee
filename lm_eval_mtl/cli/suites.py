"""``lm-eval-mtl suites [NAME]``: list the shipped suites, or show one suite's members."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from lm_eval_mtl.cli.options import add_format


def register(subparsers: Any) -> None:
    """Add the ``suites`` subcommand."""
    p = subparsers.add_parser(
        "suites",
        help="list the shipped suites, or show one suite's members, chance, ceiling, family and weights",
        description=(
            "Without NAME: every shipped suite (and family group) with its version, members and default "
            "weights. With NAME: the suite's members (task, metric, filter, chance, ceiling, family, "
            "cluster key) and the weights each member gets by default."
        ),
    )
    p.add_argument("name", nargs="?", help="a suite or family group name, e.g. mtl_suite")
    add_format(p, ("table", "md", "latex", "csv"))
    p.add_argument(
        "--weights",
        metavar="SCHEME|FILE",
        help="show these weights instead of the suite's default (with NAME)",
    )
    p.add_argument("--all", action="store_true", help="also list family groups (kind: family)")
    p.set_defaults(func=_main)


def _main(args: argparse.Namespace) -> int:
    from lm_eval_mtl import Table, render_table, resolve_weights_with_info, shipped_suites, unknown_name

    specs = {s.name: s for s in shipped_suites()}
    if not args.name:
        rows = [
            (s.name, s.version, s.kind, len(s.members), len(s.families), s.weights, s.leaderboard)
            for s in specs.values()
            if args.all or s.kind == "suite"
        ]
        table = Table(
            title="Shipped suites",
            columns=("suite", "version", "kind", "members", "families", "weights", "leaderboard"),
            rows=tuple(rows),
            notes=("Show one: lm-eval-mtl suites NAME. Run one: lm_eval --tasks NAME ... --log_samples",)
            + (() if args.all else ("Family groups are hidden; add --all to list them.",)),
        )
        sys.stdout.write(render_table(table, args.format))
        return 0
    if args.name not in specs:
        raise unknown_name("suite", args.name, tuple(specs))
    spec = specs[args.name]
    sizes: dict[str, int] = {}
    scheme = args.weights or spec.weights
    if scheme == "size":
        weights_note = "size weights depend on the run's item counts; not shown."
        weights: dict[str, float] = {}
        wid = "size"
    else:
        weights, info, _ = resolve_weights_with_info(spec, args.weights, sizes)
        wid = f"{info.id} (sha256 {info.short_hash})"
        weights_note = f"weights: {wid}"
    rows2 = [
        (
            m.label,
            m.task if m.task != m.label else None,
            m.metric,
            m.filter,
            m.output_type,
            m.chance,
            m.ceiling,
            m.family,
            m.cluster,
            weights.get(m.label),
        )
        for m in spec.members
    ]
    table = Table(
        title=f"{spec.id} ({spec.kind}, {len(spec.members)} members, {len(spec.families)} families)",
        columns=(
            "member",
            "task",
            "metric",
            "filter",
            "output_type",
            "chance",
            "ceiling",
            "family",
            "cluster",
            "weight",
        ),
        rows=tuple(rows2),
        formats={"chance": ".4g", "ceiling": ".4g", "weight": ".4f"},
        notes=(
            weights_note,
            "chance is replaced by the mean of 1/k over items when samples of a multiple-choice member are logged.",
            f"source: {spec.source}" if spec.source else "",
        ),
    )
    sys.stdout.write(render_table(table, args.format))
    return 0
