"""Result objects of a gradient-affinity run, their JSON form and its loader.

An :class:`AffinityMatrix` has the shape of a transfer matrix (sources x targets, here the same
tasks in the same order) and holds one :class:`AffinityMeasure` per measure: the cosine of the
mean projected gradients, the first-order lookahead and (unless skipped) the exact TAG
lookahead, each with percentile intervals and per-cell split-half reliabilities. Per task, a
:class:`TaskGradient` summarizes the gradient; :class:`ParameterInfo` and
:class:`ProjectionInfo` record what was measured, so that the JSON says how its numbers came
about. :func:`load_affinity` reads the JSON back (``lm-eval-mtl transfer --predicted``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import MTLError
from lm_eval_mtl.jsonout import json_float

__all__ = [
    "AFFINITY_KIND",
    "MEASURES",
    "AffinityMatrix",
    "AffinityMeasure",
    "MeasureName",
    "ParameterInfo",
    "ProjectionInfo",
    "TaskGradient",
    "load_affinity",
]

FloatArray = npt.NDArray[np.float64]
MeasureName = Literal["cosine", "first_order", "tag"]
"""``cosine``: cosine of mean gradients; ``first_order``: first-order lookahead; ``tag``: exact TAG lookahead."""
MEASURES: tuple[MeasureName, ...] = ("cosine", "first_order", "tag")
AFFINITY_KIND = "lm-eval-mtl/affinity"
"""The ``kind`` field of the JSON."""
_SCHEMA = 1


@dataclass(frozen=True)
class AffinityMeasure:
    """One sources x targets matrix of predicted transfer, with intervals and reliabilities."""

    name: MeasureName
    """Which measure."""
    value: FloatArray
    """(S, T) the estimate."""
    ci_low: FloatArray
    """(S, T) lower percentile-bootstrap bound."""
    ci_high: FloatArray
    """(S, T) upper bound."""
    reliability: FloatArray
    """(S, T) split-half agreement per cell, Spearman-Brown adjusted (NaN where undefined)."""
    matrix_reliability: float
    """Split-half reliability of the off-diagonal cells as a whole (Pearson, Spearman-Brown)."""
    formula: str
    """The formula, in words."""
    interval: str
    """What the bootstrap resampled."""

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision."""
        return {
            "name": self.name,
            "value": self.value.tolist(),
            "ci_low": self.ci_low.tolist(),
            "ci_high": self.ci_high.tolist(),
            "reliability": self.reliability.tolist(),
            "matrix_reliability": json_float(self.matrix_reliability),
            "formula": self.formula,
            "interval": self.interval,
        }


@dataclass(frozen=True)
class TaskGradient:
    """The loss gradient of one task, summarized."""

    task: str
    """Task name."""
    output_type: str
    """lm-eval output type."""
    loss_kind: str
    """``choice_ce`` or ``nll``."""
    n_items: int
    """Items (documents)."""
    num_fewshot: int
    """Few-shot examples per context."""
    loss: float
    """Mean per-item loss L_t(theta)."""
    grad_norm: float
    """|g_t|, the norm of the exact mean gradient on the chosen parameters."""
    projected_norm: float
    """|P g_t|, the norm of the mean projected gradient."""
    split_half_cosine: float
    """Mean over random half splits of the cosine between the two halves' mean projected gradients."""


@dataclass(frozen=True)
class ParameterInfo:
    """Which parameters the gradients were taken on."""

    description: str
    """In words (``output head + linear weights of the last 1 block``)."""
    blocks: int
    """Last blocks included."""
    head: bool
    """Whether the output head is included."""
    layers: tuple[str, ...]
    """Module names of the chosen linear maps."""
    n_parameters: int
    """Scalar parameters in the subset."""
    norm: float
    """|theta_P|."""
    untied_head: bool
    """Whether a tied head was untied for the measurement."""


@dataclass(frozen=True)
class ProjectionInfo:
    """The random projection of the per-item gradients."""

    kind: str
    """``kronecker-gaussian``: per layer P_out (x) P_in with N(0, 1/k) entries."""
    dim: int
    """Projected dimensions d (the requested ``proj_dim`` split over layers, rounded)."""
    requested_dim: int
    """``proj_dim`` as requested."""
    seed: int
    """Seed of the factors."""
    ranks: tuple[tuple[str, int, int], ...]
    """Per layer (name, k_out, k_in)."""


