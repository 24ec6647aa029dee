"""Which shipped suite a run was evaluated on, when the user named none."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lm_eval_mtl.io.results import RunResult
from lm_eval_mtl.suites.spec import SuiteSpec

__all__ = ["SuiteChoice", "detect_suite", "shipped_suites"]


def shipped_suites() -> tuple[SuiteSpec, ...]:
    """Every shipped suite and family spec, parsed in one pass over the task configs (cached)."""
    from lm_eval_mtl.suites.loading import load_suites

    return load_suites()


@dataclass(frozen=True)
class SuiteChoice:
    """The suite chosen for a run when none was named, and why."""

    suite: SuiteSpec
    """The suite."""
    reason: str
    """One line saying why it was chosen."""
    coverage: float
    """Fraction of its members whose task is in the run."""


def detect_suite(run: RunResult, candidates: Sequence[SuiteSpec] | None = None) -> SuiteChoice:
    """Choose the suite a run was evaluated on.

    A suite whose group row is in the run (``lm_eval --tasks mtl_suite`` writes one)
    wins; among several, the one covering most members. Otherwise the suite (``kind:
    suite``) whose members the run covers best (ties: the larger suite).

    Args:
        run: The run.
        candidates: Suites to choose from; default: the shipped suites.

    Raises:
        UnknownNameError: No candidate has a member in the run.
    """
    pool = [s for s in (candidates if candidates is not None else shipped_suites()) if s.kind == "suite"]
    present = set(run.tasks) | set(run.groups)

    def coverage(s: SuiteSpec) -> float:
        return sum(m.task in present for m in s.members) / len(s.members)

    in_run = [s for s in pool if s.name in run.groups or s.name in run.group_subtasks]
    if in_run:
        best = max(in_run, key=lambda s: (coverage(s), len(s.members)))
        return SuiteChoice(
            best, f"the run has the group {best.name!r} (lm_eval --tasks {best.name})", coverage(best)
        )
    scored = sorted(pool, key=lambda s: (coverage(s), len(s.members)), reverse=True)
    if not scored or coverage(scored[0]) == 0.0:
        from lm_eval_mtl.errors import UnknownNameError

        raise UnknownNameError(
            f"no shipped suite has a member in the run {run.path}; name one with --suite "
            f"(known: {', '.join(sorted(s.name for s in pool))}) or see `lm-eval-mtl suites`."
        )
    best = scored[0]
    cov = coverage(best)
    n_in = round(cov * len(best.members))
    return SuiteChoice(
        best, f"the run covers {n_in} of its {len(best.members)} members, more than any other suite", cov
    )
