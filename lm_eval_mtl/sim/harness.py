"""Score a simulated model on lm-eval tasks without the whole evaluator, for many-seed studies.

:func:`score_items` does what ``lm_eval.evaluator.evaluate`` does per task, minus
aggregation and logging: build the task's requests (once, cached on the task),
send them to the model by request type, apply the task's filters, and call the
task's own ``process_results`` per document. The per-item metric values are
therefore lm-eval's, computed by lm-eval's code, on the real documents; only the
repeated evaluator overhead (aggregation, bootstrap stderr, sample logging) is
skipped. Used by ``bench/validate.py`` and the tests to run hundreds of seeds.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.sim.backend import SimulatedLM
from lm_eval_mtl.sim.truth import doc_key

__all__ = ["ItemScores", "score_items"]


@dataclass(frozen=True)
class ItemScores:
    """lm-eval's per-item metric values of one task under one filter."""

    task: str
    """Task name."""
    filter: str
    """Filter name."""
    doc_ids: npt.NDArray[np.int64]
    """doc_id per item, ascending."""
    keys: tuple[str, ...]
    """Item key (:func:`~lm_eval_mtl.sim.truth.doc_key`) per item."""
    n_choices: tuple[int | None, ...]
    """Choices per item (multiple choice) or None."""
    scores: Mapping[str, npt.NDArray[np.float64]]
    """Scalar metric -> per-item values (``acc``, ``exact_match`` ...)."""
    pairs: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
    """Corpus metric (``chrf``, ``bleu``) -> (references, predictions) per item."""


def _instances(task: Any, limit: int | None) -> list[Any]:
    cache: dict[int | None, list[Any]] | None = getattr(task, "_mtl_sim_instances", None)
    if cache is None:
        cache = {}
        task._mtl_sim_instances = cache
    if limit not in cache:
        task.build_all_requests(limit=limit)
        cache[limit] = list(task.instances)
    return cache[limit]


def score_items(
    lm: SimulatedLM, tasks: Mapping[str, Any], *, limit: int | None = None
) -> dict[str, dict[str, ItemScores]]:
    """Per-item lm-eval metric values of ``lm`` on ``tasks`` (name -> lm-eval Task).

    Args:
        lm: The simulated model.
        tasks: Leaf tasks, e.g. ``TaskManager(...).load(name)["tasks"]``.
        limit: Items per task (the first ``limit`` documents), or None for all.

    Returns:
        task -> filter -> :class:`ItemScores`.
    """
    lm.use_tasks(tasks)
    out: dict[str, dict[str, ItemScores]] = {}
    for name, task in tasks.items():
        instances = _instances(task, limit)
        for inst in instances:
            inst.resps = []
            inst.filtered_resps = {}
        by_type: dict[str, list[Any]] = defaultdict(list)
        for inst in instances:
            by_type[inst.request_type].append(inst)
        for reqtype, reqs in by_type.items():
            resps = getattr(lm, reqtype)(reqs)
            for r, inst in zip(resps, reqs, strict=True):
                inst.resps.append(r)
        task._instances = instances
        task.apply_filters()
        by_doc: dict[int, list[Any]] = defaultdict(list)
        docs: dict[int, Any] = {}
        for inst in instances:
            by_doc[int(inst.doc_id)].append(inst)
            docs[int(inst.doc_id)] = inst.doc
        for reqs in by_doc.values():
            reqs.sort(key=lambda x: x.idx)
        per_filter: dict[str, ItemScores] = {}
        doc_ids = sorted(by_doc)
        for fkey in instances[0].filtered_resps:
            scal: dict[str, list[float]] = defaultdict(list)
            pair: dict[str, tuple[list[str], list[str]]] = {}
            for d in doc_ids:
                metrics = task.process_results(docs[d], [r.filtered_resps[fkey] for r in by_doc[d]])
                for m, v in metrics.items():
                    if (
                        m in ("chrf", "bleu", "ter", "chrf++")
                        and isinstance(v, (list, tuple))
                        and len(v) == 2
                    ):
                        refs, preds = pair.setdefault(m, ([], []))
                        ref = v[0][0] if isinstance(v[0], (list, tuple)) else v[0]
                        refs.append(str(ref))
                        preds.append(str(v[1]))
                    elif isinstance(v, (int, float, np.floating, np.integer, bool)):
                        scal[m].append(float(v))
            nch = tuple(
                len(by_doc[d]) if getattr(task, "OUTPUT_TYPE", "") == "multiple_choice" else None
                for d in doc_ids
            )
            per_filter[fkey] = ItemScores(
                task=name,
                filter=fkey,
                doc_ids=np.array(doc_ids, dtype=np.int64),
                keys=tuple(doc_key(docs[d]) for d in doc_ids),
                n_choices=nch,
                scores={m: np.array(v, dtype=np.float64) for m, v in scal.items()},
                pairs={m: (tuple(r), tuple(p)) for m, (r, p) in pair.items()},
            )
        out[name] = per_filter
    return out
