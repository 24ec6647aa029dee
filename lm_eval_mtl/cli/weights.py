"""``lm-eval-mtl weights``: fit, show and list frozen weights files.

Examples::

    lm-eval-mtl weights fit PANEL.csv --scheme redundancy --id-column Model --scale 0.01 --suite mtl_openllm_v1 --tasks ARC=arc_challenge,... --out weights.json
    lm-eval-mtl weights fit runs/A runs/B runs/C --scheme redundancy --suite mtl_suite --out w.json
    lm-eval-mtl weights show redundancy-openllm_v1 --format md --plot weights.png
    lm-eval-mtl weights list
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from typing import TYPE_CHECKING, Any

from lm_eval_mtl.cli.options import add_format, add_missing
from lm_eval_mtl.cli.output import check_outputs, input_files

if TYPE_CHECKING:
    from lm_eval_mtl import WeightsFile


def register(subparsers: Any) -> None:
    """Add the ``weights`` parser and its sub-subcommands."""
    parser = subparsers.add_parser(
        "weights",
        help="fit, show and list frozen weights files",
        description="Fit correlation-aware weights on a population of models, and inspect weights files.",
    )
    sub = parser.add_subparsers(dest="weights_command", metavar="ACTION")
    sub.required = True

    fit = sub.add_parser(
        "fit",
        help="fit a weighting scheme on a population (CSV panel or lm-eval runs)",
        description=(
            "Fit a weighting scheme on a population of models and write a frozen weights file (JSON) "
            "that `lm-eval-mtl report --weights FILE` and the suites' `weights:` field accept. The "
            "population is a CSV panel (one row per model, one column per task; give --id-column) or "
            "several lm-eval output folders of one suite (give --suite). Progress goes to stderr, the "
            "fitted weights to stdout."
        ),
    )
    fit.add_argument(
        "panel", nargs="+", help="a CSV panel (one row per model) or several lm-eval output folders"
    )
    fit.add_argument(
        "--scheme", required=True, help="redundancy, cluster, factor, equal, family, size, package/name"
    )
    fit.add_argument("--out", required=True, help="where to write the weights JSON")
    fit.add_argument("--tasks", default=None, help="CSV: columns to use, COL or COL=KEY, comma-separated")
    fit.add_argument("--id-column", default=None, help="CSV: column with the model id")
    fit.add_argument("--suite", default=None, help="suite name (its spec normalizes z and names the file)")
    fit.add_argument("--suite-id", default=None, help="name@version when no shipped suite applies")
    fit.add_argument("--id", dest="weights_id", default=None, help="id of the weights file")
    fit.add_argument(
        "--threshold", type=float, default=None, help="cluster: cut height on 1-|r| (default 0.2)"
    )
    fit.add_argument(
        "--uniqueness-floor", type=float, default=None, help="factor: floor on 1-l^2 (default 0.01)"
    )
    fit.add_argument("--scale", type=float, default=1.0, help="CSV: multiply cells (0.01 for percent)")
    fit.add_argument("--normalized", action="store_true", help="CSV: cells already hold normalized scores")
    fit.add_argument("--chance", default=None, help="CSV: KEY=c,... chance levels (0-1) overriding the suite")
    fit.add_argument(
        "--duplicates",
        choices=("error", "first", "mean"),
        default="error",
        help="CSV: a model id on several rows: refuse (default), keep the first row, or their mean",
    )
    fit.add_argument(
        "--date-column", default=None, help="CSV: submission-date column (population date = latest)"
    )
    add_missing(
        fit,
        "gaps in the population: error, or drop the models with gaps (listwise deletion; `listwise` is accepted too)",
        aliases={"listwise": "drop"},
    )
    fit.add_argument("--quiet", action="store_true", help="no progress messages")
    fit.set_defaults(func=_fit)

    show = sub.add_parser(
        "show",
        help="show a weights file or shipped id",
        description=(
            "Print a weights file (a path, or a shipped id from `lm-eval-mtl weights list`): its id and "
            "signature, suite, scheme, the population it was fitted on, the shrinkage delta, the "
            "effective number of tasks of the population's shrunk correlation matrix (Nyholt and Li-Ji), "
            "how far its ranking moves from equal weights, and the weight of each task or family."
        ),
    )
    show.add_argument("weights", help="shipped id (see `weights list`) or path")
    add_format(show, ("table", "md", "json"))
    show.add_argument(
        "--plot", default=None, metavar="FILE.png", help="also draw weights and correlation (needs [plot])"
    )
    show.set_defaults(func=_show)

    lst = sub.add_parser(
        "list",
        help="list shipped weights files and weighting schemes",
        description=(
            "List the weights files shipped with the package (id, suite, scheme, sha256 and the "
            "population they were fitted on) and the registered weighting schemes that "
            "`weights fit --scheme` accepts."
        ),
    )
    lst.set_defaults(func=_list)


def _pairs(text: str | None, what: str) -> dict[str, str]:
    from lm_eval_mtl import MTLError

    out: dict[str, str] = {}
    if not text:
        return out
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if what == "chance" and not sep:
            raise MTLError(f"--chance items must be KEY=VALUE; got {item!r}.")
        out[key.strip()] = value.strip() if sep else key.strip()
    return out


def _fit(args: argparse.Namespace) -> int:
    from pathlib import Path

    from lm_eval_mtl import (
        MTLError,
        fit_weights,
        load_panel_csv,
        load_suite,
        population_from_runs,
        save_weights,
        scheme_registry,
    )

    start = time.perf_counter()

    def say(msg: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - start:6.2f}s] {msg}", file=sys.stderr, flush=True)

    scheme_registry.get(args.scheme)  # fail fast on unknown or refused names
    inputs = input_files(*args.panel)
    check_outputs(inputs, output=args.out)
    spec = load_suite(args.suite) if args.suite else None
    paths = [Path(p) for p in args.panel]
    if len(paths) == 1 and paths[0].is_file():
        if not args.id_column:
            raise MTLError("--id-column is required for a CSV panel (the column holding model ids).")
        chance: dict[str, float] = {}
        for k, v in _pairs(args.chance, "chance").items():
            try:
                chance[k] = float(v)
            except ValueError:
                raise MTLError(f"--chance {k}={v!r}: not a number.") from None
        say(f"reading panel {paths[0]}")
        tasks = list(_pairs(args.tasks, "tasks").items()) if args.tasks else None
        pop = load_panel_csv(
            paths[0],
            id_column=args.id_column,
            tasks=dict(tasks) if tasks else None,
            scale=args.scale,
            spec=spec,
            chance=chance or None,
            duplicates=args.duplicates,
            date_column=args.date_column,
            normalized=args.normalized,
        )
    else:
        if spec is None:
            raise MTLError("--suite is required when PANEL is lm-eval output folders (it names the members).")
        missing = [str(p) for p in paths if not p.exists()]
        if missing:
            raise FileNotFoundError(f"no such panel file or run folder: {', '.join(missing)}")
        say(f"reading {len(paths)} lm-eval runs")
        pop = population_from_runs(paths, spec)
    say(
        f"population: {pop.n_models} models x {pop.n_tasks} tasks from {pop.source} (sha256 {pop.sha256[:12]})"
    )
    tuning: dict[str, Any] = {}  # unset: fit_weights' own defaults
    if args.threshold is not None:
        tuning["threshold"] = args.threshold
    if args.uniqueness_floor is not None:
        tuning["uniqueness_floor"] = args.uniqueness_floor
    wf = fit_weights(
        pop,
        args.scheme,
        suite=spec,
        suite_id=args.suite_id,
        weights_id=args.weights_id,
        missing="listwise" if args.missing == "drop" else "error",
        progress=say,
        **tuning,
    )
    out = save_weights(wf, args.out, inputs=inputs)
    say(f"wrote {out}")
    print(_render(wf, "table"))
    return 0


def _fmt(x: float, digits: int = 4) -> str:
    return "nan" if not math.isfinite(x) else f"{x:.{digits}f}"


def _render(wf: WeightsFile, fmt: str) -> str:
    if fmt == "json":
        return json.dumps(wf.to_dict(), indent=2, ensure_ascii=False)
    pop = wf.population
    head = [
        ("id", wf.id),
        ("signature", wf.signature),
        ("suite", f"{wf.suite}@{wf.suite_version}"),
        ("scheme", wf.scheme + (f" {dict(wf.params)}" if wf.params else "")),
        ("level", wf.level),
    ]
    if pop is not None:
        head += [
            ("population", f"{pop.source} ({pop.n_models} models, date {pop.date or 'unknown'})"),
            ("population sha256", pop.sha256),
        ]
    head += [
        ("shrinkage delta", _fmt(wf.delta, 6)),
        (
            "effective tasks",
            f"Nyholt {_fmt(wf.effective_number_nyholt, 3)}, Li-Ji {_fmt(wf.effective_number_li_ji, 3)} "
            "(of the Ledoit-Wolf-shrunk Pearson correlation, the population's complete rows)",
        ),
        ("Kendall tau vs equal", _fmt(wf.kendall_tau)),
        (
            "max rank change",
            f"{wf.max_rank_change} ({wf.max_rank_change_at})" if wf.max_rank_change >= 0 else "n/a",
        ),
    ]
    if fmt == "md":
        lines = ["| field | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in head]
        lines += ["", "| task | weight |", "|---|---:|"] + [
            f"| {k} | {v:.4f} |" for k, v in wf.weights.items()
        ]
        return "\n".join(lines)
    width = max(len(k) for k, _ in head)
    lines = [f"{k:<{width}}  {v}" for k, v in head]
    tw = max(len(k) for k in wf.weights)
    lines.append("")
    lines.append(f"{'task':<{tw}}  weight")
    lines += [f"{k:<{tw}}  {v:.4f}" for k, v in wf.weights.items()]
    return "\n".join(lines)


def _show(args: argparse.Namespace) -> int:
    from lm_eval_mtl import list_shipped_weights, load_weights, printable

    wf = load_weights(args.weights)
    inputs = input_files(args.weights) if args.weights not in list_shipped_weights() else ()
    if args.plot:
        check_outputs(inputs, output=args.plot)
    text = _render(wf, args.format)
    # names come from the file: no control characters reach the terminal (JSON escapes them)
    print(text if args.format == "json" else printable(text))
    if args.plot:
        from lm_eval_mtl import plot_weights

        out = plot_weights(wf, args.plot, inputs=inputs)
        print(f"wrote {out}", file=sys.stderr)
    return 0


def _list(args: argparse.Namespace) -> int:
    from lm_eval_mtl import list_shipped_weights, load_weights, scheme_registry

    print("shipped weights:")
    for ident in list_shipped_weights():
        wf = load_weights(ident)
        pop = wf.population
        where = f"{pop.n_models} models, {pop.source}" if pop else "structural"
        print(f"  {ident:<28} {wf.suite}@{wf.suite_version}  {wf.scheme}  sha256:{wf.short_hash}  ({where})")
    print("weighting schemes:")
    for name in scheme_registry.names():
        s = scheme_registry.get(name)
        print(f"  {name:<12} {s.description}")
    print("  (refused: gls, min_variance; see `docs/concepts-weighting.md`)")
    return 0
