"""lm_eval_mtl.io.cache and the parallel reader: never stale, never an error, the same result everywhere."""

from __future__ import annotations

import argparse
import io
import json
import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import msgspec
import numpy as np
import pytest

from lm_eval_mtl.cli import options
from lm_eval_mtl.errors import MissingMetricError, MTLError, ResultsFormatError
from lm_eval_mtl.io import cache, load_run, read_samples
from lm_eval_mtl.io import decode as dec
from lm_eval_mtl.io import samples as samples_mod
from lm_eval_mtl.io import workers as workers_mod
from lm_eval_mtl.io.samples import TaskSamples
from lm_eval_mtl.scoring.members import collect_members
from lm_eval_mtl.suites.spec import MemberSpec, SuiteSpec


@pytest.fixture()
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache root of its own, the cache on."""
    folder = tmp_path / "cache-root"
    monkeypatch.setenv("LM_EVAL_MTL_CACHE", str(folder))
    monkeypatch.delenv("LM_EVAL_MTL_WORKERS", raising=False)
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    cache._state["write_failed"] = False
    yield folder
    cache._state["write_failed"] = False


def _sha(entry: Path) -> str:
    sha = msgspec.msgpack.decode(entry.read_bytes())[2]  # format, key, sha256, ...
    assert isinstance(sha, str)
    return sha


def _entries(root: Path) -> list[Path]:
    folder = root / "samples"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def _rec(i: int, acc: float, doc: str = "d") -> str:
    return json.dumps(
        {
            "doc_id": i,
            "doc": {"q": f"{doc}{i}"},
            "arguments": {},
            "filter": "none",
            "metrics": ["acc"],
            "acc": acc,
        }
    )


def _write(path: Path, accs: list[float], doc: str = "d") -> Path:
    path.write_text("".join(_rec(i, a, doc) + "\n" for i, a in enumerate(accs)), encoding="utf-8")
    return path


def _forbid_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(*a: Any, **k: Any) -> None:
        raise AssertionError("decoded although cached")

    monkeypatch.setattr(samples_mod, "extract_samples", fail)


def _same(a: TaskSamples, b: TaskSamples) -> None:
    np.testing.assert_array_equal(a.doc_ids, b.doc_ids)
    np.testing.assert_array_equal(a.lines, b.lines)
    assert (a.doc_hashes, a.prompt_hashes, a.target_hashes) == (
        b.doc_hashes,
        b.prompt_hashes,
        b.target_hashes,
    )
    assert list(a.scores) == list(b.scores)
    for k in a.scores:
        np.testing.assert_array_equal(a.scores[k], b.scores[k])
    assert (a.n_choices is None) == (b.n_choices is None)
    if a.n_choices is not None and b.n_choices is not None:
        np.testing.assert_array_equal(a.n_choices, b.n_choices)
    assert dict(a.pairs) == dict(b.pairs)
    assert list(a.nested) == list(b.nested)
    for k in a.nested:
        np.testing.assert_array_equal(a.nested[k][0], b.nested[k][0])
        np.testing.assert_array_equal(a.nested[k][1], b.nested[k][1])
    assert a.filters_available == b.filters_available
    assert a.doc_fields is not None and b.doc_fields is not None
    assert dict(a.doc_fields.keys) == dict(b.doc_fields.keys)
    assert a.doc_fields.keysets == b.doc_fields.keysets
    for k in a.doc_fields.codes:
        np.testing.assert_array_equal(a.doc_fields.codes[k], b.doc_fields.codes[k])


def _old(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every file look changed long ago: entries are trusted by their stat alone."""
    real = time.time_ns
    monkeypatch.setattr(cache.time, "time_ns", lambda: real() + 3600 * 10**9)


def test_cache_root_exists_once() -> None:
    from lm_eval_mtl.demo import tiny_model

    assert tiny_model.cache_root is cache.cache_root


