"""The composite score of one run on one suite: chance-normalized, weighted, with an interval.

For each member t of the suite (DESIGN.md section 4)::

    z_t = (x_t - c_t) / (u_t - c_t)        se(z_t) = se(x_t) / (u_t - c_t)
    C   = sum_t w_t z_t

* ``x_t``, ``se(x_t)``, ``n_t`` come from the run's results file (:class:`TaskResult`).
* ``c_t`` is the mean over items of ``1/k_i`` for a multiple-choice member scored by
  ``acc``/``acc_norm`` whose samples were logged (``k_i`` = number of choices of item i);
  otherwise the suite spec's ``chance``. ``u_t`` is the spec's ``ceiling``.
* Weights come from :func:`_weights_for` (structural schemes or a frozen weights file,
  checked against the suite and version); with ``missing="drop"`` the weights of the
  members present are renormalized to sum to 1 and the dropped members are listed.

Intervals:

* ``method="auto"``: a stratified bootstrap over items (percentile) when samples exist
  for every member, else the analytic interval ``C +- z * sqrt(sum w_t^2 se(z_t)^2)``.
* Bootstrap tasks: 0/1 and few-valued metrics use H3's exact fast paths
  (:func:`lm_eval_mtl.stats.bootstrap.bootstrap_composite`); a member with a cluster key
  (its spec's ``cluster`` doc field, or ``clusters={task: field}``) resamples clusters;
  corpus metrics (BLEU, chrF, TER) resample segments through their additive sufficient
  statistics (:mod:`lm_eval_mtl.stats.corpus`).
* Overlapping items. Members that score the same task (IFEval's two metrics), or tasks
  whose logged documents share ``doc_hash`` values (GPQA diamond inside main), are not
  independent. With samples they are resampled *jointly* over the union of their
  documents (one multiplicity per document), which carries their covariance into the
  interval. Without samples the covariance is unknown: such members' errors are added
  as if perfectly correlated (an upper bound) and :attr:`CompositeScore.notes` says so.
  Without samples, overlap is known only for repeated tasks and for a group member that
  contains another member.
"""

from __future__ import annotations

import hashlib
import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import (
    DegenerateDataWarning,
    InsufficientDataError,
    MissingExtraError,
    MissingMetricError,
    MissingTaskError,
    ResultsFormatError,
)
from lm_eval_mtl.results import RunResult, TaskSamples
from lm_eval_mtl.stats._common import (
    ConfidenceInterval,
    as_generator,
    check_confidence_level,
    check_n_resamples,
)
from lm_eval_mtl.suites import MemberSpec, SuiteSpec

if TYPE_CHECKING:
    from lm_eval_mtl.scoring.weights_file import WeightsFile
    from lm_eval_mtl.stats.bootstrap import BootstrapResult
    from lm_eval_mtl.stats.corpus import CorpusStats

__all__ = [
    "CompositeMethod",
    "CompositeScore",
    "SuiteChoice",
    "detect_suite",
    "shipped_suites",
    "TaskScore",
    "WeightsInfo",
    "score_run",
    "signature",
]

CompositeMethod = Literal["analytic", "percentile", "bca"]
MethodArg = Literal["auto", "analytic", "percentile", "bca"]
MissingPolicy = Literal["error", "drop"]
_METHODS = ("auto", "analytic", "percentile", "bca")
_CORPUS_METRICS = ("bleu", "chrf", "chrf++", "ter")
_CHOICE_METRICS = ("acc", "acc_norm")
FloatArray = npt.NDArray[np.float64]


# --------------------------------------------------------------------------- result objects


