"""Shared fixtures for the whole test suite.

* Hypothesis runs a deterministic profile (``ci``) by default; set
  ``HYPOTHESIS_PROFILE=dev`` for randomized exploration.
* ``repo_root``: the checkout.
* ``shared_data``: ``<repo>/../shared/data`` (real public data, read-only) or a skip.
* ``offline_env``: an environment for subprocesses that never touches the Hub.
* ``tiny_hf_model``: a tiny random-weight HF causal LM folder, built once per session.
* ``lm_eval_bin`` / ``lm_eval_mtl_bin``: the installed console scripts (skip if absent).
* ``mtl_demo_run``: one ``lm_eval run`` of ``mtl_demo`` on the tiny model; ``demo_output``: one
  ``lm-eval-mtl demo --limit 4`` (both once per session, shared by the tests that read them).
* ``tests/data`` is on ``sys.path``: tests ``import fixture_runs`` (writes lm-eval-format runs).
* ``$LM_EVAL_MTL_CACHE`` is a temporary folder for the session (:data:`TEST_CACHE`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).resolve().parent / "data"))

from background import BackgroundRun  # noqa: E402 - tests/data, just put on sys.path

settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    max_examples=60,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

REPO_ROOT = Path(__file__).resolve().parent.parent

# Every subprocess and every in-process load stays offline.
OFFLINE_VARS = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TQDM_DISABLE": "1",
}
for _k, _v in OFFLINE_VARS.items():
    os.environ.setdefault(_k, _v)

# The samples cache (lm_eval_mtl/io/cache.py) of this session, removed at exit: tests (and the
# subprocesses they start) never read or write the user's cache.
TEST_CACHE = tempfile.mkdtemp(prefix="lm-eval-mtl-test-cache-")
os.environ["LM_EVAL_MTL_CACHE"] = TEST_CACHE
atexit.register(shutil.rmtree, TEST_CACHE, ignore_errors=True)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository checkout."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``<repo>/../shared/data``, or skip when this machine has no shared data."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data not available at {path}")
    return path


@pytest.fixture(scope="session")
def hf_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A private, empty HF cache for the session (datasets are built from local files)."""
    return tmp_path_factory.mktemp("hf_cache")


@pytest.fixture(scope="session")
def offline_env(hf_cache_dir: Path) -> dict[str, str]:
    """Environment for subprocesses: offline, quiet, private caches, this interpreter's bin first."""
    env = dict(os.environ)
    env.update(OFFLINE_VARS)
    env["HF_DATASETS_CACHE"] = str(hf_cache_dir / "datasets")
    env["HF_HOME"] = str(hf_cache_dir / "home")
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("LM_EVAL_MTL_DISABLE", None)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


@pytest.fixture(scope="session")
def tiny_hf_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder of a tiny random-weight GPT-2 with a locally trained tokenizer (built once).

    Reuses ``$LM_EVAL_MTL_TEST_MODEL_CACHE`` across sessions when set; otherwise builds
    into the session's temporary folder.
    """
    pytest.importorskip("transformers")
    pytest.importorskip("tokenizers")
    from lm_eval_mtl.demo.tiny_model import ensure_tiny_model

    env = os.environ.get("LM_EVAL_MTL_TEST_MODEL_CACHE")
    root = Path(env) if env else tmp_path_factory.mktemp("tiny_model")
    path, _ = ensure_tiny_model(root)
    return path


def _console_script(name: str) -> Path:
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return candidate
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"console script {name!r} is not installed (run `pip install -e .`)")
    return Path(found)


@pytest.fixture(scope="session")
def lm_eval_bin() -> Path:
    """The installed ``lm_eval`` console script."""
    return _console_script("lm_eval")


@pytest.fixture(scope="session")
def lm_eval_mtl_bin() -> Path:
    """The installed ``lm-eval-mtl`` console script."""
    return _console_script("lm-eval-mtl")


@pytest.fixture()
def no_plugin_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Turn the start-up hook off for code that this test runs in subprocesses."""
    monkeypatch.setenv("LM_EVAL_MTL_DISABLE", "1")
    yield


# --------------------------------------------------------------------------- a real lm-eval run


class LmEvalRun:
    """One finished ``lm_eval run`` of the bundled ``mtl_demo`` suite on the tiny model."""

    def __init__(self, output_dir: Path, stdout: str, stderr: str, argv: list[str]) -> None:
        self.output_dir = output_dir
        """``--output_path`` of the run."""
        self.stdout = stdout
        """lm-eval's printed tables."""
        self.stderr = stderr
        """lm-eval's log."""
        self.argv = argv
        """The command line."""
        results = sorted(output_dir.rglob("results_*.json"))
        if len(results) != 1:
            raise AssertionError(f"expected one results file under {output_dir}; found {results}")
        self.results_file = results[0]
        """The results JSON."""
        self.run_dir = results[0].parent
        """The model folder holding results and samples."""

    def results(self) -> dict[str, object]:
        """The parsed results JSON."""
        import json

        loaded: dict[str, object] = json.loads(self.results_file.read_text(encoding="utf-8"))
        return loaded

    def samples_file(self, task: str) -> Path:
        """The samples JSONL of ``task``."""
        found = sorted(self.run_dir.glob(f"samples_{task}_*.jsonl"))
        if len(found) != 1:
            raise AssertionError(f"expected one samples file for {task}; found {found}")
        return found[0]


