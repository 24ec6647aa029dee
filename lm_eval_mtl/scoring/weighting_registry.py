"""The typed registry of weighting schemes by name, with third-party schemes by entry point.

It holds the built-in schemes (:mod:`lm_eval_mtl.scoring.weighting_schemes`) and refuses
``gls`` / ``min_variance`` (see :class:`RefusedSchemeError`).

Third-party schemes register under ``package/name`` (a slash is required
outside this package), like inspect_ai's registry names: at import time with
:func:`~lm_eval_mtl.scoring.weighting.register_scheme`, or, without importing anything,
through the entry-point group ``lm_eval_mtl.weighting`` (:data:`ENTRY_POINT_GROUP`).
Entry points are loaded lazily, the first time a name that is not registered is asked
for or the list of names is needed; see :meth:`SchemeRegistry.load_plugins`. The
process-wide registry is :data:`lm_eval_mtl.scoring.weighting.scheme_registry`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from lm_eval_mtl.errors import MTLError, RefusedSchemeError, unknown_name
from lm_eval_mtl.scoring.weighting_schemes import _BUILTIN_NAMES, _BUILTINS, WeightingScheme

__all__ = ["ENTRY_POINT_GROUP", "REFUSED_SCHEMES", "SchemeRegistry"]

ENTRY_POINT_GROUP = "lm_eval_mtl.weighting"
"""Entry-point group of third-party weighting schemes (each entry point: a :class:`WeightingScheme`)."""

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
