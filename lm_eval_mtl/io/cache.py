"""A disk cache of what samples files say (never stale).

Reading a samples file (:func:`lm_eval_mtl.io.samples.read_samples`), extracting the
corpus statistics of its BLEU/chrF/TER segments and coding the docs of clustered members are
the slow steps of ``report``, ``compare`` and ``transfer``; all depend only on the file's
content. Their results are kept under ``<cache root>/samples/`` as msgpack files
(``s-<key>.msgpack``, ``c-<key>.msgpack``, ``d-<key>.msgpack``),
encoded and decoded by msgspec into fixed types: numbers as little-endian arrays, text as
text, no pickle. (An ``.npz`` holds one zip member per array: ten times slower to write and
read for the many small files of a suite.) The cache root is :func:`cache_root`
(``$LM_EVAL_MTL_CACHE``, else ``$XDG_CACHE_HOME/lm-eval-mtl``, else ``~/.cache/lm-eval-mtl``).
``--no-cache`` (``$LM_EVAL_MTL_NO_CACHE=1``, :func:`set_enabled`) turns the cache off; deleting
the folder is always safe.

**Key.** An entry is named by a digest of: the cache format (:data:`FORMAT`) and the package
version; the file's device, inode, size, modification time and status-change time
(``st_mtime_ns``, ``st_ctime_ns``); the reader's options (filter, output type). The device and
inode name the file whatever path reaches it (links and symlinks share its entry); its path is
not part of the key (resolving it cost a system call per folder of the path, 40 us a file). Any write
to the file changes its ``st_ctime_ns`` (which no program can set back, unlike the
modification time that ``touch`` or ``cp -p`` restores), so a changed file gets a new key and
its old entry is never served. Hashing the content as well would put a full read of the file
back into every cached read: SHA-256 (hashlib, with SHA-NI) ran at 1.5 GB/s on the 2-CPU
test machine, 0.12 s for a 191 MB samples file whose entry loads in 0.004 s (decoding the file
takes 0.57 s); BLAKE2b and MD5 are slower there (0.6 GB/s). The stat key costs two ``stat``
calls.

Stat times have a granularity (a kernel tick, 1-10 ms; 2 s on FAT), so a file rewritten with
the same size within one tick of its last write keeps its stat. As git does for "racily
clean" files, an entry written less than :data:`RACY_SECONDS` after the file's last change
also stores the SHA-256 of the bytes that were decoded, and is served only after the file's
current content hashes the same (once the file is older than the window, the checked entry is
rewritten without the hash). Clocks that disagree
(a network file system whose server clock is seconds behind) can defeat the window: use
``--no-cache`` there.

**Safety.** An entry is written to a temporary file in the same folder and moved into place
with :func:`os.replace`, so concurrent processes see a whole entry or none; the last writer
wins, with the same content. An entry that cannot be read, is truncated, has another format
or does not match its key is ignored (and rewritten). A cache folder that cannot be created
or written silently turns writing off for the process; reading goes on without it.

**Workers.** Several files are read in worker processes by :mod:`lm_eval_mtl.io.workers`.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec
import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from lm_eval_mtl.io.columns import DocFields
    from lm_eval_mtl.io.samples import Extract
    from lm_eval_mtl.stats.corpus import CorpusStats

__all__ = [
    "FORMAT",
    "NO_CACHE_ENV",
    "RACY_SECONDS",
    "cache_root",
    "cached_corpus_stats",
    "cached_doc_fields",
    "configure",
    "enabled",
    "is_cached",
    "read_extract",
    "samples_folder",
    "set_enabled",
]

FORMAT = 2
"""Version of the entries' layout and of the extraction rules; bumped when either changes."""
RACY_SECONDS = 3.0
"""An entry written within this many seconds of the file's last change also checks the content."""

NO_CACHE_ENV = "LM_EVAL_MTL_NO_CACHE"
"""Environment variable: ``1`` turns the samples cache off (what ``--no-cache`` sets)."""

_state: dict[str, Any] = {"root": None, "write_failed": False}
_T = TypeVar("_T", bound=msgspec.Struct)


def cache_root() -> Path:
    """Return where lm-eval-mtl caches built artefacts.

    ``$LM_EVAL_MTL_CACHE`` if set, else ``$XDG_CACHE_HOME/lm-eval-mtl``, else
    ``~/.cache/lm-eval-mtl``.
    """
    env = os.environ.get("LM_EVAL_MTL_CACHE")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "lm-eval-mtl"


def samples_folder() -> Path:
    """Return the folder of the samples cache: ``<cache root>/samples``."""
    root = _state["root"]
    return (Path(root) if root is not None else cache_root()) / "samples"


