"""Exact memoization of costly results in the samples cache folder (``--no-cache`` bypasses it).

Two kinds of entry beside the samples entries of :mod:`lm_eval_mtl.io.cache`, written the same
way (msgpack, atomically, never pickle): ``r-<key>.msgpack``, a resampling result that costs
seconds (a corpus metric's bootstrap column), and ``o-<key>.msgpack``, a plain value built from
files (the parsed index of the shipped suites). A key names everything the value depends on, so
an entry is either exactly what would be computed or never found.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import numpy.typing as npt

from lm_eval_mtl.io.cache import FORMAT, _digest, _load, _store, _version, enabled, samples_folder

__all__ = ["cached_object", "cached_resample"]

_F8 = np.dtype("<f8")


class _ResampleEntry(msgspec.Struct, array_like=True):
    format: int
    key: str
    shape: list[int]
    data: bytes


_SOURCE_DIGEST: dict[str, str] = {}


def _code_digest(modules: Sequence[str]) -> str:
    """sha256 of the named modules' source files (an entry made by other code never matches)."""
    import importlib.util

    tag = "|".join(modules)
    got = _SOURCE_DIGEST.get(tag)
    if got is None:
        h = hashlib.sha256()
        for name in modules:
            spec = importlib.util.find_spec(name)
            origin = spec.origin if spec is not None else None
            h.update(name.encode())
            h.update(Path(origin).read_bytes() if origin else b"?")
        got = _SOURCE_DIGEST[tag] = h.hexdigest()
    return got


def cached_resample(
    parts: Sequence[str], modules: Sequence[str], compute: Callable[[], npt.NDArray[np.float64]]
) -> npt.NDArray[np.float64]:
    """Return a resampling result that costs seconds, kept under ``<cache folder>/r-<key>.msgpack``.

    Exact memoization: ``parts`` must name everything the result depends on (the data's
    digest, the stream's seed words, the number of resamples); the key adds the source of
    ``modules`` (the code that computes it), this package's and numpy's versions. With the
    cache off (``--no-cache``), or on any read failure, ``compute()`` runs.
    """
    if not enabled():
        return compute()
    key = _digest(["resample", FORMAT, _version(), np.__version__, _code_digest(modules), *parts])
    entry = samples_folder() / f"r-{key}.msgpack"
    got = _load(entry, _ResampleEntry, key)
    if got is not None:
        arr = np.frombuffer(got.data, dtype=_F8)
        if arr.size == int(np.prod(got.shape)):
            return arr.reshape(got.shape).astype(np.float64)
    value = np.asarray(compute(), dtype=np.float64)
    _store(
        entry,
        _ResampleEntry(FORMAT, key, list(value.shape), np.ascontiguousarray(value, dtype=_F8).tobytes()),
    )
    return value


class _ObjectEntry(msgspec.Struct, array_like=True):
    format: int
    key: str
    value: Any


def cached_object(kind: str, parts: Sequence[str], compute: Callable[[], Any]) -> Any:
    """Return a plain value (dicts, lists, text, numbers) built from files, kept as ``o-<key>.msgpack``.

    ``parts`` must name everything the value depends on (the files' identities). A value
    that does not come back from msgpack exactly as it is (a date, a tuple) is not cached.
    """
    if not enabled():
        return compute()
    key = _digest([kind, FORMAT, _version(), *parts])
    entry = samples_folder() / f"o-{key}.msgpack"
    got = _load(entry, _ObjectEntry, key)
    if got is not None:
        return got.value
    value = compute()
    try:
        same = msgspec.msgpack.decode(msgspec.msgpack.encode(value)) == value
    except Exception:  # noqa: BLE001 - not representable: computed every time
        same = False
    if same:
        _store(entry, _ObjectEntry(FORMAT, key, value))
    return value
