"""Checks of raw JSON values where they enter (numbers, integers)."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["is_metric_number", "opt_int"]


def is_metric_number(value: Any) -> bool:
    """Whether ``value`` is a JSON number (an int or float, not a bool)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def opt_int(value: Any) -> int | None:
    """``value`` as an int when it is one (or an integral float, or a decimal string), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            return None
    return None
