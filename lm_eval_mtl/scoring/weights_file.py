"""Frozen, versioned weights files: the artifact a composite score cites.

A weights file is plain JSON (parsed safely, never executed) holding the
scheme, the weights, the population they were fitted on (source, date, number
of models, sha256 of the panel bytes, tasks), the fit diagnostics (Ledoit-Wolf
shrinkage ``delta``, effective number of tasks, Kendall tau against equal
weights, the largest rank change under a halved or doubled weight) and
percentile tables of the population's composite.

Weights are keyed either by member label (``level: member``) or by family
(``level: family``; e.g. the Open LLM Leaderboard v2 file has one weight per
benchmark while the ``mtl_openllm_v2`` suite has one member per subtask). A
family weight is spread equally over the family's members by
:meth:`WeightsFile.member_weights`.

Shipped files live in the package folder ``lm_eval_mtl/weights/`` and are
addressed by id (``redundancy-openllm_v1``): a shipped id always means the shipped
file, even when the working folder holds a file of that name. Any other file is
given as a path, i.e. an argument that contains a path separator or ends in
``.json`` (or a :class:`~pathlib.Path`); a bare name that is not a shipped id is an
unknown name (close ids listed), never looked up in the working folder.

The :attr:`WeightsFile.sha256` is the hash of the canonical JSON of the
content (sorted keys, no whitespace, floats in shortest round-trip form)
*excluding* ``created``, ``lm_eval_mtl_version`` and ``content_sha256``:
re-fitting the same population with the same settings gives the same hash.
:func:`save_weights` writes that hash into the file as ``content_sha256``, and
:func:`load_weights` recomputes it: a file edited after it was written (its
weights, or anything else its percentile tables and citation depend on) is
refused. A file without the field (written before it existed) is accepted.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lm_eval_mtl.errors import IncompatibleWeightsError, MTLError, WeightsFormatError, unknown_name
from lm_eval_mtl.jsonout import json_float
from lm_eval_mtl.suites import SuiteSpec

__all__ = [
    "FORMAT_VERSION",
    "Normalization",
    "PercentileTable",
    "PopulationProvenance",
    "WeightsFile",
    "WeightsFormatError",
    "check_compatible",
    "list_shipped_weights",
    "load_weights",
    "percentile",
    "save_weights",
    "shipped_weights_dir",
]

FORMAT_VERSION = 1
HASH_FIELD = "content_sha256"
"""Field of a weights file holding the sha256 of its own canonical content (not part of it)."""
WeightsLevel = Literal["member", "family"]
_SUM_TOLERANCE = 1e-6
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")


@dataclass(frozen=True)
class PopulationProvenance:
    """Where the population a weights file was fitted on came from."""

    source: str
    """File name (or run folders) of the panel, as given to the fit."""
    sha256: str
    """sha256 of the panel file's bytes (of the sorted results files for runs)."""
    date: str
    """Date of the population (latest submission date when the panel has one)."""
    n_models: int
    """Models (rows) used in the fit."""
    tasks: tuple[str, ...]
    """Keys of the weights, in order (member labels or families)."""
    columns: tuple[str, ...] = ()
    """Panel columns the tasks were read from (same order), when they differ."""
    notes: str = ""
    """Free text: duplicate handling, dropped rows, scale."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {
            "source": self.source,
            "sha256": self.sha256,
            "date": self.date,
            "n_models": self.n_models,
            "tasks": list(self.tasks),
            "columns": list(self.columns),
            "notes": self.notes,
        }


@dataclass(frozen=True)
class Normalization:
    """Chance level and ceiling used to turn a raw score into z for one key."""

    chance: float
    """c in z = (x - c) / (u - c), on the 0-1 scale."""
    ceiling: float
    """u, on the 0-1 scale."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"chance": self.chance, "ceiling": self.ceiling}


@dataclass(frozen=True)
class PercentileTable:
    """Quantiles of a population's composite, for :func:`percentile`."""

    levels: tuple[float, ...]
    """Percent levels, increasing from 0 to 100."""
    values: tuple[float, ...]
    """Quantile of the composite at each level (non-decreasing)."""
    weights: str
    """Which weights the composite used: ``fitted``, ``equal`` or ``family``."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form."""
        return {"weights": self.weights, "levels": list(self.levels), "values": list(self.values)}


