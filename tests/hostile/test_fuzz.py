"""A seeded, time-bounded fuzzer of the CLI's inputs: results JSON, samples JSONL, panels, weights files.

Each example copies a valid fixture into a fresh folder, mutates one file (byte flips,
truncation, inserted bytes, type swaps, deleted or duplicated keys, NaN / inf / huge numbers,
duplicated or deleted lines and columns) and runs the real CLI entry point in this process
(``lm_eval_mtl.cli.main.main``, stdout and stderr captured). Every run must end with exit 0 or 2,
no traceback on stderr, and every input byte-identical afterwards. A failure is re-run with
``--debug`` so that its report carries the traceback.

Derandomized (a fixed seed) and small (``max_examples`` per input kind) so the whole file runs in
about a minute; ``HYPOTHESIS_PROFILE=dev`` does not change these explicit settings.
"""

from __future__ import annotations

import io
import json
import math
import shutil
import tempfile
import warnings
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lm_eval_mtl.cli.main import main

SHIPPED_WEIGHTS = (
    Path(__file__).resolve().parents[2] / "lm_eval_mtl" / "weights" / "redundancy-openllm_v1.json"
)
N_ITEMS = 12
FUZZ = settings(
    derandomize=True,
    deadline=None,
    max_examples=250,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# ---------------------------------------------------------------- the fixtures (written once)


def _write_fixtures(root: Path) -> dict[str, Path]:
    import numpy as np
    import sacrebleu

    from lm_eval_mtl.suites import load_suite

    out: dict[str, Path] = {}
    for seed, name in ((0, "a"), (1, "b")):
        rng = np.random.default_rng(seed)
        tasks: dict[str, Any] = {}
        for m in load_suite("mtl_demo").members:
            if m.metric == "chrf":
                refs = [f"das ist satz {i} hier" for i in range(N_ITEMS)]
                preds = [f"das ist ein satz {i}" for i in range(N_ITEMS)]
                tasks[m.task] = fx.corpus_task(
                    refs, preds, aggregate=sacrebleu.corpus_chrf(preds, [refs]).score
                )
            elif m.output_type == "multiple_choice":
                tasks[m.task] = fx.mc_task((rng.random(N_ITEMS) < 0.6).astype(int), round(1 / m.chance))
            else:
                tasks[m.task] = fx.gen_task(
                    (rng.random(N_ITEMS) < 0.3).astype(int), metric=m.metric, filter=m.filter
                )
        out[name] = fx.write_run(root / name, tasks, model=f"org/{name}", groups={"mtl_demo": list(tasks)})
    panel = root / "panel.csv"
    rows = ["Model,t1,t2,t3,t4"] + [
        f"m{i},{(i * 7 % 10) / 10},{(i * 3 % 10) / 10},{(i * 5 % 9) / 9},{(i * 2 % 7) / 7}"
        for i in range(1, 9)
    ]
    panel.write_text("\n".join(rows) + "\n", encoding="utf-8")
    out["panel"] = panel
    weights = root / "weights.json"
    shutil.copyfile(SHIPPED_WEIGHTS, weights)
    out["weights"] = weights
    return out


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pristine")
    _write_fixtures(root)
    return root


# ---------------------------------------------------------------- mutations

WEIRD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    10**400,
    1e308,
    -1e308,
    math.nan,
    math.inf,
    -math.inf,
    "",
    "N/A",
    "x" * 5000,
    "\x1b[31mred\x1b[0m\r",
    [],
    [1, 2],
    {},
    {"a": {"b": None}},
    0.5,
    "0.5",
]


def _paths(node: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> list[tuple[Any, ...]]:
    """Every key path into a JSON value (dict keys and list indices), up to a depth."""
    out: list[tuple[Any, ...]] = []
    if depth > 6:
        return out
    if isinstance(node, dict):
        for k, v in node.items():
            out.append((*prefix, k))
            out.extend(_paths(v, (*prefix, k), depth + 1))
    elif isinstance(node, list):
        for i, v in enumerate(node[:8]):
            out.append((*prefix, i))
            out.extend(_paths(v, (*prefix, i), depth + 1))
    return out


def _dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True, default=str)


def _mutate_json_text(text: str, data: st.DataObject) -> str:
    """A structural mutation of a JSON document (or returns ``text`` mutated as bytes)."""
    try:
        doc = json.loads(text)
    except ValueError:
        return text
    paths = _paths(doc)
    if not paths:
        return _dumps(data.draw(st.sampled_from(WEIRD_VALUES)))
    path = data.draw(st.sampled_from(paths), label="path")
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    kind = data.draw(st.sampled_from(["swap", "delete", "duplicate-key", "wrap", "rename"]), label="json-op")
    if kind == "swap":
        parent[key] = data.draw(st.sampled_from(WEIRD_VALUES), label="value")
    elif kind == "delete":
        del parent[key]
    elif kind == "wrap":
        parent[key] = [parent[key]] if data.draw(st.booleans()) else {"value": parent[key]}
    elif kind == "rename" and isinstance(parent, dict):
        parent[f"{key}\x00x" if data.draw(st.booleans()) else str(key).upper()] = parent.pop(key)
    elif kind == "duplicate-key" and isinstance(parent, dict):
        # a second, different value under the same key: JSON allows it, the last one wins
        other = data.draw(st.sampled_from(WEIRD_VALUES), label="dup-value")
        text2 = _dumps(doc)
        needle = json.dumps(str(key)) + ": "
        at = text2.find(needle)
        if at >= 0:
            return text2[:at] + needle + _dumps(other) + ", " + text2[at:]
    return _dumps(doc)


