"""Evaluation transfer matrices: how training on one task moves every other task.

A base model M0 and checkpoints M_s, each fine-tuned on a source task s, are scored
on the same target tasks. The transfer matrix is

    T[s, t] = z_t(M_s) - z_t(M0),      z_t = (x_t - c_t) / (u_t - c_t),

estimated from the per-item differences d_k = s_k(M_s) - s_k(M0) on the items both
runs scored (aligned by ``doc_id``/``doc_hash``). Per cell: SE (paired, clustered where
declared), a paired-bootstrap percentile interval, a p-value (exact McNemar for 0/1
metrics, else the paired sign-flip randomization test; approximate randomization for
corpus metrics; see :mod:`lm_eval_mtl.stats.permutation`). The significance mask controls the
false discovery rate at q = 1 - confidence_level over all S x T cells
(Benjamini-Hochberg). Targets are resampled independently (stratified), so the
composite column C[s] = sum_t w_t T[s, t] gets its interval from the sum of the
targets' bootstrap distributions, and its p-value from a sign-flip test that swaps every
target's pairs at once; the multi-task gain resamples the two checkpoints' per-item
differences jointly (paired) and tests them by sign flips (or randomization).

* Relative transfer R[s, t] = T[s, t] / |T[t, t]|: NaN (with a
  :class:`~lm_eval_mtl.errors.DegenerateDataWarning`) where target t has no checkpoint
  of its own (no source named t) or where T[t, t] = 0.
* With a multi-task checkpoint M_mtl: per target, its transfer T[mtl, t] and its gain
  over the best single-source checkpoint, G[t] = T[mtl, t] - max_s T[s, t], with a
  paired interval (the best source is chosen by point estimate; the interval does not
  account for that selection, so it is optimistic for the best source).
* Cells whose runs logged no samples are computed from the results JSON alone:
  ``method="analytic-unpaired"``, SE sqrt(se_s^2 + se_0^2)/(u - c), normal interval, z-test.

Diagonal = in-task gain; negative off-diagonal = interference.

:meth:`TransferMatrix.tidy` gives the same numbers as tidy records (one per source-target
cell; one per source for the composite; relative transfer with the reason a cell is
undefined; the multi-task gains), which ``--format csv`` and ``--output-dir`` write. The
notes say which results file of a folder was used when it holds several runs, and mark
runs made with ``lm_eval --limit``. With ``require_task_sources``, a source named like no
task of the runs is refused (its row could have no diagonal).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.analysis.plan import (
    Units,
    aligned_task,
    as_run,
    check_settings_all,
    plan_runs,
    run_choice_notes,
    task_value,
)
from lm_eval_mtl.analysis.plan import model_key as _model_key
from lm_eval_mtl.analysis.plan import pair_key as _pair_key
from lm_eval_mtl.analysis.transfer_cells import Column as _Column
from lm_eval_mtl.analysis.transfer_cells import analytic_column as _analytic_column
from lm_eval_mtl.analysis.transfer_cells import cell_generators as _cells
from lm_eval_mtl.analysis.transfer_cells import corpus_column as _corpus_column
from lm_eval_mtl.analysis.transfer_cells import paired_column as _paired_column
from lm_eval_mtl.analysis.transfer_composite import composite_p as _composite_p
from lm_eval_mtl.analysis.transfer_composite import few_cluster_composite as _few_cluster_composite
from lm_eval_mtl.analysis.transfer_composite import mtl_gain as _mtl_gain
from lm_eval_mtl.analysis.transfer_result import MultiTaskGain, TransferMatrix
from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError
from lm_eval_mtl.io import RunResult
from lm_eval_mtl.scoring.analytic import composite_se
from lm_eval_mtl.stats._common import (
    as_generator,
    check_confidence_level,
    check_n_resamples,
    check_resample_memory,
    map_threads,
    stream_root,
    worker_threads,
)
from lm_eval_mtl.stats.paired import adjust_p_values, normal_test

__all__ = ["MultiTaskGain", "TransferMatrix", "transfer_from_scores", "transfer_matrix"]

FloatArray = npt.NDArray[np.float64]


def _assemble(
    sources: Sequence[str],
    targets: Sequence[str],
    columns: Sequence[_Column],
    weights: Sequence[float],
    n_items: Sequence[int],
    has_mtl: bool,
    level: float,
    nres: int,
    seed: int | None,
    gen: np.random.Generator,
    groups: Sequence[int] | None = None,
    **meta: Any,
) -> TransferMatrix:
    s_count = len(sources)
    delta = np.column_stack([c.delta[:s_count] for c in columns])
    se = np.column_stack([c.se[:s_count] for c in columns])
    lo = np.column_stack([c.lo[:s_count] for c in columns])
    hi = np.column_stack([c.hi[:s_count] for c in columns])
    p = np.column_stack([c.p[:s_count] for c in columns])
    method = tuple(tuple(c.method[s] for c in columns) for s in range(s_count))
    fdr = 1 - level
    p_adj = adjust_p_values(p.ravel(), "bh").reshape(p.shape)
    significant = np.asarray(p_adj < fdr)
    # relative transfer
    relative = np.full(delta.shape, np.nan)
    no_diag, zero_diag = [], []
    for t, target in enumerate(targets):
        if target not in sources:
            no_diag.append(target)
            continue
        diag = delta[list(sources).index(target), t]
        if diag == 0 or not math.isfinite(diag):
            zero_diag.append(target)
            continue
        relative[:, t] = delta[:, t] / abs(diag)
    if no_diag or zero_diag:

        def some(names: list[str]) -> str:
            return ", ".join(names[:8]) + (f" and {len(names) - 8} more" if len(names) > 8 else "")

        parts = []
        if no_diag:
            parts.append(f"no checkpoint trained on {len(no_diag)} target(s): {some(no_diag)}")
        if zero_diag:
            parts.append(f"zero in-task gain T[t,t] for {some(zero_diag)}")
        warnings.warn(
            DegenerateDataWarning(
                f"relative transfer is undefined (NaN) for some targets: {'; '.join(parts)}."
            ),
            stacklevel=3,
        )
    # composite column
    w = np.asarray(weights, dtype=np.float64)
    comp = delta @ w
    comp_se = composite_se(se, w, groups)
    if all(c.boot is not None for c in columns):
        comp_boot = sum(
            wt * c.boot[:, :s_count] for wt, c in zip(w, columns, strict=False) if c.boot is not None
        )
        comp_boot = np.asarray(comp_boot)
        comp_lo, comp_hi = np.quantile(comp_boot, [fdr / 2, 1 - fdr / 2], axis=0)
        wild = _few_cluster_composite(columns, w, comp, comp_lo, comp_hi, s_count, 1 - fdr, nres, gen)
        comp_p = _composite_p(columns, w, s_count, nres, gen)
        comp_method = "wild cluster bootstrap CI, sign-flip p" if wild else "paired-bootstrap CI, sign-flip p"
    else:
        comp_lo, comp_hi, comp_p = normal_test(comp, comp_se, level)
        comp_method = "analytic-unpaired"
    mtl = _mtl_gain(sources, columns, level, nres, gen) if has_mtl else None
    return TransferMatrix(
        sources=tuple(sources),
        targets=tuple(targets),
        delta=delta,
        se=se,
        ci_low=lo,
        ci_high=hi,
        p_value=p,
        p_adjusted=p_adj,
        significant=significant,
        method=method,
        relative=relative,
        composite=comp,
        composite_se=comp_se,
        composite_ci_low=np.asarray(comp_lo),
        composite_ci_high=np.asarray(comp_hi),
        composite_p_value=np.asarray(comp_p, dtype=np.float64),
        weights=dict(zip(targets, w.tolist(), strict=False)),
        n_items=dict(zip(targets, (int(n) for n in n_items), strict=False)),
        confidence_level=level,
        fdr=fdr,
        n_resamples=nres,
        seed=seed,
        mtl=mtl,
        composite_method=comp_method,
        **meta,
    )


def _seed(rng: object) -> int | None:
    return int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None


def transfer_from_scores(
    base: Mapping[str, npt.ArrayLike],
    checkpoints: Mapping[str, Mapping[str, npt.ArrayLike]],
    *,
    mtl: Mapping[str, npt.ArrayLike] | None = None,
    scale: Mapping[str, float] | None = None,
    weights: Mapping[str, float] | None = None,
    clusters: Mapping[str, npt.ArrayLike] | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
) -> TransferMatrix:
    """Transfer matrix from aligned per-item scores (arrays; no files).

    Args:
        base: Target -> the base model's per-item scores.
        checkpoints: Source -> target -> that checkpoint's scores on the same items, same order.
        mtl: Target -> the multi-task checkpoint's scores, or None.
        scale: Target -> 1/(ceiling - chance) (default 1: raw units).
        weights: Target -> composite weight (default equal; normalized to sum 1).
        clusters: Target -> cluster label per item.
        confidence_level: Interval level; the mask's FDR is 1 - confidence_level.
        n_resamples: Bootstrap resamples.
        rng: Generator, seed or None.

    Returns:
        The :class:`TransferMatrix`.

    Raises:
        InsufficientDataError: No source or no target.
        ValueError: A checkpoint lacks a target, shapes differ, non-finite scores, bad weights.
    """
    level = check_confidence_level(confidence_level)
    nres = check_n_resamples(n_resamples)
    gen = as_generator(rng)
    root = stream_root(gen)  # first draw: every cell's stream hangs off it (see cell_generators)
    targets = list(base)
    sources = list(checkpoints)
    if not targets or not sources:
        raise InsufficientDataError(
            f"a transfer matrix needs at least one target and one source; got {len(targets)} and {len(sources)}."
        )
    w = np.array([float((weights or {}).get(t, 1.0)) for t in targets])
    if np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError(
            f"`weights` must be non-negative with a positive sum; got {dict(zip(targets, w, strict=False))}."
        )
    w = w / w.sum()
    columns: list[_Column] = []
    n_items: list[int] = []
    for t in targets:
        b = np.asarray(base[t], dtype=np.float64).reshape(-1)
        cols = []
        for s in sources:
            if t not in checkpoints[s]:
                raise ValueError(f"`checkpoints[{s!r}]` lacks target {t!r}.")
            cols.append(np.asarray(checkpoints[s][t], dtype=np.float64).reshape(-1))
        if mtl is not None:
            if t not in mtl:
                raise ValueError(f"`mtl` lacks target {t!r}.")
            cols.append(np.asarray(mtl[t], dtype=np.float64).reshape(-1))
        mat = np.column_stack(cols)
        if mat.shape[0] != b.shape[0] or b.shape[0] == 0:
            raise ValueError(
                f"target {t!r}: every model needs the same non-zero number of items; got {b.shape[0]} for base, {mat.shape[0]} for a checkpoint."
            )
        if not (np.isfinite(mat).all() and np.isfinite(b).all()):
            raise ValueError(f"target {t!r}: scores must be finite.")
        sc = float((scale or {}).get(t, 1.0))
        cl = None
        if clusters is not None and t in clusters:
            cl = np.unique(np.asarray(clusters[t]), return_inverse=True)[1].reshape(-1).astype(np.int64)
        cell_names = [_pair_key("base", s) for s in sources] + (
            [_pair_key("base", "mtl")] if mtl is not None else []
        )
        columns.append(_paired_column(mat - b[:, None], sc, cl, level, nres, _cells(root, t, cell_names)))
        n_items.append(b.shape[0])
    return _assemble(
        sources, targets, columns, w.tolist(), n_items, mtl is not None, level, nres, _seed(rng), gen
    )


def transfer_matrix(
    base: RunResult | str | Path,
    sources: Mapping[str, RunResult | str | Path],
    *,
    mtl: RunResult | str | Path | None = None,
    suite: str | None = None,
    tasks: Sequence[str] | None = None,
    weights: str | None = None,
    clusters: Mapping[str, str] | None = None,
    units: Units | None = None,
    allow_few_clusters: bool = False,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: np.random.Generator | int | None = None,
    require_task_sources: bool = False,
) -> TransferMatrix:
    """Transfer matrix from lm-eval runs of a base model and fine-tuned checkpoints.

    Args:
        base: The base model's run (folder or results file).
        sources: Source name -> the run of the checkpoint trained on that source. Name a source
            like its target task (``sst2``) so that the diagonal and relative transfer exist.
        mtl: The multi-task checkpoint's run, or None.
        suite: Suite whose members give metric, chance, ceiling, cluster and weights
            (default: the suite ``report`` detects from the base run; else the tasks every
            run reports, raw units, equal weights).
        tasks: Restrict the targets to these tasks.
        weights: Weighting scheme or weights id (with ``suite``).
        clusters: Task -> doc field shared by items of one context.
        units: ``raw`` (raw metrics, no suite), ``suite`` (require a suite) or None (see
            :func:`lm_eval_mtl.analysis.compare.compare_runs`).
        allow_few_clusters: Go on (with a warning) where a cluster key gives fewer than 4 clusters.
        confidence_level: Interval level; the mask's FDR is 1 - confidence_level.
        n_resamples: Bootstrap resamples.
        rng: Generator, seed or None.
        require_task_sources: Refuse a source named like no task of the runs (the CLI's
            default; ``--any-source-name`` turns it off): such a row has no diagonal.

    Returns:
        The :class:`TransferMatrix`; cells without samples are ``analytic-unpaired``.

    Raises:
        InsufficientDataError: No source.
        UnknownNameError: ``require_task_sources`` and a source names no task of the runs.
        IncompatibleRunsError: A checkpoint scored other items than the base (message says what differs).
        MissingTaskError: A run lacks a target.
    """
    level = check_confidence_level(confidence_level)
    nres = check_n_resamples(n_resamples)
    if not sources:
        raise InsufficientDataError("`sources` must name at least one fine-tuned checkpoint; got none.")
    gen = as_generator(rng)
    root = stream_root(gen)  # first draw: every cell's stream hangs off it (see cell_generators)
    src_names = list(sources)
    runs = [as_run(base)] + [as_run(sources[s]) for s in src_names]
    names = ["base"] + [f"source {s}" for s in src_names]
    if mtl is not None:
        runs.append(as_run(mtl))
        names.append("mtl")
    study = plan_runs(
        runs,
        suite=suite,
        tasks=tasks,
        weights=weights,
        clusters=clusters,
        units=units,
        allow_few_clusters=allow_few_clusters,
    )
    plans, normalization = study.tasks, study.normalization
    if require_task_sources:
        _check_source_names(src_names, runs[0], [p.label for p in plans], [p.task for p in plans])
    check_settings_all(runs, names, study)
    check_resample_memory(nres, len(plans) * len(runs), what="the transfer cells' bootstrap")
    columns: list[_Column] = []
    n_items: list[int] = []
    notes: list[str] = [study.suite_note] if study.suite_note else []
    given: list[RunResult | str | Path] = [base, *(sources[s] for s in src_names)] + (
        [mtl] if mtl is not None else []
    )
    run_notes, limits, others = run_choice_notes(given, runs, names)
    notes.extend(run_notes)
    analytic: list[str] = []
    cell_names = [_pair_key(_model_key(runs[0]), _model_key(r)) for r in runs[1:]]
    mats = [aligned_task(plan, study, names) for plan in plans]

    def column_of(k: int) -> _Column:
        """One target's cells, each from its own keyed stream (so targets may run in threads)."""
        plan, mat = plans[k], mats[k]
        assert mat is not None  # noqa: S101 - analytic targets are built below
        gens = _cells(root, plan.label, cell_names)
        if mat.corpus is not None:
            return _corpus_column(mat.corpus, plan.scale, mat.clusters, level, nres, gens)
        assert mat.values is not None  # noqa: S101 - a mean metric
        values = mat.values
        return _paired_column(values[:, 1:] - values[:, [0]], plan.scale, mat.clusters, level, nres, gens)

    work = [0 if m is None else nres * m.n * len(cell_names) for m in mats]
    paired = [k for k, m in enumerate(mats) if m is not None]
    built = map_threads(
        lambda q: column_of(paired[q]), [work[k] for k in paired], worker_threads(len(paired), sum(work))
    )
    by_task = dict(zip(paired, built, strict=True))
    for k, (plan, mat) in enumerate(zip(plans, mats, strict=True)):
        if mat is None:
            analytic.append(plan.label)
            vals = [task_value(study, r, plan) for r in range(len(runs))]
            columns.append(_analytic_column(vals[0][:2], [v[:2] for v in vals[1:]], plan.scale, level))
            n_items.append(vals[0][2])
            continue
        columns.append(by_task[k])
        n_items.append(mat.n)
    if analytic:
        listing = ", ".join(analytic[:10]) + (f" and {len(analytic) - 10} more" if len(analytic) > 10 else "")
        unknown = any(n <= 0 for n, p in zip(n_items, plans, strict=True) if p.label in analytic)
        notes.append(
            f"{len(analytic)} of {len(plans)} target(s) without per-item samples in every run ({listing}): "
            "analytic (unpaired) cells from the results JSON"
            + ("; item count unknown (n -) where the results file records none." if unknown else ".")
        )
    return _assemble(
        src_names,
        [p.label for p in plans],
        columns,
        [p.weight for p in plans],
        n_items,
        mtl is not None,
        level,
        nres,
        _seed(rng),
        gen,
        base=runs[0].model_name,
        normalization=normalization,
        groups=study.groups,
        notes=tuple(notes),
        limits=limits,
        other_runs=others,
    )


def _check_source_names(
    sources: Sequence[str], base: RunResult, labels: Sequence[str], tasks: Sequence[str]
) -> None:
    """Refuse a source named like no task of the runs: its row would have no diagonal T[s,s]."""
    from lm_eval_mtl.errors import UnknownNameError

    known = set(labels) | set(tasks) | set(base.tasks) | set(base.groups)
    bad = [s for s in sources if s not in known]
    if not bad:
        return
    import difflib

    close = difflib.get_close_matches(bad[0], list(labels), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    listing = ", ".join(labels[:20]) + (f" and {len(labels) - 20} more" if len(labels) > 20 else "")
    raise UnknownNameError(
        f"--source {', '.join(bad)}: names no task of the runs (tasks: {listing}).{hint} Name each source "
        "like the task its checkpoint was trained on (the diagonal T[t,t] and relative transfer need it), "
        "or pass --any-source-name for a checkpoint trained on something else."
    )