def enabled() -> bool:
    """Whether the samples cache is on: unless ``$LM_EVAL_MTL_NO_CACHE`` is ``1`` (``--no-cache`` sets it)."""
    return os.environ.get(NO_CACHE_ENV, "").strip().lower() not in ("1", "true", "yes", "on")


def set_enabled(flag: bool) -> None:
    """Turn the samples cache on or off for this process and the processes it starts (sets the variable)."""
    if flag:
        os.environ.pop(NO_CACHE_ENV, None)
    else:
        os.environ[NO_CACHE_ENV] = "1"


def configure(root: str | None, on: bool) -> None:
    """Set the cache folder's root (None: :func:`cache_root`) and the switch (for worker processes)."""
    _state["root"] = root
    set_enabled(on)


# --------------------------------------------------------------------------- entries


def _digest(parts: Sequence[Any]) -> str:
    return hashlib.sha256(json.dumps(list(parts), default=str).encode("utf-8", "surrogatepass")).hexdigest()[
        :40
    ]


def _file_identity(path: Path) -> tuple[str, os.stat_result] | None:
    """(identity text, stat) of a regular file, or None when it cannot be told."""
    import stat

    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    ident = json.dumps([st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns])
    return ident, st


def _same_stat(a: os.stat_result, b: os.stat_result) -> bool:
    keys = ("st_dev", "st_ino", "st_size", "st_mtime_ns", "st_ctime_ns")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def _is_racy(st: os.stat_result) -> bool:
    return time.time_ns() - max(st.st_mtime_ns, st.st_ctime_ns) < RACY_SECONDS * 1e9


