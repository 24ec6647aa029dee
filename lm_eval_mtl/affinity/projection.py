"""Seeded random projections of per-sequence weight gradients, formed batch by batch.

For a linear map y = W x applied at positions t of a sequence, the gradient of a scalar
(here: one sequence's weighted log-likelihood) with respect to W is ``G = sum_t d_t x_t^T``,
with ``d_t`` the gradient at the output. Its projection with the Kronecker-factored matrix
``P = P_out (x) P_in`` (``P_out``: k_out x out, ``P_in``: k_in x in, entries N(0, 1/k)) is

    P vec(G) = vec(P_out G P_in^T) = vec( sum_t (P_out d_t) (P_in x_t)^T ),

computed from the layer's input (kept by a forward hook) and its output gradient (a tensor hook)
without ever forming G, per sequence of the batch, and summed over layers into one vector of
d = sum_l k_out,l * k_in,l numbers. ``E[P^T P] = I``, so inner products (and norms) of
projected gradients are unbiased for those of the full gradients (LoGra, Choe et al. 2024; a
structured relative of the dense Johnson-Lindenstrauss projections of TRAK, Park et al. 2023,
and LESS, Xia et al. 2024). No per-item full gradient and no d x D matrix is ever held: the
factors of a layer have (k_out * out + k_in * in) entries.

The factors come from a CPU ``torch.Generator`` seeded with a hash of (seed, layer name, role),
then moved to the model's device, so the same seed gives the same numbers on any device and in
every process.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from lm_eval_mtl.affinity.params import ChosenLayer

__all__ = ["GradientProjector", "LayerProjection", "layer_ranks"]


@dataclass(frozen=True)
class LayerProjection:
    """The projection of one chosen layer's weight gradient."""

    name: str
    """Layer (module) name."""
    k_out: int
    """Rows of the output-side factor."""
    k_in: int
    """Rows of the input-side factor."""

    @property
    def dim(self) -> int:
        """Dimensions this layer contributes."""
        return self.k_out * self.k_in


def layer_ranks(layers: Sequence[ChosenLayer], proj_dim: int) -> tuple[LayerProjection, ...]:
    """Split ``proj_dim`` evenly over the layers: k_in = k_out = isqrt(proj_dim / L), clipped to the widths.

    A layer narrower than k on one side gives the rest of its share to the other side.
    """
    share = max(1, proj_dim // max(1, len(layers)))
    k = max(1, math.isqrt(share))
    out: list[LayerProjection] = []
    for layer in layers:
        k_in = min(k, layer.in_features)
        k_out = min(layer.out_features, max(k, share // k_in))
        out.append(LayerProjection(layer.name, k_out, k_in))
    return tuple(out)


def _factor_seed(seed: int, name: str, role: str) -> int:
    digest = hashlib.sha256(f"lm-eval-mtl/affinity:{seed}:{name}:{role}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def _factor(seed: int, name: str, role: str, rows: int, cols: int, device: Any) -> Any:
    import torch

    gen = torch.Generator(device="cpu").manual_seed(_factor_seed(seed, name, role))
    m = torch.randn(rows, cols, generator=gen, dtype=torch.float32) / math.sqrt(rows)
    return m.to(device)


class GradientProjector:
    """Hooks on the chosen layers that add each sequence's projected weight gradient to a buffer.

    Usage: inside :meth:`attached`, call :meth:`begin_batch` before a backward pass, then read
    :meth:`batch_features` ((B, d) float32, one row per sequence of the batch).
    """

    def __init__(self, layers: Sequence[ChosenLayer], proj_dim: int, seed: int, device: Any) -> None:
        """Draw the factors of every layer (CPU generator, then ``device``)."""
        self.layers = tuple(layers)
        self.projections = layer_ranks(self.layers, proj_dim)
        self.dim = sum(p.dim for p in self.projections)
        self._factors = [
            (
                _factor(seed, p.name, "out", p.k_out, layer.out_features, device),
                _factor(seed, p.name, "in", p.k_in, layer.in_features, device),
            )
            for layer, p in zip(self.layers, self.projections, strict=True)
        ]
        offsets = [0]
        for p in self.projections:
            offsets.append(offsets[-1] + p.dim)
        self._offsets = offsets
        self._buffer: Any = None
        self._positions: Any = None
        self._active = False

    def begin_batch(self, batch_size: int, positions: tuple[Any, Any], device: Any) -> None:
        """Start a batch: zero the buffer; ``positions`` = (sequence index, position) of every scored token."""
        import torch

        self._buffer = torch.zeros(batch_size, self.dim, dtype=torch.float32, device=device)
        self._positions = positions
        self._active = True

    def batch_features(self) -> Any:
        """Return the batch's (B, d) projected gradients and end the batch."""
        self._active = False
        out = self._buffer
        self._buffer = None
        return out

    def _hook(self, j: int) -> Any:
        p_out, p_in = self._factors[j]
        lo, hi = self._offsets[j], self._offsets[j + 1]
        is_head = self.layers[j].is_head

        def forward_hook(module: Any, inputs: Any, output: Any) -> None:
            if not self._active or not getattr(output, "requires_grad", False):
                return
            x = inputs[0]
            gathered = x.dim() == 2  # the suffix applies the head to the scored positions only, in order
            if is_head:  # the head's output gradient is zero off the scored positions
                seq, pos = self._positions
                a = (x if gathered else x[seq, pos]).float() @ p_in.T  # (N, k_in)
            else:
                a = x.float() @ p_in.T  # (B, T, k_in)

            def backward_hook(grad: Any) -> None:
                if self._buffer is None:
                    return
                if is_head:
                    seq, pos = self._positions
                    c = (grad if gathered else grad[seq, pos]).float() @ p_out.T  # (N, k_out)
                    per_token = (c[:, :, None] * a[:, None, :]).reshape(c.shape[0], -1)
                    self._buffer[:, lo:hi].index_add_(0, seq, per_token)
                else:
                    c = grad.float() @ p_out.T  # (B, T, k_out)
                    feats = (c.transpose(1, 2) @ a).reshape(c.shape[0], -1)  # (B, k_out * k_in)
                    self._buffer[:, lo:hi] += feats

            output.register_hook(backward_hook)

        return forward_hook

    @contextmanager
    def attached(self) -> Iterator[GradientProjector]:
        """Register the hooks for the duration of the block."""
        handles = [layer.module.register_forward_hook(self._hook(j)) for j, layer in enumerate(self.layers)]
        try:
            yield self
        finally:
            for h in handles:
                h.remove()
            self._active = False
            self._buffer = None
