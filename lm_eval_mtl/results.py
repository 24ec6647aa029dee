"""lm-eval output (results JSON, samples JSONL, run folders) as typed objects.

This module is the only place that sees lm-eval's string keys (``"acc,none"``,
``"acc_stderr,none"``, v0.3's ``"acc"``/``"acc_stderr"``). Everything
downstream works with :class:`RunResult`, :class:`TaskResult`,
:class:`MetricValue` and :class:`TaskSamples`.

Entry points:

* :func:`load_run` reads one model's run (a results JSON file, or a folder
  holding one or more ``results_*.json``; the latest unless ``run`` picks one).
* :func:`find_runs` lists the model folders under an ``--output_path`` folder.
* :meth:`RunResult.samples` reads a task's ``samples_*.jsonl`` lazily;
  :func:`read_samples` reads any samples file directly.

Formats read:

* lm-eval v0.4 results files (``results_<timestamp>.json``): ``results``,
  ``groups``, ``group_subtasks``, ``versions``, ``n-shot``, ``n-samples``,
  ``higher_is_better``, ``task_hashes``, ``configs``, ``config``,
  ``lm_eval_version``/``git_hash``, ``model_name``. Keys ``"<metric>,<filter>"``;
  a stderr of ``"N/A"`` becomes NaN.
* The bare ``results`` mapping of v0.4 (what ``simple_evaluate(...)["results"]``
  returns, as some projects save it): group rows are recognised by the
  ``" - "`` alias indentation of their children.
* lm-eval v0.3 results (``{"results", "versions", "config"}``, keys ``"acc"``,
  ``"acc_stderr"``); every metric gets the filter ``none``.
* v0.4 samples files (``samples_<task>_<timestamp>.jsonl``), one JSON record
  per item and filter: ``doc_id``, ``doc``, ``target``, ``arguments``,
  ``resps``, ``filtered_resps``, ``filter``, ``metrics``, ``doc_hash``,
  ``prompt_hash``, ``target_hash`` and one key per metric. A metric whose
  per-item value is a number (``acc``: 0/1) is a per-item score; corpus metrics
  (``bleu``, ``chrf``, ``ter``) log ``[reference, prediction]`` per item
  (lm-eval ``api/task.py`` ``process_results`` calls the passthrough
  ``bleu_fn([gold, result])``), kept as :attr:`TaskSamples.pairs`; a metric logged as a
  list of numbers per item (IFEval's instruction-level accuracy) is kept flattened in
  :attr:`TaskSamples.nested`. (gold, prediction) pairs of ``f1``/``mcc`` are not read.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NamedTuple

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import (
    MissingMetricError,
    MissingTaskError,
    ResultsFormatError,
    unknown_name,
)

__all__ = [
    "MetricKey",
    "MetricValue",
    "RunResult",
    "TaskResult",
    "TaskSamples",
    "find_runs",
    "load_run",
    "read_results_file",
    "read_samples",
]

ResultsFormat = Literal["v0.4", "v0.3"]

#: Keys of a v0.4 task row that are not metrics.
_NON_METRIC_KEYS = frozenset({"alias", "name", "sample_len", "sample_count", "samples", " ", ""})
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
#: ``<timestamp>`` of lm-eval file names: ``datetime.now().isoformat()`` with ``:`` -> ``-``.
_TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?"
_RESULTS_NAME = re.compile(rf"^results_(?P<ts>{_TIMESTAMP})\.json$")
_ANY_TS_JSON = re.compile(rf"^(?P<stem>.+)_(?P<ts>{_TIMESTAMP})\.json$")
_SAMPLES_NAME = re.compile(rf"^samples_(?P<task>.+)_(?P<ts>{_TIMESTAMP})\.jsonl$")


class MetricKey(NamedTuple):
    """A metric as lm-eval names it: metric name and filter name."""

    metric: str
    """``acc``, ``exact_match``, ``chrf`` ..."""
    filter: str
    """``none``, ``strict-match`` ...; v0.3 results have ``none``."""


@dataclass(frozen=True)
class MetricValue:
    """One aggregated metric of one task."""

    key: MetricKey
    """Metric and filter."""
    value: float
    """The aggregated value (finite)."""
    stderr: float
    """Its standard error; NaN where lm-eval reported none or ``N/A``."""


@dataclass(frozen=True)
class TaskResult:
    """What a results file says about one task (or group row)."""

    task: str
    """lm-eval task name."""
    metrics: Mapping[MetricKey, MetricValue]
    """Every metric reported for the task with a finite value."""
    n: int | None
    """Number of items scored (``n-samples.effective``), when known."""
    n_original: int | None = None
    """Number of items in the split before ``--limit`` (``n-samples.original``)."""
    version: str | None = None
    """Task version from ``versions``."""
    num_fewshot: int | None = None
    """From ``n-shot``."""
    task_hash: str | None = None
    """From ``task_hashes`` (v0.4), identifies the documents and prompts."""
    higher_is_better: Mapping[str, bool] = field(default_factory=dict)
    """Per metric name."""
    is_group: bool = False
    """True for a group's aggregate row."""
    alias: str | None = None
    """lm-eval's display alias (``" - arc_easy"`` for a group's child), when given."""
    output_type: str | None = None
    """``configs[task].output_type`` (``multiple_choice``, ``generate_until`` ...), when recorded."""
    invalid: Mapping[MetricKey, str] = field(default_factory=dict)
    """Metrics whose value could not be used (NaN, ``N/A``, not a number) -> the raw value, as text."""
    source: Path | None = field(default=None, compare=False)
    """The results file the row was read from."""

    def metric(self, name: str, filter: str = "none") -> MetricValue:
        """Return the metric ``name`` under ``filter``.

        Raises:
            MissingMetricError: The task lacks it; the message names the task,
                the metric and the metrics it has.
            ResultsFormatError: The file reports it, but not as a finite number
                (NaN, ``N/A``); the message names the file.
        """
        key = MetricKey(name, filter)
        found = self.metrics.get(key)
        if found is not None:
            return found
        where = f" in {self.source}" if self.source else ""
        if key in self.invalid:
            raise ResultsFormatError(
                f"task {self.task!r} reports metric {name!r} (filter {filter!r}) as "
                f"{self.invalid[key]}{where}, not a finite number; the composite cannot use it."
            )
        available = self.available_metrics()
        same_name = [k.filter for k in self.metrics if k.metric == name]
        hint = f" It has {name!r} under filter(s) {', '.join(same_name)}." if same_name else ""
        raise MissingMetricError(
            f"task {self.task!r} has no metric {name!r} with filter {filter!r}{where}.{hint} "
            f"Available: {available or 'none'}."
        )

    def available_metrics(self) -> str:
        """Return the task's metrics as ``metric (filter)``, comma-separated, for messages."""
        return ", ".join(f"{k.metric} ({k.filter})" for k in self.metrics)


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