@dataclass(frozen=True)
class TaskScore:
    """One member's contribution to a composite."""

    task: str
    """lm-eval task name."""
    label: str
    """Member label (unique in the suite; the task name unless a task is scored twice)."""
    metric: str
    """Metric name (``acc``, ``exact_match``, ``chrf`` ...)."""
    filter: str
    """lm-eval filter name."""
    family: str
    """Capability family."""
    raw: float
    """x_t, the metric as lm-eval reports it."""
    raw_se: float
    """se(x_t) used (clustered where a cluster key applies and samples exist); NaN if unknown."""
    chance: float
    """c_t: mean of 1/k over items (multiple choice with samples) or the spec's chance."""
    chance_source: Literal["samples", "spec"]
    """Where :attr:`chance` came from."""
    ceiling: float
    """u_t, the best possible value."""
    normalized: float
    """z_t = (x_t - c_t)/(u_t - c_t), not clipped."""
    se: float
    """se(z_t) = se(x_t)/(u_t - c_t); NaN if unknown."""
    n: int | None
    """Number of items scored, when known."""
    weight: float
    """w_t (weights sum to 1 over the members kept)."""
    cluster: str | None = None
    """Doc field used as cluster key, if any."""
    resample: str = ""
    """How the bootstrap resampled this member (``binomial``, ``cluster``, ``corpus``, ``joint``), or ''."""
    successes: int | None = None
    """Number of items scored 1 when the logged item scores are all 0/1 and unclustered, else None."""

    @property
    def interval_kind(self) -> Literal["wilson", "normal"]:
        """``wilson`` for a 0/1 metric with logged items (no clusters), else ``normal``."""
        return "wilson" if self.successes is not None and self.n else "normal"

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Return an interval for :attr:`normalized`.

        Wilson's score interval of the raw proportion, mapped through the normalization,
        for a 0/1 metric with logged items (it keeps its coverage with few items and at
        0 or 1); the normal interval from :attr:`se` otherwise.
        """
        from lm_eval_mtl.stats.intervals import normal_interval, wilson_interval

        if self.successes is not None and self.n:
            lo, hi = wilson_interval(self.successes, self.n, confidence_level)
            span = self.ceiling - self.chance
            return ConfidenceInterval((lo - self.chance) / span, (hi - self.chance) / span)
        return normal_interval(self.normalized, self.se, confidence_level)

    def to_dict(self) -> dict[str, Any]:
        """Full-precision plain form (NaN as null)."""
        return {
            "task": self.task,
            "label": self.label,
            "metric": self.metric,
            "filter": self.filter,
            "family": self.family,
            "raw": self.raw,
            "raw_se": _json_float(self.raw_se),
            "chance": self.chance,
            "chance_source": self.chance_source,
            "ceiling": self.ceiling,
            "normalized": self.normalized,
            "se": _json_float(self.se),
            "n": self.n,
            "weight": self.weight,
            "cluster": self.cluster,
            "resample": self.resample,
            "successes": self.successes,
            "interval_kind": self.interval_kind,
        }


@dataclass(frozen=True)
class WeightsInfo:
    """Which weights a composite used."""

    scheme: str
    """Weighting scheme (``equal``, ``family``, ``size``, ``redundancy`` ...)."""
    id: str
    """Weights id: the scheme name for structural weights, the file's id otherwise."""
    sha256: str
    """sha256 of the weights file's content, or of the canonical JSON of structural weights."""

    @property
    def short_hash(self) -> str:
        """First 6 hex digits of :attr:`sha256`."""
        return self.sha256[:6]

    def to_dict(self) -> dict[str, Any]:
        """Plain form."""
        return {"scheme": self.scheme, "id": self.id, "sha256": self.sha256}


