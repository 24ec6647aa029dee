"""Gradient affinity against a planted truth and against really measured transfer (fast version).

Six 2-way tasks whose labels follow planted rules (lm_eval_mtl/affinity/synthetic.py: a1/a2 share
a latent rule, b1/b2 another, c mixes both, d has its own); a tiny GPT-2 trained here to know the
format but not the rules; one copy fine-tuned on each source task for a few steps. The measured
transfer comes from the installed lm_eval (``simple_evaluate``, samples logged to run folders) and
``lm-eval-mtl transfer`` (its CLI entry point, with ``--predicted``); the predicted one from
``gradient_affinity`` on the base model through lm-eval's hf backend. The full, multi-seed version
through the console scripts is bench/validate_affinity.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("lm_eval")

SEED = 0


def _evaluate(model: Path, suite: Any, out: Path) -> Path:
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    tracker = EvaluationTracker(output_path=str(out))
    res = simple_evaluate(
        model="hf",
        model_args=f"pretrained={model},dtype=float32",
        tasks=list(suite.tasks),
        task_manager=TaskManager(include_path=str(suite.folder), include_defaults=False),
        batch_size=64,
        device="cpu",
        log_samples=True,
        evaluation_tracker=tracker,
        bootstrap_iters=0,
    )
    assert res is not None
    samples = res.pop("samples")
    tracker.save_results_aggregated(results=res, samples=samples)
    for name in res["configs"]:
        tracker.save_results_samples(task_name=name, samples=samples[name])
    return out


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    import lm_eval.evaluator

    from lm_eval_mtl import gradient_affinity, write_affinity
    from lm_eval_mtl.affinity.synthetic import finetune_on_task, train_base_model, write_planted_suite

    root = tmp_path_factory.mktemp("affinity_truth")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    patch = pytest.MonkeyPatch()
    # simple_evaluate's environment report runs `pip list` in subprocesses (~1 s a run), and its
    # provenance asks `git describe` about the working folder: neither is needed here
    patch.setattr(lm_eval.evaluator, "add_env_info", lambda results: None)
    patch.setattr(lm_eval.evaluator, "get_git_commit_hash", lambda: None)
    try:
        suite = write_planted_suite(root / "tasks", n_eval=64, seed=SEED)
        base = train_base_model(root / "base", suite, seed=SEED, steps=150)
        runs = {"base": _evaluate(base, suite, root / "runs" / "base")}
        for task in suite.tasks:
            ckpt = finetune_on_task(base, suite, task, root / "ft" / task, steps=30, seed=SEED)
            runs[task] = _evaluate(ckpt, suite, root / "runs" / task)
        aff = gradient_affinity(
            suite.tasks,
            model_args=f"pretrained={base},dtype=float32",
            include_path=[str(suite.folder)],
            batch_size=64,
            device="cpu",
            n_resamples=500,
            n_splits=20,
            progress=False,
        )
    finally:
        torch.set_num_threads(threads)
        patch.undo()
    write_affinity(aff, root / "affinity", plots=False)
    return {"root": root, "suite": suite, "runs": runs, "affinity": aff}


def test_predicted_affinity_ranks_related_pairs_above_unrelated_ones(study: dict[str, Any]) -> None:
    from lm_eval_mtl.affinity.synthetic import related_auc

    suite, aff = study["suite"], study["affinity"]
    assert aff.targets == suite.tasks
    assert related_auc(aff.measure("tag").value, suite.related) >= 0.9
    assert related_auc(aff.measure("first_order").value, suite.related) >= 0.75
    assert aff.measure("tag").matrix_reliability > 0.5


def test_predicted_affinity_agrees_with_transfer_measured_through_lm_eval_and_transfer(
    study: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from lm_eval_mtl.affinity.synthetic import related_auc
    from lm_eval_mtl.cli.main import main

    suite, runs = study["suite"], study["runs"]
    argv = ["transfer", "--base", str(runs["base"]), "--units", "raw", "--n-resamples", "200"]
    for task in suite.tasks:
        argv += ["--source", f"{task}={runs[task]}"]
    out = tmp_path / "transfer.json"
    argv += [
        "--predicted",
        str(study["root"] / "affinity" / "affinity.json"),
        "--format",
        "json",
        "--output",
        str(out),
    ]
    argv += ["--plots", str(tmp_path / "plots")]
    assert main(argv) == 0, capsys.readouterr().err
    capsys.readouterr()
    data = json.loads(out.read_text(encoding="utf-8"))
    measured = np.array(data["delta"])
    assert related_auc(measured, suite.related) >= 0.9  # the planted truth is real: fine-tuning transfers
    agreement = {a["measure"]: a for a in data["predicted"]["agreement"]}
    assert set(agreement) == {"cosine", "first_order", "tag"}
    assert agreement["tag"]["n_cells"] == 30
    assert agreement["tag"]["spearman"] >= 0.6
    assert (
        agreement["tag"]["spearman_ci_low"]
        <= agreement["tag"]["spearman"]
        <= agreement["tag"]["spearman_ci_high"]
    )
    assert (tmp_path / "plots" / "predicted_vs_measured.png").read_bytes()[:4] == b"\x89PNG"
