"""lm-eval tasks -> items, each with its log-likelihood requests and its gold answer.

The tasks are lm-eval's own: loaded by name through ``TaskManager`` (the shipped suites are
found as ``lm_eval --tasks`` finds them), configured as ``lm_eval.evaluator.simple_evaluate``
configures them (``num_fewshot``, the few-shot seed, ``--limit`` through lm-eval's
``get_sample_size``), and asked for their requests with ``build_all_requests``. So the
documents, prompts, few-shot contexts and answer strings are exactly those of a ``lm_eval``
run with the same options.

Per item (document), the loss on the gold answer:

* ``multiple_choice``: the cross-entropy over the choices' log-likelihoods (the quantity whose
  argmax ``acc`` scores): the task's own ``loglikelihood`` requests, one per choice, and the
  gold index resolved as lm-eval's ``process_results`` resolves it (``doc_to_target``, or
  ``doc_to_text`` for ``multiple_input`` tasks; a list for ``multiple_target``).
* ``loglikelihood``: the NLL of the task's continuation.
* ``generate_until``: the NLL of the reference continuation, ``target_delimiter`` +
  ``doc_to_target(doc)`` (the first reference when there are several), after the same context
  the task generates from, as one ``loglikelihood`` request built with lm-eval's ``Instance``.

Task loading is cheap where it can be: names that lm-eval-mtl's shipped configs and
``include_path`` cover entirely (groups down to their leaf tasks) are indexed from those folders
alone (first from the shipped suite folders whose files mention the names, then from all of them); any other name is looked up in lm-eval's full index, as ``lm_eval`` itself does
(building that index reads every built-in YAML, some 15 s).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.affinity.guards import call_guarded, lm_eval_internal, require_attribute
from lm_eval_mtl.errors import MTLError, unknown_name

__all__ = ["LossKind", "TaskItems", "load_task_items"]

LossKind = Literal["choice_ce", "nll"]
"""``choice_ce``: cross-entropy over the choices; ``nll``: negative log-likelihood of one continuation."""
IntArray = npt.NDArray[np.int64]
_SUPPORTED = ("multiple_choice", "loglikelihood", "generate_until")


@dataclass(frozen=True)
class TaskItems:
    """One task's items and the log-likelihood requests that score their gold answers."""

    name: str
    """Task name, as lm-eval names it."""
    output_type: str
    """lm-eval's ``output_type`` of the task."""
    loss: LossKind
    """The per-item loss on the gold answer."""
    instances: tuple[Any, ...]
    """lm-eval ``Instance`` objects (``loglikelihood``), item after item."""
    starts: IntArray
    """(n_items + 1,) offsets: item i owns ``instances[starts[i]:starts[i + 1]]``."""
    gold: tuple[tuple[int, ...], ...]
    """Per item, the gold choice indices (``choice_ce``); empty tuples for ``nll``."""
    doc_ids: IntArray
    """(n_items,) lm-eval's ``doc_id`` per item."""
    num_fewshot: int
    """Few-shot examples in each context."""

    @property
    def n_items(self) -> int:
        """Number of items."""
        return int(self.doc_ids.shape[0])


def _covered(index: Mapping[str, Any], name: str, depth: int = 0) -> bool:
    """Whether ``name`` and, for a group, every task under it is in ``index``."""
    entry = index.get(name)
    if entry is None or depth > 20:
        return False
    kind = getattr(getattr(entry, "kind", None), "name", "")
    if kind in ("TASK", "PY_TASK"):
        return True
    if kind != "GROUP":
        return False  # tags may gather tasks of lm-eval's own folders
    cfg = getattr(entry, "cfg", None) or {}
    members = cfg.get("task", [])
    if isinstance(members, str):
        members = [members]
    for member in members:
        if isinstance(member, str):
            if not _covered(index, member, depth + 1):
                return False
        elif isinstance(member, Mapping):
            base = member.get("task")
            if isinstance(base, str) and base in index:
                if not _covered(index, base, depth + 1):
                    return False
            elif not ({"dataset_path", "custom_dataset", "include"} & set(member)):
                return False
        else:
            return False
    return True


