"""The typed options of a gradient-affinity run, validated once before any work.

* :class:`ParameterSubset`: where the gradient is taken: the output head and the linear maps
  of the last ``blocks`` transformer blocks (docs/affinity.md, "Which parameters").
* :class:`AffinityOptions`: the subset, the projection dimension, the lookahead step and mode,
  and the resampling settings.

:func:`check_options` refuses a bad value with one line naming the option, the contract and what
was received.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from lm_eval_mtl.errors import MTLError

__all__ = ["LOOKAHEAD_MODES", "AffinityOptions", "LookaheadMode", "ParameterSubset", "check_options"]

LookaheadMode = Literal["exact", "first-order"]
"""``exact``: the TAG lookahead with one extra forward pass per source; ``first-order``: only the
first-order approximation (no extra passes)."""
LOOKAHEAD_MODES: tuple[LookaheadMode, ...] = ("exact", "first-order")


@dataclass(frozen=True)
class ParameterSubset:
    """The parameters whose gradient is taken (and that the TAG lookahead moves)."""

    blocks: int = 1
    """The weights of every linear map in the last ``blocks`` transformer blocks (0: none)."""
    head: bool = True
    """The output head (the unembedding). A head tied to the input embeddings is untied for the
    measurement, so that its gradient and its update concern the output use only."""

    def describe(self) -> str:
        """Say in words which parameters these are."""
        parts = []
        if self.head:
            parts.append("output head")
        if self.blocks:
            parts.append(f"linear weights of the last {self.blocks} block" + ("s" if self.blocks > 1 else ""))
        return " + ".join(parts)


@dataclass(frozen=True)
class AffinityOptions:
    """Everything that decides the numbers of a run, besides the model and the tasks."""

    parameters: ParameterSubset = field(default_factory=ParameterSubset)
    """Where the gradient is taken."""
    proj_dim: int = 2048
    """Target dimension d of the projected per-item gradients (split over the chosen layers)."""
    step: float = 0.01
    """Relative lookahead step epsilon: the update moves the chosen parameters by epsilon times
    their norm, along minus the source's mean gradient (eta_s = epsilon * |theta| / |g_s|)."""
    lookahead: LookaheadMode = "exact"
    """Whether to run the exact TAG lookahead passes."""
    confidence_level: float = 0.95
    """Level of every interval."""
    n_resamples: int = 2000
    """Bootstrap resamples over items."""
    n_splits: int = 100
    """Random half splits behind the split-half reliabilities."""
    seed: int = 0
    """Seed of the projection, the bootstrap and the splits (same seed: same numbers)."""


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def check_options(options: AffinityOptions) -> AffinityOptions:
    """Validate ``options``; return them unchanged.

    Raises:
        MTLError: A value outside its domain (one line naming it).
    """
    p = options.parameters
    if not _is_int(p.blocks) or p.blocks < 0:
        raise MTLError(f"`blocks` must be a non-negative integer; got {p.blocks!r}.")
    if not isinstance(p.head, bool):
        raise MTLError(f"`head` must be True or False; got {p.head!r}.")
    if p.blocks == 0 and not p.head:
        raise MTLError("the parameter subset is empty: give `blocks` >= 1 or keep the head (`head=True`).")
    if not _is_int(options.proj_dim) or options.proj_dim < 1:
        raise MTLError(f"`proj_dim` must be a positive integer; got {options.proj_dim!r}.")
    if (
        not isinstance(options.step, (int, float))
        or not math.isfinite(options.step)
        or not 0 < options.step <= 1
    ):
        raise MTLError(f"`step` must be a number in (0, 1]; got {options.step!r}.")
    if options.lookahead not in LOOKAHEAD_MODES:
        raise MTLError(f"`lookahead` must be one of {', '.join(LOOKAHEAD_MODES)}; got {options.lookahead!r}.")
    level = options.confidence_level
    if not isinstance(level, (int, float)) or not 0 < level < 1:
        raise MTLError(f"`confidence_level` must be in (0, 1); got {level!r}.")
    if not _is_int(options.n_resamples) or options.n_resamples < 1:
        raise MTLError(f"`n_resamples` must be a positive integer; got {options.n_resamples!r}.")
    if not _is_int(options.n_splits) or options.n_splits < 1:
        raise MTLError(f"`n_splits` must be a positive integer; got {options.n_splits!r}.")
    if not _is_int(options.seed) or options.seed < 0:
        raise MTLError(f"`seed` must be a non-negative integer; got {options.seed!r}.")
    return options
