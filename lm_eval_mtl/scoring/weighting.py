"""Fitting weights with the registered schemes: the process-wide registry and :func:`fit_weights`.

:data:`scheme_registry` holds the schemes (built-ins from
:mod:`lm_eval_mtl.scoring.weighting_schemes`, the registry type and its entry-point
plugins in :mod:`lm_eval_mtl.scoring.weighting_registry`); :func:`register_scheme` adds
one, :func:`scheme_weights` runs one, and :func:`fit_weights` fits one on a population
and returns a weights file with its diagnostics
(:mod:`lm_eval_mtl.scoring.weighting_diagnostics`). Every public name of those modules
is importable from here too.

``gls`` / ``min_variance`` are refused (see :class:`RefusedSchemeError`).

Missing cells: every population-based scheme and every diagnostic needs a
complete matrix. :func:`fit_weights` refuses a population with gaps unless
``missing="listwise"``, which drops the models that have any gap and records
how many. (Pairwise-complete correlations are not used: they need not be
positive semi-definite and the Ledoit-Wolf intensity has no closed form for
them.)
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import InsufficientDataError, MTLError, RefusedSchemeError
from lm_eval_mtl.scoring.population import Population
from lm_eval_mtl.scoring.weighting_diagnostics import Diagnostics, diagnose
from lm_eval_mtl.scoring.weighting_registry import ENTRY_POINT_GROUP, REFUSED_SCHEMES, SchemeRegistry
from lm_eval_mtl.scoring.weighting_schemes import (
    DEFAULT_THRESHOLD,
    DEFAULT_UNIQUENESS_FLOOR,
    SchemeContext,
    SchemeFunction,
    WeightingScheme,
)
from lm_eval_mtl.scoring.weights_file import (
    Normalization,
    PercentileTable,
    PopulationProvenance,
    WeightsFile,
)
from lm_eval_mtl.suites import SuiteSpec

__all__ = [
    "ENTRY_POINT_GROUP",
    "PERCENTILE_LEVELS",
    "REFUSED_SCHEMES",
    "Diagnostics",
    "RefusedSchemeError",
    "SchemeContext",
    "SchemeRegistry",
    "WeightingScheme",
    "diagnose",
    "fit_weights",
    "register_scheme",
    "scheme_registry",
    "scheme_weights",
]

FloatArray = npt.NDArray[np.float64]
MissingPolicy = Literal["error", "listwise"]
PERCENTILE_LEVELS: tuple[float, ...] = tuple(float(x) for x in np.linspace(0.0, 100.0, 201))
"""Levels (percent) of the shipped percentile tables: every 0.5%."""
scheme_registry = SchemeRegistry(with_builtins=True)
"""The process-wide registry of weighting schemes (built-ins, then third-party)."""


def register_scheme(
    name: str,
    *,
    needs_population: bool,
    description: str,
    params: Sequence[str] = (),
) -> Callable[[SchemeFunction], SchemeFunction]:
    """Register a third-party scheme (decorator); ``name`` must be ``package/name``.

    Raises:
        MTLError: See :meth:`SchemeRegistry.register`.
    """

    def deco(fn: SchemeFunction) -> SchemeFunction:
        scheme_registry.register(WeightingScheme(name, fn, needs_population, description, tuple(params)))
        return fn

    return deco


def scheme_weights(scheme: str, ctx: SchemeContext) -> FloatArray:
    """Run scheme ``scheme`` on ``ctx`` and normalize: non-negative, summing to 1.

    Raises:
        RefusedSchemeError / UnknownNameError: See :meth:`SchemeRegistry.get`.
        MTLError: The scheme returned a wrong shape, negative or non-finite weights,
            or all zeros.
    """
    s = scheme_registry.get(scheme)
    raw = np.asarray(s.function(ctx), dtype=np.float64)
    if raw.shape != (len(ctx.tasks),):
        raise MTLError(f"scheme {scheme!r} returned shape {raw.shape}; expected ({len(ctx.tasks)},).")
    if not np.all(np.isfinite(raw)) or np.any(raw < 0):
        raise MTLError(f"scheme {scheme!r} returned negative or non-finite weights: {raw.tolist()}.")
    total = float(raw.sum())
    if total <= 0:
        raise MTLError(f"scheme {scheme!r} returned all-zero weights.")
    out: FloatArray = raw / total
    return out


# ------------------------------------------------------------------ fitting


def _fit_weights_iv(
    population: Population,
    suite: SuiteSpec | None,
    suite_id: str | None,
    threshold: float,
    uniqueness_floor: float,
    missing: str,
) -> tuple[str, str]:
    if not isinstance(population, Population):
        raise MTLError(f"`population` must be a Population; got {type(population).__name__}.")
    if missing not in ("error", "listwise"):
        raise MTLError(f"`missing` must be 'error' or 'listwise'; got {missing!r}.")
    if not (isinstance(threshold, (int, float)) and 0.0 < float(threshold) < 2.0):
        raise MTLError(f"`threshold` must be in (0, 2) (a distance 1-|r|); got {threshold!r}.")
    if not (isinstance(uniqueness_floor, (int, float)) and 0.0 < float(uniqueness_floor) < 1.0):
        raise MTLError(f"`uniqueness_floor` must be in (0, 1); got {uniqueness_floor!r}.")
    if population.n_tasks < 2:
        raise InsufficientDataError(f"`population` needs at least 2 tasks; got {population.n_tasks}.")
    if suite is not None:
        return suite.name, suite.version
    if suite_id is None or "@" not in suite_id:
        raise MTLError(
            "`suite` (a SuiteSpec) or `suite_id` ('name@version') is required: a weights file names "
            f"the suite it belongs to; got suite_id={suite_id!r}."
        )
    name, _, version = suite_id.partition("@")
    if not name or not version:
        raise MTLError(f"`suite_id` must be 'name@version'; got {suite_id!r}.")
    return name, version


def fit_weights(
    population: Population,
    scheme: str,
    *,
    suite: SuiteSpec | None = None,
    suite_id: str | None = None,
    weights_id: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    uniqueness_floor: float = DEFAULT_UNIQUENESS_FLOOR,
    sizes: Mapping[str, int] | None = None,
    missing: MissingPolicy = "error",
    progress: Callable[[str], None] | None = None,
) -> WeightsFile:
    """Fit ``scheme`` on ``population`` and return a frozen weights file with diagnostics.

    Args:
        population: Models x tasks normalized scores. Its task keys must be the
            suite's member labels (``level: member``) or its families (``level: family``).
        scheme: A registered scheme name (``redundancy``, ``cluster``, ``factor``,
            ``equal``, ``family``, ``size`` or ``package/name``).
        suite: The suite the weights are for (checked against the task keys).
        suite_id: ``name@version`` when no spec is at hand.
        weights_id: Id of the file; default ``<scheme>-<suite name>``.
        threshold: ``cluster``: cut height on the distance 1 - |r|.
        uniqueness_floor: ``factor``: lower bound on uniquenesses 1 - l^2.
        sizes: ``size``: item count per member label.
        missing: Gaps in the population: ``error`` or ``listwise`` (drop models with gaps).
        progress: Called with a short message at each stage (the CLI prints them).

    Returns:
        The weights file (not yet saved; see :func:`save_weights`).

    Raises:
        RefusedSchemeError: ``gls`` / ``min_variance``.
        UnknownNameError: Unknown scheme (close matches listed).
        InsufficientDataError: Gaps with ``missing="error"`` (count given), fewer
            than 3 complete models, a constant task, fewer than 2 tasks.
        MTLError: Bad arguments; task keys that are neither the suite's members nor its families.
    """
    from lm_eval_mtl import __version__
    from lm_eval_mtl.stats.shrinkage import ledoit_wolf_correlation

    say = progress or (lambda _msg: None)
    suite_name, suite_version = _fit_weights_iv(
        population, suite, suite_id, threshold, uniqueness_floor, missing
    )
    scheme_registry.get(scheme)  # unknown / refused names fail before any work
    level: Literal["member", "family"] = "member"
    if suite is not None:
        keys = set(population.tasks)
        if keys == set(suite.labels):
            level = "member"
        elif keys == set(suite.families):
            level = "family"
        else:
            raise MTLError(
                f"the population's tasks ({', '.join(population.tasks)}) must be exactly the members "
                f"({', '.join(suite.labels)}) or the families ({', '.join(suite.families)}) of suite {suite.id}."
            )
    pop = population
    if pop.n_missing:
        if missing == "error":
            raise InsufficientDataError(
                f"`population` has {pop.n_missing} missing cell(s) in "
                f"{int(np.isnan(pop.scores).any(axis=1).sum())} model(s); the correlation needs complete rows. "
                "Pass missing='listwise' (CLI: --missing listwise) to drop those models."
            )
        pop = pop.complete_rows()
        say(f"dropped models with gaps; {pop.n_models} complete model(s) remain")
    if pop.n_models < 3:
        raise InsufficientDataError(f"`population` needs at least 3 complete models; got {pop.n_models}.")
    say(f"shrinking the {pop.n_tasks}x{pop.n_tasks} correlation over {pop.n_models} models (Ledoit-Wolf)")
    shrunk = ledoit_wolf_correlation(pop.scores)
    params: dict[str, Any] = {"missing": missing}
    s = scheme_registry.get(scheme)
    if "threshold" in s.params:
        params["threshold"] = float(threshold)
    if "uniqueness_floor" in s.params:
        params["uniqueness_floor"] = float(uniqueness_floor)
    ctx_params: dict[str, Any] = dict(params)
    if sizes is not None:
        ctx_params["sizes"] = dict(sizes)
        params["sizes"] = {k: int(v) for k, v in sizes.items()}
    ctx = SchemeContext(
        tasks=pop.tasks, correlation=shrunk.correlation, spec=suite, level=level, params=ctx_params
    )
    say(f"fitting {scheme!r} weights")
    w = scheme_weights(scheme, ctx)
    say("diagnostics: effective number of tasks, Kendall tau, rank changes under halved/doubled weights")
    diag = diagnose(pop.scores, w, pop.tasks, shrunk.delta, shrunk.correlation)
    comp = pop.scores @ w
    comp_equal = pop.scores @ np.full(pop.n_tasks, 1.0 / pop.n_tasks)
    q = np.asarray(PERCENTILE_LEVELS) / 100.0
    # Equal weights over the file's keys are the suite's `equal` scheme for member-level
    # keys, and its `family` scheme (1/F per family, equal within) for family-level keys.
    structural = "equal" if level == "member" else "family"
    percentiles = {
        "fitted": PercentileTable(PERCENTILE_LEVELS, tuple(np.quantile(comp, q).tolist()), "fitted"),
        structural: PercentileTable(
            PERCENTILE_LEVELS, tuple(np.quantile(comp_equal, q).tolist()), structural
        ),
    }
    provenance = PopulationProvenance(
        source=pop.source,
        sha256=pop.sha256,
        date=pop.date,
        n_models=pop.n_models,
        tasks=pop.tasks,
        columns=pop.columns,
        notes=pop.notes,
    )
    normalization = {t: Normalization(pop.chance.get(t, 0.0), pop.ceiling.get(t, 1.0)) for t in pop.tasks}
    return WeightsFile(
        id=weights_id or f"{scheme.replace('/', '_')}-{suite_name}",
        suite=suite_name,
        suite_version=suite_version,
        scheme=scheme,
        weights={t: float(x) for t, x in zip(pop.tasks, w.tolist(), strict=True)},
        level=level,
        population=provenance,
        delta=diag.delta,
        effective_number_nyholt=diag.nyholt,
        effective_number_li_ji=diag.li_ji,
        kendall_tau=diag.kendall_tau,
        max_rank_change=diag.max_rank_change,
        max_rank_change_at=diag.max_rank_change_at,
        correlation=tuple(tuple(float(x) for x in row) for row in shrunk.correlation.tolist()),
        params=params,
        normalization=normalization,
        percentiles=percentiles,
        created=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        lm_eval_mtl_version=__version__,
    )
