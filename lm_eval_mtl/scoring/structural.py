"""Structural weights (no population needed) and resolution of a suite's default weights.

* ``equal``: w_t = 1/T.
* ``family``: each family gets 1/F, split equally among its members.
* ``size``: w_t proportional to the number of items n_t (lm-eval's micro average).

Any other name is a frozen weights id or file, loaded by
:func:`lm_eval_mtl.scoring.weights_file.load_weights`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.suites import SuiteSpec

__all__ = ["STRUCTURAL_SCHEMES", "resolve_weights", "structural_weights"]

STRUCTURAL_SCHEMES: tuple[str, ...] = ("equal", "family", "size")


def structural_weights(
    spec: SuiteSpec, scheme: str, sizes: Mapping[str, int] | None = None
) -> dict[str, float]:
    """Weights per member label for a structural scheme.

    Args:
        spec: The suite.
        scheme: ``equal``, ``family`` or ``size``.
        sizes: Items per member label; required for ``size``.

    Returns:
        Non-negative weights summing to 1, keyed by member label, in member order.

    Raises:
        ValueError: Unknown scheme.
        InsufficientDataError: ``size`` without a positive size for every member.
    """
    labels = spec.labels
    if scheme == "equal":
        return {label: 1.0 / len(labels) for label in labels}
    if scheme == "family":
        fam = [m.family for m in spec.members]
        per_family = Counter(fam)
        n_fam = len(per_family)
        return {m.label: 1.0 / (n_fam * per_family[m.family]) for m in spec.members}
    if scheme == "size":
        if sizes is None:
            raise InsufficientDataError("`size` weights need the number of items of every task; got none.")
        missing = [label for label in labels if not sizes.get(label)]
        if missing:
            raise InsufficientDataError(
                f"`size` weights need a positive item count for every member; missing or 0 for {', '.join(missing)}."
            )
        total = float(sum(sizes[label] for label in labels))
        return {label: sizes[label] / total for label in labels}
    raise ValueError(f"`scheme` must be one of {', '.join(STRUCTURAL_SCHEMES)}; got {scheme!r}.")


def resolve_weights(
    spec: SuiteSpec, weights: str | None = None, sizes: Mapping[str, int] | None = None
) -> dict[str, float]:
    """Weights per member label for ``weights`` (default: the suite's own default).

    Structural names are computed; anything else is loaded as a frozen weights
    id or path and checked against the suite.

    Raises:
        IncompatibleWeightsError: The weights file is for another suite or lacks a member.
    """
    from lm_eval_mtl.scoring.weights import resolve

    return resolve(spec, weights, sizes or {})[0]