def _mutate_bytes(raw: bytes, data: st.DataObject) -> bytes:
    if not raw:
        return b"\xff"
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "empty", "bom", "nul"]), label="byte-op")
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    if kind == "flip":
        bit = data.draw(st.integers(0, 7), label="bit")
        return raw[:at] + bytes([raw[at] ^ (1 << bit)]) + raw[at + 1 :]
    if kind == "truncate":
        return raw[:at]
    if kind == "insert":
        junk = data.draw(st.binary(min_size=1, max_size=8), label="junk")
        return raw[:at] + junk + raw[at:]
    if kind == "empty":
        return b""
    if kind == "bom":
        return b"\xef\xbb\xbf" + raw
    return raw[:at] + b"\x00" + raw[at:]


def _mutate_jsonl(text: str, data: st.DataObject) -> str:
    lines = text.splitlines()
    kind = data.draw(st.sampled_from(["record", "delete-line", "duplicate-line", "blank-line", "swap-lines"]))
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    if kind == "record":
        lines[i] = _mutate_json_text(lines[i], data)
    elif kind == "delete-line":
        del lines[i]
    elif kind == "duplicate-line":
        lines.insert(i, lines[i])
    elif kind == "blank-line":
        lines.insert(i, "")
    else:
        j = data.draw(st.integers(0, len(lines) - 1), label="other")
        lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines) + "\n"


CELLS = [
    "nan",
    "NaN",
    "inf",
    "-inf",
    "1e999",
    "-1e999",
    "",
    "-",
    "abc",
    "0x10",
    "1,5",
    '"0.5"',
    "1e-320",
    "\x1b[2J",
]


def _mutate_csv(text: str, data: st.DataObject) -> str:
    rows = [line.split(",") for line in text.splitlines()]
    kind = data.draw(
        st.sampled_from(
            ["cell", "header", "delete-column", "duplicate-column", "duplicate-row", "short-row", "long-row"]
        )
    )
    r = data.draw(st.integers(0, len(rows) - 1), label="row")
    c = data.draw(st.integers(0, len(rows[0]) - 1), label="col")
    if kind == "cell":
        rows[max(r, 1)][c] = data.draw(st.sampled_from(CELLS), label="cell")
    elif kind == "header":
        rows[0][c] = data.draw(
            st.sampled_from(["", "Model", rows[0][(c + 1) % len(rows[0])], "t1", "\x1b[1m"])
        )
    elif kind == "delete-column":
        rows = [row[:c] + row[c + 1 :] for row in rows]
    elif kind == "duplicate-column":
        rows = [row + [row[c]] for row in rows]
    elif kind == "duplicate-row":
        rows.insert(r, list(rows[max(r, 1)]))
    elif kind == "short-row":
        rows[max(r, 1)] = rows[max(r, 1)][:c]
    else:
        rows[max(r, 1)] = rows[max(r, 1)] + ["0.3", "x"]
    return "\n".join(",".join(row) for row in rows) + "\n"


# ---------------------------------------------------------------- the harness


