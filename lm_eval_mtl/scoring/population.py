"""Reference populations: many models' normalized scores on the same tasks.

A :class:`Population` is the matrix weighting schemes are fitted on: one row
per model, one column per task (member label, or family for a
family-level population), values are normalized scores
``z = (x * scale - c) / (u - c)``. It records where it came from (file name,
sha256 of the file's bytes, date) so a weights file can cite it.

Two ways to build one:

* :func:`load_panel_csv`: a CSV with one row per model (e.g. the Open LLM
  Leaderboard exports);
* :func:`population_from_runs`: lm-eval output folders, one per model, read
  with :func:`lm_eval_mtl.io.load_run` and normalized with a suite's
  chance and ceiling.

Empty cells are gaps (NaN); the fitting code decides what to do with them
(see :func:`lm_eval_mtl.scoring.weighting.fit_weights`, ``missing=``).

The CSV parsing pieces (gap cells, score columns, duplicate rows) live in
:mod:`lm_eval_mtl.scoring.panel_csv`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import InsufficientDataError, PanelFormatError, unknown_name
from lm_eval_mtl.scoring.panel_csv import (
    _PANEL_WHAT,
    NA_TOKENS,
    DuplicatePolicy,
    _load_panel_csv_iv,
    _merge_duplicates,
    _numeric_column,
    _parse_tasks,
    is_na,
    panel_header,
    read_panel_text,
)
from lm_eval_mtl.suites import SuiteSpec

__all__ = [
    "NA_TOKENS",
    "DuplicatePolicy",
    "PanelFormatError",
    "Population",
    "is_na",
    "load_panel_csv",
    "panel_header",
    "population_from_runs",
    "read_panel_text",
]


@dataclass(frozen=True)
class Population:
    """Normalized scores of many models on the same tasks."""

    models: tuple[str, ...]
    """Model ids, one per row."""
    tasks: tuple[str, ...]
    """Task keys (member labels or families), one per column."""
    scores: npt.NDArray[np.float64]
    """Normalized scores z, shape (n_models, n_tasks); NaN marks a gap."""
    source: str
    """File name (or folder names) the population was read from."""
    sha256: str
    """sha256 of the source bytes (for several files: of their sorted hashes)."""
    date: str = ""
    """Date of the population (latest submission date when known), ISO 8601."""
    columns: tuple[str, ...] = ()
    """Source columns the tasks were read from (same order)."""
    chance: Mapping[str, float] = field(default_factory=dict)
    """Chance level c per task used for z (0-1 scale)."""
    ceiling: Mapping[str, float] = field(default_factory=dict)
    """Ceiling u per task used for z (0-1 scale)."""
    notes: str = ""
    """How the rows were built (duplicates merged, scale, ...)."""
    metadata_columns: tuple[str, ...] = ()
    """CSV columns left out of the default task set as metadata: no numeric cell (model type,
    license, dates) or mostly text."""

    @property
    def n_models(self) -> int:
        """Number of models (rows)."""
        return len(self.models)

    @property
    def n_tasks(self) -> int:
        """Number of tasks (columns)."""
        return len(self.tasks)

    @property
    def n_missing(self) -> int:
        """Number of NaN cells."""
        return int(np.isnan(self.scores).sum())

    def select(self, tasks: Sequence[str]) -> Population:
        """Return the same population restricted (and reordered) to ``tasks``.

        Raises:
            UnknownNameError: A task is not in the population (close matches listed).
        """
        idx = []
        for t in tasks:
            if t not in self.tasks:
                raise unknown_name("task of the population", t, self.tasks)
            idx.append(self.tasks.index(t))
        return Population(
            models=self.models,
            tasks=tuple(tasks),
            scores=self.scores[:, idx].copy(),
            source=self.source,
            sha256=self.sha256,
            date=self.date,
            columns=tuple(self.columns[i] for i in idx) if self.columns else (),
            chance={t: self.chance[t] for t in tasks if t in self.chance},
            ceiling={t: self.ceiling[t] for t in tasks if t in self.ceiling},
            notes=self.notes,
            metadata_columns=self.metadata_columns,
        )

    def complete_rows(self) -> Population:
        """Return the population without the models that have any gap (listwise deletion)."""
        keep = ~np.isnan(self.scores).any(axis=1)
        dropped = int((~keep).sum())
        note = f"{dropped} model(s) with gaps dropped (listwise)"
        return Population(
            models=tuple(self.models[i] for i in np.flatnonzero(keep).tolist()),
            tasks=self.tasks,
            scores=self.scores[keep].copy(),
            source=self.source,
            sha256=self.sha256,
            date=self.date,
            columns=self.columns,
            chance=dict(self.chance),
            ceiling=dict(self.ceiling),
            notes=f"{self.notes}; {note}" if self.notes else note,
            metadata_columns=self.metadata_columns,
        )


# ------------------------------------------------------------------ CSV panels


def load_panel_csv(
    path: str | Path,
    *,
    id_column: str,
    tasks: Sequence[str] | Mapping[str, str] | None = None,
    scale: float = 1.0,
    spec: SuiteSpec | None = None,
    chance: Mapping[str, float] | None = None,
    ceiling: Mapping[str, float] | None = None,
    duplicates: DuplicatePolicy = "error",
    date_column: str | None = None,
    normalized: bool = False,
) -> Population:
    """Read a panel CSV (one row per model) into a :class:`Population`.

    Args:
        path: The CSV file (UTF-8, header row).
        id_column: Column holding the model id.
        tasks: Columns to use, as names or ``COLUMN=KEY`` strings (or a mapping
            column -> key) to rename them to member labels / families. Default:
            every other column that is numeric in every non-empty cell.
        scale: Multiplies every cell first (0.01 for percentages -> 0-1).
        spec: A suite; its members' ``chance``/``ceiling`` normalize the columns
            whose key is a member label. A key that is a family of the suite uses
            its members' common chance and ceiling (an error if they differ).
            Keys not in the suite use ``chance``/``ceiling`` below, default 0 and 1.
        chance: Chance level per key (0-1 scale), overriding the spec.
        ceiling: Ceiling per key (0-1 scale), overriding the spec.
        duplicates: A model id on several rows: ``error``, keep the ``first`` row,
            or take the ``mean`` of the rows.
        date_column: Column of submission dates; the population's date is the latest.
        normalized: The cells already hold normalized scores (after ``scale``), as
            the Open LLM Leaderboard v2 export does: chance 0 and ceiling 1 for
            every key, whatever the spec says (``chance``/``ceiling`` still apply).

    Returns:
        The population of z scores, with empty cells as NaN.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        PanelFormatError: A named column is missing (close matches listed), a
            cell is not a number (row and column named), a model id repeats
            under ``duplicates="error"``, or the panel has no rows.
    """
    from lm_eval_mtl.io.files import decode_utf8, read_input_bytes

    p = Path(path)
    _load_panel_csv_iv(p, id_column, scale, duplicates)
    raw = read_input_bytes(p, what=_PANEL_WHAT, error=PanelFormatError)
    digest = hashlib.sha256(raw).hexdigest()
    text = decode_utf8(raw, p, what=_PANEL_WHAT, error=PanelFormatError)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise PanelFormatError(f"`path`: {p} is empty; expected {_PANEL_WHAT}.") from None
    except csv.Error as err:
        raise PanelFormatError(f"`path`: {p}:1: not a readable CSV header ({err}).") from None
    header = [h.strip() for h in header]
    if not any(header):
        raise PanelFormatError(f"`path`: {p} is empty (no header row); expected {_PANEL_WHAT}.")
    try:
        rows = [r for r in reader if any(c.strip() for c in r)]
    except csv.Error as err:
        raise PanelFormatError(f"`path`: {p}:{reader.line_num}: malformed CSV ({err}).") from None
    if not rows:
        raise PanelFormatError(f"`path`: {p} has a header but no rows.")
    col_index = {h: i for i, h in enumerate(header)}
    if id_column not in col_index:
        raise PanelFormatError(f"`id_column`: {unknown_name('column', id_column, header)}")
    if date_column is not None and date_column not in col_index:
        raise PanelFormatError(f"`date_column`: {unknown_name('column', date_column, header)}")
    mapping = _parse_tasks(tasks)
    metadata: tuple[str, ...] = ()
    if not mapping:
        for r, row in enumerate(rows):
            if len(row) != len(header):
                raise PanelFormatError(
                    f"{p}: row {r + 2} has {len(row)} cells; the header has {len(header)} (truncated or malformed?)."
                )
        candidates = [h for h in header if h not in (id_column, date_column)]
        numeric = [h for h in candidates if _numeric_column(rows, col_index[h], col_index[id_column], h, p)]
        metadata = tuple(h for h in candidates if h not in numeric)
        mapping = {h: h for h in numeric}
        if not mapping:
            raise PanelFormatError(
                f"`tasks`: {p} has no numeric column besides {id_column!r}; name the task columns."
            )
    for col in mapping:
        if col not in col_index:
            raise PanelFormatError(f"`tasks`: {unknown_name('column', col, header)}")
    keys = list(mapping.values())
    dup_keys = sorted({k for k in keys if keys.count(k) > 1})
    if dup_keys:
        raise PanelFormatError(f"`tasks`: each key must be used once; {', '.join(dup_keys)} repeat.")
    cols = list(mapping)
    values = np.full((len(rows), len(cols)), np.nan)
    ids: list[str] = []
    for r, row in enumerate(rows):
        if len(row) != len(header):
            raise PanelFormatError(
                f"{p}: row {r + 2} has {len(row)} cells; the header has {len(header)} (truncated or malformed?)."
            )
        ids.append(row[col_index[id_column]].strip())
        for j, col in enumerate(cols):
            cell = row[col_index[col]].strip()
            if is_na(cell):
                continue
            try:
                v = float(cell)
            except ValueError:
                raise PanelFormatError(
                    f"{p}: column {col!r}, row {r + 2} (model {ids[-1]!r}) is not a number: {cell!r}."
                ) from None
            if not math.isfinite(v):
                raise PanelFormatError(
                    f"{p}: column {col!r}, row {r + 2} (model {ids[-1]!r}) is not finite: {cell!r}."
                )
            values[r, j] = v * scale
    if any(not i for i in ids):
        raise PanelFormatError(f"{p}: column {id_column!r} has empty model ids (row {ids.index('') + 2}).")
    models, values, note = _merge_duplicates(ids, values, duplicates, p, id_column)
    date = ""
    if date_column is not None:
        dates = sorted(
            row[col_index[date_column]].strip()[:10] for row in rows if row[col_index[date_column]].strip()
        )
        date = dates[-1] if dates else ""
    c, u = _normalization(keys, None if normalized else spec, chance, ceiling)
    z = (values - np.array([c[k] for k in keys])) / (
        np.array([u[k] for k in keys]) - np.array([c[k] for k in keys])
    )
    notes = f"scale={scale:g}; {note}"
    return Population(
        models=models,
        tasks=tuple(keys),
        scores=z,
        source=p.name,
        sha256=digest,
        date=date,
        columns=tuple(cols),
        chance=c,
        ceiling=u,
        notes=notes,
        metadata_columns=metadata,
    )


def _normalization(
    keys: Sequence[str],
    spec: SuiteSpec | None,
    chance: Mapping[str, float] | None,
    ceiling: Mapping[str, float] | None,
) -> tuple[dict[str, float], dict[str, float]]:
    c: dict[str, float] = {}
    u: dict[str, float] = {}
    labels = set(spec.labels) if spec is not None else set()
    families = set(spec.families) if spec is not None else set()
    for k in keys:
        if spec is not None and k in labels:
            m = spec.member(k)
            c[k], u[k] = m.chance, m.ceiling
        elif spec is not None and k in families:
            members = [m for m in spec.members if m.family == k]
            cs, us = {m.chance for m in members}, {m.ceiling for m in members}
            if (len(cs) > 1 or len(us) > 1) and not (chance and k in chance and ceiling and k in ceiling):
                raise PanelFormatError(
                    f"family {k!r} of suite {spec.id} has members with different chance/ceiling "
                    f"({sorted(cs)} / {sorted(us)}); give `chance` and `ceiling` for it, or "
                    "normalized=True if the panel already holds normalized scores."
                )
            c[k], u[k] = min(cs), min(us)
        else:
            c[k], u[k] = 0.0, 1.0
        if chance is not None and k in chance:
            c[k] = float(chance[k])
        if ceiling is not None and k in ceiling:
            u[k] = float(ceiling[k])
        if not (math.isfinite(c[k]) and math.isfinite(u[k]) and u[k] > c[k]):
            raise PanelFormatError(
                f"task {k!r}: ceiling must exceed chance; got chance={c[k]}, ceiling={u[k]}."
            )
    unknown = [k for k in (chance or {}) if k not in keys] + [k for k in (ceiling or {}) if k not in keys]
    if unknown:
        raise PanelFormatError(
            f"`chance`/`ceiling` name task(s) not in the panel: {', '.join(sorted(set(unknown)))}."
        )
    return c, u


# ------------------------------------------------------------------ lm-eval runs


def population_from_runs(paths: Sequence[str | Path], spec: SuiteSpec) -> Population:
    """Build a population from lm-eval output folders, one model each.

    Each folder is read with :func:`lm_eval_mtl.io.load_run` and its members collected as
    ``report`` collects them (:func:`lm_eval_mtl.scoring.members.collect_members`: samples
    checked, chance per item where logged); member ``m``'s column is
    ``z = (x - c_m) / (u_m - c_m)``.

    Args:
        paths: Run folders (or results JSON files), at least 3.
        spec: The suite whose members form the columns.

    Returns:
        The population; ``source`` lists the folder names, ``sha256`` hashes the
        sorted sha256s of the results files read.

    Raises:
        InsufficientDataError: Fewer than 3 runs.
        MissingTaskError / MissingMetricError: A run lacks a member or its metric.
        PanelFormatError: Two runs have the same model name.
    """
    from lm_eval_mtl.io import load_run

    if isinstance(paths, (str, Path)) or len(paths) < 3:
        raise InsufficientDataError(
            f"`paths` must list at least 3 run folders (a correlation needs several models); got {paths!r}."
        )
    models: list[str] = []
    rows: list[list[float]] = []
    hashes: list[str] = []
    for path in paths:
        run = load_run(path)
        if run.model_name in models:
            raise PanelFormatError(
                f"`paths`: model {run.model_name!r} appears twice ({path}); a population has one run per model."
            )
        models.append(run.model_name)
        hashes.append(hashlib.sha256(Path(run.path).read_bytes()).hexdigest())
        from lm_eval_mtl.scoring.members import collect_members

        rows.append([m.normalized for m in collect_members(run, spec)])
    digest = hashlib.sha256("\n".join(sorted(hashes)).encode()).hexdigest()
    names = ",".join(Path(p).name for p in paths)
    return Population(
        models=tuple(models),
        tasks=spec.labels,
        scores=np.asarray(rows, dtype=np.float64),
        source=names if len(names) <= 200 else f"{len(paths)} lm-eval run folders",
        sha256=digest,
        date="",
        columns=spec.labels,
        chance={m.label: m.chance for m in spec.members},
        ceiling={m.label: m.ceiling for m in spec.members},
        notes=f"{len(paths)} lm-eval runs of suite {spec.id}",
    )
