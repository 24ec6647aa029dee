"""Orchestration of a gradient-affinity run: :func:`gradient_affinity` and :func:`write_affinity`.

1. The model: lm-eval's registry and ``create_from_arg_string`` (loading, dtype, device,
   accelerate), or a backend object the caller built.
2. The tasks: :func:`~lm_eval_mtl.affinity.requests.load_task_items` (lm-eval's documents,
   prompts, few-shot contexts and answers); each process takes its share of the items.
3. Per task, lm-eval's log-likelihood pass (and the token ids it scored) gives the per-item
   losses L and their derivatives.
4. Inside the parameter scope: one pass through the frozen prefix caches what enters the first
   chosen module (:mod:`~lm_eval_mtl.affinity.replay`); then per source task the gradient pass
   (projected per-item gradients, the exact mean gradient, all-reduced; its log-likelihoods at
   theta are the TAG denominators), and, for the exact lookahead, one pass of the chosen suffix
   over every target's items at theta - eta_s g_s.
5. The per-item arrays are gathered, and :func:`~lm_eval_mtl.affinity.cells.affinity_cells`
   forms the matrices, intervals and reliabilities.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.affinity.cells import CellInputs, affinity_cells
from lm_eval_mtl.affinity.distributed import Ranks, all_reduce_sum, detect_ranks, gather_rows, local_items
from lm_eval_mtl.affinity.gradients import gradient_pass, score_requests
from lm_eval_mtl.affinity.guards import call_guarded, check_backend, lm_eval_internal, lm_eval_version
from lm_eval_mtl.affinity.lookahead import moved_parameters, score_batches
from lm_eval_mtl.affinity.losses import item_losses
from lm_eval_mtl.affinity.params import parameter_scope
from lm_eval_mtl.affinity.projection import GradientProjector
from lm_eval_mtl.affinity.replay import cache_prefix, collate, find_suffix
from lm_eval_mtl.affinity.requests import TaskItems, load_task_items
from lm_eval_mtl.affinity.result import AffinityMatrix, ParameterInfo, ProjectionInfo, TaskGradient
from lm_eval_mtl.affinity.spec import AffinityOptions, LookaheadMode, ParameterSubset, check_options
from lm_eval_mtl.errors import MTLError

__all__ = ["AFFINITY_FILES", "gradient_affinity", "write_affinity"]

FloatArray = npt.NDArray[np.float64]
AFFINITY_FILES: tuple[str, ...] = ("affinity.json", "affinity.md", "affinity.tex")
"""The files :func:`write_affinity` writes besides the heatmaps ``affinity_<measure>.png``."""


def _check_limit(limit: float | None) -> float | None:
    if limit is None:
        return None
    if (
        isinstance(limit, bool)
        or not isinstance(limit, (int, float))
        or not math.isfinite(limit)
        or limit <= 0
    ):
        raise MTLError(
            f"`limit` must be a positive number (items per task, or a fraction below 1); got {limit!r}."
        )
    if limit >= 1 and float(limit) != int(limit):
        raise MTLError(f"`limit` must be an integer when it is 1 or more; got {limit!r}.")
    return int(limit) if limit >= 1 else float(limit)


def _gradient_affinity_iv(
    tasks: Sequence[str] | str, limit: float | None, batch_size: int, num_fewshot: int | None
) -> tuple[list[str], float | None]:
    names = [t.strip() for t in (tasks.split(",") if isinstance(tasks, str) else tasks) if t and t.strip()]
    if not names:
        raise MTLError("`tasks` must name at least one lm-eval task; got none.")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise MTLError(
            f"`batch_size` must be a positive integer (the gradient pass needs a fixed size); got {batch_size!r}."
        )
    if num_fewshot is not None and (
        isinstance(num_fewshot, bool) or not isinstance(num_fewshot, int) or num_fewshot < 0
    ):
        raise MTLError(f"`num_fewshot` must be a non-negative integer; got {num_fewshot!r}.")
    return names, _check_limit(limit)


def _load_model(model: str, model_args: str, batch_size: int, device: str | None) -> Any:
    get_model = lm_eval_internal("lm_eval.api.registry:get_model")
    try:
        cls = get_model(model)
    except (KeyError, ValueError) as err:
        raise MTLError(f"--model {model}: not a model lm-eval knows ({err}).") from None
    extra: dict[str, Any] = {"batch_size": batch_size}
    if device is not None:
        extra["device"] = device
    return call_guarded(cls.create_from_arg_string, "LM.create_from_arg_string", model_args, extra)


def _bar(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm  # type: ignore[import-untyped,unused-ignore]

    return tqdm(total=total, desc=desc, file=sys.stderr, disable=not enabled, leave=False)


class _TaskState:
    """One task's local items and the arrays computed for them."""

    def __init__(self, items: TaskItems, ranks: Ranks) -> None:
        self.items = items
        self.local = local_items(items.n_items, ranks)
        spans = [(int(items.starts[i]), int(items.starts[i + 1])) for i in self.local]
        self.instances = [items.instances[j] for a, b in spans for j in range(a, b)]
        self.starts = np.concatenate([[0], np.cumsum([b - a for a, b in spans])]).astype(np.int64)
        self.gold = [items.gold[i] for i in self.local]
        self.item_of_request = np.repeat(np.arange(len(spans), dtype=np.int64), np.diff(self.starts))

    def losses(self, ll: FloatArray) -> tuple[FloatArray, FloatArray]:
        out = item_losses(ll, self.starts, self.gold, self.items.loss)
        return out.loss, out.weight


