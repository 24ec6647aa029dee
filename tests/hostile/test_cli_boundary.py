"""The CLI boundary under hostile and mistaken input: every failure is one line on stderr, exit 2.

Categories, each tried on every subcommand where it applies (docs/bad-input.md):

* argument checks (argparse errors and library argument checks named as the option);
* the resampling memory ceiling (``--n-resamples 1000000000``);
* missing, misplaced and unreadable paths, a folder given as ``--output``, a full disk;
* every exception class reaching the boundary (OSError family, MemoryError, RecursionError,
  UnicodeError, YAML errors, a bug), injected into each subcommand;
* a closed stdout pipe, Ctrl-C, ``--debug`` and ``LM_EVAL_MTL_DEBUG``;
* broken task YAML passed to or found by ``suites``.
"""

from __future__ import annotations

import errno
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from typing import Any

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import pytest
from hostile_cli import ENV, Outcome, assert_refused, digest, run_cli  # tests/data

SHIPPED_WEIGHTS = (
    Path(__file__).resolve().parents[2] / "lm_eval_mtl" / "weights" / "redundancy-openllm_v1.json"
)


# ---------------------------------------------------------------- fixtures


def _demo_tasks(seed: int) -> dict[str, Any]:
    import numpy as np
    import sacrebleu

    from lm_eval_mtl.suites import load_suite

    rng = np.random.default_rng(seed)
    tasks: dict[str, Any] = {}
    for m in load_suite("mtl_demo").members:
        if m.metric == "chrf":
            refs = [f"das ist satz {i} hier" for i in range(40)]
            preds = [f"das ist ein satz {i}" for i in range(40)]
            tasks[m.task] = fx.corpus_task(refs, preds, aggregate=sacrebleu.corpus_chrf(preds, [refs]).score)
        elif m.output_type == "multiple_choice":
            tasks[m.task] = fx.mc_task((rng.random(40) < 0.6).astype(int), round(1 / m.chance))
        else:
            tasks[m.task] = fx.gen_task((rng.random(40) < 0.3).astype(int), metric=m.metric, filter=m.filter)
    return tasks


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two runs of two models on mtl_demo (samples logged), a CSV panel and a weights file."""
    root = tmp_path_factory.mktemp("runs")
    a = fx.write_run(root / "a", _demo_tasks(0), model="org/a")
    b = fx.write_run(root / "b", _demo_tasks(1), model="org/b")
    panel = root / "panel.csv"
    panel.write_text(
        "Model,t1,t2,t3\nm1,0.1,0.2,0.3\nm2,0.4,,0.7\nm3,0.3,0.1,0.9\nm4,0.5,0.5,0.2\nm5,0.2,0.3,0.1\n",
        encoding="utf-8",
    )
    weights = root / "weights.json"
    shutil.copyfile(SHIPPED_WEIGHTS, weights)
    return {"a": a, "b": b, "panel": panel, "weights": weights, "root": root}


def _inputs(runs: dict[str, Path]) -> dict[Path, str]:
    return digest([runs["a"], runs["b"], runs["panel"], runs["weights"]])


RUN_ARGS = ["--suite", "mtl_demo", "--missing", "drop"]  # no auto-detection note on stderr


def _argv(name: str, runs: dict[str, Path]) -> list[str]:
    """A valid command line of each subcommand on the fixtures."""
    a, b = str(runs["a"]), str(runs["b"])
    return {
        "report": ["report", a, *RUN_ARGS, "--n-resamples", "200"],
        "compare": ["compare", a, b, "--suite", "mtl_demo", "--n-resamples", "200"],
        "transfer": [
            "transfer",
            "--base",
            a,
            "--source",
            f"mtl_demo_sentiment={b}",
            "--suite",
            "mtl_demo",
            "--n-resamples",
            "200",
        ],
        "correlate": ["correlate", str(runs["panel"]), "--impute", "pca"],
        "weights show": ["weights", "show", str(runs["weights"])],
        "weights list": ["weights", "list"],
        "weights fit": ["weights", "fit", str(runs["panel"]), "--scheme", "equal", "--out", "w.json"],
        "suites": ["suites"],
        "demo": ["demo", "--limit", "2"],
        "affinity": [
            "affinity",
            "--model",
            "hf",
            "--model_args",
            "pretrained=org/tiny",
            "--tasks",
            "mtl_demo",
            "--output_path",
            "aff",
        ],
    }[name]


SUBCOMMANDS = (
    "report",
    "compare",
    "transfer",
    "correlate",
    "weights show",
    "weights list",
    "weights fit",
    "suites",
    "demo",
    "affinity",
)


def inproc(argv: list[str], monkeypatch: pytest.MonkeyPatch | None = None) -> Outcome:
    """``main(argv)`` in this process, stdout and stderr captured, as an :class:`Outcome`."""
    from lm_eval_mtl.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = int(exc.code or 0) if not isinstance(exc.code, str) else 2
    return Outcome(code, out.getvalue(), err.getvalue())


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[BaseException], None]]:
    """Make the next parsed subcommand raise ``exc`` (after its arguments were parsed)."""
    import lm_eval_mtl.cli.main as cli_main

    def arm(exc: BaseException) -> None:
        original = cli_main.build_parser

        def build() -> Any:
            parser = original()
            real = parser.parse_args

            def parse(args: Any = None, namespace: Any = None) -> Any:
                ns = real(args, namespace)

                def boom(_: Any) -> int:
                    raise exc

                ns.func = boom
                return ns

            parser.parse_args = parse  # type: ignore[method-assign]
            return parser

        monkeypatch.setattr(cli_main, "build_parser", build)

    yield arm


# ---------------------------------------------------------------- 1. argument checks


BAD_ARGS: list[tuple[str, list[str], str]] = [
    ("report", ["--confidence-level", "1.5"], r"--confidence-level must be in \(0, 1\)"),
    ("report", ["--n-resamples", "0"], r"--n-resamples.*positive integer"),
    ("report", ["--seed", "-5"], r"--seed must be a non-negative integer"),
    ("report", ["--run", "bogus"], r"bogus"),
    ("report", ["--method", "magic"], r"invalid choice: 'magic'"),
    ("report", ["--cluster", "nofield"], r"--cluster must be TASK=DOC_FIELD"),
    ("compare", ["--confidence-level", "1.5"], r"--confidence-level must be in \(0, 1\)"),
    ("compare", ["--n-resamples", "0"], r"--n-resamples.*positive integer"),
    ("compare", ["--seed", "-5"], r"--seed must be a non-negative integer"),
    ("compare", ["--cluster", "nofield"], r"--cluster expects KEY=VALUE"),
    ("transfer", ["--confidence-level", "1.5"], r"--confidence-level must be in \(0, 1\)"),
    ("transfer", ["--n-resamples", "0"], r"--n-resamples.*positive integer"),
    ("transfer", ["--seed", "-5"], r"--seed must be a non-negative integer"),
    ("correlate", ["--confidence-level", "1.5"], r"--confidence-level must be in \(0, 1\)"),
    ("correlate", ["--n-components", "99"], r"--n-components must be in \[1, 3\]; got 99"),
    ("correlate", ["--n-components", "0"], r"--n-components must be in \[1, 3\]; got 0"),
    ("correlate", ["--n-components", "two"], r"--n-components: invalid int value"),
    ("weights fit", ["--scheme", "nonsense"], r"nonsense"),
    ("weights show", ["--format", "xml"], r"invalid choice: 'xml'"),
    ("suites", ["--format", "json"], r"invalid choice: 'json'"),
    ("demo", ["--seed", "-5"], r"--seed must be a non-negative integer"),
    ("demo", ["--n-resamples", "0"], r"--n-resamples.*positive integer"),
    ("demo", ["--limit", "0"], r"--limit"),
]


@pytest.mark.parametrize(
    ("name", "extra", "match"), BAD_ARGS, ids=[f"{n} {' '.join(e)}" for n, e, _ in BAD_ARGS]
)
def test_bad_arguments_are_one_line_refusals(
    runs: dict[str, Path], tmp_path: Path, name: str, extra: list[str], match: str
) -> None:
    inputs = _inputs(runs)
    outcome = run_cli([*_argv(name, runs), *extra], cwd=tmp_path)
    assert_refused(outcome, match=match, inputs=inputs)
    assert not (tmp_path / "w.json").exists()


def test_unknown_subcommand_and_option_are_one_line_refusals(tmp_path: Path) -> None:
    assert_refused(run_cli(["frobnicate"], cwd=tmp_path), match="invalid choice: 'frobnicate'")
    assert_refused(run_cli(["suites", "--bogus"], cwd=tmp_path), match="unrecognized arguments: --bogus")
    assert_refused(run_cli([], cwd=tmp_path), match="required")


def test_help_and_version_still_work() -> None:
    assert run_cli(["--help"]).code == 0
    res = run_cli(["--version"])
    assert res.code == 0 and res.stdout.startswith("lm-eval-mtl ")
    assert "--debug" in run_cli(["--help"]).stdout


# ---------------------------------------------------------------- 2. memory ceiling


@pytest.mark.parametrize("name", ["report", "compare", "transfer"])
def test_huge_n_resamples_is_refused_before_allocating(runs: dict[str, Path], name: str) -> None:
    inputs = _inputs(runs)
    argv = [a if a != "200" else "1000000000" for a in _argv(name, runs)]
    outcome = run_cli(argv, timeout=60)
    assert_refused(outcome, match=r"--n-resamples 1000000000 would need about \d+\.\d GiB", inputs=inputs)
    assert "LM_EVAL_MTL_MAX_MEMORY_GB" in outcome.stderr


def test_the_memory_estimate_and_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from lm_eval_mtl.errors import MTLError, ResourceLimitError
    from lm_eval_mtl.stats._common import (
        check_resample_memory,
        resample_memory_bytes,
        resample_memory_limit,
    )

    monkeypatch.delenv("LM_EVAL_MTL_MAX_MEMORY_GB", raising=False)
    assert resample_memory_bytes(10_000, 6) < 100 << 20  # the default costs little
    assert resample_memory_bytes(10**9, 6) > 100 << 30
    limit, _ = resample_memory_limit()
    assert 0 < limit <= 4 << 30
    assert check_resample_memory(10_000, 60, what="x") > 0
    with pytest.raises(ResourceLimitError, match=r"--n-resamples 1000000000 .* for the thing") as info:
        check_resample_memory(10**9, 6, what="the thing")
    assert isinstance(info.value, MemoryError) and isinstance(info.value, MTLError)
    monkeypatch.setenv("LM_EVAL_MTL_MAX_MEMORY_GB", "1000")
    assert resample_memory_limit()[0] == 1000 << 30
    assert check_resample_memory(10**9, 6, what="x") > 0  # raised limit: allowed (nothing allocated here)
    monkeypatch.setenv("LM_EVAL_MTL_MAX_MEMORY_GB", "0.001")
    with pytest.raises(ResourceLimitError):
        check_resample_memory(10_000, 6, what="x")
    for bad in ("lots", "-1", "nan", "inf"):
        monkeypatch.setenv("LM_EVAL_MTL_MAX_MEMORY_GB", bad)
        with pytest.raises(MTLError, match="LM_EVAL_MTL_MAX_MEMORY_GB must be a positive number"):
            check_resample_memory(10, 1, what="x")


def test_malformed_memory_limit_variable_is_a_refusal(runs: dict[str, Path]) -> None:
    env = {**ENV, "LM_EVAL_MTL_MAX_MEMORY_GB": "lots"}
    proc = subprocess.run(
        [sys.executable, "-m", "lm_eval_mtl.cli.main", *_argv("report", runs)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert_refused(Outcome(proc.returncode, proc.stdout, proc.stderr), match="LM_EVAL_MTL_MAX_MEMORY_GB")


# ---------------------------------------------------------------- 3. paths


def _missing_path_argv(name: str, runs: dict[str, Path], missing: str) -> list[str]:
    argv = _argv(name, runs)
    if name == "report":
        argv[1] = missing
    elif name == "compare":
        argv[2] = missing
    elif name == "transfer":
        argv[2] = missing
    elif name in ("correlate", "weights show", "weights fit"):
        argv[1 if name == "correlate" else 2] = missing
    elif name == "suites":
        argv.append(missing)
    return argv


@pytest.mark.parametrize(
    "name", ["report", "compare", "transfer", "correlate", "weights show", "weights fit", "suites"]
)
@pytest.mark.parametrize("suffix", ["nope", "nope.json", "nope.csv", "nope.yaml"])
def test_missing_paths_are_refused(runs: dict[str, Path], tmp_path: Path, name: str, suffix: str) -> None:
    inputs = _inputs(runs)
    missing = str(tmp_path / "no" / suffix)
    outcome = inproc(_missing_path_argv(name, runs, missing))
    assert_refused(outcome, inputs=inputs)
    if name != "weights fit":  # weights fit reads a missing PANEL as run folders: "--suite is required"
        assert "nope" in outcome.stderr or "Unknown" in outcome.stderr


@pytest.mark.parametrize("name", ["report", "compare", "transfer", "correlate"])
def test_a_folder_as_output_is_refused(runs: dict[str, Path], tmp_path: Path, name: str) -> None:
    inputs = _inputs(runs)
    outcome = inproc([*_argv(name, runs), "--output", str(tmp_path)])
    assert_refused(outcome, match=r"folder", inputs=inputs)


@pytest.mark.parametrize("name", ["report", "compare", "transfer", "correlate"])
def test_an_input_as_output_is_refused(runs: dict[str, Path], name: str) -> None:
    inputs = _inputs(runs)
    target = next(iter(inputs)) if name != "correlate" else runs["panel"]
    outcome = inproc([*_argv(name, runs), "--output", str(target)])
    assert outcome.code == 2, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert digest(inputs) == inputs


def test_a_file_where_a_folder_is_expected(runs: dict[str, Path]) -> None:
    inputs = _inputs(runs)
    assert_refused(inproc(["report", str(runs["panel"] / "x"), *RUN_ARGS]), inputs=inputs)
    assert_refused(
        inproc([*_argv("report", runs), "--output", str(runs["panel"] / "out.txt")]), inputs=inputs
    )
    assert_refused(inproc(["weights", "show", str(runs["root"])]), inputs=inputs)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads and writes anything")
def test_unreadable_inputs_and_read_only_output_folder(runs: dict[str, Path], tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    shutil.copytree(runs["a"], locked)
    results = next(locked.glob("results_*.json"))
    results.chmod(0)
    try:
        assert_refused(run_cli(["report", str(locked), *RUN_ARGS]))
        assert_refused(run_cli(["report", str(results), *RUN_ARGS]))
    finally:
        results.chmod(0o644)
    locked.chmod(0)
    try:
        assert_refused(run_cli(["report", str(locked), *RUN_ARGS]))
    finally:
        locked.chmod(0o755)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    try:
        assert_refused(run_cli([*_argv("report", runs), "--output", str(ro / "x.txt")]))
    finally:
        ro.chmod(0o755)


def test_a_full_disk_on_stdout_is_refused(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    with open("/dev/full", "w") as full:  # noqa: PTH123
        proc = subprocess.run(
            [sys.executable, "-m", "lm_eval_mtl.cli.main", "suites", "--all"],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            env=ENV,
            timeout=120,
        )
    assert_refused(Outcome(proc.returncode, "", proc.stderr), match="no space left")
    assert "Exception ignored" not in proc.stderr


# ---------------------------------------------------------------- 4. every exception class, every subcommand


INJECTED: list[tuple[str, BaseException, int, str]] = [
    ("EACCES", PermissionError(errno.EACCES, "Permission denied", "/x/results.json"), 2, "permission denied"),
    ("EROFS", OSError(errno.EROFS, "Read-only file system", "/ro/out.txt"), 2, "read-only"),
    ("ENOSPC", OSError(errno.ENOSPC, "No space left on device", "/full/out.txt"), 2, "no space left"),
    ("EISDIR", IsADirectoryError(errno.EISDIR, "Is a directory", "/tmp"), 2, "is a folder"),
    ("ENOTDIR", NotADirectoryError(errno.ENOTDIR, "Not a directory", "/f/x"), 2, "not a folder"),
    ("ENOENT", FileNotFoundError(errno.ENOENT, "No such file or directory", "/nope"), 2, "does not exist"),
    ("EMFILE", OSError(errno.EMFILE, "Too many open files"), 2, "too many open files"),
    ("EIO", OSError(errno.EIO, "Input/output error", "/disk/x"), 2, "Input/output error"),
    ("MemoryError", MemoryError(), 2, "out of memory"),
    ("RecursionError", RecursionError("maximum recursion depth exceeded"), 2, "nested too deeply"),
    ("UnicodeError", UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), 2, "UTF-8"),
    ("bug", RuntimeError("boom\nsecond line"), 1, r"internal error RuntimeError: boom second line.*--debug"),
    ("KeyboardInterrupt", KeyboardInterrupt(), 130, "interrupted"),
]


@pytest.mark.parametrize("name", SUBCOMMANDS)
@pytest.mark.parametrize(("kind", "exc", "code", "match"), INJECTED, ids=[k for k, *_ in INJECTED])
def test_every_exception_class_is_one_line(
    runs: dict[str, Path],
    inject: Callable[[BaseException], None],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    kind: str,
    exc: BaseException,
    code: int,
    match: str,
) -> None:
    monkeypatch.delenv("LM_EVAL_MTL_DEBUG", raising=False)
    inject(exc)
    inputs = _inputs(runs)
    outcome = inproc(_argv(name, runs))
    lines = [ln for ln in outcome.stderr.splitlines() if ln.strip()]
    assert outcome.code == code, outcome.stderr
    assert "Traceback" not in outcome.stderr
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith(f"lm-eval-mtl {name.split()[0]}: ")
    import re

    assert re.search(match, lines[0]), lines[0]
    assert digest(inputs) == inputs


def test_yaml_errors_reaching_the_boundary_are_refusals(
    runs: dict[str, Path], inject: Callable[[BaseException], None]
) -> None:
    import yaml

    inject(yaml.YAMLError("mapping values are not allowed here"))
    assert_refused(inproc(_argv("report", runs)), match="task YAML file is malformed")


@pytest.mark.parametrize("how", ["flag-before", "flag-after", "env"])
def test_debug_shows_the_traceback(
    runs: dict[str, Path], inject: Callable[[BaseException], None], monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    inject(PermissionError(errno.EACCES, "Permission denied", "/x"))
    argv = _argv("suites", runs)
    if how == "flag-before":
        argv = ["--debug", *argv]
    elif how == "flag-after":
        argv = [*argv, "--debug"]
    else:
        monkeypatch.setenv("LM_EVAL_MTL_DEBUG", "1")
    outcome = inproc(argv)
    assert outcome.code == 2
    assert "Traceback (most recent call last)" in outcome.stderr
    assert outcome.stderr.rstrip().splitlines()[-1].startswith("lm-eval-mtl suites: error: permission denied")


def test_debug_in_a_real_process(runs: dict[str, Path], tmp_path: Path) -> None:
    missing = str(tmp_path / "nope")
    plain = run_cli(["report", missing, *RUN_ARGS])
    assert_refused(plain, match="does not exist")
    loud = run_cli(["--debug", "report", missing, *RUN_ARGS])
    assert loud.code == 2 and "Traceback" in loud.stderr
    env = {**ENV, "LM_EVAL_MTL_DEBUG": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "lm_eval_mtl.cli.main", "report", missing, *RUN_ARGS],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 2 and "Traceback" in proc.stderr


# ---------------------------------------------------------------- 5. closed pipe and Ctrl-C


def test_a_closed_stdout_pipe_exits_quietly(runs: dict[str, Path]) -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "lm_eval_mtl.cli.main", "suites", "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=ENV,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # the reader is gone before the first write
        err = proc.stderr.read().decode()
        proc.wait(timeout=120)
    assert proc.returncode == 141, err
    assert err == "", err


def test_report_piped_into_head(runs: dict[str, Path]) -> None:
    if shutil.which("head") is None or shutil.which("bash") is None:
        pytest.skip("no head/bash")
    cmd = " ".join(
        [
            f"'{sys.executable}'",
            "-m",
            "lm_eval_mtl.cli.main",
            *[f"'{a}'" for a in _argv("report", runs)],
            "| head -1",
        ]
    )
    proc = subprocess.run(["bash", "-c", cmd], capture_output=True, text=True, env=ENV, timeout=120)
    assert proc.returncode == 0
    assert proc.stdout.startswith("mtl_demo@")
    assert "Traceback" not in proc.stderr and "Exception ignored" not in proc.stderr


def test_ctrl_c_exits_130_without_a_traceback() -> None:
    script = textwrap.dedent(
        """
        import signal, sys, time
        # a shell that starts jobs in the background (no job control) makes them ignore SIGINT,
        # and Python then never raises KeyboardInterrupt: restore what a terminal gives a command
        signal.signal(signal.SIGINT, signal.default_int_handler)
        import lm_eval_mtl.cli.main as m
        original = m.build_parser
        def build():
            p = original()
            real = p.parse_args
            def parse(a=None, n=None):
                ns = real(a, n)
                def wait(_):
                    print("ready", file=sys.stderr, flush=True)
                    time.sleep(60)
                    return 0
                ns.func = wait
                return ns
            p.parse_args = parse
            return p
        m.build_parser = build
        sys.exit(m.main(["suites"]))
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV
    ) as proc:
        assert proc.stderr is not None
        assert proc.stderr.readline().strip() == "ready"
        proc.send_signal(signal.SIGINT)
        _, rest = proc.communicate(timeout=60)
    assert proc.returncode == 130, rest
    assert "Traceback" not in rest
    assert rest.strip() == "lm-eval-mtl suites: interrupted."


