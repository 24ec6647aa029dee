"""The package's one JSON convention: NaN and infinities are written as ``null``.

Every ``to_dict()`` and every JSON the CLI writes follows it, so the output is
strict JSON (RFC 8259) that any parser reads. This module sits beside
:mod:`lm_eval_mtl.errors` at the bottom of the layering: it imports only the
standard library, so every layer (``stats`` included) may use it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

__all__ = ["json_clean", "json_dumps", "json_float"]


def json_float(x: float) -> float | None:
    """``x`` as a float, or None (JSON null) where it is NaN or infinite."""
    x = float(x)
    return x if math.isfinite(x) else None


def json_clean(obj: Any) -> Any:
    """``obj`` with every non-finite float replaced by None, recursively.

    Mappings become dicts and tuples become lists; other values are returned
    unchanged. Numpy floating scalars (and arrays, via ``tolist``) are handled
    without importing numpy.
    """
    if isinstance(obj, bool) or obj is None or isinstance(obj, (int, str)):
        return obj
    if isinstance(obj, float):
        return json_float(obj)
    if isinstance(obj, Mapping):
        return {k: json_clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_clean(v) for v in obj]
    tolist = getattr(obj, "tolist", None)  # numpy arrays and scalars
    if callable(tolist) and type(obj).__module__ == "numpy":
        return json_clean(tolist())
    return obj


def json_dumps(obj: Any, *, indent: int | None = 2) -> str:
    """Strict JSON text of ``obj`` (after :func:`json_clean`), ending with a newline.

    Raises:
        TypeError: ``obj`` holds a value JSON cannot represent.
    """
    return json.dumps(json_clean(obj), indent=indent, allow_nan=False) + "\n"
