"""Many runs at once (a leaderboard folder): one ranked row per model, in every report format.

``lm_eval --output_path OUT`` writes one folder per model (``OUT/<model_name_sanitized>``);
:func:`score_many` scores the latest run of each (:func:`lm_eval_mtl.io.runs.find_model_runs`)
on one suite with :func:`~lm_eval_mtl.scoring.composite.score_run`, one model at a time, and
keeps only a small :class:`ModelComposite` per model: the run, its samples and the bootstrap
distribution are released before the next model is read, so memory does not grow with the
number of models beyond those rows.

* **Seeds.** Model ``m`` is scored with the seed :func:`model_seed` ``(seed, m)``, derived
  from the base seed and the model name only, so adding or removing a model leaves every
  other model's interval unchanged, and ``score_run(run, suite, rng=model_seed(seed, m))``
  (``lm-eval-mtl report MODEL_FOLDER --seed <it>``) reproduces a row exactly.
* **Ranks** (:func:`rank_models`). ``rank`` is 1 + the number of models with a strictly
  higher composite (equal composites share a rank: 1, 2, 2, 4). The **rank range**
  ``[rank_low, rank_high]`` is 1 + the number of models whose interval lies entirely above
  this model's, to N - the number whose interval lies entirely below it (intervals that touch
  or overlap count as overlapping; a NaN bound overlaps everything). It is a descriptive
  overlap range, not a joint confidence set for the ranks: the intervals are marginal (each
  at the confidence level, not simultaneously), and overlap or non-overlap of two marginal
  intervals is not a test of their difference (``lm-eval-mtl compare`` makes paired tests).
* **Signatures.** The composites are comparable only when the models' signatures agree on the
  suite and version, the normalization, the weights, the task hashes and the dropped members
  (:attr:`ManyScores.comparable`); every renderer says so when they do not, and tags each row
  with its signature group (A, B, ...).

Renderers (:func:`render_many`): ``table``, ``md``, ``latex`` (the ranked table with its
footer), ``csv`` (tidy: one row per model, full precision, plain cells; a model folder that
was not scored is a row with ``status`` ``not scored`` and its ``reason``) and ``json``
(:meth:`ManyScores.to_dict`). :func:`plot_many` draws one forest plot of the composites.
"""

from __future__ import annotations

import bisect
import hashlib
import math
import textwrap
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lm_eval_mtl.errors import InsufficientDataError, MTLError, ResultsFormatError
from lm_eval_mtl.io.runs import ModelFolder, load_run
from lm_eval_mtl.jsonout import json_dumps, json_float
from lm_eval_mtl.report.tables import Cell, Table, render_table
from lm_eval_mtl.scoring.composite import score_run
from lm_eval_mtl.scoring.types import CompositeMethod
from lm_eval_mtl.stats._common import ConfidenceInterval

if TYPE_CHECKING:
    from lm_eval_mtl.scoring.types import CompositeScore
    from lm_eval_mtl.suites.spec import SuiteSpec

__all__ = [
    "COMPARABILITY_FIELDS",
    "ManyFormat",
    "ManyScores",
    "ModelComposite",
    "ModelRow",
    "NotScored",
    "model_seed",
    "plot_many",
    "rank_models",
    "render_many",
    "score_many",
]

ManyFormat = Literal["table", "md", "latex", "json", "csv"]
_FORMATS: tuple[str, ...] = ("table", "md", "latex", "json", "csv")

COMPARABILITY_FIELDS: tuple[str, ...] = ("suite", "norm", "w", "tasks", "drop", "limit")
"""Signature fields that must agree for two composites to be comparable (``lm-eval=`` is only noted)."""

_FIELD_TEXT = {
    "suite": "suite@version",
    "norm": "norm= (normalization)",
    "w": "w= (weights)",
    "lm-eval": "lm-eval= (lm-eval version)",
    "tasks": "tasks= (task hashes: documents, prompts, targets)",
    "drop": "drop= (dropped members)",
    "limit": "limit= (an lm_eval --limit run)",
}

_BAD_INPUT = (MTLError, OSError, UnicodeError, RecursionError)
"""What a model folder's bad input raises (the CLI's exit status 2); anything else is a bug."""

