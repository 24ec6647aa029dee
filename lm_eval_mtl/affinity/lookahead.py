"""The exact TAG lookahead: the targets' losses after one step along a source's mean gradient.

For a source s with exact mean loss gradient g_s on the chosen parameters theta_P (from the
gradient pass, all-reduced over processes), the step is

    theta_P' = theta_P - eta_s * g_s,      eta_s = epsilon * |theta_P| / |g_s|,

so every source moves the chosen parameters by the same distance (epsilon times their norm).
The targets' items are then scored by lm-eval's own ``loglikelihood`` (one batched forward
pass per source over the targets' requests, ``torch.no_grad``), their losses formed as in the
gradient pass, and the parameters restored bit for bit from a saved copy. The update is
computed in float32 and rounded to the weights' dtype (a bfloat16 model's step is rounded to
bfloat16).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from lm_eval_mtl.affinity.params import ChosenParameters

__all__ = ["moved_parameters"]


@contextmanager
def moved_parameters(chosen: ChosenParameters, direction: Sequence[Any], eta: float) -> Iterator[None]:
    """Within the block, the chosen weights are ``w - eta * direction``; afterwards they are restored exactly.

    Args:
        chosen: The parameter subset (inside its scope).
        direction: Per chosen layer, a float32 tensor shaped like its weight (the mean gradient).
        eta: Step size.
    """
    import torch

    saved = [layer.weight.detach().clone() for layer in chosen.layers]
    try:
        with torch.no_grad():
            for layer, g, w0 in zip(chosen.layers, direction, saved, strict=True):
                layer.weight.copy_((w0.float() - eta * g).to(w0.dtype))
        yield
    finally:
        with torch.no_grad():
            for layer, w0 in zip(chosen.layers, saved, strict=True):
                layer.weight.copy_(w0)