@dataclass(frozen=True)
class AffinityMatrix:
    """Predicted transfer between tasks from one model's gradients (sources x targets)."""

    sources: tuple[str, ...]
    """Source tasks (rows)."""
    targets: tuple[str, ...]
    """Target tasks (columns)."""
    measures: Mapping[MeasureName, AffinityMeasure]
    """The measures computed, in :data:`MEASURES` order."""
    tasks: tuple[TaskGradient, ...]
    """Per task, its gradient summary (same order as ``targets``)."""
    parameters: ParameterInfo
    """Where the gradients were taken."""
    projection: ProjectionInfo
    """How they were projected."""
    step: float
    """Relative lookahead step epsilon."""
    confidence_level: float
    """Level of every interval."""
    n_resamples: int
    """Bootstrap resamples."""
    n_splits: int
    """Random half splits."""
    seed: int
    """Seed of the projection, bootstrap and splits."""
    model: str
    """lm-eval model name (``hf``)."""
    model_args: str
    """lm-eval model arguments as given."""
    limit: float | None
    """``--limit`` (None: every item)."""
    lm_eval_version: str
    """The lm-eval that built the requests and ran the model."""
    world_size: int = 1
    """Processes that shared the items."""
    notes: tuple[str, ...] = field(default=())
    """What to know when reading the numbers."""

    def measure(self, name: MeasureName) -> AffinityMeasure:
        """Return the measure ``name``.

        Raises:
            MTLError: It was not computed (``tag`` with ``lookahead="first-order"``).
        """
        if name not in self.measures:
            raise MTLError(f"measure {name!r} was not computed; computed: {', '.join(self.measures)}.")
        return self.measures[name]

    def tidy(self) -> dict[str, list[dict[str, Any]]]:
        """Tidy records: ``cells`` (one per source, target and measure) and ``tasks`` (one per task)."""
        cells = []
        for name, m in self.measures.items():
            for s, src in enumerate(self.sources):
                for t, tgt in enumerate(self.targets):
                    cells.append(
                        {
                            "measure": name,
                            "source": src,
                            "target": tgt,
                            "value": json_float(m.value[s, t]),
                            "ci_low": json_float(m.ci_low[s, t]),
                            "ci_high": json_float(m.ci_high[s, t]),
                            "reliability": json_float(m.reliability[s, t]),
                        }
                    )
        tasks = [
            {
                "task": g.task,
                "output_type": g.output_type,
                "loss_kind": g.loss_kind,
                "n_items": g.n_items,
                "num_fewshot": g.num_fewshot,
                "loss": json_float(g.loss),
                "grad_norm": json_float(g.grad_norm),
                "projected_norm": json_float(g.projected_norm),
                "split_half_cosine": json_float(g.split_half_cosine),
            }
            for g in self.tasks
        ]
        return {"cells": cells, "tasks": tasks}

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form at full precision (NaN as null through :func:`~lm_eval_mtl.jsonout.json_dumps`)."""
        p, q = self.parameters, self.projection
        return {
            "kind": AFFINITY_KIND,
            "schema": _SCHEMA,
            "model": self.model,
            "model_args": self.model_args,
            "limit": self.limit,
            "lm_eval_version": self.lm_eval_version,
            "world_size": self.world_size,
            "sources": list(self.sources),
            "targets": list(self.targets),
            "measures": {k: m.to_dict() for k, m in self.measures.items()},
            "parameters": {
                "description": p.description,
                "blocks": p.blocks,
                "head": p.head,
                "layers": list(p.layers),
                "n_parameters": p.n_parameters,
                "norm": p.norm,
                "untied_head": p.untied_head,
            },
            "projection": {
                "kind": q.kind,
                "dim": q.dim,
                "requested_dim": q.requested_dim,
                "seed": q.seed,
                "ranks": [list(r) for r in q.ranks],
            },
            "step": self.step,
            "confidence_level": self.confidence_level,
            "n_resamples": self.n_resamples,
            "n_splits": self.n_splits,
            "seed": self.seed,
            "notes": list(self.notes),
            "tables": self.tidy(),
        }


def _matrix(value: Any, shape: tuple[int, int], where: str) -> FloatArray:
    if not isinstance(value, list):
        raise MTLError(f"{where}: must be a list of rows; got {type(value).__name__}.")
    try:
        m = np.array([[math.nan if v is None else float(v) for v in row] for row in value], dtype=np.float64)
    except (TypeError, ValueError):
        raise MTLError(f"{where}: must hold numbers or null.") from None
    if m.shape != shape:
        raise MTLError(f"{where}: must have shape {shape}; got {m.shape}.")
    return m


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise MTLError(f"{where}: must be a non-empty list of task names; got {value!r}.")
    return tuple(value)


def _from_dict(data: Mapping[str, Any], where: str) -> AffinityMatrix:
    if data.get("kind") != AFFINITY_KIND:
        raise MTLError(
            f"{where}: not an lm-eval-mtl affinity file (`kind` must be {AFFINITY_KIND!r}; got {data.get('kind')!r}); "
            "write one with `lm-eval-mtl affinity`."
        )
    if data.get("schema") != _SCHEMA:
        raise MTLError(f"{where}: `schema` must be {_SCHEMA}; got {data.get('schema')!r}.")
    sources = _names(data.get("sources"), f"{where}: `sources`")
    targets = _names(data.get("targets"), f"{where}: `targets`")
    raw = data.get("measures")
    if not isinstance(raw, Mapping) or not raw:
        raise MTLError(f"{where}: `measures` must map measure names to matrices; got {raw!r}.")
    shape = (len(sources), len(targets))
    measures: dict[MeasureName, AffinityMeasure] = {}
    for name in MEASURES:
        if name not in raw:
            continue
        m = raw[name]
        if not isinstance(m, Mapping):
            raise MTLError(f"{where}: `measures.{name}` must be an object.")
        rel = m.get("matrix_reliability")
        measures[name] = AffinityMeasure(
            name=name,
            value=_matrix(m.get("value"), shape, f"{where}: `measures.{name}.value`"),
            ci_low=_matrix(m.get("ci_low"), shape, f"{where}: `measures.{name}.ci_low`"),
            ci_high=_matrix(m.get("ci_high"), shape, f"{where}: `measures.{name}.ci_high`"),
            reliability=_matrix(m.get("reliability"), shape, f"{where}: `measures.{name}.reliability`"),
            matrix_reliability=math.nan if rel is None else float(rel),
            formula=str(m.get("formula", "")),
            interval=str(m.get("interval", "")),
        )
    unknown = sorted(set(raw) - set(MEASURES))
    if unknown or not measures:
        raise MTLError(f"{where}: unknown or missing measures {unknown}; known: {', '.join(MEASURES)}.")
    tables = data.get("tables") if isinstance(data.get("tables"), Mapping) else {}
    tasks = tuple(
        TaskGradient(
            task=str(r.get("task")),
            output_type=str(r.get("output_type")),
            loss_kind=str(r.get("loss_kind")),
            n_items=int(r.get("n_items") or 0),
            num_fewshot=int(r.get("num_fewshot") or 0),
            loss=math.nan if r.get("loss") is None else float(r["loss"]),
            grad_norm=math.nan if r.get("grad_norm") is None else float(r["grad_norm"]),
            projected_norm=math.nan if r.get("projected_norm") is None else float(r["projected_norm"]),
            split_half_cosine=math.nan
            if r.get("split_half_cosine") is None
            else float(r["split_half_cosine"]),
        )
        for r in (tables or {}).get("tasks", [])
        if isinstance(r, Mapping)
    )
    raw_p, raw_q = data.get("parameters"), data.get("projection")
    p: Mapping[str, Any] = raw_p if isinstance(raw_p, Mapping) else {}
    q: Mapping[str, Any] = raw_q if isinstance(raw_q, Mapping) else {}
    limit = data.get("limit")
    return AffinityMatrix(
        sources=sources,
        targets=targets,
        measures=measures,
        tasks=tasks,
        parameters=ParameterInfo(
            description=str(p.get("description", "")),
            blocks=int(p.get("blocks") or 0),
            head=bool(p.get("head", False)),
            layers=tuple(str(x) for x in p.get("layers", [])),
            n_parameters=int(p.get("n_parameters") or 0),
            norm=float(p.get("norm") or math.nan),
            untied_head=bool(p.get("untied_head", False)),
        ),
        projection=ProjectionInfo(
            kind=str(q.get("kind", "")),
            dim=int(q.get("dim") or 0),
            requested_dim=int(q.get("requested_dim") or 0),
            seed=int(q.get("seed") or 0),
            ranks=tuple((str(r[0]), int(r[1]), int(r[2])) for r in q.get("ranks", []) if len(r) == 3),
        ),
        step=float(data.get("step") or math.nan),
        confidence_level=float(data.get("confidence_level") or math.nan),
        n_resamples=int(data.get("n_resamples") or 0),
        n_splits=int(data.get("n_splits") or 0),
        seed=int(data.get("seed") or 0),
        model=str(data.get("model", "")),
        model_args=str(data.get("model_args", "")),
        limit=None if limit is None else float(limit),
        lm_eval_version=str(data.get("lm_eval_version", "")),
        world_size=int(data.get("world_size") or 1),
        notes=tuple(str(n) for n in data.get("notes", [])),
    )


def load_affinity(path: str | Path) -> AffinityMatrix:
    """Read an ``affinity.json`` written by ``lm-eval-mtl affinity`` (or :func:`write_affinity`).

    Args:
        path: The JSON file, or the ``--output_path`` folder holding ``affinity.json``.

    Returns:
        The :class:`AffinityMatrix`.

    Raises:
        MTLError: Not readable, not strict JSON, not an affinity file, or malformed (one line
            naming the file and the field).
    """
    from lm_eval_mtl.io.files import decode_utf8, json_problem, loads_strict, read_input_bytes

    p = Path(path)
    if p.is_dir():
        p = p / "affinity.json"
    if not p.exists():
        raise MTLError(f"{p} does not exist; give the affinity.json that `lm-eval-mtl affinity` wrote.")
    text = decode_utf8(
        read_input_bytes(p, what="affinity file", error=MTLError), p, what="affinity file", error=MTLError
    )
    try:
        data = loads_strict(text)
    except (ValueError, RecursionError) as err:
        raise MTLError(f"{p}: not valid JSON: {json_problem(err) or err}.") from None
    if not isinstance(data, Mapping):
        raise MTLError(f"{p}: must hold a JSON object; got {type(data).__name__}.")
    return _from_dict(data, str(p))
