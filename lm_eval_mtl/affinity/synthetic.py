"""Synthetic lm-eval tasks with planted relatedness, and a tiny causal LM to run them on.

The known truth behind ``tests/sim/test_affinity_truth.py`` and ``bench/validate_affinity.py``.

Each task is a 2-way multiple-choice task: a prompt ``"<marker> <feature>"`` (one task marker,
one of ``n_features`` feature tokens) continued by ``" yes"`` or ``" no"``, the label being a
task's rule: a balanced +-1 table over the features. Three latent rules R1, R2, R3 (rows of a
Hadamard matrix under a random permutation of the features, so exactly orthogonal) are planted:

==========  ==========================================  =============================
task        rule                                        shares a latent rule with
==========  ==========================================  =============================
``a1``      R1                                          a2, c
``a2``      R1 with 4 of the features flipped           a1, c
``b1``      R2                                          b2, c
``b2``      R2 with 4 of the features flipped           b1, c
``c``       R1 on half of the features, R2 on the rest  a1, a2, b1, b2
``d``       R3                                          none
==========  ==========================================  =============================

So 12 of the 30 off-diagonal (source, target) cells are *related* (the tasks share a latent
rule, their tables agree on 62-88% of the features) and 18 are *unrelated* (50%).

The base model (:func:`train_base_model`) is a 2-layer GPT-2 with a word-level tokenizer,
trained in a few hundred steps (i) to predict the next feature of sequences that follow a fixed
random successor permutation (so that its hidden states tell the features apart, as a pretrained
LM's do) and (ii) to answer every task prompt with probability 1/2 for ``yes`` and ``no`` (it
knows the format, not the rules: every task starts at chance). :func:`finetune_on_task` trains a
copy on one source task for a few steps; the measured transfer is then lm-eval's accuracy of each
checkpoint on every target against the base's.

The evaluation items of a task cover every feature equally often (``n_eval`` a multiple of
``n_features``), in a fixed shuffled order, so ``--limit`` takes a balanced subset when it is a
multiple of ``n_features`` too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "PLANTED_TASKS",
    "PlantedSuite",
    "finetune_on_task",
    "off_diagonal",
    "related_auc",
    "train_base_model",
    "write_planted_suite",
]

PLANTED_TASKS: tuple[str, ...] = ("a1", "a2", "b1", "b2", "c", "d")
"""Short names of the planted tasks (the lm-eval task is ``mtl_affsyn_<name>``)."""
_PREFIX = "mtl_affsyn_"
_RULES = {"a1": ("R1",), "a2": ("R1",), "b1": ("R2",), "b2": ("R2",), "c": ("R1", "R2"), "d": ("R3",)}
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class PlantedSuite:
    """Where :func:`write_planted_suite` wrote the tasks, and their planted truth."""

    folder: Path
    """Pass as ``include_path``."""
    tasks: tuple[str, ...]
    """lm-eval task names, in :data:`PLANTED_TASKS` order."""
    group: str
    """Group name holding every task."""
    tables: npt.NDArray[np.int64]
    """(T, n_features) the +-1 rule of each task."""
    n_features: int
    """Feature tokens."""
    n_eval: int
    """Evaluation items per task."""
    seed: int
    """Seed of the rules."""

    @property
    def agreement(self) -> npt.NDArray[np.float64]:
        """(T, T) fraction of features on which two tasks' rules agree."""
        t = self.tables
        return np.asarray((t[:, None, :] == t[None, :, :]).mean(axis=2), dtype=np.float64)

    @property
    def related(self) -> npt.NDArray[np.bool_]:
        """(T, T) True where two different tasks share a latent rule."""
        names = PLANTED_TASKS
        out = np.array([[bool(set(_RULES[a]) & set(_RULES[b])) for b in names] for a in names])
        np.fill_diagonal(out, False)
        return out

    def vocabulary(self) -> dict[str, int]:
        """Token -> id of the word-level tokenizer."""
        words = ["<eos>", "yes", "no"] + [f"t{i}" for i in range(len(self.tasks))]
        words += [f"f{i}" for i in range(self.n_features)]
        return {w: i for i, w in enumerate(words)}


