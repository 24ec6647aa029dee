"""Transfer matrices: planted-truth recovery, FDR, relative transfer, MTL gain, analytic rows."""

from __future__ import annotations

import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from score_runs import write_run  # tests/data, on sys.path via tests/conftest.py

from lm_eval_mtl.analysis.transfer import transfer_from_scores, transfer_matrix
from lm_eval_mtl.analysis.transfer_cells import mcnemar_vector as _mcnemar_vector
from lm_eval_mtl.errors import (
    DegenerateDataWarning,
    IncompatibleRunsError,
    InsufficientDataError,
    MissingExtraError,
)

S, T, N = 4, 6, 1500
PLANTED = np.zeros((S, T))
for _s in range(S):
    PLANTED[_s, _s] = 0.08
PLANTED[0, 4], PLANTED[1, 5], PLANTED[2, 0] = 0.06, -0.06, 0.05


def _simulate(rng: np.random.Generator, n: int = N, planted: np.ndarray = PLANTED) -> tuple[dict, dict]:
    """Base and checkpoints as 0/1 items; a checkpoint reuses the base's uniform on 70% of items.

    Item k of target t is right with probability p_k (base) and clip(p_k + planted[s, t]) (source s),
    so a planted 0 is an exact null for the cell.
    """
    s_count, t_count = planted.shape
    p = stats.norm.cdf(rng.normal(0, 1, (t_count, n)))
    u = rng.random((t_count, n))
    keep = rng.random((s_count, t_count, n)) < 0.7
    v = np.where(keep, u[None], rng.random((s_count, t_count, n)))
    ck = (v < np.clip(p[None] + planted[:, :, None], 0, 1)).astype(float)
    base = {f"t{t}": (u[t] < p[t]).astype(float) for t in range(t_count)}
    checkpoints = {f"t{s}": {f"t{t}": ck[s, t] for t in range(t_count)} for s in range(s_count)}
    return base, checkpoints


def _quiet(fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DegenerateDataWarning)
        return fn(*args, **kwargs)


def test_planted_cells_are_found_and_null_cells_respect_the_fdr() -> None:
    rng = np.random.default_rng(11)
    reps = 100
    hits = np.zeros((S, T))
    fdp = []
    for _ in range(reps):
        base, ck = _simulate(rng)
        tm = _quiet(transfer_from_scores, base, ck, n_resamples=20, rng=rng)
        hits += tm.significant
        false = int(np.sum(tm.significant & (PLANTED == 0)))
        fdp.append(false / max(int(tm.significant.sum()), 1))
    power = hits / reps
    assert np.all(power[PLANTED != 0] >= 0.9), power
    assert float(np.mean(fdp)) <= 0.05, np.mean(fdp)
    # and without the correction the nulls would be flagged far more often (the test can fail)
    assert np.mean(power[PLANTED == 0]) < 0.05


def test_transfer_cells_equal_paired_statistics() -> None:
    rng = np.random.default_rng(3)
    base, ck = _simulate(rng, n=400)
    tm = _quiet(transfer_from_scores, base, ck, n_resamples=300, rng=0, scale={"t1": 2.0})
    s, t = 2, 1
    d = ck["t2"]["t1"] - base["t1"]
    assert tm.delta[s, t] == pytest.approx(2.0 * d.mean())
    assert tm.se[s, t] == pytest.approx(2.0 * d.std(ddof=1) / math.sqrt(d.size))
    n10, n01 = int(np.sum(d == 1)), int(np.sum(d == -1))
    assert tm.p_value[s, t] == pytest.approx(stats.binomtest(n10, n10 + n01, 0.5).pvalue, rel=1e-9)
    assert tm.method[s][t] == "mcnemar"
    np.testing.assert_allclose(tm.p_adjusted.ravel(), stats.false_discovery_control(tm.p_value.ravel()))
    w = np.full(T, 1 / T)
    np.testing.assert_allclose(tm.composite, tm.delta @ w)
    np.testing.assert_allclose(tm.composite_se, np.sqrt(tm.se**2 @ w**2))
    assert np.all(tm.composite_ci_low <= tm.composite) and np.all(tm.composite <= tm.composite_ci_high)


