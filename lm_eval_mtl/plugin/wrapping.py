"""How the hook's wrappers are made, checked and logged: the conventions every adapter shares.

* :func:`log_once`: every message of the hook goes to the ``lm_eval_mtl.plugin``
  logger once per key, and logging never raises.
* :func:`signature_names`: the parameter names of the function an adapter is
  about to wrap (each adapter stands aside when they differ from what it was
  written against).
* :func:`finish_wrapper` / :func:`is_wrapped`: a wrapper carries the original's
  docstring and qualified name, ``__wrapped__``, and the mark :data:`MARK` that
  makes every patch idempotent.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["LOGGER", "MARK", "finish_wrapper", "is_wrapped", "log_once", "signature_names", "warned"]

LOGGER = "lm_eval_mtl.plugin"
"""Name of the logger the hook writes to."""
MARK = "__lm_eval_mtl_wrapped__"
"""Attribute set (True) on every wrapper the hook installs."""

warned: set[str] = set()
"""Keys already logged by :func:`log_once` (cleared by tests)."""


def log_once(key: str, message: str, *, level: str = "warning") -> None:
    """Log ``message`` once per ``key`` (prefixed with the hook's name); never raises.

    Args:
        key: Deduplication key.
        message: The line to log (one line: what is wrong and what to do).
        level: A :mod:`logging` method name (``warning``, ``info``, ``debug``).
    """
    if key in warned:
        return
    warned.add(key)
    try:
        import logging

        getattr(logging.getLogger(LOGGER), level)("lm-eval-mtl start-up hook: %s", message)
    except KeyboardInterrupt:
        raise
    except BaseException:  # noqa: BLE001 - logging must not break the host process
        pass


def signature_names(func: Any) -> tuple[str, ...] | None:
    """Return the parameter names of ``func`` in order, or None when they cannot be read."""
    import inspect

    try:
        return tuple(inspect.signature(func).parameters)
    except (TypeError, ValueError):
        return None


def is_wrapped(func: Any) -> bool:
    """Whether ``func`` is one of the hook's wrappers."""
    return bool(getattr(func, MARK, False))


def finish_wrapper(wrapper: Callable[..., Any], original: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``wrapper`` the original's docstring and qualified name, ``__wrapped__`` and :data:`MARK`.

    Returns:
        ``wrapper`` itself.
    """
    wrapper.__doc__ = original.__doc__
    wrapper.__qualname__ = getattr(original, "__qualname__", wrapper.__name__)
    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(wrapper, MARK, True)
    return wrapper