@dataclass(frozen=True)
class RunResult:
    """One model's lm-eval run: its results file and the samples beside it."""

    path: Path
    """The results JSON file read."""
    model_name: str
    """``model_name`` (v0.4) or the model args; the folder name otherwise."""
    format: ResultsFormat
    """Which key style the file used."""
    tasks: Mapping[str, TaskResult]
    """Leaf tasks."""
    groups: Mapping[str, TaskResult]
    """Group rows (lm-eval's and ours, e.g. the ``mtl_composite`` row)."""
    group_subtasks: Mapping[str, tuple[str, ...]]
    """Group -> direct children."""
    lm_eval_version: str | None
    """lm-eval version or git hash that produced the file, when recorded."""
    samples_files: Mapping[str, Path]
    """Task -> its ``samples_*.jsonl`` from the same run (same timestamp)."""
    other_runs: tuple[Path, ...] = ()
    """Other results files in the same folder that were not chosen."""
    timestamp: str | None = None
    """The ``<timestamp>`` of the results file name, when it has one."""
    git_hash: str | None = None
    """``git_hash`` of the lm-eval checkout, when recorded."""
    model_args: str | None = None
    """``config.model_args`` as text, when recorded."""
    limit: float | None = None
    """``config.limit`` (``--limit``), when recorded."""
    _cache: dict[tuple[str, str], TaskSamples] = field(
        default_factory=dict, repr=False, compare=False, hash=False
    )

    def task(self, name: str) -> TaskResult:
        """Return the leaf task ``name`` (a group row of that name is returned too).

        Raises:
            MissingTaskError: Not in the run (close matches listed).
        """
        if name in self.tasks:
            return self.tasks[name]
        if name in self.groups:
            return self.groups[name]
        import difflib

        known = [*self.tasks, *self.groups]
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.6)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        listing = ", ".join(sorted(known)) if len(known) <= 12 else f"{len(known)} tasks"
        raise MissingTaskError(f"task {name!r} is not in the run {self.path}.{hint} The run has: {listing}.")

    def leaf_tasks(self, name: str) -> tuple[str, ...]:
        """Return the leaf tasks under ``name`` (itself when it is a leaf), in group order."""
        if name in self.tasks and not self.group_subtasks.get(name):
            return (name,)
        out: list[str] = []
        seen: set[str] = set()

        def walk(n: str) -> None:
            if n in seen:
                return
            seen.add(n)
            children = self.group_subtasks.get(n, ())
            if not children:
                if n in self.tasks:
                    out.append(n)
                return
            for c in children:
                walk(c)

        walk(name)
        return tuple(out)

    def has_samples(self, task: str) -> bool:
        """Whether per-item records exist for ``task`` (for a group: for each of its leaf tasks)."""
        leaves = self.leaf_tasks(task) or (task,)
        return all(t in self.samples_files for t in leaves)

    def samples(self, task: str, filter: str = "none") -> TaskSamples:
        """Read the task's per-item records.

        For a group row (``mmlu``), the records of its leaf tasks are concatenated
        and :attr:`TaskSamples.subtasks` says which leaf each item came from.

        Raises:
            MissingTaskError: No samples were logged for the task (run lm_eval with --log_samples).
            ResultsFormatError: The file is empty, truncated or malformed (line number given).
        """
        key = (task, filter)
        if key in self._cache:
            return self._cache[key]
        leaves = self.leaf_tasks(task) if (task in self.groups or task in self.group_subtasks) else (task,)
        if not leaves:
            leaves = (task,)
        missing = [t for t in leaves if t not in self.samples_files]
        if missing:
            raise MissingTaskError(
                f"no samples_{missing[0]}_*.jsonl beside {self.path} for task {task!r}"
                + (f" (leaf tasks without samples: {', '.join(missing)})" if len(leaves) > 1 else "")
                + "; run lm_eval with --log_samples to get per-item records."
            )
        parts = []
        for leaf in leaves:
            info = self.tasks.get(leaf)
            parts.append(
                read_samples(
                    self.samples_files[leaf],
                    task=leaf,
                    filter=filter,
                    output_type=info.output_type if info else None,
                )
            )
        result = parts[0] if len(parts) == 1 and leaves == (task,) else _concat_samples(task, parts)
        self._cache[key] = result
        return result


