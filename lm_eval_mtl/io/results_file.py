"""lm-eval results JSON files read into :class:`~lm_eval_mtl.io.results.RunResult` objects.

This module is the only place that sees lm-eval's string keys (``"acc,none"``,
``"acc_stderr,none"``, v0.3's ``"acc"``/``"acc_stderr"``). Everything downstream works
with :class:`RunResult`, :class:`TaskResult` and :class:`MetricValue`.

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
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lm_eval_mtl.errors import ResultsFormatError
from lm_eval_mtl.io.names import ANY_TIMESTAMPED_JSON as _ANY_TS_JSON
from lm_eval_mtl.io.names import SAMPLES_NAME as _SAMPLES_NAME
from lm_eval_mtl.io.results import MetricKey, MetricValue, ResultsFormat, RunResult, TaskResult
from lm_eval_mtl.io.values import is_metric_number as _is_metric_number
from lm_eval_mtl.io.values import opt_int as _opt_int

__all__ = ["read_results_file"]

#: Keys of a v0.4 task row that are not metrics.
_NON_METRIC_KEYS = frozenset({"alias", "name", "sample_len", "sample_count", "samples", " ", ""})


_RESULTS_WHAT = "an lm-eval results JSON file (results_<timestamp>.json)"


def _load_json(path: Path) -> Any:
    from lm_eval_mtl.io.files import decode_utf8, loads_or_refuse, read_input_bytes

    text = decode_utf8(read_input_bytes(path, what=_RESULTS_WHAT), path, what=_RESULTS_WHAT)
    if not text.strip():
        raise ResultsFormatError(f"{path}: the file is empty; expected an lm-eval results JSON.")
    end = len(text.rstrip()) - 1
    return loads_or_refuse(
        text,
        path,
        what=_RESULTS_WHAT,
        suffix=lambda err: " (the file looks truncated)" if err.pos >= end else "",
    )


def _check_domains(path: Path, task: str, metrics: Mapping[MetricKey, MetricValue]) -> None:
    """Refuse values outside their metric's domain and negative stderrs (io/domains.py)."""
    from lm_eval_mtl.io.domains import describe_domain, domain_problem, metric_domain

    for key, mv in metrics.items():
        problem = domain_problem(key.metric, mv.value)
        if problem is not None:
            domain = metric_domain(key.metric)
            assert domain is not None
            raise ResultsFormatError(
                f"{path}: task {task!r} reports {key.metric} (filter {key.filter!r}) = {mv.value!r}, {problem}; "
                f"expected a value in {describe_domain(domain)}."
            )
        if mv.stderr < 0:
            raise ResultsFormatError(
                f"{path}: task {task!r} reports {key.metric}_stderr (filter {key.filter!r}) = {mv.stderr!r}; "
                "expected a standard error >= 0."
            )


def _count(path: Path, task: str, where: str, raw: Any) -> int | None:
    """Read an item count (``n-samples`` entry): absent -> None; otherwise an integer >= 0, or an error."""
    if raw is None:
        return None
    n = _opt_int(raw)
    if n is None or n < 0:
        raise ResultsFormatError(
            f"{path}: task {task!r} has {where} = {json.dumps(raw) if not isinstance(raw, float) else repr(raw)}; "
            "expected an item count (an integer >= 0)."
        )
    return n


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
    if not p.exists():
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
        _check_domains(p, name, metrics)
        ns = nsamples.get(name)
        if ns is not None and not isinstance(ns, Mapping):
            raise ResultsFormatError(
                f"{p}: n-samples of task {name!r} is {json.dumps(ns, default=str)[:60]}; "
                "expected an object {'original': N, 'effective': N}."
            )
        n = _count(p, name, "n-samples.effective", ns.get("effective")) if ns is not None else None
        n_orig = _count(p, name, "n-samples.original", ns.get("original")) if ns is not None else None
        if n is None:
            n = _count(p, name, "sample_len", row.get("sample_len"))
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
    packed = sorted(folder.glob(f"samples_*_{timestamp}.jsonl.gz"))
    if packed:  # refused, not skipped: the run's per-item records would be silently ignored
        raise ResultsFormatError(
            f"{packed[0]} is gzip-compressed; expected samples files as plain JSONL beside the results "
            f"file: decompress it first (gunzip -k {folder}/samples_*_{timestamp}.jsonl.gz)."
        )
    for f in sorted(folder.glob(f"samples_*_{timestamp}.jsonl")):
        m = _SAMPLES_NAME.match(f.name)
        if m and m.group("ts") == timestamp:
            out[m.group("task")] = f
    return out