MTL_DEMO_LIMIT = 16
"""Items per task in the shared ``mtl_demo_run`` (lm-eval ``--limit``)."""


def _session_uses(request: pytest.FixtureRequest, fixture: str) -> bool:
    """Whether a collected test of this session uses ``fixture``."""
    return any(fixture in getattr(item, "fixturenames", ()) for item in request.session.items)


@pytest.fixture(scope="session")
def mtl_demo_launch(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    tiny_hf_model: Path,
    offline_env: dict[str, str],
    lm_eval_bin: Path,
) -> BackgroundRun:
    """Starts the ``lm_eval run`` of :func:`mtl_demo_run` (without waiting for it)."""
    work = tmp_path_factory.mktemp("mtl_demo_run")
    out = work / "runs"
    argv = [
        str(lm_eval_bin), "run",
        "--model", "hf",
        "--model_args", f"pretrained={tiny_hf_model},dtype=float32",
        "--tasks", "mtl_demo",
        "--device", "cpu",
        "--batch_size", "16",
        "--limit", str(MTL_DEMO_LIMIT),
        "--seed", "0",
        "--output_path", str(out),
        "--log_samples",
    ]  # fmt: skip
    logs = tmp_path_factory.mktemp("mtl_demo_run_logs")  # outside the run's (empty) working folder
    run = BackgroundRun(argv, cwd=work, env=offline_env, timeout=900, logs=logs)
    request.addfinalizer(run.stop)
    return run


@pytest.fixture(scope="session", autouse=True)
def _start_mtl_demo_run_early(request: pytest.FixtureRequest) -> None:
    """Start :func:`mtl_demo_run`'s subprocess at the first test when a test of the session needs it.

    It is single-threaded (``OMP_NUM_THREADS=1``) and takes half a minute or more; started
    early, it runs beside the tests before the first one that reads it (the docs' and the
    demo's, mostly waiting on subprocesses of their own) instead of after them.
    """
    if not _session_uses(request, "mtl_demo_run") or hasattr(request.config, "workerinput"):
        return  # (a pytest-xdist worker collects every test but runs only some: no guessing there)
    try:
        request.getfixturevalue("mtl_demo_launch")
    except pytest.skip.Exception:
        pass  # the tests that need the run skip with the same reason when they ask for it


@pytest.fixture(scope="session")
def mtl_demo_run(mtl_demo_launch: BackgroundRun) -> LmEvalRun:
    """``lm_eval run --model hf (tiny) --tasks mtl_demo --log_samples --limit 16``, once per session.

    Runs the installed console script in a subprocess, offline, from an empty
    working directory and without ``--include_path`` (the plugin must find the suite).
    The subprocess starts at the first test of the session (see :func:`_start_mtl_demo_run_early`).
    """
    returncode, stdout, stderr = mtl_demo_launch.wait()
    if returncode != 0:
        raise AssertionError(f"lm_eval failed ({returncode}):\n{stderr[-4000:]}")
    argv = mtl_demo_launch.argv
    return LmEvalRun(Path(argv[argv.index("--output_path") + 1]), stdout, stderr, argv)


# --------------------------------------------------------------------------- one `lm-eval-mtl demo` run

DEMO_FOLDER = "lm-eval-mtl-demo"
"""The demo's default ``--output-dir``, where the docs expect its output."""

DEMO_LIMIT = 4
"""``--limit`` of the shared ``demo_output`` run."""


class DemoOutput:
    """One finished ``lm-eval-mtl demo --limit 4`` run (shared: copy ``out`` before writing into it)."""

    def __init__(
        self, cwd: Path, out: Path, returncode: int, stdout: str, stderr: str, argv: list[str]
    ) -> None:
        self.cwd = cwd
        """The working folder the demo ran in (it prints paths relative to it)."""
        self.out = out
        """``--output-dir`` (``cwd / lm-eval-mtl-demo``)."""
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.argv = argv


@pytest.fixture(scope="session")
def demo_output(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_hf_model: Path,
    offline_env: dict[str, str],
    lm_eval_mtl_bin: Path,
) -> DemoOutput:
    """``lm-eval-mtl demo --limit 4`` on the session's tiny model, once per session.

    Shared by the demo's end-to-end test (tests/e2e/test_plugin_demo.py) and the shell blocks of
    the docs (tests/docs/test_doc_commands.py, which copy it). The exit status is not checked
    here: each user asserts it, with the demo's output in the message.
    """
    import subprocess

    work = tmp_path_factory.mktemp("demo_output")
    out = work / DEMO_FOLDER
    argv = [
        str(lm_eval_mtl_bin), "demo", "--output-dir", str(out), "--cache-dir", str(tiny_hf_model.parent),
        "--limit", str(DEMO_LIMIT),
    ]  # fmt: skip
    proc = subprocess.run(
        argv, cwd=work, env=offline_env, capture_output=True, text=True, timeout=900, check=False
    )
    return DemoOutput(work, out, proc.returncode, proc.stdout, proc.stderr, argv)
