"""lm-eval samples files (``samples_<task>_<timestamp>.jsonl``) as typed per-item arrays.

v0.4 samples files hold one JSON record per item and filter: ``doc_id``, ``doc``,
``target``, ``arguments``, ``resps``, ``filtered_resps``, ``filter``, ``metrics``,
``doc_hash``, ``prompt_hash``, ``target_hash`` and one key per metric. A metric whose
per-item value is a number (``acc``: 0/1) is a per-item score; corpus metrics (``bleu``,
``chrf``, ``ter``) log ``[reference, prediction]`` per item (lm-eval ``api/task.py``
``process_results`` calls the passthrough ``bleu_fn([gold, result])``), kept as
:attr:`TaskSamples.pairs`; a metric logged as a list of numbers per item (IFEval's
instruction-level accuracy) is kept flattened in :attr:`TaskSamples.nested`. (gold,
prediction) pairs of ``f1``/``mcc`` are not read.

Files are streamed and only the fields above are decoded (:mod:`lm_eval_mtl.io.decode`,
msgspec); a task's items become a few numpy arrays, without their docs, prompts or
responses. What a file gives is kept in the samples cache (:mod:`lm_eval_mtl.io.cache`),
which also reads several files in worker processes (:func:`lm_eval_mtl.io.workers.read_samples_many`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import MissingMetricError, ResultsFormatError
from lm_eval_mtl.io.columns import FIXED_KEYS, PAIR_METRICS, DocFields
from lm_eval_mtl.io.decode import scan_file
from lm_eval_mtl.io.names import SAMPLES_NAME as _SAMPLES_NAME
from lm_eval_mtl.io.values import is_metric_number as _is_metric_number
from lm_eval_mtl.io.values import opt_int as _opt_int

__all__ = [
    "DocFields",
    "Extract",
    "TaskSamples",
    "concat_samples",
    "extract_samples",
    "read_samples",
    "samples_from_extract",
]


@dataclass(frozen=True)
class Extract:
    """What one samples file says about one filter: per-item arrays, nothing else."""

    doc_ids: npt.NDArray[np.int64]
    lines: npt.NDArray[np.int64]
    doc_hashes: tuple[str, ...]
    prompt_hashes: tuple[str, ...]
    target_hashes: tuple[str, ...]
    scores: Mapping[str, npt.NDArray[np.float64]]
    n_choices: npt.NDArray[np.int64] | None
    pairs: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
    nested: Mapping[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]]
    filters_available: tuple[str, ...]
    doc_fields: DocFields | None
    """None: not read (:func:`read_samples` leaves the docs out; :class:`TaskSamples` reads them on demand)."""


@dataclass(frozen=True)
class TaskSamples:
    """Per-item records of one task from a ``samples_*.jsonl`` file (one filter)."""

    task: str
    """lm-eval task name."""
    filter: str
    """Filter the records belong to."""
    doc_ids: npt.NDArray[np.int64]
    """``doc_id`` per item, in file order."""
    doc_hashes: tuple[str, ...]
    """``doc_hash`` per item ('' where absent)."""
    scores: Mapping[str, npt.NDArray[np.float64]]
    """Per-item value of each scalar metric (``acc`` -> 0/1 array); NaN where an item had none."""
    n_choices: npt.NDArray[np.int64] | None
    """Number of choices per item for multiple-choice tasks, else None."""
    pairs: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]]
    """Corpus metrics (``bleu``, ``chrf``, ``ter``): (references, predictions), one entry per item."""
    path: Path
    """File the records came from."""
    lines: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    """1-based line number of each item's record in :attr:`path`."""
    _doc_fields: DocFields | None = field(default=None, repr=False, compare=False)
    """The docs' fields when given (None: read on demand from :attr:`sources`); see :attr:`doc_fields`."""
    prompt_hashes: tuple[str, ...] = ()
    """``prompt_hash`` per item ('' where absent)."""
    target_hashes: tuple[str, ...] = ()
    """``target_hash`` per item ('' where absent)."""
    subtasks: tuple[str, ...] = ()
    """For a group's samples (concatenated leaf tasks): the leaf task of each item; else empty."""
    filters_available: tuple[str, ...] = ()
    """Every filter present in the file."""
    nested: Mapping[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]] = field(default_factory=dict)
    """Metrics logged as a list of numbers per item (IFEval's ``inst_level_strict_acc``: one
    bool per instruction): (flattened values, index of the item each value belongs to).
    lm-eval aggregates them as the mean of the flattened values."""
    sources: tuple[tuple[Path, int], ...] = field(default=(), repr=False, compare=False)
    """(file, number of items) of each consecutive part of the items (one part per leaf task)."""
    cache_key: str = field(default="", repr=False, compare=False)
    """Names the content the items were read from, for derived cache entries ('' : not cached)."""
    _memo: dict[str, DocFields] = field(default_factory=dict, repr=False, compare=False)

    @property
    def doc_fields(self) -> DocFields | None:
        """Each item's top-level scalar doc fields as compact keys (for :meth:`clusters`); None: no docs.

        :func:`read_samples` leaves the docs out (only clustered members need them); they are
        read from the items' lines in :attr:`sources` on first use and kept in the samples cache.

        Raises:
            ResultsFormatError: A samples file changed since its items were read.
        """
        if self._doc_fields is not None or not self.sources:
            return self._doc_fields
        got = self._memo.get("docs")
        if got is None:
            from lm_eval_mtl.io.cache import cached_doc_fields

            got = self._memo["docs"] = cached_doc_fields(self.cache_key, len(self), self._read_doc_fields)
        return got

    def _read_doc_fields(self) -> DocFields:
        from lm_eval_mtl.io.decode import read_doc_fields

        parts = []
        start = 0
        for path, count in self.sources:
            span = slice(start, start + count)
            parts.append(read_doc_fields(path, self.lines[span].tolist(), self.doc_ids[span].tolist()))
            start += count
        return parts[0] if len(parts) == 1 else DocFields.concat(parts)

    def __len__(self) -> int:
        return int(self.doc_ids.shape[0])

    @property
    def docs(self) -> tuple[Mapping[str, Any], ...]:
        """The full ``doc`` of each item, read again from the samples file(s) on each access.

        Docs are not kept in memory; :meth:`clusters` needs only :attr:`doc_fields`.
        """
        from lm_eval_mtl.io.decode import read_docs

        out: list[Mapping[str, Any]] = []
        start = 0
        for path, count in self.sources:
            out.extend(read_docs(path, self.lines[start : start + count].tolist()))
            start += count
        return tuple(out)

    def item_scores(self, metric: str) -> npt.NDArray[np.float64]:
        """Return the per-item values of a scalar metric, checked finite.

        Raises:
            MissingMetricError: No per-item scalar values for ``metric`` (available listed).
            ResultsFormatError: Some item's value is NaN or missing (file and line named).
        """
        values = self.scores.get(metric)
        if values is None:
            corpus = f" ({metric!r} is a corpus metric: use `pairs`)" if metric in self.pairs else ""
            if metric in self.nested:
                corpus = f" ({metric!r} has a list of values per item: use `nested`)"
            raise MissingMetricError(
                f"samples of task {self.task!r} ({self.path}) have no per-item metric {metric!r}{corpus}. "
                f"Available: {', '.join(self.scores) or 'none'}."
            )
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            line = int(self.lines[bad[0]]) if self.lines.size else int(bad[0]) + 1
            raise ResultsFormatError(
                f"{self.path}:{line}: metric {metric!r} of task {self.task!r} is missing or not a "
                f"finite number for {bad.size} item(s)."
            )
        return values

    def clusters(self, doc_field: str) -> npt.NDArray[np.int64]:
        """Integer cluster label per item from the doc field ``doc_field``.

        Labels are 0..G-1 in order of first appearance; items share a label when the field
        holds the same JSON value (``1`` and ``1.0`` differ, as in ``json.dumps``).

        Raises:
            MissingMetricError: Some item's doc lacks the field (named in the message), or the
                field holds a list or an object rather than a string, number or boolean.
        """
        df = self.doc_fields
        if df is None or len(df) != len(self):
            raise MissingMetricError(
                f"samples of task {self.task!r} ({self.path}) carry no docs; cannot read cluster field {doc_field!r}."
            )
        codes = df.codes.get(doc_field)
        col = codes if codes is not None else np.full(len(self), -1, dtype=np.int64)
        bad = np.flatnonzero(col < 0)
        if bad.size:
            i = int(bad[0])
            line = int(self.lines[i]) if self.lines.size else i + 1
            if col[i] == -1:
                fields = ", ".join(df.keysets[int(df.keyset_index[i])])
                raise MissingMetricError(
                    f"{self.path}:{line}: the doc of task {self.task!r} has no field {doc_field!r} "
                    f"for clustering; its fields: {fields}."
                )
            raise MissingMetricError(
                f"{self.path}:{line}: the doc field {doc_field!r} of task {self.task!r} holds a list or an "
                "object; a cluster key must be a top-level doc field holding a string, number or boolean "
                "(the same value for the items of one context)."
            )
        return np.array(col, dtype=np.int64)


