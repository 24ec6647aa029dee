"""The one per-member pipeline: from a run's files to each member's numbers.

:func:`collect_members` reads, for every member of a suite, what the results file says
(value, stderr, item count, task hash) and, where samples were logged, what they say
(per-item scores, nested values, corpus segment statistics, clusters, number of choices),
checks the two against each other, and fixes the member's chance level once:

* ``chance_source="samples"``: the mean of 1/k_i over the logged items, for a member whose
  chance is a 1-of-k pick (:attr:`MemberSpec.chance_per_item`: multiple choice scored by
  ``acc``/``acc_norm``, unless the spec says otherwise; k_i = item i's number of choices);
* ``chance_source="spec"``: the suite spec's ``chance`` otherwise.

Every tool (``report``, ``compare``, ``transfer``, the demo) builds on the frozen
:class:`Members` it returns; nothing downstream reads lm-eval files again.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import (
    InsufficientDataError,
    MissingMetricError,
    MissingTaskError,
    MTLError,
    ResultsFormatError,
    unknown_name,
)
from lm_eval_mtl.io.results import MetricValue, RunResult, TaskResult
from lm_eval_mtl.io.samples import TaskSamples
from lm_eval_mtl.suites.spec import MemberSpec, SuiteSpec

if TYPE_CHECKING:
    from lm_eval_mtl.stats.corpus import CorpusStats

FloatArray = npt.NDArray[np.float64]
MissingPolicy = Literal["error", "drop"]
ChanceSource = Literal["samples", "spec", "metric"]
CORPUS_METRICS: tuple[str, ...] = ("bleu", "chrf", "chrf++", "ter")
"""Corpus metrics whose logged (reference, prediction) pairs this package resamples."""
_CHANCE_TOLERANCE = 1e-12

__all__ = [
    "CORPUS_METRICS",
    "ChanceSource",
    "Member",
    "Members",
    "MissingPolicy",
    "collect_members",
    "member_se",
    "prefetch_members",
    "successes",
]


def _listing(names: Sequence[str], limit: int = 10) -> str:
    """Join names for a message, at most ``limit`` of them, with a count of the rest."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


@dataclass(frozen=True)
class Member:
    """One member's numbers from one run: the results file's, and what its samples add."""

    spec: MemberSpec
    """The member's spec (task, metric, filter, spec chance, ceiling, family, cluster key)."""
    raw: float
    """x_t, the metric as the results file reports it."""
    raw_se: float
    """The results file's stderr of x_t (NaN where lm-eval reported none)."""
    n: int | None
    """Items scored per the results file (``n-samples.effective``), when recorded."""
    task_hash: str | None
    """The results file's task hash, when recorded."""
    chance: float
    """c_t used for normalization (see :attr:`chance_source`)."""
    chance_source: ChanceSource
    """``samples``: mean of 1/k over the logged items; ``spec``: the suite spec's chance;
    ``metric``: the run's value of the spec's :attr:`~MemberSpec.chance_metric`."""
    samples: TaskSamples | None = None
    """The member's per-item records, when logged."""
    scores: FloatArray | None = None
    """Per-item scores (or, for a list-valued metric, the flattened values), checked against the results."""
    corpus: CorpusStats | None = None
    """Per-segment sufficient statistics of a corpus metric, checked against the results."""
    cluster_field: str | None = None
    """Doc field whose items share a context (applies only where samples exist)."""
    cluster_labels: npt.NDArray[np.int64] | None = None
    """Cluster label per entry of :attr:`scores` (or per segment), or None."""
    owner: npt.NDArray[np.int64] | None = None
    """For a list-valued metric: the item each flattened value belongs to."""

    @property
    def label(self) -> str:
        """The member's label in its suite."""
        return self.spec.label

    @property
    def span(self) -> float:
        """u_t - c_t."""
        return self.spec.ceiling - self.chance

    @property
    def scale(self) -> float:
        """1 / (u_t - c_t): raw metric units -> normalized units."""
        return 1.0 / self.span

    @property
    def normalized(self) -> float:
        """z_t = (x_t - c_t) / (u_t - c_t), not clipped."""
        from lm_eval_mtl.scoring.normalize import normalize

        return normalize(self.raw, self.chance, self.spec.ceiling)

    @property
    def n_clusters(self) -> int | None:
        """Clusters G of a member with a cluster key and samples, else None."""
        if self.cluster_field is None or self.cluster_labels is None:
            return None
        return int(np.unique(self.cluster_labels).size)

    @property
    def n_items(self) -> int | None:
        """Items scored: the results file's count, else the number of logged items."""
        if self.n is not None:
            return self.n
        return len(self.samples) if self.samples is not None else None


