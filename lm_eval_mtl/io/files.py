"""Opening input files without hanging or crashing: kind, permission, compression, encoding, JSON.

Every reader of user-supplied files (results JSON, samples JSONL, panel CSV) goes through
these helpers, so a FIFO, a device, an unreadable path, a gzip-compressed file, invalid
UTF-8, absurdly deep JSON or a huge integer literal becomes one error naming the file and
what was expected, never a hang or a traceback.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from lm_eval_mtl.errors import MTLError, ResultsFormatError

__all__ = [
    "GZIP_MAGIC",
    "DuplicateKeyError",
    "check_folder",
    "check_regular_file",
    "decode_utf8",
    "file_kind",
    "iter_file_lines",
    "json_problem",
    "loads_or_refuse",
    "loads_strict",
    "read_input_bytes",
]

GZIP_MAGIC = b"\x1f\x8b"
"""The first two bytes of a gzip stream."""

ErrorType = Callable[[str], MTLError]


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (raised by :func:`loads_strict`)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def file_kind(path: Path) -> str | None:
    """Name what ``path`` is when it is neither a regular file nor a folder (``a FIFO (named pipe)`` ...).

    Symbolic links are followed. Returns None for a regular file, a folder or a missing path.
    """
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except PermissionError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def check_regular_file(path: Path, *, what: str, error: ErrorType = ResultsFormatError) -> None:
    """Refuse ``path`` unless it is a regular file (a FIFO or a device would block or never end).

    Args:
        path: The path.
        what: What was expected there, for the message (``an lm-eval results JSON file``).
        error: The error class to raise.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MTLError: (``error``) ``path`` is a folder, a FIFO, a device or a socket.
    """
    kind = file_kind(path)
    if kind is not None:
        raise error(f"{path} is {kind}, not a regular file; expected {what}.")
    if path.is_dir():
        raise error(f"{path} is a folder; expected {what}.")
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; expected {what}.")


def check_folder(path: Path, *, what: str, error: ErrorType = ResultsFormatError) -> None:
    """Refuse a folder that cannot be listed.

    Raises:
        MTLError: (``error``) the folder is not readable.
    """
    if not os.access(path, os.R_OK | os.X_OK):
        raise error(f"{path}: permission denied (cannot list the folder); expected {what}.")


def read_input_bytes(path: Path, *, what: str, error: ErrorType = ResultsFormatError) -> bytes:
    """Read the bytes of a regular file, refusing what cannot be read and gzip-compressed content.

    Args:
        path: The file.
        what: What was expected there, for messages.
        error: The error class to raise.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MTLError: (``error``) not a regular file, permission denied, other OS errors, or gzip data.
    """
    check_regular_file(path, what=what, error=error)
    try:
        data = path.read_bytes()
    except PermissionError:
        raise error(f"{path}: permission denied (cannot read the file); expected {what}.") from None
    except OSError as err:
        raise error(f"{path}: cannot be read ({err.strerror or err}); expected {what}.") from None
    if data[:2] == GZIP_MAGIC:
        raise error(
            f"{path} is gzip-compressed; expected {what} as plain text: decompress it first "
            f"(gunzip -k {path.name})."
        )
    return data


def decode_utf8(data: bytes, path: Path, *, what: str, error: ErrorType = ResultsFormatError) -> str:
    """Decode ``data`` as UTF-8 text (a leading BOM is dropped), or an error naming line and byte.

    Raises:
        MTLError: (``error``) the bytes are not UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        col = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        bad = data[err.start : err.start + 1].hex()
        raise error(
            f"{path}:{line}: not UTF-8 text (byte 0x{bad} at column {col}: {err.reason}); expected {what} "
            "in UTF-8: re-save it as UTF-8 (e.g. iconv -f latin1 -t utf-8)."
        ) from None


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for k, _ in pairs:
            if k in seen:
                raise DuplicateKeyError(k)
            seen.add(k)
    return out