@dataclass(frozen=True)
class CompositeScore:
    """A run's composite score on a suite, with its interval and provenance."""

    value: float
    """C = sum_t w_t z_t."""
    se: float
    """Standard error of C (bootstrap SD, or the analytic formula); NaN if unknown."""
    ci: ConfidenceInterval
    """Interval at :attr:`confidence_level` by :attr:`method`."""
    confidence_level: float
    """Confidence level of :attr:`ci`."""
    method: CompositeMethod
    """``analytic`` (normal interval from stderrs) or ``percentile``/``bca`` (bootstrap over items)."""
    n_resamples: int | None
    """Bootstrap resamples B (None for analytic)."""
    seed: int | None
    """The int seed given as ``rng``, when one was (None: a Generator or OS entropy)."""
    tasks: tuple[TaskScore, ...]
    """Per-member contributions (members kept), in suite order."""
    weights: WeightsInfo
    """Weights used."""
    signature: str
    """Citation signature; see :func:`signature`."""
    suite: str
    """Suite name."""
    suite_version: str
    """Suite ``metadata.version``."""
    tasks_dropped: tuple[str, ...] = ()
    """Member labels dropped with ``missing="drop"``."""
    drop_reasons: Mapping[str, str] = field(default_factory=dict)
    """Label -> why it was dropped."""
    lm_eval_version: str | None = None
    """lm-eval version (or ``git-<hash>``) that produced the run."""
    model_name: str = ""
    """Model of the run."""
    run_path: str = ""
    """Results file scored."""
    other_runs: tuple[str, ...] = ()
    """Other results files in the run folder that were not used."""
    percentile: float | None = None
    """Percent of the reference population at or below :attr:`value`, when a table exists."""
    percentile_reference: str | None = None
    """Which population :attr:`percentile` refers to."""
    notes: tuple[str, ...] = ()
    """Caveats worth printing (overlaps, small samples, missing stderrs)."""
    leaderboard: str | None = None
    """The leaderboard recipe of the suite (``openllm_v2``), when it has one."""
    leaderboard_average: float | None = None
    """That leaderboard's published average (0-100) computed from this run; None if not computable."""
    _bootstrap: BootstrapResult | None = field(default=None, repr=False, compare=False)

    def confidence_interval(self, confidence_level: float = 0.95) -> ConfidenceInterval:
        """Return the interval at another level (same method; bootstrap reuses its resamples).

        Raises:
            ValueError: ``confidence_level`` outside (0, 1).
        """
        level = check_confidence_level(confidence_level)
        if self._bootstrap is not None:
            return self._bootstrap.confidence_interval(level)
        from lm_eval_mtl.stats.intervals import normal_interval

        return normal_interval(self.value, self.se, level)

    def to_dict(self) -> dict[str, Any]:
        """Full-precision JSON-ready form (NaN as null).

        Schema: ``composite`` {value, se, ci [low, high], confidence_level, method,
        n_resamples, seed}, ``suite`` {name, version}, ``model``, ``run``, ``tasks`` (list of
        :meth:`TaskScore.to_dict`), ``tasks_dropped``, ``drop_reasons``, ``weights``
        {scheme, id, sha256}, ``signature``, ``lm_eval_version``, ``percentile``,
        ``percentile_reference``, ``notes``.
        """
        return {
            "composite": {
                "value": self.value,
                "se": _json_float(self.se),
                "ci": [_json_float(self.ci.low), _json_float(self.ci.high)],
                "confidence_level": self.confidence_level,
                "method": self.method,
                "n_resamples": self.n_resamples,
                "seed": self.seed,
            },
            "suite": {"name": self.suite, "version": self.suite_version},
            "model": self.model_name,
            "run": self.run_path,
            "other_runs": list(self.other_runs),
            "tasks": [t.to_dict() for t in self.tasks],
            "tasks_dropped": list(self.tasks_dropped),
            "drop_reasons": dict(self.drop_reasons),
            "weights": self.weights.to_dict(),
            "signature": self.signature,
            "lm_eval_version": self.lm_eval_version,
            "percentile": self.percentile,
            "percentile_reference": self.percentile_reference,
            "notes": list(self.notes),
            "leaderboard": (
                None
                if self.leaderboard is None
                else {"name": self.leaderboard, "average": self.leaderboard_average}
            ),
        }

    def to_frame(self) -> Any:
        """Per-member table as a pandas DataFrame (full precision).

        Raises:
            MissingExtraError: pandas is not installed.
        """
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError:
            raise MissingExtraError("to_frame() needs pandas: pip install pandas") from None
        return pd.DataFrame([t.to_dict() for t in self.tasks])


