"""The one writer of the package: atomic file writes that never overwrite an input.

Every file lm-eval-mtl writes (``--output`` of the subcommands, weights files, plots, the
demo's report) goes through :func:`atomic_write_text`, :func:`atomic_write_bytes` or
:func:`atomic_output`:

* the content is written to a temporary file in the *same* folder as the output, flushed and
  ``fsync``'ed, then moved over the output with :func:`os.replace` (atomic on POSIX and
  Windows): a reader sees the old file or the new one, never a part of either;
* on any failure (a full disk, an interrupt, an exception in the code that renders the file)
  the temporary file is removed and the old file is left as it was;
* an output path that is one of the ``inputs`` (the same file where both exist, by
  :func:`os.path.samestat`: hard links and symlinks included; else the same resolved path) is refused
  before anything is written, and so is an existing folder; a missing parent folder is
  created.

Refusals and failed writes raise :class:`~lm_eval_mtl.errors.OutputPathError`.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

from lm_eval_mtl.errors import OutputPathError

__all__ = ["OutputPathError", "atomic_output", "atomic_write_bytes", "atomic_write_text", "check_output_path"]

PathLike = str | os.PathLike[str]


def _resolve(p: Path) -> Path:
    try:
        return p.expanduser().resolve(strict=False)
    except (OSError, RuntimeError):  # symlink loops
        return Path(os.path.abspath(p))


def _stat(p: Path) -> os.stat_result | None:
    try:
        return os.stat(p)
    except (OSError, ValueError):  # missing, unreadable, or a name the system refuses
        return None


class _Target:
    """The path about to be written, resolved and stat'ed once, to compare with each input."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._resolved: Path | None = None
        self.st = _stat(path)
        if self.st is None:  # ``sub/../in.csv`` with ``sub`` missing is ``in.csv`` once written
            self.st = _stat(self._resolve())

    def _resolve(self) -> Path:
        if self._resolved is None:
            self._resolved = _resolve(self.path)
        return self._resolved

    def is_(self, other: Path) -> bool:
        """Whether ``other`` is this file: the same file where both exist, else the same resolved path."""
        st = _stat(other)
        if st is not None and self.st is not None:
            return os.path.samestat(st, self.st)
        if st is not None or self.st is not None:
            return False  # one exists, the other does not: distinct resolved paths
        return _resolve(other) == self._resolve()


def check_output_path(path: PathLike, inputs: Iterable[PathLike] = ()) -> Path:
    """Check that ``path`` may be written, without writing anything.

    Args:
        path: The output file.
        inputs: The files the command read; none of them may be the output.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputPathError: ``path`` is (or, through a link, points at) one of ``inputs``; it is
            an existing folder; or a component of its parent folder is an existing file.
    """
    inputs = tuple(inputs)
    out = Path(path).expanduser()
    if str(path) == "":
        raise OutputPathError("the output path is empty; give a file name.")
    target = _Target(out)
    for inp in inputs:
        ip = Path(inp)
        if target.is_(ip):
            raise OutputPathError(
                f"output path {out} is the input file {ip}; writing it would overwrite the input. "
                "Choose another output path."
            )
    if out.is_dir():
        raise OutputPathError(f"output path {out} is a folder; give a file name (e.g. {out / 'out.json'}).")
    ancestor = out.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if ancestor.exists() and not ancestor.is_dir():
        folder = _Target(ancestor)
        hit = next((Path(i) for i in inputs if folder.is_(Path(i))), None)
        what = f"the input file {hit}" if hit is not None else "a file, not a folder"
        raise OutputPathError(f"cannot write {out}: {ancestor} is {what}. Choose another output path.")
    return out


