"""Calling a wrapped lm-eval function so that its warnings keep their attribution.

A wrapper adds frames between lm-eval's code and its caller. A warning that
lm-eval raises with ``stacklevel=2`` ("blame my caller"), such as the
``DeprecationWarning`` of ``TaskManager(verbosity=...)``, would then be
attributed to the wrapper: shown with the wrapper's file and line, filtered by
the wrapper's module name (so ``-W ignore::DeprecationWarning:my_script`` or
Python's default "shown only in ``__main__``" rule would judge the wrong
module) and counted in the wrapper's ``__warningregistry__``.

:func:`call_passing_warnings` calls the wrapped function with every warning
recorded (an ``always`` entry in front of the filters and a recording
``showwarning``, both taken back afterwards, so nothing is filtered yet); each
recorded warning notes the live frame it was attributed to.
A warning attributed to one of our frames, or to any frame above them, is moved
up by the number of our frames -- exactly where lm-eval's ``stacklevel``
would have put it without the wrapper; a warning attributed inside the wrapped
call keeps its frame. After the call every warning is re-issued in order with
:func:`warnings.warn_explicit`, with the file, line, module name, registry and
globals of that frame -- the arguments :func:`warnings.warn` itself would have
used -- so the user's filters, ``-W`` options and "once"/"default" bookkeeping
see the original attribution.

Differences from an unwrapped call, documented rather than hidden: warnings
are re-issued when the wrapped call returns or raises, not at the moment they
were raised (under an ``error`` filter the exception therefore comes from the
wrapper, after the call); like :func:`warnings.catch_warnings` this changes
process-wide state while the call runs, so a warning another thread raises
meanwhile is re-issued from this thread (with its own attribution).
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any, TypeVar

__all__ = ["call_passing_warnings"]

T = TypeVar("T")


@dataclass(frozen=True)
class _Caught:
    """One recorded warning and where :func:`warnings.warn` would have attributed it."""

    message: Warning | str
    category: type[Warning]
    filename: str
    lineno: int
    module: str | None
    module_globals: dict[str, Any] | None


def _attribution(frame: FrameType | None) -> tuple[str, int, str | None, dict[str, Any] | None]:
    if frame is None:  # beyond the top of the stack: what warnings.warn itself uses then
        return "<sys>", 0, "sys", None
    return frame.f_code.co_filename, frame.f_lineno, frame.f_globals.get("__name__"), frame.f_globals


def _frame_above(frame: FrameType | None, levels: int) -> FrameType | None:
    for _ in range(levels):
        if frame is None:
            return None
        frame = frame.f_back
    return frame


def _recorder(anchor: FrameType, ours: int, caught: list[_Caught]) -> Callable[..., None]:
    """Make a ``showwarning`` that records each warning with its corrected attribution.

    Args:
        anchor: The frame of :func:`call_passing_warnings` (the lowest of our frames).
        ours: How many of our frames sit between the wrapped function and its caller.
        caught: Where the records go.
    """

    def record(message: Any, category: Any, filename: str, lineno: int, *_: Any, **__: Any) -> None:
        frame: FrameType | None = sys._getframe(1)
        inside = True  # still below the anchor: a frame of the wrapped call
        target: FrameType | None = None
        found = False
        while frame is not None:
            if frame is anchor:
                inside = False
            if frame.f_code.co_filename == filename and frame.f_lineno == lineno:
                target = frame if inside else _frame_above(frame, ours)
                found = True
                break
            frame = frame.f_back
        if found:
            fname, line, module, module_globals = _attribution(target)
        else:  # not on this stack (another thread, or past its top): keep what was recorded
            fname, line, module, module_globals = filename, lineno, None, None
        caught.append(_Caught(message, category, fname, line, module, module_globals))

    return record


def _reissue(caught: list[_Caught]) -> None:
    for c in caught:
        registry = None
        if c.module_globals is not None:
            registry = c.module_globals.setdefault("__warningregistry__", {})
        warnings.warn_explicit(
            c.message,
            c.category,
            c.filename,
            c.lineno,
            module=c.module,
            registry=registry,
            module_globals=c.module_globals,
        )


# Matches every warning like simplefilter("always"), yet never equals an entry that
# warnings.simplefilter/filterwarnings create (their empty message is None, not a pattern).
_ALWAYS = ("always", re.compile("", re.DOTALL), Warning, None, 0)


def _filters() -> list[Any]:
    """Return the live filter list (a list at run time; typeshed calls it a Sequence)."""
    filters: list[Any] = warnings.filters  # type: ignore[assignment]
    return filters


def _remove_always() -> None:
    filters = _filters()
    for i, entry in enumerate(filters):
        if entry is _ALWAYS:
            del filters[i]
            return


def call_passing_warnings(ours: int, func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``func(*args, **kwargs)``; its warnings keep the attribution they would have unwrapped.

    Args:
        ours: The number of our frames between ``func`` and the code that called
            the wrapper: this function's own frame plus every wrapper frame above
            it (a wrapper that calls this directly passes 2).
        func: The wrapped (lm-eval) function.
        *args: Its positional arguments.
        **kwargs: Its keyword arguments.

    Returns:
        What ``func`` returns.
    """
    anchor = sys._getframe()
    caught: list[_Caught] = []
    shown = warnings.showwarning
    # Not warnings.catch_warnings(): entering and leaving it counts as changing the filters,
    # which empties every module's "already shown" registry (the user would then see a
    # "default" warning again on each call). The entry and the showwarning hook are added
    # and taken back in place; filters the wrapped call adds itself stay.
    _filters().insert(0, _ALWAYS)
    warnings.showwarning = _recorder(anchor, ours, caught)
    try:
        return func(*args, **kwargs)
    finally:
        _remove_always()
        warnings.showwarning = shown
        del anchor
        _reissue(caught)
