"""Seeded, stratified caps for the ``mtl_suite_lite`` tasks.

Every ``mtl_lite_<task>`` YAML points its ``process_docs`` at one of the
``cap_<task>`` functions below. Each keeps at most ``cap`` documents of the
evaluation split, allocated to strata (the gold label, where the task has one)
in proportion to their sizes (largest remainder, ties broken by the stratum's
string key), and inside each stratum takes the documents whose
``sha256(f"{seed}:{index}")`` digests sort first. The choice depends only on the
split's length, its labels and the seed: no RNG, no hash randomization, the same
items on every platform and Python version. Kept documents stay in dataset order.

Splits other than the evaluation split (the few-shot pool) pass through
unchanged, so few-shot contexts are drawn exactly as the built-in task draws them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from typing import Any

SEED = 1234
"""Seed of every cap in the suite (part of the suite version: changing it bumps the version)."""


def _digest(seed: int, index: int) -> str:
    return hashlib.sha256(f"{seed}:{index}".encode("ascii")).hexdigest()


def stratified_indices(labels: Sequence[Any], cap: int, seed: int = SEED) -> list[int]:
    """Return the indices of a seeded stratified subsample of at most ``cap`` items.

    Args:
        labels: One stratum key per item (any values; compared through ``str``).
            Pass a constant to sample without strata.
        cap: Largest number of items to keep; must be positive.
        seed: Seed of the per-item ordering.

    Returns:
        Sorted indices of the kept items; all indices when ``len(labels) <= cap``.

    Raises:
        ValueError: ``cap`` is not a positive integer.
    """
    if isinstance(cap, bool) or not isinstance(cap, int) or cap < 1:
        raise ValueError(f"`cap` must be a positive integer; got {cap!r}.")
    n = len(labels)
    if n <= cap:
        return list(range(n))
    strata: dict[str, list[int]] = {}
    for i, value in enumerate(labels):
        strata.setdefault(str(value), []).append(i)
    keys = sorted(strata)
    quota = {k: cap * len(strata[k]) // n for k in keys}
    left = cap - sum(quota.values())
    # largest remainder first; ties by stratum key (deterministic)
    by_remainder = sorted(keys, key=lambda k: (-((cap * len(strata[k])) % n), k))
    for k in by_remainder[:left]:
        quota[k] += 1
    kept: list[int] = []
    for k in keys:
        members = sorted(strata[k], key=lambda i: _digest(seed, i))
        kept.extend(members[: quota[k]])
    return sorted(kept)


def cap_docs(
    dataset: Any,
    *,
    cap: int,
    split: str,
    label: str | Callable[[dict[str, Any]], Any] | None,
    seed: int = SEED,
) -> Any:
    """Cap a ``datasets.Dataset`` when it is the evaluation split.

    Args:
        dataset: The split lm-eval passes to ``process_docs``.
        cap: Largest number of documents to keep.
        split: Name of the evaluation split; other splits pass through unchanged
            (a dataset without split information is capped).
        label: Doc field (or function of the doc) giving the stratum; None for no strata.
        seed: Seed of the per-item ordering.

    Returns:
        The capped dataset (``dataset.select`` of the kept indices) or ``dataset`` itself.
    """
    own_split = getattr(dataset, "split", None)
    if own_split is not None and str(own_split) != split:
        return dataset
    if label is None:
        labels: list[Any] = [0] * len(dataset)
    elif callable(label):
        labels = [label(doc) for doc in dataset]
    else:
        labels = list(dataset[label])
    keep = stratified_indices(labels, cap, seed)
    if len(keep) == len(dataset):
        return dataset
    return dataset.select(keep)


# ----------------------------------------------------------------- per task
# Caps: 500 for multiple-choice tasks, 200 for generation tasks (longer per item),
# 20 per MMLU subject (57 subjects, 1,140 items).


def cap_sst2(dataset: Any) -> Any:
    """Cap for ``mtl_lite_sst2``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="validation", label="label")


def cap_rte(dataset: Any) -> Any:
    """Cap for ``mtl_lite_rte``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="validation", label="label")


def cap_ag_news(dataset: Any) -> Any:
    """Cap for ``mtl_lite_ag_news``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="test", label="label")


def cap_boolq(dataset: Any) -> Any:
    """Cap for ``mtl_lite_boolq``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="validation", label="label")


def cap_arc(dataset: Any) -> Any:
    """Cap for ``mtl_lite_arc``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="test", label="answerKey")


def cap_triviaqa(dataset: Any) -> Any:
    """Cap for ``mtl_lite_triviaqa``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="validation", label=None)


def cap_wmt16(dataset: Any) -> Any:
    """Cap for ``mtl_lite_wmt16``: see the module docstring."""
    return cap_docs(dataset, cap=200, split="test", label=None)


def cap_hellaswag(dataset: Any) -> Any:
    """Cap for ``mtl_lite_hellaswag``: see the module docstring."""
    from lm_eval.tasks.hellaswag.utils import process_docs

    return process_docs(cap_docs(dataset, cap=500, split="validation", label="label"))


def cap_winogrande(dataset: Any) -> Any:
    """Cap for ``mtl_lite_winogrande``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="validation", label="answer")


def cap_piqa(dataset: Any) -> Any:
    """Cap for ``mtl_lite_piqa``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="validation", label="label")


def cap_mmlu(dataset: Any) -> Any:
    """Cap for ``mtl_lite_mmlu``: see the module docstring."""
    return cap_docs(dataset, cap=20, split="test", label="answer")


def cap_gsm8k(dataset: Any) -> Any:
    """Cap for ``mtl_lite_gsm8k``: see the module docstring."""
    return cap_docs(dataset, cap=200, split="test", label=None)


def cap_banking77(dataset: Any) -> Any:
    """Cap for ``mtl_lite_banking77``: see the module docstring."""
    return cap_docs(dataset, cap=500, split="test", label="label")