@dataclass(frozen=True)
class Members:
    """Every member of a suite as scored by one run, plus what was dropped and why."""

    suite: SuiteSpec
    """The suite."""
    run: RunResult
    """The run."""
    members: tuple[Member, ...]
    """Members kept, in suite order."""
    dropped: Mapping[str, str] = field(default_factory=dict)
    """Label -> why the member was dropped (``missing="drop"``)."""
    notes: tuple[str, ...] = ()
    """Caveats found while collecting (cluster keys without samples ...)."""

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    def get(self, label: str) -> Member:
        """Return the member ``label``.

        Raises:
            UnknownNameError: No kept member has that label.
        """
        for m in self.members:
            if m.spec.label == label:
                return m
        raise unknown_name(f"member of {self.suite.id}", label, [m.spec.label for m in self.members])

    @property
    def labels(self) -> tuple[str, ...]:
        """Labels of the kept members, in suite order."""
        return tuple(m.spec.label for m in self.members)

    @property
    def all_samples(self) -> bool:
        """Whether every kept member has per-item records."""
        return all(m.samples is not None for m in self.members)

    @property
    def chance_from_samples(self) -> bool:
        """Whether some member's chance (from its items) differs from its spec chance."""
        return any(
            m.chance_source == "samples" and abs(m.chance - m.spec.chance) > _CHANCE_TOLERANCE
            for m in self.members
        )


def collect_members(
    run: RunResult,
    suite: SuiteSpec,
    *,
    clusters: Mapping[str, str] | None = None,
    missing: MissingPolicy = "error",
    chance: Literal["auto", "spec"] = "auto",
    allow_few_clusters: bool = False,
) -> Members:
    """Read every member of ``suite`` from ``run``, in one pass, checked.

    Args:
        run: The run.
        suite: The suite (or an ad-hoc spec over a run's tasks).
        clusters: Task name or member label -> doc field to cluster on, overriding the
            spec's ``cluster`` keys.
        missing: ``error``: a member absent from the run is an error; ``drop``: keep the
            members present and list the others in :attr:`Members.dropped`.
        chance: ``auto``: per-item chance where a multiple-choice member's items are
            logged, else the spec's; ``spec``: always the spec's.
        allow_few_clusters: Go on (with a warning) where a member's cluster key gives fewer
            than :data:`lm_eval_mtl.stats.clusters.MIN_CLUSTERS` clusters.

    Returns:
        The frozen :class:`Members`.

    Raises:
        MissingTaskError: A member's task is absent (``missing="error"``).
        MissingMetricError: A member's metric is absent (``missing="error"``); a cluster field is absent.
        ResultsFormatError: Samples disagree with the results file; malformed samples; chance
            not below the ceiling.
        FewClustersError: A member's cluster key gives fewer than 4 clusters (and
            ``allow_few_clusters`` is False).
        InsufficientDataError: No member could be scored.
    """
    found, dropped = _results_rows(run, suite, missing)
    run.prefetch_samples(*_samples_wanted(run, found))
    cl = dict(clusters or {})
    notes: list[str] = []
    kept: list[Member] = []
    for spec, tr, mv in found:
        mem = _member(run, spec, tr, mv, cl.get(spec.label) or cl.get(spec.task) or spec.cluster, chance)
        if not spec.ceiling > mem.chance:
            raise ResultsFormatError(
                f"member {spec.label!r}: chance {mem.chance} ({mem.chance_source}) is not below the ceiling "
                f"{spec.ceiling}."
            )
        if mem.cluster_field and mem.samples is None:
            notes.append(
                f"{spec.label}: cluster key {mem.cluster_field!r} ignored (no samples); its stderr assumes "
                "independent items."
            )
        if mem.n_clusters is not None:
            from lm_eval_mtl.stats.clusters import check_clusters

            # 4 <= G < 20 warns (t quantiles, wild bootstrap); G < 4 is refused unless insisted on
            check_clusters(
                mem.n_clusters,
                allow_few_clusters=allow_few_clusters,
                what=f"member {spec.label!r} clustered on {mem.cluster_field!r}",
                stacklevel=3,
            )
        kept.append(mem)
    return Members(suite=suite, run=run, members=tuple(kept), dropped=dropped, notes=tuple(notes))