# --------------------------------------------------------------------------- columns -> arrays


def _check_item_domain(
    path: Path, task: str, metric: str, values: npt.NDArray[np.float64], lines: npt.NDArray[np.int64]
) -> None:
    """Refuse per-item values outside the metric's domain (io/domains.py), naming the first line."""
    from lm_eval_mtl.io.domains import describe_domain, metric_domain

    domain = metric_domain(metric)
    if domain is None or values.size == 0:
        return
    lo, hi = domain
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(np.isfinite(values) & ((values < lo - 1e-9) | (values > hi + 1e-9)))
    if bad.size:
        i = int(bad[0])
        raise ResultsFormatError(
            f"{path}:{int(lines[i])}: metric {metric!r} of task {task!r} is {float(values[i])!r} for this item "
            f"({bad.size} item value(s) out of range); expected values in {describe_domain(domain)}."
        )


def _as_str_ref(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    return None


def extract_samples(
    path: Path,
    *,
    task: str,
    filter: str,
    output_type: str | None,
    docs: bool = True,
    fast: bool = True,
    hasher: Any = None,
) -> Extract:
    """Read the records of one filter from a samples file into per-item arrays.

    Args:
        path: The samples file (it exists).
        task: Task name, for messages.
        filter: The filter whose records to keep.
        output_type: The task's lm-eval output type, when known (see :func:`read_samples`).
        docs: Code the docs' top-level fields (:attr:`Extract.doc_fields`; False: None, the docs
            are only checked to be JSON).
        fast: Use the typed fast path where it applies (False: the generic decoder only).
        hasher: A :mod:`hashlib` object fed every byte read, or None.

    Raises:
        ResultsFormatError: As :func:`read_samples`.
        MissingMetricError: No record has the filter.
    """
    p = path
    need_args = output_type is None or output_type == "multiple_choice"
    scan = scan_file(p, filter, need_args, docs=docs, fast=fast, hasher=hasher)
    if fast and not FIXED_KEYS.isdisjoint(scan.names):  # a record lists a fixed key as a metric
        scan = scan_file(p, filter, need_args, docs=docs, fast=False)
    if scan.n_records == 0:
        raise ResultsFormatError(f"{p}: empty samples file (no records); the run may have been interrupted.")
    n = len(scan.lines)
    if not n:
        raise MissingMetricError(
            f"samples of task {task!r} ({p}) have no records with filter {filter!r}; "
            f"filters present: {', '.join(scan.filters)}."
        )
    seen: dict[int, int] = {}
    doc_ids = np.empty(n, dtype=np.int64)
    lines = np.array(scan.lines, dtype=np.int64)
    for i, (lineno, raw_id) in enumerate(zip(scan.lines, scan.doc_ids, strict=True)):
        did = raw_id if type(raw_id) is int else _opt_int(raw_id)
        if did is None:
            raise ResultsFormatError(f"{p}:{lineno}: `doc_id` must be an integer; got {raw_id!r}.")
        if did in seen:
            extra = (
                " Records carry no `filter` field, so several filters may be mixed in this file."
                if not scan.has_filter[i]
                else ""
            )
            raise ResultsFormatError(
                f"{p}:{lineno}: doc_id {did} repeats (first at line {seen[did]}) within filter {filter!r}.{extra}"
            )
        seen[did] = lineno
        doc_ids[i] = did

    scores: dict[str, npt.NDArray[np.float64]] = {}
    pairs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    nested: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]] = {}
    for name in scan.names:
        vals = scan.cols.get(name, [])
        vals = vals + [None] * (n - len(vals))
        if all(v is None or _is_metric_number(v) or isinstance(v, bool) for v in vals):
            scores[name] = np.array([math.nan if v is None else float(v) for v in vals], dtype=np.float64)
            _check_item_domain(p, task, name, scores[name], lines)
            continue
        lists = [v for v in vals if isinstance(v, list)]
        if (
            name not in PAIR_METRICS
            and len(lists) == len(vals)
            and any(lists)
            and all(_is_metric_number(x) or isinstance(x, bool) for v in lists for x in v)
        ):
            flat = [float(x) for v in lists for x in v]
            owner = [i for i, v in enumerate(lists) for _ in v]
            nested[name] = (np.array(flat, dtype=np.float64), np.array(owner, dtype=np.int64))
            _check_item_domain(p, task, name, nested[name][0], lines[nested[name][1]])
            continue
        if all(isinstance(v, list) and len(v) == 2 for v in vals):
            refs = [_as_str_ref(v[0]) for v in vals]
            preds = [_as_str_ref(v[1]) for v in vals]
            if all(r is not None for r in refs) and all(q is not None for q in preds):
                pairs[name] = (
                    tuple(r for r in refs if r is not None),
                    tuple(q for q in preds if q is not None),
                )
        # anything else (f1/mcc (gold, pred) pairs, dicts, multi-reference lists) is not read.

    if output_type is None:
        is_mc = all(scan.loglik) and any(k >= 2 for k in scan.n_args)
    else:
        is_mc = output_type == "multiple_choice"
    return Extract(
        doc_ids=doc_ids,
        lines=lines,
        doc_hashes=tuple(scan.hashes[0]),
        prompt_hashes=tuple(scan.hashes[1]),
        target_hashes=tuple(scan.hashes[2]),
        scores=scores,
        n_choices=np.array(scan.n_args, dtype=np.int64) if is_mc else None,
        pairs=pairs,
        nested=nested,
        filters_available=tuple(scan.filters),
        doc_fields=scan.doc_fields(n) if docs else None,
    )


