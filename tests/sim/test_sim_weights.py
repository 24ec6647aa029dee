"""Recovery of a planted weights structure through the simulated population.

A population of ``mtl-sim`` models (a common factor plus task-specific deviations, the demo
profile) is written as a CSV panel; one task is then planted twice (an exact duplicate column,
as two copies of one benchmark would be). Correlation-aware ``redundancy`` weights must give the
duplicated pair together about the weight the single task had, and leave the other tasks' weights
about where they were; ``equal`` weights, which ignore correlation, double it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from lm_eval_mtl.demo.story import write_population_panel
from lm_eval_mtl.scoring.population import load_panel_csv
from lm_eval_mtl.scoring.weighting import fit_weights


def _with_duplicate(src: Path, dst: Path, task: str) -> None:
    with src.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    col = rows[0].index(task)
    rows[0].append(f"{task}_copy")
    for row in rows[1:]:
        row.append(row[col])
    with dst.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(rows)


@pytest.fixture(scope="module")
def panels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, tuple[str, ...]]:
    d = tmp_path_factory.mktemp("population")
    single = d / "single.csv"
    tasks = write_population_panel(single, n_models=150, n_items=60, seed=3)
    double = d / "double.csv"
    _with_duplicate(single, double, "mtl_demo_topic")
    return single, double, tasks


def test_sim_population_has_the_planted_common_factor(panels: tuple[Path, Path, tuple[str, ...]]) -> None:
    single, _, tasks = panels
    pop = load_panel_csv(single, id_column="model", normalized=True)
    r = np.corrcoef(pop.scores, rowvar=False)
    off = r[~np.eye(len(tasks), dtype=bool)]
    assert np.all(off > 0.0)  # every task loads on the common factor (loading 0.6 in the profile)
    assert np.all(off < 0.95)  # and keeps a task-specific part


def _fit(path: Path, scheme: str) -> dict[str, float]:
    pop = load_panel_csv(path, id_column="model", normalized=True)
    return dict(fit_weights(pop, scheme, suite_id="sim_population@1").weights)


def test_cluster_weights_recover_the_planted_duplicate_exactly(
    panels: tuple[Path, Path, tuple[str, ...]],
) -> None:
    single, double, tasks = panels
    w1, w2 = _fit(single, "cluster"), _fit(double, "cluster")
    # six distinct tasks (correlated about 0.6 through the common factor) stay six clusters ...
    assert w1 == pytest.approx({t: 1 / len(tasks) for t in tasks})
    # ... and the planted copy joins its original: the pair shares one cluster's weight
    assert w2["mtl_demo_topic"] + w2["mtl_demo_topic_copy"] == pytest.approx(w1["mtl_demo_topic"])
    for t in tasks:
        if t != "mtl_demo_topic":
            assert w2[t] == pytest.approx(w1[t])


def test_redundancy_weights_shrink_a_duplicated_task_where_equal_weights_double_it(
    panels: tuple[Path, Path, tuple[str, ...]],
) -> None:
    single, double, tasks = panels
    r1, r2 = _fit(single, "redundancy"), _fit(double, "redundancy")
    e1, e2 = _fit(single, "equal"), _fit(double, "equal")
    pair_r = r2["mtl_demo_topic"] + r2["mtl_demo_topic_copy"]
    pair_e = e2["mtl_demo_topic"] + e2["mtl_demo_topic_copy"]
    assert r2["mtl_demo_topic"] == pytest.approx(r2["mtl_demo_topic_copy"], rel=1e-9)
    # each copy gets less than the task had alone
    assert r2["mtl_demo_topic"] < r1["mtl_demo_topic"]
    # the pair gains less than under equal weights. With every task correlated ~0.6 through the
    # common factor, 1/sum_j r_tj^2 only partly discounts a duplicate (docs/concepts-weighting.md:
    # the gain is 2(1+a)/(2+a), a = sum of the task's squared correlations with the others).
    assert pair_r / r1["mtl_demo_topic"] < pair_e / e1["mtl_demo_topic"]
    r = np.corrcoef(load_panel_csv(single, id_column="model", normalized=True).scores, rowvar=False)
    j = tasks.index("mtl_demo_topic")
    a = float(np.sum(np.delete(r[j], j) ** 2))
    predicted_gain = 2 * (1 + a) / (2 + a)
    others_before = 1 - r1["mtl_demo_topic"]
    others_after = 1 - pair_r
    # unnormalized gain of the pair relative to the rest, as the formula predicts (shrinkage and the
    # copy's effect on the other tasks' sums make it approximate)
    observed_gain = (pair_r / others_after) / (r1["mtl_demo_topic"] / others_before)
    assert observed_gain == pytest.approx(predicted_gain, rel=0.2)
