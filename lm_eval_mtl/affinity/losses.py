"""Per-item losses on the gold answers, from log-likelihoods, and their derivatives.

For an item i with requests r (one per choice, or one continuation) and log-likelihoods
``ll_r`` (sums over the continuation's tokens, as lm-eval's ``loglikelihood`` returns them):

* ``choice_ce``: ``loss_i = -log sum_{c in G_i} softmax(ll_i)_c`` (G_i: the gold choices; one
  for an ordinary task), whose derivative is ``d loss_i / d ll_ic = p_ic - q_ic`` with
  ``p = softmax(ll_i)`` and ``q`` the softmax restricted to the gold set;
* ``nll``: ``loss_i = -ll_i``, derivative -1.

The gradient of ``loss_i`` is then ``sum_r (d loss_i / d ll_r) grad ll_r``, which the gradient
pass forms with one weighted backward per batch (see :mod:`~lm_eval_mtl.affinity.gradients`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.affinity.requests import LossKind

__all__ = ["ItemLosses", "item_losses"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class ItemLosses(NamedTuple):
    """Losses of items and the derivative of each item's loss by each of its log-likelihoods."""

    loss: FloatArray
    """(n_items,) per-item loss."""
    weight: FloatArray
    """(n_requests,) d loss_item / d ll_request."""


def item_losses(
    ll: npt.ArrayLike, starts: IntArray, gold: Sequence[tuple[int, ...]], kind: LossKind
) -> ItemLosses:
    """Per-item losses and derivatives from per-request log-likelihoods.

    Args:
        ll: (n_requests,) log-likelihoods, item after item.
        starts: (n_items + 1,) offsets of each item's requests in ``ll``.
        gold: Per item, the gold choice indices (``choice_ce``).
        kind: ``choice_ce`` or ``nll``.

    Returns:
        The :class:`ItemLosses`.

    Raises:
        ValueError: Shapes disagree, or a log-likelihood is not finite.
    """
    values = np.asarray(ll, dtype=np.float64).reshape(-1)
    if starts.shape[0] == 1 and values.shape[0] == 0:  # no items (a rank with no share of a small task)
        return ItemLosses(np.zeros(0), np.zeros(0))
    if starts.shape[0] < 2 or int(starts[-1]) != values.shape[0]:
        raise ValueError(
            f"`starts` must end at the number of log-likelihoods {values.shape[0]}; got {starts[-1] if starts.size else None}."
        )
    if not np.isfinite(values).all():
        raise ValueError("`ll` must be finite; the model returned a non-finite log-likelihood.")
    n = starts.shape[0] - 1
    if kind == "nll":
        if np.any(np.diff(starts) != 1):
            raise ValueError("`nll` items must have exactly one request each.")
        return ItemLosses(-values, np.full(values.shape[0], -1.0))
    if len(gold) != n:
        raise ValueError(f"`gold` must have one entry per item ({n}); got {len(gold)}.")
    loss = np.empty(n, dtype=np.float64)
    weight = np.empty(values.shape[0], dtype=np.float64)
    for i in range(n):
        a, b = int(starts[i]), int(starts[i + 1])
        z = values[a:b] - values[a:b].max()
        p = np.exp(z)
        p /= p.sum()
        g = list(gold[i])
        p_gold = float(p[g].sum())
        loss[i] = -np.log(p_gold) if p_gold > 0 else -(np.logaddexp.reduce(z[g]) - np.logaddexp.reduce(z))
        q = np.zeros_like(p)
        q[g] = p[g] / p_gold if p_gold > 0 else 1.0 / len(g)
        weight[a:b] = p - q
    return ItemLosses(loss, weight)
