"""``lm-eval-mtl suites [NAME]``: list the shipped suites, or show one suite's members."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lm_eval_mtl.cli.options import add_format

if TYPE_CHECKING:
    from lm_eval_mtl import SuiteSpec


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
    p.add_argument(
        "name",
        nargs="?",
        help="a suite or family group name (e.g. mtl_suite), or a task YAML file or folder of them to read "
        "instead of the shipped configs",
    )
    add_format(p, ("table", "md", "latex", "csv"))
    p.add_argument(
        "--weights",
        metavar="SCHEME|FILE",
        help="show these weights instead of the suite's default (with NAME)",
    )
    p.add_argument("--all", action="store_true", help="also list family groups (kind: family)")
    p.set_defaults(func=_main)


def _load_specs(name: str | None) -> tuple[dict[str, SuiteSpec], str | None]:
    """Load the suites to show: the shipped ones, or those in a YAML file or folder ``name``.

    Returns:
        (suite name -> spec, the suite to show or None for the listing).

    Raises:
        SuiteSpecError: A task YAML cannot be read or parsed, or a spec in it is malformed.
    """
    from lm_eval_mtl import SuiteSpecError, load_suites, shipped_suites

    if not name or not (name.endswith((".yaml", ".yml")) or os.sep in name or Path(name).is_dir()):
        try:
            return {s.name: s for s in shipped_suites()}, name
        except (OSError, UnicodeError, ValueError) as err:
            raise SuiteSpecError(
                f"the shipped task configs cannot be read ({err}); reinstall lm-eval-mtl."
            ) from err
        except Exception as err:
            if type(err).__module__.split(".")[0] == "yaml":
                raise SuiteSpecError(
                    f"a shipped task YAML is malformed ({_one_line(err)}); reinstall lm-eval-mtl."
                ) from err
            raise
    path = Path(name)
    if not path.exists():
        raise SuiteSpecError(
            f"task YAML {name} does not exist; give a suite name or an existing .yaml file or folder."
        )
    folder = path if path.is_dir() else path.parent
    try:
        found = load_suites(folder)
    except SuiteSpecError as err:
        raise SuiteSpecError(f"{name}: {err}") from err
    except (OSError, UnicodeError) as err:
        raise SuiteSpecError(
            f"cannot read the task YAML under {name} ({_one_line(err)}); check the file."
        ) from err
    except Exception as err:
        if type(err).__module__.split(".")[0] == "yaml":
            raise SuiteSpecError(
                f"task YAML under {name} is malformed: {_one_line(err)}; fix the file."
            ) from err
        raise
    if path.is_dir():
        specs = {s.name: s for s in found}
        if not specs:
            raise SuiteSpecError(f"{name} holds no group YAML with a `metadata.mtl` block; nothing to show.")
        return specs, None
    mine = [s for s in found if s.source is not None and Path(s.source).resolve() == path.resolve()]
    if not mine:
        raise SuiteSpecError(f"{name} defines no group with a `metadata.mtl` block; nothing to show.")
    return {s.name: s for s in found}, mine[0].name


def _one_line(err: BaseException) -> str:
    return " ".join(str(err).split())


def _main(args: argparse.Namespace) -> int:
    from lm_eval_mtl import Table, render_table, resolve_weights_with_info, unknown_name

    specs, args.name = _load_specs(args.name)
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
