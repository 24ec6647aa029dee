"""Weight resolution: one resolver for structural schemes and frozen weights files, and population percentiles.

:func:`resolve` turns a weights name (``equal``, ``family``, ``size``, a shipped weights id
or a weights file) into member weights over the whole suite; :func:`kept_weights`
restricts them to the members a run kept and renormalizes them to sum to 1. The plugin's
table row, ``report``, ``compare`` and ``transfer`` all call these two.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.suites.spec import SuiteSpec

if TYPE_CHECKING:
    from lm_eval_mtl.scoring.weights_file import WeightsFile

from lm_eval_mtl.scoring.types import WeightsInfo

__all__ = ["ResolvedWeights", "kept_weights", "percentile_for", "resolve", "structural_hash"]


@dataclass(frozen=True)
class ResolvedWeights:
    """The weights a composite uses: per kept member (summing to 1), and where they came from."""

    weights: Mapping[str, float]
    """Member label -> weight, over the members kept (non-negative, summing to 1)."""
    info: WeightsInfo
    """Scheme, id and hash (of the whole suite's weights, before any drop)."""
    file: WeightsFile | None
    """The frozen weights file, for non-structural weights."""


def structural_hash(weights: Mapping[str, float]) -> str:
    """sha256 of the canonical JSON of structural member weights."""
    canonical = json.dumps({k: float(v) for k, v in weights.items()}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def resolve(
    suite: SuiteSpec, weights: str | None, sizes: Mapping[str, int]
) -> tuple[dict[str, float], WeightsInfo, WeightsFile | None]:
    """Member weights (whole suite; ``size``: members in ``sizes``), their description and file.

    Raises:
        IncompatibleWeightsError: A weights file for another suite or version.
        UnknownNameError: Not a structural scheme, a shipped id or a file.
    """
    from lm_eval_mtl.scoring.structural import STRUCTURAL_SCHEMES, structural_weights

    name = weights or suite.weights
    if name in STRUCTURAL_SCHEMES:
        if name == "size":
            # size weights exist only for the members present (their item counts)
            from dataclasses import replace

            sub = replace(suite, members=tuple(m for m in suite.members if m.label in sizes))
            w = structural_weights(sub, name, sizes)
        else:
            w = structural_weights(suite, name)
        return w, WeightsInfo(scheme=name, id=name, sha256=structural_hash(w)), None
    from lm_eval_mtl.scoring.weights_file import load_weights

    wf = load_weights(name)
    w = wf.member_weights(suite)  # checks suite, version and keys
    return w, WeightsInfo(scheme=wf.scheme, id=wf.id, sha256=wf.sha256), wf


def kept_weights(
    suite: SuiteSpec, weights: str | None, kept: Sequence[str], sizes: Mapping[str, int]
) -> ResolvedWeights:
    """Resolve ``weights`` over the whole suite, then restrict them to ``kept`` and renormalize.

    Args:
        suite: The suite.
        weights: Weights name or file; default: the suite's own.
        kept: Labels of the members present, in suite order.
        sizes: Items per kept member (for ``size`` weights).

    Raises:
        InsufficientDataError: Every kept member has weight 0.
        IncompatibleWeightsError: A weights file for another suite or version.
        UnknownNameError: Not a structural scheme, a shipped id or a file.
    """
    full, info, wf = resolve(suite, weights, sizes)
    total = math.fsum(full[label] for label in kept)
    if not total > 0:
        raise InsufficientDataError(
            f"the members present ({', '.join(kept)}) all have weight 0 under {info.id!r}."
        )
    return ResolvedWeights({label: full[label] / total for label in kept}, info, wf)


def percentile_for(
    suite: SuiteSpec, info: WeightsInfo, wf: WeightsFile | None, value: float
) -> tuple[float | None, str | None]:
    """Percentile of ``value`` in a shipped reference population of this suite, when one exists."""
    from lm_eval_mtl.scoring import weights_file as wmod

    candidates: list[tuple[WeightsFile, str]] = []
    if wf is not None:
        candidates.append((wf, "fitted"))
    elif info.scheme == "equal":
        for wid in wmod.list_shipped_weights():
            try:
                other = wmod.load_weights(wid)
            except (wmod.WeightsFormatError, KeyError):
                continue
            if other.suite == suite.name and other.suite_version == suite.version:
                candidates.append((other, "equal"))
    for source, which in candidates:
        table = source.percentiles.get(which)
        if table is None:
            continue
        pop = source.population
        ref = f"{source.id} population ({which} weights"
        if pop is not None:
            ref += f"; {pop.source}, {pop.n_models} models, {pop.date}"
        return wmod.percentile(value, table), ref + ")"
    return None, None
