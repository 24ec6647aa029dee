"""Cost of ``lm-eval-mtl affinity`` against lm-eval's own pass over the same items and model.

Two comparisons on the demo's tiny GPT-2 (CPU, the same ``--limit`` and batch size):

* in process, the model built once (no start-up, no model loading on either side):
  ``gradient_affinity(lm=lm, ...)`` (task building, lm-eval's log-likelihood pass, the gradient
  passes, one lookahead pass per source, the statistics), exact and first-order lookahead, against
  lm-eval's pass over the same tasks' requests (``lm_eval.evaluator.evaluate`` on tasks built
  beforehand: the requests through the model, and the metrics) and against
  ``lm_eval.simple_evaluate(model=lm, ...)`` (plus task building; its environment report, which
  runs ``pip list``, switched off); lm-eval's task index is built from the shipped task folder;
* end to end, the console scripts: ``lm_eval run --tasks T --limit L`` against
  ``lm-eval-mtl affinity --tasks T --limit L`` (each pays its imports, model loading and task
  index; ``lm_eval`` builds lm-eval's full task index).

Task sets: the three multiple-choice demo tasks (where lm-eval's pass is a log-likelihood pass,
the strict comparison) and the whole ``mtl_demo`` suite (where lm-eval also generates).

    python bench/bench_affinity.py --limit 32 --batch-size 8 --repeats 3

Each row also reports the machine's 1-minute load average before and after it (``load_1min``):
on a shared machine the figures move with it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TQDM_DISABLE": "1",
}
TASK_SETS = {
    "multiple-choice (3 tasks)": ["mtl_demo_sentiment", "mtl_demo_topic", "mtl_demo_physical"],
    "mtl_demo (6 tasks, 3 generative)": ["mtl_demo"],
}


def _best(fn: Any, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def in_process(model: Path, tasks: list[str], limit: int, batch_size: int, repeats: int) -> dict[str, float]:
    import logging

    import lm_eval.evaluator
    from lm_eval import simple_evaluate
    from lm_eval.evaluator import evaluate
    from lm_eval.models.huggingface import HFLM
    from lm_eval.tasks import TaskManager

    from lm_eval_mtl import gradient_affinity
    from lm_eval_mtl.suites.loading import task_config_dir

    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    lm_eval.evaluator.get_git_commit_hash = lambda: None  # no `git describe` of the working folder
    lm_eval.evaluator.add_env_info = lambda results: None  # its `pip list` subprocesses (~1 s) are not a pass
    lm = HFLM(pretrained=str(model), dtype="float32", device="cpu", batch_size=batch_size)
    tm = TaskManager(include_path=str(task_config_dir()), include_defaults=False)
    loaded = tm.load(tasks)

    def lm_eval_pass() -> None:  # lm-eval's requests through the model, and its metrics; tasks already built
        evaluate(lm=lm, task_dict=loaded, limit=limit, bootstrap_iters=0)

    def lm_eval_simple() -> None:  # plus task loading, as simple_evaluate does it
        simple_evaluate(
            model=lm,
            tasks=tasks,
            limit=limit,
            task_manager=TaskManager(include_path=str(task_config_dir()), include_defaults=False),
            bootstrap_iters=0,
        )

    def affinity(mode: str) -> None:  # task loading included
        gradient_affinity(tasks, lm=lm, limit=limit, batch_size=batch_size, lookahead=mode,  # type: ignore[arg-type]
                          n_resamples=1000, n_splits=50, progress=False)  # fmt: skip

    lm_eval_simple()  # warm-up: datasets cached, kernels loaded
    affinity("first-order")
    passes = _best(lm_eval_pass, repeats)
    simple = _best(lm_eval_simple, repeats)
    exact = _best(lambda: affinity("exact"), repeats)
    first = _best(lambda: affinity("first-order"), repeats)
    return {
        "lm_eval_pass_s": passes,
        "lm_eval_simple_evaluate_s": simple,
        "affinity_exact_s": exact,
        "affinity_first_order_s": first,
        "ratio_exact_vs_pass": exact / passes,
        "ratio_first_order_vs_pass": first / passes,
        "ratio_exact_vs_simple_evaluate": exact / simple,
        "ratio_first_order_vs_simple_evaluate": first / simple,
    }


def end_to_end(model: Path, tasks: list[str], limit: int, batch_size: int, repeats: int) -> dict[str, float]:
    env = {**os.environ, **OFFLINE, "OMP_NUM_THREADS": "1"}
    bindir = Path(sys.executable).parent
    margs = f"pretrained={model},dtype=float32"

    cwd = "."

    def run(argv: list[str]) -> None:
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")

    with tempfile.TemporaryDirectory() as tmp:
        cwd = tmp  # outside any repository (lm_eval asks `git describe` about its working folder)
        lm_eval = [str(bindir / "lm_eval"), "run", "--model", "hf", "--model_args", margs, "--tasks", ",".join(tasks),
                   "--limit", str(limit), "--batch_size", str(batch_size), "--device", "cpu",
                   "--output_path", f"{tmp}/lm_eval"]  # fmt: skip
        aff = [str(bindir / "lm-eval-mtl"), "affinity", "--model", "hf", "--model_args", margs, "--tasks", ",".join(tasks),
               "--limit", str(limit), "--batch_size", str(batch_size), "--device", "cpu", "--output_path", f"{tmp}/aff",
               "--n-resamples", "1000", "--n-splits", "50"]  # fmt: skip
        base = _best(lambda: run(lm_eval), repeats)
        exact = _best(lambda: run(aff), repeats)
        first = _best(lambda: run([*aff, "--lookahead", "first-order"]), repeats)
    return {"lm_eval_s": base, "affinity_exact_s": exact, "affinity_first_order_s": first,
            "ratio_exact": exact / base, "ratio_first_order": first / base}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-end-to-end", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    args = parser.parse_args()
    os.environ.update(OFFLINE)
    import torch

    torch.set_num_threads(1)
    from lm_eval_mtl.demo.tiny_model import ensure_tiny_model

    model, _ = ensure_tiny_model()
    results: dict[str, Any] = {"limit": args.limit, "batch_size": args.batch_size, "repeats": args.repeats}
    for label, tasks in TASK_SETS.items():
        load_before = os.getloadavg()[0]
        row: dict[str, Any] = {
            "in_process": in_process(model, tasks, args.limit, args.batch_size, args.repeats)
        }
        if not args.skip_end_to_end:
            row["end_to_end"] = end_to_end(model, tasks, args.limit, args.batch_size, args.repeats)
        row["load_1min"] = [load_before, os.getloadavg()[0]]  # the machine's load, before and after the row
        results[label] = row
        print(label, json.dumps(row), flush=True)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
