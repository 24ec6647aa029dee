"""Checking the JSON form of a weights file and turning it into a :class:`WeightsFile`.

The JSON is parsed safely (never executed) by :mod:`lm_eval_mtl.scoring.weights_file`;
here every field is checked (types, weights finite, non-negative and summing to 1,
percentile tables increasing from 0 to 100, a square correlation) before a
:class:`~lm_eval_mtl.scoring.weights_model.WeightsFile` is built, and a recorded
``content_sha256`` is compared with the content's hash (an edited file is refused; a
file without the field, written before it existed, is accepted).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from lm_eval_mtl.errors import WeightsFormatError
from lm_eval_mtl.scoring.weights_model import (
    FORMAT_VERSION,
    Normalization,
    PercentileTable,
    PopulationProvenance,
    WeightsFile,
)

__all__ = ["HASH_FIELD"]

HASH_FIELD = "content_sha256"
"""Field of a weights file holding the sha256 of its own canonical content (not part of it)."""
_SUM_TOLERANCE = 1e-6
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]*$")


def _none_to_nan(x: Any, where: str) -> float:
    if x is None:
        return math.nan
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise WeightsFormatError(f"{where} must be a number or null; got {x!r}.")
    return float(x)


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
