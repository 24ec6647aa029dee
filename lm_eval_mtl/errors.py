"""Exceptions and warnings raised by lm-eval-mtl.

Every error the package raises on bad input derives from :class:`MTLError`, so a
caller can catch the package's errors without catching programming errors.
Messages name the argument, the contract and what was received.
"""

from __future__ import annotations

__all__ = [
    "CorrelateOptionError",
    "DemoError",
    "SuiteSpecError",
    "RefusedSchemeError",
    "ResourceLimitError",
    "WeightsFormatError",
    "PanelFormatError",
    "SimProfileError",
    "SimRunError",
    "DegenerateDataWarning",
    "FewClustersError",
    "FewClustersWarning",
    "IncompatibleRunsError",
    "IncompatibleWeightsError",
    "InsufficientDataError",
    "MTLError",
    "MissingExtraError",
    "MissingMetricError",
    "MissingTaskError",
    "OutputPathError",
    "ResultsFormatError",
    "UnknownNameError",
]


class MTLError(Exception):
    """Root of every error raised by lm-eval-mtl on bad input."""


class ResultsFormatError(MTLError, ValueError):
    """An lm-eval output file (results JSON, samples JSONL) cannot be read."""


class MissingTaskError(MTLError, KeyError):
    """A task required by a suite or a comparison is absent from a run."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable.
        return str(self.args[0]) if self.args else ""


class MissingMetricError(MTLError, KeyError):
    """A task lacks the metric (or metric/filter pair) a spec asks for."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class IncompatibleRunsError(MTLError, ValueError):
    """Two runs cannot be compared: different items, suites, versions or settings."""


class IncompatibleWeightsError(MTLError, ValueError):
    """A weights file does not belong to the suite (or suite version) it is used with."""


class InsufficientDataError(MTLError, ValueError):
    """Too little data for the requested statistic."""


class UnknownNameError(MTLError, KeyError):
    """A name (suite, weighting scheme, method) is not known; the message lists close matches."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class MissingExtraError(MTLError, ImportError):
    """An optional dependency is missing; the message gives the pip command that installs it."""


class SimRunError(MTLError, RuntimeError):
    """An ``lm_eval`` subprocess on a simulated checkpoint failed."""


class SimProfileError(MTLError, ValueError):
    """A simulation profile (file or mapping) is malformed."""


class PanelFormatError(MTLError, ValueError):
    """A population panel (CSV) cannot be used: missing columns, bad cells, duplicate ids."""


class WeightsFormatError(MTLError, ValueError):
    """A weights file is malformed: not JSON, truncated, missing fields, bad weights."""


class RefusedSchemeError(MTLError, ValueError):
    """A weighting scheme that is deliberately not offered (GLS / minimum variance)."""


class SuiteSpecError(MTLError, ValueError):
    """A suite's ``metadata.mtl`` block is malformed."""


class ResourceLimitError(MTLError, MemoryError):
    """A request would need more memory than the limit allows (e.g. too many resamples).

    The message names the option to lower, the estimate and the limit (raise the limit with
    ``LM_EVAL_MTL_MAX_MEMORY_GB``).
    """


class DemoError(MTLError, RuntimeError):
    """A demo step failed; the message says which and where its log is."""


class OutputPathError(MTLError, ValueError):
    """An output path is refused (it is an input file, or a folder) or could not be written."""


class CorrelateOptionError(MTLError, ValueError):
    """A `correlate` option has a value it does not accept (impute, missing, pca_on, duplicates)."""


class DegenerateDataWarning(RuntimeWarning):
    """A statistic is undefined for the data given (it is returned as NaN)."""


class FewClustersWarning(DegenerateDataWarning):
    """Clustered statistics rest on few clusters (fewer than 20): intervals and p-values are approximate.

    The message names the number of clusters, the small-cluster methods used and the smallest
    attainable p-value (see ``docs/concepts-intervals.md``, "Few clusters").
    """


class FewClustersError(MTLError, ValueError):
    """Too few clusters for an honest clustered interval or test (below the refusal minimum).

    The message names the count, the minimum and the alternatives: drop the cluster key, or
    insist with ``allow_few_clusters=True``.
    """


def unknown_name(kind: str, name: str, known: list[str] | tuple[str, ...]) -> UnknownNameError:
    """Build an :class:`UnknownNameError` with close matches.

    Args:
        kind: What the name names ("weighting scheme", "suite", ...).
        name: The name that was given.
        known: The names that exist.

    Returns:
        The error, ready to raise.
    """
    import difflib

    close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.5)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    names = sorted(known)
    if len(names) <= 20:
        listing = ", ".join(names)
    else:  # name some (the closest first), and say how many there are
        shown = list(dict.fromkeys([*close, *names]))[:12]
        listing = f"{', '.join(shown)} ... ({len(names)} in all)"
    return UnknownNameError(f"Unknown {kind} {name!r}.{hint} Known: {listing}.")
