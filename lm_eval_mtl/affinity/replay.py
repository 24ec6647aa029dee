"""Scored batches, and the frozen prefix's activations cached once so that passes re-run only the suffix.

Only the chosen parameters (the head and the last ``blocks`` blocks) are differentiated and
moved by the lookahead, so everything up to the first chosen module -- the embeddings and the
earlier blocks -- computes the same activations in every pass. :func:`cache_prefix` runs every
request once through the model (``torch.no_grad``, lm-eval's token ids, lm-eval's ``Collator``
order and ``pad_and_concat`` right padding, as :func:`collate` batches them) and keeps, per batch,
what enters the first chosen module: the hidden states and the other arguments of every chosen
block (attention mask, positions, rotary embeddings, ...), up to a memory budget. The gradient
pass and every lookahead pass then run only the **suffix**: the chosen blocks with those
arguments, the final norm and the head, the last two on the scored (continuation) positions
only.

Recognised structure (otherwise every pass runs the whole model, as before): the head is
``model.get_output_embeddings()``; with ``blocks > 0`` the blocks are :func:`find_blocks`'s
``nn.ModuleList`` and the final norm is the one child of the module holding that list named
``ln_f``, ``norm``, ``final_layernorm`` or ``final_layer_norm`` (GPT-2, GPT-J, GPT-NeoX, Llama,
Mistral, Qwen, Phi, OPT's decoder, Falcon, ...); the config sets no logit post-processing
(softcapping, logit scaling). The first batch checks the structure: its logits from the suffix
must equal the whole model's to float rounding, or the run falls back to whole-model passes.
Batches beyond the budget (:data:`CACHE_ENV`, MiB, default 1024) run the whole model.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from lm_eval_mtl.affinity.guards import lm_eval_internal
from lm_eval_mtl.affinity.params import find_blocks

__all__ = [
    "CACHE_ENV",
    "Batch",
    "Suffix",
    "cache_prefix",
    "collate",
    "find_suffix",
    "forward_rows",
    "request_ll",
]

CACHE_ENV = "LM_EVAL_MTL_AFFINITY_CACHE_MB"
"""Environment variable: MiB of cached prefix activations (0: no cache, every pass runs the whole model)."""
_DEFAULT_CACHE_MB = 1024
_NORM_NAMES = ("ln_f", "norm", "final_layernorm", "final_layer_norm")
_LOGIT_POSTPROCESSING = ("final_logit_softcapping", "logit_softcapping", "logit_scale", "logits_scaling")


@dataclass
class Batch:
    """One batch of requests, as lm-eval's ``_loglikelihood_tokens`` would batch them."""

    requests: Any
    """(B,) int64 numpy array: the requests' indices in the encodings list."""
    inputs: Any
    """(B, T) token ids, right padded."""
    seq: Any
    """(N,) the sequence of every scored token (continuation tokens, sequence after sequence)."""
    pos: Any
    """(N,) its position (whose logits predict it)."""
    targets: Any
    """(N,) the token."""
    state: Any = None
    """The cached input of the suffix (hidden states, per chosen block its other arguments), or None."""


def autocast(lm: Any, device: Any) -> Any:
    """lm-eval's autocast context of ``_model_call`` (mixed precision, when configured)."""
    import torch

    dtype = getattr(lm, "mixed_precision_dtype", None)
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None)