def _json_float(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


# --------------------------------------------------------------------------- signature


def signature(
    suite: SuiteSpec,
    weights: WeightsInfo,
    lm_eval_version: str | None,
    task_hashes: Mapping[str, str | None],
    tasks_dropped: Sequence[str] = (),
) -> str:
    """Build the citation signature of a composite, like sacrebleu's.

    Format (fields separated by ``|``)::

        <suite>@<version>|norm=chance|w=<weights id>@sha256:<6 hex>|lm-eval=<version>|tasks=<8 hex>[|drop=<a>+<b>]

    * ``<suite>@<version>``: the suite and its ``metadata.version`` (fixes members,
      metrics, filters, chance and ceilings).
    * ``norm=chance``: z = (x - c)/(u - c), not clipped.
    * ``w=``: the weights id (the scheme name for structural weights) and the first 6 hex
      digits of their sha256 (the weights file's content hash; for structural weights the
      hash of the canonical JSON of the member weights before any drop).
    * ``lm-eval=``: lm-eval's version (or ``git-<hash>``), ``unknown`` when not recorded.
    * ``tasks=``: first 8 hex digits of sha256 over the lines ``<task>:<task_hash>`` of the
      members' tasks (sorted), from the results file's ``task_hashes`` (written by lm-eval
      when samples are logged; they hash every document, prompt and target). ``tasks=na``
      when some member has no task hash.
    * ``drop=``: when ``missing="drop"`` dropped members: their labels, sorted, joined by
      ``+`` (up to 5), else ``<count>@<first 8 hex of sha256 of the sorted labels, one per line>``.

    Args:
        suite: The suite.
        weights: The weights used.
        lm_eval_version: From the run.
        task_hashes: Task -> its hash (None when absent), for the members' tasks.
        tasks_dropped: Dropped member labels.

    Returns:
        The signature string.
    """
    if task_hashes and all(task_hashes.values()):
        lines = "\n".join(f"{t}:{h}" for t, h in sorted(task_hashes.items()))
        tasks = hashlib.sha256(lines.encode("utf-8")).hexdigest()[:8]
    else:
        tasks = "na"
    parts = [
        suite.id,
        "norm=chance",
        f"w={weights.id}@sha256:{weights.short_hash}",
        f"lm-eval={lm_eval_version or 'unknown'}",
        f"tasks={tasks}",
    ]
    if tasks_dropped:
        names = sorted(tasks_dropped)
        if len(names) <= 5:
            parts.append("drop=" + "+".join(names))
        else:
            digest = hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:8]
            parts.append(f"drop={len(names)}@{digest}")
    return "|".join(parts)


def _listing(names: Sequence[str], limit: int = 10) -> str:
    """Join names for a message, at most ``limit`` of them, with a count of the rest."""
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --------------------------------------------------------------------------- input validation


def _score_run_iv(
    run: Any,
    suite: Any,
    confidence_level: float,
    n_resamples: int,
    method: str,
    missing: str,
    clusters: Mapping[str, str] | None,
) -> tuple[float, int]:
    if not isinstance(run, RunResult):
        raise TypeError(f"`run` must be a RunResult (from load_run); got {type(run).__name__}.")
    if not isinstance(suite, SuiteSpec):
        raise TypeError(f"`suite` must be a SuiteSpec (from load_suite); got {type(suite).__name__}.")
    level = check_confidence_level(confidence_level)
    b = check_n_resamples(n_resamples)
    if method not in _METHODS:
        from lm_eval_mtl.errors import unknown_name

        raise unknown_name("interval method", str(method), _METHODS)
    if missing not in ("error", "drop"):
        raise ValueError(f"`missing` must be 'error' or 'drop'; got {missing!r}.")
    if clusters is not None:
        known = set(suite.tasks) | set(suite.labels)
        for key, value in clusters.items():
            if key not in known:
                from lm_eval_mtl.errors import unknown_name

                raise unknown_name(f"task of suite {suite.name!r} in `clusters`", str(key), sorted(known))
            if not isinstance(value, str) or not value:
                raise ValueError(f"`clusters[{key!r}]` must be a doc field name; got {value!r}.")
    return level, b


# --------------------------------------------------------------------------- weights


