"""Paired comparison of models scored on the same items, per task and for the composite.

:func:`compare_runs` takes two or more lm-eval runs (output folders or results files),
checks that they scored the same items, aligns the per-item records by ``doc_id`` and
``doc_hash`` (the order of the samples files does not matter), and reports for each
pair of runs, per task and for the composite C = sum_t w_t z_t:

* the difference A - B in normalized units, its SE, a paired-bootstrap percentile
  interval, a p-value (exact McNemar for 0/1 metrics; otherwise, and wherever a cluster
  key is declared, the paired sign-flip randomization test, and approximate randomization
  for corpus metrics; the composite's p-value flips every task's pairs at once), the
  minimum detectable effect at 80% power;
* per-task p-values adjusted across the tasks of a pair (Holm or Benjamini-Hochberg);
* with more than two runs, every pair, the composite p-values adjusted across pairs,
  and which models are statistically tied (adjusted composite p >= 1 - confidence_level).

When a run logged no samples for a task, that task falls back to unpaired analytic
statistics from the results JSON (``method="analytic-unpaired"``, SE sqrt(se_A^2 + se_B^2)),
and so does the composite; one line of ``notes`` lists the affected tasks (their item count
is unknown, ``n`` None, where the results file records none).

Every score of the result is in one unit: A's and B's normalized scores z = (x - c)/(u - c)
(:meth:`ModelComparison.z`; the composite C = sum_t w_t z_t of each run), whose difference is
``diff``; the raw metric values stay in ``raw_a`` / ``raw_b``. :meth:`ModelComparison.tidy`
gives the same numbers as tidy records (one per pair and task; one per pair for the
composite), which ``--format csv`` and ``--output-dir`` write. The notes also say which
results file of a folder was used when it holds several runs, and mark runs made with
``lm_eval --limit``.
Runs that cannot have scored the same items (another ``--limit``, ``num_fewshot``,
task version, task hash or document hashes) raise
:class:`~lm_eval_mtl.errors.IncompatibleRunsError` naming what differs.

The result types live in :mod:`lm_eval_mtl.analysis.compare_result` (re-exported here).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.analysis.compare_result import (
    CompositeDifference,
    CompositeMethod,
    ModelComparison,
    PairComparison,
)
from lm_eval_mtl.analysis.compare_result import (
    item_count as item_count,
)
from lm_eval_mtl.analysis.plan import (
    AlignedTask,
    Plan,
    TaskPlan,
    Units,
    aligned_task,
    as_run,
    check_settings_all,
    model_key,
    pair_key,
    plan_runs,
    run_choice_notes,
    task_value,
)
from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.io import RunResult
from lm_eval_mtl.scoring.analytic import composite_se
from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    as_generator,
    check_confidence_level,
    check_n_resamples,
    check_resample_memory,
    keyed_generator,
    map_threads,
    stream_root,
    worker_threads,
)
from lm_eval_mtl.stats.clusters import FINE_CLUSTERS
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.joint import resample_column_means, resample_totals
from lm_eval_mtl.stats.paired import (
    Correction,
    PairedDifference,
    adjust_p_values,
    corpus_from_totals,
    minimum_detectable_effect,
    normal_test,
    paired_difference,
    paired_from_arrays,
    unpaired_analytic,
)
from lm_eval_mtl.stats.permutation import composite_sign_flip_p_values
from lm_eval_mtl.stats.wild_composite import WildStratum, wild_composite

__all__ = [
    "CompositeDifference",
    "Correction",
    "ModelComparison",
    "PairComparison",
    "PairedDifference",
    "compare_runs",
    "paired_difference",
]


def _compare_runs_iv(
    runs: Sequence[RunResult | str | Path], correction: str, confidence_level: float, n_resamples: int
) -> tuple[list[RunResult], float, int]:
    if isinstance(runs, (str, Path)) or len(runs) < 2:
        raise InsufficientDataError(f"`runs` must hold at least two runs to compare; got {runs!r}.")
    if correction not in ("holm", "bh", "none"):
        raise ValueError(f"`correction` must be 'holm', 'bh' or 'none'; got {correction!r}.")
    level = check_confidence_level(confidence_level)
    nres = check_n_resamples(n_resamples)
    return [as_run(r) for r in runs], level, nres


def _run_names(runs: Sequence[RunResult]) -> tuple[str, ...]:
    names = [r.model_name or r.path.parent.name for r in runs]
    if len(set(names)) < len(names):  # same model twice: disambiguate by folder
        names = [f"{n} ({r.path.parent.name}/{r.path.name})" for n, r in zip(names, runs, strict=False)]
    if len(set(names)) < len(names):
        names = [f"{n} #{i + 1}" for i, n in enumerate(names)]
    return tuple(names)


def compare_runs(
    runs: Sequence[RunResult | str | Path],
    *,
    suite: str | None = None,
    tasks: Sequence[str] | None = None,
    weights: str | None = None,
    clusters: Mapping[str, str] | None = None,
    units: Units | None = None,
    allow_few_clusters: bool = False,
    correction: Correction = "holm",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> ModelComparison:
    """Compare two or more runs, paired on the items they share.

    Args:
        runs: Run folders / results files / loaded runs (at least two).
        suite: Suite whose members, normalization and weights to use (default: the suite
            ``report`` detects from the runs' group rows; else the tasks common to the
            runs, raw units, equal weights).
        tasks: Restrict to these tasks.
        weights: Weighting scheme or weights id (with ``suite``).
        clusters: Task -> doc field whose items share a context (clustered SE and bootstrap).
        units: ``raw``: compare raw metrics over the common tasks, equal weights, no suite;
            ``suite``: require a suite (named or detected); None (default): the named or
            detected suite, else raw units when every metric has the same scale.
        allow_few_clusters: Go on (with a warning) where a cluster key gives fewer than 4 clusters.
        correction: ``holm`` (family-wise) or ``bh`` (false discovery rate) across tasks,
            and across pairs for the composite; ``none``.
        confidence_level: Level of the intervals; 1 - confidence_level is the test level.
        n_resamples: Paired bootstrap resamples, and random swap patterns of the
            randomization tests (when not exact).
        rng: Generator, seed or None.

    Returns:
        A :class:`ModelComparison`.

    Raises:
        InsufficientDataError: Fewer than two runs.
        IncompatibleRunsError: The runs scored different items (the message names what differs).
        MissingTaskError: A run lacks a requested task.
        ValueError: Bad ``correction``, ``confidence_level`` or ``n_resamples``.
    """
    loaded, level, nres = _compare_runs_iv(runs, correction, confidence_level, n_resamples)
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    gen = as_generator(rng)
    root = stream_root(gen)  # first draw: each (pair, task) cell's stream hangs off it, as transfer's
    names = _run_names(loaded)
    plan = plan_runs(
        loaded,
        suite=suite,
        tasks=tasks,
        weights=weights,
        clusters=clusters,
        units=units,
        allow_few_clusters=allow_few_clusters,
    )
    plans, normalization = plan.tasks, plan.normalization
    check_settings_all(loaded, names, plan)
    notes: list[str] = [plan.suite_note] if plan.suite_note else []
    run_notes, limits, others = run_choice_notes(runs, loaded, names)
    notes.extend(run_notes)
    # Per task: aligned (n, R) matrix of every run, or None (analytic fallback).
    matrices = {}
    analytic: list[str] = []
    for tp in plans:
        mat = aligned_task(tp, plan, names)
        matrices[tp.label] = mat
        if mat is None:
            analytic.append(tp.label)
    if analytic:
        unknown = any(
            plan.members[k].get(label).n_items is None for label in analytic for k in range(len(loaded))
        )
        listing = ", ".join(analytic[:10]) + (f" and {len(analytic) - 10} more" if len(analytic) > 10 else "")
        notes.append(
            f"{len(analytic)} of {len(plans)} task(s) without per-item samples in every run ({listing}): "
            "compared with unpaired analytic statistics from the results JSON (method analytic-unpaired)"
            + ("; item count unknown (n -) where the results file records none." if unknown else ".")
        )
    check_resample_memory(nres, len(plans) + 1, what="the paired bootstrap and randomization tests")
    pair_index = list(itertools.combinations(range(len(loaded)), 2))
    pairs: list[PairComparison] = []
    for i, j in pair_index:
        keys = [
            keyed_generator(root, tp.label, pair_key(model_key(loaded[j]), model_key(loaded[i])))
            for tp in plans
        ]
        pairs.append(_compare_pair(plan, names, i, j, matrices, level, nres, gen, correction, keys))
    comp_p = adjust_p_values([p.composite.p_value for p in pairs], correction if len(pairs) > 1 else "none")
    pairs = [
        PairComparison(p.a, p.b, _with_p_adjusted(p.composite, float(q)), p.tasks)
        for p, q in zip(pairs, comp_p, strict=False)
    ]
    alpha = 1 - level
    tied = tuple((p.a, p.b) for p in pairs if not p.composite.p_adjusted < alpha)
    return ModelComparison(
        runs=names,
        paths=tuple(str(r.path) for r in loaded),
        pairs=tuple(pairs),
        tied=tied,
        tasks=tuple(p.label for p in plans),
        weights={p.label: p.weight for p in plans},
        metrics={p.label: f"{p.metric},{p.filter}" for p in plans},
        normalization=normalization,
        correction=correction,
        confidence_level=level,
        n_resamples=nres,
        seed=seed,
        notes=tuple(notes),
        chance={p.label: p.chance for p in plans},
        ceiling={p.label: p.ceiling for p in plans},
        limits=limits,
        other_runs=others,
    )


def _with_p_adjusted(c: CompositeDifference, q: float) -> CompositeDifference:
    return CompositeDifference(c.diff, c.se, c.ci, c.p_value, c.mde, c.method, q)


def _compare_pair(
    plan_: Plan,
    names: Sequence[str],
    i: int,
    j: int,
    matrices: Mapping[str, AlignedTask | None],
    level: float,
    nres: int,
    gen: np.random.Generator,
    correction: Correction,
    cell_gens: Sequence[np.random.Generator],
) -> PairComparison:
    """One pair: each task with its own stream (``cell_gens``), the composite with ``gen``."""
    plans: Sequence[TaskPlan] = plan_.tasks
    results: list[PairedDifference] = []
    boots: list[npt.NDArray[np.float64]] = []
    flips: list[npt.NDArray[np.float64] | tuple[CorpusStats, CorpusStats]] = []
    flip_clusters: list[npt.NDArray[np.int64] | None] = []
    strata: list[WildStratum] = []  # the wild cluster bootstrap of the composite, when clusters are few
    corpus_boots: list[npt.NDArray[np.float64]] = []
    few = False

    def cell_of(k: int) -> tuple[Any, ...]:
        """One task's paired statistics, from its own stream only (so tasks may run in threads)."""
        plan, cell = plans[k], cell_gens[k]
        mat = matrices[plan.label]
        if mat is None:
            va, sa, n = task_value(plan_, i, plan)
            vb, sb, _ = task_value(plan_, j, plan)
            return (
                "analytic",
                unpaired_analytic(plan.label, va, sa, vb, sb, n, scale=plan.scale, confidence_level=level),
            )
        if mat.corpus is not None:
            ta, tb = resample_totals([mat.corpus[i].stats, mat.corpus[j].stats], nres, cell, mat.clusters)
            res, cboot = corpus_from_totals(
                plan.label,
                mat.corpus[i],
                mat.corpus[j],
                ta,
                tb,
                scale=plan.scale,
                confidence_level=level,
                clusters=mat.clusters,
                n_resamples=nres,
                rng=cell,
            )
            return ("corpus", res, cboot, mat)
        assert mat.values is not None  # noqa: S101 - a mean metric
        values, clusters = mat.values, mat.clusters
        a, b = values[:, i], values[:, j]
        boot = resample_column_means((a - b)[:, None], nres, cell, clusters)[:, 0]
        res = paired_from_arrays(
            plan.label,
            a,
            b,
            scale=plan.scale,
            clusters=clusters,
            confidence_level=level,
            boot=boot,
            n_resamples=nres,
            rng=cell,
        )
        return ("mean", res, boot, a - b, clusters)

    def cost(k: int) -> int:
        mat = matrices[plans[k].label]
        return 0 if mat is None else nres * mat.n

    costs = [cost(k) for k in range(len(plans))]
    for plan, got in zip(
        plans, map_threads(cell_of, costs, worker_threads(len(plans), sum(costs))), strict=True
    ):
        if got[0] == "analytic":
            results.append(got[1])
        elif got[0] == "corpus":
            _, res, cboot, mat = got
            results.append(res)
            boots.append(plan.weight * cboot)
            corpus_boots.append(plan.weight * cboot)
            flips.append((mat.corpus[i], mat.corpus[j]))
            flip_clusters.append(mat.clusters)
        else:
            _, res, boot, d, clusters = got
            boots.append(plan.weight * plan.scale * boot)
            flips.append(d)
            flip_clusters.append(clusters)
            strata.append(WildStratum.from_items(d, clusters, plan.weight * plan.scale))
            few = few or (clusters is not None and int(np.unique(clusters).size) < FINE_CLUSTERS)
            results.append(res)
    adj = adjust_p_values([r.p_value for r in results], correction)
    tasks = tuple(_replace_p_adjusted(r, float(q)) for r, q in zip(results, adj, strict=False))
    w = np.array([p.weight for p in plans])
    diff = float(np.dot(w, [r.diff for r in tasks]))
    se = float(composite_se(np.array([r.se for r in tasks]), w, plan_.groups))
    mde = minimum_detectable_effect(se, level)
    if len(boots) == len(plans):
        comp_boot = np.sum(boots, axis=0)
        alpha = 1 - level
        lo, hi = np.quantile(comp_boot, [alpha / 2, 1 - alpha / 2])
        columns: list[npt.NDArray[np.float64] | list[tuple[CorpusStats, CorpusStats]]] = [
            f[:, None] if isinstance(f, np.ndarray) else [f] for f in flips
        ]
        p = float(
            composite_sign_flip_p_values(
                columns, w, [pl.scale for pl in plans], clusters=flip_clusters, n_resamples=nres, rng=gen
            )[0]
        )
        ci = ConfidenceInterval(float(lo), float(hi))
        method: CompositeMethod = "paired-bootstrap CI, sign-flip p"
        if few:
            # fewer than 20 clusters in some task: the pairs cluster bootstrap under-covers
            extra = np.sum(corpus_boots, axis=0) if corpus_boots else None
            wild = wild_composite(
                strata,
                diff,
                extra_deviations=None if extra is None else extra - float(np.mean(extra)),
                extra_variance=float(np.var(extra, ddof=1)) if extra is not None else 0.0,
                confidence_level=level,
                n_resamples=nres,
                rng=gen,
            )
            ci, method = wild.ci, "wild cluster bootstrap CI, sign-flip p"
        composite = CompositeDifference(diff, se, ci, p, mde, method, p)
    else:
        lo_a, hi_a, p_a = normal_test(diff, se, level)
        p = float(p_a)
        ci = ConfidenceInterval(float(lo_a), float(hi_a))
        composite = CompositeDifference(diff, se, ci, p, mde, "analytic-unpaired", p)
    return PairComparison(names[i], names[j], composite, tasks)


def _replace_p_adjusted(r: PairedDifference, q: float) -> PairedDifference:
    from dataclasses import replace

    return replace(r, p_adjusted=q)
