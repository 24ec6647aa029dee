"""Weighting schemes (a typed registry) and fitting a weights file on a population.

Built-in schemes (formulas in docs/concepts-weighting.md):

* ``equal``: w_t = 1/T.
* ``family``: 1/F per family, split equally within (needs a suite spec).
* ``size``: w_t proportional to the item count n_t (needs ``sizes``).
* ``redundancy``: w_t proportional to 1 / sum_j r*_tj^2, with r* the
  Ledoit-Wolf-shrunk between-model correlation of z over the population.
* ``cluster``: average-linkage clustering on the distance 1 - |r*_tj|, cut at
  ``threshold``; 1/K per cluster, split equally within.
* ``factor``: one factor from the first principal component of r*: loadings
  l = sqrt(lambda_1) v_1 (sign: sum positive), uniquenesses
  psi = max(1 - l^2, ``uniqueness_floor``), Bartlett (1937) factor-score
  weights w proportional to l / psi, clipped at 0, renormalized.

``gls`` / ``min_variance`` are refused (see :class:`RefusedSchemeError`).

Missing cells: every population-based scheme and every diagnostic needs a
complete matrix. :func:`fit_weights` refuses a population with gaps unless
``missing="listwise"``, which drops the models that have any gap and records
how many. (Pairwise-complete correlations are not used: they need not be
positive semi-definite and the Ledoit-Wolf intensity has no closed form for
them.)

Third-party schemes register under ``package/name`` (a slash is required
outside this package), like inspect_ai's registry names: at import time with
:func:`register_scheme`, or, without importing anything, through the entry-point group
``lm_eval_mtl.weighting`` (:data:`ENTRY_POINT_GROUP`). Entry points are loaded lazily,
the first time a name that is not registered is asked for or the list of names is
needed; see :meth:`SchemeRegistry.load_plugins`.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import InsufficientDataError, MTLError, RefusedSchemeError, unknown_name
from lm_eval_mtl.scoring.population import Population
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
DEFAULT_THRESHOLD = 0.2
ENTRY_POINT_GROUP = "lm_eval_mtl.weighting"
"""Entry-point group of third-party weighting schemes (each entry point: a :class:`WeightingScheme`)."""
DEFAULT_UNIQUENESS_FLOOR = 0.01

REFUSED_SCHEMES: Mapping[str, str] = {
    name: (
        f"Weighting scheme {name!r} is refused: minimum-variance (GLS) weights across different tasks "
        "treat tasks as noisy measurements of one quantity. On the Open LLM Leaderboard populations they "
        "go negative or put ~94% of the weight on the two least correlated tasks, so the composite stops "
        "measuring the suite. GLS is right only within one construct (prompt variants or seeds of one "
        "task); across tasks use 'redundancy', 'cluster' or 'factor'."
    )
    for name in ("gls", "min_variance", "minimum_variance", "mvue")
}


@dataclass(frozen=True)
class SchemeContext:
    """What a weighting scheme may use."""

    tasks: tuple[str, ...]
    """Task keys, in column order."""
    correlation: FloatArray | None
    """Shrunk between-model correlation r* (T x T), or None without a population."""
    spec: SuiteSpec | None
    """The suite, when given."""
    level: Literal["member", "family"]
    """Whether ``tasks`` are member labels or families."""
    params: Mapping[str, Any] = field(default_factory=dict)
    """Scheme parameters (``threshold``, ``uniqueness_floor``, ``sizes``)."""


SchemeFunction = Callable[[SchemeContext], FloatArray]


@dataclass(frozen=True)
class WeightingScheme:
    """A registered weighting scheme."""

    name: str
    """Registry name (``redundancy``; third-party: ``package/name``)."""
    function: SchemeFunction
    """Maps a context to raw non-negative weights (normalized by the caller)."""
    needs_population: bool
    """Whether the scheme needs the population's correlation matrix."""
    description: str
    """One line for ``lm-eval-mtl weights list``."""
    params: tuple[str, ...] = ()
    """Names of the parameters the scheme reads from ``SchemeContext.params``."""


def _dist_prefix(dist_name: str) -> str:
    """``package`` part of a plugin's scheme names: the distribution name, normalized."""
    return re.sub(r"[-_.]+", "_", dist_name).lower()