def read_samples(
    path: str | Path,
    *,
    task: str | None = None,
    filter: str = "none",
    output_type: str | None = None,
) -> TaskSamples:
    """Read the records of one filter from a ``samples_*.jsonl`` file.

    Only the fields the package uses are decoded (:mod:`lm_eval_mtl.io.decode`), and the
    result is kept in the samples cache (:mod:`lm_eval_mtl.io.cache`) for the next read of
    the unchanged file.

    Args:
        path: The samples file.
        task: Task name; default: taken from the file name (``samples_<task>_<ts>.jsonl``).
        filter: The filter whose records to keep (``none``, ``strict-match`` ...).
            Records without a ``filter`` field (older v0.4 files) count as ``none``.
        output_type: The task's lm-eval output type, when known. Multiple-choice
            items get :attr:`TaskSamples.n_choices` (the number of loglikelihood
            requests); when None, a task is taken as multiple-choice when its
            requests are (context, continuation) pairs and some item has two or more.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ResultsFormatError: Empty file, invalid JSON (line given), a record
            without ``doc_id``, or a ``doc_id`` repeated within the filter.
        MissingMetricError: No record has the filter ``filter`` (filters present listed).
    """
    from lm_eval_mtl.io.cache import read_extract

    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"samples file {p} does not exist.")
    if task is None:
        m = _SAMPLES_NAME.match(p.name)
        task = m.group("task") if m else p.stem
    name = task
    ext, key = read_extract(
        p,
        (filter, output_type or ""),
        lambda hasher: extract_samples(
            p, task=name, filter=filter, output_type=output_type, docs=False, hasher=hasher
        ),
    )
    return samples_from_extract(task, filter, p, ext, key)