def percentile(value: float, table: PercentileTable) -> float:
    """Percent of the population whose composite is at or below ``value``.

    Linear interpolation between the table's quantiles (resolution: the
    spacing of ``table.levels``); 0 below the minimum, 100 above the maximum.

    Raises:
        MTLError: ``value`` is not finite.
    """
    if not math.isfinite(value):
        raise MTLError(f"`value` must be finite; got {value!r}.")
    vals, levels = table.values, table.levels
    if value < vals[0]:
        return 0.0
    if value >= vals[-1]:
        return 100.0
    hi = bisect.bisect_right(vals, value)
    lo = hi - 1
    # ties: bisect_right puts us after the last equal value
    span = vals[hi] - vals[lo]
    frac = 0.0 if span <= 0 else (value - vals[lo]) / span
    return levels[lo] + frac * (levels[hi] - levels[lo])


@dataclass(frozen=True)
class WeightsFile:
    """A frozen set of weights with the provenance and diagnostics of its fit."""

    id: str
    """Identifier, e.g. ``redundancy-openllm_v1``."""
    suite: str
    """Suite (lm-eval group) the weights belong to."""
    suite_version: str
    """``metadata.version`` of that suite."""
    scheme: str
    """Weighting scheme that produced them (``redundancy``, ``cluster``, ...)."""
    weights: Mapping[str, float]
    """Non-negative weights summing to 1, keyed by member label or family, ordered."""
    level: WeightsLevel = "member"
    """``member``: keys are member labels; ``family``: keys are families."""
    population: PopulationProvenance | None = None
    """The population fitted on; None for structural schemes."""
    delta: float = math.nan
    """Ledoit-Wolf shrinkage intensity used (NaN when not applicable)."""
    effective_number_nyholt: float = math.nan
    """Effective number of tasks, Nyholt (2004), of the shrunk correlation."""
    effective_number_li_ji: float = math.nan
    """Effective number of tasks, Li and Ji (2005), of the shrunk correlation."""
    kendall_tau: float = math.nan
    """Kendall tau-b of the population ranking by these weights vs equal weights."""
    max_rank_change: int = -1
    """Largest rank change of any model when any one weight halves or doubles (-1: not computed)."""
    max_rank_change_at: str = ""
    """Which perturbation gave it, e.g. ``gsm8k x2``."""
    correlation: tuple[tuple[float, ...], ...] = ()
    """Shrunk between-model correlation of the keys (in weights order); empty if not fitted."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Scheme parameters (threshold, uniqueness floor, missing-data policy ...)."""
    normalization: Mapping[str, Normalization] = field(default_factory=dict)
    """Chance/ceiling per key used for z (and so for diagnostics and percentiles)."""
    percentiles: Mapping[str, PercentileTable] = field(default_factory=dict)
    """Percentile tables of the population composite, keyed by the weights used:
    ``fitted`` (these weights) and ``equal`` (member-level file) or ``family``
    (family-level file: equal per family, i.e. the suite's ``family`` scheme)."""
    created: str = ""
    """UTC time of the fit (ISO 8601); not part of :attr:`sha256`."""
    lm_eval_mtl_version: str = ""
    """lm-eval-mtl version that fitted it; not part of :attr:`sha256`."""

    # ------------------------------------------------------------------ views

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision (NaN written as null)."""
        return {
            "format_version": FORMAT_VERSION,
            "id": self.id,
            "suite": self.suite,
            "suite_version": self.suite_version,
            "scheme": self.scheme,
            "level": self.level,
            "weights": {k: float(v) for k, v in self.weights.items()},
            "population": None if self.population is None else self.population.to_dict(),
            "diagnostics": {
                "delta": json_float(self.delta),
                "effective_number": {
                    "nyholt": json_float(self.effective_number_nyholt),
                    "li_ji": json_float(self.effective_number_li_ji),
                },
                "kendall_tau": json_float(self.kendall_tau),
                "max_rank_change": self.max_rank_change,
                "max_rank_change_at": self.max_rank_change_at,
                "correlation": [list(row) for row in self.correlation],
            },
            "params": dict(self.params),
            "normalization": {k: v.to_dict() for k, v in self.normalization.items()},
            "percentiles": {k: v.to_dict() for k, v in self.percentiles.items()},
            "created": self.created,
            "lm_eval_mtl_version": self.lm_eval_mtl_version,
        }

    def content_dict(self) -> dict[str, Any]:
        """:meth:`to_dict` without the fields that do not change the content."""
        d = self.to_dict()
        d.pop("created")
        d.pop("lm_eval_mtl_version")
        return d

    @property
    def sha256(self) -> str:
        """sha256 (hex) of the canonical JSON of :meth:`content_dict`."""
        canonical = json.dumps(
            self.content_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @property
    def short_hash(self) -> str:
        """First 6 hex digits of :attr:`sha256`, as written in citation signatures."""
        return self.sha256[:6]

    @property
    def signature(self) -> str:
        """``id@sha256:abcdef`` for citation signatures."""
        return f"{self.id}@sha256:{self.short_hash}"

    def member_weights(self, spec: SuiteSpec) -> dict[str, float]:
        """Weights per member label of ``spec`` (family weights spread equally within family).

        Raises:
            IncompatibleWeightsError: See :func:`check_compatible`.
        """
        check_compatible(self, spec)
        if self.level == "member":
            w = {label: float(self.weights[label]) for label in spec.labels}
        else:
            counts: dict[str, int] = {}
            for m in spec.members:
                counts[m.family] = counts.get(m.family, 0) + 1
            w = {m.label: float(self.weights[m.family]) / counts[m.family] for m in spec.members}
        total = math.fsum(w.values())
        return {k: v / total for k, v in w.items()}


def _none_to_nan(x: Any, where: str) -> float:
    if x is None:
        return math.nan
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise WeightsFormatError(f"{where} must be a number or null; got {x!r}.")
    return float(x)


# ------------------------------------------------------------------ compatibility


def check_compatible(wf: WeightsFile, spec: SuiteSpec) -> None:
    """Raise unless ``wf`` was fitted for ``spec`` (same suite, same version, same keys).

    Raises:
        IncompatibleWeightsError: Other suite or version (both named), or keys that
            do not match the suite's members (or families, for ``level: family``).
    """
    if wf.suite != spec.name or wf.suite_version != spec.version:
        raise IncompatibleWeightsError(
            f"weights {wf.id!r} are for suite {wf.suite}@{wf.suite_version}; "
            f"they cannot weight suite {spec.name}@{spec.version}. Fit weights for this suite "
            "(`lm-eval-mtl weights fit`) or use a structural scheme (equal, family, size)."
        )
    expected = spec.labels if wf.level == "member" else spec.families
    what = "member" if wf.level == "member" else "family"
    missing = [k for k in expected if k not in wf.weights]
    extra = [k for k in wf.weights if k not in expected]
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"no weight for {what}(s) {', '.join(missing)}")
        if extra:
            parts.append(f"weights for unknown {what}(s) {', '.join(extra)}")
        raise IncompatibleWeightsError(f"weights {wf.id!r} do not match suite {spec.id}: {'; '.join(parts)}.")


# ------------------------------------------------------------------ files


def shipped_weights_dir() -> Path:
    """Return the package folder holding the shipped weights files."""
    from importlib.resources import files

    return Path(str(files("lm_eval_mtl"))) / "weights"


def list_shipped_weights() -> tuple[str, ...]:
    """Ids of the shipped weights files, sorted."""
    root = shipped_weights_dir()
    if not root.is_dir():
        return ()
    return tuple(sorted(p.stem for p in root.glob("*.json")))


def save_weights(wf: WeightsFile, path: str | Path, *, inputs: Iterable[str | Path] = ()) -> Path:
    """Write ``wf`` as indented JSON (NaN as null), with its ``content_sha256``, and return the path.

    The write is atomic (:func:`lm_eval_mtl.io.atomic.atomic_write_text`): a reader sees
    the old file or the whole new one; a failed write leaves the old file intact.

    Args:
        wf: The weights file.
        path: Where to write it (a missing folder is created).
        inputs: Files the fit read (the panel); ``path`` may not be one of them.

    Raises:
        WeightsFormatError: ``wf`` fails the checks :func:`load_weights` applies.
        OutputPathError: ``path`` is one of ``inputs`` or a folder, or the write failed.
    """
    from lm_eval_mtl.io.atomic import atomic_write_text

    data = wf.to_dict()
    _validate(data, where=str(path))  # never write a file we would refuse to read
    data[HASH_FIELD] = wf.sha256
    text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    return atomic_write_text(path, text, inputs=inputs)


def load_weights(name_or_path: str | Path) -> WeightsFile:
    """Load a shipped weights file by id, or any weights file by path.

    A string that is a shipped id always loads the shipped file (a file of that name in
    the working folder is not consulted); a path is a :class:`~pathlib.Path`, or a string
    that contains a path separator or ends in ``.json`` (write ``./name`` for a file
    without the suffix); any other string is an unknown name.

    Args:
        name_or_path: A shipped id (``redundancy-openllm_v1``) or a path to a JSON file.

    Returns:
        The weights file.

    Raises:
        UnknownNameError: Not a shipped id and not a path, or a path to no file (close
            ids listed).
        WeightsFormatError: Not valid JSON (truncated or malformed; position given),
            missing or mistyped fields, weights negative, non-finite or not summing to 1;
            or a ``content_sha256`` that does not match the content (an edited file).
    """
    text_name = str(name_or_path)
    shipped = list_shipped_weights()
    is_path = (
        isinstance(name_or_path, Path)
        or text_name.endswith(".json")
        or "/" in text_name
        or "\\" in text_name
        or (os.sep in text_name)
        or (os.altsep is not None and os.altsep in text_name)
    )
    if not isinstance(name_or_path, Path) and text_name in shipped:
        path = shipped_weights_dir() / f"{text_name}.json"
    elif is_path:
        path = Path(name_or_path)
        if not path.is_file():
            raise unknown_name("weights file or shipped weights id", text_name, shipped)
    else:
        raise unknown_name("weights id", text_name, shipped)
    raw = path.read_bytes()
    try:
        data = json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except UnicodeDecodeError as err:
        raise WeightsFormatError(f"weights file {path} is not UTF-8 text: {err}.") from None
    except json.JSONDecodeError as err:
        raise WeightsFormatError(
            f"weights file {path} is not valid JSON (truncated or malformed?): {err.msg} at line "
            f"{err.lineno}, column {err.colno}."
        ) from None
    wf = _from_dict(data, where=str(path))
    _check_hash(data, wf, str(path))
    return wf


def _check_hash(data: Mapping[str, Any], wf: WeightsFile, where: str) -> None:
    """Refuse a file whose recorded ``content_sha256`` differs from its content's hash."""
    if HASH_FIELD not in data:
        return  # written before the field existed: accepted as it is
    recorded = data[HASH_FIELD]
    if not isinstance(recorded, str) or not re.fullmatch(r"[0-9a-f]{64}", recorded):
        raise WeightsFormatError(
            f"{where}: `{HASH_FIELD}` must be 64 lowercase hex digits; got {recorded!r}."
        )
    actual = wf.sha256
    if recorded != actual:
        raise WeightsFormatError(
            f"{where}: content does not match its `{HASH_FIELD}` (recorded {recorded[:12]}..., "
            f"content {actual[:12]}...): the file was edited after it was written, so its id, "
            "percentile tables and citation no longer describe it. Re-derive it with "
            "`lm-eval-mtl weights fit` (new weights need a new fit), or, if the edit is intended, "
            f"give it a new `id` and delete the `{HASH_FIELD}` line (or re-save it with save_weights)."
        )