def collate(lm: Any, encodings: Sequence[Any], batch_size: int, device: Any) -> list[Batch]:
    """Batch the requests with lm-eval's ``Collator`` (longest first) and ``pad_and_concat``."""
    import torch

    collator_cls = lm_eval_internal("lm_eval.models.utils:Collator")
    pad_and_concat = lm_eval_internal(
        "lm_eval.models.utils_hf:pad_and_concat", "lm_eval.models.utils:pad_and_concat"
    )
    max_length = int(lm.max_length)
    reqs = [(i, list(e.context), list(e.continuation)) for i, e in enumerate(encodings)]

    def sort_key(req: tuple[int, list[int], list[int]]) -> tuple[int, tuple[int, ...]]:
        toks = req[1] + req[2]
        return -len(toks), tuple(toks)

    out: list[Batch] = []
    for chunk in collator_cls(reqs, sort_fn=sort_key, group_by=None).get_batched(n=batch_size):
        inps: list[Any] = []
        seq: list[int] = []
        pos: list[int] = []
        targets: list[int] = []
        for b, (_, ctx, cont) in enumerate(chunk):
            inp = (ctx + cont)[-(max_length + 1) :][:-1]
            inps.append(torch.tensor(inp, dtype=torch.long, device=device))
            seq += [b] * len(cont)
            pos.extend(range(len(inp) - len(cont), len(inp)))
            targets += cont
        out.append(
            Batch(
                requests=np.asarray([idx for idx, _, _ in chunk], dtype=np.int64),
                inputs=pad_and_concat(max(int(x.shape[0]) for x in inps), inps, padding_side="right"),
                seq=torch.as_tensor(seq, dtype=torch.long, device=device),
                pos=torch.as_tensor(pos, dtype=torch.long, device=device),
                targets=torch.as_tensor(targets, dtype=torch.long, device=device),
            )
        )
    return out


def model_kwargs(model: Any) -> dict[str, Any]:
    """``use_cache=False`` where the model's forward takes it (no key/value cache is built)."""
    try:
        params = inspect.signature(model.forward).parameters
    except (TypeError, ValueError):
        return {}
    return {"use_cache": False} if "use_cache" in params else {}


class Suffix:
    """The modules from the first chosen one to the logits: chosen blocks, final norm, head."""

    def __init__(self, blocks: Sequence[Any], norm: Any, head: Any) -> None:
        """Blocks (empty: the head alone is chosen), the final norm (None with no blocks), the head."""
        self.blocks = list(blocks)
        self.norm = norm
        self.head = head

    @property
    def modules(self) -> list[Any]:
        """The modules whose inputs are cached: each chosen block, or the head alone."""
        return self.blocks if self.blocks else [self.head]

    def logits(self, state: Any, seq: Any, pos: Any) -> Any:
        """Return the logits at the positions (seq, pos), (N, V), from the cached state."""
        import torch

        hidden, calls = state
        h = hidden
        for block, (key, args, kwargs) in zip(self.blocks, calls, strict=True):
            out = block(h, *args, **kwargs) if key is None else block(*args, **{key: h}, **kwargs)
            h = out if isinstance(out, torch.Tensor) else out[0]
        h = h[seq, pos]
        if self.norm is not None:
            h = self.norm(h)
        return self.head(h)


def find_suffix(model: Any, blocks: int) -> Suffix | None:
    """Return the :class:`Suffix` of a recognised structure with the last ``blocks`` blocks chosen, or None."""
    import torch

    from lm_eval_mtl.errors import MTLError

    config = getattr(model, "config", None)
    if any(getattr(config, key, None) not in (None, 0, 0.0, 1, 1.0, False) for key in _LOGIT_POSTPROCESSING):
        return None
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if not isinstance(head, torch.nn.Module):
        return None
    if blocks == 0:
        return Suffix([], None, head)
    try:
        name, stack = find_blocks(model)
    except MTLError:
        return None
    parent = model.get_submodule(name.rpartition(".")[0]) if "." in name else model
    norms = [getattr(parent, n) for n in _NORM_NAMES if isinstance(getattr(parent, n, None), torch.nn.Module)]
    if len(norms) != 1 or not 0 < blocks <= len(stack):
        return None
    return Suffix(stack[-blocks:], norms[0], head)


class _Captured(Exception):
    """Raised by the last pre-hook to stop the forward pass once the suffix's inputs are known."""


def _tensor_bytes(obj: Any, seen: set[int]) -> int:
    import torch

    if isinstance(obj, torch.Tensor):
        key = obj.untyped_storage().data_ptr() if obj.device.type != "meta" else id(obj)
        if key in seen:
            return 0
        seen.add(key)
        return int(obj.untyped_storage().nbytes())
    if isinstance(obj, (tuple, list)):
        return sum(_tensor_bytes(x, seen) for x in obj)
    if isinstance(obj, dict):
        return sum(_tensor_bytes(x, seen) for x in obj.values())
    return 0


