"""Per-member data of one run on one suite: the one pipeline from a run's files to each member's numbers."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import (
    InsufficientDataError,
    MissingMetricError,
    MissingTaskError,
    ResultsFormatError,
)
from lm_eval_mtl.io.results import RunResult
from lm_eval_mtl.io.samples import TaskSamples
from lm_eval_mtl.suites.spec import MemberSpec, SuiteSpec

if TYPE_CHECKING:
    from lm_eval_mtl.stats.corpus import CorpusStats

FloatArray = npt.NDArray[np.float64]
MissingPolicy = Literal["error", "drop"]
CompositeMethod = Literal["analytic", "percentile", "bca"]
_CORPUS_METRICS = ("bleu", "chrf", "chrf++", "ter")
_CHOICE_METRICS = ("acc", "acc_norm")


__all__ = ["Member", "collect", "attach_samples", "successes", "member_se"]


def _listing(names: Sequence[str], limit: int = 10) -> str:
    """Join names for a message, at most ``limit`` of them, with a count of the rest."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass
class Member:
    """One member's numbers from a run: its value and stderr, and what its samples give."""

    spec: MemberSpec
    raw: float
    raw_se: float
    n: int | None
    task_hash: str | None
    samples: TaskSamples | None = None
    scores: FloatArray | None = None
    corpus: CorpusStats | None = None
    cluster_field: str | None = None
    cluster_labels: npt.NDArray[np.int64] | None = None
    owner: npt.NDArray[np.int64] | None = None
    """For a list-valued metric: the item each flattened value belongs to."""
    chance: float = 0.0
    chance_source: Literal["samples", "spec"] = "spec"


def collect(run: RunResult, suite: SuiteSpec, missing: MissingPolicy) -> tuple[list[Member], dict[str, str]]:
    """Each member's value, stderr and item count from the results file; dropped members with reasons.

    Raises:
        MissingTaskError: A member's task is absent and ``missing="error"``.
        MissingMetricError: A member's metric is absent and ``missing="error"``.
        InsufficientDataError: No member could be scored.
    """
    kept: list[Member] = []
    dropped: dict[str, str] = {}
    problems: list[str] = []
    for m in suite.members:
        try:
            tr = run.task(m.task)
        except MissingTaskError:
            dropped[m.label] = f"task {m.task!r} not in the run"
            problems.append(m.task)
            continue
        try:
            mv = tr.metric(m.metric, m.filter)
        except MissingMetricError as err:
            if missing == "error":
                raise MissingMetricError(f"{err} (suite {suite.id}, member {m.label!r})") from None
            dropped[m.label] = f"metric {m.metric!r} (filter {m.filter!r}) not reported"
            continue
        kept.append(Member(spec=m, raw=mv.value, raw_se=mv.stderr, n=tr.n, task_hash=tr.task_hash))
    if problems and missing == "error":
        names = _listing(list(dict.fromkeys(problems)))
        raise MissingTaskError(
            f"the run {run.path} lacks {len(set(problems))} of the {len(suite.tasks)} tasks of suite {suite.id}: "
            f"{names}. Run them, or pass --missing drop (missing='drop') to score the members present "
            "with renormalized weights."
        )
    if not kept:
        raise InsufficientDataError(
            f"none of the members of suite {suite.id} could be scored from {run.path}: "
            + "; ".join(f"{k}: {v}" for k, v in dropped.items())
        )
    return kept, dropped


