"""The exact memo of costly results (lm_eval_mtl/io/memo.py) and its users.

A memoized value is either exactly what would be computed or never found: the key names the
data, the stream, B and the code; ``--no-cache`` bypasses it; a corrupt entry is recomputed.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from lm_eval_mtl.io import cache as cache_mod
from lm_eval_mtl.io import memo


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LM_EVAL_MTL_CACHE", str(tmp_path))
    monkeypatch.delenv(cache_mod.NO_CACHE_ENV, raising=False)
    monkeypatch.setitem(cache_mod._state, "root", None)
    monkeypatch.setitem(cache_mod._state, "write_failed", False)
    return tmp_path


def _counting(value: np.ndarray) -> tuple[list[int], object]:
    calls: list[int] = []

    def compute() -> np.ndarray:
        calls.append(1)
        return value.copy()

    return calls, compute


def test_a_resample_is_computed_once_and_read_back_bit_for_bit(cache_dir: Path) -> None:
    value = np.random.default_rng(0).normal(size=(7, 3))
    calls, compute = _counting(value)
    mods = ("lm_eval_mtl.stats.bootstrap",)
    first = memo.cached_resample(["x", "B=7"], mods, compute)  # type: ignore[arg-type]
    second = memo.cached_resample(["x", "B=7"], mods, compute)  # type: ignore[arg-type]
    assert len(calls) == 1
    np.testing.assert_array_equal(first, value)
    np.testing.assert_array_equal(second, value)
    assert second.dtype == np.float64 and second.shape == (7, 3)
    other = memo.cached_resample(["x", "B=8"], mods, compute)  # type: ignore[arg-type]
    assert len(calls) == 2 and other.shape == (7, 3)
    assert len(list((cache_dir / "samples").glob("r-*.msgpack"))) == 2


def test_no_cache_and_a_corrupt_entry_compute_again(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    value = np.arange(5.0)
    calls, compute = _counting(value)
    mods = ("lm_eval_mtl.stats.joint",)
    memo.cached_resample(["y"], mods, compute)  # type: ignore[arg-type]
    (entry,) = (cache_dir / "samples").glob("r-*.msgpack")
    entry.write_bytes(entry.read_bytes()[:10])  # truncated
    np.testing.assert_array_equal(memo.cached_resample(["y"], mods, compute), value)  # type: ignore[arg-type]
    assert len(calls) == 2
    monkeypatch.setenv(cache_mod.NO_CACHE_ENV, "1")
    memo.cached_resample(["y"], mods, compute)  # type: ignore[arg-type]
    memo.cached_resample(["y"], mods, compute)  # type: ignore[arg-type]
    assert len(calls) == 4


def test_an_object_that_msgpack_would_change_is_not_cached(cache_dir: Path) -> None:
    calls: list[int] = []

    def tuples() -> object:
        calls.append(1)
        return {"a": (1, 2)}  # a tuple comes back as a list

    def plain() -> object:
        calls.append(1)
        return {"a": [1, 2.5, None, "x"], "b": {"c": True}}

    assert memo.cached_object("t", ["k"], tuples) == {"a": (1, 2)}
    assert memo.cached_object("t", ["k"], tuples) == {"a": (1, 2)}
    assert len(calls) == 2
    assert memo.cached_object("t", ["p"], plain) == memo.cached_object("t", ["p"], plain)
    assert len(calls) == 3


def test_corpus_bootstrap_columns_are_the_same_with_and_without_the_memo(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval_mtl.stats import bootstrap as bs
    from lm_eval_mtl.stats.corpus import CorpusStats

    rng = np.random.default_rng(5)
    chrf = CorpusStats("chrf", rng.integers(0, 30, size=(400, 18)).astype(float))
    items = bs.ItemScores((rng.random(300) < 0.4).astype(float))
    tasks = [chrf, items]
    monkeypatch.setattr(bs, "_MEMO_MIN_WORK", 1)
    monkeypatch.setenv(cache_mod.NO_CACHE_ENV, "1")
    plain = bs.bootstrap_task_means(tasks, n_resamples=500, rng=3)
    monkeypatch.delenv(cache_mod.NO_CACHE_ENV)
    calls: list[int] = []
    real = bs._task_resample

    def counting(task: object, b: int, gen: np.random.Generator) -> np.ndarray:
        calls.append(1)
        return real(task, b, gen)  # type: ignore[arg-type]

    monkeypatch.setattr(bs, "_task_resample", counting)
    first = bs.bootstrap_task_means(tasks, n_resamples=500, rng=3)
    second = bs.bootstrap_task_means(tasks, n_resamples=500, rng=3)
    np.testing.assert_array_equal(first, plain)
    np.testing.assert_array_equal(second, plain)
    assert len(calls) == 3  # the corpus column once, the items column (never memoized) twice
    other_seed = bs.bootstrap_task_means(tasks, n_resamples=500, rng=4)
    assert not np.array_equal(other_seed[:, 0], plain[:, 0])
    changed = CorpusStats("chrf", chrf.stats + np.eye(400, 18))
    assert not np.array_equal(
        bs.bootstrap_task_means([changed, items], n_resamples=500, rng=3)[:, 0], plain[:, 0]
    )


def test_the_suite_index_is_parsed_again_when_a_yaml_file_changes(cache_dir: Path, tmp_path: Path) -> None:
    from lm_eval_mtl.suites import loading

    root = tmp_path / "configs"
    root.mkdir()
    text = (
        "group: g_one\ntask: [a, b]\nmetadata:\n  mtl:\n    kind: suite\n    version: '1.0'\n"
        "    members:\n      - {task: a, metric: acc}\n      - {task: b, metric: acc}\n"
    )
    (root / "g.yaml").write_text(text)
    loading._index.cache_clear()
    first = loading._index(root.resolve())
    assert list(first) == ["g_one"]
    assert list((cache_dir / "samples").glob("o-*.msgpack"))
    loading._index.cache_clear()
    assert loading._index(root.resolve()) == first  # served from the cache, the same
    (root / "g.yaml").write_text(text.replace("g_one", "g_two"))
    st = (root / "g.yaml").stat()
    os.utime(root / "g.yaml", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    loading._index.cache_clear()
    assert list(loading._index(root.resolve())) == ["g_two"]
    loading._index.cache_clear()