def _agrees(full: Any, replay: Any) -> bool:
    """Whether the suffix's logits equal the whole model's to float rounding."""
    import torch

    if full.shape != replay.shape:
        return False
    a, b = full.float(), replay.float()
    eps = float(torch.finfo(full.dtype).eps) if full.is_floating_point() else 0.0
    tol = max(1e-4, 8 * eps) * (1.0 + float(a.abs().max()))
    return bool(torch.isfinite(b).all()) and float((a - b).abs().max()) <= tol


def cache_prefix(
    lm: Any, model: Any, suffix: Suffix | None, batches: Sequence[Batch], device: Any
) -> Suffix | None:
    """Run every batch through the model once and cache the suffix's inputs (``Batch.state``).

    Args:
        lm: The lm-eval backend (autocast).
        model: Its torch module, inside the parameter scope.
        suffix: :func:`find_suffix`'s result (None: nothing to cache).
        batches: All batches of the run.
        device: The model's device.

    Returns:
        The suffix, or None when its logits on the first batch disagree with the whole model's
        (then no batch keeps a state and every pass runs the whole model).
    """
    import torch

    budget = int(float(os.environ.get(CACHE_ENV, _DEFAULT_CACHE_MB)) * (1 << 20))
    if suffix is None or budget <= 0 or not batches:
        return None
    mods = suffix.modules
    calls: list[Any] = [None] * len(mods)
    hidden: list[Any] = [None]
    stop = [False]

    def pre_hook(j: int) -> Any:
        def hook(module: Any, args: Any, kwargs: Any) -> None:
            if args:
                key, h, rest = None, args[0], tuple(args[1:])
            else:
                key = "hidden_states" if "hidden_states" in kwargs else None
                h, rest = kwargs.get("hidden_states"), ()
                kwargs = {k: v for k, v in kwargs.items() if k != "hidden_states"}
            if j == 0:
                hidden[0] = h
            if suffix.blocks:
                calls[j] = (key, rest, dict(kwargs))
            if stop[0] and j == len(mods) - 1:
                raise _Captured

        return hook

    extra = model_kwargs(model)
    handles = [m.register_forward_pre_hook(pre_hook(j), with_kwargs=True) for j, m in enumerate(mods)]
    used = 0
    ok = False
    try:
        with torch.no_grad(), autocast(lm, device):
            for i, batch in enumerate(batches):
                hidden[0] = None
                calls[:] = [None] * len(mods)
                stop[0] = i > 0
                try:
                    out = model(batch.inputs, **extra)
                except _Captured:
                    out = None
                if hidden[0] is None or (suffix.blocks and any(c is None for c in calls)):
                    return None
                state = (hidden[0], list(calls) if suffix.blocks else [])
                if i == 0:
                    try:
                        replay = suffix.logits(state, batch.seq, batch.pos)
                    except Exception:  # noqa: BLE001 -- any failure means: not the recognised structure
                        return None
                    if not _agrees(out.logits[batch.seq, batch.pos], replay):
                        return None
                size = _tensor_bytes(state, set())
                if used + size > budget:
                    break
                used += size
                batch.state = state
        ok = True
    finally:
        for h in handles:
            h.remove()
        if not ok:  # not the recognised structure (or an error): nothing cached
            for batch in batches:
                batch.state = None
    return suffix


def forward_rows(model: Any, suffix: Suffix | None, batch: Batch, extra: dict[str, Any]) -> Any:
    """Return the logits at the batch's scored positions, (N, V): from the cache, or the whole model."""
    if suffix is not None and batch.state is not None:
        return suffix.logits(batch.state, batch.seq, batch.pos)
    return model(batch.inputs, **extra).logits[batch.seq, batch.pos]


def request_ll(rows: Any, batch: Batch, softmax_dtype: Any) -> Any:
    """(B,) log-likelihood of each request of the batch, summed in float32 or wider."""
    import torch
    import torch.nn.functional as F

    logp = F.log_softmax(rows, dim=-1, dtype=softmax_dtype)
    tok = logp.gather(1, batch.targets[:, None])[:, 0]
    tok = tok.to(torch.promote_types(tok.dtype, torch.float32))
    total = torch.zeros(len(batch.requests), dtype=tok.dtype, device=tok.device)
    return total.index_add(0, batch.seq, tok)
