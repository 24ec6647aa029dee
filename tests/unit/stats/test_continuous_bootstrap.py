"""The exact continuous-score bootstrap (``pair_sums``): its law, scipy agreement, memory bounds."""

from __future__ import annotations

import itertools
import math
import tracemalloc
from typing import Any

import numpy as np
import pytest
from scipy import stats

from lm_eval_mtl.stats import resample_mean
from lm_eval_mtl.stats.bootstrap import ItemScores, bootstrap_composite, bootstrap_task_means, resample_kind
from lm_eval_mtl.stats.resample_mean import pair_sum_means


def _chi2_pvalue(observed: np.ndarray, expected: np.ndarray) -> float:
    """Chi-square goodness of fit, cells with expected count < 5 pooled into one."""
    small = expected < 5
    obs = np.append(observed[~small], observed[small].sum())
    exp = np.append(expected[~small], expected[small].sum())
    keep = exp > 0
    obs, exp = obs[keep], exp[keep]
    chi2 = float(((obs - exp) ** 2 / exp).sum())
    return float(stats.chi2.sf(chi2, obs.size - 1))


def _multiset_law(n: int) -> dict[tuple[int, ...], float]:
    """Exact law of the count vector of n draws with replacement from n items."""
    law: dict[tuple[int, ...], float] = {}
    for c in itertools.product(range(n + 1), repeat=n):
        if sum(c) == n:
            law[c] = math.factorial(n) / math.prod(math.factorial(k) for k in c) / n**n
    return law


# --------------------------------------------------------------------------- routing


def test_continuous_scores_take_the_pair_sums_path() -> None:
    x = np.random.default_rng(0).random(500)
    assert resample_kind(ItemScores(x)) == "pair_sums"
    assert resample_kind(ItemScores(np.arange(17) / 16)) == "pair_sums"  # 17 distinct values
    assert resample_kind(ItemScores(np.arange(16) / 15)) == "multinomial"  # 16: value counts
    res = bootstrap_composite(
        [ItemScores(x), ItemScores(np.array([0.0, 1.0] * 50))], [0.5, 0.5], n_resamples=50
    )
    assert res.resample_kinds == ("pair_sums", "binomial")


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize(
    ("n", "block_bits"),
    [
        (4, 8),  # one remainder block (bounded-integer pair indices)
        (5, 2),  # a full block of 4 (masked 16-bit lanes) + a remainder of 1
        (5, 1),  # blocks 2, 2, 1: block multinomial, odd counts, masked lanes
        (6, 1),  # three full blocks of 2
        (6, 8),  # one remainder block of 6
    ],
)
def test_law_of_the_resample_equals_the_enumerated_law(n: int, block_bits: int) -> None:
    # values (n+1)**i make the resampled sum encode the whole count vector exactly
    base = n + 1
    x = np.array([float(base**i) for i in range(n)])
    b = 100_000
    sums = pair_sum_means(x, b, np.random.default_rng(100 + n + block_bits), block_bits=block_bits) * n
    codes = np.rint(sums).astype(np.int64)
    np.testing.assert_allclose(sums, codes, rtol=0, atol=1e-6)
    law = _multiset_law(n)
    keys = list(law)
    index = {sum(k * base**i for i, k in enumerate(c)): j for j, c in enumerate(keys)}
    observed = np.zeros(len(keys))
    values, counts = np.unique(codes, return_counts=True)
    for v, c in zip(values, counts, strict=True):
        observed[index[int(v)]] += c  # KeyError here would be an impossible outcome
    expected = np.array([law[c] for c in keys]) * b
    assert _chi2_pvalue(observed, expected) > 1e-4


def test_block_counts_and_within_block_draws_have_the_multinomial_law() -> None:
    # n = 600: blocks of 256, 256 and a remainder of 88 (the production block size).
    # Group A straddles every block boundary, group C lies inside the first block; their
    # draw counts must be jointly Multinomial(600; |A|/600, |C|/600, rest).
    n, b = 600, 60_000
    a_items = [0, 255, 256, 511, 512, 599]
    c_items = list(range(100, 130))
    x = np.zeros(n)
    x[a_items] = 1.0
    x[c_items] = 1000.0
    sums = np.rint(pair_sum_means(x, b, np.random.default_rng(7)) * n).astype(np.int64)
    n_c, n_a = np.divmod(sums, 1000)
    pa, pc = len(a_items) / n, len(c_items) / n
    assert (
        _chi2_pvalue(np.bincount(n_a, minlength=n + 1), stats.binom.pmf(np.arange(n + 1), n, pa) * b) > 1e-4
    )
    assert (
        _chi2_pvalue(np.bincount(n_c, minlength=n + 1), stats.binom.pmf(np.arange(n + 1), n, pc) * b) > 1e-4
    )
    # joint law on a grid of (n_a, n_c) cells
    grid_a, grid_c = np.arange(16), np.arange(80)
    joint = stats.multinomial.pmf(
        np.stack(
            np.broadcast_arrays(grid_a[:, None], grid_c[None, :], n - grid_a[:, None] - grid_c[None, :]), -1
        ),
        n,
        [pa, pc, 1 - pa - pc],
    )
    observed = np.zeros((16, 80))
    inside = (n_a < 16) & (n_c < 80)
    np.add.at(observed, (n_a[inside], n_c[inside]), 1)
    assert (
        _chi2_pvalue(
            np.append(observed.ravel(), (~inside).sum()), np.append(joint.ravel(), 1 - joint.sum()) * b
        )
        > 1e-4
    )


