"""The composite row that lm-eval prints and saves for mtl groups.

Where lm-eval has ``Group.aggregate`` (0.4.12 and later) the start-up hook wraps it; for a
group whose ``metadata`` carries an ``mtl`` block, :func:`aggregate_with_composite`
runs lm-eval's own aggregation (without our pseudo-metrics) and adds

* ``mtl_composite,none`` and ``mtl_composite_stderr,none``: the chance-normalized,
  weighted composite of the spec's members (DESIGN.md section 4, analytic form),
* ``leaderboard_average,none``: for suites with ``leaderboard: openllm_v2``, the
  Open LLM Leaderboard v2 average on its 0-100 scale.

On older lm-eval (no ``Group.aggregate``: 0.4.9.2 to 0.4.11), :mod:`lm_eval_mtl.plugin.consolidate`
adds the same entries (:func:`composite_entries`) after
``consolidate_group_results``.

:func:`group_composite` is the pure part (numbers in, numbers out), shared with
tests. It raises on a malformed spec, a missing task or a missing metric: a
composite is never computed from a subset of its members.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from lm_eval_mtl.errors import MissingMetricError, MissingTaskError, MTLError, unknown_name
from lm_eval_mtl.suites import MemberSpec, SuiteSpec

__all__ = [
    "COMPOSITE_KEY",
    "COMPOSITE_STDERR_KEY",
    "LEADERBOARD_KEY",
    "PSEUDO_METRICS",
    "GroupComposite",
    "aggregate_with_composite",
    "composite_entries",
    "group_composite",
]

COMPOSITE_KEY = "mtl_composite,none"
"""Results key of the composite."""
COMPOSITE_STDERR_KEY = "mtl_composite_stderr,none"
"""Results key of its standard error (``"N/A"`` when a member's stderr is unknown)."""
LEADERBOARD_KEY = "leaderboard_average,none"
"""Results key of a leaderboard's published average (0-100)."""
PSEUDO_METRICS: frozenset[str] = frozenset({"mtl_composite", "leaderboard_average"})
"""``aggregate_metric_list`` entries that mark a group for the table but are ours to compute."""
LEADERBOARDS: tuple[str, ...] = ("openllm_v2",)

_log = logging.getLogger("lm_eval_mtl.plugin")


@dataclass(frozen=True)
class GroupComposite:
    """The composite of one group, computed from lm-eval's per-task metrics."""

    group: str
    """Group name."""
    value: float
    """sum_t w_t z_t."""
    stderr: float
    """sqrt(sum_t w_t^2 se(z_t)^2); NaN when a member's stderr is unknown."""
    weights: Mapping[str, float]
    """Weight per member label (non-negative, summing to 1)."""
    normalized: Mapping[str, float]
    """Chance-normalized score z_t per member label."""
    raw: Mapping[str, float]
    """Raw metric value x_t per member label, on lm-eval's scale."""
    sizes: Mapping[str, int]
    """Items scored per member label (lm-eval's ``sample_len``)."""
    leaderboard_average: float | None = None
    """The leaderboard average (0-100) when the spec names a leaderboard, else None."""

    def to_dict(self) -> dict[str, Any]:
        """Full-precision plain mapping."""
        return {
            "group": self.group,
            "value": self.value,
            "stderr": self.stderr,
            "weights": dict(self.weights),
            "normalized": dict(self.normalized),
            "raw": dict(self.raw),
            "sizes": dict(self.sizes),
            "leaderboard_average": self.leaderboard_average,
        }


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def group_composite(spec: SuiteSpec, task_metrics: Mapping[str, Mapping[str, Any]]) -> GroupComposite:
    """Compute the composite of ``spec`` from lm-eval's flat per-task metrics.

    Args:
        spec: The group's suite spec.
        task_metrics: ``{task_name: {"acc,none": 0.5, "acc_stderr,none": 0.01, "sample_len": 100, ...}}``
            as lm-eval passes it to ``Group.aggregate``.

    Returns:
        The composite, its stderr, and the per-member inputs.

    Raises:
        MissingTaskError: A member task has no results.
        MissingMetricError: A member task lacks the spec's metric (the message lists
            the metric keys it has).
        MTLError: A metric value is not a finite number.
    """
    from lm_eval_mtl.scoring.analytic import analytic_composite
    from lm_eval_mtl.scoring.normalize import normalize, normalize_se
    from lm_eval_mtl.scoring.weights import kept_weights

    raw: dict[str, float] = {}
    z: dict[str, float] = {}
    se_z: dict[str, float] = {}
    sizes: dict[str, int] = {}
    for m in spec.members:
        metrics = task_metrics.get(m.task)
        if metrics is None:
            raise MissingTaskError(
                f"group {spec.name!r}: member task {m.task!r} has no results in this run; "
                f"the composite needs every member ({', '.join(spec.tasks)})."
            )
        if m.metric_key not in metrics:
            have = sorted(k for k in metrics if "," in k and "_stderr," not in k)
            raise MissingMetricError(
                f"group {spec.name!r}: task {m.task!r} has no metric {m.metric_key!r}; "
                f"it has: {', '.join(have) if have else 'no metrics'}."
            )
        x = _number(metrics[m.metric_key])
        if x is None or not math.isfinite(x):
            raise MTLError(
                f"group {spec.name!r}: task {m.task!r} metric {m.metric_key!r} must be a finite number; "
                f"got {metrics[m.metric_key]!r}."
            )
        se = _number(metrics.get(m.stderr_key))
        chance = _member_chance(spec, m, metrics)
        raw[m.label] = x
        z[m.label] = normalize(x, chance, m.ceiling)
        se_z[m.label] = (
            normalize_se(se, chance, m.ceiling) if se is not None and math.isfinite(se) else math.nan
        )
        n = metrics.get("sample_len")
        sizes[m.label] = int(n) if isinstance(n, int) and not isinstance(n, bool) else 0
    weights = dict(kept_weights(spec, None, spec.labels, sizes).weights)
    labels = spec.labels
    comp = analytic_composite(
        [z[label] for label in labels],
        [se_z[label] for label in labels],
        [weights[label] for label in labels],
        groups=[m.overlap_key for m in spec.members],
    )
    return GroupComposite(
        group=spec.name,
        value=comp.value,
        stderr=comp.se,
        weights=weights,
        normalized=z,
        raw=raw,
        sizes=sizes,
        leaderboard_average=_leaderboard_average(spec, raw, sizes),
    )


def _leaderboard_average(spec: SuiteSpec, raw: Mapping[str, float], sizes: Mapping[str, int]) -> float | None:
    if spec.leaderboard is None:
        return None
    if spec.leaderboard not in LEADERBOARDS:
        raise unknown_name(f"leaderboard of group {spec.name!r}", spec.leaderboard, LEADERBOARDS)
    try:
        from lm_eval_mtl.scoring.leaderboard import openllm_v2_average
    except ImportError as exc:
        _log.warning(
            "group %r: leaderboard average skipped: lm_eval_mtl.scoring.leaderboard is unavailable (%s).",
            spec.name,
            exc,
        )
        return None
    result: Any = openllm_v2_average(spec, raw, {k: v for k, v in sizes.items() if v > 0})
    value = _number(result)
    if value is None:
        raise MTLError(f"group {spec.name!r}: leaderboard average must be a number; got {result!r}.")
    return value


def aggregate_with_composite(
    group: Any, task_metrics: Mapping[str, Mapping[str, Any]], original: Callable[[Any, Any], Any]
) -> dict[str, Any]:
    """lm-eval's aggregation of ``group`` plus the composite keys.

    Args:
        group: An ``lm_eval.api.group.Group`` whose ``metadata`` has an ``mtl`` block.
        task_metrics: The flat metrics lm-eval passes to ``Group.aggregate``.
        original: The unwrapped ``Group.aggregate``.

    Returns:
        The group's metrics dict with ``mtl_composite,none``, ``mtl_composite_stderr,none``
        (and ``leaderboard_average,none`` where the spec asks) added.

    Raises:
        SuiteSpecError: The ``mtl`` block is malformed.
        MissingTaskError, MissingMetricError, MTLError: See :func:`group_composite`.
    """
    spec = SuiteSpec.from_metadata(group.name, group.metadata)
    saved = group.aggregate_metric_list
    kept = [a for a in (saved or []) if getattr(a, "metric", None) not in PSEUDO_METRICS]
    try:
        # lm-eval aggregates only the real metrics (it would warn "no values found"
        # for our pseudo-entries); the list is restored so the group still counts
        # as aggregating and prints in the Groups table.
        group.aggregate_metric_list = kept or None
        result = dict(original(group, task_metrics))
    finally:
        group.aggregate_metric_list = saved
    result.setdefault("sample_len", sum(int(task_metrics[t].get("sample_len") or 0) for t in spec.tasks))
    result.update(composite_entries(spec, task_metrics))
    return result


def _member_chance(spec: SuiteSpec, m: MemberSpec, metrics: Mapping[str, Any]) -> float:
    """Return the member's chance: its ``chance_metric``'s value in the run where it has one, else the spec's."""
    if m.chance_metric is None:
        return m.chance
    key = f"{m.chance_metric},{m.filter}"
    c = _number(metrics.get(key))
    if c is None or not math.isfinite(c) or not c < m.ceiling:
        raise MissingMetricError(
            f"group {spec.name!r}: task {m.task!r} takes its chance from metric {key!r}, which the run "
            f"{'does not report' if key not in metrics else f'reports as {metrics[key]!r}'}; expected a finite "
            f"value below the ceiling {m.ceiling}."
        )
    return c


def composite_entries(spec: SuiteSpec, task_metrics: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """Return the results entries of the composite row (the same on every lm-eval version).

    Args:
        spec: The group's suite spec.
        task_metrics: Flat per-task metrics (see :func:`group_composite`).

    Returns:
        ``mtl_composite,none``, ``mtl_composite_stderr,none`` (``"N/A"`` when unknown) and,
        where the spec names a leaderboard, ``leaderboard_average,none``.

    Raises:
        MissingTaskError, MissingMetricError, MTLError: See :func:`group_composite`.
    """
    comp = group_composite(spec, task_metrics)
    entries: dict[str, Any] = {
        COMPOSITE_KEY: comp.value,
        COMPOSITE_STDERR_KEY: comp.stderr if math.isfinite(comp.stderr) else "N/A",
    }
    if comp.leaderboard_average is not None:
        entries[LEADERBOARD_KEY] = comp.leaderboard_average
    return entries
