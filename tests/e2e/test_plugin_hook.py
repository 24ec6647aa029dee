"""The start-up hook as installed: `lm_eval ls tasks` with, without and with a broken plugin.

Three `lm_eval ls tasks` processes (each indexes ~15k built-in YAML files) run
concurrently once per module and are compared line by line.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from lm_eval_mtl.suites import task_config_dir

pytestmark = pytest.mark.e2e

SUITES = ("mtl_suite", "mtl_suite_lite", "mtl_openllm_v1", "mtl_openllm_v2", "mtl_demo")
OVERRIDDEN = "mtl_demo_sentiment"

# `lm_eval` exactly as its console script runs it, after making lm_eval_mtl unimportable:
# the hook's own imports then fail inside lm-eval's TaskManager.
BROKEN_PLUGIN = textwrap.dedent(
    """
    import sys
    sys.modules["lm_eval_mtl"] = None
    sys.modules["lm_eval_mtl.suites"] = None
    sys.argv = ["lm_eval", *sys.argv[1:]]
    from lm_eval.__main__ import cli_evaluate
    sys.exit(cli_evaluate())
    """
)


@dataclass
class Listing:
    rc: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        return self.stdout.splitlines()

    def names(self) -> set[str]:
        return {line.strip("|").split("|")[0].strip() for line in self.lines if line.startswith("|")}

    def path_of(self, name: str) -> str:
        for line in self.lines:
            cells = [c.strip() for c in line.strip("|").split("|")]
            if cells and cells[0] == name:
                return cells[1]
        raise AssertionError(f"{name} not listed")


@pytest.fixture(scope="module")
def override_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's --include_path folder defining a task with the same name as one of ours."""
    folder = tmp_path_factory.mktemp("user_tasks")
    (folder / "my_sentiment.yaml").write_text(
        textwrap.dedent(
            f"""
            task: {OVERRIDDEN}
            task_alias: user's own sentiment
            dataset_path: json
            dataset_kwargs:
              data_files: {{test: {folder / "data.jsonl"}}}
            test_split: test
            output_type: multiple_choice
            doc_to_text: "{{{{text}}}}"
            doc_to_choice: ["no", "yes"]
            doc_to_target: label
            metadata:
              version: 9.0
            """
        ),
        encoding="utf-8",
    )
    (folder / "data.jsonl").write_text('{"text": "fine", "label": 1}\n', encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def listings(
    lm_eval_bin: Path,
    offline_env: dict[str, str],
    override_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Listing]:
    cwd = tmp_path_factory.mktemp("ls_cwd")
    disabled_env = {**offline_env, "LM_EVAL_MTL_DISABLE": "1"}
    commands: dict[str, tuple[list[str], dict[str, str]]] = {
        "enabled": ([str(lm_eval_bin), "ls", "tasks", "--include_path", str(override_dir)], offline_env),
        "disabled": ([str(lm_eval_bin), "ls", "tasks"], disabled_env),
        "broken": ([sys.executable, "-c", BROKEN_PLUGIN, "ls", "tasks"], offline_env),
    }
    procs = {
        key: subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for key, (argv, env) in commands.items()
    }
    out: dict[str, Listing] = {}
    for key, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=900)
        out[key] = Listing(proc.returncode, stdout, stderr)
    return out


def test_ls_tasks_lists_our_suites_without_include_path(listings: dict[str, Listing]) -> None:
    enabled = listings["enabled"]
    assert enabled.rc == 0, enabled.stderr[-2000:]
    names = enabled.names()
    for suite in SUITES:
        assert suite in names
        assert enabled.path_of(suite).startswith(str(task_config_dir()))
    assert {"mtl_demo_classification", "mtl_demo_de_en", "mtl_suite_translation"} <= names


def test_users_include_path_task_wins_over_ours(listings: dict[str, Listing], override_dir: Path) -> None:
    assert listings["enabled"].path_of(OVERRIDDEN) == str(override_dir / "my_sentiment.yaml")


