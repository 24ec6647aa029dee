"""The rest of ``lm-eval-mtl demo``: simulated checkpoints, report, compare, transfer, correlate.

After the tiny HF model has run (:mod:`lm_eval_mtl.demo.run`), these steps

1. run the real ``lm_eval`` CLI with the ``mtl-sim`` backend for a base model, two
   single-task checkpoints and a multi-task checkpoint whose abilities differ by a
   planted transfer matrix (:func:`lm_eval_mtl.sim.runner.write_sim_runs`);
2. score the tiny model's run and the simulated base (:func:`score_run`);
3. compare the base with the multi-task checkpoint, item by item (:func:`compare_runs`);
4. compute the transfer matrix and set it beside the planted one (:func:`transfer_matrix`);
5. correlate the tasks over a simulated population of models (:func:`correlate_tasks`);
6. write one Markdown report with the plots and a JSON summary.

Every step reads and fills the shared :class:`~lm_eval_mtl.demo.run.DemoContext`.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from lm_eval_mtl.demo.run import DEMO_SUITE, DemoContext, DemoError, DemoStep, display_path, explain
from lm_eval_mtl.errors import DegenerateDataWarning
from lm_eval_mtl.jsonout import json_clean

__all__ = ["STORY_STEPS", "write_population_panel"]

_SIM_CHECKPOINTS: tuple[str, ...] = ("base", "ft_mtl_demo_sentiment", "ft_mtl_demo_arithmetic", "mtl")


def _report_dir(ctx: DemoContext) -> Path:
    from lm_eval_mtl.demo.tiny_model import write_demo_marker

    d = ctx.output_dir / "report"
    if not d.exists():
        d.mkdir(parents=True)
        write_demo_marker(d, "demo report")
    (d / "plots").mkdir(parents=True, exist_ok=True)
    return d


def _step_sim_runs(ctx: DemoContext) -> None:
    from lm_eval_mtl.demo.run import offline_env
    from lm_eval_mtl.sim.runner import write_sim_runs

    explain(
        ctx,
        "mtl-sim",
        "mtl-sim: an lm-eval model backend whose per-item answers follow planted abilities: the truth is known",
    )

    started: list[str] = []
    lock = threading.Lock()
    sim_dir = ctx.output_dir / "sim"
    before = set(sim_dir.rglob("results_*.json")) if sim_dir.is_dir() else set()

    def probe() -> str:
        done = len(set(sim_dir.rglob("results_*.json")) - before) if sim_dir.is_dir() else 0
        return f"{done} of {len(_SIM_CHECKPOINTS)} checkpoints done; started: {', '.join(started)}"

    ctx.probe = probe

    def progress(i: int, n: int, name: str) -> None:
        # runs go side by side: called from worker threads as each one starts
        if name != "done":
            with lock:
                started.append(name)
            ctx.echo(f"      [{i + 1}/{n}] lm_eval --model mtl-sim --model_args checkpoint={name} ...")

    runs = write_sim_runs(
        ctx.output_dir / "sim",
        tasks=(DEMO_SUITE,),
        checkpoints=_SIM_CHECKPOINTS,
        seed=ctx.seed,
        limit=ctx.limit,
        env=offline_env(),
        progress=progress,
    )
    ctx.sim_runs = runs
    ctx.echo(f"      simulated runs under {display_path(ctx.output_dir / 'sim')}")


def _step_report(ctx: DemoContext) -> None:
    from lm_eval_mtl.io import load_run
    from lm_eval_mtl.report.plots import write_composite_plots
    from lm_eval_mtl.report.render import headline, render_composite
    from lm_eval_mtl.scoring.composite import score_run
    from lm_eval_mtl.suites import load_suite

    if ctx.run_dir is None or ctx.sim_runs is None:
        raise DemoError("the report step needs the lm-eval and simulation steps first.")
    suite = load_suite(DEMO_SUITE)
    rdir = _report_dir(ctx)
    signature = ""
    for name, folder in (("tiny-gpt2", ctx.run_dir), ("sim-base", ctx.sim_runs.base)):
        if folder is None:
            continue
        ctx.detail = f"bootstrapping {name} ({ctx.n_resamples} resamples)"
        score = score_run(load_run(folder), suite, n_resamples=ctx.n_resamples, rng=ctx.seed)
        # the run's model is a path (lm-eval names a local model by it): label it by a short name
        score = dataclasses.replace(score, model_name=name)
        plots = write_composite_plots(score, rdir / "plots" / name)
        ctx.artifacts[f"report_{name}"] = {
            "markdown": render_composite(score, "md"),
            "headline": headline(score),
            "plots": [str(p.relative_to(rdir)) for p in plots],
            "weights": score.weights.id,
            "json": score.to_dict(),
        }
        ctx.echo(f"      {name}: {headline(score)}")
        signature = score.signature
    if signature:
        ctx.echo(f"      signature: {signature}")
    explain(
        ctx,
        "CI",
        "95% CI: percentile interval of the composite over B bootstrap resamples of the items",
    )
    explain(
        ctx,
        "signature",
        "signature: quote it with the score; it names suite, normalization, weights, lm-eval and task hashes",
    )


def _step_compare(ctx: DemoContext) -> None:
    from lm_eval_mtl.analysis.compare import compare_runs
    from lm_eval_mtl.report.analysis import comparison_tables
    from lm_eval_mtl.report.tables import render_table

    runs = ctx.sim_runs
    if runs is None or runs.base is None or runs.mtl is None:
        raise DemoError("the compare step needs the simulated base and multi-task runs.")
    cmp = compare_runs([runs.mtl, runs.base], suite=DEMO_SUITE, n_resamples=ctx.n_resamples, rng=ctx.seed)
    pair = cmp.pairs[0]
    c = pair.composite
    ctx.artifacts["compare"] = {
        "markdown": "\n\n".join(render_table(t, "md") for t in comparison_tables(cmp)),
        "correction": str(cmp.correction),
        "alpha": 1.0 - float(cmp.confidence_level),
        "json": cmp.to_dict(),
    }
    ctx.echo(
        f"      {pair.a} vs {pair.b}: composite difference {c.diff:+.3f} "
        f"[{c.ci.low:+.3f}, {c.ci.high:+.3f}], p = {c.p_value:.3g}"
    )
    explain(
        ctx,
        "paired",
        f"paired: same items, compared item by item; [..]: 95% CI; {c.method}",
    )


def _planted_table(ctx: DemoContext, sources: list[str], targets: list[str]) -> str:
    from lm_eval_mtl.sim.profile import builtin_profile

    profile = builtin_profile("demo")
    lines = ["| checkpoint | " + " | ".join(targets) + " |", "|---|" + "---:|" * len(targets)]
    for s in [*sources, "mtl"]:
        ckpt = "mtl" if s == "mtl" else f"ft_{s}"
        row = [f"{profile.delta(ckpt, t):+.1f}" for t in targets]
        lines.append(f"| {ckpt} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def _step_transfer(ctx: DemoContext) -> None:
    from lm_eval_mtl.analysis.transfer import transfer_matrix
    from lm_eval_mtl.report.analysis import plot_transfer, transfer_tables
    from lm_eval_mtl.report.tables import render_table
    from lm_eval_mtl.sim.profile import builtin_profile

    runs = ctx.sim_runs
    if runs is None or runs.base is None:
        raise DemoError("the transfer step needs the simulated runs.")
    with warnings.catch_warnings():
        # Relative transfer T[s,t]/|T[t,t]| exists only for targets that have their own source
        # checkpoint; the report says so instead of warning about the other targets.
        warnings.simplefilter("ignore", DegenerateDataWarning)
        tm = transfer_matrix(
            runs.base,
            dict(runs.sources),
            mtl=runs.mtl,
            suite=DEMO_SUITE,
            n_resamples=ctx.n_resamples,
            rng=ctx.seed,
        )
    rdir = _report_dir(ctx)
    plots = plot_transfer(tm, rdir / "plots" / "transfer")
    sources, targets = list(tm.sources), list(tm.targets)
    profile = builtin_profile("demo")
    planted = np.array([[profile.delta(f"ft_{s}", t) != 0.0 for t in targets] for s in sources])
    found = np.asarray(tm.significant, dtype=bool)
    agree = int(np.sum(planted == found))
    ctx.artifacts["transfer"] = {
        "markdown": "\n\n".join(render_table(t, "md") for t in transfer_tables(tm)),
        "planted": _planted_table(ctx, sources, targets),
        "recovered": f"{agree} of {planted.size} cells",
        "plots": [str(p.relative_to(rdir)) for p in plots],
        "fdr": float(tm.fdr),
        "relative_defined": [
            t for j, t in enumerate(targets) if bool(np.any(np.isfinite(np.asarray(tm.relative)[:, j])))
        ],
        "json": tm.to_dict(),
    }
    ctx.echo(
        f"      {len(sources)} sources x {len(targets)} targets; significance agrees with the planted "
        f"non-zero cells in {agree} of {planted.size}"
    )
    explain(
        ctx,
        "transfer",
        f"T[s,t]: change of task t's z after fine-tuning on task s; significant: Benjamini-Hochberg FDR {tm.fdr:.2g}",
    )


def write_population_panel(
    path: Path, *, n_models: int = 200, n_items: int = 100, seed: int = 0
) -> tuple[str, ...]:
    """Write a CSV panel of simulated models' expected normalized scores on the demo suite.

    Each row is a population member of the ``demo`` simulation profile (a common factor
    plus task-specific deviations); each cell is the member's expected chance-normalized
    score on ``n_items`` items of the task. Returns the task columns.
    """
    from lm_eval_mtl.sim.profile import builtin_profile
    from lm_eval_mtl.sim.truth import SimTruth
    from lm_eval_mtl.suites import load_suite

    suite = load_suite(DEMO_SUITE)
    profile = builtin_profile("demo")
    keys = [f"panel-item-{i}" for i in range(n_items)]
    tasks = suite.tasks
    from lm_eval_mtl.io.atomic import atomic_output

    with atomic_output(path) as tmp, tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", *tasks])
        for m in range(n_models):
            truth = SimTruth(profile, seed=seed, member=m)
            row: list[str] = [f"sim-member-{m}"]
            for task in tasks:
                spec = next(x for x in suite.members if x.task == task)
                k = round(1.0 / spec.chance) if spec.chance > 0 else None
                p = truth.expected_accuracy(task, keys, [k] * n_items)
                chance = 1.0 / k if k else 0.0
                row.append(f"{(p - chance) / (1.0 - chance):.6f}")
            writer.writerow(row)
    return tasks


def _step_correlate(ctx: DemoContext) -> None:
    from lm_eval_mtl.analysis.correlate import correlate_tasks
    from lm_eval_mtl.report.analysis import correlation_tables
    from lm_eval_mtl.report.tables import render_table

    panel = ctx.output_dir / "report" / "sim_population.csv"
    write_population_panel(panel, seed=ctx.seed)
    study = correlate_tasks(panel, id_column="model")
    ctx.artifacts["correlate"] = {
        "markdown": "\n\n".join(render_table(t, "md") for t in correlation_tables(study)),
        "json": study.to_dict(),
    }
    d = study.to_dict()
    eff = d.get("effective_number", {})
    nyholt = eff.get("nyholt") if isinstance(eff, dict) else None
    ctx.echo(
        f"      {d.get('n_models', '?')} simulated models x {len(study.tasks)} tasks; effective number of "
        f"tasks (Nyholt, Pearson correlation) {nyholt if nyholt is not None else float('nan'):.2f}"
    )
    explain(
        ctx,
        "Nyholt",
        f"Nyholt: how many independent tasks the {len(study.tasks)} correlated ones are worth; "
        f"{len(study.tasks)} = unrelated, 1 = identical",
    )


def _json_default(x: Any) -> Any:
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    if isinstance(x, Path):
        return str(x)
    return str(x)


def _figure(alt: str, path: str, caption: str) -> list[str]:
    """Return the Markdown lines of one figure: the image (``alt`` describes it) and its caption."""
    if "(" in alt or ")" in alt or "]" in alt:
        raise DemoError(f"figure alt text may not contain brackets: {alt!r}")
    return ["", f"![{alt}]({path})", "", f"*{caption}*"]


def _composite_figures(name: str, label: str, art: dict[str, Any], first: int) -> list[str]:
    # ``name`` (tiny-gpt2, sim-base) goes into the alt text, ``label`` into the caption
    """Figures of one run's composite (forest plot, then weights), numbered from ``first``."""
    out: list[str] = []
    weights = art.get("weights", "")
    for k, path in enumerate(art["plots"]):
        number = first + k
        if path.endswith(("composite_tasks.png", "composite_tasks.svg", "composite_tasks.pdf")):
            out += _figure(
                f"Forest plot of the per-task normalized scores and the composite of {name}",
                path,
                f"Figure {number}. {label}, per task: the chance-normalized score "
                "z = (x - chance)/(ceiling - chance) (dot) and its 95% interval (line), with the "
                "composite, the weighted mean of the z, below (red diamond). Dashed line: chance "
                "(z = 0); dotted line: a perfect score (z = 1). An interval that crosses the dashed "
                "line cannot tell the model from guessing; an interval narrower than its dot is hidden "
                "by it.",
            )
        else:
            family = (
                " With family weights each task family gets the same share, split equally among its tasks."
                if weights == "family"
                else ""
            )
            out += _figure(
                f"Bar chart of the task weights of the composite of {name}, colored by family",
                path,
                f"Figure {number}. {label}: the weight of each task in the composite "
                f"(weights `{weights}`; they sum to 1), one colour per task family (legend on the "
                f"right).{family}",
            )
    return out


