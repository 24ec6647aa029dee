"""Interval coverage through lm-eval: the analytic composite covers the planted expected composite."""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import pytest
from scipy import stats

pytest.importorskip("lm_eval")

from lm_eval.evaluator import evaluate  # noqa: E402

from lm_eval_mtl.scoring.analytic import analytic_composite, normalize  # noqa: E402
from lm_eval_mtl.sim.backend import SimulatedLM  # noqa: E402

# member -> (metric, chance); equal weights; the 0/1 members of the fixture suite
MEMBERS = {"simfx_mc4": ("acc", 0.25), "simfx_binary": ("acc", 0.5), "simfx_arith": ("exact_match", 0.0)}
N_SEEDS = 40


@pytest.mark.slow
def test_composite_interval_covers_the_planted_truth(fixture_task_dict: dict[str, Any]) -> None:
    logging.getLogger("lm_eval").setLevel(logging.ERROR)
    sub = {
        "tasks": {t: fixture_task_dict["tasks"][t] for t in MEMBERS},
        "groups": {},
        "group_map": {},
    }
    w = [1.0 / len(MEMBERS)] * len(MEMBERS)
    covered = 0
    errors = []
    for seed in range(N_SEEDS):
        lm = SimulatedLM(seed=100 + seed)
        res = evaluate(lm, sub, bootstrap_iters=100, log_samples=False)
        assert res is not None
        z, se, truth = [], [], 0.0
        for (task, (metric, chance)), wt in zip(MEMBERS.items(), w, strict=True):
            row = res["results"][task]
            z.append(normalize(row[f"{metric},none"], chance, 1.0))
            se.append(row[f"{metric}_stderr,none"] / (1.0 - chance))
            # the target of a conditional-on-items interval: mean P(correct) over the run's items
            p = np.mean([it.p_correct for it in lm.ledger[task].values()])
            truth += wt * normalize(float(p), chance, 1.0)
        comp = analytic_composite(z, se, w)
        covered += abs(comp.value - truth) <= stats.norm.ppf(0.975) * comp.se
        errors.append(comp.value - truth)
    # 95% intervals: P(covered <= 33 of 40 | 0.95) = 0.014; a wrong truth (no guessing floor,
    # unconditional target) or a wrong answer mapping fails by a wide margin
    assert covered >= 34, (covered, N_SEEDS)
    # and the estimates are unbiased for the planted truth
    assert abs(np.mean(errors)) < 3 * np.std(errors) / math.sqrt(N_SEEDS)