def _file_sha256(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


class _Doc(msgspec.Struct, array_like=True):
    names: list[str]
    keys: list[list[bytes]]
    codes: list[bytes]
    keysets: list[list[str]]
    keyset_index: bytes


class _Entry(msgspec.Struct, array_like=True):
    """A samples entry: arrays as little-endian bytes, text as text."""

    format: int
    key: str
    sha256: str
    doc_ids: bytes
    lines: bytes
    hashes: list[list[str]]
    scores: list[tuple[str, bytes]]
    n_choices: bytes | None
    pairs: list[tuple[str, list[str], list[str]]]
    nested: list[tuple[str, bytes, bytes]]
    filters: list[str]
    doc: _Doc | None  # None: the docs were not read


class _DocEntry(msgspec.Struct, array_like=True):
    format: int
    key: str
    doc: _Doc


class _CorpusEntry(msgspec.Struct, array_like=True):
    format: int
    key: str
    sha256: str
    rows: int
    stats: bytes


_I8, _F8 = np.dtype("<i8"), np.dtype("<f8")


def _ints(b: bytes) -> npt.NDArray[np.int64]:
    return np.frombuffer(b, dtype=_I8).astype(np.int64)


def _floats(b: bytes) -> npt.NDArray[np.float64]:
    return np.frombuffer(b, dtype=_F8).astype(np.float64)


def _doc_entry(df: DocFields) -> _Doc:
    return _Doc(
        names=list(df.keys),
        keys=[list(df.keys[k]) for k in df.keys],
        codes=[df.codes[k].astype(_I8).tobytes() for k in df.keys],
        keysets=[list(ks) for ks in df.keysets],
        keyset_index=df.keyset_index.astype(_I8).tobytes(),
    )


def _doc_fields(d: _Doc, n: int) -> DocFields:
    """Return the doc fields of ``n`` items stored in ``d``, checked to hold together (ValueError if not)."""
    from lm_eval_mtl.io.columns import DocFields

    doc_fields = DocFields(
        keys={name: tuple(k) for name, k in zip(d.names, d.keys, strict=True)},
        codes={name: _ints(c) for name, c in zip(d.names, d.codes, strict=True)},
        keysets=tuple(tuple(ks) for ks in d.keysets),
        keyset_index=_ints(d.keyset_index),
    )
    if any(a.size != n for a in (doc_fields.keyset_index, *doc_fields.codes.values())):
        raise ValueError("lengths")
    if n and (doc_fields.keyset_index.min() < 0 or doc_fields.keyset_index.max() >= len(doc_fields.keysets)):
        raise ValueError("keysets")
    for name, codes in doc_fields.codes.items():
        if n and (codes.min() < -2 or codes.max() >= len(doc_fields.keys[name])):
            raise ValueError("codes")
    return doc_fields


def _to_entry(key: str, sha: str, ext: Extract) -> _Entry:
    df = ext.doc_fields
    return _Entry(
        format=FORMAT,
        key=key,
        sha256=sha,
        doc_ids=ext.doc_ids.astype(_I8).tobytes(),
        lines=ext.lines.astype(_I8).tobytes(),
        hashes=[list(ext.doc_hashes), list(ext.prompt_hashes), list(ext.target_hashes)],
        scores=[(k, v.astype(_F8).tobytes()) for k, v in ext.scores.items()],
        n_choices=None if ext.n_choices is None else ext.n_choices.astype(_I8).tobytes(),
        pairs=[(k, list(r), list(q)) for k, (r, q) in ext.pairs.items()],
        nested=[(k, v.astype(_F8).tobytes(), o.astype(_I8).tobytes()) for k, (v, o) in ext.nested.items()],
        filters=list(ext.filters_available),
        doc=None if df is None else _doc_entry(df),
    )


def _from_entry(e: _Entry) -> Extract:
    """Rebuild the extraction, checking that the entry holds together (ValueError if not)."""
    from lm_eval_mtl.io.samples import Extract

    doc_ids, lines = _ints(e.doc_ids), _ints(e.lines)
    n = doc_ids.size
    doc_fields = None if e.doc is None else _doc_fields(e.doc, n)
    scores = {k: _floats(v) for k, v in e.scores}
    nested = {k: (_floats(v), _ints(o)) for k, v, o in e.nested}
    n_choices = None if e.n_choices is None else _ints(e.n_choices)
    per_item = [lines, *scores.values()]
    if n_choices is not None:
        per_item.append(n_choices)
    if len(e.hashes) != 3 or any(a.size != n for a in per_item) or any(len(h) != n for h in e.hashes):
        raise ValueError("lengths")
    if any(len(r) != n or len(q) != n for _, r, q in e.pairs):
        raise ValueError("pairs")
    if any(v.size != o.size or (o.size and (o.min() < 0 or o.max() >= n)) for v, o in nested.values()):
        raise ValueError("nested")
    return Extract(
        doc_ids=doc_ids,
        lines=lines,
        doc_hashes=tuple(e.hashes[0]),
        prompt_hashes=tuple(e.hashes[1]),
        target_hashes=tuple(e.hashes[2]),
        scores=scores,
        n_choices=n_choices,
        pairs={k: (tuple(r), tuple(q)) for k, r, q in e.pairs},
        nested=nested,
        filters_available=tuple(e.filters),
        doc_fields=doc_fields,
    )


_DECODERS: dict[type[Any], Any] = {}


def _load(entry: Path, kind: type[_T], key: str) -> _T | None:
    """Return the entry of ``kind`` under ``key``, or None if it is absent, foreign or unreadable."""
    decoder = _DECODERS.get(kind)
    if decoder is None:
        decoder = _DECODERS[kind] = msgspec.msgpack.Decoder(kind)
    try:
        got = decoder.decode(entry.read_bytes())
    except Exception:  # noqa: BLE001 - a missing, truncated or foreign entry is a miss, whatever the error
        return None
    if got.format != FORMAT or got.key != key:
        return None
    return got  # type: ignore[no-any-return]


def _store(entry: Path, item: msgspec.Struct) -> None:
    """Write an entry atomically; on any failure write nothing (and stop trying when the folder is unwritable)."""
    if _state["write_failed"]:
        return
    try:
        payload = msgspec.msgpack.encode(item)
    except Exception:  # noqa: BLE001 - text msgpack cannot hold (a lone surrogate): not cached
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=entry.suffix, dir=entry.parent)
    except OSError:
        _state["write_failed"] = True
        return
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, entry)
    except Exception:  # noqa: BLE001 - a full disk or a vanished folder: no entry, no error
        try:
            os.unlink(tmp)
        except OSError:
            pass


def _entry(path: Path, options: Sequence[Any]) -> tuple[Path, str, str, os.stat_result] | None:
    ident = _file_identity(path)
    if ident is None:
        return None
    key = _digest(["samples", FORMAT, _version(), ident[0], *options])
    return samples_folder() / f"s-{key}.msgpack", key, ident[0], ident[1]


def is_cached(path: Path, options: Sequence[Any]) -> bool:
    """Whether an entry for ``path`` under ``options`` exists (not checked: a quick look)."""
    if not enabled():
        return False
    found = _entry(path, options)
    return found is not None and found[0].is_file()