# --------------------------------------------------------------------------- results JSON


def _load_json(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ResultsFormatError(f"{path}: not a UTF-8 text file ({err.reason}).") from None
    if not text.strip():
        raise ResultsFormatError(f"{path}: the file is empty; expected an lm-eval results JSON.")
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        truncated = " (the file looks truncated)" if err.pos >= len(text.rstrip()) - 1 else ""
        raise ResultsFormatError(
            f"{path}:{err.lineno}: invalid JSON at column {err.colno}: {err.msg}{truncated}."
        ) from None


def _is_metric_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _parse_metrics(
    row: Mapping[str, Any], style: ResultsFormat
) -> tuple[dict[MetricKey, MetricValue], dict[MetricKey, str]]:
    """Split a task row into metrics (finite values) and invalid entries."""
    values: dict[MetricKey, Any] = {}
    stderrs: dict[MetricKey, Any] = {}
    for raw_key, value in row.items():
        if not isinstance(raw_key, str) or raw_key in _NON_METRIC_KEYS:
            continue
        if style == "v0.4":
            if "," not in raw_key:
                continue
            name, _, filt = raw_key.partition(",")
        else:
            name, filt = raw_key, "none"
        if name.endswith("_stderr"):
            stderrs[MetricKey(name[: -len("_stderr")], filt)] = value
        else:
            values[MetricKey(name, filt)] = value
    metrics: dict[MetricKey, MetricValue] = {}
    invalid: dict[MetricKey, str] = {}
    for key, value in values.items():
        if not _is_metric_number(value) or not math.isfinite(float(value)):
            invalid[key] = json.dumps(value) if not isinstance(value, float) else repr(value)
            continue
        se_raw = stderrs.get(key)
        se = (
            float(se_raw)
            if isinstance(se_raw, (int, float)) and _is_metric_number(se_raw) and math.isfinite(se_raw)
            else math.nan
        )
        metrics[key] = MetricValue(key=key, value=float(value), stderr=se)
    return metrics, invalid


def _row_style(rows: Mapping[str, Any]) -> ResultsFormat:
    for row in rows.values():
        if isinstance(row, Mapping):
            for k in row:
                if isinstance(k, str) and "," in k and k not in _NON_METRIC_KEYS:
                    return "v0.4"
    return "v0.3"


def _opt_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None


def _looks_like_task_rows(data: Mapping[str, Any]) -> bool:
    """Tell a bare v0.4 ``results`` mapping: every value a mapping, some with metric keys."""
    if not data or not all(isinstance(v, Mapping) for v in data.values()):
        return False
    return any(
        any(isinstance(k, str) and k not in _NON_METRIC_KEYS and _is_metric_number(v) for k, v in row.items())
        for row in data.values()
    )


def _bare_group_subtasks(rows: Mapping[str, Mapping[str, Any]]) -> dict[str, tuple[str, ...]]:
    """Recover group -> children of a bare results mapping from alias indentation (``" - child"``)."""
    out: dict[str, list[str]] = {}
    stack: list[tuple[int, str]] = []
    for name, row in rows.items():
        alias = row.get("alias")
        depth = 0
        if isinstance(alias, str):
            m = re.match(r"^(\s*)-\s", alias)
            if m:
                depth = max(len(m.group(1)), 1)
        while stack and stack[-1][0] >= depth:
            stack.pop()
        if stack:
            out.setdefault(stack[-1][1], []).append(name)
        stack.append((depth, name))
    return {k: tuple(v) for k, v in out.items()}


def read_results_file(path: str | Path) -> RunResult:
    """Parse one results JSON file (v0.4, bare v0.4 ``results`` mapping or v0.3).

    Samples files are matched by the timestamp in the file name
    (``results_<ts>.json`` <-> ``samples_<task>_<ts>.jsonl`` in the same folder).

    Raises:
        ResultsFormatError: Unreadable, truncated or not an lm-eval results file.
        FileNotFoundError: ``path`` does not exist.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"results file {p} does not exist.")
    data = _load_json(p)
    if not isinstance(data, Mapping):
        raise ResultsFormatError(
            f"{p}: not an lm-eval results file: the top level is a JSON {type(data).__name__}, "
            "expected an object with a 'results' mapping."
        )
    if "results" in data:
        rows = data["results"]
        if not isinstance(rows, Mapping) or not all(isinstance(v, Mapping) for v in rows.values()):
            raise ResultsFormatError(
                f"{p}: not an lm-eval results file: 'results' must map task names to metric objects."
            )
        bare = False
    elif _looks_like_task_rows(data):
        rows, bare = data, True
    else:
        keys = ", ".join(list(map(str, data))[:6])
        raise ResultsFormatError(
            f"{p}: not an lm-eval results file: no 'results' mapping (top-level keys: {keys or 'none'})."
        )
    if not rows:
        raise ResultsFormatError(f"{p}: the 'results' mapping is empty: no task was scored.")
    style = _row_style(rows)

    def section(name: str) -> Mapping[str, Any]:
        value = data.get(name) if not bare else None
        return value if isinstance(value, Mapping) else {}

    group_rows = section("groups")
    if bare:
        group_subtasks = _bare_group_subtasks(rows)
    else:
        group_subtasks = {
            str(g): tuple(str(c) for c in children)
            for g, children in section("group_subtasks").items()
            if isinstance(children, Sequence) and not isinstance(children, str)
        }
    versions = section("versions")
    nshot = section("n-shot")
    nsamples = section("n-samples")
    hib = section("higher_is_better")
    hashes = section("task_hashes")
    configs = section("configs")

    all_rows: dict[str, Mapping[str, Any]] = {str(k): v for k, v in rows.items()}
    for g, row in group_rows.items():
        if isinstance(row, Mapping):
            all_rows.setdefault(str(g), row)
    group_names = {g for g, c in group_subtasks.items() if c} | {str(g) for g in group_rows}

    config = section("config")
    default_shots = _opt_int(config.get("num_fewshot")) if style == "v0.3" else None

    tasks: dict[str, TaskResult] = {}
    groups: dict[str, TaskResult] = {}
    for name, row in all_rows.items():
        metrics, invalid = _parse_metrics(row, style)
        ns = nsamples.get(name)
        n = _opt_int(ns.get("effective")) if isinstance(ns, Mapping) else None
        n_orig = _opt_int(ns.get("original")) if isinstance(ns, Mapping) else None
        if n is None:
            n = _opt_int(row.get("sample_len"))
        ver = versions.get(name)
        hb = hib.get(name)
        cfg = configs.get(name)
        alias = row.get("alias")
        result = TaskResult(
            task=name,
            metrics=metrics,
            n=n,
            n_original=n_orig,
            version=None if ver is None else str(ver),
            num_fewshot=_opt_int(nshot.get(name)) if name in nshot else default_shots,
            task_hash=str(hashes[name]) if isinstance(hashes.get(name), str) else None,
            higher_is_better=(
                {str(k): bool(v) for k, v in hb.items() if isinstance(v, bool)}
                if isinstance(hb, Mapping)
                else {}
            ),
            is_group=name in group_names,
            alias=alias.strip().lstrip("- ").strip() if isinstance(alias, str) else None,
            output_type=(
                str(cfg["output_type"])
                if isinstance(cfg, Mapping) and isinstance(cfg.get("output_type"), str)
                else None
            ),
            invalid=invalid,
            source=p,
        )
        (groups if result.is_group else tasks)[name] = result

    model_args = config.get("model_args")
    if isinstance(model_args, Mapping):
        model_args = ",".join(f"{k}={v}" for k, v in model_args.items())
    model_name = data.get("model_name") if not bare else None
    if not isinstance(model_name, str) or not model_name:
        model_name = _model_from_args(model_args) or p.parent.name
    version = data.get("lm_eval_version") if not bare else None
    git_hash = data.get("git_hash") if not bare else None
    if not isinstance(version, str) or not re.match(r"^\d+\.\d+", version):
        version = None
    limit = config.get("limit")
    ts_match = _ANY_TS_JSON.match(p.name)
    timestamp = ts_match.group("ts") if ts_match else None
    return RunResult(
        path=p,
        model_name=model_name,
        format=style,
        tasks=tasks,
        groups=groups,
        group_subtasks=group_subtasks,
        lm_eval_version=version or (f"git-{git_hash}" if isinstance(git_hash, str) and git_hash else None),
        samples_files=_samples_for(p.parent, timestamp) if timestamp else {},
        timestamp=timestamp,
        git_hash=git_hash if isinstance(git_hash, str) else None,
        model_args=str(model_args) if model_args is not None else None,
        limit=float(limit) if isinstance(limit, (int, float)) and _is_metric_number(limit) else None,
    )


def _model_from_args(model_args: Any) -> str | None:
    if not isinstance(model_args, str):
        return None
    for part in model_args.split(","):
        k, _, v = part.partition("=")
        if k.strip() in ("pretrained", "model", "engine", "path") and v:
            return v.strip()
    return None


def _samples_for(folder: Path, timestamp: str) -> dict[str, Path]:
    out: dict[str, Path] = {}
    for f in sorted(folder.glob(f"samples_*_{timestamp}.jsonl")):
        m = _SAMPLES_NAME.match(f.name)
        if m and m.group("ts") == timestamp:
            out[m.group("task")] = f
    return out


# --------------------------------------------------------------------------- run folders


def _results_files(folder: Path) -> list[Path]:
    """``results_<ts>.json`` files of a folder, oldest first."""
    found = [f for f in folder.iterdir() if f.is_file() and _RESULTS_NAME.match(f.name)]
    return sorted(found, key=lambda f: _RESULTS_NAME.match(f.name).group("ts"))  # type: ignore[union-attr]


def load_run(path: str | Path, *, run: str | None = None) -> RunResult:
    """Read one model's run from a results JSON file or a folder holding them.

    Args:
        path: ``results_*.json`` file, or a folder (``runs/ORG__MODEL``) with one or more.
            An ``--output_path`` folder holding exactly one model folder is accepted too.
        run: With a folder holding several runs, the timestamp (or file name, or a
            unique prefix of either) to use; default: the latest. The chosen file is
            :attr:`RunResult.path`; the others are :attr:`RunResult.other_runs`.

    Raises:
        ResultsFormatError: Unreadable, truncated or not an lm-eval results file.
        FileNotFoundError: ``path`` does not exist or holds no results file.
        UnknownNameError: ``run`` matches none of the folder's runs (close matches listed).
    """
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"`path` {p} does not exist; expected a results_*.json file or a run folder.")
    if p.is_file():
        if run is not None:
            raise ValueError(f"`run` selects among a folder's runs; got run={run!r} with the file {p}.")
        siblings = tuple(f for f in _results_files(p.parent) if f != p) if _RESULTS_NAME.match(p.name) else ()
        return _with_others(read_results_file(p), siblings)
    files = _results_files(p)
    if not files:
        models = find_runs(p)
        if len(models) == 1:
            return load_run(models[0], run=run)
        if models:
            names = ", ".join(str(m.relative_to(p)) for m in models[:10])
            more = f" and {len(models) - 10} more" if len(models) > 10 else ""
            raise FileNotFoundError(
                f"{p} holds no results_*.json itself but runs of {len(models)} models: {names}{more}. "
                "Pass one model's folder."
            )
        raise FileNotFoundError(
            f"{p} holds no lm-eval results file (results_<timestamp>.json); run lm_eval with --output_path."
        )
    chosen = files[-1] if run is None else _pick_run(p, files, run)
    return _with_others(read_results_file(chosen), tuple(f for f in files if f != chosen))


def _pick_run(folder: Path, files: list[Path], run: str) -> Path:
    stamps = {_RESULTS_NAME.match(f.name).group("ts"): f for f in files}  # type: ignore[union-attr]
    for ts, f in stamps.items():
        if run in (ts, f.name, f"results_{ts}"):
            return f
    hits = [f for ts, f in stamps.items() if ts.startswith(run) or f.name.startswith(run)]
    if len(hits) == 1:
        return hits[0]
    if len(hits) > 1:
        raise ValueError(
            f"`run` {run!r} matches {len(hits)} runs in {folder}: {', '.join(f.name for f in hits)}; give more of the timestamp."
        )
    raise unknown_name(f"run in {folder}", run, tuple(stamps))


def _with_others(result: RunResult, others: tuple[Path, ...]) -> RunResult:
    if not others:
        return result
    from dataclasses import replace

    return replace(result, other_runs=others, _cache={})


def find_runs(path: str | Path) -> tuple[Path, ...]:
    """Model folders (each holding ``results_*.json``) under an output folder, sorted.

    ``path`` itself is included when it holds results files.

    Raises:
        FileNotFoundError: ``path`` is not a folder.
    """
    p = Path(path)
    if not p.is_dir():
        raise FileNotFoundError(f"`path` {p} is not a folder.")
    found = {f.parent for f in p.rglob("results_*.json") if _RESULTS_NAME.match(f.name)}
    return tuple(sorted(found))


# --------------------------------------------------------------------------- samples JSONL


def _iter_records(path: Path) -> Iterator[tuple[int, Mapping[str, Any]]]:
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as err:
                trunc = "" if line.endswith("\n") else " (the last line is cut off: the file looks truncated)"
                raise ResultsFormatError(
                    f"{path}:{lineno}: invalid JSON at column {err.colno}: {err.msg}{trunc}."
                ) from None
            if not isinstance(rec, Mapping) or "doc_id" not in rec:
                raise ResultsFormatError(
                    f"{path}:{lineno}: not an lm-eval samples record (expected an object with 'doc_id')."
                )
            yield lineno, rec


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
    if not p.is_file():
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


def _concat_samples(task: str, parts: Sequence[TaskSamples]) -> TaskSamples:
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