def samples_from_extract(task: str, filter: str, path: Path, ext: Extract, key: str) -> TaskSamples:
    """Return the :class:`TaskSamples` of one file's extraction (``key``: :attr:`TaskSamples.cache_key`)."""
    return TaskSamples(
        task=task,
        filter=filter,
        doc_ids=ext.doc_ids,
        doc_hashes=ext.doc_hashes,
        scores=ext.scores,
        n_choices=ext.n_choices,
        pairs=ext.pairs,
        path=path,
        lines=ext.lines,
        _doc_fields=ext.doc_fields,
        prompt_hashes=ext.prompt_hashes,
        target_hashes=ext.target_hashes,
        filters_available=ext.filters_available,
        nested=ext.nested,
        sources=((path, len(ext.doc_ids)),),
        cache_key=key,
    )


# --------------------------------------------------------------------------- groups


def concat_samples(task: str, parts: Sequence[TaskSamples]) -> TaskSamples:
    """Concatenate the samples of a group's leaf tasks (metrics present in every part)."""
    common = set(parts[0].scores)
    common_pairs = set(parts[0].pairs)
    for s in parts[1:]:
        common &= set(s.scores)
        common_pairs &= set(s.pairs)
    scores = {m: np.concatenate([s.scores[m] for s in parts]) for m in parts[0].scores if m in common}
    pairs = {
        m: (
            tuple(r for s in parts for r in s.pairs[m][0]),
            tuple(q for s in parts for q in s.pairs[m][1]),
        )
        for m in parts[0].pairs
        if m in common_pairs
    }
    common_nested = set(parts[0].nested)
    for s in parts[1:]:
        common_nested &= set(s.nested)
    offsets = np.cumsum([0] + [len(s) for s in parts[:-1]])
    nested = {
        m: (
            np.concatenate([s.nested[m][0] for s in parts]),
            np.concatenate([s.nested[m][1] + off for s, off in zip(parts, offsets, strict=True)]),
        )
        for m in parts[0].nested
        if m in common_nested
    }
    has_nc = all(s.n_choices is not None for s in parts)
    fields = [s._doc_fields for s in parts]
    keys = [s.cache_key for s in parts]
    return TaskSamples(
        task=task,
        filter=parts[0].filter,
        doc_ids=np.concatenate([s.doc_ids for s in parts]),
        doc_hashes=tuple(h for s in parts for h in s.doc_hashes),
        scores=scores,
        n_choices=np.concatenate([s.n_choices for s in parts if s.n_choices is not None]) if has_nc else None,
        pairs=pairs,
        path=parts[0].path.parent,
        lines=np.concatenate([s.lines for s in parts]),
        _doc_fields=DocFields.concat([f for f in fields if f is not None])
        if all(f is not None for f in fields)
        else None,
        prompt_hashes=tuple(h for s in parts for h in s.prompt_hashes),
        target_hashes=tuple(h for s in parts for h in s.target_hashes),
        subtasks=tuple(s.task for s in parts for _ in range(len(s))),
        filters_available=parts[0].filters_available,
        nested=nested,
        sources=tuple(src for s in parts for src in s.sources),
        cache_key="+".join(keys) if all(keys) else "",
    )
