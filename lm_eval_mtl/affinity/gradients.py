"""The two passes over a task's requests: lm-eval's log-likelihoods, then the gradient pass.

:func:`score_requests` is lm-eval's own ``loglikelihood`` on the requests (its tokenizer, its
``_encode_pair``, its batching, ``torch.no_grad``); it also records the token ids lm-eval fed
to ``_loglikelihood_tokens``, so that the gradient pass sees exactly the same (context,
continuation) encodings.

:func:`gradient_pass` then runs the model again with gradients on the chosen parameters: the
same left-truncated inputs, right padding (lm-eval's ``pad_and_concat``), lm-eval's
``Collator`` order and batch size, the same ``log_softmax`` and continuation slicing as
``HFLM._loglikelihood_tokens`` (:mod:`~lm_eval_mtl.affinity.replay`); where the frozen prefix's
activations are cached, only the chosen suffix runs, from them, with the final norm and the head
on the scored positions. Each batch's backward pass is of ``sum_r w_r * ll_r`` with
``w_r = d loss_item / d ll_r``, so that the projected gradient of each sequence, added to its
item's row, gives the item's projected loss gradient; the chosen weights' ``.grad`` is moved
into float32 sums after every batch (the exact mean gradient, for the lookahead). Memory is
bounded by one batch: no per-item full gradient is kept.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.affinity.guards import call_guarded
from lm_eval_mtl.affinity.params import ChosenParameters
from lm_eval_mtl.affinity.projection import GradientProjector
from lm_eval_mtl.affinity.replay import (
    Batch,
    Suffix,
    autocast,
    collate,
    forward_rows,
    model_kwargs,
    request_ll,
)

__all__ = ["EncodedRequest", "GradientPass", "gradient_pass", "score_requests"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class EncodedRequest:
    """One (context, continuation) pair as lm-eval encoded it."""

    context: tuple[int, ...]
    """Context token ids."""
    continuation: tuple[int, ...]
    """Continuation token ids."""


@dataclass(frozen=True)
class GradientPass:
    """What the gradient pass over some items returns."""

    features: FloatArray
    """(n_items, d) projected per-item loss gradients."""
    grad_sum: tuple[Any, ...]
    """Per chosen layer, the float32 sum over these items of the loss gradient of its weight."""
    max_ll_gap: float
    """Largest |ll (this pass) - ll (lm-eval's pass)| over the requests (a consistency check)."""
    ll: FloatArray
    """(n_requests,) this pass's log-likelihoods (at theta, computed as the lookahead computes them)."""


def score_requests(
    lm: Any, instances: Sequence[Any], *, record: bool = False
) -> tuple[FloatArray, list[EncodedRequest]]:
    """lm-eval's log-likelihood of each request; with ``record``, also the token ids it scored.

    Args:
        lm: The lm-eval backend.
        instances: ``loglikelihood`` Instances.
        record: Capture the encodings lm-eval passes to ``_loglikelihood_tokens``.

    Returns:
        (log-likelihoods, encodings) -- the encodings list is empty without ``record``.
    """
    if not instances:
        return np.zeros(0), []
    captured: list[Any] = []
    shadowed = "_loglikelihood_tokens" in vars(lm)
    previous = vars(lm).get("_loglikelihood_tokens")
    if record:
        original = lm._loglikelihood_tokens

        def recording(requests: Any, *args: Any, **kwargs: Any) -> Any:
            captured.extend(requests)
            return original(requests, *args, **kwargs)

        lm._loglikelihood_tokens = recording
    try:
        out = call_guarded(lm.loglikelihood, "LM.loglikelihood", list(instances), disable_tqdm=True)
    finally:
        if record:
            if shadowed:
                lm._loglikelihood_tokens = previous
            else:
                del lm._loglikelihood_tokens
    ll = np.asarray([float(x[0]) for x in out], dtype=np.float64)
    encodings = [EncodedRequest(tuple(int(t) for t in r[1]), tuple(int(t) for t in r[2])) for r in captured]
    if record and len(encodings) != len(instances):
        from lm_eval_mtl.errors import MTLError

        raise MTLError(
            f"lm-eval scored {len(instances)} requests but passed {len(encodings)} to _loglikelihood_tokens; "
            "this backend's loglikelihood is not supported by affinity."
        )
    return ll, encodings


def gradient_pass(
    lm: Any,
    model: Any,
    encodings: Sequence[EncodedRequest],
    weights: FloatArray,
    item_of_request: IntArray,
    n_items: int,
    chosen: ChosenParameters,
    projector: GradientProjector,
    *,
    batch_size: int,
    reference_ll: FloatArray,
    progress: Any = None,
    batches: Sequence[Batch] | None = None,
    suffix: Suffix | None = None,
) -> GradientPass:
    """Projected per-item loss gradients and the summed weight gradients of some items.

    Args:
        lm: The lm-eval backend (``max_length``, ``device``, ``softmax_dtype``).
        model: Its torch module.
        encodings: Token ids per request.
        weights: (n_requests,) d loss_item / d ll_request.
        item_of_request: (n_requests,) the item (row of the result) of each request.
        n_items: Rows of the result.
        chosen: The parameter subset (inside its scope).
        projector: The projector (hooks attached).
        batch_size: Sequences per batch.
        reference_ll: lm-eval's log-likelihoods of the same requests (for the consistency check).
        progress: A tqdm bar to advance by the number of requests, or None.
        batches: The encodings already batched by :func:`~lm_eval_mtl.affinity.replay.collate`
            (None: batch them here).
        suffix: With batches whose prefix is cached, the suffix to run from the cache (None:
            the whole model).

    Returns:
        The :class:`GradientPass`.
    """
    import torch

    device = lm.device if isinstance(lm.device, torch.device) else torch.device(str(lm.device))
    softmax_dtype = getattr(lm, "softmax_dtype", None)
    if batches is None:
        batches = collate(lm, encodings, batch_size, device)
    extra = model_kwargs(model)
    features = torch.zeros(n_items, projector.dim, dtype=torch.float64, device=device)
    sums = [torch.zeros_like(layer.weight, dtype=torch.float32) for layer in chosen.layers]
    gap = 0.0
    item_index = torch.as_tensor(np.asarray(item_of_request, dtype=np.int64), device=device)
    w_all = np.asarray(weights, dtype=np.float64)
    ll_out = np.zeros(len(encodings), dtype=np.float64)
    for batch in batches:
        projector.begin_batch(len(batch.requests), (batch.seq, batch.pos), device)
        with torch.enable_grad(), autocast(lm, device):
            rows = forward_rows(model, suffix, batch, extra)
            ll = request_ll(rows, batch, softmax_dtype)
            w = torch.as_tensor(w_all[batch.requests], dtype=ll.dtype, device=device)
            total = (w * ll).sum()
        total.backward()
        feats = projector.batch_features()
        rows_idx = item_index[torch.as_tensor(batch.requests, device=device)]
        features.index_add_(0, rows_idx, feats.double())
        for s, layer in zip(sums, chosen.layers, strict=True):
            grad = layer.weight.grad
            if grad is not None:
                s += grad.float()
            layer.weight.grad = None
        ll_out[batch.requests] = ll.detach().double().cpu().numpy()
        diff = np.abs(ll_out[batch.requests] - np.asarray(reference_ll, dtype=np.float64)[batch.requests])
        gap = max(gap, float(diff.max()) if diff.size else 0.0)
        if progress is not None:
            progress.update(len(batch.requests))
    return GradientPass(
        features=features.cpu().numpy(),
        grad_sum=tuple(sums),
        max_ll_gap=gap if math.isfinite(gap) else math.inf,
        ll=ll_out,
    )
