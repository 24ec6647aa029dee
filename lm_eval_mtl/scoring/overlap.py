"""Members whose item sets overlap: detection, and their joint resampling over shared documents."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.io.results import RunResult
from lm_eval_mtl.scoring.members import Member

FloatArray = npt.NDArray[np.float64]


__all__ = ["components", "JointStatistics"]


def components(members: Sequence[Member], run: RunResult, with_samples: bool) -> list[list[int]]:
    """Group members whose item sets overlap (same task or `overlap` key, shared doc hashes, containment)."""
    parent = list(range(len(members)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    def union(i: int, j: int) -> None:
        parent[find(i)] = find(j)

    leaves = [set(run.leaf_tasks(m.spec.task)) or {m.spec.task} for m in members]
    hashes: list[set[str]] = []
    for m in members:
        hs = set(m.samples.doc_hashes) - {""} if (with_samples and m.samples is not None) else set()
        hashes.append(hs)
    for i in range(len(members)):
        for j in range(i + 1, len(members)):
            if members[i].spec.overlap_key == members[j].spec.overlap_key or leaves[i] & leaves[j]:
                union(i, j)
    if len(set().union(*hashes)) < sum(map(len, hashes)):  # some hash is in two members
        owner: dict[str, int] = {}  # one pass over the hashes: a hash seen in two members joins them
        for i, hs in enumerate(hashes):
            for h in hs:
                j = owner.setdefault(h, i)
                if j != i:
                    union(i, j)
    groups: dict[int, list[int]] = {}
    for i in range(len(members)):
        groups.setdefault(find(i), []).append(i)
    return list(groups.values())


class JointStatistics:
    """Members sharing items, resampled jointly over the union of their documents.

    Implements :class:`lm_eval_mtl.stats.bootstrap.SufficientStatistics`: one row per
    document; a resample's statistic is ``sum_m coef_m * (stat_m(totals) - offset_m)``.
    """

    def __init__(self, members: Sequence[Member], coefs: Sequence[float]) -> None:
        keys: dict[tuple[str, int], int] = {}
        rows_per: list[npt.NDArray[np.int64]] = []
        for mem in members:
            s = mem.samples
            assert s is not None
            use_hash = all(h for h in s.doc_hashes)
            seen: dict[str, int] = {}
            idx = np.empty(len(s), dtype=np.int64)
            for i in range(len(s)):
                base = s.doc_hashes[i] if use_hash else f"{s.task}#{int(s.doc_ids[i])}"
                k = seen.get(base, 0)
                seen[base] = k + 1
                idx[i] = keys.setdefault((base, k), len(keys))
            rows_per.append(idx)
        n_units = len(keys)
        blocks: list[FloatArray] = []
        self._parts: list[tuple[slice, Member, float]] = []
        col = 0
        for mem, idx, coef in zip(members, rows_per, coefs, strict=True):
            if mem.corpus is not None:
                block = np.zeros((n_units, mem.corpus.stats.shape[1]))
                np.add.at(block, idx, mem.corpus.stats)
            else:
                assert mem.scores is not None
                elem = idx[mem.owner] if mem.owner is not None else idx
                block = np.zeros((n_units, 2))
                np.add.at(block[:, 0], elem, mem.scores)
                np.add.at(block[:, 1], elem, 1.0)
            blocks.append(block)
            self._parts.append((slice(col, col + block.shape[1]), mem, coef))
            col += block.shape[1]
        self._stats = np.hstack(blocks)
        self.n_units = n_units

    @property
    def stats(self) -> FloatArray:
        """Per-document statistics, shape (n_documents, d)."""
        return self._stats

    def score_totals(self, totals: FloatArray) -> FloatArray:
        """Weighted sum of the members' normalized statistics for each row of ``totals``."""
        t = np.asarray(totals, dtype=np.float64)
        out = np.zeros(t.shape[0])
        for sl, mem, coef in self._parts:
            block = t[:, sl]
            if mem.corpus is not None:
                value = mem.corpus.score_totals(block)
            else:
                with np.errstate(invalid="ignore", divide="ignore"):
                    value = block[:, 0] / block[:, 1]
            out += coef * (value - mem.chance)
        return out
