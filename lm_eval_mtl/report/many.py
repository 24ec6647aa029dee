"""Many runs at once (a leaderboard folder): score each model folder's latest run into one ranked result.

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

The rows, their ranks and their signature groups are :mod:`lm_eval_mtl.report.many_rows`; the
renderers (table, md, latex, csv, json and the forest plot) are :mod:`lm_eval_mtl.report.many_render`.
Both are re-exported here, so ``lm_eval_mtl.report.many`` stays the one import for all of it.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lm_eval_mtl.errors import InsufficientDataError, MTLError, ResultsFormatError
from lm_eval_mtl.io.runs import ModelFolder, load_run
from lm_eval_mtl.report.many_render import ManyFormat, plot_many, render_many
from lm_eval_mtl.report.many_render import many_table as many_table
from lm_eval_mtl.report.many_rows import (
    COMPARABILITY_FIELDS,
    ManyScores,
    ModelComposite,
    ModelRow,
    NotScored,
    rank_models,
)
from lm_eval_mtl.report.many_rows import RANK_RANGE_TEXT as RANK_RANGE_TEXT
from lm_eval_mtl.scoring.composite import score_run

if TYPE_CHECKING:
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

_BAD_INPUT = (MTLError, OSError, UnicodeError, RecursionError)
"""What a model folder's bad input raises (the CLI's exit status 2); anything else is a bug."""


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
