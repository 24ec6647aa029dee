"""Alignment of two runs' items, and the checks that they scored the same items.

Paired statistics need the same items in both runs. Two lm-eval runs of one task
scored the same items when they agree on the number of items, the number of
few-shot examples, the task version and the task hash, and when their
per-item records carry the same ``(doc_id, doc_hash)`` pairs. The order of the
records in the samples files does not matter: :func:`align_items` returns the
permutations that put both runs in one order (sorted by ``doc_id``).

Anything else is refused with :class:`~lm_eval_mtl.errors.IncompatibleRunsError`
naming what differs, never averaged over a partial overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import IncompatibleRunsError
from lm_eval_mtl.io.results import TaskResult

__all__ = ["AlignedItems", "align_items", "check_same_settings"]


@dataclass(frozen=True)
class AlignedItems:
    """Index arrays that put two runs' items of one task in one common order."""

    doc_ids: npt.NDArray[np.int64]
    """The common ``doc_id`` of each aligned position (sorted ascending)."""
    index_a: npt.NDArray[np.int64]
    """Positions in run A's records, one per aligned item."""
    index_b: npt.NDArray[np.int64]
    """Positions in run B's records, one per aligned item."""

    def __len__(self) -> int:
        return int(self.doc_ids.shape[0])


def _examples(values: npt.NDArray[np.int64], k: int = 5) -> str:
    shown = ", ".join(str(int(v)) for v in values[:k])
    return shown + (", ..." if values.shape[0] > k else "")


def align_items(
    task: str,
    doc_ids_a: npt.ArrayLike,
    doc_hashes_a: Sequence[str],
    doc_ids_b: npt.ArrayLike,
    doc_hashes_b: Sequence[str],
    *,
    names: tuple[str, str] = ("A", "B"),
) -> AlignedItems:
    """Match two runs' records of one task by ``doc_id`` and ``doc_hash``.

    Args:
        task: Task name, for messages.
        doc_ids_a: ``doc_id`` per record of run A, in file order.
        doc_hashes_a: ``doc_hash`` per record of run A ('' where lm-eval logged none).
        doc_ids_b: The same for run B.
        doc_hashes_b: The same for run B.
        names: How to call the two runs in messages.

    Returns:
        The aligned order (by ``doc_id``) and the positions of each item in both runs.

    Raises:
        IncompatibleRunsError: A run repeats a ``doc_id``; the runs scored different
            ``doc_id`` sets (another ``--limit`` or split); or the same ``doc_id`` carries
            different document hashes (another task version or dataset revision).
            The message says which and gives examples.
    """
    ida = np.asarray(doc_ids_a, dtype=np.int64).reshape(-1)
    idb = np.asarray(doc_ids_b, dtype=np.int64).reshape(-1)
    na, nb = names
    for ids, hashes, who in ((ida, doc_hashes_a, na), (idb, doc_hashes_b, nb)):
        if len(hashes) != ids.shape[0]:
            raise IncompatibleRunsError(
                f"task {task!r}: run {who} has {ids.shape[0]} doc_ids but {len(hashes)} doc_hashes."
            )
        uniq, counts = np.unique(ids, return_counts=True)
        if np.any(counts > 1):
            raise IncompatibleRunsError(
                f"task {task!r}: run {who} repeats doc_id(s) {_examples(uniq[counts > 1])}; "
                "each item must be scored once (was the samples file written twice?)."
            )
    order_a = np.argsort(ida, kind="stable")
    order_b = np.argsort(idb, kind="stable")
    sa, sb = ida[order_a], idb[order_b]
    if sa.shape != sb.shape or not np.array_equal(sa, sb):
        only_a = np.setdiff1d(sa, sb)
        only_b = np.setdiff1d(sb, sa)
        parts = [f"run {na} scored {sa.shape[0]} items and run {nb} scored {sb.shape[0]}"]
        if only_a.size:
            parts.append(f"{only_a.size} doc_id(s) only in {na} ({_examples(only_a)})")
        if only_b.size:
            parts.append(f"{only_b.size} doc_id(s) only in {nb} ({_examples(only_b)})")
        raise IncompatibleRunsError(
            f"task {task!r}: the runs scored different items: {'; '.join(parts)}. "
            "Re-run both with the same --limit and split."
        )
    ha = np.asarray(doc_hashes_a, dtype=object)[order_a]
    hb = np.asarray(doc_hashes_b, dtype=object)[order_b]
    known = (ha != "") & (hb != "")
    differ = known & (ha != hb)
    if np.any(differ):
        bad = sa[differ]
        raise IncompatibleRunsError(
            f"task {task!r}: document hashes differ for {bad.size} of {sa.shape[0]} items "
            f"(doc_id {_examples(bad)}): the runs used different documents "
            "(another task version or dataset revision)."
        )
    return AlignedItems(doc_ids=sa, index_a=order_a.astype(np.int64), index_b=order_b.astype(np.int64))


def check_same_settings(
    task: str, a: TaskResult, b: TaskResult, *, names: tuple[str, str] = ("A", "B")
) -> None:
    """Refuse two results of one task that cannot have scored the same items.

    Compares the number of items scored (``n-samples.effective``, i.e. ``--limit``),
    ``num_fewshot``, the task version and the task hash, where both runs record them.

    Raises:
        IncompatibleRunsError: Any of them differs; the message lists every difference
            with both values.
    """
    na, nb = names
    diffs: list[str] = []
    fields: tuple[tuple[str, object, object], ...] = (
        ("number of items (--limit)", a.n, b.n),
        ("num_fewshot", a.num_fewshot, b.num_fewshot),
        ("task version", a.version, b.version),
        ("task hash", a.task_hash, b.task_hash),
    )
    for label, va, vb in fields:
        if va is not None and vb is not None and va != vb:
            diffs.append(f"{label} differs ({na}: {va}, {nb}: {vb})")
    if diffs:
        raise IncompatibleRunsError(
            f"task {task!r} cannot be compared: {'; '.join(diffs)}. "
            "Paired statistics need both runs to score the same items."
        )
