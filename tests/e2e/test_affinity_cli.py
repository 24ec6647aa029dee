"""``lm-eval-mtl affinity`` end to end, offline, on the demo's tiny model through lm-eval's hf backend.

The installed console script under ``torchrun`` (two CPU processes, torch.distributed gloo;
``ACCELERATE_USE_CPU=1`` so that accelerate forms the process group) shares the items between
the ranks and writes the JSON, Markdown, LaTeX and heatmaps; the same command in one process gives
the same numbers (to float32 rounding), and twice the same bytes (same seed, same numbers).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytestmark = pytest.mark.e2e

TASKS = "mtl_demo"  # the bundled suite: multiple choice and generation tasks


def _argv(model: Path, out: Path) -> list[str]:
    return [
        "affinity", "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
        "--tasks", TASKS, "--limit", "4", "--output_path", str(out), "--device", "cpu",
        "--batch_size", "8", "--n-resamples", "100", "--n-splits", "10", "--seed", "3",
    ]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def two_ranks(
    lm_eval_mtl_bin: Path, tiny_hf_model: Path, offline_env: dict[str, str], tmp_path_factory: Any
) -> Path:
    """The installed console script under ``torchrun``: two CPU processes (gloo), rank 0 writes the files."""
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.is_file():
        found = shutil.which("torchrun")
        if found is None:
            pytest.skip("torchrun is not installed")
        torchrun = Path(found)
    work = tmp_path_factory.mktemp("affinity_two")
    env = {**offline_env, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    argv = [
        str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        "--no-python", str(lm_eval_mtl_bin), *_argv(tiny_hf_model, work / "out"), "--format", "json",
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(proc.stdout)["kind"] == "lm-eval-mtl/affinity"  # rank 0 alone prints
    return work / "out"


def _in_process(model: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    import torch

    from lm_eval_mtl.cli.main import main

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # the same float reductions in every run (the console script ran with 1 thread)
    try:
        assert main([*_argv(model, out), "--no-plots"]) == 0
    finally:
        torch.set_num_threads(threads)
    capsys.readouterr()
    return out / "affinity.json"


def test_the_console_script_writes_the_matrices_tables_and_heatmaps(two_ranks: Path) -> None:
    data = json.loads((two_ranks / "affinity.json").read_text(encoding="utf-8"))
    names = ["mtl_demo_sentiment", "mtl_demo_topic", "mtl_demo_closed_qa", "mtl_demo_de_en", "mtl_demo_physical",
             "mtl_demo_arithmetic"]  # fmt: skip
    assert data["sources"] == data["targets"] == names
    assert data["world_size"] == 2
    assert set(data["measures"]) == {"cosine", "first_order", "tag"}
    for m in data["measures"].values():
        value = np.array(m["value"], dtype=float)
        assert value.shape == (6, 6) and np.isfinite(value).all()
    assert np.allclose(np.diag(data["measures"]["cosine"]["value"]), 1.0)
    kinds = {t["task"]: t["loss_kind"] for t in data["tables"]["tasks"]}
    generative = ("mtl_demo_closed_qa", "mtl_demo_de_en", "mtl_demo_arithmetic")
    assert kinds == {n: "nll" if n in generative else "choice_ce" for n in names}
    assert data["parameters"]["untied_head"] is True and data["parameters"]["layers"][-1] == "lm_head"
    assert all(t["n_items"] == 4 for t in data["tables"]["tasks"])
    for name in ("cosine", "first_order", "tag"):
        assert (two_ranks / f"affinity_{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Gradient cosine C[source, target]" in (two_ranks / "affinity.md").read_text(encoding="utf-8")
    assert "\\begin{tabular}" in (two_ranks / "affinity.tex").read_text(encoding="utf-8")


def test_one_process_gives_the_two_processes_numbers_and_the_same_seed_the_same_bytes(
    two_ranks: Path, tiny_hf_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _in_process(tiny_hf_model, tmp_path / "one", capsys)
    again = _in_process(tiny_hf_model, tmp_path / "again", capsys)
    assert again.read_bytes() == first.read_bytes()
    one = json.loads(first.read_text(encoding="utf-8"))
    two = json.loads((two_ranks / "affinity.json").read_text(encoding="utf-8"))
    assert (one["world_size"], two["world_size"]) == (1, 2)
    for name, m in one["measures"].items():
        for key in ("value", "ci_low", "ci_high"):
            np.testing.assert_allclose(
                two["measures"][name][key], m[key], rtol=1e-5, atol=1e-5, err_msg=f"{name}.{key}"
            )  # float32 rounding: the ranks batch other sequences together
    for a, b in zip(one["tables"]["tasks"], two["tables"]["tasks"], strict=True):
        assert b["n_items"] == a["n_items"]
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-6)
        assert b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-5)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--limit", "0"], "--limit: must be a positive integer"),
        (["--step", "2"], "--step: must be a number in (0, 1]"),
        (["--include_path", "/no/such/folder"], "--include_path /no/such/folder is not a folder"),
        (["--blocks", "0", "--no-head"], "the parameter subset is empty"),
    ],
)
def test_bad_options_are_refused_with_one_line_and_exit_2(
    extra: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lm_eval_mtl.cli.main import main

    argv = ["affinity", "--tasks", "mtl_demo_sentiment", "--output_path", str(tmp_path / "o"), *extra]
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