def test_a_second_read_comes_from_the_cache(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [{"passage": f"p{i // 2}", "n": i} for i in range(6)]
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1, 1, 0, 1], [2, 3, 4, 4, 2, 2], docs=docs)})
    (path,) = folder.glob("samples_t_*.jsonl")
    first = read_samples(path)
    assert len(_entries(root)) == 1 and first.cache_key
    _forbid_decoding(monkeypatch)
    again = read_samples(path)
    _same(first, again)
    assert again.clusters("passage").tolist() == [0, 0, 1, 1, 2, 2]
    assert again.docs[3] == docs[3]
    with pytest.raises(
        MissingMetricError, match=r":1: the doc of task 't' has no field 'zz'; *|its fields: n, passage"
    ):
        again.clusters("zz")
    assert again.cache_key == first.cache_key


def test_a_link_to_the_file_shares_its_entry_and_a_copy_does_not(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key names the file (device, inode), not the path that reaches it."""
    import shutil

    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0, 1.0])
    first = read_samples(path)
    copy = tmp_path / "copy" / path.name
    copy.parent.mkdir()
    shutil.copy2(path, copy)  # same bytes, same mtime: another file, another entry
    assert read_samples(copy).cache_key != first.cache_key
    assert len([e for e in _entries(root) if e.name.startswith("s-")]) == 2
    link = tmp_path / "link" / path.name
    link.parent.mkdir()
    link.symlink_to(path)
    hard = tmp_path / "hard.jsonl"
    os.link(path, hard)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))  # a new link changed the ctime
    first = read_samples(path)
    _forbid_decoding(monkeypatch)
    for other in (link, hard):
        again = read_samples(other, task="t")
        _same(first, again)
        assert again.cache_key == first.cache_key and again.path == other
    assert len([e for e in _entries(root) if e.name.startswith("s-")]) == 3


def test_a_changed_file_is_never_served_stale(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0, 1.0])
    st = path.stat()
    assert read_samples(path).scores["acc"].tolist() == [1.0, 0.0, 1.0]
    # same size, same modification time, within the same clock tick: only the content tells
    _write(path, [0.0, 1.0, 1.0])
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert read_samples(path).scores["acc"].tolist() == [0.0, 1.0, 1.0]
    assert read_samples(path).scores["acc"].tolist() == [0.0, 1.0, 1.0]


def test_an_old_file_is_keyed_by_its_stat(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _old(monkeypatch)
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0, 1.0])
    st = path.stat()
    read_samples(path)
    (entry,) = _entries(root)
    assert _sha(entry) == ""  # trusted by stat: no content hash
    time.sleep(0.05)  # past the file system's clock tick
    _write(path, [0.0, 1.0, 1.0], doc="e")
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))  # `touch -d` / `cp -p` restore the mtime...
    assert path.stat().st_ctime_ns != st.st_ctime_ns  # ... never the status-change time
    s = read_samples(path)
    assert s.scores["acc"].tolist() == [0.0, 1.0, 1.0] and s.doc_fields is not None
    assert s.doc_fields.keys["q"][0] == b"se0"


def test_a_recent_entry_is_checked_then_trusted(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0])
    read_samples(path)
    (entry,) = _entries(root)
    assert len(_sha(entry)) == 64  # written right after the file: the content hash is kept
    _old(monkeypatch)
    _forbid_decoding(monkeypatch)
    first_key = read_samples(path).cache_key  # content checked, entry rewritten without the hash
    assert _sha(entry) == ""
    assert read_samples(path).cache_key == first_key.split(":")[0]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "folder"])
def test_a_corrupt_entry_is_ignored_and_rewritten(root: Path, tmp_path: Path, damage: str) -> None:
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0, 1.0])
    good = read_samples(path)
    (entry,) = _entries(root)
    data = entry.read_bytes()
    if damage == "garbage":
        entry.write_bytes(b"\x9c" + bytes(range(200)))
    elif damage == "truncated":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    else:
        entry.unlink()
        entry.mkdir()
    _same(read_samples(path), good)
    if damage != "folder":
        assert entry.read_bytes() == data  # rewritten
        _same(read_samples(path), good)


def test_an_entry_with_other_arrays_is_a_miss(root: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0, 1.0])
    good = read_samples(path)
    (entry,) = _entries(root)
    fields = msgspec.msgpack.decode(entry.read_bytes())
    fields[4] = fields[4][:8]  # `lines`: one item instead of three
    entry.write_bytes(msgspec.msgpack.encode(fields))
    _same(read_samples(path), good)
    fields[0] = 999  # another format
    entry.write_bytes(msgspec.msgpack.encode(fields))
    _same(read_samples(path), good)


def test_an_unwritable_cache_folder_only_turns_writing_off(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("LM_EVAL_MTL_CACHE", str(blocker / "below"))  # cannot be a folder
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0, 1.0])
    assert read_samples(path).scores["acc"].tolist() == [1.0, 0.0, 1.0]
    assert read_samples(path).cache_key  # still identified, still read
    assert cache._state["write_failed"]


def _read_in_process(path: str) -> list[float]:
    return read_samples(path).scores["acc"].tolist()


def test_concurrent_writers_leave_one_whole_entry(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [float(i % 2) for i in range(500)])
    with ProcessPoolExecutor(max_workers=4, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_read_in_process, [str(path)] * 8))
    assert all(r == results[0] for r in results)
    entries = _entries(root)
    assert len(entries) == 1 and entries[0].name.startswith("s-") and entries[0].suffix == ".msgpack"
    _forbid_decoding(monkeypatch)
    assert read_samples(path).scores["acc"].tolist() == results[0]


def test_errors_still_name_file_and_line_after_caching(root: Path, tmp_path: Path) -> None:
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0, 1.0, 1.0])
    read_samples(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:-3]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ResultsFormatError, match=rf"{path.name}:3: invalid JSON at column"):
        read_samples(path)
    with pytest.raises(MissingMetricError, match=r"no records with filter 'x'"):
        read_samples(_write(path, [1.0]), filter="x")


def test_the_variable_turns_the_cache_off_here_and_in_workers(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    monkeypatch.setenv("LM_EVAL_MTL_WORKERS", "2")
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0] * 5, 2), "b": fx.mc_task([0, 1] * 5, 2)})
    run = load_run(folder)
    run.prefetch_samples([("a", "none"), ("b", "none")])
    assert len(run.samples("a")) == 10 and not run.samples("b").cache_key
    assert _entries(root) == []
    from lm_eval_mtl.cli.options import apply_cache

    monkeypatch.setitem(options._cache_flag, "set", False)
    apply_cache(argparse.Namespace(no_cache=False))  # a variable the user set is left alone
    assert not cache.enabled()


def _cli(*argv: str) -> int:
    from lm_eval_mtl.cli.main import main

    with redirect_stdout(io.StringIO()), redirect_stderr(io.StringIO()):
        return main(list(argv))


def test_no_cache_through_the_cli_leaves_the_cache_empty(root: Path, tmp_path: Path) -> None:
    tasks = {"sst2": fx.mc_task([1, 0, 1, 1, 0, 1, 1, 0], 2), "rte": fx.mc_task([0, 1, 1, 0, 1, 0, 1, 1], 2)}
    a = fx.write_run(tmp_path / "a", tasks, model="org/a")
    b = fx.write_run(tmp_path / "b", tasks, model="org/b")
    for argv in (
        ["report", str(a), "--suite", "mtl_suite", "--missing", "drop"],
        ["compare", str(a), str(b)],
        ["transfer", "--base", str(a), "--source", f"sst2={b}"],
    ):
        assert _cli(*argv, "--no-cache", "--n-resamples", "50") == 0
        assert _entries(root) == []
    assert not cache.enabled()  # the last command's --no-cache, until the next command
    assert _cli("report", str(a), "--suite", "mtl_suite", "--missing", "drop", "--n-resamples", "50") == 0
    assert len(_entries(root)) == 2 and cache.enabled()
    assert options.NO_CACHE_ENV == cache.NO_CACHE_ENV


def _suite(tasks: dict[str, Any]) -> SuiteSpec:
    members = tuple(
        MemberSpec(t, "chrf", "none", 0.0, 100.0, t, output_type="generate_until")
        if t.startswith("c")
        else MemberSpec(t, "acc", "none", 0.5, 1.0, t)
        for t in tasks
    )
    return SuiteSpec(name="s", version="1", kind="suite", members=members)


def _run_tasks(tmp_path: Path) -> dict[str, Any]:
    import sacrebleu

    refs = [f"das ist satz {i} hier" for i in range(12)]
    preds = [f"das ist ein satz {i}" for i in range(12)]
    rng = np.random.default_rng(0)
    tasks: dict[str, Any] = {
        f"t{i}": fx.mc_task((rng.random(30) < 0.6).astype(int), [2 + (j % 3) for j in range(30)])
        for i in range(4)
    }
    tasks["c0"] = fx.corpus_task(refs, preds, aggregate=sacrebleu.corpus_chrf(preds, [refs]).score)
    return tasks


def _spy_workers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, list[Any]]]:
    calls: list[tuple[int, list[Any]]] = []
    real = workers_mod.read_samples_many

    def spy(requests: Any, workers: int, corpus: Any = None) -> list[Any]:
        out = real(requests, workers, corpus)
        calls.append((workers, out))
        return out

    monkeypatch.setattr(workers_mod, "read_samples_many", spy)
    return calls


@pytest.mark.parametrize("use_cache", [False, True])
def test_one_or_two_workers_give_identical_members(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, use_cache: bool
) -> None:
    tasks = _run_tasks(tmp_path)
    folder = fx.write_run(tmp_path, tasks)
    suite = _suite(tasks)
    if not use_cache:
        monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    monkeypatch.setenv("LM_EVAL_MTL_WORKERS", "1")
    spy = _spy_workers(monkeypatch)
    one = collect_members(load_run(folder), suite)
    assert spy == []
    monkeypatch.setenv("LM_EVAL_MTL_WORKERS", "2")
    two = collect_members(load_run(folder), suite)
    assert [w for w, _ in spy] == [2]
    assert all(isinstance(r, TaskSamples) for r in spy[0][1])  # read by the workers, not here
    for m1, m2 in zip(one, two, strict=True):
        assert m1.samples is not None and m2.samples is not None
        _same(m1.samples, m2.samples)
        assert m1.chance == m2.chance and m1.raw == m2.raw
        if m1.corpus is not None and m2.corpus is not None:
            np.testing.assert_array_equal(m1.corpus.stats, m2.corpus.stats)
        assert (m1.corpus is None) == (m2.corpus is None)
    entries = [e.name[:2] for e in _entries(root)]
    assert len([e for e in entries if e != "d-"]) == (6 if use_cache else 0)  # 5 files and 1 corpus metric
    assert entries.count("d-") == (5 if use_cache else 0)  # `_same` read each file's docs, once


def test_the_runs_of_a_comparison_are_read_in_one_pool(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval_mtl.scoring.members import prefetch_members

    tasks = _run_tasks(tmp_path)
    suite = _suite(tasks)
    folders = [fx.write_run(tmp_path / name, tasks, model=f"org/{name}") for name in ("a", "b")]
    lacking = fx.write_run(tmp_path / "c", {k: v for k, v in tasks.items() if k != "t0"}, model="org/c")
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    monkeypatch.setenv("LM_EVAL_MTL_WORKERS", "1")
    alone = [collect_members(load_run(f), suite) for f in folders]
    monkeypatch.setenv("LM_EVAL_MTL_WORKERS", "2")
    spy = _spy_workers(monkeypatch)
    runs = [load_run(f) for f in (*folders, lacking)]
    prefetch_members(runs, suite)
    assert [w for w, _ in spy] == [2] and len(spy[0][1]) == 2 * len(tasks)  # both runs, one call; not c
    together = [collect_members(r, suite) for r in runs[:2]]
    assert len(spy) == 1  # collect_members found every file read
    for one, two in zip(alone, together, strict=True):
        for m1, m2 in zip(one, two, strict=True):
            assert m1.samples is not None and m2.samples is not None
            _same(m1.samples, m2.samples)
            assert m1.raw == m2.raw and (m1.corpus is None) == (m2.corpus is None)
    with pytest.raises(MTLError, match="t0"):  # the run that cannot be read fails as it would alone
        collect_members(runs[2], suite)


def test_worker_errors_reach_the_caller_unchanged(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = _run_tasks(tmp_path)
    folder = fx.write_run(tmp_path, tasks)
    (bad,) = folder.glob("samples_t2_*.jsonl")
    lines = bad.read_text(encoding="utf-8").splitlines()
    lines[4] = lines[4][:-1]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    messages = []
    spy = _spy_workers(monkeypatch)
    for workers in ("1", "2"):
        monkeypatch.setenv("LM_EVAL_MTL_WORKERS", workers)
        with pytest.raises(ResultsFormatError) as info:
            collect_members(load_run(folder), _suite(tasks))
        messages.append(str(info.value))
    assert messages[0] == messages[1] and f"{bad}:5: invalid JSON" in messages[0]
    ((_, results),) = spy
    errors = [r for r in results if not isinstance(r, TaskSamples)]
    assert len(errors) == 1 and type(errors[0]) is ResultsFormatError and str(errors[0]) == messages[0]
    monkeypatch.setenv("LM_EVAL_MTL_WORKERS", "2")
    run = load_run(folder)
    run.prefetch_samples([("t0", "none"), ("t1", "nofilter")])
    with pytest.raises(MissingMetricError, match=r"no records with filter 'nofilter'; filters present: none"):
        run.samples("t1", "nofilter")
    assert len(run.samples("t0")) == 30


def test_a_workers_results_file_keeps_its_whole_frames() -> None:
    payloads = [b"", b"x", bytes(range(256)) * 40]
    data = b"".join(workers_mod._frame(x) for x in payloads)
    assert list(workers_mod._frames(data)) == payloads
    for cut in range(1, 9 + 1 + 8):  # inside the last frame's length prefix or payload
        assert list(workers_mod._frames(data[:-cut])) == payloads[:2]
    assert list(workers_mod._frames(b"")) == []


def _read_alone_and_pooled(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, list[Any]]:
    """Members of a run read in this process, then with 2 processes: (one, two, what the pool gave)."""
    tasks = _run_tasks(tmp_path)
    folder = fx.write_run(tmp_path, tasks)
    monkeypatch.setenv("LM_EVAL_MTL_WORKERS", "1")
    one = collect_members(load_run(folder), _suite(tasks))
    monkeypatch.setenv("LM_EVAL_MTL_WORKERS", "2")
    spy = _spy_workers(monkeypatch)
    two = collect_members(load_run(folder), _suite(tasks))
    ((_, results),) = spy
    for m1, m2 in zip(one, two, strict=True):
        assert m1.samples is not None and m2.samples is not None
        _same(m1.samples, m2.samples)
    return one, two, results


def test_requests_a_worker_did_not_answer_are_left_to_the_caller(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(workers_mod, "_claims_pipe", lambda order: None)  # files dealt beforehand
    monkeypatch.setattr(workers_mod, "START_BYTES", 0)  # the worker gets about half of them
    # in the worker's process: every frame is cut off, as if it died writing it
    cut = "import lm_eval_mtl.io.workers as w; f = w._frame; w._frame = lambda p: f(p)[:-1]"
    monkeypatch.setattr(
        workers_mod, "_WORKER", workers_mod._WORKER.replace("serve_job(", f"{cut}; serve_job(")
    )
    _, _, results = _read_alone_and_pooled(tmp_path, monkeypatch)
    read_here = [r for r in results if isinstance(r, TaskSamples)]
    assert len(read_here) >= 1 and results.count(None) == len(results) - len(read_here) >= 1


def test_the_processes_take_the_files_by_turns(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    real = workers_mod._read_here
    read_here: list[Any] = []

    def slow(request: Any, corpus: Any) -> Any:  # this process is slow: the worker takes the rest
        read_here.append(request)
        time.sleep(1.5)
        return real(request, corpus)

    monkeypatch.setattr(workers_mod, "_read_here", slow)
    _, _, results = _read_alone_and_pooled(tmp_path, monkeypatch)
    assert all(isinstance(r, TaskSamples) for r in results)  # each file read once, by one process
    assert 1 <= len(read_here) < len(results)  # the worker took the files this process did not


def test_the_claims_pipe_holds_every_index_once() -> None:
    order = [5, 0, 3, 70_000, 2]
    fd = workers_mod._claims_pipe(order)
    assert fd is not None
    try:
        assert list(workers_mod._claims(fd)) == order
    finally:
        os.close(fd)
    assert workers_mod._claims_pipe(list(range(workers_mod._MAX_CLAIMS + 1))) is None


def test_bad_worker_counts_are_refused(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 2), "b": fx.mc_task([0, 1], 2)})
    for value in ("0", "many", "-2"):
        monkeypatch.setenv("LM_EVAL_MTL_WORKERS", value)
        with pytest.raises(MTLError, match=r"LM_EVAL_MTL_WORKERS must be a positive integer"):
            load_run(folder).prefetch_samples([("a", "none"), ("b", "none")])


def test_small_runs_are_read_in_process(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0], 2), "b": fx.mc_task([0, 1], 2)})
    run = load_run(folder)
    requests = [run._samples_request("a", "none"), run._samples_request("b", "none")]
    assert workers_mod.samples_workers(requests) == 1
    monkeypatch.setattr(workers_mod, "POOL_MIN_BYTES", 0)
    monkeypatch.setattr(workers_mod, "_cpus", lambda: 4)
    assert workers_mod.samples_workers(requests) == 2  # min(CPUs, files, 8)
    monkeypatch.setattr(workers_mod, "_cpus", lambda: 1)
    assert workers_mod.samples_workers(requests) == 1
    monkeypatch.setattr(workers_mod, "_cpus", lambda: 4)
    for path, task, filt, otype in requests:
        read_samples(path, task=task, filter=filt, output_type=otype)
    assert workers_mod.samples_workers(requests) == 1  # both cached: nothing to decode


def test_corpus_statistics_are_cached(root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import lm_eval_mtl.stats.corpus as corpus

    tasks = _run_tasks(tmp_path)
    folder = fx.write_run(tmp_path, {"c0": tasks["c0"]})
    suite = _suite({"c0": None})
    first = collect_members(load_run(folder), suite).members[0].corpus
    assert first is not None

    def fail(*a: Any, **k: Any) -> None:
        raise AssertionError("segment statistics recomputed")

    monkeypatch.setattr(corpus, "segment_stats", fail)
    again = collect_members(load_run(folder), suite).members[0].corpus
    assert again is not None
    np.testing.assert_array_equal(first.stats, again.stats)
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    with pytest.raises(AssertionError, match="recomputed"):
        collect_members(load_run(folder), suite)


def test_the_fast_path_is_part_of_the_key(root: Path, tmp_path: Path) -> None:
    assert dec.FIXED_KEYS >= {"doc_id", "doc", "arguments"}
    path = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [1.0, 0.0])
    read_samples(path)
    read_samples(path, output_type="multiple_choice")
    read_samples(path, filter="none", output_type="generate_until")
    assert len(_entries(root)) == 3  # one entry per reader option


def test_workers_import_only_the_reader_and_never_the_callers_script(tmp_path: Path) -> None:
    import subprocess
    import sys

    probe = "import sys, lm_eval_mtl.io.cache, lm_eval_mtl.io.workers, lm_eval_mtl.io.samples; print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'lm_eval', 'transformers', 'scipy', 'sacrebleu'}))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    folder = fx.write_run(tmp_path, {"a": fx.mc_task([1, 0] * 5, 2), "b": fx.mc_task([0, 1] * 5, 2)})
    script = tmp_path / "unguarded.py"  # no `if __name__ == "__main__":`
    script.write_text(
        "from lm_eval_mtl.io import load_run, workers\n"
        f"run = load_run({str(folder)!r})\n"
        "got = workers.read_samples_many([run._samples_request(t, 'none') for t in ('a', 'b')], 2)\n"
        "print('ran', [type(g).__name__ for g in got])\n",
        encoding="utf-8",
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True)
    assert done.stdout.splitlines() == ["ran ['TaskSamples', 'TaskSamples']"]