def _transfer_figures(t: dict[str, Any], first: int) -> list[str]:
    """Figures of the transfer step (absolute, then relative transfer), numbered from ``first``."""
    out: list[str] = []
    fdr = t.get("fdr", 0.05)
    defined = t.get("relative_defined", [])
    marks = (
        f"Marks: `*` significant after Benjamini-Hochberg FDR control at {fdr:.2g} over all cells, "
        "`**` adjusted p < 0.01, `***` adjusted p < 0.001 (the footnote under the figure says the "
        "same); unmarked cells are not significant."
    )
    for k, path in enumerate(t["plots"]):
        number = first + k
        if "relative_transfer" in path:
            where = ", ".join(f"`{x}`" for x in defined) if defined else "none here"
            out += _figure(
                "Heatmap of relative transfer, each cell divided by the target's own in-task effect",
                path,
                f"Figure {number}. Relative transfer T[s,t] / |T[t,t]|: each cell of Figure {first} as a "
                "fraction of the target's own in-task effect (the cell where the source is the target "
                "itself). It is defined only for targets that have their own source checkpoint "
                f"({where}) and a non-zero in-task effect; the other cells are left blank (hatched) "
                "because there is nothing to divide by, not because the transfer is zero. The marks "
                f"are those of Figure {first} (they test T[s,t] itself).",
            )
        else:
            out += _figure(
                "Heatmap of the transfer matrix: change of each target task's score per source checkpoint",
                path,
                f"Figure {number}. Transfer matrix: the cell in row s and column t is T[s,t], the change "
                "of target task t's normalized score in the checkpoint fine-tuned on source task s, "
                "relative to the base (same items, paired). Red: gain, blue: loss, white: no change; the "
                f"colour scale is symmetric around 0, and numbers are white on dark cells. {marks}",
            )
    return out


