"""Correlation study over a population: correlations, PCA, imputation, predictive matrix."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from score_runs import write_run  # tests/data, on sys.path via tests/conftest.py

from lm_eval_mtl.analysis.correlate import correlate_tasks, loo_r2_matrix
from lm_eval_mtl.analysis.imputation import impute_pca
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
    st = correlate_tasks(path, duplicates="first", tasks=tasks, id_column="Model")
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


# ------------------------------------------------------------------ default task columns of a CSV panel

OBS_TASKS = ["MMLU", "ARC-C", "HellaSwag", "Winograd", "TruthfulQA", "GSM8K", "XWinograd", "HumanEval"]


def _write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def _synthetic_scores(n: int = 40, t: int = 4, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    g = rng.normal(size=(n, 1))
    return np.clip(0.5 + 0.12 * g + 0.06 * rng.normal(size=(n, t)), 0.01, 0.99)


def test_default_columns_leave_out_average_sum_and_metadata(tmp_path: Path) -> None:
    x = np.round(_synthetic_scores() * 100, 2)  # percentages, 2 decimals as leaderboards print
    rng = np.random.default_rng(1)
    avg = np.round(x.mean(1), 2)
    total = np.round(x[:, :3].sum(1), 2)  # sum of a subset of the tasks
    params = rng.choice([1.1, 7, 13, 70], size=len(x))
    likes = rng.integers(0, 5000, size=len(x))
    flops = np.round(rng.uniform(1, 900, size=len(x)), 1)
    header = [
        "Model",
        "Avg",
        "a",
        "b",
        "c",
        "d",
        "Total",
        "Model Size (B)",
        "Hub ❤️",
        "train FLOPs",
        "num_downloads",
    ]
    rows = [[f"m{i}", avg[i], *x[i], total[i], params[i], likes[i], flops[i], 3 + i] for i in range(len(x))]
    panel = _write_csv(tmp_path / "panel.csv", header, rows)
    st = correlate_tasks(panel)
    assert st.tasks == ("a", "b", "c", "d")
    why = {e.column: (e.kind, e.reason) for e in st.excluded_columns}
    assert set(why) == {"Avg", "Total", "Model Size (B)", "Hub ❤️", "train FLOPs", "num_downloads"}
    assert why["Avg"] == ("aggregate", "mean of the other task columns present on each row")
    assert why["Total"] == ("aggregate", "sum of a, b, c")
    assert {why[c][0] for c in ("Model Size (B)", "Hub ❤️", "train FLOPs", "num_downloads")} == {"metadata"}
    (note,) = st.notes
    assert note.startswith("left out 6 non-task column(s): Avg (mean")
    assert all(c in note for c in why) and "--tasks" in note
    d = st.to_dict()
    assert [e["column"] for e in d["excluded_columns"]] == [e.column for e in st.excluded_columns]
    assert d["notes"] == [note]
    # an explicit task list overrides the filter: the average is then a task like any other
    explicit = correlate_tasks(panel, tasks=["Avg", "a", "Model Size (B)"])
    assert explicit.tasks == ("Avg", "a", "Model Size (B)") and explicit.excluded_columns == ()
    assert explicit.notes == ()


def test_value_ranges_and_weighted_aggregates_are_left_out(tmp_path: Path) -> None:
    x = _synthetic_scores(t=5, seed=3)  # fractions in [0, 1], full precision
    rng = np.random.default_rng(4)
    weighted = 0.5 * x[:, 0] + 0.3 * x[:, 1] + 0.2 * x[:, 2]  # a weighted mean of three tasks
    big = rng.uniform(150, 9000, size=len(x))  # named like a task, but not a score's range
    pct = rng.uniform(2, 60, size=len(x))  # within 0-100, yet off the fraction scale of the rest
    mean_gappy = x.mean(1)
    x_gappy = x.copy()
    x_gappy[::7, 4] = np.nan  # the mean is of the columns present on each row
    mean_gappy[::7] = x[::7, :4].mean(1)
    header = ["name", "t0", "t1", "t2", "t3", "t4", "composite", "mystery", "other", "overall"]
    rows = [
        ["" if i < 0 else f"m{i}", *("" if np.isnan(v) else repr(float(v)) for v in x_gappy[i]),
         weighted[i], big[i], pct[i], mean_gappy[i]]
        for i in range(len(x))
    ]  # fmt: skip
    panel = _write_csv(tmp_path / "p.csv", header, rows)
    st = correlate_tasks(panel, missing="drop")
    assert st.tasks == ("t0", "t1", "t2", "t3", "t4")
    why = {e.column: e.reason for e in st.excluded_columns}
    assert why["composite"] == "weighted combination of t0, t1, t2"
    # found once `composite` is out of the others; t4 has gaps, the mean is of the columns present
    assert why["overall"] == "mean of the other task columns present on each row"
    # too few complete rows for a regression: the mean of the columns present on each row
    y = _synthetic_scores(n=12, t=4, seed=7)
    y[np.arange(8), np.arange(8) % 4] = np.nan  # 4 complete rows: fewer than T + 4
    avg = np.nanmean(y, axis=1)
    gappy = _write_csv(
        tmp_path / "g.csv",
        ["Model", "w", "x", "y", "z", "Mean"],
        [
            [f"m{i}", *("" if np.isnan(v) else repr(float(v)) for v in y[i]), repr(float(avg[i]))]
            for i in range(12)
        ],
    )
    st = correlate_tasks(gappy, missing="drop")
    assert st.tasks == ("w", "x", "y", "z")
    assert [(e.column, e.reason) for e in st.excluded_columns] == [
        ("Mean", "mean of the other task columns present on each row")
    ]
    assert why["mystery"].endswith("exceed 100, not a score")
    assert "outside [-1, 1]" in why["other"]


def test_default_columns_keep_genuine_tasks(tmp_path: Path) -> None:
    # noisy, correlated, even negative (chance-corrected) scores are all tasks: nothing left out
    rng = np.random.default_rng(5)
    g = rng.normal(size=30)
    x = np.column_stack([g + rng.normal(0, 0.3, 30), g + rng.normal(0, 0.3, 30), rng.normal(size=30)])
    x = np.column_stack([x, x[:, 0] + 0.05 * rng.normal(size=30)])  # near-duplicate, not an aggregate
    panel = _write_csv(
        tmp_path / "p.csv",
        ["Model", "a", "b", "c", "a2"],
        [[f"m{i}", *np.round(r, 4)] for i, r in enumerate(x)],
    )
    st = correlate_tasks(panel)
    assert st.tasks == ("a", "b", "c", "a2") and st.excluded_columns == () and st.notes == ()


def test_too_few_task_columns_names_the_excluded_ones(tmp_path: Path) -> None:
    panel = _write_csv(
        tmp_path / "p.csv",
        ["Model", "score", "Model Size (B)", "likes"],
        [[f"m{i}", 0.1 * i, i + 1, 10 * i] for i in range(6)],
    )
    with pytest.raises(InsufficientDataError, match=r"only 1 of 3 numeric.*Model Size \(B\).*--tasks"):
        correlate_tasks(panel)


@pytest.mark.parametrize(
    ("parts", "tasks", "left_out"),
    [
        (("openllm_v1", "open-llm-leaderboard_old.csv"), V1_TASKS, {"Average ⬆️", "#Params (B)", "Hub ❤️"}),
        (("openllm_v2", "open-llm-leaderboard-v2_normalized.csv"), V2_TASKS, {"Average ⬆️", "#Params (B)"}),
        (
            ("obsscaling", "base_llm_benchmark_eval.csv"),
            OBS_TASKS,
            {"Model Size (B)", "Pretraining Data Size (T)", "FLOPs (1E21)"},
        ),
        (("obsscaling", "base_llm_leaderboard_v2_eval.csv"), None, set()),
    ],
)
def test_default_columns_on_real_panels(
    shared_data: Path, parts: tuple[str, str], tasks: list[str] | None, left_out: set[str]
) -> None:
    path = _panel(shared_data, *parts)
    st = correlate_tasks(path, duplicates="first", impute="pca")
    if tasks is not None:
        assert list(st.tasks) == tasks
    else:
        assert all(t.startswith("leaderboard_") for t in st.tasks) and len(st.tasks) == 6
    assert {e.column for e in st.excluded_columns} == left_out
    kinds = {e.column: e.kind for e in st.excluded_columns}
    assert kinds.get("Average ⬆️", "aggregate") == "aggregate"
    if tasks is not None:  # the default equals the explicit list
        ref = correlate_tasks(path, duplicates="first", tasks=tasks, impute="pca")
        np.testing.assert_allclose(st.pearson, ref.pearson, atol=1e-12)
        assert st.effective_nyholt == pytest.approx(ref.effective_nyholt)


def test_open_llm_v1_effective_number_is_of_the_six_tasks(shared_data: Path) -> None:
    path = _panel(shared_data, "openllm_v1", "open-llm-leaderboard_old.csv")
    st = correlate_tasks(path, duplicates="first")
    assert st.effective_nyholt == pytest.approx(2.95, abs=0.005)
    # the old all-numeric-columns default, now only by naming the columns
    every = [
        "Average ⬆️", *V1_TASKS, "#Params (B)", "Hub ❤️",
    ]  # fmt: skip
    assert correlate_tasks(path, duplicates="first", tasks=every).effective_nyholt == pytest.approx(
        5.78, abs=0.005
    )


# ------------------------------------------------------------------ PCA on the covariance matrix


def test_pca_on_covariance_matches_numpy_eigendecomposition_of_np_cov() -> None:
    rng = np.random.default_rng(6)
    x = _synthetic_scores(n=25, t=5, seed=6) * rng.uniform(0.3, 1.0, size=5)  # unequal variances
    cov_st = correlate_tasks(_pop(x), pca_on="covariance")
    ev, vec = np.linalg.eigh(np.cov(x, rowvar=False))
    order = np.argsort(ev)[::-1]
    ev, vec = ev[order], vec[:, order]
    np.testing.assert_allclose(cov_st.explained_variance_ratio, ev / ev.sum(), rtol=1e-10, atol=1e-13)
    for k in range(5):  # principal axes up to sign
        axis = cov_st.loadings[k]
        assert abs(float(axis @ vec[:, k])) == pytest.approx(1.0, abs=1e-8)
    corr_st = correlate_tasks(_pop(x))
    evc = np.sort(np.linalg.eigvalsh(np.corrcoef(x, rowvar=False)))[::-1]
    np.testing.assert_allclose(corr_st.explained_variance_ratio, evc / evc.sum(), rtol=1e-10, atol=1e-13)
    assert not np.allclose(cov_st.explained_variance_ratio, corr_st.explained_variance_ratio)
    # everything else is on the correlation scale either way
    np.testing.assert_allclose(cov_st.pearson, corr_st.pearson)
    assert cov_st.effective_nyholt == corr_st.effective_nyholt
    assert cov_st.pca_on == "covariance" and corr_st.pca_on == "correlation"
    d = cov_st.to_dict()
    assert d["pca_on"] == "covariance" and d["pca"]["matrix"] == "covariance"
    assert d["effective_number"]["matrix"] == "correlation"
    with pytest.raises(ValueError, match="`pca_on` must be 'correlation' or 'covariance'; got 'cov'"):
        correlate_tasks(_pop(x), pca_on="cov")  # type: ignore[arg-type]


def test_obsscaling_first_component_on_covariance(shared_data: Path) -> None:
    """Ruan et al. (2024): PC1 of raw accuracies explains about 80% of the variance."""
    path = _panel(shared_data, "obsscaling", "base_llm_benchmark_eval.csv")
    st = correlate_tasks(path, pca_on="covariance", impute="pca")
    assert list(st.tasks) == OBS_TASKS and st.n_models == 148
    assert st.imputation is not None and st.imputation.n_imputed == 40
    evr = st.explained_variance_ratio
    # the cross-validated imputation (issue 15): 0.8466, beside complete case 0.8431 (124 rows);
    # the former Kaiser-rank default gave the biased 0.852
    assert evr[0] == pytest.approx(0.8466, abs=0.001)
    assert st.imputation.complete_case_pc1 == pytest.approx(0.8431, abs=0.001)
    assert 0.75 < evr[0] < 0.9 and evr[:3].sum() > 0.95
    # the paper's subset: the 21 model families its code evaluates (utils/constants.py)
    families = {
        "Llama-2", "Llama", "Llama-3", "Qwen1.5", "Qwen", "Mistral", "Mixtral", "Yi", "Gemma", "Falcon",
        "Phi", "Pythia", "BLOOM", "GPT-Neo/J", "OPT", "MPT", "XGLM", "CodeLlama", "StarCoder",
        "StarCoder2", "DeepSeek-Coder",
    }  # fmt: skip
    with path.open(encoding="utf-8") as fh:
        keep = [r["Model"] for r in csv.DictReader(fh) if r["Model Family"] in families]
    full = st.models
    sub = correlate_tasks(path, tasks=OBS_TASKS, impute="pca")
    assert sub.models == full
    from lm_eval_mtl.scoring.population import load_panel_csv

    pop = load_panel_csv(path, id_column="Model", tasks=OBS_TASKS)
    idx = [pop.models.index(m) for m in keep]
    subset = Population(
        models=tuple(keep), tasks=pop.tasks, scores=pop.scores[idx], source="subset", sha256="0"
    )
    st_sub = correlate_tasks(subset, pca_on="covariance", impute="pca")
    assert st_sub.n_models == 80
    assert st_sub.explained_variance_ratio[0] == pytest.approx(0.820, abs=0.001)


# ------------------------------------------------------------------ CLI


def test_cli_pca_on_and_left_out_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], shared_data: Path
) -> None:
    from lm_eval_mtl.cli.main import build_parser, main

    x = np.round(_synthetic_scores(n=30, t=4, seed=8), 4)
    rows = [[f"m{i}", *x[i], round(float(x[i].mean()), 4), 7 * (i + 1)] for i in range(30)]
    panel = _write_csv(tmp_path / "p.csv", ["Model", "a", "b", "c", "d", "Average", "params"], rows)
    assert main(["correlate", str(panel), "--pca-on", "covariance", "--format", "json"]) == 0
    out = capsys.readouterr()
    d = json.loads(out.out)
    assert d["tasks"] == ["a", "b", "c", "d"] and d["pca_on"] == "covariance"
    assert [e["column"] for e in d["excluded_columns"]] == ["Average", "params"]
    ev = np.sort(np.linalg.eigvalsh(np.cov(x, rowvar=False)))[::-1]
    np.testing.assert_allclose(d["pca"]["explained_variance_ratio"], ev / ev.sum(), rtol=1e-9)
    assert out.err.count("note: left out 2 non-task column(s): Average (mean") == 1
    assert main(["correlate", str(panel), "--pca-on", "covariance"]) == 0
    text = capsys.readouterr().out
    assert "PC1 explained variance ratio (covariance matrix)" in text
    assert "effective number of tasks (Nyholt; Pearson correlation matrix, complete cases)" in text
    assert text.count("left out 2 non-task column(s)") == 1
    assert main(["correlate", str(panel), "--tasks", "a,b,Average", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (
        d["tasks"] == ["a", "b", "Average"] and d["excluded_columns"] == [] and d["pca_on"] == "correlation"
    )
    # options that would do nothing here are not offered
    sub = build_parser()._subparsers._group_actions[0].choices["correlate"]  # type: ignore[union-attr]
    offered = {o for a in sub._actions for o in a.option_strings}
    assert "--pca-on" in offered and not {"--seed", "--n-resamples"} & offered
    with pytest.raises(SystemExit):
        main(["correlate", str(panel), "--seed", "1"])
    assert "unrecognized arguments: --seed" in capsys.readouterr().err
    # the ObsScaling figure through the CLI, without --tasks
    obs = _panel(shared_data, "obsscaling", "base_llm_benchmark_eval.csv")
    assert main(["correlate", str(obs), "--pca-on", "covariance", "--impute", "pca", "--format", "json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["tasks"] == OBS_TASKS and d["n_models"] == 148
    assert d["pca"]["explained_variance_ratio"][0] == pytest.approx(0.8466, abs=0.001)  # see above
