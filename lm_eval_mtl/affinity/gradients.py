"""The two passes over a task's requests: lm-eval's log-likelihoods, then the gradient pass.

:func:`score_requests` is lm-eval's own ``loglikelihood`` on the requests (its tokenizer, its
``_encode_pair``, its batching, ``torch.no_grad``); it also records the token ids lm-eval fed
to ``_loglikelihood_tokens``, so that the gradient pass sees exactly the same (context,
continuation) encodings.

:func:`gradient_pass` then runs the model again with gradients on the chosen parameters: the
same left-truncated inputs, right padding (lm-eval's ``pad_and_concat``), lm-eval's
``Collator`` order and batch size, the same ``log_softmax`` and ``_select_cont_toks`` slicing as
``HFLM._loglikelihood_tokens``. Each batch's backward pass is of ``sum_r w_r * ll_r`` with
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

from lm_eval_mtl.affinity.guards import call_guarded, lm_eval_internal
from lm_eval_mtl.affinity.params import ChosenParameters
from lm_eval_mtl.affinity.projection import GradientProjector

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


def _autocast(lm: Any, device: Any) -> Any:
    import torch

    dtype = getattr(lm, "mixed_precision_dtype", None)
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None)


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
) -> GradientPass:
    """Projected per-item loss gradients and the summed weight gradients of some items.

    Args:
        lm: The lm-eval backend (``max_length``, ``device``, ``_select_cont_toks``).
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

    Returns:
        The :class:`GradientPass`.
    """
    import torch
    import torch.nn.functional as F

    collator_cls = lm_eval_internal("lm_eval.models.utils:Collator")
    pad_and_concat = lm_eval_internal(
        "lm_eval.models.utils_hf:pad_and_concat", "lm_eval.models.utils:pad_and_concat"
    )
    device = lm.device if isinstance(lm.device, torch.device) else torch.device(str(lm.device))
    max_length = int(lm.max_length)
    softmax_dtype = getattr(lm, "softmax_dtype", None)
    features = torch.zeros(n_items, projector.dim, dtype=torch.float64, device=device)
    sums = [torch.zeros_like(layer.weight, dtype=torch.float32) for layer in chosen.layers]
    reqs = [(i, list(e.context), list(e.continuation)) for i, e in enumerate(encodings)]

    def sort_key(req: tuple[int, list[int], list[int]]) -> tuple[int, tuple[int, ...]]:
        toks = req[1] + req[2]
        return -len(toks), tuple(toks)

    batches = collator_cls(reqs, sort_fn=sort_key, group_by=None).get_batched(n=batch_size)
    gap = 0.0
    item_index = torch.as_tensor(np.asarray(item_of_request, dtype=np.int64), device=device)
    for chunk in batches:
        inps, inplens = [], []
        for _, ctx, cont in chunk:
            inp = torch.tensor((ctx + cont)[-(max_length + 1) :][:-1], dtype=torch.long, device=device)
            inps.append(inp)
            inplens.append(int(inp.shape[0]))
        padding_len = max(inplens)
        batched = pad_and_concat(padding_len, inps, padding_side="right")
        seq_idx: list[int] = []
        pos_idx: list[int] = []
        spans: list[tuple[int, int]] = []
        for b, (_, _, cont) in enumerate(chunk):
            end = inplens[b]
            start = end - len(cont)
            spans.append((start, end))
            seq_idx += [b] * len(cont)
            pos_idx += list(range(start, end))
        positions = (
            torch.as_tensor(seq_idx, dtype=torch.long, device=device),
            torch.as_tensor(pos_idx, dtype=torch.long, device=device),
        )
        projector.begin_batch(len(chunk), positions, device)
        with torch.enable_grad(), _autocast(lm, device):
            logits = model(batched).logits
            logp = F.log_softmax(logits, dim=-1, dtype=softmax_dtype)
            total: Any = logp.new_zeros((), dtype=torch.float32)
            lls = []
            for b, (idx, _, cont) in enumerate(chunk):
                ctx_len = inplens[b] + (logp.shape[1] - padding_len)
                sel = lm._select_cont_toks(logp[b], contlen=len(cont), inplen=ctx_len)
                target = torch.tensor(cont, dtype=torch.long, device=device)
                ll_b = sel.gather(1, target[:, None]).sum().float()
                lls.append(ll_b.detach())
                total = total + float(weights[idx]) * ll_b
        total.backward()
        feats = projector.batch_features()
        rows = item_index[[idx for idx, _, _ in chunk]]
        features.index_add_(0, rows, feats.double())
        for s, layer in zip(sums, chosen.layers, strict=True):
            grad = layer.weight.grad
            if grad is not None:
                s += grad.float()
            layer.weight.grad = None
        for (idx, _, _), ll_b in zip(chunk, lls, strict=True):
            gap = max(gap, abs(float(ll_b) - float(reference_ll[idx])))
        if progress is not None:
            progress.update(len(chunk))
    return GradientPass(
        features=features.cpu().numpy(),
        grad_sum=tuple(sums),
        max_ll_gap=gap if math.isfinite(gap) else math.inf,
    )