def test_mcnemar_vector_matches_scipy_binomtest() -> None:
    rng = np.random.default_rng(0)
    d = rng.choice([-1.0, 0.0, 1.0], size=(60, 5), p=[0.2, 0.6, 0.2])
    d[:, 4] = 0
    got = _mcnemar_vector(d)
    for j in range(4):
        n10, n01 = int(np.sum(d[:, j] == 1)), int(np.sum(d[:, j] == -1))
        assert got[j] == pytest.approx(stats.binomtest(n10, n10 + n01, 0.5).pvalue, rel=1e-12)
    assert got[4] == 1.0


def test_relative_transfer_divides_by_the_diagonal_and_is_nan_without_one() -> None:
    base = {"a": np.zeros(4), "b": np.zeros(4), "c": np.zeros(4)}
    ck = {
        "a": {"a": np.array([1.0, 1, 0, 0]), "b": np.array([1.0, 0, 0, 0]), "c": np.array([1.0, 0, 0, 0])},
        "b": {"a": np.array([1.0, 0, 0, 0]), "b": np.zeros(4), "c": np.zeros(4)},
    }
    with pytest.warns(
        DegenerateDataWarning,
        match=r"no checkpoint trained on 1 target\(s\): c; zero in-task gain T\[t,t\] for b",
    ):
        tm = transfer_from_scores(base, ck, n_resamples=50, rng=0)
    assert tm.relative[0, 0] == pytest.approx(1.0)
    assert tm.relative[1, 0] == pytest.approx(0.25 / 0.5)
    assert np.all(np.isnan(tm.relative[:, 1])) and np.all(np.isnan(tm.relative[:, 2]))


def test_multitask_gain_over_the_best_single_source() -> None:
    rng = np.random.default_rng(4)
    n = 3000
    base = {"x": (rng.random(n) < 0.5).astype(float), "y": (rng.random(n) < 0.5).astype(float)}
    up = lambda v, q: np.maximum(v, (rng.random(n) < q).astype(float))  # noqa: E731
    ck = {
        "x": {"x": up(base["x"], 0.2), "y": base["y"].copy()},
        "y": {"x": base["x"].copy(), "y": up(base["y"], 0.1)},
    }
    mtl = {"x": up(ck["x"]["x"], 0.2), "y": ck["y"]["y"].copy()}
    tm = transfer_from_scores(base, ck, mtl=mtl, n_resamples=500, rng=0)
    g = tm.mtl
    assert g is not None
    assert g.best_source == ("x", "y")
    assert g.gain[0] == pytest.approx(np.mean(mtl["x"] - ck["x"]["x"]))
    assert g.gain[0] > 0 and g.ci_low[0] > 0 and g.p_value[0] < 0.01
    assert g.gain[1] == 0 and g.ci_low[1] <= 0 <= g.ci_high[1]
    assert g.delta[0] == pytest.approx(np.mean(mtl["x"] - base["x"]))


def test_transfer_rejects_bad_input() -> None:
    with pytest.raises(InsufficientDataError, match="at least one target and one source"):
        transfer_from_scores({"a": np.ones(3)}, {})
    with pytest.raises(ValueError, match=r"`checkpoints\['s'\]` lacks target 'a'"):
        transfer_from_scores({"a": np.ones(3)}, {"s": {"b": np.ones(3)}})
    with pytest.raises(ValueError, match="same non-zero number of items"):
        transfer_from_scores({"a": np.ones(3)}, {"a": {"a": np.ones(4)}})


# --------------------------------------------------------------------------- through lm-eval folders