def _reject_constant(name: str) -> Any:
    raise WeightsFormatError(f"weights files must not contain {name}; write null for an undefined number.")


def _require(d: Mapping[str, Any], key: str, types: type | tuple[type, ...], where: str) -> Any:
    if key not in d:
        raise WeightsFormatError(f"{where}: missing field `{key}`.")
    v = d[key]
    if isinstance(v, bool) or not isinstance(v, types):
        names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise WeightsFormatError(f"{where}: field `{key}` must be {names}; got {v!r}.")
    return v


def _validate(data: Any, where: str) -> None:
    if not isinstance(data, Mapping):
        raise WeightsFormatError(
            f"{where}: a weights file must hold a JSON object; got {type(data).__name__}."
        )
    fv = data.get("format_version")
    if fv != FORMAT_VERSION:
        raise WeightsFormatError(
            f"{where}: `format_version` must be {FORMAT_VERSION}; got {fv!r}. "
            "Upgrade lm-eval-mtl to read this file."
        )
    ident = _require(data, "id", str, where)
    if not _ID_RE.match(ident):
        raise WeightsFormatError(f"{where}: `id` must be letters, digits, '_', '-', '.', '/'; got {ident!r}.")
    for key in ("suite", "suite_version", "scheme"):
        if not _require(data, key, str, where):
            raise WeightsFormatError(f"{where}: field `{key}` must be a non-empty string.")
    level = data.get("level", "member")
    if level not in ("member", "family"):
        raise WeightsFormatError(f"{where}: `level` must be 'member' or 'family'; got {level!r}.")
    weights = _require(data, "weights", dict, where)
    if not weights:
        raise WeightsFormatError(f"{where}: `weights` must not be empty.")
    for k, v in weights.items():
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            raise WeightsFormatError(f"{where}: weight of {k!r} must be a finite number; got {v!r}.")
        if v < 0:
            raise WeightsFormatError(f"{where}: weights must be non-negative; {k!r} has {v!r}.")
    total = math.fsum(float(v) for v in weights.values())
    if abs(total - 1.0) > _SUM_TOLERANCE:
        raise WeightsFormatError(
            f"{where}: weights must sum to 1 (within {_SUM_TOLERANCE:g}); they sum to {total!r}."
        )