class SchemeRegistry:
    """A typed name -> :class:`WeightingScheme` registry (after lm-eval's ``Registry``).

    Schemes come from three places: the built-ins, :func:`register_scheme` (at import
    time of the defining module), and installed distributions that declare entry points
    in the group ``entry_point_group`` (loaded once, lazily, by :meth:`load_plugins`).
    """

    def __init__(self, *, with_builtins: bool = False, entry_point_group: str = ENTRY_POINT_GROUP) -> None:
        """Create an empty registry (``with_builtins``: holding the built-in schemes).

        Args:
            with_builtins: Register the built-in schemes (``equal`` ... ``factor``).
            entry_point_group: Entry-point group that :meth:`load_plugins` reads.
        """
        self._schemes: dict[str, WeightingScheme] = {}
        self._origin: dict[str, str] = {}
        self._frozen = False
        self._group = entry_point_group
        self._plugins_loaded = False
        self._plugin_errors: tuple[str, ...] = ()
        if with_builtins:
            for scheme in _BUILTINS:
                self.register(scheme, builtin=True)

    def register(self, scheme: WeightingScheme, *, builtin: bool = False) -> WeightingScheme:
        """Add ``scheme``.

        Raises:
            MTLError: The name is taken, refused, malformed, lacks ``package/`` for a
                third-party scheme, or the registry is frozen.
        """
        return self._add(scheme, builtin=builtin, origin=None)

    def _add(self, scheme: WeightingScheme, *, builtin: bool, origin: str | None) -> WeightingScheme:
        name = scheme.name
        if self._frozen:
            raise MTLError(f"the weighting registry is frozen; cannot register {name!r}.")
        if not isinstance(name, str) or not name or name != name.strip() or " " in name:
            raise MTLError(f"weighting scheme names must be non-empty and without spaces; got {name!r}.")
        if name.lower() in REFUSED_SCHEMES:
            raise MTLError(f"{name!r} names a refused scheme and cannot be registered.")
        if not builtin and (name.count("/") != 1 or name.startswith("/") or name.endswith("/")):
            raise MTLError(f"third-party weighting schemes are named 'package/name'; got {name!r}.")
        if name in self._schemes:
            raise MTLError(
                f"weighting scheme {name!r} is already registered (by {self._describe(name)})"
                + (f"; distribution {origin!r} registers it again." if origin else ".")
            )
        self._schemes[name] = scheme
        if origin is not None:
            self._origin[name] = origin
        return scheme

    def _describe(self, name: str) -> str:
        if name in self._origin:
            return f"distribution {self._origin[name]!r}"
        fn = self._schemes[name].function
        return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', '?')}"

    def load_plugins(self) -> None:
        """Register the schemes of installed distributions' entry points (once).

        Each entry point of the group (``lm_eval_mtl.weighting``) must load to a
        :class:`WeightingScheme`. It is registered as ``<distribution>/<entry point name>``
        (the distribution name lowercased, runs of ``-_.`` as ``_``), or under the entry
        point's own name when that already reads ``package/name``. Every entry point is
        tried; the good ones stay registered. The entry points are read only on the first
        call; a failure is raised again by every later call.

        Raises:
            MTLError: A plugin failed to import, is not a :class:`WeightingScheme`, or
                its name is malformed or collides with a registered scheme; the message
                names the distribution of each.
        """
        if not self._plugins_loaded:
            self._plugins_loaded = True
            self._plugin_errors = tuple(self._load_entry_points())
        if self._plugin_errors:
            raise MTLError(
                f"weighting scheme plugins (entry-point group {self._group!r}) failed to load: "
                + "; ".join(self._plugin_errors)
            )

    def _load_entry_points(self) -> list[str]:
        from dataclasses import replace
        from importlib.metadata import entry_points

        errors: list[str] = []
        for ep in entry_points(group=self._group):
            dist = ep.dist.name if ep.dist is not None else "<unknown distribution>"
            where = f"entry point {ep.name!r} = {ep.value!r} of distribution {dist!r}"
            try:
                obj = ep.load()
            except Exception as exc:  # noqa: BLE001 - any import-time failure of third-party code
                errors.append(f"{where} raised {type(exc).__name__}: {exc}")
                continue
            if not isinstance(obj, WeightingScheme):
                errors.append(f"{where} is a {type(obj).__name__}, not a WeightingScheme")
                continue
            full = ep.name if "/" in ep.name else f"{_dist_prefix(dist)}/{ep.name}"
            try:
                self._add(replace(obj, name=full), builtin=False, origin=dist)
            except MTLError as exc:
                errors.append(f"{where}: {exc}")
        return errors

    def get(self, name: str) -> WeightingScheme:
        """Return the scheme called ``name``, loading the plugins first if it is not registered.

        Raises:
            RefusedSchemeError: ``gls`` / ``min_variance`` (the message says why).
            MTLError: ``name`` is not registered and a plugin failed to load (see
                :meth:`load_plugins`).
            UnknownNameError: No such scheme (close matches listed).
        """
        if isinstance(name, str) and name.lower() in REFUSED_SCHEMES:
            raise RefusedSchemeError(REFUSED_SCHEMES[name.lower()])
        if name not in self._schemes:
            self.load_plugins()
        if name not in self._schemes:
            raise unknown_name("weighting scheme", str(name), tuple(self._schemes))
        return self._schemes[name]

    def names(self) -> tuple[str, ...]:
        """Return every name (plugins loaded first), in registration order.

        Raises:
            MTLError: A plugin failed to load (see :meth:`load_plugins`).
        """
        self.load_plugins()
        return tuple(self._schemes)

    def __contains__(self, name: object) -> bool:
        """Whether ``name`` is registered now (this does not load plugins)."""
        return name in self._schemes

    def freeze(self) -> None:
        """Load the plugins, then refuse further registrations.

        Raises:
            MTLError: A plugin failed to load (the registry is frozen regardless).
        """
        try:
            self.load_plugins()
        finally:
            self._frozen = True

    def unregister(self, name: str) -> None:
        """Remove a third-party scheme (tests; built-ins cannot be removed).

        Raises:
            MTLError: ``name`` is a built-in scheme.
            UnknownNameError: ``name`` is not registered.
        """
        if name in _BUILTIN_NAMES:
            raise MTLError(f"built-in weighting scheme {name!r} cannot be unregistered.")
        if name not in self._schemes:
            raise unknown_name("weighting scheme", name, tuple(self._schemes))
        del self._schemes[name]
        self._origin.pop(name, None)


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


