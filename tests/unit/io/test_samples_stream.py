"""lm_eval_mtl.io.decode: the typed streaming reader gives what the generic decoder gives, errors included."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lm_eval_mtl.errors import MissingMetricError, ResultsFormatError
from lm_eval_mtl.io import cache, load_run, read_samples
from lm_eval_mtl.io import decode as dec
from lm_eval_mtl.io.samples import Extract, TaskSamples, extract_samples


@pytest.fixture(autouse=True)
def _no_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")  # these tests compare decoders, not the cache


def _arrays(e: Extract | TaskSamples) -> dict[str, Any]:
    df = e.doc_fields
    assert df is not None
    return {
        "doc_ids": e.doc_ids.tolist(),
        "lines": e.lines.tolist(),
        "hashes": (e.doc_hashes, e.prompt_hashes, e.target_hashes),
        "scores": {k: [None if math.isnan(x) else x for x in v.tolist()] for k, v in e.scores.items()},
        "n_choices": None if e.n_choices is None else e.n_choices.tolist(),
        "pairs": dict(e.pairs),
        "nested": {k: (v.tolist(), o.tolist()) for k, (v, o) in e.nested.items()},
        "filters": e.filters_available,
        "doc_keys": dict(df.keys),
        "doc_codes": {k: v.tolist() for k, v in df.codes.items()},
        "keysets": df.keysets,
        "keyset_index": df.keyset_index.tolist(),
    }


def _outcome(path: Path, fast: bool, **kw: Any) -> tuple[str, Any]:
    kw.setdefault("filter", "none")
    kw.setdefault("output_type", None)
    try:
        return "ok", _arrays(extract_samples(path, task="t", fast=fast, **kw))
    except (ResultsFormatError, MissingMetricError) as err:
        return type(err).__name__, str(err)


def _same_both_ways(path: Path, **kw: Any) -> tuple[str, Any]:
    fast, slow = _outcome(path, True, **kw), _outcome(path, False, **kw)
    assert fast == slow
    return fast


def _count_generic(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = dec._generic_line

    def spy(scan: Any, path: Path, lineno: int, raw: bytes) -> None:
        calls.append(lineno)
        real(scan, path, lineno, raw)

    monkeypatch.setattr(dec, "_generic_line", spy)
    return calls


def _write(path: Path, records: list[Any], dumps: Any = json.dumps) -> Path:
    path.write_text("".join(dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def _record(i: int, **extra: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "doc_id": i,
        "doc": {"passage": f"p{i // 2}", "q": f"question {i}", "n": i % 3, "x": [1, 2]},
        "target": "0",
        "arguments": {f"gen_args_{j}": {"arg_0": f"ctx {i}", "arg_1": f" c{j}"} for j in range(3)},
        "resps": [[["-1.0", "False"]]] * 3,
        "filtered_resps": [["-1.0", "False"]] * 3,
        "filter": "none",
        "metrics": ["acc"],
        "doc_hash": f"d{i}",
        "prompt_hash": f"p{i}",
        "target_hash": "t",
        "acc": float(i % 2),
    }
    rec.update(extra)
    return rec


# --------------------------------------------------------------------------- the fast path is taken


def test_fixture_runs_take_the_fast_path_and_match_the_generic_decoder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = [{"passage": "a" * 100, "id": i, "w": 0.5, "ok": True, "none": None, "l": [i]} for i in range(4)]
    tasks = {
        "mc": fx.mc_task([1, 0, 1, 1], [2, 3, 4, 4], docs=docs),
        "gen": fx.gen_task([1, 0, 0, 1], filter="flexible-extract"),
        "chrf": fx.corpus_task(["a b", "c d"], ["a b", "c x"], aggregate=50.0),
    }
    folder = fx.write_run(tmp_path, tasks)
    calls = _count_generic(monkeypatch)
    for name, filt, otype in (
        ("mc", "none", None),
        ("gen", "flexible-extract", "generate_until"),
        ("chrf", "none", None),
    ):
        (path,) = folder.glob(f"samples_{name}_*.jsonl")
        assert _outcome(path, True, filter=filt, output_type=otype)[0] == "ok"
        assert calls == []  # every line went through the typed decoder
        assert _same_both_ways(path, filter=filt, output_type=otype)[0] == "ok"
        calls.clear()
    s = load_run(folder).samples("mc")
    assert s.n_choices is not None and s.n_choices.tolist() == [2, 3, 4, 4]
    assert s.clusters("passage").tolist() == [0, 0, 0, 0]
    assert s.clusters("id").tolist() == [0, 1, 2, 3]
    assert s.docs[1]["l"] == [1]  # full docs are read again from the file on request


def test_oddly_written_lines_use_the_generic_decoder_with_the_same_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recs = [_record(i) for i in range(6)]
    calls = _count_generic(monkeypatch)
    compact = _write(tmp_path / "compact.jsonl", recs, lambda r: json.dumps(r, separators=(",", ":")))
    assert _outcome(compact, True)[0] == "ok"
    assert calls == [1, 2, 3, 4, 5, 6]
    assert _same_both_ways(compact)[0] == "ok"
    calls.clear()
    lines = [json.dumps(r) for r in recs]
    lines[2] = "  " + lines[2]  # leading space
    lines[3] = lines[3].replace('"acc": 1.0', '"acc": 1.0, "extra": 1')  # a key not in the struct: dict path
    lines[4] = lines[4].replace('"acc": 0.0', '"acc": NaN')
    p = tmp_path / "odd.jsonl"
    p.write_text("\n".join(lines) + "\r\n", encoding="utf-8")
    kind, arrays = _outcome(p, True)
    assert kind == "ok" and arrays["scores"]["acc"][4] is None
    assert calls == [3, 5]
    assert _same_both_ways(p) == (kind, arrays)


LINE3_END = '"prompt_hash": "p2", "target_hash": "t", "acc": 0.0}'


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (
            lambda s: s.replace('"doc_id": 2', '"doc_id": 2, "doc_id": 0', 1),
            r":3: the key 'doc_id' appears twice",
        ),
        (
            lambda s: s.replace('"doc_hash": "d2"', '"doc_hash": "d2", "acc": 1.0', 1),
            r":3: the key 'acc' appears twice",
        ),
        (
            lambda s: s.replace('"doc_id": 2', '"doc_id": ' + "7" * 400, 1),
            r":3: a JSON number cannot be read",
        ),
        (lambda s: s.replace('"n": 2', '"n": ' + "7" * 400, 1), r":3: a JSON number cannot be read"),
        (lambda s: s.replace('"doc_id": 2', '"doc_id": "x"', 1), r":3: `doc_id` must be an integer; got 'x'"),
        (lambda s: s.replace('"doc_id": 2', '"doc_id": 1', 1), r":3: doc_id 1 repeats \(first at line 2\)"),
        (lambda s: s.replace('"doc_id": 2, ', "", 1), r":3: not an lm-eval samples record"),
        (lambda s: s.replace(LINE3_END, LINE3_END[:-1], 1), r":3: invalid JSON at column"),
        (
            lambda s: s.replace(LINE3_END, LINE3_END.replace("0.0", "2.0"), 1),
            r":3: metric 'acc' of task 't' is 2\.0",
        ),
        (lambda s: s.replace('"doc_hash": "d2"', '"doc_hash": NaN', 1), None),
        (lambda s: s.rstrip("\n")[:-5], r":6: invalid JSON .*the file looks truncated"),
        (
            lambda s: s.replace('"filter": "none"', '"filter": "other"'),
            r"no records with filter 'none'; filters present: other",
        ),
        (lambda s: "\n \n", r"empty samples file"),
    ],
)
def test_errors_name_file_and_line_exactly_as_before(tmp_path: Path, edit: Any, match: str | None) -> None:
    p = tmp_path / "samples_t_2026-01-01T00-00-00.jsonl"
    text = "".join(json.dumps(_record(i)) + "\n" for i in range(6))
    assert text.count(LINE3_END) == 1
    p.write_text(edit(text), encoding="utf-8")
    kind, message = _same_both_ways(p)
    if match is None:  # NaN is JSON to json.loads: the generic decoder reads the line
        assert kind == "ok" and message["hashes"][0][2] == "nan"
        return
    assert kind != "ok"
    with pytest.raises((ResultsFormatError, MissingMetricError), match=match):
        # read_samples reads the docs on demand: a bad doc field is refused when they are read
        assert read_samples(p, task="t").doc_fields is not None


# --------------------------------------------------------------------------- docs on demand


def _doc_parts(df: Any) -> tuple[Any, ...]:
    assert df is not None
    return dict(df.keys), {k: v.tolist() for k, v in df.codes.items()}, df.keysets, df.keyset_index.tolist()


def _odd_docs_file(path: Path) -> Path:
    """Docs of every shape, records of another filter between them, a BOM and lines for the generic decoder."""
    recs = [_record(i) for i in range(8)]
    recs[1]["doc"] = {"passage": "p0", "extra": {"nested": [1, {"a": None}]}, "n": 1.0}
    recs[2]["doc"] = "not an object"
    del recs[3]["doc"]
    recs[4]["doc"] = {"passage": "é" * 80, "n": True}  # long text: keyed by a digest
    recs[5]["filter"] = "other"  # not an item of filter 'none'
    lines = [json.dumps(r) for r in recs]
    lines[6] = lines[6].replace('"acc": 0.0', '"acc": NaN')  # the generic decoder reads this line
    lines[7] = json.dumps(recs[7], separators=(",", ":"))  # and this one
    path.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def test_docs_are_left_out_and_read_on_demand_as_the_full_decode_reads_them(tmp_path: Path) -> None:
    p = _odd_docs_file(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl")
    full = extract_samples(p, task="t", filter="none", output_type=None)
    assert extract_samples(p, task="t", filter="none", output_type=None, docs=False).doc_fields is None
    s = read_samples(p, task="t")
    assert s._doc_fields is None  # not decoded by the reader
    assert s.lines.tolist() == [1, 2, 3, 4, 5, 7, 8]
    assert _doc_parts(s.doc_fields) == _doc_parts(full.doc_fields)
    df = s.doc_fields
    assert df is not None and df.codes["passage"].tolist()[:2] == [0, 0]
    assert s.doc_fields is df  # read once


def test_docs_read_on_demand_come_from_the_cache_the_second_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    monkeypatch.setenv("LM_EVAL_MTL_CACHE", str(tmp_path / "cache"))
    p = _odd_docs_file(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl")
    first = _doc_parts(read_samples(p, task="t").doc_fields)
    assert sorted(e.name[:2] for e in (tmp_path / "cache" / "samples").iterdir()) == ["d-", "s-"]

    def refuse(*_: Any) -> Any:
        raise AssertionError("the docs were read from the file again")

    monkeypatch.setattr(dec, "read_doc_fields", refuse)
    assert _doc_parts(read_samples(p, task="t").doc_fields) == first


def test_docs_of_a_file_changed_since_it_was_read_are_refused(tmp_path: Path) -> None:
    p = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [_record(i) for i in range(4)])
    s = read_samples(p, task="t")
    _write(p, [_record(i) for i in (0, 1, 3, 2)])  # records 2 and 3 swapped
    with pytest.raises(ResultsFormatError, match=r":3: the record is not the one read before \(doc_id 2\)"):
        s.clusters("passage")
    p.write_text(json.dumps(_record(0)) + "\n" + json.dumps(_record(1))[:-1] + "\n", encoding="utf-8")
    with pytest.raises(
        ResultsFormatError, match=r":2: invalid JSON at column .*the file changed since it was read"
    ):
        s.clusters("passage")
    _write(p, [_record(0)])  # lines gone
    with pytest.raises(ResultsFormatError, match=r":2: the record is not the one read before"):
        s.clusters("passage")


def test_records_without_filter_or_metrics_list_and_mutual_info(tmp_path: Path) -> None:
    recs = []
    for i in range(4):
        r = _record(i, acc_mutual_info=1.0)
        del r["filter"], r["metrics"]
        r["arguments"] = {f"gen_args_{j}": {"arg_0": "c", "arg_1": " x"} for j in range(6)}
        recs.append(r)
    p = _write(tmp_path / "old.jsonl", recs)
    kind, arrays = _same_both_ways(p)
    assert arrays["n_choices"] == [3, 3, 3, 3] and set(arrays["scores"]) == {"acc", "acc_mutual_info"}
    recs[3]["doc_id"] = 1
    _write(p, recs)
    kind, message = _same_both_ways(p)
    assert "Records carry no `filter` field" in message


def test_list_form_arguments_and_generation_requests(tmp_path: Path) -> None:
    recs = [_record(i, arguments=[["ctx", " a"], ["ctx", " b"]]) for i in range(3)]
    assert _same_both_ways(_write(tmp_path / "a.jsonl", recs))[1]["n_choices"] == [2, 2, 2]
    recs = [
        _record(i, arguments={"gen_args_0": {"arg_0": "ctx", "arg_1": {"until": ["\n"]}}}) for i in range(3)
    ]
    assert _same_both_ways(_write(tmp_path / "b.jsonl", recs))[1]["n_choices"] is None
    recs = [_record(i, arguments={"gen_args_0": 5, "gen_args_1": {"arg_0": "c"}}) for i in range(3)]
    assert _same_both_ways(_write(tmp_path / "c.jsonl", recs))[1]["n_choices"] is None
    assert _same_both_ways(tmp_path / "c.jsonl", output_type="multiple_choice")[1]["n_choices"] == [2, 2, 2]


def test_metric_names_keep_the_order_of_first_appearance(tmp_path: Path) -> None:
    recs = [_record(0, zeta=1.0, alpha=0.0), _record(1, beta=0.5, zeta=0.0)]
    for r in recs:
        del r["metrics"]
    recs[1]["metrics"] = ["gamma", "acc"]
    kind, arrays = _same_both_ways(_write(tmp_path / "n.jsonl", recs))
    assert list(arrays["scores"]) == ["acc", "zeta", "alpha", "gamma"]


def test_a_fixed_key_listed_as_a_metric_is_read_like_the_generic_decoder(tmp_path: Path) -> None:
    recs = [_record(i, metrics=["acc", "doc_id"]) for i in range(3)]
    kind, arrays = _same_both_ways(_write(tmp_path / "f.jsonl", recs))
    assert arrays["scores"]["doc_id"] == [0.0, 1.0, 2.0]


def test_cluster_keys_compare_json_values(tmp_path: Path) -> None:
    values: list[Any] = [
        1,
        1.0,
        True,
        "1",
        None,
        1,
        "x" * 80,
        "x" * 80,
        "x" * 79 + "y",
        "caf\u00e9",
        "caf\u00e9",
    ]
    recs = [_record(i, doc={"k": v, "nested": {"a": i}}) for i, v in enumerate(values)]
    p = _write(
        tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", recs, lambda r: json.dumps(r, ensure_ascii=False)
    )
    _same_both_ways(p)
    p2 = _write(tmp_path / "samples_u_2026-01-01T00-00-00.jsonl", recs)  # \u00e9 escapes: same values
    s = read_samples(p, task="t")
    assert s.clusters("k").tolist() == [0, 1, 2, 3, 4, 0, 5, 5, 6, 7, 7]
    assert read_samples(p2).clusters("k").tolist() == s.clusters("k").tolist()
    with pytest.raises(
        MissingMetricError, match=r":1: the doc field 'nested' of task 't' holds a list or an object"
    ):
        s.clusters("nested")
    with pytest.raises(
        MissingMetricError, match=r":1: the doc of task 't' has no field 'zz'.*its fields: k, nested"
    ):
        s.clusters("zz")


def test_group_clusters_share_labels_across_leaf_tasks(tmp_path: Path) -> None:
    docs_a = [{"passage": "p1"}, {"passage": "p2"}]
    docs_b = [{"passage": "p2"}, {"passage": "p3"}, {"other": 1}]
    folder = fx.write_run(
        tmp_path,
        {"a": fx.mc_task([1, 0], 2, docs=docs_a), "b": fx.mc_task([1, 1, 0], 2, docs=docs_b)},
        groups={"grp": ["a", "b"]},
    )
    s = load_run(folder).samples("grp")
    with pytest.raises(
        MissingMetricError, match=r":3: the doc of task 'grp' has no field 'passage'.*its fields: other"
    ):
        s.clusters("passage")
    assert s.subtasks == ("a", "a", "b", "b", "b")
    assert [d.get("passage") for d in s.docs] == ["p1", "p2", "p2", "p3", None]
    assert s.doc_fields is not None and s.doc_fields.codes["passage"].tolist() == [0, 1, 1, 2, -1]


def test_a_large_many_choice_file_keeps_no_records(tmp_path: Path) -> None:
    import tracemalloc

    prompt = "word " * 400
    recs = [
        _record(i, arguments={f"gen_args_{j}": {"arg_0": prompt, "arg_1": f" l{j}"} for j in range(77)})
        for i in range(60)
    ]
    p = _write(tmp_path / "samples_big_2026-01-01T00-00-00.jsonl", recs)
    assert p.stat().st_size > 9_000_000
    tracemalloc.start()
    s = read_samples(p, output_type="multiple_choice")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert s.n_choices is not None and s.n_choices.tolist() == [77] * 60
    assert peak < 3_000_000  # one line (about 160 KB) at a time, not the 9 MB of records


# --------------------------------------------------------------------------- random records


_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([0.0, 0.5, 1.0, -0.0, 1e-300, 10**20, 10**310]),
    st.sampled_from(["", "a", "caf\u00e9", "\ud800", "x" * 70, '"q"\\']),
    st.lists(st.sampled_from([0, 1, True, 0.5]), max_size=3),
    st.lists(st.sampled_from(["ref", "pred"]), min_size=2, max_size=2),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(0, 2), max_size=2),
)


@st.composite
def _records(draw: st.DrawFn) -> list[str]:
    n = draw(st.integers(1, 5))
    lines = []
    for i in range(n):
        rec: dict[str, Any] = {"doc_id": draw(st.sampled_from([i, i, i, 0, "3", 1.0, None]))}
        doc_values = _VALUES.filter(lambda v: v != 10**310)  # unread in records of other filters
        rec["doc"] = draw(
            st.one_of(st.dictionaries(st.sampled_from(["p", "q", "r"]), doc_values, max_size=3), doc_values)
        )
        if draw(st.booleans()):
            rec["arguments"] = draw(
                st.sampled_from(
                    [
                        {
                            "gen_args_0": {"arg_0": "c", "arg_1": " a"},
                            "gen_args_1": {"arg_0": "c", "arg_1": " b"},
                        },
                        {"gen_args_0": {"arg_0": "c", "arg_1": {"until": []}}},
                        [["c", " a"], ["c", " b"], ["c", " d"]],
                        {},
                        3,
                    ]
                )
            )
        if draw(st.booleans()):
            rec["filter"] = draw(st.sampled_from(["none", "none", "other", None, 3]))
        if draw(st.booleans()):
            rec["metrics"] = draw(st.sampled_from([["acc"], ["acc", "m2"], [], ["acc", 1], "acc"]))
        for h in ("doc_hash", "prompt_hash", "target_hash"):
            if draw(st.booleans()):
                rec[h] = draw(st.sampled_from(["abc", "", None, 0, 5]))
        for m in draw(
            st.lists(st.sampled_from(["acc", "m2", "bleu", "acc_mutual_info"]), max_size=3, unique=True)
        ):
            rec[m] = draw(_VALUES)
        keys = list(rec)
        if draw(st.booleans()):
            random.Random(draw(st.integers(0, 9))).shuffle(keys)
        text = json.dumps({k: rec[k] for k in keys}, ensure_ascii=draw(st.booleans()))
        if draw(st.booleans()):
            text = text.replace(
                draw(st.sampled_from([", ", ": ", '"acc"', "1", "{"])),
                draw(st.sampled_from([",", ":", "  ", '"acc": 1, "acc"', "NaN", ""])),
                1,
            )
        lines.append(text)
    return lines


@settings(max_examples=150, deadline=None)
@given(lines=_records(), otype=st.sampled_from([None, "multiple_choice", "generate_until"]))
def test_random_records_give_the_same_result_or_error_both_ways(
    tmp_path_factory: pytest.TempPathFactory, lines: list[str], otype: str | None
) -> None:
    p = tmp_path_factory.mktemp("rand") / "samples_t_2026-01-01T00-00-00.jsonl"
    p.write_bytes(("\n".join(lines) + "\n").encode("utf-8", "surrogatepass"))
    fast, slow = _outcome(p, True, output_type=otype), _outcome(p, False, output_type=otype)
    assert fast == slow
    if fast[0] == "ok":
        s = read_samples(p, task="t", output_type=otype)
        for field in fast[1]["doc_codes"]:
            try:
                labels = s.clusters(field).tolist()
            except MissingMetricError:
                continue
            canon = [json.dumps(d.get(field), sort_keys=True) for d in s.docs]
            first: dict[str, int] = {}
            assert labels == [first.setdefault(c, len(first)) for c in canon]


@pytest.mark.parametrize("enabled", [True, False])
def test_reading_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path, enabled: bool) -> None:
    import gc

    good = _write(tmp_path / "samples_t_2026-01-01T00-00-00.jsonl", [_record(i) for i in range(5)])
    bad = tmp_path / "samples_u_2026-01-01T00-00-00.jsonl"
    bad.write_text(good.read_text(encoding="utf-8") + "{not json\n", encoding="utf-8")
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        assert dec.scan_file(good, "none", True).n_records == 5
        assert gc.isenabled() is enabled
        with pytest.raises(ResultsFormatError, match=r":6: invalid JSON"):
            dec.scan_file(bad, "none", True)  # an error half-way through the file
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()
