"""Weighting schemes, the registry, and fitting with diagnostics."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy.stats import kendalltau, rankdata

from lm_eval_mtl.errors import InsufficientDataError, MTLError, UnknownNameError
from lm_eval_mtl.scoring.population import Population
from lm_eval_mtl.scoring.weighting import (
    RefusedSchemeError,
    SchemeContext,
    WeightingScheme,
    fit_weights,
    register_scheme,
    scheme_registry,
)
from lm_eval_mtl.suites import MemberSpec, SuiteSpec


def _pop(scores: np.ndarray, tasks: tuple[str, ...] | None = None) -> Population:
    tasks = tasks or tuple(f"t{i}" for i in range(scores.shape[1]))
    return Population(
        models=tuple(f"m{i}" for i in range(scores.shape[0])),
        tasks=tasks,
        scores=np.asarray(scores, dtype=float),
        source="synthetic",
        sha256="0" * 64,
    )


def _dup_orth(n: int = 1000) -> Population:
    """Columns a, a, b: a duplicate pair and an exactly orthogonal task (delta = 2/n)."""
    a = np.tile([1.0, -1.0], n // 2)
    b = np.tile([1.0, 1.0, -1.0, -1.0], n // 4)
    return _pop(np.column_stack([a, a, b]), ("a", "a_copy", "b"))


def test_redundancy_by_hand_on_duplicate_pair() -> None:
    # R = [[1,1,0],[1,1,0],[0,0,1]], delta = 2/n (see test_shrinkage), r* = delta I + (1-delta) R:
    # sum_j r*_aj^2 = 1 + (1-delta)^2 for a and its copy, 1 for b.
    n = 1000
    delta = 2 / n
    raw = np.array([1 / (1 + (1 - delta) ** 2), 1 / (1 + (1 - delta) ** 2), 1.0])
    wf = fit_weights(_dup_orth(n), "redundancy", suite_id="s@1")
    np.testing.assert_allclose(list(wf.weights.values()), raw / raw.sum(), rtol=1e-12)
    assert wf.delta == pytest.approx(delta)
    # the pair together weighs about what one unique task weighs
    assert wf.weights["a"] + wf.weights["a_copy"] == pytest.approx(wf.weights["b"], rel=0.01)


def test_cluster_by_hand() -> None:
    wf = fit_weights(_dup_orth(), "cluster", suite_id="s@1", threshold=0.2)
    assert wf.weights == pytest.approx({"a": 0.25, "a_copy": 0.25, "b": 0.5})
    assert wf.params["threshold"] == 0.2


def test_cluster_threshold_recorded_and_changes_grouping() -> None:
    rng = np.random.default_rng(0)
    f = rng.normal(size=500)
    x = np.column_stack(
        [f + 0.3 * rng.normal(size=500), f + 0.3 * rng.normal(size=500), rng.normal(size=500)]
    )
    tight = fit_weights(_pop(x), "cluster", suite_id="s@1", threshold=0.01)
    loose = fit_weights(_pop(x), "cluster", suite_id="s@1", threshold=0.3)
    assert tight.weights == pytest.approx({"t0": 1 / 3, "t1": 1 / 3, "t2": 1 / 3})
    assert loose.weights == pytest.approx({"t0": 0.25, "t1": 0.25, "t2": 0.5})


def test_factor_symmetric_loadings_give_equal_weights_and_noise_gets_none() -> None:
    # compound symmetry: every task loads equally -> Bartlett weights equal by symmetry
    n = 1200
    f = np.repeat([-1.0, 1.0], n // 2)
    e = np.column_stack(
        [np.tile(p, n // len(p)) for p in ([1.0, -1.0], [1.0, 1.0, -1.0, -1.0], [1.0, -1.0, -1.0, 1.0])]
    )
    x = f[:, None] + 0.5 * e
    wf = fit_weights(_pop(x), "factor", suite_id="s@1")
    assert list(wf.weights.values()) == pytest.approx([1 / 3] * 3)
    rng = np.random.default_rng(1)
    g = rng.normal(size=3000)
    y = np.column_stack(
        [g + 0.5 * rng.normal(size=3000), g + 0.5 * rng.normal(size=3000), rng.normal(size=3000)]
    )
    wf = fit_weights(_pop(y), "factor", suite_id="s@1")
    assert wf.weights["t2"] < 0.02


def test_factor_matches_bartlett_formula_on_known_loadings() -> None:
    # A one-factor correlation with loadings l: r_ij = l_i l_j. With n huge, r* ~ r.
    # Bartlett weights are proportional to l / (1 - l^2) (PC1 loadings of r equal sqrt(lambda1) v1,
    # which for an exact rank-one-plus-diagonal matrix are close to l; tolerance reflects that).
    rng = np.random.default_rng(3)
    load = np.array([0.9, 0.7, 0.5])
    n = 20_000
    f = rng.normal(size=n)
    x = f[:, None] * load + rng.normal(size=(n, 3)) * np.sqrt(1 - load**2)
    wf = fit_weights(_pop(x), "factor", suite_id="s@1")
    got = np.array(list(wf.weights.values()))
    assert got[0] > got[1] > got[2] > 0
    assert got.sum() == pytest.approx(1.0)


def test_equal_family_size_delegate_to_structural() -> None:
    spec = SuiteSpec(
        "s",
        "1",
        "suite",
        (
            MemberSpec("t0", "acc", "none", 0.0, 1.0, "f"),
            MemberSpec("t1", "acc", "none", 0.0, 1.0, "f"),
            MemberSpec("t2", "acc", "none", 0.0, 1.0, "g"),
        ),
    )
    x = np.random.default_rng(0).normal(size=(50, 3))
    assert fit_weights(_pop(x), "equal", suite=spec).weights == pytest.approx(
        {"t0": 1 / 3, "t1": 1 / 3, "t2": 1 / 3}
    )
    assert fit_weights(_pop(x), "family", suite=spec).weights == pytest.approx(
        {"t0": 0.25, "t1": 0.25, "t2": 0.5}
    )
    sized = fit_weights(_pop(x), "size", suite=spec, sizes={"t0": 100, "t1": 300, "t2": 600})
    assert sized.weights == pytest.approx({"t0": 0.1, "t1": 0.3, "t2": 0.6})
    with pytest.raises(InsufficientDataError, match="need a suite spec"):
        fit_weights(_pop(x), "family", suite_id="s@1")


def test_equal_weights_have_tau_one_and_diagnostics_recorded() -> None:
    x = np.random.default_rng(2).normal(size=(80, 4))
    wf = fit_weights(_pop(x), "equal", suite_id="s@1")
    assert wf.kendall_tau == pytest.approx(1.0, abs=1e-12)
    assert 1.0 <= wf.effective_number_nyholt <= 4.0
    assert 0.0 <= wf.delta <= 1.0
    assert len(wf.correlation) == 4


def test_diagnostics_match_naive_recomputation() -> None:
    rng = np.random.default_rng(5)
    f = rng.normal(size=300)
    x = np.column_stack([f + s * rng.normal(size=300) for s in (0.2, 0.5, 1.0, 2.0)])
    wf = fit_weights(_pop(x), "redundancy", suite_id="s@1")
    w = np.array(list(wf.weights.values()))
    # Kendall tau, independently
    assert wf.kendall_tau == pytest.approx(kendalltau(x @ w, x.mean(axis=1)).statistic, rel=1e-12)
    # rank change: loop over every task and factor, renormalize explicitly, rank with scipy
    base = rankdata(-(x @ w), method="min")
    worst = 0
    for t, factor in itertools.product(range(4), (0.5, 2.0)):
        w2 = w.copy()
        w2[t] *= factor
        w2 /= w2.sum()
        worst = max(worst, int(np.abs(rankdata(-(x @ w2), method="min") - base).max()))
    assert wf.max_rank_change == worst
    # effective numbers from the recorded shrunk correlation
    lam = np.linalg.eigvalsh(np.array(wf.correlation))
    assert wf.effective_number_nyholt == pytest.approx(1 + 3 * (1 - np.var(lam, ddof=1) / 4))


def test_percentile_tables_recorded() -> None:
    x = np.random.default_rng(4).normal(size=(101, 3))
    wf = fit_weights(_pop(x), "redundancy", suite_id="s@1")
    table = wf.percentiles["equal"]
    comp = x.mean(axis=1)
    assert table.values[0] == pytest.approx(comp.min())
    assert table.values[-1] == pytest.approx(comp.max())
    assert table.values[100] == pytest.approx(np.median(comp))  # level 50%


@pytest.mark.parametrize("name", ["gls", "min_variance", "GLS"])
def test_gls_refused_with_reason(name: str) -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(RefusedSchemeError, match="94% of the weight on the two least correlated"):
        fit_weights(_pop(x), name, suite_id="s@1")


def test_unknown_scheme_suggests_close_match() -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(
        UnknownNameError, match="Unknown weighting scheme 'redundncy'. Did you mean: redundancy"
    ):
        fit_weights(_pop(x), "redundncy", suite_id="s@1")


def test_nan_in_population_refused_unless_listwise() -> None:
    x = np.random.default_rng(0).normal(size=(30, 3))
    x[3, 1] = np.nan
    with pytest.raises(InsufficientDataError, match="1 missing cell.*missing='listwise'"):
        fit_weights(_pop(x), "redundancy", suite_id="s@1")
    wf = fit_weights(_pop(x), "redundancy", suite_id="s@1", missing="listwise")
    assert wf.population is not None and wf.population.n_models == 29
    assert "1 model(s) with gaps dropped" in wf.population.notes


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"suite_id": None}, "`suite` .* or `suite_id`"),
        ({"suite_id": "s@1", "threshold": 0.0}, "`threshold` must be in"),
        ({"suite_id": "s@1", "uniqueness_floor": 1.5}, "`uniqueness_floor` must be in"),
        ({"suite_id": "s@1", "missing": "pairwise"}, "`missing` must be"),
    ],
)
def test_bad_fit_arguments(kwargs: dict[str, object], match: str) -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    with pytest.raises(MTLError, match=match):
        fit_weights(_pop(x), "redundancy", **kwargs)  # type: ignore[arg-type]


def test_population_keys_must_match_suite() -> None:
    spec = SuiteSpec("s", "1", "suite", (MemberSpec("q", "acc", "none", 0.0, 1.0, "f"),))
    with pytest.raises(MTLError, match="must be exactly the members"):
        fit_weights(_pop(np.random.default_rng(0).normal(size=(20, 2))), "redundancy", suite=spec)


def test_constant_task_refused() -> None:
    x = np.random.default_rng(0).normal(size=(20, 3))
    x[:, 2] = 0.5
    with pytest.raises(InsufficientDataError, match="constant column"):
        fit_weights(_pop(x), "redundancy", suite_id="s@1")


def test_registry_third_party_scheme_round_trip() -> None:
    @register_scheme("mypkg/first_only", needs_population=False, description="all weight on task 0")
    def first_only(ctx: SchemeContext) -> np.ndarray:
        w = np.zeros(len(ctx.tasks))
        w[0] = 1.0
        return w

    try:
        x = np.random.default_rng(0).normal(size=(20, 3))
        wf = fit_weights(_pop(x), "mypkg/first_only", suite_id="s@1")
        assert wf.weights == {"t0": 1.0, "t1": 0.0, "t2": 0.0}
        assert wf.id == "mypkg_first_only-s"
        with pytest.raises(MTLError, match="already registered"):
            register_scheme("mypkg/first_only", needs_population=False, description="x")(first_only)
    finally:
        scheme_registry.unregister("mypkg/first_only")
    assert "mypkg/first_only" not in scheme_registry


def test_registry_rejects_bad_names() -> None:
    def fn(ctx: SchemeContext) -> np.ndarray:
        return np.ones(len(ctx.tasks))

    with pytest.raises(MTLError, match="named 'package/name'"):
        scheme_registry.register(WeightingScheme("mine", fn, False, "x"))
    with pytest.raises(MTLError, match="refused scheme"):
        scheme_registry.register(WeightingScheme("gls", fn, False, "x"))
    with pytest.raises(MTLError, match="cannot be unregistered"):
        scheme_registry.unregister("redundancy")


def test_scheme_returning_negative_weights_is_caught() -> None:
    @register_scheme("mypkg/negative", needs_population=False, description="bad")
    def negative(ctx: SchemeContext) -> np.ndarray:
        return np.array([-1.0] + [1.0] * (len(ctx.tasks) - 1))

    try:
        with pytest.raises(MTLError, match="negative or non-finite"):
            fit_weights(_pop(np.random.default_rng(0).normal(size=(20, 3))), "mypkg/negative", suite_id="s@1")
    finally:
        scheme_registry.unregister("mypkg/negative")


def test_factor_refused_when_first_factor_not_identified() -> None:
    # orthogonal +-1 columns: sample correlation I, every eigenvalue 1
    a = np.tile([1.0, -1.0], 50)
    b = np.tile([1.0, 1.0, -1.0, -1.0], 25)
    with (
        pytest.warns(Warning, match="identity"),
        pytest.raises(InsufficientDataError, match="not identified"),
    ):
        fit_weights(_pop(np.column_stack([a, b])), "factor", suite_id="s@1")
