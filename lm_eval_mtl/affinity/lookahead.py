"""The exact TAG lookahead: the targets' losses after one step along a source's mean gradient.

For a source s with exact mean loss gradient g_s on the chosen parameters theta_P (from the
gradient pass, all-reduced over processes), the step is

    theta_P' = theta_P - eta_s * g_s,      eta_s = epsilon * |theta_P| / |g_s|,

so every source moves the chosen parameters by the same distance (epsilon times their norm).
The targets' requests are then scored at theta' (:func:`score_batches`, ``torch.no_grad``): the
token ids lm-eval scored, batched as lm-eval's ``_loglikelihood_tokens`` batches them, the same
``log_softmax`` and continuation slicing, and, where the frozen prefix's activations are cached
(:mod:`~lm_eval_mtl.affinity.replay`), only the moved suffix re-run; their losses are formed as in
the gradient pass, and the parameters restored bit for bit from a saved copy. The update is
computed in float32 and rounded to the weights' dtype (a bfloat16 model's step is rounded to
bfloat16).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.affinity.params import ChosenParameters
from lm_eval_mtl.affinity.replay import Batch, Suffix, autocast, forward_rows, model_kwargs, request_ll

__all__ = ["moved_parameters", "score_batches"]


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


def score_batches(
    lm: Any,
    model: Any,
    suffix: Suffix | None,
    tasks: Sequence[Sequence[Batch]],
    bounds: Sequence[int] | npt.NDArray[np.int64],
) -> npt.NDArray[np.float64]:
    """Log-likelihood of every request of every task at the current parameters.

    Args:
        lm: The lm-eval backend (device, autocast, ``softmax_dtype``).
        model: Its torch module.
        suffix: The cached suffix (:func:`~lm_eval_mtl.affinity.replay.cache_prefix`), or None.
        tasks: Per task, its batches.
        bounds: (n_tasks + 1,) offsets of each task's requests in the result.

    Returns:
        (bounds[-1],) float64 log-likelihoods, task after task, in request order.
    """
    import torch

    device = lm.device if isinstance(lm.device, torch.device) else torch.device(str(lm.device))
    softmax_dtype = getattr(lm, "softmax_dtype", None)
    extra = model_kwargs(model)
    out = np.zeros(int(bounds[-1]), dtype=np.float64)
    with torch.no_grad(), autocast(lm, device):
        for offset, batches in zip(bounds[:-1], tasks, strict=True):
            for batch in batches:
                ll = request_ll(forward_rows(model, suffix, batch, extra), batch, softmax_dtype)
                out[int(offset) + batch.requests] = ll.double().cpu().numpy()
    return out