def _from_dict(data: Any, where: str) -> WeightsFile:
    _validate(data, where)
    pop_raw = data.get("population")
    population: PopulationProvenance | None = None
    if pop_raw is not None:
        if not isinstance(pop_raw, Mapping):
            raise WeightsFormatError(f"{where}: `population` must be an object or null; got {pop_raw!r}.")
        pw = f"{where}: population"
        n_models = _require(pop_raw, "n_models", int, pw)
        population = PopulationProvenance(
            source=_require(pop_raw, "source", str, pw),
            sha256=_require(pop_raw, "sha256", str, pw),
            date=_require(pop_raw, "date", str, pw),
            n_models=n_models,
            tasks=tuple(_str_list(pop_raw.get("tasks", []), f"{pw} `tasks`")),
            columns=tuple(_str_list(pop_raw.get("columns", []), f"{pw} `columns`")),
            notes=str(pop_raw.get("notes", "")),
        )
    diag = data.get("diagnostics", {})
    if not isinstance(diag, Mapping):
        raise WeightsFormatError(f"{where}: `diagnostics` must be an object; got {diag!r}.")
    eff = diag.get("effective_number", {})
    if not isinstance(eff, Mapping):
        raise WeightsFormatError(f"{where}: `diagnostics.effective_number` must be an object; got {eff!r}.")
    mrc = diag.get("max_rank_change", -1)
    if isinstance(mrc, bool) or not isinstance(mrc, int):
        raise WeightsFormatError(f"{where}: `diagnostics.max_rank_change` must be an int; got {mrc!r}.")
    corr_raw = diag.get("correlation", [])
    n_keys = len(data["weights"])
    if not isinstance(corr_raw, list) or (
        corr_raw
        and (
            len(corr_raw) != n_keys
            or not all(isinstance(row, list) and len(row) == n_keys for row in corr_raw)
            or not all(
                isinstance(x, (int, float)) and not isinstance(x, bool) for row in corr_raw for x in row
            )
        )
    ):
        raise WeightsFormatError(
            f"{where}: `diagnostics.correlation` must be a {n_keys}x{n_keys} list of numbers (or empty)."
        )
    correlation = tuple(tuple(float(x) for x in row) for row in corr_raw)
    params = data.get("params", {})
    if not isinstance(params, Mapping):
        raise WeightsFormatError(f"{where}: `params` must be an object; got {params!r}.")
    norm_raw = data.get("normalization", {})
    if not isinstance(norm_raw, Mapping):
        raise WeightsFormatError(f"{where}: `normalization` must be an object; got {norm_raw!r}.")
    normalization = {
        str(k): Normalization(
            chance=_none_to_nan(_require(v, "chance", (int, float), f"{where}: normalization[{k!r}]"), where),
            ceiling=_none_to_nan(
                _require(v, "ceiling", (int, float), f"{where}: normalization[{k!r}]"), where
            ),
        )
        for k, v in norm_raw.items()
        if _is_mapping(v, f"{where}: normalization[{k!r}]")
    }
    pct_raw = data.get("percentiles", {})
    if not isinstance(pct_raw, Mapping):
        raise WeightsFormatError(f"{where}: `percentiles` must be an object; got {pct_raw!r}.")
    percentiles = {str(k): _table(v, f"{where}: percentiles[{k!r}]") for k, v in pct_raw.items()}
    return WeightsFile(
        id=data["id"],
        suite=data["suite"],
        suite_version=data["suite_version"],
        scheme=data["scheme"],
        weights={str(k): float(v) for k, v in data["weights"].items()},
        level=data.get("level", "member"),
        population=population,
        delta=_none_to_nan(diag.get("delta"), f"{where}: `diagnostics.delta`"),
        effective_number_nyholt=_none_to_nan(eff.get("nyholt"), f"{where}: `effective_number.nyholt`"),
        effective_number_li_ji=_none_to_nan(eff.get("li_ji"), f"{where}: `effective_number.li_ji`"),
        kendall_tau=_none_to_nan(diag.get("kendall_tau"), f"{where}: `diagnostics.kendall_tau`"),
        max_rank_change=mrc,
        max_rank_change_at=str(diag.get("max_rank_change_at", "")),
        correlation=correlation,
        params=dict(params),
        normalization=normalization,
        percentiles=percentiles,
        created=str(data.get("created", "")),
        lm_eval_mtl_version=str(data.get("lm_eval_mtl_version", "")),
    )