def _structural_hash(weights: Mapping[str, float]) -> str:
    canonical = json.dumps({k: float(v) for k, v in weights.items()}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _weights_for(
    suite: SuiteSpec, weights: str | None, sizes: Mapping[str, int]
) -> tuple[dict[str, float], WeightsInfo, WeightsFile | None]:
    """Member weights (whole suite; ``size``: members in ``sizes``), their description and file.

    Raises:
        IncompatibleWeightsError: A weights file for another suite or version.
        UnknownNameError: Not a structural scheme, a shipped id or a file.
    """
    from lm_eval_mtl.scoring.structural import STRUCTURAL_SCHEMES, structural_weights

    name = weights or suite.weights
    if name in STRUCTURAL_SCHEMES:
        if name == "size":
            # size weights exist only for the members present (their item counts)
            from dataclasses import replace

            sub = replace(suite, members=tuple(m for m in suite.members if m.label in sizes))
            w = structural_weights(sub, name, sizes)
        else:
            w = structural_weights(suite, name)
        return w, WeightsInfo(scheme=name, id=name, sha256=_structural_hash(w)), None
    from lm_eval_mtl.scoring.weights_file import load_weights

    wf = load_weights(name)
    w = wf.member_weights(suite)  # checks suite, version and keys
    return w, WeightsInfo(scheme=wf.scheme, id=wf.id, sha256=wf.sha256), wf


def _percentile_for(
    suite: SuiteSpec, info: WeightsInfo, wf: WeightsFile | None, value: float
) -> tuple[float | None, str | None]:
    """Percentile of ``value`` in a shipped reference population of this suite, when one exists."""
    from lm_eval_mtl.scoring import weights_file as wmod

    candidates: list[tuple[WeightsFile, str]] = []
    if wf is not None:
        candidates.append((wf, "fitted"))
    elif info.scheme == "equal":
        for wid in wmod.list_shipped_weights():
            try:
                other = wmod.load_weights(wid)
            except (wmod.WeightsFormatError, KeyError):
                continue
            if other.suite == suite.name and other.suite_version == suite.version:
                candidates.append((other, "equal"))
    for source, which in candidates:
        table = source.percentiles.get(which)
        if table is None:
            continue
        pop = source.population
        ref = f"{source.id} population ({which} weights"
        if pop is not None:
            ref += f"; {pop.source}, {pop.n_models} models, {pop.date}"
        return wmod.percentile(value, table), ref + ")"
    return None, None


# --------------------------------------------------------------------------- per-member data


@dataclass
class _Member:
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


def _collect(
    run: RunResult, suite: SuiteSpec, missing: MissingPolicy
) -> tuple[list[_Member], dict[str, str]]:
    kept: list[_Member] = []
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
        kept.append(_Member(spec=m, raw=mv.value, raw_se=mv.stderr, n=tr.n, task_hash=tr.task_hash))
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


def _attach_samples(run: RunResult, members: list[_Member], clusters: Mapping[str, str]) -> None:
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


def _successes(mem: _Member) -> int | None:
    """Count of 1s when the member's logged scores are all 0/1, unclustered and match n."""
    if mem.scores is None or mem.cluster_labels is not None or mem.owner is not None:
        return None
    if mem.n is not None and mem.n != mem.scores.size:
        return None
    if not np.all((mem.scores == 0.0) | (mem.scores == 1.0)):
        return None
    return int(mem.scores.sum())


def _member_se(mem: _Member, notes: list[str], gen: np.random.Generator, n_resamples: int) -> float:
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


# --------------------------------------------------------------------------- overlaps


def _components(members: Sequence[_Member], run: RunResult, with_samples: bool) -> list[list[int]]:
    """Group members whose item sets overlap (same task or `overlap` key, shared doc hashes, containment)."""
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    leaves = [set(run.leaf_tasks(m.spec.task)) or {m.spec.task} for m in members]
    hashes: list[set[str]] = []
    for m in members:
        hs = set(m.samples.doc_hashes) - {""} if (with_samples and m.samples is not None) else set()
        hashes.append(hs)
    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            if members[i].spec.overlap_key == members[j].spec.overlap_key or leaves[i] & leaves[j]:
                union(i, j)
            elif hashes[i] and hashes[j] and not hashes[i].isdisjoint(hashes[j]):
                union(i, j)
    groups: dict[int, list[int]] = {}
    for i in range(len(members)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


class _JointStatistics:
    """Members sharing items, resampled jointly over the union of their documents.

    Implements :class:`lm_eval_mtl.stats.bootstrap.SufficientStatistics`: one row per
    document; a resample's statistic is ``sum_m coef_m * (stat_m(totals) - offset_m)``.
    """

    def __init__(self, members: Sequence[_Member], coefs: Sequence[float]) -> None:
        keys: dict[tuple[str, int], int] = {}
        rows_per: list[npt.NDArray[np.int64]] = []
        for mem in members:
            s = mem.samples
            assert s is not None
            use_hash = all(h for h in s.doc_hashes)
            seen: dict[str, int] = {}
            idx = np.empty(len(s), dtype=np.int64)
            for i in range(len(s)):
                base = s.doc_hashes[i] if use_hash else f"{s.task}#{int(s.doc_ids[i])}"
                k = seen.get(base, 0)
                seen[base] = k + 1
                idx[i] = keys.setdefault((base, k), len(keys))
            rows_per.append(idx)
        n_units = len(keys)
        blocks: list[FloatArray] = []
        self._parts: list[tuple[slice, _Member, float]] = []
        col = 0
        for mem, idx, coef in zip(members, rows_per, coefs, strict=True):
            if mem.corpus is not None:
                block = np.zeros((n_units, mem.corpus.stats.shape[1]))
                np.add.at(block, idx, mem.corpus.stats)
            else:
                assert mem.scores is not None
                elem = idx[mem.owner] if mem.owner is not None else idx
                block = np.zeros((n_units, 2))
                np.add.at(block[:, 0], elem, mem.scores)
                np.add.at(block[:, 1], elem, 1.0)
            blocks.append(block)
            self._parts.append((slice(col, col + block.shape[1]), mem, coef))
            col += block.shape[1]
        self._stats = np.hstack(blocks)
        self.n_units = n_units

    @property
    def stats(self) -> FloatArray:
        """Per-document statistics, shape (n_documents, d)."""
        return self._stats

    def score_totals(self, totals: FloatArray) -> FloatArray:
        """Weighted sum of the members' normalized statistics for each row of ``totals``."""
        t = np.asarray(totals, dtype=np.float64)
        out = np.zeros(t.shape[0])
        for sl, mem, coef in self._parts:
            block = t[:, sl]
            if mem.corpus is not None:
                value = mem.corpus.score_totals(block)
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    value = block[:, 0] / block[:, 1]
            out += coef * (value - mem.chance)
        return out


# --------------------------------------------------------------------------- main entry


def score_run(
    run: RunResult,
    suite: SuiteSpec,
    *,
    weights: str | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 10_000,
    rng: np.random.Generator | int | None = None,
    method: MethodArg = "auto",
    clusters: Mapping[str, str] | None = None,
    missing: MissingPolicy = "error",
) -> CompositeScore:
    """Compute the composite score of ``run`` on ``suite``.

    Args:
        run: A run from :func:`lm_eval_mtl.results.load_run`.
        suite: A suite from :func:`lm_eval_mtl.suites.load_suite`.
        weights: ``equal``, ``family``, ``size``, a shipped weights id or a weights file
            path; default: the suite's own default.
        confidence_level: In (0, 1).
        n_resamples: Bootstrap resamples B.
        rng: Generator, int seed or None.
        method: ``auto`` (bootstrap percentile when every member has samples, else
            analytic), ``analytic``, ``percentile`` or ``bca`` (these two need samples).
        clusters: Task name or member label -> doc field to cluster on, adding to (and
            overriding) the suite's ``cluster`` keys.
        missing: ``error`` (default): a member absent from the run is an error; ``drop``:
            score the members present, renormalize their weights, list the dropped.

    Returns:
        The :class:`CompositeScore`.

    Raises:
        TypeError: ``run``/``suite`` of the wrong type.
        ValueError: Bad ``confidence_level``, ``n_resamples``, ``missing`` or ``clusters``.
        UnknownNameError: Unknown ``method``, weights id or cluster task.
        MissingTaskError: A member's task is absent (``missing="error"``), or ``method``
            needs samples that were not logged.
        MissingMetricError: A member's metric (or filter) is absent; a cluster field is absent.
        ResultsFormatError: A NaN score, malformed or inconsistent samples.
        IncompatibleWeightsError: Weights for another suite or version.
        InsufficientDataError: No member could be scored.

    Warns:
        DegenerateDataWarning: The composite's standard error is undefined (NaN).
    """
    level, b = _score_run_iv(run, suite, confidence_level, n_resamples, method, missing, clusters)
    seed = int(rng) if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) else None
    gen = as_generator(rng)
    notes: list[str] = []

    members, dropped = _collect(run, suite, missing)
    all_samples = all(run.has_samples(m.spec.task) for m in members)
    if method in ("percentile", "bca") and not all_samples:
        lacking = [m.spec.task for m in members if not run.has_samples(m.spec.task)]
        raise MissingTaskError(
            f"method={method!r} bootstraps over items and needs samples for every member; none were logged "
            f"for {', '.join(dict.fromkeys(lacking))}. Re-run lm_eval with --log_samples, or use method "
            "'analytic' ('auto' chooses it)."
        )
    _attach_samples(run, members, dict(clusters or {}))
    for mem in members:
        if mem.chance_source == "spec":
            mem.chance = mem.spec.chance
        if not mem.spec.ceiling > mem.chance:
            raise ResultsFormatError(
                f"member {mem.spec.label!r}: chance {mem.chance} from the samples is not below the ceiling "
                f"{mem.spec.ceiling}."
            )
        if mem.cluster_field and mem.samples is None:
            notes.append(
                f"{mem.spec.label}: cluster key {mem.cluster_field!r} ignored (no samples); its stderr assumes independent items."
            )

    # weights over the whole suite, then restricted to the members kept
    sizes = {
        mem.spec.label: (mem.n if mem.n is not None else len(mem.samples) if mem.samples is not None else 0)
        for mem in members
    }
    full, info, wf = _weights_for(suite, weights, sizes)
    kept_total = math.fsum(full[mem.spec.label] for mem in members)
    if not kept_total > 0:
        raise InsufficientDataError(
            f"the members present ({', '.join(m.spec.label for m in members)}) all have weight 0 under {info.id!r}."
        )
    w = {mem.spec.label: full[mem.spec.label] / kept_total for mem in members}

    scores: list[TaskScore] = []
    ses: list[float] = []
    for mem in members:
        m = mem.spec
        span = m.ceiling - mem.chance
        se_raw = _member_se(mem, notes, gen, b)
        z = (mem.raw - mem.chance) / span
        ses.append(se_raw / span)
        scores.append(
            TaskScore(
                task=m.task,
                label=m.label,
                metric=m.metric,
                filter=m.filter,
                family=m.family,
                raw=mem.raw,
                raw_se=se_raw,
                chance=mem.chance,
                chance_source=mem.chance_source,
                ceiling=m.ceiling,
                normalized=z,
                se=se_raw / span,
                n=mem.n if mem.n is not None else (len(mem.samples) if mem.samples is not None else None),
                weight=w[m.label],
                cluster=mem.cluster_field if mem.samples is not None else None,
                successes=_successes(mem),
            )
        )
    value = math.fsum(t.weight * t.normalized for t in scores)

    use_bootstrap = method in ("percentile", "bca") or (method == "auto" and all_samples)
    comps = _components(members, run, with_samples=use_bootstrap)
    boot: BootstrapResult | None = None
    resample: dict[str, str] = {}
    if use_bootstrap:
        from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_composite, resample_kind

        tasks: list[Any] = []
        tw: list[float] = []
        offs: list[float] = []
        scs: list[float] = []
        for comp in comps:
            if len(comp) == 1:
                mem = members[comp[0]]
                task: Any = (
                    mem.corpus
                    if mem.corpus is not None
                    else ItemScores(mem.scores, clusters=mem.cluster_labels)  # type: ignore[arg-type]
                )
                tasks.append(task)
                tw.append(w[mem.spec.label])
                offs.append(mem.chance)
                scs.append(1.0 / (mem.spec.ceiling - mem.chance))
                resample[mem.spec.label] = resample_kind(task)
            else:
                group = [members[i] for i in comp]
                coefs = [w[g.spec.label] / (g.spec.ceiling - g.chance) for g in group]
                joint = _JointStatistics(group, coefs)
                tasks.append(joint)
                tw.append(1.0)
                offs.append(0.0)
                scs.append(1.0)
                labels = [g.spec.label for g in group]
                for g in group:
                    resample[g.spec.label] = "joint"
                clustered = [g.spec.label for g in group if g.cluster_field]
                notes.append(
                    f"members {', '.join(labels)} share items; they were resampled jointly over their "
                    f"{joint.n_units} distinct documents (covariance included)"
                    + (f"; cluster keys of {', '.join(clustered)} not applied there" if clustered else "")
                    + "."
                )
        boot = bootstrap_composite(
            tasks,
            tw,
            offsets=offs,
            scales=scs,
            confidence_level=level,
            method="percentile" if method == "auto" else method,  # type: ignore[arg-type]
            n_resamples=b,
            rng=gen,
        )
        if abs(boot.value - value) > 1e-6 * max(1.0, abs(value)):
            raise ResultsFormatError(
                f"the composite recomputed from the logged items ({boot.value!r}) differs from the one from the "
                f"results file ({value!r}); the samples do not match the results."
            )
        se, ci = boot.se, boot.ci
        final_method: CompositeMethod = boot.method if boot.method != "basic" else "percentile"  # type: ignore[assignment]
        scores = [_with_resample(t, resample.get(t.label, "")) for t in scores]
    else:
        from lm_eval_mtl.stats.intervals import normal_interval

        var = 0.0
        for comp in comps:
            # within a component the covariance is unknown: perfect correlation is the upper bound
            part = math.fsum(scores[i].weight * ses[i] for i in comp)
            var += part * part
            if len(comp) > 1:
                notes.append(
                    f"members {', '.join(scores[i].label for i in comp)} share items; without samples their "
                    "covariance is unknown, so their errors were added as if perfectly correlated (upper bound)."
                )
        se = math.sqrt(var) if math.isfinite(var) else math.nan
        if math.isnan(se):
            warnings.warn(
                DegenerateDataWarning(
                    "The composite's standard error is undefined (some member has no stderr); returning NaN."
                ),
                stacklevel=2,
            )
        ci = normal_interval(value, se, level)
        final_method = "analytic"
        small = [t.label for t in scores if t.n is not None and t.n < 300]
        if small:
            notes.append(
                "normal intervals under-cover with few items (under 300 for "
                + ", ".join(small[:5])
                + (" ..." if len(small) > 5 else "")
                + (
                    "); log samples (--log_samples) for a bootstrap interval."
                    if not all_samples
                    else "); prefer the bootstrap (method 'auto' or 'percentile')."
                )
            )
        if not all_samples:
            notes.append(
                "interval: analytic (no samples for every member); run lm_eval with --log_samples to bootstrap."
            )

    pct, pct_ref = (None, None)
    if not dropped:
        pct, pct_ref = _percentile_for(suite, info, wf, value)
    lb_avg = _leaderboard_average(suite, members, dropped, notes)
    hashes = {mem.spec.task: mem.task_hash for mem in members}
    sig = signature(suite, info, run.lm_eval_version, hashes, tuple(dropped))
    return CompositeScore(
        value=value,
        se=se,
        ci=ci,
        confidence_level=level,
        method=final_method,
        n_resamples=b if use_bootstrap else None,
        seed=seed,
        tasks=tuple(scores),
        weights=info,
        signature=sig,
        suite=suite.name,
        suite_version=suite.version,
        tasks_dropped=tuple(dropped),
        drop_reasons=dict(dropped),
        lm_eval_version=run.lm_eval_version,
        model_name=run.model_name,
        run_path=str(run.path),
        other_runs=tuple(str(p) for p in run.other_runs),
        percentile=pct,
        percentile_reference=pct_ref,
        notes=tuple(dict.fromkeys(notes)),
        leaderboard=suite.leaderboard,
        leaderboard_average=lb_avg,
        _bootstrap=boot,
    )


def _leaderboard_average(
    suite: SuiteSpec, members: Sequence[_Member], dropped: Mapping[str, str], notes: list[str]
) -> float | None:
    """Compute the suite's leaderboard average (Open LLM Leaderboard v2), or None with a note saying why."""
    if suite.leaderboard is None:
        return None
    if suite.leaderboard != "openllm_v2":
        notes.append(f"leaderboard {suite.leaderboard!r}: no recipe in this version; average not computed.")
        return None
    if dropped:
        notes.append("openllm_v2 average not computed: it needs every member (some were dropped).")
        return None
    from lm_eval_mtl.errors import MTLError
    from lm_eval_mtl.scoring.leaderboard import openllm_v2_average

    values = {m.spec.label: m.raw for m in members}
    sizes = {
        m.spec.label: (m.n if m.n is not None else len(m.samples) if m.samples is not None else 0)
        for m in members
    }
    try:
        return openllm_v2_average(suite, values, {k: v for k, v in sizes.items() if v > 0})
    except MTLError as err:
        notes.append(f"openllm_v2 average not computed: {err}")
        return None


def _with_resample(t: TaskScore, kind: str) -> TaskScore:
    from dataclasses import replace

    return replace(t, resample=kind)


# --------------------------------------------------------------------------- suite detection


def shipped_suites() -> tuple[SuiteSpec, ...]:
    """Every shipped suite and family spec, parsed in one pass over the task configs (cached)."""
    from lm_eval_mtl.suites import load_suites

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
