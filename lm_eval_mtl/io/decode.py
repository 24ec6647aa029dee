"""Streaming, typed decode of lm-eval samples files: only the fields the package reads.

:func:`extract_samples` reads a ``samples_*.jsonl`` file line by line and keeps, per record
of the chosen filter, only what :class:`~lm_eval_mtl.io.samples.TaskSamples` holds: the doc
id, the three hashes, the metric values, the number of loglikelihood requests and, when asked,
a compact key per top-level scalar field of the doc (:class:`DocFields`). ``arguments``, ``resps``
and ``filtered_resps`` are never built as Python objects, and no record is kept once read. The
docs are a third of the decoding work and only clustered members need them, so the samples
reader leaves them out; :func:`read_doc_fields` reads them from the records' lines when asked.

The fast path decodes a line with msgspec into a struct of :class:`msgspec.Raw` fields (the
bytes of each value; values are still checked for JSON syntax), then the small values in one
call. It is taken only where it gives what the generic decoder gives: the line must be laid out
as ``json.dumps`` writes it (``{"doc_id": ..., "key": value, ...}``) and be exactly as long as
the keys and values the struct saw, which proves that no top-level key is repeated or unknown.
Every other line (other spacing, a repeated key, ``NaN``, a number or escape msgspec refuses)
goes through the generic decoder (``json.loads`` refusing repeated keys), so each error keeps
its text (``{path}:{line}: ...``). Inside the values the package does not read (``arguments``,
``resps``, nested doc values, the doc of a record of another filter), a repeated key or a
300-digit integer is no longer refused.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterator, Mapping, Sequence
from itertools import compress
from pathlib import Path
from typing import Any

import msgspec

from lm_eval_mtl.errors import ResultsFormatError
from lm_eval_mtl.io.columns import BIG as _BIG
from lm_eval_mtl.io.columns import FIXED_KEYS, PAIR_METRICS, Columns, DocFields, value_key
from lm_eval_mtl.io.columns import FIXED_ORDER as _FIXED_ORDER
from lm_eval_mtl.io.values import opt_int

__all__ = [
    "FIXED_KEYS",
    "PAIR_METRICS",
    "SAMPLES_WHAT",
    "Columns",
    "read_doc_fields",
    "read_docs",
    "scan_file",
    "value_key",
]

SAMPLES_WHAT = "an lm-eval samples file (samples_<task>_<timestamp>.jsonl, one JSON record per line)"
"""What a samples file is, for messages."""

_NFIX = len(_FIXED_ORDER)
_MAX_FIELDS = 64  # more distinct top-level keys than this: no struct, a dict per line
_ABSENT = msgspec.Raw(b"")
_BOM = b"\xef\xbb\xbf"
_WS = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # what str.strip() strips from ASCII text
_ANY = msgspec.json.Decoder()
_RAW_DICT = msgspec.json.Decoder(dict[str, msgspec.Raw])


class _Arg(msgspec.Struct):
    """One request of ``arguments`` in the v0.4 layout (``{"arg_0": ..., "arg_1": ...}``); arg_0 skipped."""

    arg_1: Any = msgspec.UNSET


class _StrArg(msgspec.Struct):
    """A request whose continuation is a string (a loglikelihood request); arg_0 skipped."""

    arg_1: str


_ARGS = msgspec.json.Decoder(dict[str, _Arg])
_STR_ARGS = msgspec.json.Decoder(dict[str, _StrArg])


class _Fallback(Exception):
    """The fast path cannot vouch for this line: decode it with the generic decoder."""


class _Reorder(Exception):
    """The line adds metric names: take them, in the line's key order, from a dict decode."""


def _listed_ok(listed: Any) -> bool:
    return isinstance(listed, list) and all(isinstance(x, str) for x in listed)


def _args_info(args: Any, mutual_info: bool) -> tuple[int, bool]:
    """Count the choices of ``arguments`` and tell whether each request is a (context, continuation) pair."""
    n = len(args) if isinstance(args, (Mapping, list)) else 0
    items = list(args.values()) if isinstance(args, Mapping) else list(args) if isinstance(args, list) else []
    loglik = bool(items)
    for a in items:
        second = (
            a.get("arg_1") if isinstance(a, Mapping) else a[1] if isinstance(a, list) and len(a) > 1 else None
        )
        if not isinstance(second, str):
            loglik = False
            break
    if mutual_info:  # lm-eval adds one unconditional request per choice
        n //= 2
    return n, loglik