def test_folder_pass_equals_the_array_computation(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    planted = PLANTED[:3, :3]
    base, ck = _simulate(rng, n=500, planted=planted)
    write_run(tmp_path / "base", "base-model", {t: {"scores": v} for t, v in base.items()})
    perm = rng.permutation(500)
    for s, per_target in ck.items():  # checkpoints write their records in another order
        write_run(
            tmp_path / s, f"ft-{s}", {t: {"scores": v[perm], "doc_ids": perm} for t, v in per_target.items()}
        )
    mtl = {t: np.maximum(ck["t0"][t], ck["t1"][t]) for t in base}
    write_run(tmp_path / "mtl", "ft-all", {t: {"scores": v} for t, v in mtl.items()})
    tm = transfer_matrix(
        tmp_path / "base", {s: tmp_path / s for s in ck}, mtl=tmp_path / "mtl", n_resamples=200, rng=0
    )
    ref = transfer_from_scores(base, ck, mtl=mtl, n_resamples=200, rng=0)
    assert tm.sources == ("t0", "t1", "t2") and tm.targets == ("t0", "t1", "t2")
    np.testing.assert_allclose(tm.delta, ref.delta)
    np.testing.assert_allclose(tm.se, ref.se)
    np.testing.assert_allclose(tm.p_value, ref.p_value)
    np.testing.assert_array_equal(tm.significant, ref.significant)
    assert tm.mtl is not None and ref.mtl is not None
    np.testing.assert_allclose(tm.mtl.gain, ref.mtl.gain)
    assert tm.base == "base-model" and not tm.is_analytic
    d = tm.to_dict()
    assert {"sources", "targets", "delta", "se", "ci_low", "ci_high", "significant"} <= set(d)


def test_folder_checkpoint_with_another_limit_is_refused(tmp_path: Path) -> None:
    write_run(tmp_path / "base", "b", {"t": {"scores": [1.0, 0, 1, 0]}})
    write_run(tmp_path / "ft", "f", {"t": {"scores": [1.0, 1, 1], "n_original": 4}})
    with pytest.raises(IncompatibleRunsError, match=r"number of items \(--limit\) differs"):
        transfer_matrix(tmp_path / "base", {"t": tmp_path / "ft"}, n_resamples=10)


def test_metabench_results_json_gives_an_analytic_row(shared_data: Path) -> None:
    folder = shared_data / "lm_eval_outputs" / "metabench_v04_results" / "finetuning_results_json"
    base = folder / "Llama-3.2-1B-Instruct-bnb-4bit_standard_results.json"
    ft = folder / "Llama-3.2-1B-Instruct-bnb-4bit_checkpoint-650_standard_results.json"
    if not (base.is_file() and ft.is_file()):
        pytest.skip(f"metabench results not available in {folder}")
    import json

    tasks = [
        "metabench_arc",
        "metabench_gsm8k",
        "metabench_hellaswag",
        "metabench_mmlu",
        "metabench_truthfulqa",
        "metabench_winogrande",
    ]
    tm = _quiet(transfer_matrix, base, {"checkpoint-650": ft}, tasks=tasks, n_resamples=10)
    assert tm.is_analytic and all(m == "analytic-unpaired" for m in tm.method[0])
    raw0, raw1 = json.loads(base.read_text()), json.loads(ft.read_text())
    for t, task in enumerate(tm.targets):
        key = next(
            k
            for k in raw0[task]
            if k.endswith(",none")
            and "_stderr" not in k
            or k.endswith(",strict-match")
            and "_stderr" not in k
        )
        metric, filt = key.split(",")
        x0, x1 = raw0[task][key], raw1[task][key]
        s0, s1 = raw0[task][f"{metric}_stderr,{filt}"], raw1[task][f"{metric}_stderr,{filt}"]
        assert tm.delta[0, t] == pytest.approx(x1 - x0, rel=1e-12)
        assert tm.se[0, t] == pytest.approx(math.hypot(s0, s1), rel=1e-12)
        assert tm.p_value[0, t] == pytest.approx(
            2 * stats.norm.sf(abs(x1 - x0) / math.hypot(s0, s1)), rel=1e-9
        )
    assert len(tm.targets) == 6
    assert any("analytic" in n for n in tm.notes)


# --------------------------------------------------------------------------- plots


def test_heatmaps_are_written_and_need_matplotlib(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    from lm_eval_mtl.report.analysis import plot_transfer, transfer_tables
    from lm_eval_mtl.report.tables import render_table

    rng = np.random.default_rng(1)
    base, ck = _simulate(rng, n=300, planted=PLANTED[:2, :3])
    tm = _quiet(transfer_from_scores, base, ck, n_resamples=100, rng=0)
    files = plot_transfer(tm, tmp_path / "figs", ("png", "svg"))
    assert sorted(p.name for p in files) == [
        "relative_transfer.png",
        "relative_transfer.svg",
        "transfer.png",
        "transfer.svg",
    ]
    assert all(p.stat().st_size > 1000 for p in files)
    md = render_table(transfer_tables(tm)[0], "md")
    assert "| source |" in md and "composite" in md
    assert "\\begin{tabular}" in render_table(transfer_tables(tm)[0], "latex")
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(MissingExtraError, match=r"plots need: pip install 'lm-eval-mtl\[plot\]'"):
        plot_transfer(tm, tmp_path / "none")


def test_corpus_metric_target_uses_segment_bootstrap(tmp_path: Path) -> None:
    import sacrebleu

    rng = np.random.default_rng(1)
    words = ["das", "haus", "ist", "klein", "der", "hund", "lauft", "weit", "heute", "gut"]
    refs = [" ".join(rng.choice(words, 7)) for _ in range(100)]

    def noisy(p: float) -> list[str]:
        return [" ".join(w if rng.random() > p else str(rng.choice(words)) for w in r.split()) for r in refs]

    hyps = {"base": noisy(0.4), "mt": noisy(0.15), "other": noisy(0.4)}
    for name, h in hyps.items():
        write_run(
            tmp_path / name,
            name,
            {
                # the results file agrees with its samples (every tool checks this)
                "wmt": {
                    "pairs": (refs, h),
                    "metric": "chrf",
                    "value": sacrebleu.corpus_chrf(h, [refs]).score,
                    "stderr": 1.0,
                },
                "cls": {"scores": (rng.random(100) < 0.5).astype(float)},
            },
        )
    tm = _quiet(
        transfer_matrix,
        tmp_path / "base",
        {"wmt": tmp_path / "mt", "cls": tmp_path / "other"},
        units="raw",  # chrF (0-100) beside acc (0-1) without a suite: raw units must be asked for
        n_resamples=300,
        rng=0,
    )
    t = tm.targets.index("wmt")
    expected = (
        sacrebleu.corpus_chrf(hyps["mt"], [refs]).score - sacrebleu.corpus_chrf(hyps["base"], [refs]).score
    )
    assert tm.delta[0, t] == pytest.approx(expected, rel=1e-9)
    assert tm.method[0][t] == "paired-bootstrap CI, randomization p" and tm.significant[0, t]
    assert tm.ci_low[0, t] < tm.delta[0, t] < tm.ci_high[0, t]


def test_analytic_composite_p_value_is_nan_when_a_stderr_is_missing(tmp_path: Path) -> None:
    write_run(
        tmp_path / "base",
        "base",
        {"t": {"scores": np.ones(10), "value": 0.5, "stderr": math.nan}},
        samples=False,
    )
    write_run(
        tmp_path / "ft", "ft", {"t": {"scores": np.ones(10), "value": 0.6, "stderr": 0.05}}, samples=False
    )
    tm = transfer_matrix(tmp_path / "base", {"t": tmp_path / "ft"}, n_resamples=10, rng=0)
    assert tm.is_analytic
    assert tm.delta[0, 0] == pytest.approx(0.1)
    assert math.isnan(tm.se[0, 0]) and math.isnan(tm.p_value[0, 0])
    assert math.isnan(tm.composite_se[0]) and math.isnan(tm.composite_p_value[0])
    assert math.isnan(tm.composite_ci_low[0]) and math.isnan(tm.composite_ci_high[0])


def test_normal_test_matches_scipy_and_the_degenerate_conventions() -> None:
    from lm_eval_mtl.stats.paired import normal_test

    lo, hi, p = normal_test([0.3, 0.0, 0.2, 0.1], [0.1, 0.0, 0.0, math.nan], 0.9)
    z = stats.norm.ppf(0.95)
    assert lo[0] == pytest.approx(0.3 - z * 0.1) and hi[0] == pytest.approx(0.3 + z * 0.1)
    assert p[0] == pytest.approx(2 * stats.norm.sf(3.0))
    assert p[1] == 1.0 and p[2] == 0.0  # SE 0: p is 1 for a zero difference, else 0
    assert math.isnan(p[3]) and math.isnan(lo[3]) and math.isnan(hi[3])
