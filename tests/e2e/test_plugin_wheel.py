"""The built wheel, installed into a fresh virtual environment, registers the suites.

The fresh venv has no pip and no packages of its own; a ``.pth`` line makes the
test venv's third-party packages (lm-eval, torch, ...) importable, so the only
copy of lm-eval-mtl it sees is the wheel's. Installing takes seconds, offline.
"""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

SUITES = ("mtl_suite", "mtl_suite_lite", "mtl_openllm_v1", "mtl_openllm_v2", "mtl_demo")


@pytest.fixture(scope="module")
def wheel(repo_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("build")
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out), str(repo_root)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    wheels = list(out.glob("lm_eval_mtl-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


@pytest.fixture(scope="module")
def wheel_venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheel_venv") / "venv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(root)
    python = root / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    # Third-party packages from the test environment, appended after the venv's own site-packages.
    (site / "zz_host_packages.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index",
         "--no-compile", "--disable-pip-version-check", str(wheel)],
        capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return root


def test_wheel_ships_configs_hook_and_entry_point(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {"_lm_eval_mtl_startup.py", "lm_eval_mtl_startup.pth"} <= names
    for suite in ("mtl_suite", "mtl_suite_lite", "mtl_openllm_v1", "mtl_openllm_v2", "mtl_demo"):
        assert f"lm_eval_mtl/task_configs/{suite}/_{suite}.yaml" in names
    assert "lm_eval_mtl/task_configs/mtl_demo/data/sentiment.jsonl" in names
    assert not [n for n in names if "__pycache__" in n]
    meta = next(n for n in names if n.endswith(".dist-info/entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(meta).decode()
    # The form lm-eval's proposed discovery (PR #4015) consumes: the package holding the YAML,
    # which the wheel contains (it scans that package's folder).
    assert "[lm_eval.tasks]" in text and "lm_eval_mtl = lm_eval_mtl.task_configs" in text.splitlines()
    assert "lm_eval_mtl/task_configs/mtl_demo/_mtl_demo.yaml" in names


def test_installed_wheel_lists_suites_from_its_own_site_packages(
    wheel_venv: Path, offline_env: dict[str, str], tmp_path: Path
) -> None:
    python = wheel_venv / "bin" / "python"
    env = {k: v for k, v in offline_env.items() if k != "PYTHONPATH"}
    env["PATH"] = str(wheel_venv / "bin")
    where = subprocess.run(
        [str(python), "-c", "import lm_eval_mtl.suites as s; print(s.task_config_dir())"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert where.returncode == 0, where.stderr
    config_dir = where.stdout.strip()
    assert config_dir.startswith(str(wheel_venv)) and config_dir.endswith("lm_eval_mtl/task_configs")
    assert (wheel_venv / "bin" / "lm-eval-mtl").is_file()

    proc = subprocess.run(
        [str(python), "-m", "lm_eval", "ls", "tasks"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    listed = {}
    for line in proc.stdout.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if len(cells) >= 2:
            listed[cells[0]] = cells[1]
    for suite in SUITES:
        assert listed[suite].startswith(config_dir), (suite, listed.get(suite))


def test_wheel_entry_point_resolves_to_its_task_folder_without_the_hook(
    wheel_venv: Path, offline_env: dict[str, str], tmp_path: Path
) -> None:
    """PR #4015's discovery rule, hook off: the entry point's package is the wheel's task folder."""
    python = wheel_venv / "bin" / "python"
    env = {k: v for k, v in offline_env.items() if k != "PYTHONPATH"}
    env["LM_EVAL_MTL_DISABLE"] = "1"  # no start-up finder: plain import machinery only
    code = (
        "from lm_eval_mtl.plugin.native import resolve_entry_point_folder\n"
        "from lm_eval_mtl.suites import task_config_dir\n"
        "print(resolve_entry_point_folder('lm_eval_mtl.task_configs'))\n"
        "print(task_config_dir().resolve())\n"
    )
    proc = subprocess.run(
        [str(python), "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    resolved, config_dir = proc.stdout.split()
    assert resolved == config_dir and config_dir.startswith(str(wheel_venv.resolve()))