def gradient_affinity(
    tasks: Sequence[str] | str,
    *,
    model: str = "hf",
    model_args: str = "",
    lm: Any = None,
    include_path: Sequence[str] | str | None = None,
    limit: float | None = None,
    num_fewshot: int | None = None,
    fewshot_seed: int | None = 1234,
    batch_size: int = 8,
    device: str | None = None,
    blocks: int = 1,
    head: bool = True,
    proj_dim: int = 2048,
    step: float = 0.01,
    lookahead: LookaheadMode = "exact",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    n_splits: int = 100,
    seed: int = 0,
    progress: bool = True,
) -> AffinityMatrix:
    """Predicted task transfer from one model's gradients on lm-eval tasks.

    Args:
        tasks: lm-eval task, group or tag names (a list, or comma-separated).
        model: lm-eval model name (``hf``).
        model_args: lm-eval ``--model_args`` (``pretrained=ORG/MODEL,dtype=bfloat16``).
        lm: An lm-eval backend object already built (then ``model``/``model_args`` only label
            the result, and ``batch_size``/``device`` are the caller's).
        include_path: Extra task folders (``lm_eval --include_path``).
        limit: Items per task (``lm_eval --limit``), or a fraction below 1; None: all.
        num_fewshot: ``lm_eval --num_fewshot``.
        fewshot_seed: Few-shot sampler seed (``lm_eval``'s default 1234).
        batch_size: Sequences per batch of every pass.
        device: ``lm_eval --device`` (None: the backend's default).
        blocks: Last transformer blocks whose linear weights are in the subset.
        head: Include the output head.
        proj_dim: Projected dimensions d.
        step: Relative lookahead step epsilon.
        lookahead: ``exact`` (TAG) or ``first-order`` (skip the extra passes).
        confidence_level: Interval level.
        n_resamples: Bootstrap resamples.
        n_splits: Random half splits.
        seed: Seed of projection, bootstrap and splits.
        progress: Show a progress bar per task on stderr (rank 0).

    Returns:
        The :class:`~lm_eval_mtl.affinity.result.AffinityMatrix`.

    Raises:
        MTLError: Bad options, an unknown task or model, a backend without gradients, a task
            without gold answers, a missing lm-eval internal.
    """
    names, lim = _gradient_affinity_iv(tasks, limit, batch_size, num_fewshot)
    options = check_options(
        AffinityOptions(
            parameters=ParameterSubset(blocks=blocks, head=head),
            proj_dim=proj_dim,
            step=step,
            lookahead=lookahead,
            confidence_level=confidence_level,
            n_resamples=n_resamples,
            n_splits=n_splits,
            seed=seed,
        )
    )
    paths = [include_path] if isinstance(include_path, str) else list(include_path or [])
    for p in paths:
        if not Path(p).is_dir():
            raise MTLError(f"`include_path` {p} is not a folder; give a folder of task YAML files.")
    backend = lm if lm is not None else _load_model(model, model_args, batch_size, device)
    module = check_backend(backend, model)
    parse = lm_eval_internal("lm_eval.utils:simple_parse_args_string")
    metadata = parse(model_args) if model_args else {}
    items = load_task_items(
        names,
        include_path=paths,
        limit=lim,
        num_fewshot=num_fewshot,
        fewshot_seed=fewshot_seed,
        metadata=metadata,
    )
    ranks = detect_ranks(backend)
    return _measure(backend, module, items, ranks, options, model, model_args, lim, batch_size, progress)


