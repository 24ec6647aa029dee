"""Open LLM Leaderboard recipes: the published v2 average and the v1 average.

Open LLM Leaderboard v2 (as published by Hugging Face, June 2024), per benchmark::

    normalized = max(0, (x - 1/k) / (1 - 1/k)) * 100

with ``x`` the raw score on lm-eval's 0-1 scale and ``1/k`` the chance level:

* BBH and MuSR: each *subtask* is normalized with its own number of choices
  ``k``, then the normalized subtasks are averaged (plain mean);
* IFEval: the mean of instruction-level and prompt-level strict accuracy
  (lower bound 0, so no chance correction);
* MATH Lvl 5: exact match, lower bound 0 (the leaderboard takes lm-eval's
  ``leaderboard_math_hard`` group value, a size-weighted mean of its subtasks);
* GPQA: ``acc_norm``, chance 0.25 (lm-eval's ``leaderboard_gpqa`` group value,
  size-weighted over diamond, extended and main);
* MMLU-Pro: ``acc``, chance 0.1;
* the average is the plain mean of the six normalized benchmark scores.

How a suite spec maps onto the recipe: members are grouped by ``family`` (one
family per benchmark). A family whose members are ``leaderboard_math*`` or
``leaderboard_gpqa*`` tasks is *pooled*: its raw members are averaged weighted
by item count (lm-eval's ``weight_by_size`` group mean), then normalized with
the members' common chance level. Every other family is *per-subtask*: each
member is normalized with its own ``chance`` and clipped, then the family is
the plain mean of its members (this covers BBH, MuSR, IFEval's two members and
single-member families such as MMLU-Pro).

Open LLM Leaderboard v1: the plain mean of six raw scores in percent (ARC,
HellaSwag, MMLU, TruthfulQA, WinoGrande, GSM8K), no normalization.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from lm_eval_mtl.errors import MissingTaskError, MTLError
from lm_eval_mtl.suites import MemberSpec, SuiteSpec

__all__ = [
    "LEADERBOARDS",
    "BenchmarkScore",
    "OpenLLMv2Score",
    "clipped_normalized",
    "leaderboard_average",
    "openllm_v1_average",
    "openllm_v2_average",
    "openllm_v2_score",
]

FamilyMethod = Literal["per_subtask", "pooled"]
LEADERBOARDS: tuple[str, ...] = ("openllm_v2",)
"""Leaderboard recipes a suite may name (``leaderboard:``); see :func:`leaderboard_average`."""
_POOLED_PREFIXES: tuple[str, ...] = ("leaderboard_math", "leaderboard_gpqa")


def clipped_normalized(x: float, chance: float, ceiling: float = 1.0) -> float:
    """Return the leaderboard's clipped view: ``max(0, (x - chance) / (ceiling - chance)) * 100``.

    Args:
        x: Raw score on the metric's own scale (0-1 for accuracies).
        chance: Chance level ``1/k`` (0 for generation tasks).
        ceiling: Best possible value (1 for accuracies).

    Returns:
        The normalized score in percent, clipped below at 0 (not above).

    Raises:
        MTLError: ``x`` is not finite or ``ceiling`` is not above ``chance``.
    """
    if not math.isfinite(x):
        raise MTLError(f"`x` must be finite; got {x!r}.")
    if not (math.isfinite(chance) and math.isfinite(ceiling) and ceiling > chance):
        raise MTLError(f"`ceiling` must exceed `chance`; got chance={chance!r}, ceiling={ceiling!r}.")
    return max(0.0, (x - chance) / (ceiling - chance)) * 100.0


@dataclass(frozen=True)
class BenchmarkScore:
    """One benchmark (family) of the Open LLM Leaderboard v2 average."""

    family: str
    """Family (benchmark) name as the suite spells it."""
    members: tuple[str, ...]
    """Member labels that make up the benchmark, in suite order."""
    method: FamilyMethod
    """``per_subtask`` (normalize each member, then plain mean) or ``pooled``
    (size-weighted raw mean, then normalize)."""
    normalized: float
    """The benchmark's normalized score, 0-100, as the leaderboard publishes it."""
    member_normalized: Mapping[str, float]
    """Clipped normalized score (0-100) per member; for a pooled family, the
    per-member values are shown for reference only."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "family": self.family,
            "members": list(self.members),
            "method": self.method,
            "normalized": self.normalized,
            "member_normalized": dict(self.member_normalized),
        }


@dataclass(frozen=True)
class OpenLLMv2Score:
    """The Open LLM Leaderboard v2 average of one run, with its breakdown."""

    average: float
    """Plain mean of the benchmark scores, 0-100."""
    benchmarks: tuple[BenchmarkScore, ...]
    """One entry per family, in suite order."""

    def benchmark(self, family: str) -> BenchmarkScore:
        """Return the entry of ``family``.

        Raises:
            UnknownNameError: No such family (close matches listed).
        """
        from lm_eval_mtl.errors import unknown_name

        for b in self.benchmarks:
            if b.family == family:
                return b
        raise unknown_name("benchmark", family, tuple(b.family for b in self.benchmarks))

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {"average": self.average, "benchmarks": [b.to_dict() for b in self.benchmarks]}


def _family_method(members: Sequence[MemberSpec]) -> FamilyMethod:
    pooled = [m.task.startswith(_POOLED_PREFIXES) for m in members]
    return "pooled" if all(pooled) else "per_subtask"


def _openllm_v2_score_iv(
    spec: SuiteSpec, values: Mapping[str, float], sizes: Mapping[str, int] | None
) -> None:
    if not isinstance(spec, SuiteSpec):
        raise MTLError(f"`spec` must be a SuiteSpec; got {type(spec).__name__}.")
    missing = [label for label in spec.labels if label not in values]
    if missing:
        raise MissingTaskError(
            f"the Open LLM Leaderboard v2 average of suite {spec.name!r} needs every member; "
            f"`values` lacks {', '.join(missing)}."
        )
    for m in spec.members:
        v = values[m.label]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise MTLError(f"`values[{m.label!r}]` must be a finite number; got {v!r}.")
        if not (0.0 <= float(v) <= m.ceiling):
            raise MTLError(
                f"`values[{m.label!r}]` must be on lm-eval's scale [0, {m.ceiling:g}]; got {v!r}. "
                "Pass raw metrics (0-1), not percentages."
            )
    if sizes is not None:
        for label, n in sizes.items():
            if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
                raise MTLError(f"`sizes[{label!r}]` must be a positive int; got {n!r}.")


def openllm_v2_score(
    spec: SuiteSpec, values: Mapping[str, float], sizes: Mapping[str, int] | None = None
) -> OpenLLMv2Score:
    """Compute the Open LLM Leaderboard v2 average with its per-benchmark breakdown.

    Args:
        spec: The suite; each member's ``family`` names its benchmark and its
            ``chance`` is ``1/k`` (0 for IFEval and MATH).
        values: Raw metric per member label on lm-eval's 0-1 scale.
        sizes: Items per member label; needed only for a pooled family (MATH,
            GPQA) with more than one member.

    Returns:
        The average (0-100) and the breakdown.

    Raises:
        MissingTaskError: A member of the suite has no value (all are named).
        MTLError: A value is not a finite number in [0, ceiling]; a pooled family
            with several members lacks sizes; members of a pooled family have
            different chance levels.
    """
    _openllm_v2_score_iv(spec, values, sizes)
    by_family: dict[str, list[MemberSpec]] = {}
    for m in spec.members:
        by_family.setdefault(m.family, []).append(m)
    scores: list[BenchmarkScore] = []
    for family, members in by_family.items():
        method = _family_method(members)
        per_member = {
            m.label: clipped_normalized(float(values[m.label]), m.chance, m.ceiling) for m in members
        }
        if method == "per_subtask" or len(members) == 1:
            normalized = math.fsum(per_member.values()) / len(per_member)
        else:
            lacking = [m.label for m in members if sizes is None or m.label not in sizes]
            if lacking:
                raise MTLError(
                    f"benchmark {family!r} is pooled (size-weighted, as lm-eval's group mean); "
                    f"`sizes` lacks the item count of {', '.join(lacking)}."
                )
            n_items = dict(sizes or {})
            chances = {m.chance for m in members}
            ceilings = {m.ceiling for m in members}
            if len(chances) > 1 or len(ceilings) > 1:
                raise MTLError(
                    f"members of pooled benchmark {family!r} must share chance and ceiling; "
                    f"got chance {sorted(chances)}, ceiling {sorted(ceilings)}."
                )
            total = sum(n_items[m.label] for m in members)
            pooled = math.fsum(float(values[m.label]) * n_items[m.label] for m in members) / total
            normalized = clipped_normalized(pooled, members[0].chance, members[0].ceiling)
        scores.append(
            BenchmarkScore(
                family=family,
                members=tuple(m.label for m in members),
                method=method,
                normalized=normalized,
                member_normalized=per_member,
            )
        )
    average = math.fsum(s.normalized for s in scores) / len(scores)
    return OpenLLMv2Score(average=average, benchmarks=tuple(scores))


def openllm_v2_average(
    spec: SuiteSpec, values: Mapping[str, float], sizes: Mapping[str, int] | None = None
) -> float:
    """Compute the Open LLM Leaderboard v2 average (0-100); see :func:`openllm_v2_score`.

    Raises:
        MissingTaskError: A member has no value (all missing members are named).
        MTLError: Bad values or missing sizes of a pooled family.
    """
    return openllm_v2_score(spec, values, sizes).average


def openllm_v1_average(values: Mapping[str, float]) -> float:
    """Compute the Open LLM Leaderboard v1 average: plain mean of the raw scores, in percent.

    Args:
        values: Raw metric per benchmark on the 0-1 scale (the six v1 benchmarks).

    Returns:
        ``100 * mean(values)``.

    Raises:
        MTLError: ``values`` is empty or holds a non-finite value.
    """
    if not values:
        raise MTLError("`values` must hold at least one benchmark; got none.")
    bad = {k: v for k, v in values.items() if not math.isfinite(float(v))}
    if bad:
        raise MTLError(f"`values` must be finite; got {bad}.")
    return 100.0 * math.fsum(float(v) for v in values.values()) / len(values)


def leaderboard_average(
    leaderboard: str, spec: SuiteSpec, values: Mapping[str, float], sizes: Mapping[str, int] | None = None
) -> float:
    """Compute the published average of the recipe ``leaderboard`` (one of :data:`LEADERBOARDS`).

    The one entry point for a suite's ``leaderboard:`` field. Item counts that are not
    positive (0 where a run did not report one) are left out of ``sizes`` rather than refused.

    Args:
        leaderboard: Recipe name (``openllm_v2``).
        spec: The suite.
        values: Raw metric per member label (0-1 scale).
        sizes: Items per member label, or None.

    Returns:
        The average on the leaderboard's 0-100 scale.

    Raises:
        UnknownNameError: No such recipe (close matches listed).
        MissingTaskError, MTLError: See :func:`openllm_v2_score`.
    """
    from lm_eval_mtl.errors import unknown_name

    if leaderboard not in LEADERBOARDS:
        raise unknown_name("leaderboard", str(leaderboard), LEADERBOARDS)
    known = {
        k: v for k, v in (sizes or {}).items() if not isinstance(v, bool) and isinstance(v, int) and v > 0
    }
    return openllm_v2_average(spec, values, known)