def _balanced_flip(rule: IntArray, k: int, rng: np.random.Generator) -> IntArray:
    out = rule.copy()
    pos, neg = np.flatnonzero(rule > 0), np.flatnonzero(rule < 0)
    out[rng.choice(pos, k // 2, replace=False)] *= -1
    out[rng.choice(neg, k // 2, replace=False)] *= -1
    return out


def _tables(n_features: int, rng: np.random.Generator) -> IntArray:
    h = np.array([[1]], dtype=np.int64)
    while h.shape[0] < n_features:
        h = np.block([[h, h], [h, -h]])
    perm = rng.permutation(n_features)
    r1, r2, r3 = (h[i][perm] for i in (1, 2, 3))
    while True:  # half R1, half R2, itself balanced
        half = rng.permutation(n_features) < n_features // 2
        c = np.where(half, r1, r2)
        if c.sum() == 0:
            break
    flips = max(2, n_features // 8)
    rows = [r1, _balanced_flip(r1, flips, rng), r2, _balanced_flip(r2, flips, rng), c, r3]
    return np.stack(rows).astype(np.int64)


def write_planted_suite(
    folder: str | Path, *, n_features: int = 32, n_eval: int = 64, seed: int = 0
) -> PlantedSuite:
    """Write the six planted tasks (JSONL + lm-eval YAML) and a group into ``folder``.

    Args:
        folder: Destination (created).
        n_features: Feature tokens (a power of two, >= 8).
        n_eval: Evaluation items per task (a multiple of ``n_features``).
        seed: Seed of the rules and of the item order.

    Raises:
        ValueError: Bad sizes.
    """
    if n_features < 8 or n_features & (n_features - 1):
        raise ValueError(f"`n_features` must be a power of two >= 8; got {n_features}.")
    if n_eval < n_features or n_eval % n_features:
        raise ValueError(
            f"`n_eval` must be a positive multiple of `n_features` ({n_features}); got {n_eval}."
        )
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tables = _tables(n_features, rng)
    names = tuple(_PREFIX + t for t in PLANTED_TASKS)
    for i, (short, name) in enumerate(zip(PLANTED_TASKS, names, strict=True)):
        feats = np.tile(np.arange(n_features), n_eval // n_features)
        rng.shuffle(feats)
        rows = [{"prompt": f"t{i} f{int(f)}", "label": int(tables[i, f] > 0)} for f in feats]
        data = out / f"{short}.jsonl"
        data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        (out / f"{short}.yaml").write_text(
            f"task: {name}\n"
            "dataset_path: json\n"
            f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(data))}\n"
            "test_split: test\n"
            "output_type: multiple_choice\n"
            'doc_to_text: "{{prompt}}"\n'
            'doc_to_choice: ["no", "yes"]\n'
            "doc_to_target: label\n"
            "metric_list:\n  - metric: acc\n    aggregation: mean\n    higher_is_better: true\n"
            "metadata:\n  version: 1.0\n",
            encoding="utf-8",
        )
    group = _PREFIX + "suite"
    (out / "suite.yaml").write_text(
        f"group: {group}\ntask:\n" + "".join(f"  - {n}\n" for n in names) + "metadata:\n  version: 1.0\n",
        encoding="utf-8",
    )
    return PlantedSuite(out, names, group, tables, n_features, n_eval, seed)


def _save(model: Any, suite: PlantedSuite, folder: Path) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel(vocab=suite.vocabulary(), unk_token="<eos>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast_cls: Any = PreTrainedTokenizerFast
    fast = fast_cls(
        tokenizer_object=tok, eos_token="<eos>", bos_token="<eos>", unk_token="<eos>", pad_token="<eos>"
    )
    fast.model_max_length = 16
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(folder)
    model.save_pretrained(folder)
    return folder


def _prompts(suite: PlantedSuite, task_index: int, n: int, rng: np.random.Generator) -> tuple[Any, Any]:
    """Return a label-balanced batch of (marker, feature) token ids and labels of one task."""
    import torch

    vocab = suite.vocabulary()
    rule = suite.tables[task_index]
    pos, neg = np.flatnonzero(rule > 0), np.flatnonzero(rule < 0)
    feats = np.concatenate([rng.choice(pos, n // 2), rng.choice(neg, n - n // 2)])
    rng.shuffle(feats)
    ids = np.stack(
        [np.full(n, vocab[f"t{task_index}"]), np.array([vocab[f"f{int(f)}"] for f in feats])], axis=1
    )
    return torch.as_tensor(ids), torch.as_tensor((rule[feats] > 0).astype(np.int64))


def _choice_logp(model: Any, ids: Any, vocab: dict[str, int]) -> Any:
    import torch

    lp = torch.log_softmax(model(ids).logits[:, -1, :], dim=-1)
    return torch.stack([lp[:, vocab["no"]], lp[:, vocab["yes"]]], dim=1)


def train_base_model(
    folder: str | Path,
    suite: PlantedSuite,
    *,
    steps: int = 300,
    n_embd: int = 32,
    n_layer: int = 2,
    seed: int = 0,
) -> Path:
    """Train and save the base model (see the module docstring); returns its folder."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    vocab = suite.vocabulary()
    rng = np.random.default_rng(seed + 1)
    torch.manual_seed(seed)
    cfg = GPT2Config(
        vocab_size=len(vocab), n_positions=16, n_embd=n_embd, n_layer=n_layer, n_head=2,
        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0, bos_token_id=0, eos_token_id=0,
    )  # fmt: skip
    model_cls: Any = GPT2LMHeadModel
    model = model_cls(cfg)
    successor = np.random.default_rng(seed + 2).permutation(suite.n_features)
    first_feature = vocab["f0"]
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 1.0 - k / steps)
    uniform = torch.full((64, 2), 0.5)
    for step in range(steps):
        ids, _ = _prompts(suite, step % len(suite.tasks), 64, rng)
        chain = [rng.integers(0, suite.n_features, 64)]
        for _ in range(5):
            chain.append(successor[chain[-1]])
        seqs = torch.as_tensor(np.stack(chain, axis=1) + first_feature)
        loss: Any = model(seqs, labels=seqs).loss + torch.nn.functional.cross_entropy(
            _choice_logp(model, ids, vocab), uniform
        )
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    return _save(model, suite, Path(folder))


def finetune_on_task(
    base: str | Path,
    suite: PlantedSuite,
    task: str,
    folder: str | Path,
    *,
    steps: int = 30,
    lr: float = 1e-3,
    batch: int = 32,
    seed: int = 0,
) -> Path:
    """Fine-tune a copy of the base model on one task (its short or lm-eval name); returns its folder."""
    import torch
    from transformers import AutoModelForCausalLM

    short = task.removeprefix(_PREFIX)
    index = PLANTED_TASKS.index(short)
    vocab = suite.vocabulary()
    torch.manual_seed(seed)
    auto: Any = AutoModelForCausalLM
    model = auto.from_pretrained(str(base))
    model.train()
    rng = np.random.default_rng(1000 + 17 * index + seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        ids, labels = _prompts(suite, index, batch, rng)
        loss: Any = torch.nn.functional.cross_entropy(_choice_logp(model, ids, vocab), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    return _save(model, suite, Path(folder))


def related_auc(score: npt.ArrayLike, related: npt.ArrayLike) -> float:
    """AUC of ``score`` ranking related off-diagonal cells above unrelated ones (ties count 1/2)."""
    s = np.asarray(score, dtype=np.float64)
    r = np.asarray(related, dtype=bool)
    off = ~np.eye(s.shape[0], dtype=bool)
    pos, neg = s[off & r], s[off & ~r]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)


def off_diagonal(m: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Return the off-diagonal cells of a square matrix, row by row."""
    a = np.asarray(m, dtype=np.float64)
    return a[~np.eye(a.shape[0], dtype=bool)]