# ---------------------------------------------------------------- 6. suites and task YAML


def test_broken_task_yaml_passed_to_or_found_by_suites(tmp_path: Path) -> None:
    folder = tmp_path / "tasks"
    folder.mkdir()
    bad = folder / "bad.yaml"
    bad.write_text("group: mybad\nmetadata:\n  mtl: [\n  - x\n", encoding="utf-8")
    inputs = digest([folder])
    assert_refused(run_cli(["suites", str(bad)]), match=r"malformed.*bad\.yaml", inputs=inputs)
    assert_refused(run_cli(["suites", str(folder)]), match=r"malformed.*bad\.yaml", inputs=inputs)

    spec_bad = tmp_path / "spec" / "g.yaml"
    spec_bad.parent.mkdir()
    spec_bad.write_text("group: myok\ntask: [a, b]\nmetadata:\n  mtl:\n    weights: 7\n", encoding="utf-8")
    assert_refused(run_cli(["suites", str(spec_bad)]), match="myok")

    binary = tmp_path / "bin" / "b.yaml"
    binary.parent.mkdir()
    binary.write_bytes(b"group: \xff\xfe\x00 mtl\n")
    assert_refused(run_cli(["suites", str(binary)]))

    empty = tmp_path / "empty"
    empty.mkdir()
    assert_refused(run_cli(["suites", str(empty)]), match="no group YAML")
    assert_refused(run_cli(["suites", str(tmp_path / "none.yaml")]), match="does not exist")


