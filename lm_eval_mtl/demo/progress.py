"""Live progress of ``lm-eval-mtl demo``: a status line while a long step runs.

Three pieces, each usable alone:

* :class:`LiveLine` shows one status line on a stream (stderr in the CLI): rewritten in
  place on a terminal, about once a second; one plain line every ``interval`` seconds
  (10 by default) when the stream is a file or a pipe, so a log stays short.
* :class:`Ticker` calls a status callable from a background thread while a step runs,
  with the seconds elapsed and whatever the step last reported (``detail``).
* :class:`LmEvalLogProgress` reads lm-eval's log as it grows and says how far the run
  is: tasks prepared, and requests done per request type (lm-eval's own progress bars
  go to that log, not to the demo's output).

Nothing here prints unless given a stream.
"""

from __future__ import annotations

import re
import shutil
import sys
import threading
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["LiveLine", "LmEvalLogProgress", "Ticker", "format_elapsed"]

_CLEAR = "\r\x1b[2K"


def format_elapsed(seconds: float) -> str:
    """Format a duration as ``7 s`` or ``1 min 05 s``."""
    s = max(0, int(seconds))
    return f"{s} s" if s < 60 else f"{s // 60} min {s % 60:02d} s"


class LiveLine:
    """One status line on ``stream``: in place on a terminal, one line per ``interval`` otherwise.

    Args:
        stream: Where the line goes (default ``sys.stderr``).
        tty: Whether to rewrite the line in place (default: ``stream.isatty()``).
        interval: Least seconds between two updates shown (default 1 on a terminal, 10 otherwise).
        clock: Monotonic clock (for tests).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        tty: bool | None = None,
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if tty is None:
            isatty = getattr(self.stream, "isatty", None)
            tty = bool(isatty()) if callable(isatty) else False
        self.tty = tty
        self.interval = interval if interval is not None else (1.0 if tty else 10.0)
        self._clock = clock
        self._last = clock()
        self._shown = False
        self.lock = threading.RLock()

    def update(self, text: str) -> None:
        """Show ``text`` unless the last update is less than ``interval`` seconds old; ``""`` clears."""
        with self.lock:
            if not text:
                self.clear()
                return
            now = self._clock()
            if now - self._last < self.interval:
                return
            self._last = now
            if self.tty:
                # one screen line: a wrapped line could not be erased with \r
                width = shutil.get_terminal_size((100, 24)).columns - 1
                if len(text) > width:
                    text = text[: max(1, width - 3)] + "..."
                self.stream.write(_CLEAR + text)
                self._shown = True
            else:
                self.stream.write(text + "\n")
            self.stream.flush()

    def clear(self) -> None:
        """Erase the line (on a terminal) and restart the interval."""
        with self.lock:
            if self._shown:
                self.stream.write(_CLEAR)
                self.stream.flush()
                self._shown = False
            self._last = self._clock()

    def print_above(self, line: str, stream: TextIO | None = None) -> None:
        """Print ``line`` (to ``stream``, default stdout) without mixing it into the status line."""
        with self.lock:
            if self._shown:
                self.stream.write(_CLEAR)
                self.stream.flush()
                self._shown = False
            out = stream if stream is not None else sys.stdout
            out.write(line + "\n")
            out.flush()


class Ticker:
    """Call ``show`` about every ``period`` seconds with the elapsed time and ``detail()``.

    Used as a context manager around a step; on exit it calls ``show("")`` (clear).

    Args:
        show: Receives the status text (``LiveLine.update``).
        detail: Returns what the step is doing now (may be empty).
        prefix: Text before the elapsed time.
        period: Seconds between two calls of ``show``.
    """

    def __init__(
        self,
        show: Callable[[str], None],
        detail: Callable[[], str],
        *,
        prefix: str = "      ... ",
        period: float = 0.5,
    ) -> None:
        self._show = show
        self._detail = detail
        self._prefix = prefix
        self._period = period
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = time.monotonic()

    def text(self) -> str:
        """Return the status text now: elapsed time, then the detail."""
        detail = self._detail()
        elapsed = format_elapsed(time.monotonic() - self._start)
        return f"{self._prefix}{elapsed} elapsed" + (f": {detail}" if detail else "")

    def _loop(self) -> None:
        while not self._stop.wait(self._period):
            try:
                self._show(self.text())
            except Exception:  # noqa: BLE001 - a status line must never break the step
                return

    def __enter__(self) -> Ticker:
        self._start = time.monotonic()
        self._show("")
        self._thread = threading.Thread(target=self._loop, name="lm-eval-mtl-demo-ticker", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._show("")


_TASK = re.compile(r"\bTask: (\S+)")
_CONTEXTS = re.compile(r"Building contexts for (\S+) on rank")
_REQUESTS = re.compile(r"Running (\w+) requests:\s*\d+%\|[^|]*\|\s*(\d+)/(\d+)")
_PHASES = (
    ("Saving results", "writing results"),
    ("Running generate_until requests", "generating answers"),
    ("Running loglikelihood requests", "scoring answer choices"),
    ("Building contexts", "building requests"),
    ("Initializing", "loading the model"),
    ("Selected Tasks", "indexing lm-eval's tasks"),
)


class LmEvalLogProgress:
    """How far an ``lm_eval`` run is, from its log (stderr) read as it grows.

    Feed text with :meth:`feed` (an empty string too: the run has started); :meth:`summary`
    gives one line such as ``6 tasks; scoring answer choices: loglikelihood requests 101/192``.
    """

    def __init__(self) -> None:
        self._started = False
        self._tasks: list[str] = []
        self._prepared: set[str] = set()
        self._requests: dict[str, tuple[int, int]] = {}
        self._phase = ""
        self._tail = ""
        self._lock = threading.Lock()

    def feed(self, text: str) -> None:
        """Read more of the log (any chunk; partial lines are kept for the next call)."""
        with self._lock:
            self._started = True
            data = self._tail + text
            parts = re.split(r"[\r\n]", data)
            self._tail = parts.pop()
            for line in parts:
                self._line(line)
            if self._tail:
                # a progress bar being redrawn ends with \r only later; read its latest state now
                self._line(self._tail, partial=True)

    def _line(self, line: str, *, partial: bool = False) -> None:
        m = _REQUESTS.search(line)
        if m:
            self._requests[m.group(1)] = (int(m.group(2)), int(m.group(3)))
        if partial:
            return
        m = _TASK.search(line)
        if m and m.group(1) not in self._tasks:
            self._tasks.append(m.group(1))
        m = _CONTEXTS.search(line)
        if m:
            self._prepared.add(m.group(1))
        for needle, phase in _PHASES:
            if needle in line:
                self._phase = phase
                break

    def summary(self) -> str:
        """Return one line: tasks prepared and requests done (empty before lm-eval logs anything)."""
        with self._lock:
            parts: list[str] = []
            n = len(self._tasks)
            if n and len(self._prepared) < n:
                parts.append(f"{len(self._prepared)}/{n} tasks prepared")
            elif n:
                parts.append(f"{n} tasks")
            if self._phase:
                parts.append(self._phase)
            req = ", ".join(f"{kind} requests {d}/{t}" for kind, (d, t) in self._requests.items())
            text = "; ".join(parts)
            if not text and not req and self._started:
                return "starting lm_eval (imports, then indexing its tasks)"
            return f"{text}: {req}" if req and text else text or req