# ------------------------------------------------------------------ built-in schemes


def _equal(ctx: SchemeContext) -> FloatArray:
    return np.full(len(ctx.tasks), 1.0 / len(ctx.tasks))


def _structural(ctx: SchemeContext, scheme: str) -> FloatArray:
    from lm_eval_mtl.scoring.structural import structural_weights

    if ctx.spec is None:
        raise InsufficientDataError(f"`{scheme}` weights need a suite spec (`suite=`); got none.")
    if ctx.level != "member":
        raise InsufficientDataError(f"`{scheme}` weights need member-level tasks; these are families.")
    sizes = ctx.params.get("sizes")
    w = structural_weights(ctx.spec, scheme, sizes)
    missing = [t for t in ctx.tasks if t not in w]
    if missing:
        raise InsufficientDataError(f"tasks {', '.join(missing)} are not members of suite {ctx.spec.name!r}.")
    return np.array([w[t] for t in ctx.tasks])


def _family(ctx: SchemeContext) -> FloatArray:
    return _structural(ctx, "family")


def _size(ctx: SchemeContext) -> FloatArray:
    return _structural(ctx, "size")


def _need_corr(ctx: SchemeContext, name: str) -> FloatArray:
    if ctx.correlation is None:
        raise InsufficientDataError(f"`{name}` weights need a population (a correlation matrix); got none.")
    return ctx.correlation


def _redundancy(ctx: SchemeContext) -> FloatArray:
    r = _need_corr(ctx, "redundancy")
    out: FloatArray = 1.0 / np.sum(r**2, axis=1)
    return out


def _cluster_labels(r: FloatArray, threshold: float) -> npt.NDArray[np.int64]:
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    t = r.shape[0]
    if t == 1:
        return np.ones(1, dtype=np.int64)
    dist = 1.0 - np.abs(r)
    dist = (dist + dist.T) / 2.0
    np.fill_diagonal(dist, 0.0)
    dist = np.clip(dist, 0.0, None)
    z = linkage(squareform(dist, checks=False), method="average")
    return np.asarray(fcluster(z, t=threshold, criterion="distance"), dtype=np.int64)


def _cluster(ctx: SchemeContext) -> FloatArray:
    r = _need_corr(ctx, "cluster")
    threshold = float(ctx.params.get("threshold", DEFAULT_THRESHOLD))
    labels = _cluster_labels(r, threshold)
    uniq, counts = np.unique(labels, return_counts=True)
    size = dict(zip(uniq.tolist(), counts.tolist(), strict=True))
    return np.array([1.0 / (len(uniq) * size[int(c)]) for c in labels])