def test_suites_reads_a_good_user_yaml(tmp_path: Path) -> None:
    from lm_eval_mtl.suites import task_config_dir

    shipped = next(
        p
        for p in sorted(task_config_dir().rglob("*.yaml"))
        if "mtl_demo" in p.name and "group" in p.read_text()
    )
    mine = tmp_path / shipped.name
    shutil.copyfile(shipped, mine)
    res = run_cli(["suites", str(mine)])
    assert res.code == 0, res.stderr
    assert "mtl_demo" in res.stdout
    res = run_cli(["suites", str(tmp_path)])
    assert res.code == 0 and "mtl_demo" in res.stdout


# ---------------------------------------------------------------- 7. names from files reach the terminal clean


def test_control_characters_in_names_do_not_reach_the_terminal(tmp_path: Path) -> None:
    evil = "org/evil\x1b[2J\x1b]0;pwned\x07\rname\u202e"
    folder = fx.write_run(tmp_path, _demo_tasks(3), model=evil)
    for fmt in ("table", "md", "latex", "csv"):
        res = run_cli(["report", str(folder), *RUN_ARGS, "--n-resamples", "100", "--format", fmt])
        assert res.code == 0, res.stderr
        for bad in ("\x1b", "\r", "\x07", "\u202e"):
            assert bad not in res.stdout, (fmt, bad)
    latex = run_cli(["report", str(folder), *RUN_ARGS, "--n-resamples", "100", "--format", "latex"]).stdout
    assert "\\texttt{signature: mtl\\_demo@" in latex
    js = run_cli(["report", str(folder), *RUN_ARGS, "--n-resamples", "100", "--format", "json"])
    assert js.code == 0 and "\x1b" not in js.stdout
    assert json.loads(js.stdout)  # the JSON keeps the name (escaped), for machines


def test_warnings_are_one_line_without_source_locations(runs: dict[str, Path]) -> None:
    argv = [a if a != "200" else "1" for a in _argv("report", runs)]  # B=1: the SE is undefined
    res = run_cli(argv)
    assert res.code == 0, res.stderr
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines and all(ln.startswith("lm-eval-mtl report: ") for ln in lines), res.stderr
    assert any("warning: The standard error needs n_resamples >= 2" in ln for ln in lines)
    assert ".py:" not in res.stderr