def shipped_folders(root: Path, names: Sequence[str]) -> list[str] | None:
    """Return the suite folders of the shipped configs whose YAML files mention one of ``names``.

    A prefilter for the narrow index: a task or group is defined by a YAML file that names it,
    so the folders holding such files hold its definition (a group's members elsewhere make
    :func:`_covered` fail, and the caller widens the index). None when the root holds YAML files
    of its own, or no folder mentions a name.
    """
    if any(p.is_file() and p.suffix in (".yaml", ".yml") for p in root.iterdir()):
        return None
    hits = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        for f in sorted(sub.rglob("*.y*ml")):
            if any(n in f.read_text(encoding="utf-8", errors="replace") for n in names):
                hits.append(str(sub))
                break
    return hits or None


def _task_manager(names: Sequence[str], include_path: Sequence[str], metadata: Mapping[str, Any]) -> Any:
    """Return a ``TaskManager`` that indexes as little as it can while resolving ``names`` as lm_eval would.

    Tried in turn: the shipped suite folders that mention the names (:func:`shipped_folders`), all
    shipped configs, lm-eval's full index; each with ``include_path``; the first whose index covers
    every name (:func:`_covered`) is used.
    """
    from lm_eval_mtl.suites.loading import task_config_dir

    task_manager_cls = lm_eval_internal("lm_eval.tasks:TaskManager")
    root = task_config_dir()
    folders = shipped_folders(root, names)
    for shipped in ([folders] if folders else []) + [[str(root)]]:
        narrow = call_guarded(
            task_manager_cls,
            "TaskManager",
            include_path=[*shipped, *include_path],
            include_defaults=False,
            metadata=dict(metadata),
        )
        index = getattr(narrow, "task_index", None)
        if isinstance(index, Mapping) and all(_covered(index, n) for n in names):
            return narrow
    return call_guarded(
        task_manager_cls, "TaskManager", include_path=list(include_path) or None, metadata=dict(metadata)
    )


def _configure(task: Any, num_fewshot: int | None, fewshot_seed: int | None) -> int:
    """Set ``num_fewshot`` and the few-shot seed as ``simple_evaluate`` does; return the shots."""
    get_config = require_attribute(task, "get_config", "Task")
    set_config = require_attribute(task, "set_config", "Task")
    default = get_config("num_fewshot")
    if num_fewshot is not None:
        if default != 0:  # lm-eval never overrides a task that fixes 0 shots
            set_config(key="num_fewshot", value=num_fewshot)
    elif default is None:
        set_config(key="num_fewshot", value=0)
    require_attribute(task, "set_fewshot_seed", "Task")(seed=fewshot_seed)
    shots = get_config("num_fewshot")
    return int(shots or 0)


def _gold_indices(task: Any, name: str, doc: Any, doc_id: int, choices: Sequence[Any]) -> tuple[int, ...]:
    """Return the gold choice indices of a multiple-choice document, resolved as lm-eval's process_results does."""
    n_choices = len(choices)
    gold = task.doc_to_text(doc) if getattr(task, "multiple_input", False) else task.doc_to_target(doc)
    golds = gold if isinstance(gold, list) else [gold]
    out: list[int] = []
    for g in golds:
        if isinstance(g, str):
            out.append(list(choices).index(g) if g in choices else -1)
        elif isinstance(g, (int, np.integer)) and not isinstance(g, bool):
            out.append(int(g))
        else:
            out.append(-1)
    if not out or any(not 0 <= g < n_choices for g in out):
        raise MTLError(
            f"task {name}, doc {doc_id}: the gold answer {gold!r} is not one of its {n_choices} choices; "
            "affinity needs a valid gold answer for every item (check the task's doc_to_target)."
        )
    return tuple(sorted(set(out)))


def _reference(task: Any, name: str, doc: Any, doc_id: int) -> str:
    """Return the reference continuation of a generation task's document."""
    target = task.doc_to_target(doc)
    if isinstance(target, list):
        target = target[0] if target else ""
    if isinstance(target, (int, np.integer)) and getattr(task.config, "doc_to_choice", None) is not None:
        target = task.doc_to_choice(doc)[int(target)]
    text = str(target)
    if not text.strip():
        raise MTLError(
            f"task {name}, doc {doc_id}: the reference answer is empty; affinity scores the NLL of the "
            "reference continuation, so every item needs one."
        )
    delimiter = getattr(task.config, "target_delimiter", " ")
    return f"{delimiter}{text}"