def test_single_item_counts_are_binomial_at_block_edges() -> None:
    n, b = 700, 40_000  # blocks 256, 256, 188
    for i in (0, 255, 256, 511, 512, 699):
        x = np.zeros(n)
        x[i] = 1.0
        k = np.rint(pair_sum_means(x, b, np.random.default_rng(i)) * n).astype(np.int64)
        expected = stats.binom.pmf(np.arange(n + 1), n, 1 / n) * b
        assert _chi2_pvalue(np.bincount(k, minlength=n + 1), expected) > 1e-4, i


def test_moments_are_those_of_the_item_bootstrap() -> None:
    x = np.random.default_rng(3).lognormal(sigma=0.7, size=1000)  # blocks 256 x 3 + 232
    b = 40_000
    d = pair_sum_means(x, b, np.random.default_rng(4))
    sd = x.std() / math.sqrt(x.size)
    assert d.mean() == pytest.approx(x.mean(), abs=4 * sd / math.sqrt(b))
    assert d.var() == pytest.approx(x.var() / x.size, rel=0.03)  # var_pop / n
    # third central moment of a mean of n iid draws: mu3 / n**2 (skewed data: clearly > 0)
    mu3 = float(((x - x.mean()) ** 3).mean())
    assert float(((d - d.mean()) ** 3).mean()) == pytest.approx(mu3 / x.size**2, rel=0.25)


def test_distribution_matches_the_plain_index_gather() -> None:
    x = np.random.default_rng(5).beta(0.5, 2.0, size=800)
    b = 20_000
    ours = pair_sum_means(x, b, np.random.default_rng(6))
    rng = np.random.default_rng(7)
    ref = np.concatenate([x[rng.integers(0, x.size, size=(2000, x.size))].mean(axis=1) for _ in range(10)])
    assert stats.ks_2samp(ours, ref).pvalue > 1e-3
    assert ours.std() == pytest.approx(ref.std(), rel=0.03)


def test_one_item_gives_its_value() -> None:
    np.testing.assert_array_equal(
        pair_sum_means(np.array([0.37]), 5, np.random.default_rng(0)), np.full(5, 0.37)
    )


# --------------------------------------------------------------------------- against scipy