RANK_RANGE_TEXT = (
    "rank: 1 + the number of models with a higher composite (equal composites share a rank); "
    "rank range: 1 + the models whose interval lies entirely above this model's, to N - those entirely "
    "below. A descriptive overlap range, not a joint confidence set for the ranks: the intervals are "
    "marginal, and overlap is not a test (lm-eval-mtl compare makes paired tests)."
)


def model_seed(seed: int, model: str) -> int:
    r"""Derive a model's bootstrap seed from the base seed and the model name.

    The first 4 bytes (big-endian) of sha256 over ``"lm-eval-mtl/many\0<seed>\0<model>"``
    (``\0`` a NUL byte): deterministic, and independent of the other models in the folder.

    Args:
        seed: The base seed (``--seed``), a non-negative int.
        model: The model name (the run's ``model_name``).

    Returns:
        A seed in [0, 2**32).

    Raises:
        ValueError: ``seed`` is not a non-negative int.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"`seed` must be a non-negative int; got {seed!r}.")
    digest = hashlib.sha256(f"lm-eval-mtl/many\0{seed}\0{model}".encode()).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class ModelComposite:
    """The small result of scoring one model's run: what a row of the table needs, nothing more."""

    model: str
    """Model name (the run's ``model_name``)."""
    folder: str
    """Model folder relative to the output folder (:attr:`ModelFolder.name`)."""
    results_file: str
    """The results file scored (the folder's latest)."""
    other_runs: tuple[str, ...]
    """The folder's other results files, not scored."""
    value: float
    """The composite C."""
    se: float
    """Its standard error (NaN if unknown)."""
    ci: ConfidenceInterval
    """Its interval at :attr:`confidence_level`."""
    confidence_level: float
    """Confidence level of :attr:`ci`."""
    method: CompositeMethod
    """Interval method (``percentile``, ``bca``, ``wild`` or ``analytic``)."""
    n_resamples: int | None
    """Bootstrap resamples (None for analytic)."""
    seed: int
    """The seed this model was scored with (:func:`model_seed`)."""
    tasks_scored: int
    """Members scored."""
    tasks_dropped: tuple[str, ...]
    """Member labels dropped (``missing="drop"``)."""
    signature: str
    """Citation signature of the composite."""
    lm_eval_version: str | None = None
    """lm-eval version of the run."""
    notes: tuple[str, ...] = ()
    """The composite's notes (overlaps, small samples)."""

    @classmethod
    def from_score(cls, score: CompositeScore, folder: str, seed: int) -> ModelComposite:
        """Keep the row-sized part of a :class:`CompositeScore` (no bootstrap distribution, no members)."""
        return cls(
            model=score.model_name,
            folder=folder,
            results_file=score.run_path,
            other_runs=tuple(score.other_runs),
            value=float(score.value),
            se=float(score.se),
            ci=ConfidenceInterval(float(score.ci.low), float(score.ci.high)),
            confidence_level=float(score.confidence_level),
            method=score.method,
            n_resamples=score.n_resamples,
            seed=seed,
            tasks_scored=len(score.tasks),
            tasks_dropped=tuple(score.tasks_dropped),
            signature=score.signature,
            lm_eval_version=score.lm_eval_version,
            notes=tuple(score.notes),
        )


@dataclass(frozen=True)
class ModelRow:
    """One model of the table: its composite and its ranks among the models scored."""

    composite: ModelComposite
    """The model's composite."""
    rank: int
    """1 + the number of models with a strictly higher composite (ties share a rank)."""
    rank_low: int
    """Best rank of the overlap range: 1 + the models whose interval lies entirely above this one's."""
    rank_high: int
    """Worst rank of the overlap range: N - the models whose interval lies entirely below this one's."""

    def to_dict(self) -> dict[str, Any]:
        """Full-precision JSON-ready form (NaN as null), flat: one record per model."""
        c = self.composite
        return {
            "rank": self.rank,
            "rank_low": self.rank_low,
            "rank_high": self.rank_high,
            "model": c.model,
            "folder": c.folder,
            "composite": json_float(c.value),
            "se": json_float(c.se),
            "ci": [json_float(c.ci.low), json_float(c.ci.high)],
            "confidence_level": c.confidence_level,
            "method": c.method,
            "n_resamples": c.n_resamples,
            "seed": c.seed,
            "tasks_scored": c.tasks_scored,
            "tasks_dropped": list(c.tasks_dropped),
            "signature": c.signature,
            "lm_eval_version": c.lm_eval_version,
            "results_file": c.results_file,
            "other_runs": list(c.other_runs),
            "notes": list(c.notes),
        }


