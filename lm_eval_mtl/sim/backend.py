"""``SimulatedLM``: an lm-eval model backend whose answers follow a planted truth.

Registered with lm-eval as ``mtl-sim`` (lazily, by the start-up hook), so::

    lm_eval --model mtl-sim --model_args preset=ft_sst2,seed=3 --tasks mtl_demo

runs lm-eval's whole pipeline (request building, batching, filters, metrics,
groups, our composite) on answers whose truth is known: each item is right or
wrong as :class:`lm_eval_mtl.sim.truth.SimTruth` draws it.

model_args:
    preset: a checkpoint of the built-in ``demo`` profile: ``base``, ``mtl`` or
        ``ft_<task>`` (any task name). Exclusive with ``checkpoint``.
    profile: ``demo`` (default) or a path to a YAML/JSON profile
        (:mod:`lm_eval_mtl.sim.profile`).
    checkpoint: the checkpoint (transfer row) to simulate; default ``base``.
    seed: seed of the items' parameters (share it across compared checkpoints).
    draw_seed: seed of the correctness draws (default: ``seed``).
    member: population member index (abilities drawn from the profile's factor model).
    ledger: path of a JSONL file to which every answered item's truth is appended.
    tasks_dir: task folder used only by the fallback task lookup (see below).
    model: a display name; lm-eval names the output folder after ``model=`` (default
        output folder name without it: ``__``), so the runner passes ``sim-<checkpoint>``.
    batch_size, max_batch_size, device: accepted and ignored; answers are per item,
        so batching cannot change them.

How the gold answer is found. lm-eval hands a model only ``Instance`` objects
(``doc``, ``arguments``, ``idx``, ``task_name``, ``doc_id``); the gold index lives
in the task's ``doc_to_target``/``doc_to_choice``. The backend looks up the task
objects of the running evaluation: the ``eval_tasks`` local that
``lm_eval.evaluator.evaluate`` holds while it calls the model (read, never
modified, from the caller's frames; a mapping task name -> Task on lm-eval 0.4.12
and later, a list of ``TaskOutput`` before: :mod:`lm_eval_mtl.plugin.eval_tasks`
reads both). When that is not found (a caller that calls the model directly), it
loads the task by name with a ``TaskManager`` (``tasks_dir`` model arg, through
whichever loading method this lm-eval has); when that fails too it raises,
naming the task. Gold is then computed exactly as lm-eval's
``process_results`` does (``doc_to_text`` for ``multiple_input`` tasks such as
Winogrande, the first of several golds for ``multiple_target`` tasks).

Answers:
    multiple choice: the gold choice gets loglikelihood ``-1e-3 * len(choice)``
        if the item is correct, otherwise a deterministic wrong choice gets it;
        every other choice gets ``-(1 + r) * len(choice)`` (``r`` its rank). The
        winner therefore wins under ``acc``, ``acc_norm`` (per character),
        ``acc_bytes`` and ``acc_mutual_info`` (unconditional requests all get -1).
    loglikelihood (non multiple-choice): ``(-0.05 * len, True)`` when correct,
        ``(-(2 + len), False)`` otherwise.
    generate_until: the profile's ``answer_format`` applied to the gold target
        when correct; otherwise a deterministic wrong answer: another label for
        tasks with choices, the number plus a non-zero offset for numeric
        targets, the reference with about half of its words dropped for texts of
        three or more words (so chrF/BLEU fall with ability), else ``not <target>``.
    loglikelihood_rolling: ``-len(text) * (0.2 + 2 * (1 - sigmoid(theta)))``.

Limits: filters that require a format (``#### 42``) need ``answer_format`` in the
profile; a generation task whose target is a list uses its first element; a
task the evaluation did not load is looked up by name (slower, and it needs the
task folder).
"""

from __future__ import annotations

import json
import logging
import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lm_eval.api.model import LM

from lm_eval_mtl.sim.profile import SimProfile, SimProfileError, builtin_profile, load_profile
from lm_eval_mtl.sim.truth import ItemTruth, SimTruth, doc_key, hash_uniform

if TYPE_CHECKING:
    from lm_eval.api.instance import Instance

__all__ = ["SimulatedLM"]

log = logging.getLogger(__name__)

_KNOWN_ARGS = (
    "preset",
    "profile",
    "checkpoint",
    "seed",
    "draw_seed",
    "member",
    "ledger",
    "tasks_dir",
    "model",
    "batch_size",
    "max_batch_size",
    "device",
)


@dataclass(frozen=True)
class _Gold:
    """What the backend needs to know about one document of one task."""

    output_type: str
    choices: tuple[str, ...] | None
    gold_index: int | None
    target: str | None