def _digest(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with warnings.catch_warnings(record=True), redirect_stdout(out), redirect_stderr(err):
        warnings.simplefilter("always")
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse
            code = exc.code if isinstance(exc.code, int) else 2
    return code, out.getvalue(), err.getvalue()


def _fuzz_case(
    pristine: Path,
    data: st.DataObject,
    pick: Callable[[Path], Path],
    mutate: Callable[[Path, st.DataObject], None],
    commands: list[Callable[[Path, Path], list[str]]],
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "in"
        shutil.copytree(pristine, root)
        target = pick(root)
        mutate(target, data)
        before = _digest(root)
        out_dir = Path(tmp) / "out"
        command = data.draw(st.sampled_from(commands), label="command")
        argv = command(root, out_dir)
        code, _, err = _call(argv)
        if code not in (0, 2) or "Traceback" in err:
            _, _, loud = _call(["--debug", *argv])
            mutated = target.read_bytes()[:3000]
            pytest.fail(
                f"exit {code} for {argv[:2]} on mutated {target.name}:\n{err}\n--- with --debug:\n{loud[-4000:]}"
                f"\n--- mutated file (first 3000 bytes):\n{mutated!r}"
            )
        assert _digest(root) == before, "an input file changed"


def _results(root: Path) -> Path:
    return next((root / "a" / "org__a").glob("results_*.json"))


def _samples(data: st.DataObject) -> Callable[[Path], Path]:
    def pick(root: Path) -> Path:
        files = sorted((root / "a" / "org__a").glob("samples_*.jsonl"))
        return files[data.draw(st.integers(0, len(files) - 1), label="samples-file")]

    return pick


def _json_mutation(path: Path, data: st.DataObject) -> None:
    raw = path.read_bytes()
    if data.draw(st.booleans(), label="structural"):
        path.write_text(_mutate_json_text(raw.decode("utf-8"), data), encoding="utf-8")
    else:
        path.write_bytes(_mutate_bytes(raw, data))


def _jsonl_mutation(path: Path, data: st.DataObject) -> None:
    raw = path.read_bytes()
    if data.draw(st.booleans(), label="structural"):
        path.write_text(_mutate_jsonl(raw.decode("utf-8"), data), encoding="utf-8")
    else:
        path.write_bytes(_mutate_bytes(raw, data))


def _csv_mutation(path: Path, data: st.DataObject) -> None:
    raw = path.read_bytes()
    if data.draw(st.booleans(), label="structural"):
        path.write_text(_mutate_csv(raw.decode("utf-8"), data), encoding="utf-8")
    else:
        path.write_bytes(_mutate_bytes(raw, data))


RES = ["--n-resamples", "50", "--seed", "1"]
RUN_COMMANDS: list[Callable[[Path, Path], list[str]]] = [
    lambda r, o: ["report", str(r / "a" / "org__a"), *RES],
    lambda r, o: [
        "report",
        str(r / "a" / "org__a"),
        "--suite",
        "mtl_demo",
        "--missing",
        "drop",
        *RES,
        "--format",
        "json",
    ],
    lambda r, o: ["report", str(r / "a" / "org__a"), "--method", "analytic", "--format", "latex"],
    lambda r, o: ["compare", str(r / "a" / "org__a"), str(r / "b" / "org__b"), *RES],
    lambda r, o: [
        "transfer",
        "--base",
        str(r / "b" / "org__b"),
        "--source",
        f"mtl_demo_sentiment={r / 'a' / 'org__a'}",
        *RES,
    ],
    lambda r, o: ["report", str(r / "a" / "org__a"), *RES, "--output", str(o / "r.md"), "--format", "md"],
]
PANEL_COMMANDS: list[Callable[[Path, Path], list[str]]] = [
    lambda r, o: ["correlate", str(r / "panel.csv")],
    lambda r, o: ["correlate", str(r / "panel.csv"), "--impute", "pca", "--format", "json"],
    lambda r, o: ["correlate", str(r / "panel.csv"), "--missing", "drop", "--format", "csv"],
    lambda r, o: [
        "weights",
        "fit",
        str(r / "panel.csv"),
        "--scheme",
        "redundancy",
        "--id-column",
        "Model",
        "--suite-id",
        "x@1",
        "--out",
        str(o / "w.json"),
        "--quiet",
    ],  # fmt: skip
]
WEIGHTS_COMMANDS: list[Callable[[Path, Path], list[str]]] = [
    lambda r, o: ["weights", "show", str(r / "weights.json")],
    lambda r, o: ["weights", "show", str(r / "weights.json"), "--format", "json"],
    lambda r, o: ["weights", "show", str(r / "weights.json"), "--format", "md"],
]


@FUZZ
@given(data=st.data())
def test_fuzz_results_json(pristine: Path, data: st.DataObject) -> None:
    _fuzz_case(pristine, data, _results, _json_mutation, RUN_COMMANDS)


@FUZZ
@given(data=st.data())
def test_fuzz_samples_jsonl(pristine: Path, data: st.DataObject) -> None:
    _fuzz_case(pristine, data, _samples(data), _jsonl_mutation, RUN_COMMANDS)


@FUZZ
@given(data=st.data())
def test_fuzz_panel_csv(pristine: Path, data: st.DataObject) -> None:
    _fuzz_case(pristine, data, lambda r: r / "panel.csv", _csv_mutation, PANEL_COMMANDS)


@FUZZ
@given(data=st.data())
def test_fuzz_weights_file(pristine: Path, data: st.DataObject) -> None:
    _fuzz_case(pristine, data, lambda r: r / "weights.json", _json_mutation, WEIGHTS_COMMANDS)


def test_the_pristine_fixtures_pass(pristine: Path) -> None:
    """Every fuzzed command succeeds on the unmutated inputs (so a refusal is the mutation's doing)."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "in"
        shutil.copytree(pristine, root)
        for command in (*RUN_COMMANDS, *PANEL_COMMANDS, *WEIGHTS_COMMANDS):
            argv = command(root, Path(tmp) / "out")
            code, _, err = _call(argv)
            assert code == 0, (argv, err)
