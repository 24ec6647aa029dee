"""Two processes (torchrun, gloo on CPU): every rank loads the plugin, rank 0 writes one results file.

Why not plain ``--model hf``: lm-eval 0.4.13's HFLM turns on data parallelism only
when ``torch.cuda.device_count() > 1`` (lm_eval/models/huggingface.py, the
``elif gpus > 1`` branch); on CPU every torchrun rank keeps rank 0 / world size 1
and evaluates everything. And accelerate only forms a CPU process group when
``ACCELERATE_USE_CPU=1``. The launcher below therefore registers ``hf-cpu-dp``, an
HFLM subclass that takes rank and world size from accelerate, then runs lm-eval's
own CLI entry point (what ``python -m lm_eval`` runs). Everything else, the task
index, the start-up hook in each rank, sharding, gathering, group aggregation and
the output files, is lm-eval's multi-process path.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

LAUNCHER = textwrap.dedent(
    """
    import sys
    import lm_eval.models  # lm-eval registers its own models first
    from lm_eval.api.registry import model_registry
    from lm_eval.models.huggingface import HFLM


    class CpuDataParallelHFLM(HFLM):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            acc = getattr(self, "accelerator", None)
            if acc is not None and acc.num_processes > 1:
                self._rank = acc.process_index
                self._world_size = acc.num_processes


    model_registry.register("hf-cpu-dp")(CpuDataParallelHFLM)
    from lm_eval.__main__ import cli_evaluate

    sys.argv = ["lm_eval", *sys.argv[1:]]
    sys.exit(cli_evaluate())
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def two_process_run(
    tmp_path_factory: pytest.TempPathFactory,
    tiny_hf_model: Path,
    offline_env: dict[str, str],
    mtl_demo_run: Any,
) -> tuple[Path, str]:
    torchrun = Path(sys.executable).parent / "torchrun"
    if not torchrun.is_file():
        found = shutil.which("torchrun")
        if found is None:
            pytest.skip("torchrun is not installed")
        torchrun = Path(found)
    work = tmp_path_factory.mktemp("two_process")
    (work / "launcher.py").write_text(LAUNCHER, encoding="utf-8")
    limit = mtl_demo_run.argv[mtl_demo_run.argv.index("--limit") + 1]
    env = {**offline_env, "ACCELERATE_USE_CPU": "1", "OMP_NUM_THREADS": "1"}
    argv = [
        str(torchrun), "--nproc_per_node", "2", "--master_addr", "127.0.0.1", "--master_port", str(_free_port()),
        "launcher.py", "run",
        "--model", "hf-cpu-dp",
        "--model_args", f"pretrained={tiny_hf_model},dtype=float32",
        "--tasks", "mtl_demo",
        "--batch_size", "16",
        "--limit", limit,
        "--seed", "0",
        "--output_path", "out",
        "--log_samples",
    ]  # fmt: skip
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True, timeout=900, check=False)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return work / "out", proc.stderr


def test_two_ranks_write_one_results_file_with_the_composite(two_process_run: tuple[Path, str]) -> None:
    import json

    out, log = two_process_run
    results = list(out.rglob("results_*.json"))
    assert len(results) == 1
    assert len(list(out.rglob("samples_*.jsonl"))) == 6
    data = json.loads(results[0].read_text(encoding="utf-8"))
    assert isinstance(data["groups"]["mtl_demo"]["mtl_composite,none"], float)
    # Both ranks built requests (the work really was split).
    assert "on rank 1" in log and "on rank 0" in log


def test_two_process_numbers_equal_the_single_process_run(
    two_process_run: tuple[Path, str], mtl_demo_run: Any
) -> None:
    import json

    out, _ = two_process_run
    two = json.loads(next(out.rglob("results_*.json")).read_text(encoding="utf-8"))
    one = mtl_demo_run.results()
    for group, row in one["groups"].items():
        assert two["groups"][group]["mtl_composite,none"] == pytest.approx(
            row["mtl_composite,none"], abs=1e-9
        )
    # Stderrs that lm-eval computes analytically agree too; chrF/BLEU stderrs are
    # bootstraps over items whose order differs after gathering, so they may not.
    for group in ("mtl_demo_classification", "mtl_demo_commonsense", "mtl_demo_qa", "mtl_demo_math"):
        assert two["groups"][group]["mtl_composite_stderr,none"] == pytest.approx(
            one["groups"][group]["mtl_composite_stderr,none"], abs=1e-9
        )
    for task, n in one["n-samples"].items():
        assert two["n-samples"][task] == n