def _step_write(ctx: DemoContext) -> None:
    from lm_eval_mtl.io.atomic import atomic_write_text

    rdir = _report_dir(ctx)
    a = ctx.artifacts
    parts = [
        "# lm-eval-mtl demo report",
        "",
        "Everything below was produced offline by `lm-eval-mtl demo`: the real `lm_eval` CLI ran the "
        f"bundled `{DEMO_SUITE}` suite on a tiny random-weight GPT-2 (one real backend) and on the "
        "`mtl-sim` backend, whose per-item correctness follows planted abilities, so the truth is known.",
        "",
        "How to read it: every score is chance-normalized, z = (x - chance)/(ceiling - chance), so 0 "
        "is guessing and 1 a perfect score; the composite is the weighted mean of the tasks' z; "
        "intervals are 95% confidence intervals (bootstrap over items unless a table says otherwise).",
    ]
    figure = 1
    for name, title in (
        ("report_tiny-gpt2", "Tiny GPT-2 (random weights)"),
        ("report_sim-base", "Simulated base"),
    ):
        if name in a:
            parts += [
                "",
                f"## Composite: {title}",
                "",
                f"`{a[name]['headline']}`",
                "",
                a[name]["markdown"],
            ]
            parts += _composite_figures(name.removeprefix("report_"), title, a[name], figure)
            figure += len(a[name]["plots"])
    if "compare" in a:
        alpha = a["compare"].get("alpha", 0.05)
        parts += [
            "",
            "## Paired comparison: multi-task checkpoint vs simulated base",
            "",
            "Both runs answered the same items, so each task's difference is computed item by item "
            "(A and B in normalized units z; diff = A - B). p_adj: p adjusted for testing every task "
            f"({a['compare'].get('correction', '?')}); mde: the smallest difference these items detect "
            f"with 80% power at the {alpha:.0%} level.",
            "",
            a["compare"]["markdown"],
        ]
    if "transfer" in a:
        t = a["transfer"]
        parts += [
            "",
            "## Transfer matrix",
            "",
            t["markdown"],
            "",
            "Planted change of ability (logit units) per checkpoint and task, for comparison:",
            "",
            t["planted"],
            "",
            f"Significant cells agree with the planted non-zero cells in {t['recovered']}. "
            "Relative transfer T[s,t]/|T[t,t]| is defined only for targets that have their own "
            "source checkpoint (the others are NaN in the tables and blank in the figure).",
        ]
        parts += _transfer_figures(t, figure)
        figure += len(t["plots"])
    if "correlate" in a:
        parts += [
            "",
            "## Task correlations over a simulated population",
            "",
            "(co-variation across models, not causal transfer; the effective number of tasks says how "
            "many independent tasks the correlated ones are worth: the number of tasks if unrelated, "
            "1 if identical)",
            "",
            "Terms: Ledoit-Wolf shrinkage pulls the correlation matrix toward the identity by delta (a "
            "steadier estimate from few models); Nyholt and Li-Ji are two estimates of the effective "
            "number of tasks from the eigenvalues of a correlation matrix; PC1, PC2, ... are its principal "
            "components, with the share of the variance each explains; the predictive matrix is how well "
            "one task's score predicts another's across models (R^2 leaving each model out in turn).",
            "",
            a["correlate"]["markdown"],
        ]
    report = rdir / "REPORT.md"
    atomic_write_text(report, "\n".join(parts) + "\n")
    summary = {k: v.get("json") for k, v in a.items()}
    summary["timings_s"] = dict(ctx.timings)
    # NaN -> null first (json's `default=` is never called for floats), then paths and numpy values
    text = json.dumps(json_clean(summary), indent=2, default=_json_default, allow_nan=False)
    atomic_write_text(rdir / "summary.json", text)
    ctx.report_path = report
    ctx.echo(f"      report: {display_path(report)}")
    ctx.echo(f"      summary: {display_path(rdir / 'summary.json')}")


STORY_STEPS: list[DemoStep] = [
    DemoStep("run lm_eval with the simulated backend (base, 2 single-task, 1 multi-task)", _step_sim_runs),
    DemoStep("report: composite, interval and signature", _step_report),
    DemoStep("compare: multi-task checkpoint vs base, paired", _step_compare),
    DemoStep("transfer: matrix vs the planted truth", _step_transfer),
    DemoStep("correlate: tasks over a simulated population", _step_correlate),
    DemoStep("write the Markdown report and JSON summary", _step_write),
]
"""Steps appended to the demo after the tiny model's lm-eval run."""
