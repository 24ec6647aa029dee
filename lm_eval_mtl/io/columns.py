"""The columns a samples file gives while it is read: what :mod:`lm_eval_mtl.io.decode` fills.

:class:`Columns` holds, for the records of one filter, the doc ids, hashes, metric values, request
counts and (when asked) doc-field codes as plain lists, filled one record at a time (:meth:`Columns.add`, the
typed and generic decoders alike); :class:`DocFields` is what the doc-field codes become.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["BIG", "FIXED_KEYS", "FIXED_ORDER", "PAIR_METRICS", "Columns", "DocFields", "value_key"]

FIXED_ORDER = (
    *("doc_id", "filter", "metrics", "doc_hash", "prompt_hash", "target_hash", "doc", "arguments"),
    *("target", "resps", "filtered_resps"),
)
"""The keys of a samples record that are not metrics, in the order of the decoders' structs."""
FIXED_KEYS = frozenset(FIXED_ORDER)
"""Keys of a samples record that are not metrics."""
PAIR_METRICS = frozenset({"f1", "mcc", "matthews_corrcoef", "brier_score", "bleu", "chrf", "chrf++", "ter"})
"""Metrics whose per-item value is a (gold, prediction) pair aggregated by a corpus-level
formula, not a list of per-item values (lm_eval/api/metrics.py)."""
BIG = 10**300
"""Integers of this size or more (more than 300 digits) are refused, as ``loads_strict`` does."""
_LONG = 64  # doc strings longer than this many UTF-8 bytes are kept as a 16-byte digest


def value_key(value: Any) -> bytes | None:
    """Return the compact key of a scalar JSON value (None for a list or an object).

    Keys are equal exactly when ``json.dumps`` of the values are: ``1``, ``1.0`` and ``true``
    differ. Strings longer than 64 UTF-8 bytes are keyed by a 16-byte BLAKE2b digest.
    """
    if isinstance(value, str):
        return _str_keys([value])[0]
    if value is True or value is False or value is None:
        return {True: b"t", False: b"f", None: b"n"}[value]
    if type(value) is int:
        return b"i" + str(value).encode()
    if type(value) is float:
        return b"d" + repr(value).encode()
    return None


def _str_keys(values: Sequence[str]) -> list[bytes]:
    """:func:`value_key` of each string of ``values`` (one loop, no call per value)."""
    blake = hashlib.blake2b
    out = []
    for utf8 in (v.encode("utf-8", "surrogatepass") for v in values):
        out.append(b"s" + utf8 if len(utf8) <= _LONG else b"h" + blake(utf8, digest_size=16).digest())
    return out


@dataclass(frozen=True)
class DocFields:
    """The top-level scalar fields of each item's doc, as compact keys (for cluster labels).

    A key stands for a JSON value: equal keys, equal values
    (:func:`lm_eval_mtl.io.decode.value_key`). Lists and objects are not kept.
    """

    keys: Mapping[str, tuple[bytes, ...]]
    """Field -> its distinct value keys, in order of first appearance."""
    codes: Mapping[str, npt.NDArray[np.int64]]
    """Field -> per item: index into :attr:`keys` (-1: the doc lacks the field; -2: not a scalar)."""
    keysets: tuple[tuple[str, ...], ...]
    """Distinct sorted field-name sets of the docs."""
    keyset_index: npt.NDArray[np.int64]
    """Per item: index into :attr:`keysets`."""

    def __len__(self) -> int:
        return int(self.keyset_index.shape[0])

    @staticmethod
    def concat(parts: Sequence[DocFields]) -> DocFields:
        """Join the fields of consecutive item ranges (equal values get one code across parts)."""
        names: dict[str, None] = {}
        for p in parts:
            names.update(dict.fromkeys(p.keys))
        keys: dict[str, tuple[bytes, ...]] = {}
        codes: dict[str, npt.NDArray[np.int64]] = {}
        for name in names:
            vocab: dict[bytes, int] = {}
            cols = []
            for p in parts:
                if name not in p.keys:
                    cols.append(np.full(len(p), -1, dtype=np.int64))
                    continue
                remap = np.array([vocab.setdefault(k, len(vocab)) for k in p.keys[name]] + [-2, -1], np.int64)
                cols.append(remap[p.codes[name]])  # -2 and -1 index the last two entries: kept
            keys[name] = tuple(vocab)
            codes[name] = np.concatenate(cols)
        sets: dict[tuple[str, ...], int] = {}
        index = [
            np.array([sets.setdefault(ks, len(sets)) for ks in p.keysets] + [0], np.int64)[p.keyset_index]
            for p in parts
        ]
        return DocFields(keys, codes, tuple(sets), np.concatenate(index) if index else np.zeros(0, np.int64))


