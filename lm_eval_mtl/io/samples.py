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
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import MissingMetricError, ResultsFormatError
from lm_eval_mtl.io.names import SAMPLES_NAME as _SAMPLES_NAME
from lm_eval_mtl.io.values import is_metric_number as _is_metric_number
from lm_eval_mtl.io.values import opt_int as _opt_int

__all__ = ["TaskSamples", "concat_samples", "read_samples"]

#: Keys of a samples record that are not metrics.
_SAMPLE_FIXED_KEYS = frozenset(
    {
        "doc_id",
        "doc",
        "target",
        "arguments",
        "resps",
        "filtered_resps",
        "filter",
        "metrics",
        "doc_hash",
        "prompt_hash",
        "target_hash",
    }
)
#: Metrics whose per-item value is a (gold, prediction) pair aggregated by a corpus-level
#: formula, not a list of per-item values (lm_eval/api/metrics.py).
_PAIR_METRICS = frozenset({"f1", "mcc", "matthews_corrcoef", "brier_score", "bleu", "chrf", "chrf++", "ter"})


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
    docs: tuple[Mapping[str, Any], ...] = field(default=(), repr=False, compare=False)
    """The ``doc`` of each item (for cluster keys)."""
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

    def __len__(self) -> int:
        return int(self.doc_ids.shape[0])

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

        Labels are 0..G-1 in order of first appearance.

        Raises:
            MissingMetricError: Some item's doc lacks the field (named in the message).
        """
        labels: dict[str, int] = {}
        out = np.empty(len(self), dtype=np.int64)
        if len(self.docs) != len(self):
            raise MissingMetricError(
                f"samples of task {self.task!r} ({self.path}) carry no docs; cannot read cluster field {doc_field!r}."
            )
        for i, doc in enumerate(self.docs):
            if not isinstance(doc, Mapping) or doc_field not in doc:
                line = int(self.lines[i]) if self.lines.size else i + 1
                fields = ", ".join(sorted(doc)) if isinstance(doc, Mapping) else type(doc).__name__
                raise MissingMetricError(
                    f"{self.path}:{line}: the doc of task {self.task!r} has no field {doc_field!r} "
                    f"for clustering; its fields: {fields}."
                )
            key = json.dumps(doc[doc_field], sort_keys=True, default=str)
            out[i] = labels.setdefault(key, len(labels))
        return out


_SAMPLES_WHAT = "an lm-eval samples file (samples_<task>_<timestamp>.jsonl, one JSON record per line)"


def _iter_records(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    from lm_eval_mtl.io.files import iter_file_lines, json_problem, loads_strict

    for lineno, line in iter_file_lines(path, what=_SAMPLES_WHAT):
        if not line.strip():
            continue
        try:
            rec = loads_strict(line)
        except json.JSONDecodeError as err:
            trunc = "" if line.endswith("\n") else " (the last line is cut off: the file looks truncated)"
            raise ResultsFormatError(
                f"{path}:{lineno}: invalid JSON at column {err.colno}: {err.msg}{trunc}."
            ) from None
        except (ValueError, RecursionError) as err:
            problem = json_problem(err)
            if problem is None:  # pragma: no cover - every ValueError of json.loads is named above
                raise
            raise ResultsFormatError(f"{path}:{lineno}: {problem}; expected {_SAMPLES_WHAT}.") from None
        if not isinstance(rec, Mapping) or "doc_id" not in rec:
            raise ResultsFormatError(
                f"{path}:{lineno}: not an lm-eval samples record (expected an object with 'doc_id')."
            )
        yield lineno, rec


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


def _count_choices(rec: Mapping[str, Any]) -> int:
    args = rec.get("arguments")
    n = len(args) if isinstance(args, (Mapping, list)) else 0
    if "acc_mutual_info" in rec:  # lm-eval adds one unconditional request per choice
        n //= 2
    return n


def _is_loglik_args(rec: Mapping[str, Any]) -> bool:
    args = rec.get("arguments")
    items = list(args.values()) if isinstance(args, Mapping) else list(args) if isinstance(args, list) else []
    if not items:
        return False
    for a in items:
        second = (
            a.get("arg_1") if isinstance(a, Mapping) else a[1] if isinstance(a, list) and len(a) > 1 else None
        )
        if not isinstance(second, str):
            return False
    return True


def read_samples(
    path: str | Path,
    *,
    task: str | None = None,
    filter: str = "none",
    output_type: str | None = None,
) -> TaskSamples:
    """Read the records of one filter from a ``samples_*.jsonl`` file.

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
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"samples file {p} does not exist.")
    if task is None:
        m = _SAMPLES_NAME.match(p.name)
        task = m.group("task") if m else p.stem
    records: list[tuple[int, Mapping[str, Any]]] = []
    filters: dict[str, None] = {}
    n_records = 0
    for lineno, rec in _iter_records(p):
        n_records += 1
        f = rec.get("filter", "none")
        f = f if isinstance(f, str) else "none"
        filters.setdefault(f, None)
        if f == filter:
            records.append((lineno, rec))
    if n_records == 0:
        raise ResultsFormatError(f"{p}: empty samples file (no records); the run may have been interrupted.")
    if not records:
        raise MissingMetricError(
            f"samples of task {task!r} ({p}) have no records with filter {filter!r}; "
            f"filters present: {', '.join(filters)}."
        )
    seen: dict[int, int] = {}
    doc_ids = np.empty(len(records), dtype=np.int64)
    lines = np.empty(len(records), dtype=np.int64)
    for i, (lineno, rec) in enumerate(records):
        did = _opt_int(rec.get("doc_id"))
        if did is None:
            raise ResultsFormatError(f"{p}:{lineno}: `doc_id` must be an integer; got {rec.get('doc_id')!r}.")
        if did in seen:
            extra = (
                " Records carry no `filter` field, so several filters may be mixed in this file."
                if "filter" not in rec
                else ""
            )
            raise ResultsFormatError(
                f"{p}:{lineno}: doc_id {did} repeats (first at line {seen[did]}) within filter {filter!r}.{extra}"
            )
        seen[did] = lineno
        doc_ids[i] = did
        lines[i] = lineno

    # metric names: the `metrics` list where lm-eval wrote one, else every non-fixed key.
    names: dict[str, None] = {}
    for _, rec in records:
        listed = rec.get("metrics")
        if isinstance(listed, list) and all(isinstance(x, str) for x in listed):
            for x in listed:
                names.setdefault(x, None)
        else:
            for k in rec:
                if k not in _SAMPLE_FIXED_KEYS:
                    names.setdefault(k, None)

    scores: dict[str, npt.NDArray[np.float64]] = {}
    pairs: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {}
    nested: dict[str, tuple[npt.NDArray[np.float64], npt.NDArray[np.int64]]] = {}
    for name in names:
        vals = [rec.get(name) for _, rec in records]
        if all(v is None or _is_metric_number(v) or isinstance(v, bool) for v in vals):
            scores[name] = np.array([math.nan if v is None else float(v) for v in vals], dtype=np.float64)
            _check_item_domain(p, task, name, scores[name], lines)
            continue
        lists = [v for v in vals if isinstance(v, list)]
        if (
            name not in _PAIR_METRICS
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
            refs = [_as_str_ref(v[0]) for v in vals]  # type: ignore[index]
            preds = [_as_str_ref(v[1]) for v in vals]  # type: ignore[index]
            if all(r is not None for r in refs) and all(q is not None for q in preds):
                pairs[name] = (
                    tuple(r for r in refs if r is not None),
                    tuple(q for q in preds if q is not None),
                )
        # anything else (f1/mcc (gold, pred) pairs, dicts, multi-reference lists) is not read.

    first = records[0][1]
    if output_type is None:
        is_mc = all(_is_loglik_args(rec) for _, rec in records) and any(
            _count_choices(rec) >= 2 for _, rec in records
        )
    else:
        is_mc = output_type == "multiple_choice"
    n_choices = np.array([_count_choices(rec) for _, rec in records], dtype=np.int64) if is_mc else None
    del first

    def strs(key: str) -> tuple[str, ...]:
        return tuple(str(rec.get(key) or "") for _, rec in records)

    return TaskSamples(
        task=task,
        filter=filter,
        doc_ids=doc_ids,
        doc_hashes=strs("doc_hash"),
        scores=scores,
        n_choices=n_choices,
        pairs=pairs,
        path=p,
        lines=lines,
        docs=tuple(_doc(rec) for _, rec in records),
        prompt_hashes=strs("prompt_hash"),
        target_hashes=strs("target_hash"),
        filters_available=tuple(filters),
        nested=nested,
    )


def _doc(rec: Mapping[str, Any]) -> Mapping[str, Any]:
    doc = rec.get("doc")
    return doc if isinstance(doc, Mapping) else {}


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
        docs=tuple(d for s in parts for d in s.docs),
        prompt_hashes=tuple(h for s in parts for h in s.prompt_hashes),
        target_hashes=tuple(h for s in parts for h in s.target_hashes),
        subtasks=tuple(s.task for s in parts for _ in range(len(s))),
        filters_available=parts[0].filters_available,
        nested=nested,
    )