def _factor(ctx: SchemeContext) -> FloatArray:
    r = _need_corr(ctx, "factor")
    floor = float(ctx.params.get("uniqueness_floor", DEFAULT_UNIQUENESS_FLOOR))
    vals, vecs = np.linalg.eigh(r)
    lam, v = float(vals[-1]), vecs[:, -1]
    if len(vals) > 1 and lam - float(vals[-2]) <= 1e-8 * max(lam, 1.0):
        raise InsufficientDataError(
            "`factor` weights: the first factor is not identified (the two largest eigenvalues of the "
            f"shrunk correlation tie at {lam:.6g}; e.g. the correlation shrank to the identity)."
        )
    loadings = math.sqrt(max(lam, 0.0)) * v
    if loadings.sum() < 0:
        loadings = -loadings
    psi = np.maximum(1.0 - loadings**2, floor)
    raw = loadings / psi
    raw = raw / float(loadings @ (loadings / psi))
    clipped: FloatArray = np.clip(raw, 0.0, None)
    if not np.any(clipped > 0):
        raise InsufficientDataError(
            "`factor` weights: every Bartlett weight is <= 0; the first factor is degenerate."
        )
    return clipped


_BUILTINS: tuple[WeightingScheme, ...] = (
    WeightingScheme("equal", _equal, False, "w_t = 1/T"),
    WeightingScheme("family", _family, False, "1/F per family, equal within (needs a suite)"),
    WeightingScheme(
        "size", _size, False, "w_t proportional to items n_t (lm-eval's micro average)", ("sizes",)
    ),
    WeightingScheme(
        "redundancy",
        _redundancy,
        True,
        "w_t proportional to 1/sum_j r_tj^2, r = Ledoit-Wolf-shrunk correlation over a population",
    ),
    WeightingScheme(
        "cluster",
        _cluster,
        True,
        "average-linkage on 1-|r| cut at a threshold; equal per cluster, equal within",
        ("threshold",),
    ),
    WeightingScheme(
        "factor",
        _factor,
        True,
        "first-principal-component loadings -> Bartlett factor-score weights, clipped at 0",
        ("uniqueness_floor",),
    ),
)
_BUILTIN_NAMES = frozenset(s.name for s in _BUILTINS)
scheme_registry = SchemeRegistry(with_builtins=True)
"""The process-wide registry of weighting schemes (built-ins, then third-party)."""


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


# ------------------------------------------------------------------ diagnostics


@dataclass(frozen=True)
class Diagnostics:
    """How a set of weights behaves on a population."""

    delta: float
    """Ledoit-Wolf shrinkage intensity of the correlation."""
    nyholt: float
    """Effective number of tasks, Nyholt (2004), of the shrunk correlation."""
    li_ji: float
    """Effective number of tasks, Li and Ji (2005), of the shrunk correlation."""
    kendall_tau: float
    """Kendall tau-b between the composite under the weights and under equal weights
    (equal over the keys: families for a family-level population)."""
    max_rank_change: int
    """Largest change of any model's rank (1 = best, ties share the lowest rank)
    when any single weight is halved or doubled and the weights renormalized."""
    max_rank_change_at: str
    """Which perturbation gave it (``task x0.5`` or ``task x2``)."""


def _ranks(c: FloatArray) -> npt.NDArray[np.int64]:
    from scipy.stats import rankdata

    return np.asarray(rankdata(-c, method="min", axis=0), dtype=np.int64)


def diagnose(
    z: FloatArray, weights: FloatArray, tasks: Sequence[str], delta: float, r: FloatArray
) -> Diagnostics:
    """Diagnostics of ``weights`` on the complete score matrix ``z`` (models x tasks).

    The perturbed composites are computed all at once: halving or doubling w_t
    and renormalizing gives ``(C + (f - 1) w_t z_t) / (1 + (f - 1) w_t)``.
    """
    from scipy.stats import kendalltau

    from lm_eval_mtl.stats.effective import effective_number

    eff = effective_number(r)
    base = z @ weights
    equal = z @ np.full(z.shape[1], 1.0 / z.shape[1])
    tau = float(kendalltau(base, equal).statistic) if z.shape[0] >= 2 else math.nan
    factors = np.array([0.5, 2.0])
    # shape (n, T, 2)
    g = (factors - 1.0)[None, None, :] * weights[None, :, None]
    pert = (base[:, None, None] + g * z[:, :, None]) / (1.0 + g)
    flat = pert.reshape(z.shape[0], -1)
    change = np.abs(_ranks(flat) - _ranks(base)[:, None])
    worst = int(change.max()) if change.size else 0
    col = int(np.argmax(change.max(axis=0))) if change.size else 0
    t, f = divmod(col, 2)
    at = f"{tasks[t]} x{'0.5' if f == 0 else '2'}" if change.size else ""
    return Diagnostics(
        delta=delta,
        nyholt=eff.nyholt,
        li_ji=eff.li_ji,
        kendall_tau=tau,
        max_rank_change=worst,
        max_rank_change_at=at,
    )


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