@dataclass
class Columns:
    """Columns of the records of the chosen filter, filled record by record or run by run."""

    want: str
    need_args: bool
    keep_fixed: bool = False  # also keep fixed keys' values (a record lists one as a metric)
    docs: bool = True  # code the docs' top-level fields
    filters: dict[str, None] = field(default_factory=dict)
    n_records: int = 0
    lines: list[int] = field(default_factory=list)
    doc_ids: list[Any] = field(default_factory=list)
    has_filter: list[bool] = field(default_factory=list)
    names: dict[str, None] = field(default_factory=dict)
    cols: dict[str, list[Any]] = field(default_factory=dict)
    hashes: tuple[list[str], list[str], list[str]] = field(default_factory=lambda: ([], [], []))
    n_args: list[int] = field(default_factory=list)
    loglik: list[bool] = field(default_factory=list)
    last_listed: Any = None
    doc_cols: dict[str, tuple[list[int], dict[Any, int]]] = field(default_factory=dict)
    doc_sets: dict[tuple[str, ...], int] = field(default_factory=dict)
    doc_set_of: dict[tuple[str, ...], int] = field(default_factory=dict)
    doc_set_index: list[int] = field(default_factory=list)

    def add(
        self,
        lineno: int,
        doc_id: Any,
        has_filter: bool,
        hashes: Sequence[Any],
        keys: Sequence[str],
        values: Sequence[Any],
        args: tuple[int, bool],
        doc: Any,
    ) -> None:
        """Add a record of the chosen filter (``keys``/``values``: its non-fixed top-level entries)."""
        i = len(self.lines)
        self.lines.append(lineno)
        self.doc_ids.append(doc_id)
        self.has_filter.append(has_filter)
        for out, h in zip(self.hashes, hashes, strict=True):
            out.append(h if h.__class__ is str else str(h or ""))
        cols = self.cols
        for k, v in zip(keys, values, strict=True):
            col = cols.get(k)
            if col is None:
                col = cols[k] = []
            if len(col) != i:
                col.extend([None] * (i - len(col)))
            col.append(v)
        self.n_args.append(args[0])
        self.loglik.append(args[1])
        if self.docs:
            self.add_docs([doc], i)

    def add_docs(self, docs: Sequence[Any], start: int) -> None:
        """Code the top-level fields of ``docs``, the docs of items ``start``, ``start + 1``, ...

        The caller has checked that no field holds an integer of more than 300 digits.
        """
        doc_cols = self.doc_cols
        set_of = self.doc_set_of
        sets = self.doc_sets
        index = self.doc_set_index
        for i, doc in enumerate(docs, start):
            if doc.__class__ is not dict:
                doc = {}
            names = tuple(doc)
            ks = set_of.get(names)
            if ks is None:
                ks = set_of[names] = sets.setdefault(tuple(sorted(names)), len(sets))
            index.append(ks)
            for name, v in doc.items():
                entry = doc_cols.get(name)
                if entry is None:
                    entry = doc_cols[name] = ([], {})
                col, vocab = entry
                if len(col) != i:
                    col.extend([-1] * (i - len(col)))
                t = v.__class__
                if t is str:  # in memory a string stands for itself
                    col.append(vocab.setdefault(v, len(vocab)))
                elif t is dict or t is list:
                    col.append(-2)
                else:
                    col.append(vocab.setdefault(value_key(v), len(vocab)))

    def add_names(self, listed: Any, keys: Sequence[str]) -> None:
        """Add the record's metric names: its ``metrics`` list, else its non-fixed keys."""
        if listed.__class__ is list:
            if listed == self.last_listed:
                return
            if all(isinstance(x, str) for x in listed):
                self.last_listed = listed
                self.names.update(dict.fromkeys(x for x in listed if x not in self.names))
                return
        self.names.update(dict.fromkeys(k for k in keys if k not in self.names))

    def doc_fields(self, n: int) -> DocFields:
        """Return the :class:`DocFields` of the ``n`` items added."""
        codes = {}
        keys = {}
        for name, (col, vocab) in self.doc_cols.items():
            col.extend([-1] * (n - len(col)))
            codes[name] = np.array(col, dtype=np.int64)
            vs = list(vocab)
            if all(v.__class__ is str for v in vs):
                keys[name] = tuple(_str_keys(vs))
            else:
                keys[name] = tuple(k if isinstance(k, bytes) else value_key(k) or b"" for k in vs)
        return DocFields(keys, codes, tuple(self.doc_sets), np.array(self.doc_set_index, dtype=np.int64))