def _samples_wanted(
    run: RunResult, found: Sequence[tuple[MemberSpec, TaskResult, MetricValue]]
) -> tuple[list[tuple[str, str]], dict[tuple[str, str], list[str]]]:
    """Return the (task, filter) keys of the members with samples, and the corpus metrics of each key."""
    with_samples = [spec for spec, _, _ in found if run.has_samples(spec.task)]
    corpus: dict[tuple[str, str], list[str]] = {}
    for spec in with_samples:
        if spec.metric in CORPUS_METRICS:
            corpus.setdefault((spec.task, spec.filter), []).append(spec.metric)
    return [(spec.task, spec.filter) for spec in with_samples], corpus


def prefetch_members(runs: Sequence[RunResult], suite: SuiteSpec, missing: MissingPolicy = "error") -> None:
    """Read the samples that :func:`collect_members` of each run will need, all runs in one pool.

    A run whose results rows cannot be read is left out: its :func:`collect_members` raises
    the error, in the same order as without this call.
    """
    from lm_eval_mtl.io.results import prefetch_runs

    wanted = []
    for run in runs:
        try:
            found, _ = _results_rows(run, suite, missing)
        except MTLError:
            continue
        wanted.append((run, *_samples_wanted(run, found)))
    prefetch_runs(wanted)


def _results_rows(
    run: RunResult, suite: SuiteSpec, missing: MissingPolicy
) -> tuple[list[tuple[MemberSpec, TaskResult, MetricValue]], dict[str, str]]:
    """Each member's value, stderr and item count from the results file; dropped members with reasons.

    Raises:
        MissingTaskError: A member's task is absent and ``missing="error"``.
        MissingMetricError: A member's metric is absent and ``missing="error"``.
        InsufficientDataError: No member could be scored.
    """
    kept: list[tuple[MemberSpec, TaskResult, MetricValue]] = []
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
        kept.append((m, tr, mv))
    if problems and missing == "error":
        names = _listing(list(dict.fromkeys(problems)))
        if not kept:  # nothing of the suite is in the run: another suite, or the wrong folder
            raise MissingTaskError(
                f"the run {run.path} has none of the {len(suite.tasks)} tasks of suite {suite.id} (it lacks "
                f"{names}); it was run with other tasks: pass the suite it was run with (--suite; "
                "`lm-eval-mtl suites` lists them), or run `lm_eval --tasks "
                f"{suite.name}`."
            )
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


def _chance_of_run(m: MemberSpec, tr: TaskResult) -> tuple[float, ChanceSource]:
    """Return the member's chance before its items are read: the chance metric's value, else the spec's."""
    if m.chance_metric is None:
        return m.chance, "spec"
    try:
        value = tr.metric(m.chance_metric, m.filter).value
    except MissingMetricError as err:
        raise MissingMetricError(
            f"member {m.label!r} takes its chance from metric {m.chance_metric!r}, which the run does not "
            f"report ({err}); run the task's current config, which logs it."
        ) from None
    if not (math.isfinite(value) and value < m.ceiling):
        raise ResultsFormatError(
            f"member {m.label!r}: chance metric {m.chance_metric!r} is {value!r}; expected a finite value below "
            f"the ceiling {m.ceiling}."
        )
    return float(value), "metric"


