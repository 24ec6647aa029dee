"""Properties of the weighting schemes (hypothesis, deterministic profile)."""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.scoring.population import Population
from lm_eval_mtl.scoring.weighting import fit_weights
from lm_eval_mtl.scoring.weights_file import WeightsFile

SCHEMES = ("equal", "redundancy", "cluster", "factor")


def _fit(pop: Population, scheme: str) -> WeightsFile:
    """Fit; reject examples where the factor scheme is (correctly) refused as unidentified."""
    try:
        return fit_weights(pop, scheme, suite_id="s@1")
    except InsufficientDataError as err:
        assume(scheme != "factor" or "not identified" not in str(err))
        raise


def _pop(x: np.ndarray) -> Population:
    return Population(
        models=tuple(f"m{i}" for i in range(x.shape[0])),
        tasks=tuple(f"t{j}" for j in range(x.shape[1])),
        scores=x,
        source="synthetic",
        sha256="0" * 64,
    )


@st.composite
def populations(draw: st.DrawFn, min_tasks: int = 2, max_tasks: int = 7) -> np.ndarray:
    """Scores of n models on T tasks driven by up to 2 latent abilities plus noise."""
    seed = draw(st.integers(0, 2**32 - 1))
    n = draw(st.integers(20, 120))
    t = draw(st.integers(min_tasks, max_tasks))
    rng = np.random.default_rng(seed)
    abilities = rng.normal(size=(n, 2))
    loadings = rng.uniform(-0.2, 1.0, size=(2, t)) * draw(st.floats(0.0, 2.0))
    return abilities @ loadings + rng.normal(size=(n, t))


@given(x=populations(), scheme=st.sampled_from(SCHEMES))
def test_weights_non_negative_and_sum_to_one(x: np.ndarray, scheme: str) -> None:
    w = np.array(list(_fit(_pop(x), scheme).weights.values()))
    assert np.all(w >= 0)
    assert abs(w.sum() - 1.0) < 1e-12


@given(x=populations(min_tasks=3), scheme=st.sampled_from(SCHEMES), seed=st.integers(0, 1000))
def test_permuting_tasks_permutes_weights(x: np.ndarray, scheme: str, seed: int) -> None:
    perm = np.random.default_rng(seed).permutation(x.shape[1])
    pop = _pop(x)
    base = _fit(pop, scheme)
    permuted_pop = Population(
        pop.models, tuple(pop.tasks[i] for i in perm), x[:, perm], "synthetic", "0" * 64
    )
    permuted = _fit(permuted_pop, scheme)
    for task in pop.tasks:
        assert abs(permuted.weights[task] - base.weights[task]) < 1e-9
    assert abs(permuted.kendall_tau - base.kendall_tau) < 1e-9
    assert abs(permuted.delta - base.delta) < 1e-12


@given(seed=st.integers(0, 2**32 - 1), t=st.integers(2, 6), dup=st.integers(0, 5))
def test_duplicated_task_pair_keeps_about_the_single_weight_under_redundancy(
    seed: int, t: int, dup: int
) -> None:
    # Weakly correlated tasks (independent columns, n = 400): duplicating one column
    # must not double its weight; the pair gets about what the single task had.
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(400, t))
    j = dup % t
    single = fit_weights(_pop(x), "redundancy", suite_id="s@1").weights[f"t{j}"]
    doubled = fit_weights(_pop(np.column_stack([x, x[:, j]])), "redundancy", suite_id="s@1")
    pair = doubled.weights[f"t{j}"] + doubled.weights[f"t{t}"]
    assert 0.8 * single <= pair <= 1.25 * single
