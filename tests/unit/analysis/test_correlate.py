"""Correlation study over a population: correlations, PCA, imputation, predictive matrix."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from score_runs import write_run  # tests/data, on sys.path via tests/conftest.py

from lm_eval_mtl.analysis.correlate import correlate_tasks, impute_pca, loo_r2_matrix
from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.scoring.population import Population

V1_TASKS = ["ARC", "HellaSwag", "MMLU", "TruthfulQA", "Winogrande", "GSM8K"]
V2_TASKS = ["IFEval", "BBH", "MATH Lvl 5", "GPQA", "MUSR", "MMLU-PRO"]


def _panel(shared_data: Path, *parts: str) -> Path:
    path = shared_data.joinpath("panels", *parts)
    if not path.is_file():
        pytest.skip(f"panel not available at {path}")
    return path


def _pop(x: np.ndarray, tasks: list[str] | None = None) -> Population:
    tasks = tasks or [f"t{j}" for j in range(x.shape[1])]
    return Population(
        models=tuple(f"m{i}" for i in range(x.shape[0])),
        tasks=tuple(tasks),
        scores=x,
        source="synthetic",
        sha256="0",
    )


@pytest.mark.parametrize(
    ("parts", "tasks"),
    [
        (("openllm_v1", "open-llm-leaderboard_old.csv"), V1_TASKS),
        (("openllm_v2", "open-llm-leaderboard-v2_normalized.csv"), V2_TASKS),
    ],
)
def test_pca_on_real_populations_agrees_with_numpy(
    shared_data: Path, parts: tuple[str, str], tasks: list[str]
) -> None:
    path = _panel(shared_data, *parts)
    st = correlate_tasks(path, tasks=tasks, id_column="Model")
    # independent reference: read the CSV here, eigenvalues of the correlation matrix
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    seen: set[str] = set()
    data = []
    for r in rows:  # the study keeps the first row of a repeated model id
        if r["Model"] in seen:
            continue
        seen.add(r["Model"])
        data.append([float(r[t]) for t in tasks])
    x = np.array(data)
    assert st.n_models == x.shape[0]
    ev = np.sort(np.linalg.eigvalsh(np.corrcoef(x, rowvar=False)))[::-1]
    np.testing.assert_allclose(st.explained_variance_ratio, ev / ev.sum(), rtol=1e-10, atol=1e-12)
    z = (x - x.mean(0)) / x.std(0)
    s = np.linalg.svd(z, compute_uv=False)
    np.testing.assert_allclose(st.explained_variance_ratio, s**2 / np.sum(s**2), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(st.pearson, np.corrcoef(x, rowvar=False), atol=1e-12)
    np.testing.assert_allclose(st.spearman, stats.spearmanr(x).statistic, atol=1e-12)
    assert 1 <= st.effective_li_ji <= len(tasks) and 1 <= st.effective_nyholt <= len(tasks)
    assert 0 <= st.shrinkage <= 1
    d = st.to_dict()
    assert {"tasks", "correlation", "effective_number", "pca", "predictive_r2"} <= set(d)
    assert d["pca"]["explained_variance_ratio"][0] == pytest.approx(st.explained_variance_ratio[0])


def test_pearson_interval_matches_scipy_fisher_z() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 3))
    x[:, 1] += x[:, 0]
    st = correlate_tasks(_pop(x), confidence_level=0.9)
    ref = stats.pearsonr(x[:, 0], x[:, 1]).confidence_interval(confidence_level=0.9)
    assert st.pearson_ci_low[0, 1] == pytest.approx(ref.low, rel=1e-10)
    assert st.pearson_ci_high[0, 1] == pytest.approx(ref.high, rel=1e-10)
    # Spearman: Fisher z with the Bonett-Wright variance
    r = st.spearman[0, 1]
    se = math.sqrt((1 + r**2 / 2) / (50 - 3))
    assert st.spearman_ci_low[0, 1] == pytest.approx(math.tanh(math.atanh(r) - stats.norm.ppf(0.95) * se))


def test_loo_r2_equals_brute_force_refits() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(25, 3))
    x[:, 2] = 0.8 * x[:, 0] + 0.3 * rng.normal(size=25)
    got = loo_r2_matrix(x)
    for i in range(3):
        for j in range(3):
            y = x[:, j]
            pred = np.empty(25)
            for k in range(25):
                keep = np.arange(25) != k
                b, a = np.polyfit(x[keep, i], y[keep], 1)
                pred[k] = a + b * x[k, i]
            ref = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
            assert got[i, j] == pytest.approx(ref, rel=1e-9, abs=1e-12)


def test_near_duplicate_task_is_flagged_redundant() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 4))
    x[:, 3] = x[:, 1] + 0.05 * rng.normal(size=80)
    st = correlate_tasks(_pop(x, ["a", "b", "c", "b_copy"]))
    flagged = {t for t, _, _ in st.redundant}
    assert flagged == {"b", "b_copy"}
    assert dict((t, p) for t, p, _ in st.redundant)["b_copy"] == "b"
    assert "not causal transfer" in st.to_dict()["predictive_label"]


def test_pca_imputation_beats_mean_imputation_on_masked_real_cells(shared_data: Path) -> None:
    path = _panel(shared_data, "obsscaling", "base_llm_leaderboard_v2_eval.csv")
    with path.open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    x = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    rng = np.random.default_rng(0)
    mask = rng.random(x.shape) < 0.08
    holed = np.where(mask, np.nan, x)
    filled, info = impute_pca(holed)
    assert info.converged and info.n_imputed == int(mask.sum())
    sd = x.std(0)
    err_pca = np.sqrt(np.mean(((filled - x) / sd)[mask] ** 2))
    err_mean = np.sqrt(np.mean(((np.nanmean(holed, 0) - x) / sd)[mask] ** 2))
    assert err_pca < 0.7 * err_mean
    np.testing.assert_array_equal(filled[~mask], x[~mask])


def test_gaps_raise_drop_or_impute(shared_data: Path) -> None:
    path = _panel(shared_data, "obsscaling", "base_llm_benchmark_eval.csv")
    tasks = ["MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd", "HumanEval"]
    with pytest.raises(
        InsufficientDataError, match=r"missing cells \(ARC-C: 3, XWinograd: 16, HumanEval: 21\).*--impute pca"
    ):
        correlate_tasks(path, tasks=tasks)
    dropped = correlate_tasks(path, tasks=tasks, missing="drop")
    assert dropped.n_models + len(dropped.dropped) == 148 and len(dropped.dropped) > 0
    imputed = correlate_tasks(path, tasks=tasks, impute="pca")
    assert imputed.n_models == 148
    assert imputed.imputation is not None and imputed.imputation.converged
    assert imputed.imputation.n_imputed == 40
    assert imputed.to_dict()["imputation"]["method"] == "iterative-pca"


def test_correlate_rejects_bad_input() -> None:
    x = np.arange(12.0).reshape(4, 3) + np.eye(4, 3)
    with pytest.raises(ValueError, match="`impute` must be"):
        correlate_tasks(_pop(x), impute="knn")  # type: ignore[arg-type]
    with pytest.raises(InsufficientDataError, match="at least 4 models"):
        correlate_tasks(_pop(x[:3]))
    const = x.copy()
    const[:, 1] = 1.0
    with pytest.raises(InsufficientDataError, match="t1 are constant"):
        correlate_tasks(_pop(const))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        correlate_tasks("/nonexistent/panel.csv")


def test_folder_of_lm_eval_runs_is_a_population(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    ability = rng.normal(size=8)
    values = {}
    for i, g in enumerate(ability):
        row = {
            "a": 0.5 + 0.1 * g + 0.01 * rng.normal(),
            "b": 0.4 + 0.1 * g + 0.03 * rng.normal(),
            "c": rng.random(),
        }
        values[f"org/m{i}"] = row
        write_run(
            tmp_path / "runs" / f"org__m{i}",
            f"org/m{i}",
            {t: {"scores": np.ones(5), "value": v, "stderr": 0.01} for t, v in row.items()},
            samples=False,
        )
    st = correlate_tasks(tmp_path / "runs")
    assert st.tasks == ("a", "b", "c") and st.n_models == 8
    x = np.array([[values[m][t] for t in "abc"] for m in st.models])
    np.testing.assert_allclose(st.pearson, np.corrcoef(x, rowvar=False), atol=1e-12)