@dataclass(frozen=True)
class NotScored:
    """A model folder that could not be scored (``missing="drop"``), and why."""

    folder: str
    """Model folder relative to the output folder."""
    reason: str
    """The one-line error."""


def _signature_fields(sig: str) -> dict[str, str]:
    parts = sig.split("|")
    out = {"suite": parts[0], "drop": ""}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        out[key] = value
    return out


@dataclass(frozen=True)
class ManyScores:
    """The composites of many models on one suite, ranked, with the folders that were not scored."""

    path: str
    """The output folder."""
    suite: str
    """Suite name."""
    suite_version: str
    """Suite version."""
    confidence_level: float
    """Confidence level of every interval."""
    seed: int
    """The base seed; model m used :func:`model_seed` ``(seed, m)``."""
    rows: tuple[ModelRow, ...]
    """One row per model scored, best composite first (ties by model name, then folder)."""
    not_scored: tuple[NotScored, ...] = ()
    """Model folders that could not be scored (``missing="drop"``), in folder order."""
    suite_reason: str | None = None
    """Why the suite was chosen when it was detected (from :attr:`suite_from`), else None."""
    suite_from: str | None = None
    """The model folder the suite was detected from, when it was detected."""

    @property
    def signatures(self) -> tuple[str, ...]:
        """The distinct signatures, in row order (group A first)."""
        return tuple(dict.fromkeys(r.composite.signature for r in self.rows))

    @property
    def signature_differences(self) -> tuple[str, ...]:
        """Signature fields (``suite``, ``norm``, ``w``, ``lm-eval``, ``tasks``, ``drop``) that differ between models."""
        parsed = [_signature_fields(s) for s in self.signatures]
        keys = dict.fromkeys(k for p in parsed for k in p)
        return tuple(k for k in keys if len({p.get(k, "") for p in parsed}) > 1)

    @property
    def comparable(self) -> bool:
        """Tell whether the composites are comparable: the signatures agree on :data:`COMPARABILITY_FIELDS`."""
        return not set(self.signature_differences) & set(COMPARABILITY_FIELDS)

    def signature_group(self, signature: str) -> str:
        """Return the tag (``A``, ``B``, ...) of a signature, by first appearance in row order."""
        return _tag(self.signatures.index(signature))

    def to_dict(self) -> dict[str, Any]:
        """Full-precision JSON-ready form (NaN as null).

        Schema: ``suite`` {name, version}, ``suite_detected`` ({from, reason} or null),
        ``path``, ``confidence_level``, ``seed``, ``n_models``, ``comparable``,
        ``signatures`` (distinct), ``signatures_differ_in`` (fields), ``rank_range`` (its
        definition), ``models`` (one :meth:`ModelRow.to_dict` per model, plus its
        ``signature_group``), ``not_scored`` [{folder, reason}].
        """
        return {
            "suite": {"name": self.suite, "version": self.suite_version},
            "suite_detected": (
                None if self.suite_reason is None else {"from": self.suite_from, "reason": self.suite_reason}
            ),
            "path": self.path,
            "confidence_level": self.confidence_level,
            "seed": self.seed,
            "seed_rule": "each model's seed is model_seed(seed, model name): sha256-derived, independent "
            "of the other models",
            "n_models": len(self.rows),
            "comparable": self.comparable,
            "signatures": list(self.signatures),
            "signatures_differ_in": list(self.signature_differences),
            "rank_range": RANK_RANGE_TEXT,
            "models": [
                {**r.to_dict(), "signature_group": self.signature_group(r.composite.signature)}
                for r in self.rows
            ],
            "not_scored": [{"folder": n.folder, "reason": n.reason} for n in self.not_scored],
        }