def test_disabled_plugin_gives_exactly_lm_evals_own_listing(
    listings: dict[str, Listing], override_dir: Path
) -> None:
    disabled, enabled = listings["disabled"], listings["enabled"]
    assert disabled.rc == 0, disabled.stderr[-2000:]
    assert not any(name.startswith("mtl_") for name in disabled.names())
    ours, theirs = str(task_config_dir()), str(override_dir)
    stripped = [line for line in enabled.lines if ours not in line and theirs not in line]
    assert stripped == disabled.lines


def test_broken_plugin_leaves_lm_eval_ls_working(listings: dict[str, Listing]) -> None:
    broken, disabled = listings["broken"], listings["disabled"]
    assert broken.rc == 0, broken.stderr[-2000:]
    assert broken.lines == disabled.lines
    assert "lm-eval-mtl start-up hook: cannot patch lm_eval.tasks.manager" in broken.stderr
    assert broken.stderr.count("cannot patch lm_eval.tasks.manager") == 1  # logged once


# ------------------------------------------------------------------------ interpreter start-up


def _python(code: str, env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300, check=False, **kw
    )


SNAPSHOT = "import sys; print(sorted(sys.modules)); print([type(f).__name__ for f in sys.meta_path])"


def test_startup_hook_imports_nothing_but_itself(offline_env: dict[str, str]) -> None:
    on = _python(SNAPSHOT, offline_env)
    off = _python(SNAPSHOT, {**offline_env, "LM_EVAL_MTL_DISABLE": "1"})
    mods_on, finders_on = (eval(x) for x in on.stdout.splitlines())  # noqa: S307 - our own repr output
    mods_off, finders_off = (eval(x) for x in off.stdout.splitlines())  # noqa: S307
    # Disabled, the .pth still imports the (tiny) module, which then does nothing;
    # enabled, it installs its finder and imports nothing more.
    assert "_lm_eval_mtl_startup" in mods_on
    assert set(mods_on) == set(mods_off)
    assert not {"lm_eval", "lm_eval_mtl", "logging", "inspect", "typing", "__future__"} & set(mods_on)
    assert finders_on[0] == "_Finder" and "_Finder" not in finders_off


def test_broken_startup_module_does_not_break_python(offline_env: dict[str, str], tmp_path: Path) -> None:
    (tmp_path / "_lm_eval_mtl_startup.py").write_text("raise RuntimeError('boom')\n", encoding="utf-8")
    env = {**offline_env, "PYTHONPATH": str(tmp_path)}
    proc = _python("import lm_eval; print('ok')", env)
    assert proc.returncode == 0
    assert proc.stdout.strip() == "ok"
    assert "boom" not in proc.stderr


def test_broken_plugin_leaves_import_lm_eval_working(offline_env: dict[str, str]) -> None:
    code = (
        "import sys; sys.modules['lm_eval_mtl'] = None\n"
        "import lm_eval, lm_eval.tasks\n"
        "from lm_eval.api.group import Group\n"
        "print(Group(name='g', metadata={'version': 1}).aggregate({}))"
    )
    proc = _python(code, offline_env)
    assert proc.returncode == 0, proc.stderr
    assert "'name': 'g'" in proc.stdout


def test_hf_and_mtl_sim_models_both_resolve(offline_env: dict[str, str]) -> None:
    code = (
        "from lm_eval.api.registry import get_model\n"
        "print(get_model('hf').__name__)\n"
        "print(get_model('mtl-sim').__name__)\n"
    )
    proc = _python(code, offline_env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["HFLM", "SimulatedLM"]


def test_disabled_plugin_does_not_register_mtl_sim(offline_env: dict[str, str]) -> None:
    code = (
        "from lm_eval.api.registry import get_model\n"
        "print(get_model('hf').__name__)\n"
        "try:\n    get_model('mtl-sim')\nexcept ValueError as e:\n    print('missing')\n"
    )
    proc = _python(code, {**offline_env, "LM_EVAL_MTL_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["HFLM", "missing"]
