"""Issue 9, the output side: no output overwrites an input, every write is atomic, nothing unsafe.

* every subcommand's ``--output`` / ``--out`` / ``--plots`` / ``--plot`` pointing at each kind of
  input (results JSON, samples file, panel CSV, weights file, transfer manifest) is refused
  (exit 2, one line, inputs byte-identical); a folder as output is refused; a missing parent
  folder is created;
* parallel writers and a reader: every read is one complete document;
* a full disk leaves the old file intact and no temporary file behind;
* weights: an edited file is refused; a shipped id means the shipped file whatever the
  working folder holds;
* ``demo --rebuild-model`` removes only folders carrying the demo's marker.
"""

from __future__ import annotations

import errno
import json
import multiprocessing as mp
import os
from collections.abc import Callable
from pathlib import Path

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import pytest
from hostile_cli import assert_refused, digest, run_cli

from lm_eval_mtl.errors import OutputPathError
from lm_eval_mtl.io.atomic import atomic_output, atomic_write_text, check_output_path

TS = fx.TS


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two runs, a panel CSV, a weights file fitted on it and a transfer manifest."""
    root = tmp_path_factory.mktemp("ws")
    a = fx.write_run(
        root / "runs",
        {"t1": fx.mc_task([1, 0, 1, 1, 0, 1, 0, 1]), "t2": fx.mc_task([0, 1, 1, 0, 1, 1, 0, 1])},
        model="org/a",
    )
    b = fx.write_run(
        root / "runs",
        {"t1": fx.mc_task([1, 1, 1, 1, 0, 1, 0, 1]), "t2": fx.mc_task([0, 1, 1, 1, 1, 1, 0, 1])},
        model="org/b",
    )
    panel = root / "panel.csv"
    rows = ["Model,t1,t2,t3"] + [
        f"m{i},{0.2 + 0.02 * i:.3f},{0.25 + 0.018 * i + 0.01 * (i % 3):.3f},{0.5 + 0.1 * ((i * 7) % 5) / 5:.3f}"
        for i in range(24)
    ]
    panel.write_text("\n".join(rows) + "\n", encoding="utf-8")
    weights = root / "w.json"
    out = run_cli(
        [
            "weights",
            "fit",
            str(panel),
            "--scheme",
            "redundancy",
            "--id-column",
            "Model",
            "--suite-id",
            "s@1",
            "--out",
            str(weights),
            "--quiet",
        ]
    )
    assert out.code == 0, out.stderr
    manifest = root / "study.yaml"
    manifest.write_text(f"base: {a}\nsources:\n  t1: {b}\n", encoding="utf-8")
    return {
        "root": root,
        "a": a,
        "b": b,
        "results": a / f"results_{TS}.json",
        "samples": a / f"samples_t1_{TS}.jsonl",
        "results_b": b / f"results_{TS}.json",
        "panel": panel,
        "weights": weights,
        "manifest": manifest,
    }


# (subcommand arguments with {placeholders}, the input the output names)
CASES: list[tuple[str, list[str]]] = [
    ("report-results", ["report", "{results}", "--output", "{results}"]),
    ("report-samples", ["report", "{a}", "--output", "{samples}"]),
    ("report-plots-results", ["report", "{results}", "--plots", "{results}"]),
    ("report-plots-under-results", ["report", "{results}", "--plots", "{results}/figs"]),
    ("report-weights", ["report", "{a}", "--weights", "{weights}", "--output", "{weights}"]),
    ("compare-results", ["compare", "{a}", "{b}", "--units", "raw", "--output", "{results_b}"]),
    ("compare-samples", ["compare", "{a}", "{b}", "--units", "raw", "--output", "{samples}"]),
    (
        "transfer-samples",
        ["transfer", "--base", "{a}", "--source", "t1={b}", "--units", "raw", "--output", "{samples}"],
    ),
    (
        "transfer-manifest",
        ["transfer", "--manifest", "{manifest}", "--units", "raw", "--output", "{manifest}"],
    ),
    (
        "transfer-plots-results",
        ["transfer", "--manifest", "{manifest}", "--units", "raw", "--plots", "{results}"],
    ),
    ("correlate-panel", ["correlate", "{panel}", "--output", "{panel}"]),
    ("correlate-runs", ["correlate", "{root}/runs", "--output", "{results_b}"]),
    (
        "fit-panel",
        [
            "weights",
            "fit",
            "{panel}",
            "--scheme",
            "redundancy",
            "--id-column",
            "Model",
            "--suite-id",
            "s@1",
            "--out",
            "{panel}",
        ],
    ),
    (
        "fit-runs",
        ["weights", "fit", "{a}", "{b}", "--scheme", "equal", "--suite", "mtl_demo", "--out", "{results}"],
    ),
    ("show-weights", ["weights", "show", "{weights}", "--plot", "{weights}"]),
]


def _fill(args: list[str], ws: dict[str, Path]) -> list[str]:
    return [a.format(**{k: str(v) for k, v in ws.items()}) for a in args]


@pytest.mark.parametrize(("name", "args"), CASES, ids=[c[0] for c in CASES])
def test_output_that_is_an_input_is_refused(ws: dict[str, Path], name: str, args: list[str]) -> None:
    before = digest([ws["root"]])
    assert_refused(run_cli(_fill(args, ws)), match=r"is the input file", inputs=before)


@pytest.mark.parametrize(
    "args",
    [
        ["report", "{results}", "--output", "{a}"],
        ["compare", "{a}", "{b}", "--units", "raw", "--output", "{root}"],
        ["correlate", "{panel}", "--output", "{root}"],
        [
            "weights",
            "fit",
            "{panel}",
            "--scheme",
            "equal",
            "--id-column",
            "Model",
            "--suite-id",
            "s@1",
            "--out",
            "{root}",
        ],
    ],
    ids=["report", "compare", "correlate", "fit"],
)
def test_folder_as_output_is_refused(ws: dict[str, Path], args: list[str]) -> None:
    before = digest([ws["root"]])
    assert_refused(run_cli(_fill(args, ws)), match=r"is a folder", inputs=before)


def test_plots_folder_that_is_a_file_is_refused(ws: dict[str, Path], tmp_path: Path) -> None:
    f = tmp_path / "not-a-folder"
    f.write_text("mine\n", encoding="utf-8")
    before = digest([ws["root"], f])
    out = run_cli(["transfer", "--manifest", str(ws["manifest"]), "--units", "raw", "--plots", str(f)])
    assert_refused(out, match=r"is a file, not a folder", inputs=before)


def test_link_to_an_input_is_refused(ws: dict[str, Path], tmp_path: Path) -> None:
    sym = tmp_path / "alias.json"
    sym.symlink_to(ws["results"])
    hard = tmp_path / "hard.csv"
    os.link(ws["panel"], hard)
    before = digest([ws["root"]])
    assert_refused(
        run_cli(["report", str(ws["results"]), "--output", str(sym)]),
        match="is the input file",
        inputs=before,
    )
    assert_refused(
        run_cli(["correlate", str(ws["panel"]), "--output", str(hard)]),
        match="is the input file",
        inputs=before,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["compare", "{a}", "{b}", "--units", "raw", "--format", "json", "--output", "{out}"],
        ["correlate", "{panel}", "--format", "json", "--output", "{out}"],
        ["transfer", "--manifest", "{manifest}", "--units", "raw", "--format", "json", "--output", "{out}"],
    ],
    ids=["compare", "correlate", "transfer"],
)
def test_missing_parent_folder_is_created(ws: dict[str, Path], tmp_path: Path, args: list[str]) -> None:
    out = tmp_path / "new" / "deeper" / "out.json"
    before = digest([ws["root"]])
    res = run_cli(_fill(args, {**ws, "out": out}))
    assert res.code == 0, res.stderr
    assert isinstance(json.loads(out.read_text(encoding="utf-8")), dict)
    assert [p.name for p in out.parent.iterdir()] == ["out.json"]  # no temporary file left
    assert digest(before) == before


def test_fit_writes_a_new_weights_file_into_a_new_folder(ws: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "a" / "b" / "w.json"
    res = run_cli(
        [
            "weights",
            "fit",
            str(ws["panel"]),
            "--scheme",
            "equal",
            "--id-column",
            "Model",
            "--suite-id",
            "s@1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert res.code == 0, res.stderr
    assert "content_sha256" in json.loads(out.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ concurrency


def _writer(path: str, k: int, rounds: int) -> None:
    doc = {"writer": k, "payload": [k] * (2000 + 500 * k)}
    for i in range(rounds):
        doc["round"] = i % 2  # two documents per writer, alternating
        atomic_write_text(path, json.dumps(doc))


def _reader(path: str, stop: object, bad: object, reads: object) -> None:
    n = 0
    while not stop.is_set():  # type: ignore[attr-defined]
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            continue
        try:
            doc = json.loads(text)
            ok = doc["payload"] == [doc["writer"]] * (2000 + 500 * doc["writer"]) and doc["round"] in (0, 1)
        except (ValueError, KeyError, TypeError):
            ok = False
        if not ok:
            bad.value += 1  # type: ignore[attr-defined]
        n += 1
    reads.value = n  # type: ignore[attr-defined]


def test_parallel_writers_never_expose_a_partial_file(tmp_path: Path) -> None:
    path = str(tmp_path / "out.json")
    ctx = mp.get_context("spawn")
    stop, bad, reads = ctx.Event(), ctx.Value("i", 0), ctx.Value("i", 0)
    reader = ctx.Process(target=_reader, args=(path, stop, bad, reads))
    reader.start()
    writers = [ctx.Process(target=_writer, args=(path, k, 150)) for k in range(4)]
    for w in writers:
        w.start()
    for w in writers:
        w.join(120)
    stop.set()
    reader.join(60)
    assert all(w.exitcode == 0 for w in writers)
    assert reader.exitcode == 0
    assert reads.value > 0
    assert bad.value == 0, f"{bad.value} of {reads.value} reads saw a partial or mixed file"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


# ------------------------------------------------------------------ failures part-way


def _enospc(*_a: object, **_k: object) -> None:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


@pytest.mark.parametrize("writer", ["text", "context", "weights"])
def test_full_disk_keeps_the_old_file_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, writer: str
) -> None:
    from lm_eval_mtl import load_weights, save_weights

    target = tmp_path / "out.json"
    if writer == "weights":
        old_wf = load_weights("redundancy-openllm_v1")
        save_weights(old_wf, target)
    else:
        target.write_text('{"old": true}\n', encoding="utf-8")
    before = target.read_bytes()
    monkeypatch.setattr(os, "fsync", _enospc)
    write: Callable[[], object]
    if writer == "text":
        write = lambda: atomic_write_text(target, json.dumps({"new": [1] * 10000}))  # noqa: E731
    elif writer == "context":

        def write() -> None:
            with atomic_output(target) as tmp:
                tmp.write_text("partial", encoding="utf-8")

    else:
        write = lambda: save_weights(load_weights("redundancy-openllm_v2"), target)  # noqa: E731
    with pytest.raises(OutputPathError, match="No space left on device.*unchanged"):
        write()
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
    monkeypatch.undo()
    if writer == "weights":
        assert load_weights(target).sha256 == old_wf.sha256


def test_failure_while_rendering_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "fig.png"
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half a png")
        raise RuntimeError("renderer crashed")
    assert list(tmp_path.iterdir()) == []


def test_checker_refuses_input_folder_and_file_parent(tmp_path: Path) -> None:
    f = tmp_path / "in.csv"
    f.write_text("x\n", encoding="utf-8")
    with pytest.raises(OutputPathError, match=r"out.*is the input file .*in\.csv"):
        check_output_path(tmp_path / "sub" / ".." / "in.csv", [f])
    with pytest.raises(OutputPathError, match="is a folder"):
        check_output_path(tmp_path, [])
    with pytest.raises(OutputPathError, match=r"in\.csv is the input file"):
        check_output_path(f / "x.json", [f])
    assert check_output_path(tmp_path / "new" / "x.json", [f]) == tmp_path / "new" / "x.json"


def test_new_file_gets_the_usual_mode_and_replaced_file_keeps_its_own(tmp_path: Path) -> None:
    umask = os.umask(0o022)
    try:
        new = atomic_write_text(tmp_path / "new.txt", "x")
        assert new.stat().st_mode & 0o777 == 0o644
        old = tmp_path / "old.txt"
        old.write_text("y", encoding="utf-8")
        old.chmod(0o600)
        atomic_write_text(old, "z")
        assert old.stat().st_mode & 0o777 == 0o600
    finally:
        os.umask(umask)


# ------------------------------------------------------------------ weights files


def test_edited_weights_file_is_refused_by_the_cli(ws: dict[str, Path], tmp_path: Path) -> None:
    edited = tmp_path / "edited.json"
    data = json.loads(ws["weights"].read_text(encoding="utf-8"))
    keys = list(data["weights"])
    data["weights"][keys[0]], data["weights"][keys[1]] = data["weights"][keys[1]], data["weights"][keys[0]]
    edited.write_text(json.dumps(data, indent=2), encoding="utf-8")
    before = digest([edited])
    assert_refused(
        run_cli(["weights", "show", str(edited)]), match="edited after it was written", inputs=before
    )


def test_shipped_id_is_not_replaced_by_a_file_in_cwd(tmp_path: Path) -> None:
    from lm_eval_mtl import load_weights

    ident = "redundancy-openllm_v1"
    data = load_weights(ident).to_dict()
    w = data["weights"]
    w[next(iter(w))] += 0.0  # same keys; change the values so the hash differs
    keys = list(w)
    w[keys[0]], w[keys[1]] = w[keys[1]], w[keys[0]]
    for name in (ident, f"{ident}.json"):
        (tmp_path / name).write_text(json.dumps(data), encoding="utf-8")
    res = run_cli(["weights", "show", ident, "--format", "json"], cwd=tmp_path)
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["weights"] == load_weights(ident).to_dict()["weights"]
    res = run_cli(["weights", "show", "./" + ident, "--format", "json"], cwd=tmp_path)
    assert res.code == 0, res.stderr
    assert json.loads(res.stdout)["weights"] == w


def test_bare_unknown_name_is_not_read_from_cwd(tmp_path: Path) -> None:
    from lm_eval_mtl import load_weights

    (tmp_path / "mine").write_text(
        json.dumps(load_weights("redundancy-openllm_v1").to_dict()), encoding="utf-8"
    )
    assert_refused(run_cli(["weights", "show", "mine"], cwd=tmp_path), match="Unknown weights id 'mine'")


# ------------------------------------------------------------------ demo


def test_rebuild_selects_only_folders_carrying_the_marker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval_mtl.demo import tiny_model
    from lm_eval_mtl.demo.run import DemoContext, _step_model

    mine = tmp_path / "tiny-gpt2-mine"
    mine.mkdir()
    (mine / "weights.bin").write_bytes(b"the user's own model")
    ours = tmp_path / "tiny-gpt2-0123456789ab"
    ours.mkdir()
    tiny_model.write_demo_marker(ours, "tiny model")
    other = tmp_path / "anything-else"  # ours too, whatever its name
    other.mkdir()
    tiny_model.write_demo_marker(other, "tiny model")
    fake = tmp_path / "tiny-gpt2-fake"  # a marker that is not ours
    fake.mkdir()
    (fake / tiny_model.DEMO_MARKER).write_text('{"created_by": "someone else"}', encoding="utf-8")
    link = tmp_path / "tiny-gpt2-link"
    link.symlink_to(ours, target_is_directory=True)
    assert tiny_model.demo_owned_folders(tmp_path) == sorted([ours, other])

    built: list[Path] = []

    def fake_build(root: Path | None = None, config: object = None) -> tuple[Path, bool]:
        built.append(Path(str(root)))
        return Path(str(root)) / "tiny-gpt2-new", True

    monkeypatch.setattr(tiny_model, "ensure_tiny_model", fake_build)
    _step_model(DemoContext(output_dir=tmp_path / "out", cache_dir=tmp_path, rebuild_model=True))
    assert built == [tmp_path]
    assert (mine / "weights.bin").read_bytes() == b"the user's own model"
    assert fake.is_dir() and link.is_symlink()
    assert not ours.exists() and not other.exists()


def test_model_folder_of_an_older_version_is_recognised_by_content(tmp_path: Path) -> None:
    from dataclasses import asdict

    from lm_eval_mtl.demo import tiny_model

    cfg = tiny_model.TinyModelConfig()
    old = tmp_path / f"tiny-gpt2-{cfg.key()}"
    old.mkdir()
    (old / "lm_eval_mtl_tiny_model.json").write_text(json.dumps(asdict(cfg)), encoding="utf-8")
    look_alike = tmp_path / "tiny-gpt2-ffffffffffff"
    look_alike.mkdir()
    (look_alike / "lm_eval_mtl_tiny_model.json").write_text(json.dumps(asdict(cfg)), encoding="utf-8")
    assert tiny_model.demo_owned_folders(tmp_path) == [old]


def test_demo_output_dir_that_is_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("keep\n", encoding="utf-8")
    before = digest([f])
    assert_refused(run_cli(["demo", "--output-dir", str(f), "--quick"]), match="is a file", inputs=before)


def test_a_device_output_is_written_through_never_replaced(tmp_path: Path) -> None:
    import stat

    from lm_eval_mtl.errors import OutputPathError
    from lm_eval_mtl.io.atomic import atomic_output, atomic_write_text

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    atomic_write_text("/dev/null", "discarded\n")
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(OutputPathError, match="is a device or pipe"):
        with atomic_output(fifo):
            pass
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
