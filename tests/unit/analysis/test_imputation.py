"""Regularized iterative PCA imputation: cross-validated rank, convergence, unbiased PC1 share."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lm_eval_mtl.analysis.correlate import correlate_tasks
from lm_eval_mtl.analysis.imputation import impute_pca
from lm_eval_mtl.scoring.population import Population, load_panel_csv

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"
V1 = SHARED / "panels" / "openllm_v1" / "open-llm-leaderboard_old.csv"
V1_TASKS = ["ARC", "HellaSwag", "MMLU", "TruthfulQA", "Winogrande", "GSM8K"]


def _pop(x: np.ndarray) -> Population:
    return Population(
        models=tuple(f"m{i}" for i in range(x.shape[0])),
        tasks=tuple(f"t{j}" for j in range(x.shape[1])),
        scores=x,
        source="synthetic",
        sha256="0",
    )


def _rank2(
    seed: int = 0, n: int = 400, t: int = 6, noise: float = 0.3, gaps: float = 0.15
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    load = rng.standard_normal((2, t))
    load /= np.linalg.norm(load, axis=0)  # equal signal variance per task: isotropic noise after scaling
    truth = rng.standard_normal((n, 2)) @ load + noise * rng.standard_normal((n, t))
    holed = np.where(rng.random((n, t)) < gaps, np.nan, truth)
    return truth, holed


def _pc1(x: np.ndarray) -> float:
    z = (x - x.mean(0)) / x.std(0)
    s = np.linalg.svd(z, compute_uv=False)
    return float(s[0] ** 2 / np.sum(s**2))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cv_picks_the_true_rank_and_error_falls_to_it(seed: int) -> None:
    truth, holed = _rank2(seed)
    filled, info = impute_pca(holed)
    assert info.rank_selection == "cross-validation" and info.candidates == (1, 2, 3, 4, 5)
    assert info.n_components == 2
    err = info.heldout_rmse
    assert err[1] < 0.8 * err[0] and min(err) > 0.97 * err[1]  # falls to rank 2, flat after
    assert info.converged and info.iterations < 5000 and info.max_change < 1e-6
    assert info.n_heldout == round(0.1 * np.sum(~np.isnan(holed)))
    miss = np.isnan(holed)
    np.testing.assert_array_equal(filled[~miss], truth[~miss])
    assert not info.residuals


def test_explicit_rank_and_residual_draws() -> None:
    truth, holed = _rank2(3)
    _, fixed = impute_pca(holed, n_components=3)
    assert fixed.rank_selection == "fixed" and fixed.n_components == 3 and fixed.heldout_rmse == ()
    a, _ = impute_pca(holed, residuals=True, seed=5)
    b, _ = impute_pca(holed, residuals=True, seed=5)
    point, _ = impute_pca(holed, seed=5)
    np.testing.assert_array_equal(a, b)  # seeded
    miss = np.isnan(holed)
    assert np.all(a[miss] != point[miss])
    # the draws restore the variance of the filled cells that point predictions lack
    sd_truth = truth[miss].std()
    assert point[miss].std() < 0.97 * sd_truth
    assert abs(a[miss].std() / sd_truth - 1) < 0.1
    with pytest.raises(ValueError, match="n_components"):
        impute_pca(holed, n_components=7)
    with pytest.raises(ValueError, match="holdout"):
        impute_pca(holed, holdout=0.9)


def test_study_reports_complete_case_next_to_imputed() -> None:
    truth, holed = _rank2(4)
    st = correlate_tasks(_pop(holed), impute="pca")
    imp = st.imputation
    assert imp is not None and imp.residuals and imp.n_components == 2
    n_cc = int(np.sum(~np.isnan(holed).any(axis=1)))
    assert imp.n_complete == n_cc and imp.complete_case_pc1 is not None
    assert imp.imputed_pc1 == st.explained_variance_ratio[0]
    assert abs(imp.imputed_pc1 - _pc1(truth)) <= 0.01  # unbiased against the gap-free truth
    differs = abs(imp.imputed_pc1 - imp.complete_case_pc1) > imp.pc1_tolerance  # 135 rows: noisy
    assert bool(imp.note) == differs and (imp.note in st.notes) == differs
    d = st.to_dict()["imputation"]
    assert d["method"] == "iterative-pca" and d["rank_selection"] == "cross-validation"
    assert d["heldout_rmse"] == list(imp.heldout_rmse) and d["complete_case"]["n_models"] == n_cc
    # a gap pattern that is not at random: the note fires
    rng = np.random.default_rng(0)
    base = rng.standard_normal((300, 1)) @ np.ones((1, 4)) + 0.7 * rng.standard_normal((300, 4))
    mnar = base.copy()
    mnar[(base[:, 0] > 0) & (rng.random(300) < 0.9), 1] = np.nan
    st2 = correlate_tasks(_pop(mnar), impute="pca")
    assert st2.imputation is not None
    if abs(st2.imputation.imputed_pc1 - st2.imputation.complete_case_pc1) > 0.01:  # type: ignore[operator]
        assert any("complete-case" in n for n in st2.notes)


def test_openllm_v1_pc1_share_unbiased_under_random_gaps() -> None:
    """FAST version of bench/validate_imputation.py: 3 of its 20 masks (20% random gaps)."""
    if not V1.is_file():
        pytest.skip(f"panel not available at {V1}")
    pop = load_panel_csv(V1, id_column="Model", tasks=V1_TASKS, duplicates="first")
    x = np.asarray(pop.scores, dtype=np.float64)
    full = _pc1(x)
    assert full == pytest.approx(0.8134, abs=1e-4)
    errs = []
    for seed in range(3):
        holed = np.where(np.random.default_rng(seed).random(x.shape) < 0.2, np.nan, x)
        filled, info = impute_pca(holed, residuals=True)
        assert info.converged and info.n_components >= 2
        errs.append(_pc1(filled) - full)
    assert all(abs(e) <= 0.01 for e in errs) and abs(float(np.mean(errs))) <= 0.01