def read_extract(
    path: Path,
    options: Sequence[Any],
    compute: Callable[[Any], Extract],
) -> tuple[Extract, str]:
    """Return the extraction of ``path`` under ``options``, from the cache or by ``compute``.

    Args:
        path: The samples file.
        options: The reader's options (filter, output type): part of the key.
        compute: Reads the file; called with a :mod:`hashlib` object to feed the bytes it
            decodes, or None (the content hash is needed only for a recently changed file).

    Returns:
        The extraction, and a key naming the file's content ('' when the cache is off or the
        file cannot be identified), for entries derived from it (:func:`cached_corpus_stats`).
    """
    found = _entry(path, options) if enabled() else None
    if found is None:
        return compute(None), ""
    entry, key, text, st = found
    loaded = _load(entry, _Entry, key)
    if loaded is not None:
        try:
            ext: Extract | None = _from_entry(loaded)
        except Exception:  # noqa: BLE001 - an entry that does not hold together is a miss
            ext = None
        if ext is not None and not loaded.sha256:
            return ext, key
        if ext is not None and _file_sha256(path) == loaded.sha256:
            if not _is_racy(st):  # old enough now: trusted by its stat from here on
                loaded.sha256 = ""
                _store(entry, loaded)
                return ext, key
            return ext, f"{key}:{loaded.sha256}"
    hasher = hashlib.sha256() if _is_racy(st) else None
    ext = compute(hasher)
    again = _file_identity(path)
    if again is None or again[0] != text or not _same_stat(again[1], st):
        return ext, ""  # the file changed while it was read: keep nothing
    sha = hasher.hexdigest() if hasher is not None else ""
    _store(entry, _to_entry(key, sha, ext))
    return ext, f"{key}:{sha}" if sha else key


def cached_corpus_stats(samples_key: str, metric: str, compute: Callable[[], CorpusStats]) -> CorpusStats:
    """Return corpus segment statistics of one samples file's metric, from the cache or by ``compute``.

    Args:
        samples_key: :attr:`lm_eval_mtl.io.samples.TaskSamples.cache_key` of the samples
            ('' : no caching).
        metric: The corpus metric (default options).
        compute: Computes the statistics.
    """
    if not samples_key or not enabled():
        return compute()
    from lm_eval_mtl.stats.corpus import DEFAULT_OPTIONS, CorpusStats

    options = json.dumps(DEFAULT_OPTIONS.get(metric, {}), sort_keys=True, default=str)
    key = _digest(["corpus", FORMAT, _version(), _sacrebleu_version(), samples_key, metric, options])
    entry = samples_folder() / f"c-{key}.msgpack"
    loaded = _load(entry, _CorpusEntry, key)
    if loaded is not None:
        try:
            stats = _floats(loaded.stats).reshape(loaded.rows, -1)
            return CorpusStats(metric, stats)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - a broken entry is a miss
            pass
    computed = compute()
    if dict(computed.options) == dict(DEFAULT_OPTIONS.get(metric, {})):
        rows = np.ascontiguousarray(computed.stats, dtype=_F8)
        _store(entry, _CorpusEntry(FORMAT, key, "", int(rows.shape[0]), rows.tobytes()))
    return computed


def cached_doc_fields(samples_key: str, n: int, compute: Callable[[], DocFields]) -> DocFields:
    """Return the doc fields of one samples file's items, from the cache or by ``compute``.

    Args:
        samples_key: :attr:`lm_eval_mtl.io.samples.TaskSamples.cache_key` of the samples
            ('' : no caching).
        n: The number of items.
        compute: Reads the docs from the file.
    """
    if not samples_key or not enabled():
        return compute()
    key = _digest(["docs", FORMAT, _version(), samples_key])
    entry = samples_folder() / f"d-{key}.msgpack"
    loaded = _load(entry, _DocEntry, key)
    if loaded is not None:
        try:
            return _doc_fields(loaded.doc, n)
        except Exception:  # noqa: BLE001 - a broken entry is a miss
            pass
    computed = compute()
    _store(entry, _DocEntry(FORMAT, key, _doc_entry(computed)))
    return computed


def _version() -> str:
    from lm_eval_mtl import __version__

    return __version__


@functools.lru_cache(maxsize=1)
def _sacrebleu_version() -> str:
    """Return the version of sacrebleu, from its dist-info folder (importlib.metadata costs 0.1 s)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("sacrebleu")
        if spec is not None and spec.origin:
            found = sorted(Path(spec.origin).parent.parent.glob("sacrebleu-*.dist-info"))
            if len(found) == 1:
                return found[0].name[len("sacrebleu-") : -len(".dist-info")]
        from importlib.metadata import version

        return version("sacrebleu")
    except Exception:  # noqa: BLE001 - not installed: segment_stats will say so
        return "?"