def _tag(i: int) -> str:
    return chr(ord("A") + i) if i < 26 else f"S{i + 1}"


def _sort_key(c: ModelComposite) -> tuple[float, str, str]:
    v = c.value if not math.isnan(c.value) else -math.inf
    return (-v, c.model, c.folder)


def rank_models(composites: Iterable[ModelComposite]) -> tuple[ModelRow, ...]:
    """Sort composites (best first) and rank them, with each one's rank range (module docstring).

    Args:
        composites: One per model.

    Returns:
        The rows, best composite first; ties by model name, then folder.
    """
    items = sorted(composites, key=_sort_key)
    n = len(items)
    values = sorted(-(_sort_key(c)[0]) for c in items)  # ascending; NaN as -inf
    lows = sorted(c.ci.low for c in items if not math.isnan(c.ci.low))
    highs = sorted(c.ci.high for c in items if not math.isnan(c.ci.high))
    rows = []
    for c in items:
        v = -_sort_key(c)[0]
        rank = 1 + len(values) - bisect.bisect_right(values, v)
        above = 0 if math.isnan(c.ci.high) else len(lows) - bisect.bisect_right(lows, c.ci.high)
        below = 0 if math.isnan(c.ci.low) else bisect.bisect_left(highs, c.ci.low)
        rows.append(ModelRow(c, rank, min(1 + above, rank), max(n - below, rank)))
    return tuple(rows)


def _naming(err: BaseException, entry: ModelFolder) -> MTLError:
    """Return ``err`` as an error of the package naming the model folder (one line)."""
    if isinstance(err, OSError) and err.errno is not None:
        where = err.filename if err.filename is not None else entry.folder
        text = f"cannot read {where}: {err.strerror or err}"
    elif isinstance(err, UnicodeError):
        text = f"an input file is not valid UTF-8 text ({err})"
    elif isinstance(err, RecursionError):
        text = "an input file is nested too deeply to read"
    else:
        text = str(err)
    text = " ".join(text.split())
    if str(entry.folder) not in text:
        text = f"model folder {entry.folder}: {text}"
    if isinstance(err, MTLError):
        try:
            return type(err)(text)
        except Exception:  # noqa: BLE001 - a subclass with another constructor: keep the message
            return MTLError(text)
    return ResultsFormatError(text)


def _score_one(
    entry: ModelFolder,
    suite: SuiteSpec | None,
    seed: int,
    options: Mapping[str, Any],
) -> tuple[ModelComposite, SuiteSpec, str | None]:
    """Score one model folder; the run and its score are released when this returns."""
    run = load_run(entry.results)
    reason = None
    if suite is None:
        from lm_eval_mtl.suites.detect import detect_suite

        choice = detect_suite(run)
        suite, reason = choice.suite, choice.reason
    s = model_seed(seed, run.model_name)
    score = score_run(run, suite, rng=s, **options)
    return ModelComposite.from_score(score, entry.name, s), suite, reason