def _is_mapping(v: Any, where: str) -> bool:
    if not isinstance(v, Mapping):
        raise WeightsFormatError(f"{where} must be an object; got {v!r}.")
    return True


def _str_list(v: Any, where: str) -> list[str]:
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise WeightsFormatError(f"{where} must be a list of strings; got {v!r}.")
    return list(v)


def _table(v: Any, where: str) -> PercentileTable:
    _is_mapping(v, where)
    levels = v.get("levels")
    values = v.get("values")
    if (
        not isinstance(levels, list)
        or not isinstance(values, list)
        or len(levels) != len(values)
        or len(levels) < 2
        or not all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in [*levels, *values])
    ):
        raise WeightsFormatError(
            f"{where} needs `levels` and `values`: equal-length lists (>= 2) of numbers."
        )
    lv = [float(x) for x in levels]
    vv = [float(x) for x in values]
    if any(b < a for a, b in zip(lv[:-1], lv[1:], strict=True)) or any(
        b < a for a, b in zip(vv[:-1], vv[1:], strict=True)
    ):
        raise WeightsFormatError(f"{where}: `levels` and `values` must be non-decreasing.")
    if lv[0] != 0.0 or lv[-1] != 100.0:
        raise WeightsFormatError(f"{where}: `levels` must run from 0 to 100; got {lv[0]} .. {lv[-1]}.")
    return PercentileTable(
        levels=tuple(lv), values=tuple(vv), weights=str(v.get("weights", _table_name(where)))
    )


def _table_name(where: str) -> str:
    return where.rsplit("[", 1)[-1].strip("]'\"")
