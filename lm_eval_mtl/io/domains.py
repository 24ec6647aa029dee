"""The domain of each metric lm-eval reports: where a value read from its files must lie.

One table, checked where values enter (:mod:`lm_eval_mtl.io.results` for aggregated values,
stderrs and item counts, :mod:`lm_eval_mtl.io.samples` for per-item values):

============================================================  ==============
metric                                                        domain
============================================================  ==============
``acc``, ``acc_norm``, ``acc_mutual_info``, ``exact_match``,  [0, 1]
``em``, ``f1``, and every ``*_acc`` (IFEval's
``prompt_level_strict_acc``, ``inst_level_loose_acc`` ...)
``mcc``, ``matthews_corrcoef``                                [-1, 1]
``bleu``, ``chrf``, ``chrf++``                                [0, 100]
``ter``                                                       [0, inf)
any ``*_stderr``                                              [0, inf)
``n-samples`` counts                                          integers >= 0
============================================================  ==============

A metric not in the table is not range-checked. Values within ``1e-9`` (relative to the
bound's scale) of a bound count as inside it (floating-point rounding of a mean).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

__all__ = ["METRIC_DOMAINS", "metric_domain", "domain_problem", "describe_domain"]

Domain = tuple[float, float]

METRIC_DOMAINS: Mapping[str, Domain] = {
    "acc": (0.0, 1.0),
    "acc_norm": (0.0, 1.0),
    "acc_mutual_info": (0.0, 1.0),
    "exact_match": (0.0, 1.0),
    "em": (0.0, 1.0),
    "f1": (0.0, 100.0),  # lm-eval squadv2 reports f1 (and exact) in percent; drop, coqa in [0, 1]
    "mcc": (-1.0, 1.0),
    "matthews_corrcoef": (-1.0, 1.0),
    "bleu": (0.0, 100.0),
    "chrf": (0.0, 100.0),
    "chrf++": (0.0, 100.0),
    "ter": (0.0, math.inf),
}
"""Metric name -> (lowest, highest) value lm-eval can report for it."""
_ACC_SUFFIX = "_acc"
_RATE: Domain = (0.0, 1.0)
_REL_TOL = 1e-9


def metric_domain(metric: str) -> Domain | None:
    """Return the (lowest, highest) values of ``metric``, or None when it is not range-checked.

    Args:
        metric: lm-eval's metric name (``acc``, ``prompt_level_strict_acc``, ``chrf`` ...),
            without the filter.
    """
    found = METRIC_DOMAINS.get(metric)
    if found is not None:
        return found
    if metric.endswith(_ACC_SUFFIX):
        return _RATE
    return None


def describe_domain(domain: Domain) -> str:
    """``[0, 1]``, ``[0, inf)`` ... for messages."""
    lo, hi = domain
    hi_text = "inf)" if math.isinf(hi) else f"{hi:g}]"
    return f"[{lo:g}, {hi_text}"


def domain_problem(metric: str, value: float) -> str | None:
    """Why ``value`` cannot be a value of ``metric``, or None when it can (or is not checked).

    Args:
        metric: lm-eval's metric name.
        value: A finite value read for it.

    Returns:
        ``"outside [0, 1]"``-style text, or None.
    """
    domain = metric_domain(metric)
    if domain is None:
        return None
    lo, hi = domain
    slack_lo = _REL_TOL * max(1.0, abs(lo))
    slack_hi = _REL_TOL * max(1.0, abs(hi)) if math.isfinite(hi) else 0.0
    if lo - slack_lo <= value <= hi + slack_hi:
        return None
    return f"outside {describe_domain(domain)}"
