"""Validate gradient affinity against a planted truth and against really measured transfer.

For each seed: write the six planted tasks (lm_eval_mtl/affinity/synthetic.py: pairs that share a
latent rule, others that do not), train the tiny base GPT-2, fine-tune one copy per source task
for a few steps, evaluate the base and every checkpoint on every target through the installed
``lm_eval`` console script (``--log_samples``), compute the measured transfer matrix with the
installed ``lm-eval-mtl transfer`` and set the predicted affinity (``lm-eval-mtl affinity`` on the
base model, one run per parameter subset) beside it with ``transfer --predicted``.

Figures per seed and parameter subset: AUC of each measure ranking related cells above unrelated
ones, Spearman / Kendall of each measure with the measured transfer over the 30 off-diagonal
cells (from ``transfer --predicted``), the measured transfer's own AUC and its Spearman with the
planted agreement.

    python bench/validate_affinity.py --seeds 0 1 2 --out /tmp/validate_affinity
    python bench/validate_affinity.py --in-process --seeds 0     # lm_eval / transfer as Python calls (faster)

``--in-process`` runs lm-eval's ``simple_evaluate`` and ``transfer_matrix`` in this process instead
of the console scripts (what tests/sim/test_affinity_truth.py does).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

OFFLINE = {
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "TQDM_DISABLE": "1",
}
SUBSETS = {"head+block1": (1, True), "block1": (1, False), "head": (0, True)}


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _run(argv: list[str], cwd: Path) -> str:
    env = {**os.environ, **OFFLINE}
    proc = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr[-3000:]}")
    return proc.stdout


def evaluate_cli(model: Path, suite: Any, out: Path, batch_size: int) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    _run(
        [
            _bin("lm_eval"), "run", "--model", "hf", "--model_args", f"pretrained={model},dtype=float32",
            "--tasks", suite.group, "--include_path", str(suite.folder), "--device", "cpu",
            "--batch_size", str(batch_size), "--output_path", str(out), "--log_samples", "--seed", "0",
        ],
        out.parent,
    )  # fmt: skip
    return out


def evaluate_in_process(model: Path, suite: Any, out: Path, batch_size: int) -> Path:
    import lm_eval.evaluator
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    lm_eval.evaluator.get_git_commit_hash = lambda: None  # no `git describe` of the working folder
    tracker = EvaluationTracker(output_path=str(out))
    res = simple_evaluate(
        model="hf",
        model_args=f"pretrained={model},dtype=float32",
        tasks=list(suite.tasks),
        task_manager=TaskManager(include_path=str(suite.folder), include_defaults=False),
        batch_size=batch_size,
        device="cpu",
        log_samples=True,
        evaluation_tracker=tracker,
        bootstrap_iters=0,
    )
    samples = res.pop("samples")
    tracker.save_results_aggregated(results=res, samples=samples)
    for name in res["configs"]:
        tracker.save_results_samples(task_name=name, samples=samples[name])
    return out


def validate_seed(
    root: Path, seed: int, *, in_process: bool, base_steps: int, ft_steps: int, n_eval: int
) -> dict[str, Any]:
    from lm_eval_mtl.affinity.synthetic import (
        finetune_on_task,
        off_diagonal,
        related_auc,
        train_base_model,
        write_planted_suite,
    )

    t0 = time.perf_counter()
    work = root / f"seed{seed}"
    work.mkdir(parents=True, exist_ok=True)
    suite = write_planted_suite(work / "tasks", n_eval=n_eval, seed=seed)
    base = train_base_model(work / "base", suite, seed=seed, steps=base_steps)
    evaluate = evaluate_in_process if in_process else evaluate_cli
    runs = {"base": evaluate(base, suite, work / "runs" / "base", 64)}
    for task in suite.tasks:
        ckpt = finetune_on_task(base, suite, task, work / "ft" / task, steps=ft_steps, seed=seed)
        runs[task] = evaluate(ckpt, suite, work / "runs" / task, 64)
    t_measured = time.perf_counter() - t0
    out: dict[str, Any] = {"seed": seed, "subsets": {}}
    measured = None
    for label, (blocks, head) in SUBSETS.items():
        aff_dir = work / f"affinity-{label}"
        t1 = time.perf_counter()
        if in_process:
            from lm_eval_mtl import gradient_affinity, predicted_transfer, transfer_matrix, write_affinity

            aff = gradient_affinity(
                suite.tasks, model_args=f"pretrained={base},dtype=float32", include_path=[str(suite.folder)],
                batch_size=64, device="cpu", blocks=blocks, head=head, n_resamples=1000, progress=False,
            )  # fmt: skip
            write_affinity(aff, aff_dir, plots=False)
            tm = transfer_matrix(
                runs["base"], {t: runs[t] for t in suite.tasks}, units="raw", n_resamples=1000, rng=0
            )
            pt = predicted_transfer(tm, aff, n_resamples=1000, rng=0)
            transfer = {**tm.to_dict(), "predicted": pt.to_dict()}
        else:
            argv = [
                _bin("lm-eval-mtl"), "affinity", "--model", "hf", "--model_args", f"pretrained={base},dtype=float32",
                "--tasks", suite.group, "--include_path", str(suite.folder), "--output_path", str(aff_dir),
                "--device", "cpu", "--batch_size", "64", "--blocks", str(blocks), "--n-resamples", "1000",
                "--format", "json",
            ] + ([] if head else ["--no-head"])  # fmt: skip
            _run(argv, work)
            argv = [_bin("lm-eval-mtl"), "transfer", "--base", str(runs["base"])]
            for t in suite.tasks:
                argv += ["--source", f"{t}={runs[t]}"]
            argv += ["--units", "raw", "--predicted", str(aff_dir / "affinity.json"), "--format", "json",
                     "--n-resamples", "1000", "--plots", str(aff_dir / "plots")]  # fmt: skip
            transfer = json.loads(_run(argv, work))
        t_aff = time.perf_counter() - t1
        aff_json = json.loads((aff_dir / "affinity.json").read_text(encoding="utf-8"))
        idx = [aff_json["targets"].index(t) for t in suite.tasks]
        measured = np.array(transfer["delta"], dtype=float)
        row: dict[str, Any] = {"seconds": round(t_aff, 1)}
        for name, m in aff_json["measures"].items():
            value = np.array(m["value"], dtype=float)[np.ix_(idx, idx)]
            agree = next(a for a in transfer["predicted"]["agreement"] if a["measure"] == name)
            row[name] = {
                "auc": related_auc(value, suite.related),
                "spearman_vs_measured": agree["spearman"],
                "spearman_ci": [agree["spearman_ci_low"], agree["spearman_ci_high"]],
                "kendall_vs_measured": agree["kendall"],
                "matrix_reliability": m["matrix_reliability"],
            }
        out["subsets"][label] = row
    from scipy.stats import spearmanr

    assert measured is not None
    out["measured"] = {
        "auc": related_auc(measured, suite.related),
        "spearman_vs_planted": float(
            spearmanr(off_diagonal(measured), off_diagonal(suite.agreement)).statistic
        ),
        "seconds": round(t_measured, 1),
    }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=Path("/tmp/validate_affinity"))
    parser.add_argument("--in-process", action="store_true")
    parser.add_argument("--base-steps", type=int, default=300)
    parser.add_argument("--ft-steps", type=int, default=30)
    parser.add_argument("--n-eval", type=int, default=64)
    args = parser.parse_args()
    os.environ.update(OFFLINE)
    import torch

    torch.set_num_threads(1)
    results = []
    for seed in args.seeds:
        r = validate_seed(
            args.out,
            seed,
            in_process=args.in_process,
            base_steps=args.base_steps,
            ft_steps=args.ft_steps,
            n_eval=args.n_eval,
        )
        results.append(r)
        print(json.dumps(r), flush=True)
    summary: dict[str, Any] = {}
    for label in SUBSETS:
        for name in ("cosine", "first_order", "tag"):
            aucs = [r["subsets"][label][name]["auc"] for r in results]
            sps = [r["subsets"][label][name]["spearman_vs_measured"] for r in results]
            summary[f"{label}/{name}"] = {
                "auc_mean": float(np.mean(aucs)), "auc_min": float(np.min(aucs)),
                "spearman_mean": float(np.mean(sps)), "spearman_min": float(np.min(sps)),
            }  # fmt: skip
    summary["measured"] = {
        "auc_mean": float(np.mean([r["measured"]["auc"] for r in results])),
        "spearman_vs_planted_mean": float(np.mean([r["measured"]["spearman_vs_planted"] for r in results])),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "summary.json").write_text(
        json.dumps({"runs": results, "summary": summary}, indent=2), encoding="utf-8"
    )
    for key, v in summary.items():
        print(key, {k: round(x, 3) for k, x in v.items()})


if __name__ == "__main__":
    main()