def _member(
    run: RunResult,
    m: MemberSpec,
    tr: TaskResult,
    mv: MetricValue,
    cluster_field: str | None,
    chance_policy: Literal["auto", "spec"],
) -> Member:
    """One member from its results row and, where logged, its samples (checked against the row)."""
    from lm_eval_mtl.stats.corpus import corpus_score, segment_stats

    spec_chance, spec_source = _chance_of_run(m, tr)
    base = Member(
        spec=m,
        raw=mv.value,
        raw_se=mv.stderr,
        n=tr.n,
        task_hash=tr.task_hash,
        chance=spec_chance,
        chance_source=spec_source,
        cluster_field=cluster_field,
    )
    if not run.has_samples(m.task):
        return base
    s = run.samples(m.task, m.filter)
    if tr.n is not None and len(s) != tr.n:
        raise ResultsFormatError(
            f"{s.path}: task {m.task!r} has {len(s)} logged item(s) (filter {m.filter!r}), but the results file "
            f"{run.path.name} reports n-samples {tr.n}; records are missing or extra (a truncated or edited "
            "samples file, or one from another run)."
        )
    scores: FloatArray | None = None
    owner: npt.NDArray[np.int64] | None = None
    corpus: CorpusStats | None = None
    raw = mv.value
    if m.metric in s.pairs:
        if m.metric not in CORPUS_METRICS:
            raise ResultsFormatError(
                f"{s.path}: metric {m.metric!r} of task {m.task!r} logs (reference, prediction) pairs but is "
                f"not a corpus metric this package can resample ({', '.join(CORPUS_METRICS)})."
            )
        from lm_eval_mtl.io.cache import cached_corpus_stats

        refs, preds = s.pairs[m.metric]
        corpus = cached_corpus_stats(s.cache_key, m.metric, lambda: segment_stats(m.metric, refs, preds))  # type: ignore[arg-type]
        observed = corpus_score(corpus)
        if abs(observed - raw) > 1e-6 * max(1.0, abs(raw)) + 1e-6:
            raise ResultsFormatError(
                f"{s.path}: corpus {m.metric} recomputed from the logged segments is {observed!r}, but the "
                f"results file reports {raw!r} for task {m.task!r}; the samples do not belong to this run "
                "or the metric uses non-default options."
            )
    elif m.metric in s.nested:
        flat, owner = s.nested[m.metric]
        if flat.size == 0 or not np.all(np.isfinite(flat)):
            raise ResultsFormatError(
                f"{s.path}: metric {m.metric!r} of task {m.task!r} has no values or non-finite values."
            )
        scores = flat
        observed = float(flat.mean())
        if abs(observed - raw) > 1e-9 + 1e-6 * abs(raw):
            raise ResultsFormatError(
                f"{s.path}: the mean of the {flat.size} logged values of task {m.task!r} ({m.metric}) is "
                f"{observed!r}, but the results file reports {raw!r}; the samples do not belong to this run."
            )
    else:
        scores = s.item_scores(m.metric)
        observed = float(scores.mean())
        if abs(observed - raw) > 1e-9 + 1e-6 * abs(raw):
            raise ResultsFormatError(
                f"{s.path}: the mean of {len(s)} logged items of task {m.task!r} ({m.metric}) is {observed!r}, "
                f"but the results file reports {raw!r}; the samples do not belong to this run (or the "
                "group is not an item-weighted mean)."
            )
    labels: npt.NDArray[np.int64] | None = None
    if cluster_field:
        item_labels = s.clusters(cluster_field)
        labels = item_labels[owner] if owner is not None else item_labels
    elif owner is not None:
        # values of one item (instructions of one prompt) are resampled together
        labels = owner
    chance, source = spec_chance, spec_source
    if m.chance_metric is not None:
        observed = float(s.item_scores(m.chance_metric).mean())
        if abs(observed - chance) > 1e-9 + 1e-6 * abs(chance):
            raise ResultsFormatError(
                f"{s.path}: the mean of the logged {m.chance_metric!r} of task {m.task!r} is {observed!r}, but the "
                f"results file reports {chance!r}; the samples do not belong to this run."
            )
    elif chance_policy == "auto" and m.chance_per_item and s.n_choices is not None:
        if np.any(s.n_choices < 1):
            raise ResultsFormatError(f"{s.path}: some item of task {m.task!r} has no choices.")
        chance, source = float(np.mean(1.0 / s.n_choices)), "samples"
    return Member(
        spec=m,
        raw=raw,
        raw_se=mv.stderr,
        n=tr.n,
        task_hash=tr.task_hash,
        chance=chance,
        chance_source=source,  # type: ignore[arg-type]
        samples=s,
        scores=scores,
        corpus=corpus,
        cluster_field=cluster_field,
        cluster_labels=labels,
        owner=owner,
    )


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
    """se(x_t): from the logged items where they say more than lm-eval's stderr, else lm-eval's.

    * a corpus metric (BLEU, chrF, TER) with logged segments: the segment bootstrap (at most
      2,000 resamples), as the composite's interval
      resamples it; lm-eval's own stderr for these metrics is a bootstrap of 100 re-scorings
      (or 0, or absent), not the interval the composite uses;
    * per-item scores with a cluster key: the cluster-robust SE;
    * otherwise lm-eval's stderr, or where it reported none, sd/sqrt(n) of the items.
    """
    if mem.corpus is not None and mem.corpus.n >= 2:
        from lm_eval_mtl.stats.corpus import bootstrap_corpus

        return bootstrap_corpus(mem.corpus, n_resamples=max(2, min(n_resamples, 2000)), rng=gen).se
    if mem.scores is not None and mem.cluster_labels is not None:
        from lm_eval_mtl.stats.intervals import clustered_se

        return clustered_se(mem.scores, mem.cluster_labels)
    if math.isfinite(mem.raw_se):
        return mem.raw_se
    if mem.scores is not None and mem.scores.size >= 2:
        from lm_eval_mtl.stats.intervals import analytic_se_mean

        return analytic_se_mean(mem.scores)
    notes.append(f"{mem.spec.label}: lm-eval reported no standard error.")
    return math.nan