def _measure(
    lm: Any,
    module: Any,
    items: Sequence[TaskItems],
    ranks: Ranks,
    options: AffinityOptions,
    model: str,
    model_args: str,
    limit: float | None,
    batch_size: int,
    progress: bool,
) -> AffinityMatrix:
    import torch

    show = progress and ranks.rank == 0
    states = [_TaskState(it, ranks) for it in items]
    bounds = np.cumsum([0] + [len(st.instances) for st in states])
    everything = [inst for st in states for inst in st.instances]
    bar = _bar(1, f"affinity: lm-eval log-likelihoods ({len(everything)} requests)", show)
    ll_all, enc_all = score_requests(lm, everything, record=True)  # one batched pass over every task
    bar.update(1)
    bar.close()
    base_ll, encodings, loss_local, weight_local = [], [], [], []
    for k, st in enumerate(states):
        ll = ll_all[bounds[k] : bounds[k + 1]]
        loss, weight = st.losses(ll)
        base_ll.append(ll)
        encodings.append(enc_all[bounds[k] : bounds[k + 1]])
        loss_local.append(loss)
        weight_local.append(weight)
    exact = options.lookahead == "exact"
    after_local = [[np.zeros(0)] * len(states) for _ in states]  # [source][target] -> local losses
    before_local: list[FloatArray] = []  # per task, local losses at theta as the lookahead computes them
    features_local: list[FloatArray] = []
    grad_norms: list[float] = []
    gap = 0.0
    device = lm.device if isinstance(lm.device, torch.device) else torch.device(str(lm.device))
    with parameter_scope(module, options.parameters) as chosen:
        projector = GradientProjector(chosen.layers, options.proj_dim, options.seed, device)
        step_scale = options.step * chosen.norm
        batches = [collate(lm, enc, batch_size, device) for enc in encodings]
        # the frozen prefix once; then the gradient and lookahead passes run the chosen suffix only
        flat = [b for bs in batches for b in bs]
        suffix = cache_prefix(lm, module, find_suffix(module, options.parameters.blocks), flat, device)
        with projector.attached():
            for s, st in enumerate(states):
                bar = _bar(len(st.instances), f"affinity: gradients {st.items.name}", show)
                gp = gradient_pass(
                    lm,
                    module,
                    encodings[s],
                    weight_local[s],
                    st.item_of_request,
                    len(st.local),
                    chosen,
                    projector,
                    batch_size=batch_size,
                    reference_ll=base_ll[s],
                    progress=bar,
                    batches=batches[s],
                    suffix=suffix,
                )
                bar.close()
                gap = max(gap, gp.max_ll_gap)
                all_reduce_sum(gp.grad_sum, ranks)
                mean = [g / st.items.n_items for g in gp.grad_sum]
                norm = math.sqrt(sum(float(g.double().pow(2).sum()) for g in mean))
                grad_norms.append(norm)
                features_local.append(gp.features)
                before_local.append(st.losses(gp.ll)[0])
                if not exact:
                    continue
                if not norm > 0:
                    raise MTLError(
                        f"task {st.items.name}: the mean loss gradient on the chosen parameters is zero; "
                        "no lookahead direction (choose other parameters, or --lookahead first-order)."
                    )
                bar = _bar(1, f"affinity: lookahead from {st.items.name}", show)
                with moved_parameters(chosen, mean, step_scale / norm):
                    ll_after = score_batches(lm, module, suffix, batches, bounds)  # every target
                for t, tt in enumerate(states):
                    after_local[s][t] = tt.losses(ll_after[bounds[t] : bounds[t + 1]])[0]
                bar.update(1)
                bar.close()
                del mean
        info = ParameterInfo(
            description=options.parameters.describe(),
            blocks=options.parameters.blocks,
            head=options.parameters.head,
            layers=tuple(layer.name for layer in chosen.layers),
            n_parameters=chosen.n_parameters,
            norm=chosen.norm,
            untied_head=chosen.untied_head,
        )
        proj = ProjectionInfo(
            kind="kronecker-gaussian",
            dim=projector.dim,
            requested_dim=options.proj_dim,
            seed=options.seed,
            ranks=tuple((p.name, p.k_out, p.k_in) for p in projector.projections),
        )
    features = [gather_rows(f, st.items.n_items, ranks) for f, st in zip(features_local, states, strict=True)]
    losses = [gather_rows(x, st.items.n_items, ranks) for x, st in zip(loss_local, states, strict=True)]
    after = before = None
    if exact:
        before = [gather_rows(x, st.items.n_items, ranks) for x, st in zip(before_local, states, strict=True)]
        after = [
            np.stack([gather_rows(after_local[s][t], tt.items.n_items, ranks) for s in range(len(states))])
            for t, tt in enumerate(states)
        ]
    cells = affinity_cells(
        CellInputs(features=features, losses=losses, after=after, step_scale=step_scale, before=before),
        confidence_level=options.confidence_level,
        n_resamples=options.n_resamples,
        n_splits=options.n_splits,
        rng=options.seed,
    )
    names = tuple(st.items.name for st in states)
    tasks = tuple(
        TaskGradient(
            task=st.items.name,
            output_type=st.items.output_type,
            loss_kind=st.items.loss,
            n_items=st.items.n_items,
            num_fewshot=st.items.num_fewshot,
            loss=float(np.mean(losses[t])),
            grad_norm=grad_norms[t],
            projected_norm=float(cells.projected_norm[t]),
            split_half_cosine=float(cells.split_half_cosine[t]),
        )
        for t, st in enumerate(states)
    )
    notes = [
        "sources and targets are the same tasks; the cosine's diagonal is 1 by definition",
        "predicted from gradients at one checkpoint: not the transfer after a full fine-tune (docs/affinity.md)",
    ]
    if not exact:
        notes.append("exact TAG lookahead skipped (--lookahead first-order)")
    if gap > 1e-3:
        notes.append(
            f"the gradient pass's log-likelihoods differ from lm-eval's by up to {gap:.2g} "
            "(reduced precision or autocast); the gradients belong to the gradient pass's forward"
        )
    if ranks.world_size > 1:
        notes.append(f"items shared by {ranks.world_size} processes; sums reduced, per-item arrays gathered")
    return AffinityMatrix(
        sources=names,
        targets=names,
        measures=cells.measures,
        tasks=tasks,
        parameters=info,
        projection=proj,
        step=options.step,
        confidence_level=options.confidence_level,
        n_resamples=options.n_resamples,
        n_splits=options.n_splits,
        seed=options.seed,
        model=model,
        model_args=model_args,
        limit=None if limit is None else float(limit),
        lm_eval_version=lm_eval_version(),
        world_size=ranks.world_size,
        notes=tuple(notes),
    )