_MAX_INT_DIGITS = 300
"""Longest integer literal accepted (a float holds up to ~1.8e308; longer ones overflow)."""


def _parse_int(literal: str) -> int:
    if len(literal.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError(
            f"an integer literal of {len(literal.lstrip('-'))} digits, beyond any metric or count"
        )
    return int(literal)


def loads_strict(text: str) -> Any:
    """``json.loads`` that refuses duplicate keys in any object.

    Raises:
        DuplicateKeyError: Some object names a key twice.
        json.JSONDecodeError: Invalid JSON.
        RecursionError: Nesting too deep for the parser.
        ValueError: An integer literal of more than 300 digits (no float holds it; Python's
            int-string conversion limit is 4300).
    """
    return json.loads(text, object_pairs_hook=_pairs_hook, parse_int=_parse_int)


def json_problem(err: BaseException) -> str | None:
    """Say what a non-syntax failure of :func:`loads_strict` means, for a message; None if not one of them."""
    if isinstance(err, DuplicateKeyError):
        return (
            f"the key {err.key!r} appears twice in one JSON object (the reader would silently keep the last)"
        )
    if isinstance(err, RecursionError):
        return "the JSON is nested too deeply to read"
    if isinstance(err, ValueError) and not isinstance(err, json.JSONDecodeError):
        return f"a JSON number cannot be read ({str(err).split(';')[0]})"
    return None


def loads_or_refuse(
    text: str,
    path: Path,
    *,
    what: str,
    line: int | None = None,
    suffix: Callable[[json.JSONDecodeError], str] = lambda err: "",
) -> Any:
    """:func:`loads_strict` of ``text``, read from ``path``; a failure is a one-line error naming the place.

    Args:
        text: The JSON text (a whole file, or one line of it).
        path: The file, for the message.
        what: What the file should be, for the message.
        line: The line ``text`` is (None: ``text`` is the whole file, and a syntax error names its own line).
        suffix: Text added to a syntax error's message (a hint such as "the file looks truncated").

    Raises:
        ResultsFormatError: Invalid JSON (line and column), a repeated key, a number too long
            or nesting too deep.
    """
    try:
        return loads_strict(text)
    except json.JSONDecodeError as err:
        at = err.lineno if line is None else line
        raise ResultsFormatError(
            f"{path}:{at}: invalid JSON at column {err.colno}: {err.msg}{suffix(err)}."
        ) from None
    except (ValueError, RecursionError) as err:
        problem = json_problem(err)
        if problem is None:  # pragma: no cover - every ValueError of json.loads is named above
            raise
        where = f"{path}" if line is None else f"{path}:{line}"
        raise ResultsFormatError(f"{where}: {problem}; expected {what}.") from None


def iter_file_lines(
    path: Path, *, what: str, error: ErrorType = ResultsFormatError
) -> Iterator[tuple[int, str]]:
    """(1-based line number, text) of each line of a regular file, streamed and decoded as UTF-8.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        MTLError: (``error``) not a regular file, permission denied, gzip data, or a line that is
            not UTF-8 (line and byte named).
    """
    check_regular_file(path, what=what, error=error)
    try:
        fh = path.open("rb")
    except PermissionError:
        raise error(f"{path}: permission denied (cannot read the file); expected {what}.") from None
    except OSError as err:
        raise error(f"{path}: cannot be read ({err.strerror or err}); expected {what}.") from None
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if lineno == 1 and raw[:2] == GZIP_MAGIC:
                raise error(
                    f"{path} is gzip-compressed; expected {what} as plain text: decompress it first "
                    f"(gunzip -k {path.name})."
                )
            try:
                text = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
            except UnicodeDecodeError as err:
                bad = raw[err.start : err.start + 1].hex()
                raise error(
                    f"{path}:{lineno}: not UTF-8 text (byte 0x{bad} at column {err.start + 1}: "
                    f"{err.reason}); expected {what} in UTF-8."
                ) from None
            yield lineno, text
