"""scipy.special's normal and Student-t functions, imported on first use.

Importing :mod:`scipy.special` costs 0.15-0.4 s (scipy 1.17 clones numpy's namespace for its
array-API layer); a report served from the cache needs none of it. These wrappers call the same
ufuncs (the values are scipy's, bit for bit) and import scipy.special only when first called.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ndtr", "ndtri", "stdtrit"]


def ndtri(p: Any) -> Any:
    """Return the standard normal quantile (``scipy.special.ndtri``)."""
    from scipy.special import ndtri as f

    return f(p)


def ndtr(x: Any) -> Any:
    """Return the standard normal CDF (``scipy.special.ndtr``)."""
    from scipy.special import ndtr as f

    return f(x)


def stdtrit(df: Any, p: Any) -> Any:
    """Return the Student-t quantile with ``df`` degrees of freedom (``scipy.special.stdtrit``)."""
    from scipy.special import stdtrit as f

    return f(df, p)