def _int_arg(name: str, value: Any, *, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SimProfileError(f"mtl-sim model arg `{name}` must be a non-negative integer; got {value!r}.")
    return value


class SimulatedLM(LM):  # type: ignore[misc]
    """A simulated model: answers lm-eval requests from a planted item response model."""

    def __init__(
        self,
        preset: str | None = None,
        profile: str | SimProfile | None = None,
        checkpoint: str | None = None,
        seed: int = 0,
        draw_seed: int | None = None,
        member: int | None = None,
        ledger: str | None = None,
        tasks_dir: str | None = None,
        model: str | None = None,
        batch_size: int | str | None = None,
        max_batch_size: int | None = None,
        device: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Build the simulated checkpoint (see the module docstring for the arguments).

        Raises:
            SimProfileError: An argument is malformed, unknown, or ``preset`` and
                ``checkpoint`` are both given.
            UnknownNameError: ``profile`` names no built-in profile and is no file.
        """
        super().__init__()
        if kwargs:
            import difflib

            hints = [
                f"{k!r}"
                + (
                    f" (did you mean {m[0]!r}?)"
                    if (m := difflib.get_close_matches(k, _KNOWN_ARGS, n=1))
                    else ""
                )
                for k in sorted(kwargs)
            ]
            raise SimProfileError(
                f"mtl-sim got unknown model arg(s) {', '.join(hints)}; known: {', '.join(_KNOWN_ARGS)}."
            )
        if preset is not None and checkpoint is not None:
            raise SimProfileError(
                f"mtl-sim takes `preset` or `checkpoint`, not both; got preset={preset!r}, checkpoint={checkpoint!r}."
            )
        name = preset if preset is not None else checkpoint
        ckpt = "base" if name is None else str(name)
        if not ckpt:
            raise SimProfileError("mtl-sim model arg `checkpoint` must be a non-empty name; got ''.")
        if isinstance(profile, SimProfile):
            prof = profile
        elif profile is None or profile == "demo":
            prof = builtin_profile("demo")
        elif isinstance(profile, str) and (
            Path(profile).suffix.lower() in (".yaml", ".yml", ".json") or Path(profile).exists()
        ):
            prof = load_profile(profile)
        else:
            prof = builtin_profile(str(profile))
        if preset is not None and not prof.checkpoint_is_known(ckpt):
            raise SimProfileError(
                f"mtl-sim `preset` must be 'base', 'mtl', 'ft_<task>' or a checkpoint of the profile; got {preset!r}."
            )
        self.truth = SimTruth(
            profile=prof,
            seed=int(_int_arg("seed", seed) or 0),
            draw_seed=_int_arg("draw_seed", draw_seed, allow_none=True),
            checkpoint=ckpt,
            member=_int_arg("member", member, allow_none=True),
        )
        """The planted truth of this checkpoint."""
        self.ledger: dict[str, dict[int, ItemTruth]] = {}
        """Truth of every answered item: task -> doc_id -> item."""
        self._ledger_path = Path(ledger) if ledger else None
        self._include_path = tasks_dir
        self.model_name = str(model) if model is not None else f"mtl-sim-{ckpt}"
        """Display name (``model`` arg)."""
        self._fallback_tasks: dict[str, Any] = {}
        self._gold_cache: dict[tuple[str, int, str], _Gold] = {}
        self._pending: list[dict[str, Any]] = []
        self._explicit_tasks: dict[str, Any] = {}

    def use_tasks(self, tasks: Mapping[str, Any]) -> None:
        """Give the task objects (name -> lm-eval Task) explicitly, for callers outside ``evaluate``.

        They are used before the evaluation's own tasks and the ``TaskManager`` fallback.
        """
        self._explicit_tasks = dict(tasks)

    # ------------------------------------------------------------------ lm-eval API

    @property
    def tokenizer_name(self) -> str:
        """Fingerprint used by lm-eval's request cache with chat templates."""
        return "mtl-sim"

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        """Render a chat as plain ``role: content`` lines, so ``--apply_chat_template`` works."""
        text = "\n".join(f"{m.get('role', 'user')}: {m.get('content', '')}" for m in chat_history)
        return text + ("\nassistant:" if add_generation_prompt else "")

    def get_model_info(self) -> dict[str, Any]:
        """Provenance written into lm-eval's results ``config``."""
        t = self.truth
        return {
            "mtl_sim": {
                "name": self.model_name,
                "profile": t.profile.name,
                "checkpoint": t.checkpoint,
                "seed": t.seed,
                "draw_seed": t.effective_draw_seed,
                "member": t.member,
                "coupling": t.profile.coupling,
            }
        }

    def loglikelihood(self, requests: list[Instance], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        """Loglikelihoods that make the drawn answer win (see the module docstring)."""
        tasks = self._tasks_for(requests)
        out: list[tuple[float, bool]] = []
        for req in requests:
            gold = self._gold(tasks, req)
            continuation = req.args[1]
            length = max(len(continuation), 1)
            if gold.output_type == "multiple_choice" and gold.choices is not None:
                k = len(gold.choices)
                if req.idx >= k:  # unconditional request of acc_mutual_info
                    out.append((-1.0, False))
                    continue
                item = self._record(req, k)
                winner = self._winner(req, gold, item)
                if req.idx == winner:
                    out.append((-1e-3 * length, True))
                else:
                    rank = 1 + (req.idx - winner) % k
                    out.append((-(1.0 + rank) * length, False))
            else:
                item = self._record(req, None)
                if item.correct:
                    out.append((-0.05 * length, True))
                else:
                    out.append((-(2.0 + length), False))
        self._flush()
        return out

    def loglikelihood_rolling(self, requests: list[Instance], disable_tqdm: bool = False) -> list[float]:
        """Deterministic negative loglikelihoods that improve with ability."""
        out = []
        for req in requests:
            text = req.args[0]
            theta = self.truth.theta(str(req.task_name))
            rate = 0.2 + 2.0 * (1.0 - 1.0 / (1.0 + math.exp(-theta)))
            out.append(-max(len(text), 1) * rate)
        return out

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        """Return the gold answer when the item is correct, a deterministic wrong one otherwise."""
        tasks = self._tasks_for(requests)
        out: list[str] = []
        for req in requests:
            gold = self._gold(tasks, req)
            if gold.target is None:
                raise SimProfileError(
                    f"mtl-sim: task {req.task_name!r} doc {req.doc_id} has no target to answer with."
                )
            item = self._record(req, None)
            if item.correct:
                fmt = self.truth.profile.task(str(req.task_name)).answer_format
                out.append(fmt.format(target=gold.target))
            else:
                out.append(self._wrong_text(req, gold))
        self._flush()
        return out

    def generation_answers(self, task: Any, doc: Any, doc_id: int = 0) -> tuple[str, str]:
        """Return the answers this checkpoint gives to a generation item when right and when wrong.

        Args:
            task: The lm-eval task object (``generate_until``).
            doc: One of its documents.
            doc_id: The document's id (only recorded, never used for the answer).

        Returns:
            ``(right, wrong)``: the formatted gold target, and the deterministic wrong answer.
        """
        from lm_eval.api.instance import Instance

        name = str(getattr(task, "task_name", None) or task.config.task)
        req = Instance(
            request_type="generate_until", doc=doc, arguments=("", {}), idx=0, metadata=(name, doc_id, 1)
        )
        gold = self._gold({name: task}, req)
        fmt = self.truth.profile.task(name).answer_format
        return fmt.format(target=gold.target), self._wrong_text(req, gold)

    # ------------------------------------------------------------------ truth bookkeeping

    def _record(self, req: Instance, n_choices: int | None) -> ItemTruth:
        task = str(req.task_name)
        doc_id = int(req.doc_id) if req.doc_id is not None else -1
        seen = self.ledger.setdefault(task, {}).get(doc_id)
        key = doc_key(req.doc)
        if seen is not None and seen.key == key:
            return seen
        item = self.truth.item(task, key, n_choices)
        self.ledger[task][doc_id] = item
        if self._ledger_path is not None:
            self._pending.append(
                {"task": task, "doc_id": doc_id, "checkpoint": self.truth.checkpoint, **item.to_dict()}
            )
        return item

    def _flush(self) -> None:
        if self._ledger_path is None or not self._pending:
            return
        self._ledger_path.parent.mkdir(parents=True, exist_ok=True)
        with self._ledger_path.open("a", encoding="utf-8") as fh:
            for row in self._pending:
                fh.write(json.dumps(row) + "\n")
        self._pending.clear()

    def _winner(self, req: Instance, gold: _Gold, item: ItemTruth) -> int:
        assert gold.choices is not None and gold.gold_index is not None
        k = len(gold.choices)
        if item.correct or k < 2:
            return gold.gold_index
        u = hash_uniform(
            "wrong", self.truth.effective_draw_seed, self.truth.checkpoint, req.task_name, item.key
        )
        offset = 1 + int(u * (k - 1))  # 1 .. k-1
        return (gold.gold_index + offset) % k

    def _wrong_text(self, req: Instance, gold: _Gold) -> str:
        target = str(gold.target)
        key = doc_key(req.doc)
        u = hash_uniform("wrong", self.truth.effective_draw_seed, self.truth.checkpoint, req.task_name, key)
        if gold.choices and len(gold.choices) >= 2:
            others = [c for c in gold.choices if c.strip() != target.strip()]
            if others:
                return others[int(u * len(others))]
        stripped = target.strip()
        if re.fullmatch(r"-?\d+", stripped):
            offset = 1 + int(u * 9)
            return str(int(stripped) + (offset if u < 0.5 else -offset))
        if re.fullmatch(r"-?\d*\.\d+", stripped):
            return f"{float(stripped) + 1.0 + u:.3f}"
        words = stripped.split()
        if len(words) >= 3:
            start = int(u * 2)
            kept = words[start::2]
            return " ".join(kept)
        return f"not {stripped}"

    # ------------------------------------------------------------------ gold answers

    def _tasks_for(self, requests: Sequence[Instance]) -> Mapping[str, Any]:
        """Task objects of the running evaluation, by name (empty when not found)."""
        if self._explicit_tasks:
            return self._explicit_tasks
        from lm_eval_mtl.plugin.eval_tasks import running_tasks

        return running_tasks(sys._getframe(1))

    def _task_object(self, tasks: Mapping[str, Any], name: str) -> Any:
        if name in tasks:
            return tasks[name]
        if name not in self._fallback_tasks:
            from lm_eval_mtl.plugin.eval_tasks import load_tasks

            try:
                loaded = {}
                if self._include_path is not None:  # fast path: only the given folder
                    try:
                        loaded = load_tasks(name, self._include_path, include_defaults=False)
                    except Exception:  # noqa: BLE001 - not there; try with lm-eval's own tasks below
                        loaded = {}
                if name not in loaded:
                    loaded = load_tasks(name, self._include_path)
            except Exception as exc:  # lm-eval raises several types for unknown tasks
                raise SimProfileError(
                    f"mtl-sim cannot find task {name!r} to read its gold answers: it is not in the running "
                    f"evaluation and TaskManager(include_path=tasks_dir={self._include_path!r}) could not load it ({exc})."
                ) from exc
            if name not in loaded:
                raise SimProfileError(
                    f"mtl-sim: TaskManager loaded {sorted(loaded)} for {name!r}, not the task itself."
                )
            self._fallback_tasks[name] = loaded[name]
        return self._fallback_tasks[name]

    def _gold(self, tasks: Mapping[str, Any], req: Instance) -> _Gold:
        name = str(req.task_name)
        cache_key = (name, int(req.doc_id) if req.doc_id is not None else -1, doc_key(req.doc))
        hit = self._gold_cache.get(cache_key)
        if hit is not None:
            return hit
        task = self._task_object(tasks, name)
        # Gold depends only on the task and the document: cache it on the task object, so
        # that many simulated models scoring one loaded task render its templates once.
        shared: dict[str, _Gold] | None = getattr(task, "_mtl_sim_gold", None)
        if shared is None:
            shared = {}
            try:
                task._mtl_sim_gold = shared
            except AttributeError:  # a task type that refuses new attributes
                pass
        gold = shared.get(cache_key[2])
        if gold is None:
            gold = _gold_of(task, req.doc, name)
            shared[cache_key[2]] = gold
        self._gold_cache[cache_key] = gold
        return gold


def _gold_of(task: Any, doc: Any, name: str) -> _Gold:
    """Gold answer of ``doc`` for ``task``, computed as lm-eval's ``process_results`` does."""
    output_type = str(getattr(task, "OUTPUT_TYPE", ""))
    config = getattr(task, "config", None)
    if output_type == "multiple_choice":
        choices = tuple(str(c) for c in task.doc_to_choice(doc))
        raw = task.doc_to_text(doc) if getattr(task, "multiple_input", False) else task.doc_to_target(doc)
        index = _choice_index(raw, choices)
        if index is None:
            raise SimProfileError(
                f"mtl-sim: task {name!r} gives gold {raw!r}, which is not an index into its {len(choices)} choices."
            )
        return _Gold(output_type, choices, index, choices[index])
    target = task.doc_to_target(doc)
    choices_t: tuple[str, ...] | None = None
    if config is not None and getattr(config, "doc_to_choice", None) is not None:
        try:
            choices_t = tuple(str(c) for c in task.doc_to_choice(doc))
        except Exception:  # a generation task without usable choices
            choices_t = None
    if isinstance(target, list):
        target = target[0] if target else None
    if (
        isinstance(target, int)
        and not isinstance(target, bool)
        and choices_t
        and 0 <= target < len(choices_t)
    ):
        target = choices_t[target]
    return _Gold(output_type, choices_t, None, None if target is None else str(target))


def _choice_index(raw: Any, choices: Sequence[str]) -> int | None:
    if isinstance(raw, list):
        for r in raw:
            idx = _choice_index(r, choices)
            if idx is not None:
                return idx
        return None
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 <= raw < len(choices) else None
    if isinstance(raw, str):
        return choices.index(raw) if raw in choices else None
    return None