def _raw_args_info(raw: msgspec.Raw, mutual_info: bool) -> tuple[int, bool]:
    """:func:`_args_info` of ``arguments`` given as JSON text, reading only the continuations."""
    head = memoryview(raw)[:1].tobytes()
    if head != b"{":
        return _args_info(_ANY.decode(raw), mutual_info) if head == b"[" else (0, False)
    try:
        n, loglik = len(_STR_ARGS.decode(raw)), True
    except msgspec.ValidationError:  # some continuation is not a string
        try:
            n, loglik = len(_ARGS.decode(raw)), False
        except msgspec.ValidationError:  # some request is not an object: read them all
            return _args_info(_ANY.decode(raw), mutual_info)
    return (n // 2 if mutual_info else n), loglik and n > 0


def _huge_field(doc: Any) -> bool:
    """Whether a top-level field of ``doc`` is an integer of more than 300 digits."""
    return type(doc) is dict and any(type(v) is int and (v >= _BIG or v <= -_BIG) for v in doc.values())


def _huge(value: Any) -> bool:
    """Whether ``value`` holds an integer of more than 300 digits (refused by the generic decoder)."""
    if type(value) is int:
        return value >= _BIG or value <= -_BIG
    if isinstance(value, list):
        return any(_huge(v) for v in value)
    if isinstance(value, dict):
        return any(_huge(v) for v in value.values())
    return False


# --------------------------------------------------------------------------- the two decoders


def _generic_record(scan: Columns, lineno: int, rec: Mapping[str, Any]) -> None:
    """Add a record decoded by ``json.loads``: the reference semantics of the fast path."""
    f = rec.get("filter", "none")
    f = f if isinstance(f, str) else "none"
    scan.filters.setdefault(f, None)
    if f != scan.want:
        return
    keys = [k for k in rec if k not in FIXED_KEYS]
    scan.add_names(rec.get("metrics"), keys)
    if scan.keep_fixed:
        keys = list(rec)
    scan.add(
        lineno,
        rec.get("doc_id"),
        "filter" in rec,
        (rec.get("doc_hash"), rec.get("prompt_hash"), rec.get("target_hash")),
        keys,
        [rec[k] for k in keys],
        _args_info(rec.get("arguments"), "acc_mutual_info" in rec) if scan.need_args else (0, False),
        rec.get("doc") if scan.docs else None,
    )


def _generic_line(scan: Columns, path: Path, lineno: int, raw: bytes) -> None:
    """Decode one line with :func:`~lm_eval_mtl.io.files.loads_strict`, with the reader's exact errors."""
    from lm_eval_mtl.io.files import loads_or_refuse

    line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
    if not line.strip():
        return
    scan.n_records += 1
    trunc = "" if line.endswith("\n") else " (the last line is cut off: the file looks truncated)"
    rec = loads_or_refuse(line, path, what=SAMPLES_WHAT, line=lineno, suffix=lambda err: trunc)
    if not isinstance(rec, Mapping) or "doc_id" not in rec:
        raise ResultsFormatError(
            f"{path}:{lineno}: not an lm-eval samples record (expected an object with 'doc_id')."
        )
    _generic_record(scan, lineno, rec)


def _seg(key: str) -> int:
    """Bytes a ``"key": value, `` segment adds to a ``json.dumps`` line, less the value's length."""
    return len(json.dumps(key, ensure_ascii=False).encode("utf-8", "surrogatepass")) + 4


class _Typed:
    """The fast path: a msgspec struct of :class:`msgspec.Raw` fields, rebuilt when new keys appear."""

    def __init__(self, scan: Columns) -> None:
        self.scan = scan
        self.extra: list[str] = []
        self.decoder: msgspec.json.Decoder[Any] | None = None
        self.seg: list[int] = []
        self.full = 0
        self.segs: dict[str, int] = {}

    def _rebuild(self) -> None:
        names = [*_FIXED_ORDER, *self.extra]
        fields = [(f"f{i}", msgspec.Raw, msgspec.field(default=_ABSENT, name=k)) for i, k in enumerate(names)]
        self.decoder = msgspec.json.Decoder(msgspec.defstruct("_Record", fields))
        self.seg = [_seg(k) for k in names]
        self.full = sum(self.seg)

    def line(self, lineno: int, body: bytes) -> None:
        """Add one record (``body``: the line without its end, from ``{`` to ``}``).

        Raises:
            _Fallback: The line needs the generic decoder (so does any msgspec error).
        """
        if self.decoder is None or not body.startswith(b'{"doc_id": '):
            return self._dict_line(lineno, body)
        vals = msgspec.structs.astuple(self.decoder.decode(body))
        lens = list(map(len, vals))
        expect = sum(lens) + (self.full if 0 not in lens else sum(compress(self.seg, lens)))
        if expect != len(body):  # a key the struct does not know, or a repeated one
            return self._dict_line(lineno, body)
        keys: Sequence[str] = self.extra
        values: Sequence[Any] = vals[_NFIX:]
        elens = lens[_NFIX:]
        if 0 in elens:
            keys, values = list(compress(keys, elens)), list(compress(values, elens))
        try:
            self._record(lineno, vals, lens, keys, values, False)
        except _Reorder:
            self._dict_line(lineno, body)

    def _dict_line(self, lineno: int, body: bytes) -> None:
        d = _RAW_DICT.decode(body)
        segs = self.segs
        for k in d:
            if k not in segs:
                segs[k] = _seg(k)
        if "doc_id" not in d or sum(segs[k] + len(v) for k, v in d.items()) != len(body):
            raise _Fallback
        if not body.startswith(b"{" + json.dumps(next(iter(d)), ensure_ascii=False).encode() + b": "):
            raise _Fallback
        new = [k for k in d if k not in FIXED_KEYS and k not in self.extra]
        if (new or self.decoder is None) and len(self.extra) + len(new) <= _MAX_FIELDS:
            self.extra.extend(new)
            self._rebuild()
        vals = [d.get(k, _ABSENT) for k in _FIXED_ORDER]
        keys = [k for k in d if k not in FIXED_KEYS]
        self._record(lineno, vals, list(map(len, vals)), keys, [d[k] for k in keys], True)

    def _record(
        self,
        lineno: int,
        vals: Sequence[Any],
        lens: Sequence[int],
        keys: Sequence[str],
        values: Sequence[Any],
        exact_order: bool,
    ) -> None:
        scan = self.scan
        if not lens[0]:
            raise _Fallback  # no doc_id: the generic decoder names the problem
        f = _ANY.decode(vals[1]) if lens[1] else "none"
        if type(f) is not str:
            f = "none"
        small = [*vals[:6], *values]
        if 0 in lens[:6]:
            small = [v if len(v) else b"null" for v in small]
        long = max(lens[0], *lens[2:6], *map(len, values)) > 300  # room for a 301-digit integer
        if f != scan.want:
            if long and _huge(_ANY.decode(b"[" + b",".join(small) + b"]")):
                raise _Fallback
            scan.filters.setdefault(f, None)
            return
        decoded = _ANY.decode(b"[" + b",".join(small) + b"]")
        if long and _huge(decoded):
            raise _Fallback
        listed = decoded[2]
        if not exact_order and listed != scan.last_listed and not _listed_ok(listed):
            if any(k not in scan.names for k in keys):
                raise _Reorder
        args = (0, False)
        if scan.need_args and lens[7]:
            args = _raw_args_info(vals[7], "acc_mutual_info" in keys)
        doc = _ANY.decode(vals[6]) if lens[6] and scan.docs else None
        if _huge_field(doc):
            raise _Fallback
        scan.filters.setdefault(f, None)
        scan.add_names(listed, keys)
        scan.add(lineno, decoded[0], bool(lens[1]), decoded[3:6], keys, decoded[6:], args, doc)


def _open_lines(path: Path, hasher: Any = None) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) of each line, checked as :func:`lm_eval_mtl.io.files.iter_file_lines` does."""
    from lm_eval_mtl.io.files import GZIP_MAGIC, check_regular_file

    what = SAMPLES_WHAT
    check_regular_file(path, what=what)
    try:
        fh = path.open("rb", buffering=1 << 20)
    except PermissionError:
        raise ResultsFormatError(
            f"{path}: permission denied (cannot read the file); expected {what}."
        ) from None
    except OSError as err:
        raise ResultsFormatError(
            f"{path}: cannot be read ({err.strerror or err}); expected {what}."
        ) from None
    with fh:
        for lineno, raw in enumerate(fh, start=1):
            if hasher is not None:
                hasher.update(raw)
            if lineno == 1 and raw[:2] == GZIP_MAGIC:
                raise ResultsFormatError(
                    f"{path} is gzip-compressed; expected {what} as plain text: decompress it first "
                    f"(gunzip -k {path.name})."
                )
            if not raw.isascii():
                try:
                    raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
                except UnicodeDecodeError as err:
                    bad = raw[err.start : err.start + 1].hex()
                    raise ResultsFormatError(
                        f"{path}:{lineno}: not UTF-8 text (byte 0x{bad} at column {err.start + 1}: "
                        f"{err.reason}); expected {what} in UTF-8."
                    ) from None
            yield lineno, raw


def scan_file(
    path: Path, filter: str, need_args: bool, *, docs: bool = True, fast: bool = True, hasher: Any = None
) -> Columns:
    """Read the file once and return the columns of ``filter``'s records.

    Args:
        path: The samples file.
        filter: The filter whose records to keep.
        need_args: Whether to count the requests of ``arguments`` (multiple-choice tasks).
        docs: Whether to code the docs' top-level fields (else the docs are only checked as JSON).
        fast: Use the typed fast path where it applies (False: the generic decoder only; it
            also keeps fixed keys' values, for a record that lists one as a metric).
        hasher: A :mod:`hashlib` object fed every byte read, or None.

    Raises:
        ResultsFormatError: The file cannot be read, or a line is not a samples record (line named).
    """
    scan = Columns(want=filter, need_args=need_args, keep_fixed=not fast, docs=docs)
    typed = _Typed(scan)
    collect = gc.isenabled()
    gc.disable()  # reading makes no reference cycles: the collector would only walk the young records
    try:
        _scan_lines(scan, typed, path, fast, hasher)
    finally:
        if collect:
            gc.enable()
    return scan


def _scan_lines(scan: Columns, typed: _Typed, path: Path, fast: bool, hasher: Any) -> None:
    for lineno, raw in _open_lines(path, hasher):
        body = raw[3:] if lineno == 1 and raw.startswith(_BOM) else raw
        body = body.rstrip(b"\n")
        if body.endswith(b"\r"):
            body = body[:-1]
        if fast and body[:1] == b"{" and body[-1:] == b"}":
            try:
                typed.line(lineno, body)  # adds nothing unless it succeeds
            except (_Fallback, msgspec.MsgspecError, ValueError, RecursionError):
                pass
            else:
                scan.n_records += 1
                continue
        elif raw.isascii() and not body.strip(_WS):
            continue
        _generic_line(scan, path, lineno, raw)


class _DocLine(msgspec.Struct):
    """What :func:`read_doc_fields` decodes of a record it reads again."""

    doc_id: Any = None
    doc: msgspec.Raw = _ABSENT


_DOC_LINE = msgspec.json.Decoder(_DocLine)


def _records_at(path: Path, lines: Sequence[int]) -> Iterator[tuple[int, Any, Any]]:
    """(line, doc_id, doc) of the records at ``lines`` (1-based) of ``path``, read again, in file order.

    A line decodes as when the file was first read: msgspec where it can vouch for the doc,
    else ``loads_strict`` (whose errors are named as the first read named them).

    Raises:
        ResultsFormatError: Such a line is no longer a JSON record, or its doc holds a top-level
            integer of more than 300 digits.
    """
    from lm_eval_mtl.io.files import loads_or_refuse

    wanted = set(lines)
    last = max(wanted, default=0)
    if not last:
        return
    for lineno, raw in _open_lines(path):
        if lineno in wanted:
            body = raw[3:] if lineno == 1 and raw.startswith(_BOM) else raw
            try:
                rec = _DOC_LINE.decode(body)
                doc = _ANY.decode(rec.doc) if len(rec.doc) else None
                if _huge_field(doc):
                    raise ValueError("a top-level doc field of more than 300 digits")
                doc_id = rec.doc_id
            except (msgspec.MsgspecError, ValueError, RecursionError):
                full = loads_or_refuse(
                    raw.decode("utf-8-sig" if lineno == 1 else "utf-8"),
                    path,
                    what=SAMPLES_WHAT,
                    line=lineno,
                    suffix=lambda err: " (the file changed since it was read)",
                )
                doc_id, doc = (
                    (full.get("doc_id"), full.get("doc")) if isinstance(full, Mapping) else (None, None)
                )
            yield lineno, doc_id, doc
        if lineno >= last:
            break


def read_docs(path: Path, lines: Sequence[int]) -> list[Mapping[str, Any]]:
    """Return the ``doc`` of the records at ``lines`` (1-based) of ``path``, read again from the file.

    Raises:
        ResultsFormatError: Such a line is no longer a JSON record.
    """
    found = {lineno: doc if isinstance(doc, Mapping) else {} for lineno, _, doc in _records_at(path, lines)}
    return [found.get(x, {}) for x in lines]


def read_doc_fields(path: Path, lines: Sequence[int], doc_ids: Sequence[int]) -> DocFields:
    """Code the docs' top-level fields of the records at ``lines`` of ``path``.

    ``doc_ids`` are the records' ids as first read: a record that now has another id, or a
    line that is gone, means the file changed since.

    Raises:
        ResultsFormatError: The file changed since it was read, or a doc field holds an integer
            of more than 300 digits (as :func:`scan_file` says with ``docs=True``).
    """
    docs: dict[int, Any] = {}
    for lineno, doc_id, doc in _records_at(path, lines):
        docs[lineno] = (doc_id, doc)
    scan = Columns(want="", need_args=False)
    for i, (lineno, want_id) in enumerate(zip(lines, doc_ids, strict=True)):
        got = docs.get(lineno)
        if got is None or opt_int(got[0]) != want_id:
            raise ResultsFormatError(
                f"{path}:{lineno}: the record is not the one read before (doc_id {want_id}); the file changed "
                "since it was read. Read the run again."
            )
        scan.add_docs([got[1]], i)
    return scan.doc_fields(len(lines))
