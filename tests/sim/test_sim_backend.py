"""The simulated backend through lm-eval's evaluator: answers follow the planted draws."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("lm_eval")

from lm_eval.evaluator import evaluate  # noqa: E402

from lm_eval_mtl.sim.backend import SimulatedLM  # noqa: E402
from lm_eval_mtl.sim.harness import score_items  # noqa: E402
from lm_eval_mtl.sim.profile import SimProfileError  # noqa: E402


def _run(lm: SimulatedLM, task_dict: dict[str, Any], limit: int | None = None) -> dict[str, Any]:
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    res = evaluate(lm, task_dict, limit=limit, bootstrap_iters=0, log_samples=True)
    assert res is not None
    return res


def test_scores_equal_the_planted_draws_item_by_item(fixture_task_dict: dict[str, Any]) -> None:
    lm = SimulatedLM(preset="base", seed=11)
    res = _run(lm, fixture_task_dict)
    for task, metrics in (
        ("simfx_mc4", ("acc", "acc_norm")),
        ("simfx_binary", ("acc",)),
        ("simfx_arith", ("exact_match",)),
    ):
        samples = res["samples"][task]
        assert len(samples) == 40
        for s in samples:
            truth = lm.ledger[task][s["doc_id"]]
            for m in metrics:
                assert s[m] == float(truth.correct), (task, s["doc_id"], m)
        mean_correct = np.mean([lm.ledger[task][s["doc_id"]].correct for s in samples])
        assert res["results"][task][f"{metrics[0]},none"] == pytest.approx(mean_correct)
    # translation: the reference itself when correct, a degraded text otherwise
    for s in res["samples"]["simfx_translate"]:
        truth = lm.ledger["simfx_translate"][s["doc_id"]]
        pred = s["filtered_resps"][0]
        assert (pred == s["target"]) == truth.correct


def test_multiple_choice_gold_wins_for_acc_and_acc_norm_even_when_choices_differ_in_length(
    fixture_task_dict: dict[str, Any],
) -> None:
    # choices of simfx_mc4 differ in length, so a per-character normalisation could flip the winner
    lm = SimulatedLM(seed=2)
    res = _run(lm, fixture_task_dict)
    samples = res["samples"]["simfx_mc4"]
    assert any(len({len(c) for c in s["doc"]["choices"]}) > 1 for s in samples)
    assert all(s["acc"] == s["acc_norm"] for s in samples)


def test_answers_do_not_depend_on_limit_batching_or_run(fixture_task_dict: dict[str, Any]) -> None:
    full = SimulatedLM(seed=4, batch_size=1)
    _run(full, fixture_task_dict)
    part = SimulatedLM(seed=4, batch_size="auto", max_batch_size=64, device="cpu")
    _run(part, fixture_task_dict, limit=7)
    for task, items in part.ledger.items():
        assert len(items) == 7
        for doc_id, item in items.items():
            assert item == full.ledger[task][doc_id]
    again = SimulatedLM(seed=4)
    _run(again, fixture_task_dict)
    assert again.ledger == full.ledger


def test_a_better_checkpoint_scores_higher_on_its_task(fixture_task_dict: dict[str, Any]) -> None:
    base = score_items(SimulatedLM(preset="base", seed=1), fixture_task_dict["tasks"])
    ft = score_items(SimulatedLM(preset="ft_simfx_binary", seed=1), fixture_task_dict["tasks"])
    b, f = base["simfx_binary"]["none"].scores["acc"], ft["simfx_binary"]["none"].scores["acc"]
    # coupling 0.9: the fine-tuned checkpoint keeps most of the base's answers and adds some
    assert f.mean() > b.mean()
    assert np.mean(f >= b) > 0.9


def test_harness_reproduces_the_evaluator_item_scores(fixture_task_dict: dict[str, Any]) -> None:
    lm = SimulatedLM(seed=9)
    res = _run(lm, fixture_task_dict)
    direct = score_items(SimulatedLM(seed=9), fixture_task_dict["tasks"])
    for task in ("simfx_mc4", "simfx_binary", "simfx_arith"):
        metric = "exact_match" if task == "simfx_arith" else "acc"
        via_eval = [s[metric] for s in sorted(res["samples"][task], key=lambda s: s["doc_id"])]
        np.testing.assert_array_equal(direct[task]["none"].scores[metric], via_eval)
    refs, preds = direct["simfx_translate"]["none"].pairs["chrf"]
    import sacrebleu

    assert res["results"]["simfx_translate"]["chrf,none"] == pytest.approx(
        sacrebleu.corpus_chrf(list(preds), [list(refs)]).score
    )


def test_wrong_generations_differ_from_the_gold(fixture_task_dict: dict[str, Any]) -> None:
    lm = SimulatedLM(seed=0)
    for name in ("simfx_arith", "simfx_translate"):
        task = fixture_task_dict["tasks"][name]
        for i, doc in enumerate(task.dataset["test"]):
            right, wrong = lm.generation_answers(task, doc, i)
            assert right == str(task.doc_to_target(doc))
            assert wrong.strip() != right.strip()
            if name == "simfx_arith":
                assert wrong.lstrip("-").isdigit()


def test_outside_evaluate_the_backend_loads_tasks_from_tasks_dir(
    fixture_folder: Path, fixture_task_dict: dict[str, Any]
) -> None:
    task = fixture_task_dict["tasks"]["simfx_binary"]
    task.build_all_requests(limit=3)
    reqs = list(task.instances)
    lm = SimulatedLM(seed=3, tasks_dir=str(fixture_folder))
    out = lm.loglikelihood(reqs)
    assert len(out) == len(reqs) == 6
    winners = [r.idx for r, o in zip(reqs, out, strict=True) if o[1]]
    assert len(winners) == 3


def test_create_from_arg_string_reads_lm_eval_model_args() -> None:
    lm = SimulatedLM.create_from_arg_string(
        "preset=ft_simfx_binary,seed=3,draw_seed=8,member=2",
        {"batch_size": 4, "max_batch_size": None, "device": None},
    )
    assert (lm.truth.checkpoint, lm.truth.seed, lm.truth.effective_draw_seed, lm.truth.member) == (
        "ft_simfx_binary",
        3,
        8,
        2,
    )
    assert lm.get_model_info()["mtl_sim"]["checkpoint"] == "ft_simfx_binary"


def test_profile_file_is_used(tmp_path: Path) -> None:
    p = tmp_path / "prof.yaml"
    p.write_text("name: mine\ntransfer:\n  special: {x: 2.0}\n")
    lm = SimulatedLM(profile=str(p), checkpoint="special")
    assert lm.truth.profile.name == "mine"
    assert lm.truth.theta("x") == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sed": 3}, r"unknown model arg\(s\) 'sed' \(did you mean 'seed'\?\)"),
        ({"preset": "base", "checkpoint": "mtl"}, r"takes `preset` or `checkpoint`, not both"),
        ({"preset": "finetuned"}, r"`preset` must be 'base', 'mtl', 'ft_<task>'"),
        ({"seed": -1}, r"model arg `seed` must be a non-negative integer; got -1"),
        ({"draw_seed": "x"}, r"model arg `draw_seed` must be a non-negative integer; got 'x'"),
        ({"checkpoint": ""}, r"`checkpoint` must be a non-empty name"),
    ],
)
def test_bad_model_args_raise_naming_the_argument(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SimProfileError, match=match):
        SimulatedLM(**kwargs)