def attach_samples(run: RunResult, members: list[Member], clusters: Mapping[str, str]) -> None:
    """Read samples, item scores, corpus statistics, chance and clusters of each member."""
    from lm_eval_mtl.stats.corpus import corpus_score, segment_stats

    for mem in members:
        m = mem.spec
        mem.cluster_field = clusters.get(m.label) or clusters.get(m.task) or m.cluster
        if not run.has_samples(m.task):
            continue
        s = run.samples(m.task, m.filter)
        mem.samples = s
        if m.metric in s.pairs:
            if m.metric not in _CORPUS_METRICS:
                raise ResultsFormatError(
                    f"{s.path}: metric {m.metric!r} of task {m.task!r} logs (reference, prediction) pairs but is "
                    f"not a corpus metric this package can resample ({', '.join(_CORPUS_METRICS)})."
                )
            refs, preds = s.pairs[m.metric]
            mem.corpus = segment_stats(m.metric, refs, preds)  # type: ignore[arg-type]
            observed = corpus_score(mem.corpus)
            if abs(observed - mem.raw) > 1e-6 * max(1.0, abs(mem.raw)) + 1e-6:
                raise ResultsFormatError(
                    f"{s.path}: corpus {m.metric} recomputed from the logged segments is {observed!r}, but the "
                    f"results file reports {mem.raw!r} for task {m.task!r}; the samples do not belong to this run "
                    "or the metric uses non-default options."
                )
        elif m.metric in s.nested:
            flat, owner = s.nested[m.metric]
            if flat.size == 0 or not np.all(np.isfinite(flat)):
                raise ResultsFormatError(
                    f"{s.path}: metric {m.metric!r} of task {m.task!r} has no values or non-finite values."
                )
            mem.scores, mem.owner = flat, owner
            observed = float(flat.mean())
            if abs(observed - mem.raw) > 1e-9 + 1e-6 * abs(mem.raw):
                raise ResultsFormatError(
                    f"{s.path}: the mean of the {flat.size} logged values of task {m.task!r} ({m.metric}) is "
                    f"{observed!r}, but the results file reports {mem.raw!r}; the samples do not belong to this run."
                )
        else:
            mem.scores = s.item_scores(m.metric)
            observed = float(mem.scores.mean())
            if abs(observed - mem.raw) > 1e-9 + 1e-6 * abs(mem.raw):
                raise ResultsFormatError(
                    f"{s.path}: the mean of {len(s)} logged items of task {m.task!r} ({m.metric}) is {observed!r}, "
                    f"but the results file reports {mem.raw!r}; the samples do not belong to this run (or the "
                    "group is not an item-weighted mean)."
                )
        if mem.cluster_field:
            labels = s.clusters(mem.cluster_field)
            mem.cluster_labels = labels[mem.owner] if mem.owner is not None else labels
        elif mem.owner is not None:
            # values of one item (instructions of one prompt) are resampled together
            mem.cluster_labels = mem.owner
        if m.output_type == "multiple_choice" and m.metric in _CHOICE_METRICS and s.n_choices is not None:
            if np.any(s.n_choices < 1):
                raise ResultsFormatError(f"{s.path}: some item of task {m.task!r} has no choices.")
            mem.chance = float(np.mean(1.0 / s.n_choices))
            mem.chance_source = "samples"


def successes(mem: Member) -> int | None:
    """Count of 1s when the member's logged scores are all 0/1, unclustered and match n."""
    if mem.scores is None or mem.cluster_labels is not None or mem.owner is not None:
        return None
    if mem.n is not None and mem.n != mem.scores.size:
        return None
    if not np.all((mem.scores == 0.0) | (mem.scores == 1.0)):
        return None
    return int(mem.scores.sum())


def member_se(mem: Member, notes: list[str], gen: np.random.Generator, n_resamples: int) -> float:
    """se(x_t): clustered from items where a cluster key applies, else lm-eval's stderr.

    Where lm-eval reported none: from the items (sd/sqrt(n)), or for a corpus metric a
    segment bootstrap (at most 2,000 resamples).
    """
    if mem.scores is not None and mem.cluster_labels is not None:
        from lm_eval_mtl.stats.intervals import clustered_se

        return clustered_se(mem.scores, mem.cluster_labels)
    if math.isfinite(mem.raw_se):
        return mem.raw_se
    if mem.scores is not None and mem.scores.size >= 2:
        from lm_eval_mtl.stats.intervals import analytic_se_mean

        return analytic_se_mean(mem.scores)
    if mem.corpus is not None and mem.corpus.n >= 2:
        from lm_eval_mtl.stats.corpus import bootstrap_corpus

        return bootstrap_corpus(mem.corpus, n_resamples=max(2, min(n_resamples, 2000)), rng=gen).se
    notes.append(f"{mem.spec.label}: lm-eval reported no standard error.")
    return math.nan
