"""lm_eval_mtl.io.files: duplicate JSON keys, file kinds, permissions, gzip, encodings."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import pytest

from lm_eval_mtl.errors import PanelFormatError, ResultsFormatError
from lm_eval_mtl.io import find_runs, load_run, read_results_file, read_samples
from lm_eval_mtl.io.files import DuplicateKeyError, file_kind, json_problem, loads_strict
from lm_eval_mtl.scoring.population import load_panel_csv


def test_duplicate_keys_are_detected_at_any_depth() -> None:
    assert loads_strict('{"a": {"b": 1, "c": 2}, "d": [{"e": 1}]}') == {
        "a": {"b": 1, "c": 2},
        "d": [{"e": 1}],
    }
    for text, key in (
        ('{"a": 1, "a": 2}', "a"),
        ('{"x": {"b": 1, "b": 1}}', "b"),
        ('[{"k": 0, "k": 0}]', "k"),
    ):
        with pytest.raises(DuplicateKeyError) as info:
            loads_strict(text)
        assert info.value.key == key
        assert f"{key!r} appears twice" in str(json_problem(info.value))


def test_duplicate_task_key_in_results_names_key_and_file(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)})
    (res,) = folder.glob("results_*.json")
    text = res.read_text(encoding="utf-8")
    res.write_text(text.replace('"results": {', '"results": {"t": {"acc,none": 0.1}, ', 1), encoding="utf-8")
    with pytest.raises(ResultsFormatError, match=rf"{res.name}: the key 't' appears twice"):
        read_results_file(res)


def test_duplicate_key_in_a_samples_record_names_the_line(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)})
    (s,) = folder.glob("samples_t_*.jsonl")
    lines = s.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].replace('"doc_id": 2', '"doc_id": 2, "doc_id": 0', 1)
    s.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ResultsFormatError, match=r":3: the key 'doc_id' appears twice"):
        read_samples(s)


def test_json_limits_become_format_errors(tmp_path: Path) -> None:
    for body, match in (("[" * 100_000 + "]" * 100_000, "nested too deeply"), ("9" * 5000, "5000 digits")):
        p = tmp_path / "results_2026-01-01T00-00-00.json"
        p.write_text(body, encoding="utf-8")
        with pytest.raises(ResultsFormatError, match=match):
            read_results_file(p)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_fifo_is_named_not_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "results_2026-01-01T00-00-00.json"
    os.mkfifo(fifo)
    assert file_kind(fifo) == "a FIFO (named pipe)"
    with pytest.raises(ResultsFormatError, match="FIFO"):
        load_run(fifo)
    with pytest.raises(ResultsFormatError, match="FIFO"):
        load_run(tmp_path)  # a folder whose results_*.json is a FIFO
    with pytest.raises(PanelFormatError, match="FIFO"):
        load_panel_csv(fifo, id_column="Model")


def test_device_is_named(tmp_path: Path) -> None:
    assert file_kind(Path("/dev/zero")) == "a character device"
    with pytest.raises(ResultsFormatError, match="character device"):
        read_samples("/dev/zero")
    with pytest.raises(ResultsFormatError, match="character device"):
        load_run("/dev/zero")


def test_permission_denied_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)})
    (res,) = folder.glob("results_*.json")

    def denied(self: Path, *a: object, **k: object) -> object:
        raise PermissionError(13, "Permission denied", str(self))

    with monkeypatch.context() as m:
        m.setattr(Path, "read_bytes", denied)
        with pytest.raises(ResultsFormatError, match=rf"{res}: permission denied"):
            read_results_file(res)
    with monkeypatch.context() as m:
        m.setattr(Path, "open", denied)
        (s,) = folder.glob("samples_t_*.jsonl")
        with pytest.raises(ResultsFormatError, match=rf"{s}: permission denied"):
            read_samples(s)
    with monkeypatch.context() as m:
        m.setattr(Path, "iterdir", denied)
        with pytest.raises(ResultsFormatError, match=rf"{folder}: permission denied"):
            load_run(folder)


def test_unlistable_subfolder_is_refused_not_skipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)})
    real_walk = os.walk

    def walk(top: object, onerror: object = None, followlinks: bool = False) -> object:
        assert callable(onerror)
        onerror(PermissionError(13, "Permission denied", str(tmp_path / "locked")))
        return real_walk(top, followlinks=followlinks)  # pragma: no cover

    monkeypatch.setattr(os, "walk", walk)
    with pytest.raises(ResultsFormatError, match=r"locked: permission denied"):
        find_runs(tmp_path)


def test_gzip_and_bad_utf8_and_empty(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)})
    (res,) = folder.glob("results_*.json")
    (s,) = folder.glob("samples_t_*.jsonl")
    original = s.read_bytes()
    s.write_bytes(gzip.compress(original))
    with pytest.raises(ResultsFormatError, match=r"gzip-compressed.*gunzip -k"):
        read_samples(s)
    s.write_bytes(original.replace(b'"question": "t q1', b'"question": "t q\xe91', 1))
    with pytest.raises(ResultsFormatError, match=r":2: not UTF-8 text \(byte 0xe9"):
        read_samples(s)
    s.write_bytes(b"")
    with pytest.raises(ResultsFormatError, match="empty samples file"):
        read_samples(s)
    res.write_bytes(b"  \n")
    with pytest.raises(ResultsFormatError, match="the file is empty"):
        read_results_file(res)
    res.write_bytes(json.dumps({"results": {}}).encode().replace(b"{", b"\xff{", 1))
    with pytest.raises(ResultsFormatError, match=r":1: not UTF-8 text \(byte 0xff"):
        read_results_file(res)
