"""A subprocess started ahead of the test that reads it (tests import it from tests/data).

A fixture starts the process (:class:`BackgroundRun`), the tests before its reader go on
beside it, and the reader's :meth:`BackgroundRun.wait` collects exit status, stdout and
stderr exactly as ``subprocess.run(..., capture_output=True, text=True, timeout=...)``
would have: on a 2-core machine a single-threaded subprocess leaves a core idle otherwise.
"""

from __future__ import annotations

import subprocess
import tempfile
import time
from pathlib import Path


class BackgroundRun:
    """``argv`` started now; stdout and stderr go to temporary files (not pipes: nobody reads a
    pipe while the tests go on, and a full one would stall the process)."""

    def __init__(
        self,
        argv: list[str],
        *,
        cwd: Path | None,
        env: dict[str, str],
        timeout: float,
        logs: Path | None = None,
    ) -> None:
        self.argv = argv
        self.timeout = timeout
        """Seconds from the start, as ``subprocess.run``'s ``timeout``."""
        self._deadline = time.monotonic() + timeout
        # delete=False: closed and removed in wait() / stop(); logs=None: the system's temp folder
        folder = None if logs is None else str(logs)
        self._stdout = tempfile.NamedTemporaryFile("w+", encoding="utf-8", dir=folder, delete=False)  # noqa: SIM115
        self._stderr = tempfile.NamedTemporaryFile("w+", encoding="utf-8", dir=folder, delete=False)  # noqa: SIM115
        self.proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=self._stdout, stderr=self._stderr)
        self._result: tuple[int, str, str] | None = None

    def wait(self) -> tuple[int, str, str]:
        """``(returncode, stdout, stderr)``; past the timeout the process is killed and
        :class:`subprocess.TimeoutExpired` raised, as ``subprocess.run`` does."""
        if self._result is None:
            try:
                code = self.proc.wait(timeout=max(self._deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                self.stop()
                raise
            texts = []
            for f in (self._stdout, self._stderr):
                f.seek(0)
                texts.append(f.read())
            self._close()
            self._result = (code, texts[0], texts[1])
        return self._result

    def stop(self) -> None:
        """Kill the process if it still runs (its reader never asked), and remove the logs."""
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        self._close()

    def _close(self) -> None:
        for f in (self._stdout, self._stderr):
            if not f.closed:
                f.close()
            Path(f.name).unlink(missing_ok=True)