def write_affinity(
    result: AffinityMatrix,
    output_path: str | Path,
    *,
    inputs: Iterable[str | Path] = (),
    plots: bool = True,
) -> list[Path]:
    """Write ``affinity.json``, ``affinity.md``, ``affinity.tex`` and a heatmap per measure.

    Args:
        result: The matrix.
        output_path: Folder (created).
        inputs: Files the run read (model, task files); no output may overwrite one.
        plots: Also write ``affinity_<measure>.png`` (needs matplotlib).

    Returns:
        The files written.

    Raises:
        OutputPathError: An output would overwrite an input, or cannot be written.
    """
    from lm_eval_mtl.affinity.render import affinity_tables, plot_affinity
    from lm_eval_mtl.io.atomic import atomic_write_text, check_output_path
    from lm_eval_mtl.jsonout import json_dumps
    from lm_eval_mtl.report.tables import render_table

    out = Path(output_path)
    seen = tuple(inputs)
    for name in AFFINITY_FILES:
        check_output_path(out / name, seen)
    tables = affinity_tables(result)
    written = [
        atomic_write_text(out / "affinity.json", json_dumps(result.to_dict()), inputs=seen),
        atomic_write_text(out / "affinity.md", "\n".join(render_table(t, "md") for t in tables), inputs=seen),
        atomic_write_text(
            out / "affinity.tex", "\n".join(render_table(t, "latex") for t in tables), inputs=seen
        ),
    ]
    if plots:
        written += plot_affinity(result, out, ("png",), inputs=seen)
    return written
