"""``lm-eval-mtl transfer``: evaluation transfer matrix from a base run and fine-tuned checkpoints.

Examples::

    lm-eval-mtl transfer --base runs/base --source sst2=runs/ft-sst2 --source mnli=runs/ft-mnli
    lm-eval-mtl transfer --manifest study.yaml --plots figs/ --format md
    lm-eval-mtl transfer --manifest study.yaml --format csv --output-dir out/   # cells, composite, relative
    lm-eval-mtl transfer --manifest study.yaml --predicted runs/affinity/affinity.json --plots figs/

The manifest is a small YAML file (paths relative to the manifest's folder)::

    base: runs/base
    sources:
      sst2: runs/ft-sst2
      mnli: runs/ft-mnli
    mtl: runs/ft-all          # optional
    suite: mtl_suite          # optional
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from lm_eval_mtl.cli.options import (
    add_allow_few_clusters,
    add_cache,
    add_format,
    add_output,
    add_resampling,
    add_suite_selection,
    apply_cache,
    parse_pairs,
)
from lm_eval_mtl.cli.output import check_outputs, emit, input_files, print_notes, run_reporting_warnings
from lm_eval_mtl.cli.tidy import add_output_dir, check_output_dir, emit_tidy


def register(subparsers: Any) -> None:
    """Add the ``transfer`` parser."""
    parser = subparsers.add_parser(
        "transfer",
        help="task-transfer matrix: base model vs checkpoints fine-tuned on each source task",
        description=(
            "T[s,t] = z_t(M_s) - z_t(M0) with paired per-item intervals, a Benjamini-Hochberg FDR mask, "
            "relative transfer T[s,t]/|T[t,t]|, a composite column and, with --mtl, the multi-task "
            "checkpoint's gain over the best single-source checkpoint. From results JSON alone the cells "
            "are analytic (unpaired). Each --source NAME must name a task of the runs (the diagonal "
            "T[t,t] needs it) unless --any-source-name. A folder holding several runs: the latest is used, "
            "and a note names it and the ones ignored."
        ),
    )
    parser.add_argument("--base", default=None, help="the base model's run folder or results file")
    parser.add_argument(
        "--source",
        action="append",
        default=None,
        metavar="NAME=RUN",
        help="a checkpoint fine-tuned on source NAME (name it like its task); repeatable",
    )
    parser.add_argument(
        "--any-source-name",
        action="store_true",
        help="accept --source names that are no task of the runs (a checkpoint trained on something "
        "else: its row has no diagonal and no relative transfer); refused by default",
    )
    parser.add_argument("--mtl", default=None, help="the multi-task checkpoint's run")
    parser.add_argument("--manifest", default=None, help="YAML with base, sources, optional mtl and suite")
    add_suite_selection(parser)
    parser.add_argument("--tasks", default=None, help="comma-separated target tasks (default: all common)")
    parser.add_argument(
        "--cluster",
        action="append",
        default=None,
        metavar="TASK=DOC_FIELD",
        help="items of TASK sharing DOC_FIELD form a cluster (repeatable)",
    )
    add_allow_few_clusters(parser)
    add_cache(parser)
    parser.add_argument("--plots", default=None, metavar="DIR", help="write heatmaps here (needs [plot])")
    parser.add_argument(
        "--plot-format",
        action="append",
        choices=("png", "svg", "pdf"),
        default=None,
        help="heatmap format (repeatable; default png)",
    )
    parser.add_argument(
        "--predicted",
        default=None,
        metavar="AFFINITY_JSON",
        help="an affinity.json of `lm-eval-mtl affinity`: set its predicted transfer beside the measured one "
        "(Spearman and Kendall over the off-diagonal cells, bootstrap intervals; with --plots a scatter plot)",
    )
    add_resampling(parser)
    add_format(parser)
    add_output(parser)
    add_output_dir(parser, ("cells", "composite", "relative", "mtl", "predicted"))
    parser.set_defaults(func=_run)


def _manifest(path: str) -> dict[str, Any]:
    import yaml  # type: ignore[import-untyped,unused-ignore]

    from lm_eval_mtl import MTLError

    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise MTLError(f"--manifest {p}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise MTLError(
            f"--manifest {p}: must be a mapping with keys base, sources; got {type(data).__name__}."
        )
    unknown = sorted(set(data) - {"base", "sources", "mtl", "suite", "tasks", "weights", "units", "cluster"})
    if unknown:
        raise MTLError(
            f"--manifest {p}: unknown key(s) {', '.join(unknown)}; known: base, sources, mtl, suite, tasks, weights, units, cluster."
        )
    if not isinstance(data.get("base"), str):
        raise MTLError(f"--manifest {p}: `base` must be a run path; got {data.get('base')!r}.")
    sources = data.get("sources")
    if not isinstance(sources, dict) or not sources or not all(isinstance(v, str) for v in sources.values()):
        raise MTLError(f"--manifest {p}: `sources` must map source names to run paths; got {sources!r}.")

    def rel(x: str) -> str:
        q = Path(x)
        return str(q if q.is_absolute() else p.parent / q)

    out: dict[str, Any] = {"base": rel(data["base"]), "sources": {str(k): rel(v) for k, v in sources.items()}}
    if data.get("mtl") is not None:
        out["mtl"] = rel(str(data["mtl"]))
    for key in ("suite", "tasks", "weights", "units", "cluster"):
        if data.get(key) is not None:
            out[key] = data[key]
    return out


def _run(args: argparse.Namespace) -> int:
    from lm_eval_mtl import (
        MTLError,
        load_affinity,
        plot_predicted,
        plot_transfer,
        predicted_tables,
        predicted_transfer,
        transfer_matrix,
        transfer_tables,
    )

    apply_cache(args)
    spec: dict[str, Any] = _manifest(args.manifest) if args.manifest else {}
    base = args.base or spec.get("base")
    sources = dict(spec.get("sources", {}))
    sources.update(parse_pairs(args.source, "--source"))
    if not base:
        raise MTLError("transfer needs --base RUN (or a --manifest with `base`).")
    if not sources:
        raise MTLError("transfer needs at least one --source NAME=RUN (or a --manifest with `sources`).")
    weights = args.weights or spec.get("weights")
    inputs = input_files(
        args.manifest, base, *sources.values(), args.mtl or spec.get("mtl"), weights, args.predicted
    )
    check_outputs(inputs, output=args.output, folder=args.plots)
    check_output_dir(args, inputs)
    affinity = load_affinity(args.predicted) if args.predicted else None
    tasks = args.tasks.split(",") if args.tasks else spec.get("tasks")
    cluster = dict(spec.get("cluster") or {})
    cluster.update(parse_pairs(args.cluster, "--cluster"))
    tm = run_reporting_warnings(
        transfer_matrix,
        base,
        sources,
        mtl=args.mtl or spec.get("mtl"),
        suite=args.suite or spec.get("suite"),
        tasks=[t.strip() for t in tasks] if tasks else None,
        weights=weights,
        clusters=cluster,
        allow_few_clusters=args.allow_few_clusters,
        units=args.units or spec.get("units"),
        confidence_level=args.confidence_level,
        n_resamples=args.n_resamples,
        rng=args.seed,
        require_task_sources=not args.any_source_name,
    )
    predicted = None
    if affinity is not None:
        predicted = run_reporting_warnings(
            predicted_transfer,
            tm,
            affinity,
            confidence_level=args.confidence_level,
            n_resamples=args.n_resamples,
            rng=args.seed,
        )
    print_notes(args, tm.notes)
    if args.plots:
        for path in plot_transfer(tm, args.plots, tuple(args.plot_format or ("png",)), inputs=inputs):
            print(f"wrote {path}", file=sys.stderr)
        if predicted is not None:
            for path in plot_predicted(
                predicted, args.plots, tuple(args.plot_format or ("png",)), inputs=inputs
            ):
                print(f"wrote {path}", file=sys.stderr)
    tidy = tm.tidy() if predicted is None else {**tm.tidy(), "predicted": predicted.tidy()}
    if not emit_tidy(args, tidy, "cells", prefix="", inputs=inputs):
        payload = tm.to_dict() if predicted is None else {**tm.to_dict(), "predicted": predicted.to_dict()}
        tables = transfer_tables(tm) + ([] if predicted is None else predicted_tables(predicted))
        emit(args, payload, tables, inputs=inputs)
    return 0