def score_many(
    models: Iterable[ModelFolder],
    suite: SuiteSpec | None = None,
    *,
    weights: str | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
    method: Literal["auto", "analytic", "percentile", "bca"] = "auto",
    clusters: Mapping[str, str] | None = None,
    missing: Literal["error", "drop"] = "error",
    allow_few_clusters: bool = False,
    path: str | Path = "",
) -> ManyScores:
    """Score each model folder's latest run on one suite, one at a time, and rank the composites.

    Args:
        models: From :func:`lm_eval_mtl.io.runs.find_model_runs` (any iterable: a progress
            bar wrapping it ticks once per model).
        suite: The suite; default: detected from the first model folder that can be read
            (:func:`~lm_eval_mtl.suites.detect.detect_suite`) and used for every model.
        weights: As for :func:`~lm_eval_mtl.scoring.composite.score_run`.
        confidence_level: As for ``score_run``.
        n_resamples: As for ``score_run``.
        seed: Base seed; model m is scored with ``rng=model_seed(seed, m)``.
        method: As for ``score_run``.
        clusters: As for ``score_run``.
        missing: ``error`` (default): the first model folder that cannot be scored (bad or
            incomplete input) raises, naming the folder. ``drop``: members absent from a run
            are dropped (as in ``score_run``), and a model folder that cannot be scored is
            listed in :attr:`ManyScores.not_scored` with its reason.
        allow_few_clusters: As for ``score_run``.
        path: The output folder, for the report.

    Returns:
        The :class:`ManyScores`.

    Raises:
        MTLError: A model folder cannot be scored (``missing="error"``); the message names it
            (the class is the underlying error's, e.g. :class:`MissingTaskError`).
        InsufficientDataError: No model folder could be scored.
        ValueError: Bad ``seed`` or ``missing`` (the other arguments are checked by ``score_run``).

    Warns:
        Each warning of ``score_run``, prefixed with the model folder.
    """
    if missing not in ("error", "drop"):
        raise ValueError(f"`missing` must be 'error' or 'drop'; got {missing!r}.")
    model_seed(seed, "")  # checks `seed`
    options: dict[str, Any] = {
        "weights": weights,
        "confidence_level": confidence_level,
        "n_resamples": n_resamples,
        "method": method,
        "clusters": clusters,
        "missing": missing,
        "allow_few_clusters": allow_few_clusters,
    }
    chosen, reason, source = suite, None, None
    done: list[ModelComposite] = []
    failed: list[NotScored] = []
    for entry in models:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                composite, used, why = _score_one(entry, chosen, seed, options)
            except _BAD_INPUT as err:
                named = _naming(err, entry)
                if missing == "error":
                    raise named from err
                failed.append(NotScored(entry.name, str(named)))
                continue
            finally:
                recorded = list(caught)
        for w in recorded:
            warnings.warn(f"{entry.name}: {w.message}", w.category, stacklevel=2)
        done.append(composite)
        if chosen is None:
            chosen, reason, source = used, why, entry.name
    if chosen is None or not done:
        first = f"; {failed[0].folder}: {failed[0].reason}" if failed else ""
        raise InsufficientDataError(
            f"no model folder under {path or 'the folder'} could be scored ({len(failed)} tried){first}."
        )
    return ManyScores(
        path=str(path),
        suite=chosen.name,
        suite_version=chosen.version,
        confidence_level=float(confidence_level),
        seed=seed,
        rows=rank_models(done),
        not_scored=tuple(failed),
        suite_reason=reason,
        suite_from=source,
    )


# ------------------------------------------------------------------------------------ rendering


