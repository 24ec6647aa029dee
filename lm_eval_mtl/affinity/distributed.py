"""Several processes (``accelerate launch``, ``torchrun``): shares of items, sums and gathers.

Every rank builds every task's requests (lm-eval's ``build_all_requests`` with rank 0 of 1, so
that item i is the same document everywhere) and takes the items i with ``i % world_size ==
rank``. The summed weight gradients are all-reduced (so every rank applies the same lookahead
update), and the per-item results (projected gradients, losses) are gathered and put back in
item order, so the statistics are those of one process over all items.

The rank and world size come from ``torch.distributed`` when a process group is initialized
(accelerate initializes one, on CPU too with ``ACCELERATE_USE_CPU=1``), else from the
backend's ``rank`` / ``world_size``. lm-eval 0.4.13's HFLM reports world size 1 on CPU even
under accelerate, so the process group is asked first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Ranks", "all_reduce_sum", "detect_ranks", "gather_rows", "local_items"]

IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Ranks:
    """Where this process stands among the processes of a run."""

    rank: int
    """0 .. world_size - 1."""
    world_size: int
    """Number of processes."""
    distributed: bool
    """Whether a torch.distributed process group carries the reductions."""


def detect_ranks(lm: Any) -> Ranks:
    """Return the rank and world size of this process (see the module docstring)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        return Ranks(int(dist.get_rank()), int(dist.get_world_size()), True)
    world = int(getattr(lm, "world_size", 1) or 1)
    if world > 1:
        from lm_eval_mtl.errors import MTLError

        raise MTLError(
            f"the backend reports {world} processes but no torch.distributed process group is initialized; "
            "launch with accelerate launch or torchrun."
        )
    return Ranks(0, 1, False)


def local_items(n_items: int, ranks: Ranks) -> IntArray:
    """Return the items (indices) this rank processes."""
    return np.arange(ranks.rank, n_items, ranks.world_size, dtype=np.int64)


def all_reduce_sum(tensors: Sequence[Any], ranks: Ranks) -> None:
    """Sum each tensor over the ranks, in place (a no-op in one process)."""
    if not ranks.distributed:
        return
    import torch.distributed as dist

    cpu_only = dist.get_backend() == "gloo"
    for t in tensors:
        if cpu_only and t.device.type != "cpu":
            host = t.cpu()
            dist.all_reduce(host)
            t.copy_(host)
        else:
            dist.all_reduce(t)


def gather_rows(local: npt.NDArray[Any], n_items: int, ranks: Ranks) -> npt.NDArray[Any]:
    """Put every rank's rows (its items, in order) back into one (n_items, ...) array, on every rank."""
    if not ranks.distributed:
        return local
    import torch.distributed as dist

    parts: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(parts, np.ascontiguousarray(local))
    out = np.empty((n_items, *local.shape[1:]), dtype=local.dtype)
    for r, part in enumerate(parts):
        out[np.arange(r, n_items, ranks.world_size)] = part
    return out