def _new_file_mode(target: Path) -> int:
    try:
        return stat.S_IMODE(target.stat().st_mode)  # keep the mode of the file replaced
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_dir(folder: Path) -> None:
    """Make the rename durable (best effort; not possible on every platform)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _fsync_path(p: Path) -> None:
    fd = os.open(p, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prepare(path: PathLike, inputs: Iterable[PathLike]) -> tuple[Path, Path]:
    """Check ``path``, create its folder, and create the temporary file beside it."""
    out = check_output_path(path, tuple(inputs))
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".tmp{out.suffix}", dir=out.parent)
    except OSError as err:
        raise OutputPathError(f"cannot write {out}: {err.strerror or err}.") from err
    os.close(fd)
    return out, Path(tmp_name)


def _commit(tmp: Path, out: Path) -> None:
    """Flush ``tmp`` to disk, give it the output's mode and move it over ``out``."""
    _fsync_path(tmp)
    os.chmod(tmp, _new_file_mode(out))
    os.replace(tmp, out)
    _fsync_dir(out.parent)


def _discard(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        tmp.unlink()


def _failed(out: Path, err: OSError) -> OutputPathError:
    return OutputPathError(
        f"could not write {out}: {err.strerror or err}; the previous file (if any) is unchanged."
    )


def atomic_write_bytes(path: PathLike, data: bytes, *, inputs: Iterable[PathLike] = ()) -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring).

    Args:
        path: The output file; a missing parent folder is created.
        data: The bytes to write.
        inputs: Files the caller read; ``path`` may not be any of them.

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputPathError: ``path`` is refused (see :func:`check_output_path`), or the write
            failed (full disk, permissions); the old file is then intact and no temporary
            file is left behind.

    A device or pipe (``/dev/null``, ``/dev/stdout``, a FIFO) is written through directly:
    it is never replaced by a regular file.
    """
    if _is_special(Path(path).expanduser()):
        # a device or pipe (/dev/null, /dev/stdout, a FIFO): write through it, never replace the node
        out = check_output_path(path, tuple(inputs))
        try:
            with open(out, "wb") as fh:
                fh.write(data)
        except OSError as err:
            raise _failed(out, err) from err
        return out
    out, tmp = _prepare(path, inputs)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, _new_file_mode(out))
        os.replace(tmp, out)
    except OSError as err:
        _discard(tmp)
        raise _failed(out, err) from err
    except BaseException:
        _discard(tmp)
        raise
    _fsync_dir(out.parent)
    return out


def atomic_write_text(
    path: PathLike, text: str, *, inputs: Iterable[PathLike] = (), encoding: str = "utf-8"
) -> Path:
    """Write ``text`` to ``path`` atomically, encoded with ``encoding`` (see :func:`atomic_write_bytes`).

    Args:
        path: The output file; a missing parent folder is created.
        text: The text to write (newlines are written as given).
        inputs: Files the caller read; ``path`` may not be any of them.
        encoding: Text encoding (default UTF-8).

    Returns:
        ``path`` as a :class:`~pathlib.Path`.

    Raises:
        OutputPathError: See :func:`atomic_write_bytes`.
    """
    return atomic_write_bytes(path, text.encode(encoding), inputs=inputs)


def _is_special(p: Path) -> bool:
    """Whether ``p`` exists and is neither a regular file nor a folder (a device, a FIFO, a socket)."""
    try:
        return p.exists() and not p.is_file() and not p.is_dir()
    except OSError:
        return False


@contextlib.contextmanager
def atomic_output(path: PathLike, *, inputs: Iterable[PathLike] = ()) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` atomically.

    For code that writes through its own file object or a library that takes a file name
    (``Figure.savefig``): the temporary path has the output's suffix, so format detection by
    extension still works. If the ``with`` body raises, the temporary file is removed and
    ``path`` is untouched.

    Args:
        path: The output file; a missing parent folder is created.
        inputs: Files the caller read; ``path`` may not be any of them.

    Yields:
        The temporary path to write.

    Raises:
        OutputPathError: See :func:`atomic_write_bytes`.
    """
    if _is_special(Path(path).expanduser()):
        raise OutputPathError(
            f"output path {path} is a device or pipe, not a file; give a file name for this output."
        )
    out, tmp = _prepare(path, inputs)
    try:
        yield tmp
        _commit(tmp, out)
    except OSError as err:
        _discard(tmp)
        raise _failed(out, err) from err
    except BaseException:
        _discard(tmp)
        raise