def test_composite_percentile_interval_agrees_with_scipy_bootstrap() -> None:
    rng = np.random.default_rng(11)
    data = [rng.lognormal(sigma=0.8, size=700), rng.beta(2, 5, size=1500), rng.normal(size=2600)]
    w = np.array([0.5, 0.3, 0.2])
    b = 20_000
    ours = bootstrap_composite([ItemScores(x) for x in data], w, n_resamples=b, rng=12)
    assert ours.resample_kinds == ("pair_sums",) * 3

    def composite(x: np.ndarray, y: np.ndarray, z: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(w[0] * x.mean(axis=axis) + w[1] * y.mean(axis=axis) + w[2] * z.mean(axis=axis))

    ref = stats.bootstrap(tuple(data), composite, method="percentile", n_resamples=b, batch=1000, rng=13)
    # Monte Carlo sd of a 2.5% quantile at B = 20,000 is ~0.02 se; allow 0.12 se for the difference
    tol = 0.12 * ref.standard_error
    assert ours.ci.low == pytest.approx(ref.confidence_interval.low, abs=tol)
    assert ours.ci.high == pytest.approx(ref.confidence_interval.high, abs=tol)
    assert ours.se == pytest.approx(ref.standard_error, rel=0.03)
    analytic = math.sqrt(sum(wi**2 * x.var() / x.size for wi, x in zip(w, data, strict=True)))
    assert ours.se == pytest.approx(analytic, rel=0.03)


# --------------------------------------------------------------------------- determinism


def test_results_are_reproducible_given_the_seed() -> None:
    x = np.random.default_rng(1).random(1234)
    a = pair_sum_means(x, 3000, np.random.default_rng(9))
    np.testing.assert_array_equal(a, pair_sum_means(x, 3000, np.random.default_rng(9)))
    assert not np.array_equal(a, pair_sum_means(x, 3000, np.random.default_rng(10)))
    tasks = [ItemScores(x), ItemScores(np.random.default_rng(2).normal(size=300))]
    np.testing.assert_array_equal(
        bootstrap_task_means(tasks, n_resamples=500, rng=3),
        bootstrap_task_means(tasks, n_resamples=500, rng=3),
    )


# --------------------------------------------------------------------------- memory


def test_chunked_resampling_keeps_the_law(monkeypatch: pytest.MonkeyPatch) -> None:
    x = np.random.default_rng(8).gamma(2.0, size=3000)  # 12 blocks
    b = 20_000
    whole = pair_sum_means(x, b, np.random.default_rng(1))
    monkeypatch.setattr(resample_mean, "_OUTER_RESAMPLES", 700)  # block counts of 700 resamples at a time
    monkeypatch.setattr(resample_mean, "_SUB_RESAMPLES", 96)
    chunked = pair_sum_means(x, b, np.random.default_rng(2))
    assert chunked.shape == (b,)
    assert chunked.var() == pytest.approx(x.var() / x.size, rel=0.03)
    assert stats.ks_2samp(whole, chunked).pvalue > 1e-3


def test_memory_is_bounded_for_a_large_b_times_n() -> None:
    # B x n = 300 x 400,000 = 120M draws: materialized int64 indices alone would take ~1 GB
    x = np.random.default_rng(0).random(400_000)
    tracemalloc.start()
    try:
        d = bootstrap_task_means([ItemScores(x)], n_resamples=300, rng=0)[:, 0]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 2**20  # within the 64 MiB of chunk temporaries check_resample_memory allows
    assert d.std() == pytest.approx(x.std() / math.sqrt(x.size), rel=0.15)


def test_rejects_bad_arguments() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        pair_sum_means(np.array([]), 10, rng)
    with pytest.raises(ValueError, match="n_resamples"):
        pair_sum_means(np.ones(3), 0, rng)
    with pytest.raises(ValueError, match="block_bits"):
        pair_sum_means(np.ones(3), 10, rng, block_bits=9)


def test_threads_give_the_same_columns_as_one_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    from lm_eval_mtl.stats import bootstrap as bs
    from lm_eval_mtl.stats.corpus import CorpusStats

    rng = np.random.default_rng(3)
    tasks: list[Any] = [bs.ItemScores(rng.beta(2, 3, size=n)) for n in (500, 2000, 50)]
    tasks.append(bs.ItemScores((rng.random(800) < 0.6).astype(float)))
    tasks.append(CorpusStats("chrf", rng.integers(0, 30, size=(300, 18)).astype(float)))
    monkeypatch.setenv(bs.THREADS_ENV, "1")
    one = bs.bootstrap_task_means(tasks, n_resamples=3000, rng=11)
    monkeypatch.setenv(bs.THREADS_ENV, "4")
    assert bs._resample_threads(tasks, 3000) == 4
    four = bs.bootstrap_task_means(tasks, n_resamples=3000, rng=11)
    np.testing.assert_array_equal(one, four)
    monkeypatch.delenv(bs.THREADS_ENV)
    assert bs._resample_threads(tasks[:1], 3000) == 1  # one task: no pool


def test_multinomial_rows_has_the_multinomial_law() -> None:
    from lm_eval_mtl.stats.joint import multinomial_rows

    probs = np.array([0.2, 0.5, 0.3])
    draws = multinomial_rows(5, probs, 200_000, np.random.default_rng(0)).astype(int)
    assert np.all(draws.sum(axis=1) == 5) and np.all(draws >= 0)
    outcomes, counts = np.unique(draws, axis=0, return_counts=True)
    expected = stats.multinomial.pmf(outcomes, 5, probs) * draws.shape[0]
    assert len(outcomes) == 21  # every composition of 5 into 3 parts occurs
    chi2 = float(np.sum((counts - expected) ** 2 / expected))
    assert stats.chi2.sf(chi2, len(outcomes) - 1) > 1e-4
    # a zero-probability category is never drawn; one certain category takes every draw
    assert np.all(multinomial_rows(7, np.array([0.0, 1.0, 0.0]), 50, np.random.default_rng(1)) == [0, 7, 0])


def test_joint_column_means_by_distinct_rows_have_the_item_bootstrap_law(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A column with about 75 distinct values over 2,000 items goes through a multinomial over the values
    (and clusters with few distinct (sum, size) rows likewise): the same law as item draws."""
    from lm_eval_mtl.stats import joint

    rng = np.random.default_rng(8)
    vals = np.round(rng.normal(size=2000) * 12) / 12  # about 75 distinct values
    assert 60 < np.unique(vals).size < 2000 // 8
    clusters = rng.integers(0, 800, size=2000)
    d01 = rng.choice([-1.0, 0.0, 1.0], size=2000, p=[0.2, 0.6, 0.2])
    B = 8_000
    for x, cl in ((vals, None), (d01, clusters)):
        fast = joint.resample_column_means(x[:, None], B, np.random.default_rng(1), cl)[:, 0]
        with monkeypatch.context() as m:
            m.setattr(joint, "_distinct_rows", lambda rows, n: (None, np.empty(0)))
            slow = joint.resample_column_means(x[:, None], B, np.random.default_rng(2), cl)[:, 0]
        # same mean and spread within Monte Carlo error (se of an SD estimate: sd / sqrt(2B))
        assert abs(fast.mean() - slow.mean()) < 5 * slow.std() / np.sqrt(B)
        assert abs(fast.std() / slow.std() - 1) < 5 / np.sqrt(2 * B)
