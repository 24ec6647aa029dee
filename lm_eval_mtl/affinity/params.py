"""The parameter subset of a Hugging Face causal LM on which gradients are taken.

The subset is the weight matrix of every linear map (``nn.Linear``, and transformers'
``Conv1D`` of GPT-2) inside the last ``blocks`` transformer blocks, plus the output head. The
blocks are the model's largest ``nn.ModuleList`` whose length is the configured number of
layers (``model.transformer.h`` for GPT-2, ``model.model.layers`` for Llama, ...); the head is
``model.get_output_embeddings()``.

:func:`parameter_scope` is a context manager: inside it only the chosen weights require
gradients (so the backward pass stops at the first chosen block), and a head tied to the input
embeddings is untied (a copy of the matrix becomes the head's own parameter), so that its
gradient and the lookahead's update concern the output use of the matrix only. Leaving the
scope restores every ``requires_grad`` flag and the tie, exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lm_eval_mtl.affinity.spec import ParameterSubset
from lm_eval_mtl.errors import MTLError

__all__ = ["ChosenLayer", "ChosenParameters", "find_blocks", "parameter_scope"]


@dataclass(frozen=True)
class ChosenLayer:
    """One linear map whose weight is in the subset."""

    name: str
    """Qualified module name (``transformer.h.1.mlp.c_fc``, ``lm_head``)."""
    module: Any
    """The torch module."""
    in_features: int
    """Input width."""
    out_features: int
    """Output width."""
    is_head: bool
    """Whether this is the output head (its gradient lives on the scored positions only)."""

    @property
    def weight(self) -> Any:
        """The weight parameter (looked up afresh: untying replaces the head's)."""
        return self.module.weight


@dataclass(frozen=True)
class ChosenParameters:
    """The subset inside a :func:`parameter_scope`."""

    layers: tuple[ChosenLayer, ...]
    """The chosen linear maps, head last."""
    n_parameters: int
    """Number of scalar parameters in the subset."""
    norm: float
    """Euclidean norm of the chosen weights (float64)."""
    untied_head: bool
    """Whether the head was tied to the input embeddings and untied for the measurement."""


def _is_linear(module: Any) -> bool:
    import torch

    if isinstance(module, torch.nn.Linear):
        return True
    weight = getattr(module, "weight", None)
    return type(module).__name__ == "Conv1D" and isinstance(weight, torch.nn.Parameter) and weight.dim() == 2


def _widths(module: Any) -> tuple[int, int]:
    """(in, out) of a linear map: nn.Linear stores (out, in), GPT-2's Conv1D (in, out)."""
    import torch

    w = module.weight
    if isinstance(module, torch.nn.Linear):
        return int(w.shape[1]), int(w.shape[0])
    return int(w.shape[0]), int(w.shape[1])


def find_blocks(model: Any) -> tuple[str, list[Any]]:
    """Return the name and the modules of the model's stack of transformer blocks.

    Raises:
        MTLError: No ``nn.ModuleList`` of blocks was found.
    """
    import torch

    config = getattr(model, "config", None)
    n_layers = None
    for key in ("num_hidden_layers", "n_layer", "num_layers"):
        value = getattr(config, key, None)
        if isinstance(value, int) and value > 0:
            n_layers = value
            break
    best: tuple[int, str, list[Any]] | None = None
    for name, module in model.named_modules():
        if not isinstance(module, torch.nn.ModuleList) or len(module) == 0:
            continue
        if n_layers is not None and len(module) != n_layers:
            continue
        size = sum(p.numel() for p in module.parameters())
        if best is None or size > best[0]:
            best = (size, name, list(module))
    if best is None:
        raise MTLError(
            f"cannot find the transformer blocks of {type(model).__name__} (no nn.ModuleList of "
            f"{n_layers} layers); use --blocks 0 (head only)."
        )
    return best[1], best[2]


def _select(model: Any, subset: ParameterSubset) -> list[ChosenLayer]:
    layers: list[ChosenLayer] = []
    if subset.blocks:
        prefix, blocks = find_blocks(model)
        if subset.blocks > len(blocks):
            raise MTLError(f"`blocks` must be at most the model's {len(blocks)} blocks; got {subset.blocks}.")
        first = len(blocks) - subset.blocks
        for j, block in enumerate(blocks[first:], start=first):
            for name, module in block.named_modules():
                if _is_linear(module):
                    n_in, n_out = _widths(module)
                    layers.append(ChosenLayer(f"{prefix}.{j}.{name}", module, n_in, n_out, False))
    if subset.head:
        head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
        if head is None or not _is_linear(head):
            raise MTLError(
                f"{type(model).__name__} has no linear output head (get_output_embeddings); use --no-head."
            )
        n_in, n_out = _widths(head)
        layers.append(ChosenLayer("lm_head", head, n_in, n_out, True))
    if not layers:
        raise MTLError("the chosen blocks hold no linear maps; choose more --blocks or keep the head.")
    return layers


@contextmanager
def parameter_scope(model: Any, subset: ParameterSubset) -> Iterator[ChosenParameters]:
    """Make the subset the only trainable parameters for the duration of the block.

    Args:
        model: The ``torch.nn.Module`` of the backend (``lm.model``).
        subset: Which parameters.

    Yields:
        The :class:`ChosenParameters`.

    Raises:
        MTLError: The subset cannot be found in this model.
    """
    import torch

    layers = _select(model, subset)
    flags = [(p, p.requires_grad) for p in model.parameters()]
    head = layers[-1] if layers[-1].is_head else None
    tied_param: Any = None
    if head is not None:
        inputs = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
        shared: Any = head.module.weight
        tied = inputs is not None and getattr(inputs, "weight", None) is shared
        if tied:
            tied_param = shared
            head.module.weight = torch.nn.Parameter(shared.detach().clone())
    try:
        for p in model.parameters():
            p.requires_grad_(False)
        for layer in layers:
            layer.weight.requires_grad_(True)
        with torch.no_grad():
            sq = sum(float(layer.weight.detach().double().pow(2).sum()) for layer in layers)
        yield ChosenParameters(
            layers=tuple(layers),
            n_parameters=sum(int(layer.weight.numel()) for layer in layers),
            norm=math.sqrt(sq),
            untied_head=tied_param is not None,
        )
    finally:
        if head is not None and tied_param is not None:
            head.module.weight = tied_param
        for p, flag in flags:
            p.requires_grad_(flag)
            p.grad = None
