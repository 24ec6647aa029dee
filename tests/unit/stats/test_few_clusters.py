"""Small-cluster inference: CR1-t / CR2-t, Satterthwaite composite, wild cluster bootstrap, policy."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import stats as sps

from lm_eval_mtl.errors import DegenerateDataWarning, FewClustersError, FewClustersWarning, MTLError
from lm_eval_mtl.stats.clusters import (
    FINE_CLUSTERS,
    MIN_CLUSTERS,
    bell_mccaffrey_df,
    check_clusters,
    clustered_t_interval,
    composite_t_interval,
    few_clusters_policy,
    satterthwaite_df,
    t_critical,
)
from lm_eval_mtl.stats.intervals import clustered_se
from lm_eval_mtl.stats.permutation import paired_sign_flip_test
from lm_eval_mtl.stats.wild import (
    RADEMACHER_WEIGHTS,
    WEBB_WEIGHTS,
    min_attainable_p,
    wild_cluster_bootstrap,
    wild_cluster_paired,
)


def _data(seed: int = 0, g: int = 6) -> tuple[np.ndarray, np.ndarray]:
    gen = np.random.default_rng(seed)
    sizes = gen.integers(2, 7, size=g)
    labels = np.repeat(np.arange(g), sizes)
    p = gen.beta(2, 1, size=g)
    y = (gen.random(labels.size) < p[labels]).astype(float)
    y[0], y[-1] = 0.0, 1.0  # never constant
    return y, labels


# --------------------------------------------------------------------------- analytic


def test_cr1_t_uses_t_quantile_on_g_minus_1_df() -> None:
    y, lab = _data()
    r = clustered_t_interval(y, lab)
    z = sps.norm.ppf(0.975)
    t = sps.t.ppf(0.975, 5)
    assert r.n_clusters == 6 and r.df == 5 and r.method == "CR1-t"
    assert r.se == pytest.approx(clustered_se(y, lab), rel=1e-14)
    assert r.critical_value == pytest.approx(t, rel=1e-14)
    normal_half = z * r.se
    half = (r.ci.high - r.ci.low) / 2
    assert half / normal_half == pytest.approx(t / z, rel=1e-12)  # 2.571/1.960 = 1.312
    assert r.ci.low + half == pytest.approx(r.estimate)
    assert t_critical(math.inf) == pytest.approx(z)


def _cr2_reference(y: np.ndarray, lab: np.ndarray) -> tuple[float, float]:
    """CR2 variance and Bell-McCaffrey df from the explicit matrix formulas (intercept-only)."""
    n = y.size
    x = np.ones((n, 1))
    xtx_inv = np.linalg.inv(x.T @ x)
    h = x @ xtx_inv @ x.T
    e = y - x @ (xtx_inv @ (x.T @ y))
    meat = np.zeros((1, 1))
    m = np.eye(n) - h
    cols = []
    for g in np.unique(lab):
        rows = np.flatnonzero(lab == g)
        hgg = h[np.ix_(rows, rows)]
        vals, vecs = np.linalg.eigh(np.eye(rows.size) - hgg)
        a_g = vecs @ np.diag(vals**-0.5) @ vecs.T  # (I - H_gg)^(-1/2)
        u = x[rows].T @ a_g @ e[rows]
        meat += np.outer(u, u)
        # Imbens-Kolesar: G matrix columns (I - H)_g' A_g X_g (X'X)^-1 (here scalar direction)
        cols.append((m[rows, :].T @ a_g @ x[rows] @ xtx_inv).reshape(-1))
    v = float((xtx_inv @ meat @ xtx_inv)[0, 0])
    gmat = np.array(cols) @ np.array(cols).T
    df = float(np.trace(gmat) ** 2 / np.trace(gmat @ gmat))
    return v, df


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cr2_matches_the_explicit_matrix_formula(seed: int) -> None:
    y, lab = _data(seed, g=5)
    r = clustered_t_interval(y, lab, variance="CR2")
    v, df = _cr2_reference(y, lab)
    assert r.se == pytest.approx(math.sqrt(v), rel=1e-10)
    assert r.df == pytest.approx(df, rel=1e-10)
    assert r.df <= 4 + 1e-12  # BM df <= G - 1
    assert r.critical_value == pytest.approx(sps.t.ppf(0.975, df), rel=1e-10)


def test_bell_mccaffrey_df_is_g_minus_1_for_equal_sizes() -> None:
    assert bell_mccaffrey_df([10] * 7) == pytest.approx(6.0, rel=1e-12)
    assert bell_mccaffrey_df([1, 1, 30]) < 2.0


def test_cr2_equals_cr1_for_equal_clusters() -> None:
    gen = np.random.default_rng(3)
    lab = np.repeat(np.arange(5), 4)
    y = gen.random(20)
    # equal sizes: 1/(1 - 1/G) = G/(G-1), the CR1 factor
    assert clustered_t_interval(y, lab, variance="CR2").se == pytest.approx(clustered_t_interval(y, lab).se)


def test_single_cluster_is_nan_with_a_warning() -> None:
    with pytest.warns(DegenerateDataWarning):
        r = clustered_t_interval([0.0, 1.0], [1, 1])
    assert math.isnan(r.se) and math.isnan(r.ci.low)


def test_satterthwaite_composite() -> None:
    # one task: its own df
    c = composite_t_interval([0.5], [0.1], [4.0], [1.0])
    assert c.df == pytest.approx(4.0) and c.critical_value == pytest.approx(sps.t.ppf(0.975, 4))
    # two equal components with 4 df each: 8 df
    assert satterthwaite_df([1.0, 1.0], [4.0, 4.0]) == pytest.approx(8.0)
    # a small-df task with a tiny share barely lowers the df of an unclustered composite
    assert satterthwaite_df([0.01, 1.0], [4.0, math.inf]) == pytest.approx(1.01**2 / (0.0001 / 4))
    c = composite_t_interval([0.2, 0.4], [0.1, 0.2], [math.inf, math.inf], [0.5, 0.5])
    assert math.isinf(c.df) and c.critical_value == pytest.approx(sps.norm.ppf(0.975))
    assert c.estimate == pytest.approx(0.3) and c.se == pytest.approx(math.sqrt(0.05**2 + 0.1**2))
    lo = min(4.0, 9.0)
    df = satterthwaite_df([0.3, 0.7], [4.0, 9.0])
    assert lo <= df <= 13.0


# --------------------------------------------------------------------------- wild bootstrap


def test_webb_and_rademacher_weights_have_mean_0_and_variance_1() -> None:
    for w in (WEBB_WEIGHTS, RADEMACHER_WEIGHTS):
        assert float(np.mean(w)) == pytest.approx(0.0, abs=1e-15)
        assert float(np.mean(w * w)) == pytest.approx(1.0, rel=1e-14)
    assert WEBB_WEIGHTS.size == 6 and float(np.mean(WEBB_WEIGHTS**4)) == pytest.approx(7 / 6)


def _brute_wcr_p(y: np.ndarray, lab: np.ndarray, mu0: float, values: np.ndarray) -> float:
    """Restricted wild cluster bootstrap-t by building every y* and recomputing the CR1 t."""
    groups = np.unique(lab, return_inverse=True)[1]
    g = int(groups.max()) + 1

    def tstat(z: np.ndarray) -> float:
        se = clustered_se(z, groups)
        return (float(z.mean()) - mu0) / se

    t_obs = tstat(y)
    hits = 0
    total = 0
    for pattern in itertools.product(values, repeat=g):
        ystar = mu0 + np.asarray(pattern)[groups] * (y - mu0)
        hits += abs(tstat(ystar)) >= abs(t_obs) * (1 - 1e-9)
        total += 1
    return hits / total


@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_exact_enumeration_for_tiny_g_matches_brute_force(weights: str) -> None:
    y, lab = _data(5, g=4)
    r = wild_cluster_bootstrap(y, lab, null=0.5, weights=weights)  # type: ignore[arg-type]
    k = 2 if weights == "rademacher" else 6
    assert r.exact and r.n_patterns == k**4
    values = RADEMACHER_WEIGHTS if weights == "rademacher" else WEBB_WEIGHTS
    assert r.p_value == pytest.approx(_brute_wcr_p(y, lab, 0.5, values), abs=1e-12)


def test_auto_weights_and_monte_carlo() -> None:
    y, lab = _data(6, g=8)
    r = wild_cluster_bootstrap(y, lab, rng=1, n_resamples=499)
    assert r.weights == "webb" and not r.exact and r.n_patterns == 499
    assert r.min_p_value == pytest.approx(1 / 500)
    y, lab = _data(6, g=14)
    r = wild_cluster_bootstrap(y, lab, rng=1)
    assert r.weights == "rademacher" and r.exact and r.n_patterns == 2**14
    # seeded: reproducible
    a = wild_cluster_bootstrap(*_data(7, g=9), rng=3, n_resamples=199)
    b = wild_cluster_bootstrap(*_data(7, g=9), rng=3, n_resamples=199)
    assert a == b


def test_minimum_attainable_p_is_stated_and_attained() -> None:
    # every cluster strongly one way: the observed |t| is the largest, only the constant patterns tie
    lab = np.repeat(np.arange(5), 4)
    d = np.tile([1.0, 1.0, 1.0, 0.0], 5) + 0.01 * np.arange(20)
    rad = wild_cluster_bootstrap(d, lab, weights="rademacher")
    assert rad.min_p_value == pytest.approx(2 / 2**5) == pytest.approx(0.0625)
    assert rad.p_value == pytest.approx(rad.min_p_value)
    # the clustered sign flip agrees: 2/2^5
    assert paired_sign_flip_test(d, clusters=lab).p_value == pytest.approx(0.0625)
    # Rademacher cannot reject at 5% with 5 clusters: the inverted interval is unbounded
    assert math.isinf(rad.ci.low) and math.isinf(rad.ci.high)
    webb = wild_cluster_bootstrap(d, lab, weights="webb")
    assert webb.min_p_value == pytest.approx(6.0**-4)
    assert webb.min_p_value <= webb.p_value < 0.005  # Webb: near-constant patterns may also tie or exceed
    assert math.isfinite(webb.ci.low) and webb.ci.low > 0
    assert min_attainable_p(3, "rademacher", 8, True) == pytest.approx(0.25)
    assert min_attainable_p(3, "webb", 216, True) == pytest.approx(1 / 36)


def test_restricted_interval_inverts_the_test() -> None:
    y, lab = _data(8, g=6)
    r = wild_cluster_bootstrap(y, lab, weights="webb")
    assert r.ci.low < r.estimate < r.ci.high
    inside = wild_cluster_bootstrap(y, lab, weights="webb", null=r.ci.low + 1e-6)
    outside = wild_cluster_bootstrap(y, lab, weights="webb", null=r.ci.low - 1e-6)
    assert inside.p_value > 0.05 >= outside.p_value
    u = wild_cluster_bootstrap(y, lab, weights="webb", interval="unrestricted")
    # symmetric weights: the WCU bootstrap-t interval is symmetric about the estimate
    assert u.ci.high - u.estimate == pytest.approx(u.estimate - u.ci.low, rel=1e-9)


def test_paired_form_and_rademacher_sign_flip_level() -> None:
    gen = np.random.default_rng(11)
    lab = np.repeat(np.arange(6), 5)
    a = gen.random(30)
    b = gen.random(30)
    p = wild_cluster_paired(a, b, lab)
    q = wild_cluster_bootstrap(a - b, lab, null=0.0)
    assert p == q
    with pytest.raises(ValueError, match="same shape"):
        wild_cluster_paired(a, b[:-1], lab)


def test_constant_data_warns_and_returns_the_point() -> None:
    lab = np.repeat(np.arange(4), 3)
    with pytest.warns(DegenerateDataWarning):
        r = wild_cluster_bootstrap(np.ones(12), lab, null=1.0)
    assert r.p_value == 1.0 and r.ci.low == r.ci.high == 1.0


# --------------------------------------------------------------------------- policy


def test_policy_thresholds() -> None:
    assert MIN_CLUSTERS == 4 and FINE_CLUSTERS == 20
    assert few_clusters_policy(20).action == "fine"
    assert few_clusters_policy(500).message == ""
    assert few_clusters_policy(19).action == "warn"
    assert few_clusters_policy(4).action == "warn"
    assert few_clusters_policy(3).action == "refuse"
    assert few_clusters_policy(3, allow_few_clusters=True).action == "warn"
    assert few_clusters_policy(1, allow_few_clusters=True).action == "refuse"
    assert few_clusters_policy(0).action == "refuse"
    with pytest.raises(ValueError):
        few_clusters_policy(-1)


def test_check_clusters_raises_and_warns() -> None:
    with pytest.raises(FewClustersError) as info:
        check_clusters(3, what="task 'race'")
    msg = str(info.value)
    assert "task 'race'" in msg and "3 clusters" in msg and "at least 4" in msg
    assert "drop the cluster key" in msg and "allow_few_clusters=True" in msg and "0.25" in msg
    assert isinstance(info.value, MTLError) and isinstance(info.value, ValueError)
    with pytest.warns(FewClustersWarning, match="only 5 clusters") as rec:
        check_clusters(5)
    assert "0.0625" in str(rec[0].message)
    assert issubclass(FewClustersWarning, DegenerateDataWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert check_clusters(25).action == "fine"


# --------------------------------------------------------------------------- simulation (fast)


def _beta_binomial(gen: np.random.Generator, g: int, rho: float, mu: float) -> tuple[np.ndarray, np.ndarray]:
    sizes = gen.integers(5, 16, size=g)
    k = 1.0 / rho - 1.0
    labels = np.repeat(np.arange(g), sizes)
    return labels, gen.beta(mu * k, (1.0 - mu) * k, size=g)


@pytest.mark.parametrize("g", [5, 20])
def test_coverage_and_null_rejection_by_simulation(g: int) -> None:
    """200 seeded replications, ICC 0.1 (the full table, ICC 0.1 and 0.33: bench/validate_clusters.py)."""
    gen = np.random.default_rng(1000 + g)
    mu, rho, reps = 0.7, 0.1, 200
    cover_t = cover_wild = reject = 0
    for _ in range(reps):
        labels, p = _beta_binomial(gen, g, rho, mu)
        y = (gen.random(labels.size) < p[labels]).astype(float)
        r = clustered_t_interval(y, labels)
        cover_t += r.ci.low <= mu <= r.ci.high
        w = wild_cluster_bootstrap(y, labels, null=mu, n_resamples=399, rng=gen)
        cover_wild += w.ci.low <= mu <= w.ci.high
        pb = gen.beta(mu * (1 / rho - 1), (1 - mu) * (1 / rho - 1), size=g)
        b = (gen.random(labels.size) < pb[labels]).astype(float)
        reject += wild_cluster_paired(y, b, labels, n_resamples=399, rng=gen).p_value <= 0.05
    # Monte Carlo se of a 95% coverage over 200 reps: 0.015; of a 5% rate: 0.015
    assert 0.91 <= cover_t / reps <= 0.985
    assert 0.91 <= cover_wild / reps <= 0.985
    assert 0.01 <= reject / reps <= 0.09