def _task_items(task: Any, name: str, shots: int) -> TaskItems:
    instance_cls = lm_eval_internal("lm_eval.api.instance:Instance")
    output_type = str(require_attribute(task, "OUTPUT_TYPE", "Task"))
    if output_type not in _SUPPORTED:
        raise MTLError(
            f"task {name}: output type {output_type!r} has no gold-answer loss; affinity supports "
            f"{', '.join(_SUPPORTED)} tasks."
        )
    for name_ in ("doc_to_target", "doc_to_choice", "doc_to_text", "config"):
        require_attribute(task, name_, "Task")
    by_doc: dict[int, list[Any]] = {}
    for inst in require_attribute(task, "instances", "Task"):
        for field in ("doc_id", "idx", "doc", "args"):
            require_attribute(inst, field, "Instance")
        by_doc.setdefault(int(inst.doc_id), []).append(inst)
    instances: list[Any] = []
    starts = [0]
    gold: list[tuple[int, ...]] = []
    doc_ids: list[int] = []
    for doc_id, group in by_doc.items():
        group.sort(key=lambda inst: int(inst.idx))
        doc = group[0].doc
        if output_type == "multiple_choice":
            choices = task.doc_to_choice(doc)
            reqs = group[: len(choices)]  # acc_mutual_info adds unconditional requests after the choices
            gold.append(_gold_indices(task, name, doc, doc_id, choices))
        elif output_type == "loglikelihood":
            reqs = group[:1]
            gold.append(())
        else:
            context = group[0].args[0]
            reqs = [
                instance_cls(
                    request_type="loglikelihood",
                    doc=doc,
                    arguments=(context, _reference(task, name, doc, doc_id)),
                    idx=0,
                    metadata=(name, doc_id, 1),
                )
            ]
            gold.append(())
        instances.extend(reqs)
        starts.append(len(instances))
        doc_ids.append(doc_id)
    if not doc_ids:
        raise MTLError(f"task {name}: lm-eval built no requests (an empty split, or --limit 0).")
    return TaskItems(
        name=name,
        output_type=output_type,
        loss="choice_ce" if output_type == "multiple_choice" else "nll",
        instances=tuple(instances),
        starts=np.asarray(starts, dtype=np.int64),
        gold=tuple(gold),
        doc_ids=np.asarray(doc_ids, dtype=np.int64),
        num_fewshot=shots,
    )


def load_task_items(
    tasks: Sequence[str],
    *,
    include_path: Sequence[str] = (),
    limit: float | None = None,
    num_fewshot: int | None = None,
    fewshot_seed: int | None = 1234,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[TaskItems, ...]:
    """Load lm-eval tasks by name and return their items with the requests of their gold answers.

    Args:
        tasks: Task, group or tag names, as ``lm_eval --tasks`` takes them.
        include_path: Extra task folders (``lm_eval --include_path``).
        limit: ``lm_eval --limit``: items per task (an integer), or a fraction below 1.
        num_fewshot: ``lm_eval --num_fewshot`` (None: each task's own default).
        fewshot_seed: Seed of the few-shot sampler (``lm_eval``'s default is 1234).
        metadata: Passed to the tasks as ``lm_eval`` passes its ``--model_args`` and ``--metadata``.

    Returns:
        One :class:`TaskItems` per leaf task, in lm-eval's order.

    Raises:
        UnknownNameError: A name is no task, group or tag (with close matches).
        MTLError: A task type without a gold-answer loss, a document without a valid gold answer.
    """
    names = [t.strip() for t in tasks if t.strip()]
    if not names:
        raise MTLError("`tasks` must name at least one lm-eval task; got none.")
    tm = _task_manager(names, include_path, metadata or {})
    known = list(require_attribute(tm, "all_tasks", "TaskManager"))
    for name in names:
        if name not in known:
            raise unknown_name("lm-eval task", name, known)
    loaded = require_attribute(tm, "load", "TaskManager")(names)
    task_dict = loaded.get("tasks") if isinstance(loaded, Mapping) else None
    if not isinstance(task_dict, Mapping) or not task_dict:
        raise MTLError(f"lm-eval loaded no tasks for {', '.join(names)}.")
    get_sample_size = lm_eval_internal("lm_eval.evaluator_utils:get_sample_size")
    out: list[TaskItems] = []
    for name, task in task_dict.items():
        shots = _configure(task, num_fewshot, fewshot_seed)
        call_guarded(
            require_attribute(task, "build_all_requests", "Task"),
            "Task.build_all_requests",
            limit=get_sample_size(task, limit),
            rank=0,
            world_size=1,
        )
        out.append(_task_items(task, str(name), shots))
    return tuple(out)
