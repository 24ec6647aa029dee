"""Weight resolution: one resolver for structural schemes and frozen weights files, and population percentiles."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.suites.spec import SuiteSpec

if TYPE_CHECKING:
    from lm_eval_mtl.scoring.weights_file import WeightsFile

from lm_eval_mtl.scoring.types import WeightsInfo

FloatArray = npt.NDArray[np.float64]
MissingPolicy = Literal["error", "drop"]
CompositeMethod = Literal["analytic", "percentile", "bca"]
_CORPUS_METRICS = ("bleu", "chrf", "chrf++", "ter")
_CHOICE_METRICS = ("acc", "acc_norm")


__all__ = ["resolve", "percentile_for", "structural_hash"]


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
