"""Chance normalization: the one formula every path uses (the plugin's row, report, compare, transfer).

    z = (x - c) / (u - c),   se(z) = se(x) / (u - c)

c is the chance level (the expected metric of a random guesser), u the ceiling (1 for
accuracies, 100 for BLEU/chrF). Not clipped: a model below chance scores below 0.
"""

from __future__ import annotations

__all__ = ["normalize", "normalize_se"]


def normalize(x: float, chance: float, ceiling: float) -> float:
    """Chance-normalize a raw metric: ``(x - chance) / (ceiling - chance)``, not clipped.

    Raises:
        ValueError: ``ceiling`` is not above ``chance``.
    """
    if not ceiling > chance:
        raise ValueError(f"`ceiling` must exceed `chance`; got chance={chance}, ceiling={ceiling}.")
    return (x - chance) / (ceiling - chance)


def normalize_se(se: float, chance: float, ceiling: float) -> float:
    """Return the standard error of a normalized score: ``se / (ceiling - chance)``.

    Raises:
        ValueError: ``ceiling`` is not above ``chance``.
    """
    if not ceiling > chance:
        raise ValueError(f"`ceiling` must exceed `chance`; got chance={chance}, ceiling={ceiling}.")
    return se / (ceiling - chance)