def _method_summary(rows: Sequence[ModelRow]) -> str:
    counts: dict[str, int] = {}
    for r in rows:
        c = r.composite
        if c.method == "analytic":
            key = "analytic (from standard errors)"
        elif c.method == "wild":
            key = f"wild cluster bootstrap-t, B={c.n_resamples}"
        else:
            key = f"bootstrap {c.method} over items, B={c.n_resamples}"
        counts[key] = counts.get(key, 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return "; ".join(f"{k} for {n} model(s)" for k, n in counts.items())


def _listing(items: Sequence[str], limit: int = 10) -> str:
    more = f" and {len(items) - limit} more" if len(items) > limit else ""
    return ", ".join(items[:limit]) + more


def _notes(scores: ManyScores) -> tuple[str, ...]:
    rows = scores.rows
    n = len(rows)
    lvl = f"{scores.confidence_level * 100:g}%"
    notes = [
        f"composite: each model's latest run, chance-normalized and weighted; CI: {lvl} interval, "
        f"{_method_summary(rows)}; se: its standard error; tasks/dropped: members scored/dropped.",
        RANK_RANGE_TEXT,
    ]
    if any(r.composite.method != "analytic" for r in rows):
        notes.append(
            f"seeds: each model's bootstrap seed is derived from --seed {scores.seed} and its model name "
            "(seed in csv/json; `report MODEL_FOLDER --seed <it>` reproduces a row): adding a model does "
            "not change the others' intervals."
        )
    if scores.suite_reason is not None:
        notes.append(
            f"suite {scores.suite}@{scores.suite_version} detected from {scores.suite_from} "
            f"({scores.suite_reason}) and used for every model."
        )
    sigs = scores.signatures
    if len(sigs) == 1:
        notes.append(f"signature (all {n} models): {sigs[0]}")
    else:
        diff = scores.signature_differences
        what = ", ".join(_FIELD_TEXT.get(k, k) for k in diff)
        if scores.comparable:
            versions = sorted({str(r.composite.lm_eval_version) for r in rows})
            notes.append(
                f"note: the signatures differ only in {what} ({', '.join(versions)}): same suite, weights and "
                "documents; metric implementations may differ between lm-eval versions."
            )
        else:
            notes.append(
                f"WARNING: the models' signatures differ in {what}: composites with different signatures "
                "are NOT comparable (sig column: the signature group of each model)."
            )
        notes.extend(f"signature {_tag(i)}: {s}" for i, s in enumerate(sigs))
    if all(_signature_fields(s).get("tasks") == "na" for s in sigs):
        notes.append(
            "note: no task hashes recorded (tasks=na; runs without --log_samples): that the models saw "
            "the same documents cannot be checked."
        )
    dropped = [r.composite for r in rows if r.composite.tasks_dropped]
    if dropped:
        notes.append(
            f"DROPPED members in {len(dropped)} model(s) (--missing drop; weights renormalized, those "
            f"composites cover fewer members): "
            + "; ".join(f"{c.model}: {_listing(list(c.tasks_dropped), 5)}" for c in dropped[:10])
            + (f"; and {len(dropped) - 10} more" if len(dropped) > 10 else "")
        )
    several = sum(1 for r in rows if r.composite.other_runs)
    if several:
        notes.append(
            f"{several} model folder(s) hold several runs; the latest of each is used (json: other_runs)."
        )
    noted = sum(1 for r in rows if r.composite.notes)
    if noted:
        notes.append(
            f"{noted} model(s) have notes (overlapping members, small samples, ...): see --format json, "
            "or report one model's folder."
        )
    notes.extend(f"NOT SCORED {x.folder} (--missing drop): {x.reason}" for x in scores.not_scored)
    return tuple(notes)


def many_table(scores: ManyScores) -> Table:
    """Build the ranked table (rank, model, composite, CI, se, rank range, tasks, dropped) and its footer.

    A ``sig`` column (signature group) is added when the signatures differ, a ``folder``
    column when two folders hold runs of the same model name.
    """
    rows = scores.rows
    with_sig = len(scores.signatures) > 1
    names = [r.composite.model for r in rows]
    with_folder = len(set(names)) < len(names)
    columns = ["rank", "model", "composite", "CI", "se", "rank range", "tasks", "dropped"]
    columns += ["sig"] * with_sig + ["folder"] * with_folder
    body: list[tuple[Cell, ...]] = []
    for r in rows:
        c = r.composite
        span = f"{r.rank_low}" if r.rank_low == r.rank_high else f"{r.rank_low}-{r.rank_high}"
        cells: list[Cell] = [r.rank, c.model, c.value, c.ci, c.se, span, c.tasks_scored, len(c.tasks_dropped)]
        if with_sig:
            cells.append(scores.signature_group(c.signature))
        if with_folder:
            cells.append(c.folder)
        body.append(tuple(cells))
    title = f"{scores.suite}@{scores.suite_version}: {len(rows)} models"
    if scores.not_scored:
        title += f" ({len(scores.not_scored)} not scored)"
    lvl = f"{scores.confidence_level * 100:g}%"
    return Table(
        title=title,
        columns=tuple(columns),
        rows=tuple(body),
        formats={"composite": ".3f", "CI": ".3f", "se": ".3f"},
        notes=_notes(scores),
        caption=f"{title}: composites with {lvl} intervals, best first"
        + ("" if scores.comparable else " (signatures differ: not comparable)"),
    )


_CSV_COLUMNS = (
    "rank",
    "rank_low",
    "rank_high",
    "model",
    "folder",
    "composite",
    "se",
    "ci_low",
    "ci_high",
    "confidence_level",
    "method",
    "n_resamples",
    "seed",
    "tasks_scored",
    "tasks_dropped",
    "signature",
    "signature_group",
    "lm_eval_version",
    "results_file",
    "other_runs",
    "status",
    "reason",
)


def _csv_table(scores: ManyScores) -> Table:
    body: list[tuple[Cell, ...]] = []
    for r in scores.rows:
        c = r.composite
        body.append(
            (
                r.rank,
                r.rank_low,
                r.rank_high,
                c.model,
                c.folder,
                c.value,
                c.se,
                float(c.ci.low),
                float(c.ci.high),
                c.confidence_level,
                c.method,
                c.n_resamples,
                c.seed,
                c.tasks_scored,
                len(c.tasks_dropped),
                c.signature,
                scores.signature_group(c.signature),
                c.lm_eval_version,
                c.results_file,
                len(c.other_runs),
                "scored",
                None,
            )
        )
    for x in scores.not_scored:
        body.append((None,) * 3 + (None, x.folder) + (None,) * 15 + ("not scored", x.reason))
    return Table(title="", columns=_CSV_COLUMNS, rows=tuple(body))


def render_many(scores: ManyScores, fmt: ManyFormat = "table") -> str:
    """Render the table of many models.

    Args:
        scores: From :func:`score_many`.
        fmt: ``table``, ``md``, ``latex`` (ranked table and footer), ``csv`` (tidy, one row per
            model folder, full precision) or ``json`` (:meth:`ManyScores.to_dict`).

    Returns:
        The text, ending with a newline.

    Raises:
        ValueError: Unknown ``fmt``.
    """
    if fmt == "json":
        return json_dumps(scores.to_dict())
    if fmt == "csv":
        return render_table(_csv_table(scores), "csv")
    if fmt not in _FORMATS:
        raise ValueError(f"`fmt` must be one of {', '.join(_FORMATS)}; got {fmt!r}.")
    return render_table(many_table(scores), fmt)


def plot_many(scores: ManyScores, path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """Draw one forest plot of the models' composites with their intervals, best at the top, and a caption.

    Args:
        scores: From :func:`score_many`.
        path: Output file (``.png``, ``.svg`` or ``.pdf``).
        inputs: Files the caller read; ``path`` may not be one of them.

    Returns:
        The path written.

    Raises:
        MissingExtraError: matplotlib is not installed.
        ValueError: Unsupported extension.
    """
    from lm_eval_mtl.report.plots import _check_path, _figure, _save

    p = _check_path(path)
    rows = scores.rows
    n = len(rows)
    with_sig = len(scores.signatures) > 1
    fig, ax = _figure((7.5, min(1.8 + 0.3 * n, 400.0)))
    ys = [float(n - 1 - i) for i in range(n)]
    for y, r in zip(ys, rows, strict=True):
        c = r.composite
        if math.isfinite(c.ci.low) and math.isfinite(c.ci.high):
            ax.plot([c.ci.low, c.ci.high], [y, y], color="#2166ac", lw=1.6, solid_capstyle="butt")
        ax.plot([c.value], [y], marker="D", color="#b2182b", ms=5, zorder=3)
    labels = [
        f"{r.rank}. {r.composite.model}"
        + (f" [{scores.signature_group(r.composite.signature)}]" if with_sig else "")
        for r in rows
    ]
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8 if n > 40 else 9)
    ax.set_ylim(-0.7, n - 0.3)
    lvl = f"{scores.confidence_level * 100:g}%"
    ax.set_xlabel(f"composite (chance-normalized, weighted), {lvl} intervals")
    ax.set_title(f"{scores.suite}@{scores.suite_version}: {n} models", fontsize=10)
    ax.grid(axis="x", color="0.92")
    ax.set_axisbelow(True)
    ax.spines[["top", "right"]].set_visible(False)
    caption = (
        f"Composite of each model's latest run on {scores.suite}@{scores.suite_version} with its {lvl} "
        f"interval ({_method_summary(rows)}; seeds derived from seed {scores.seed} and each model name), "
        "best first. The intervals are marginal: overlap is not a test of a difference."
    )
    if not scores.comparable:
        caption += (
            " WARNING: the models' signatures differ ([A], [B], ...): those composites are not comparable."
        )
    if scores.not_scored:
        caption += f" Not scored: {_listing([x.folder for x in scores.not_scored])}."
    fig.text(0.01, 0.0, textwrap.fill(caption, 110), ha="left", va="top", fontsize=7, color="0.25")
    return _save(fig, p, inputs)
