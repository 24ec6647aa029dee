"""Paired sign-flip and approximate randomization tests: exact values, calibration, power, validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
from scipy import stats as sps

from lm_eval_mtl.stats.corpus import CorpusStats, corpus_score, segment_stats
from lm_eval_mtl.stats.permutation import (
    composite_sign_flip_test,
    corpus_randomization_test,
    paired_sign_flip_test,
)

WMT_FILE = Path("eval_sets/wmt16_de_en_popovic/de-en_uedin_nmt_pbmt_ref.jsonl")


def _mean_diff(x: np.ndarray, y: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.mean(x - y, axis=axis)


def _scipy_paired_p(x: np.ndarray, y: np.ndarray, alternative: str = "two-sided") -> float:
    res = sps.permutation_test(
        (x, y),
        _mean_diff,
        permutation_type="samples",
        n_resamples=np.inf,
        vectorized=True,
        alternative=alternative,
    )
    return float(res.pvalue)


@pytest.fixture(scope="module")
def wmt_chrf() -> tuple[CorpusStats, CorpusStats]:
    """chrF segment statistics of two real WMT16 de-en systems (NMT, PBMT) on the same segments."""
    path = Path(__file__).resolve().parents[3].parent / "shared" / "data" / WMT_FILE
    if not path.is_file():
        pytest.skip(f"WMT16 segments not available at {path}")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    refs = [r["ref"] for r in rows]
    return segment_stats("chrf", refs, [r["nmt"] for r in rows]), segment_stats(
        "chrf", refs, [r["pbmt"] for r in rows]
    )


# --------------------------------------------------------------------------- exact values


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sign_flip_equals_scipy_exact_paired_permutation_test(seed: int, alternative: str) -> None:
    rng = np.random.default_rng(seed)
    n = 7 + seed * 3  # 7, 10, 13 items: all exact
    x = rng.normal(size=n)
    y = x - rng.normal(0.3, 1.0, size=n)
    res = paired_sign_flip_test(x - y, alternative=alternative)  # type: ignore[arg-type]
    assert res.exact and res.n_resamples == 2**n
    assert res.statistic == pytest.approx(float(np.mean(x - y)), abs=1e-15)
    assert res.p_value == pytest.approx(_scipy_paired_p(x, y, alternative), abs=1e-12)


def test_sign_flip_with_zero_differences_and_ties_equals_scipy() -> None:
    x = np.array([1.0, 0.0, 0.5, 0.5, 1.0, 0.0, 0.25, 0.75, 1.0, 0.5, 0.0, 1.0])
    y = np.array([0.0, 0.0, 0.5, 0.0, 0.5, 0.5, 0.25, 0.25, 0.0, 0.5, 0.0, 0.5])
    res = paired_sign_flip_test(x - y)
    assert res.exact and res.n_resamples == 2**7  # 5 zero differences do not count
    assert res.p_value == pytest.approx(_scipy_paired_p(x, y), abs=1e-12)


def test_four_items_all_one_way_give_the_exact_sign_test_p() -> None:
    res = paired_sign_flip_test([0.3, 0.1, 0.7, 0.2])
    assert res.exact and res.p_value == pytest.approx(2 / 16, abs=1e-15)
    assert res.p_value == pytest.approx(sps.binomtest(4, 4, 0.5).pvalue, abs=1e-15)
    one_sided = paired_sign_flip_test([0.3, 0.1, 0.7, 0.2], alternative="greater")
    assert one_sided.p_value == pytest.approx(1 / 16, abs=1e-15)


def test_all_zero_differences_give_p_one() -> None:
    res = paired_sign_flip_test(np.zeros(30))
    assert res.statistic == 0.0 and res.p_value == 1.0 and res.exact


def test_floating_point_ties_count_as_ties() -> None:
    # 0.1 + 0.2 != 0.3 in floating point; flipping must still see |T*| = |T| as a tie.
    d = np.array([0.1, 0.2, -0.3, 0.3])
    res = paired_sign_flip_test(d)
    t = np.array([s @ d for s in (np.array(np.meshgrid(*[[-1, 1]] * 4)).reshape(4, -1).T)])
    expected = np.mean(np.abs(t) >= abs(d.sum()) - 1e-9)
    assert res.p_value == pytest.approx(expected, abs=1e-15)


def test_clustered_flip_with_singleton_clusters_equals_unclustered() -> None:
    rng = np.random.default_rng(3)
    d = rng.normal(0.2, 1.0, size=60)  # Monte Carlo: 60 > 16 units
    plain = paired_sign_flip_test(d, n_resamples=3000, rng=11)
    clustered = paired_sign_flip_test(d, clusters=7 * np.arange(60) + 1, n_resamples=3000, rng=11)
    assert not plain.exact and plain.n_resamples == 3000
    assert clustered.p_value == plain.p_value and clustered.statistic == pytest.approx(plain.statistic)
    small = paired_sign_flip_test(d[:10])
    assert paired_sign_flip_test(d[:10], clusters=list("abcdefghij")).p_value == pytest.approx(
        small.p_value, abs=1e-15
    )


def test_clustered_flip_equals_scipy_on_cluster_sums() -> None:
    rng = np.random.default_rng(4)
    d = rng.normal(0.4, 1.0, size=30)
    labels = np.repeat(np.arange(10), 3)
    sums = np.bincount(labels, weights=d)
    res = paired_sign_flip_test(d, clusters=labels)
    assert res.exact and res.method == "clustered sign-flip"
    assert res.p_value == pytest.approx(_scipy_paired_p(sums, np.zeros(10)), abs=1e-12)


def test_monte_carlo_p_is_phipson_smyth_and_seeded() -> None:
    d = np.full(40, 1.0)  # only the observed pattern (and its mirror) reach |T|
    res = paired_sign_flip_test(d, n_resamples=999, rng=5)
    assert res.p_value == pytest.approx(1 / 1000)  # never 0
    again = paired_sign_flip_test(np.random.default_rng(8).normal(size=40), n_resamples=500, rng=9)
    assert (
        again.p_value
        == paired_sign_flip_test(np.random.default_rng(8).normal(size=40), n_resamples=500, rng=9).p_value
    )


# --------------------------------------------------------------------------- corpus


def test_corpus_randomization_matches_brute_force_sacrebleu(
    wmt_chrf: tuple[CorpusStats, CorpusStats],
) -> None:
    a, b = wmt_chrf
    rows = json.loads(
        "["
        + ",".join(
            (Path(__file__).resolve().parents[3].parent / "shared" / "data" / WMT_FILE)
            .read_text(encoding="utf-8")
            .splitlines()
        )
        + "]"
    )
    idx = [i for i in range(a.n) if rows[i]["nmt"] != rows[i]["pbmt"]][:8]
    sub = [rows[i] for i in idx]
    res = corpus_randomization_test(a.subset(idx), b.subset(idx))
    assert res.exact and res.n_resamples == 2**8
    refs = [[r["ref"] for r in sub]]
    observed = (
        sacrebleu.corpus_chrf([r["nmt"] for r in sub], refs).score
        - sacrebleu.corpus_chrf([r["pbmt"] for r in sub], refs).score
    )
    null = []
    for code in range(2**8):
        swap = [(code >> k) & 1 for k in range(8)]
        ha = [r["pbmt"] if s else r["nmt"] for r, s in zip(sub, swap, strict=True)]
        hb = [r["nmt"] if s else r["pbmt"] for r, s in zip(sub, swap, strict=True)]
        null.append(sacrebleu.corpus_chrf(ha, refs).score - sacrebleu.corpus_chrf(hb, refs).score)
    expected = np.mean(np.abs(null) >= abs(observed) - 1e-9)
    assert res.statistic == pytest.approx(observed, abs=1e-9)
    assert res.p_value == pytest.approx(expected, abs=1e-12)


def test_corpus_randomization_accepts_arrays_with_a_score_function() -> None:
    rng = np.random.default_rng(6)
    a = rng.integers(1, 20, size=(12, 2)).astype(float)
    b = rng.integers(1, 20, size=(12, 2)).astype(float)

    def ratio(t: np.ndarray) -> np.ndarray:
        return np.asarray(t[:, 0] / t[:, 1], dtype=np.float64)

    res = corpus_randomization_test(a, b, ratio)
    swaps = ((np.arange(2**12)[:, None] >> np.arange(12)) & 1).astype(float)
    ta = a.sum(0) + swaps @ (b - a)
    tb = b.sum(0) - swaps @ (b - a)
    obs = a[:, 0].sum() / a[:, 1].sum() - b[:, 0].sum() / b[:, 1].sum()
    null = ta[:, 0] / ta[:, 1] - tb[:, 0] / tb[:, 1]
    assert res.p_value == pytest.approx(np.mean(np.abs(null) >= abs(obs) * (1 - 1e-12)), abs=1e-12)


def test_identical_corpora_give_p_one(wmt_chrf: tuple[CorpusStats, CorpusStats]) -> None:
    a, _ = wmt_chrf
    res = corpus_randomization_test(a, a)
    assert res.exact and res.n_resamples == 1 and res.p_value == 1.0 and res.statistic == 0.0


# --------------------------------------------------------------------------- calibration and power


def test_sign_flip_holds_its_level_at_n24() -> None:
    rng = np.random.default_rng(2024)
    reps = 600
    p = np.array(
        [
            paired_sign_flip_test(rng.standard_t(3, size=24), n_resamples=499, rng=rng).p_value
            for _ in range(reps)
        ]
    )
    rate = float(np.mean(p < 0.05))
    assert 0.025 <= rate <= 0.07, rate


def test_corpus_randomization_holds_its_level_on_24_real_segments(
    wmt_chrf: tuple[CorpusStats, CorpusStats],
) -> None:
    nmt, pbmt = wmt_chrf
    rng = np.random.default_rng(16)
    reps = 400
    pvals = []
    for _ in range(reps):
        seg = rng.choice(nmt.n, size=24, replace=False)
        coin = rng.integers(0, 2, size=24).astype(bool)
        sa = np.where(coin[:, None], nmt.stats[seg], pbmt.stats[seg])  # the same two outputs,
        sb = np.where(coin[:, None], pbmt.stats[seg], nmt.stats[seg])  # randomly assigned to A and B
        res = corpus_randomization_test(
            CorpusStats("chrf", sa), CorpusStats("chrf", sb), n_resamples=499, rng=rng
        )
        pvals.append(res.p_value)
    rate = float(np.mean(np.array(pvals) < 0.05))
    assert 0.025 <= rate <= 0.07, rate


def test_clear_shift_is_detected() -> None:
    rng = np.random.default_rng(1)
    d = rng.normal(0.8, 1.0, size=40)
    assert paired_sign_flip_test(d, n_resamples=2000, rng=2).p_value < 0.01
    assert paired_sign_flip_test(d, n_resamples=2000, rng=2, alternative="less").p_value > 0.9


def test_real_degradation_is_detected_and_a_small_gap_is_not(
    wmt_chrf: tuple[CorpusStats, CorpusStats],
) -> None:
    nmt, pbmt = wmt_chrf
    path = Path(__file__).resolve().parents[3].parent / "shared" / "data" / WMT_FILE
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    # B = the NMT outputs with their second half of words dropped: a clearly worse system.
    cut = [" ".join(r["nmt"].split()[: max(1, len(r["nmt"].split()) // 2)]) for r in rows]
    worse = segment_stats("chrf", [r["ref"] for r in rows], cut)
    res = corpus_randomization_test(nmt, worse, n_resamples=999, rng=3)
    assert res.statistic == pytest.approx(corpus_score(nmt) - corpus_score(worse), abs=1e-9)
    assert res.statistic > 10 and res.p_value == pytest.approx(1 / 1000)
    # NMT vs PBMT on these 204 de-en segments differ by < 1 chrF point: no evidence either way.
    close = corpus_randomization_test(nmt, pbmt, n_resamples=999, rng=3)
    assert abs(close.statistic) < 1 and close.p_value > 0.1


# --------------------------------------------------------------------------- composite


def test_composite_of_one_task_equals_the_single_test() -> None:
    rng = np.random.default_rng(7)
    d = rng.normal(0.1, 1.0, size=11)
    single = paired_sign_flip_test(d)
    comp = composite_sign_flip_test([d], [0.5], [2.0])
    assert comp.exact and comp.p_value == pytest.approx(single.p_value, abs=1e-15)
    assert comp.statistic == pytest.approx(float(np.mean(d)))


def test_composite_exact_equals_brute_force_over_both_tasks() -> None:
    d1 = np.array([0.5, -0.2, 0.9, 0.4, 0.1])
    d2 = np.array([1.0, 1.0, -1.0, 0.0, 1.0, 1.0])
    w, sc = np.array([0.3, 0.7]), np.array([1.0, 2.0])
    res = composite_sign_flip_test([d1, d2], w, sc)
    nz2 = d2[d2 != 0]
    null = []
    for code in range(2**10):
        e = np.array([1 - 2 * ((code >> k) & 1) for k in range(10)], dtype=float)
        null.append(w[0] * sc[0] * np.mean(e[:5] * d1) + w[1] * sc[1] * np.sum(e[5:] * nz2) / 6)
    obs = w[0] * sc[0] * d1.mean() + w[1] * sc[1] * d2.mean()
    assert res.exact and res.statistic == pytest.approx(obs)
    assert res.p_value == pytest.approx(np.mean(np.abs(null) >= abs(obs) - 1e-12), abs=1e-12)


def test_composite_mixes_mean_and_corpus_tasks(wmt_chrf: tuple[CorpusStats, CorpusStats]) -> None:
    nmt, pbmt = wmt_chrf
    d = np.random.default_rng(9).normal(0.0, 1.0, size=50)
    res = composite_sign_flip_test([d, (nmt, pbmt)], [0.5, 0.5], [1.0, 0.01], n_resamples=999, rng=1)
    expected = 0.5 * d.mean() + 0.5 * 0.01 * (corpus_score(nmt) - corpus_score(pbmt))
    assert not res.exact and res.statistic == pytest.approx(expected)
    assert res.method == "composite sign-flip" and 0 < res.p_value <= 1


def test_composite_holds_its_level() -> None:
    rng = np.random.default_rng(77)
    p = np.array(
        [
            composite_sign_flip_test(
                [rng.normal(size=10), rng.laplace(size=14)], [0.5, 0.5], [1.0, 3.0], n_resamples=299, rng=rng
            ).p_value
            for _ in range(400)
        ]
    )
    rate = float(np.mean(p < 0.05))
    assert 0.025 <= rate <= 0.07, rate


# --------------------------------------------------------------------------- validation


def test_invalid_inputs_are_rejected_with_messages() -> None:
    with pytest.raises(ValueError, match=r"`d` must be a non-empty 1-D array"):
        paired_sign_flip_test([])
    with pytest.raises(ValueError, match=r"`d` must be finite"):
        paired_sign_flip_test([1.0, np.nan])
    with pytest.raises(ValueError, match=r"`clusters` must hold one cluster label per item \(3\)"):
        paired_sign_flip_test([1.0, 2.0, 3.0], clusters=[1, 2])
    with pytest.raises(ValueError, match=r"`alternative` must be one of"):
        paired_sign_flip_test([1.0], alternative="both")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"`n_resamples` must be a positive int"):
        paired_sign_flip_test([1.0], n_resamples=0)
    with pytest.raises(ValueError, match=r"`score_fn` must be a callable"):
        corpus_randomization_test(np.ones((3, 2)), np.ones((3, 2)))
    with pytest.raises(ValueError, match=r"must be \(n_segments >= 1, d\) arrays of the same shape"):
        corpus_randomization_test(np.ones((3, 2)), np.ones((4, 2)), lambda t: t[:, 0])
    with pytest.raises(ValueError, match=r"same metric and options"):
        corpus_randomization_test(CorpusStats("ter", np.ones((2, 2))), CorpusStats("chrf", np.ones((2, 18))))
    with pytest.raises(ValueError, match=r"both be CorpusStats or both arrays"):
        corpus_randomization_test(CorpusStats("ter", np.ones((2, 2))), np.ones((2, 2)))
    with pytest.raises(ValueError, match=r"`task_diffs` must hold at least one task"):
        composite_sign_flip_test([], [])
    with pytest.raises(ValueError, match=r"`weights` must hold 2 finite numbers"):
        composite_sign_flip_test([[1.0], [2.0]], [1.0])
    with pytest.raises(ValueError, match=r"`scales` must hold 2 positive finite numbers"):
        composite_sign_flip_test([[1.0], [2.0]], [1.0, 1.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"`clusters` must hold one entry \(or None\) per task \(2\)"):
        composite_sign_flip_test([[1.0], [2.0]], [1.0, 1.0], clusters=[None])
    with pytest.raises(ValueError, match=r"`task_diffs\[1\]` must be finite"):
        composite_sign_flip_test([[1.0], [np.inf]], [1.0, 1.0])


def test_result_to_dict_is_plain_json() -> None:
    res = paired_sign_flip_test([0.3, -0.1, 0.7])
    out = json.loads(json.dumps(res.to_dict()))
    assert out == {
        "statistic": res.statistic,
        "p_value": res.p_value,
        "n_resamples": 8,
        "exact": True,
        "method": "sign-flip",
        "alternative": "two-sided",
    }


# --------------------------------------------------------------------------- wiring into compare / transfer


def test_paired_difference_uses_the_exact_sign_flip_p_at_small_n() -> None:
    from lm_eval_mtl.stats.paired import paired_difference

    b = np.linspace(0.2, 0.8, 24)
    a = b.copy()
    a[[3, 9, 15, 21]] += [0.05, 0.1, 0.2, 0.3]  # 4 of 24 items move, all in A's favour
    res = paired_difference(a, b, rng=0, n_resamples=2000)
    assert res.method == "paired-bootstrap CI, sign-flip p"
    assert res.p_value == pytest.approx(sps.binomtest(4, 4, 0.5).pvalue, abs=1e-15)  # 0.125


@pytest.mark.filterwarnings("ignore::lm_eval_mtl.errors.DegenerateDataWarning")  # relative transfer
def test_transfer_cells_and_composite_use_randomization_p_values() -> None:
    from lm_eval_mtl.analysis.transfer import transfer_from_scores

    rng = np.random.default_rng(12)
    base = {"x": rng.random(7), "y": rng.random(6)}
    ck = {"x": {"x": base["x"] + rng.normal(0.1, 0.1, 7), "y": base["y"] + rng.normal(0, 0.1, 6)}}
    tm = transfer_from_scores(base, ck, scale={"x": 1.0, "y": 2.0}, weights={"x": 1.0, "y": 3.0}, rng=0)
    dx, dy = ck["x"]["x"] - base["x"], ck["x"]["y"] - base["y"]
    assert tm.method[0] == ("paired-bootstrap CI, sign-flip p",) * 2
    assert tm.p_value[0, 0] == pytest.approx(_scipy_paired_p(dx, np.zeros(7)), abs=1e-12)
    assert tm.p_value[0, 1] == pytest.approx(_scipy_paired_p(dy, np.zeros(6)), abs=1e-12)
    null = []
    for code in range(2**13):
        e = np.array([1 - 2 * ((code >> k) & 1) for k in range(13)], dtype=float)
        null.append(0.25 * 1.0 * np.mean(e[:7] * dx) + 0.75 * 2.0 * np.mean(e[7:] * dy))
    obs = 0.25 * dx.mean() + 0.75 * 2.0 * dy.mean()
    assert tm.composite[0] == pytest.approx(obs)
    assert tm.composite_p_value[0] == pytest.approx(np.mean(np.abs(null) >= abs(obs) - 1e-12), abs=1e-12)


@pytest.mark.filterwarnings("ignore::lm_eval_mtl.errors.DegenerateDataWarning")  # relative transfer
def test_transfer_monte_carlo_p_values_are_deterministic_given_the_seed() -> None:
    from lm_eval_mtl.analysis.transfer import transfer_from_scores

    rng = np.random.default_rng(13)
    base = {"x": rng.random(60)}
    ck = {"s": {"x": base["x"] + rng.normal(0.02, 0.2, 60)}}
    one = transfer_from_scores(base, ck, n_resamples=300, rng=5)
    two = transfer_from_scores(base, ck, n_resamples=300, rng=5)
    assert one.p_value[0, 0] == two.p_value[0, 0] and one.composite_p_value[0] == two.composite_p_value[0]
    assert one.p_value[0, 0] == pytest.approx(
        paired_sign_flip_test(ck["s"]["x"] - base["x"], n_resamples=20_000, rng=1).p_value, abs=0.06
    )


# --------------------------------------------------------------------------- many columns at once


def test_column_p_values_equal_the_single_tests_when_exact() -> None:
    from lm_eval_mtl.stats.permutation import sign_flip_p_values

    rng = np.random.default_rng(21)
    d = rng.normal(0.2, 1.0, size=(12, 3))
    got = sign_flip_p_values(d)
    for j in range(3):
        assert got[j] == pytest.approx(_scipy_paired_p(d[:, j], np.zeros(12)), abs=1e-12)


def test_column_p_values_agree_with_references_in_monte_carlo() -> None:
    from lm_eval_mtl.stats.permutation import sign_flip_p_values

    rng = np.random.default_rng(22)
    cont = rng.normal(0.08, 1.0, size=300)
    binary = np.zeros(300)
    binary[:22], binary[22:40] = 1.0, -1.0  # 22 vs 18 discordant pairs: 0/1 differences (binomial path)
    binary[:60] = binary[rng.permutation(60)]
    got = sign_flip_p_values(np.column_stack([cont, binary]), n_resamples=20_000, rng=3)
    ref_cont = paired_sign_flip_test(cont, n_resamples=20_000, rng=4).p_value
    ref_bin = sps.binomtest(22, 40, 0.5).pvalue  # exact McNemar = the exact sign-flip test here
    assert got[0] == pytest.approx(ref_cont, abs=0.015)
    assert got[1] == pytest.approx(ref_bin, abs=0.015)


def test_composite_column_p_values_match_the_single_composite(
    wmt_chrf: tuple[CorpusStats, CorpusStats],
) -> None:
    from lm_eval_mtl.stats.permutation import composite_sign_flip_p_values

    nmt, pbmt = wmt_chrf
    rng = np.random.default_rng(23)
    d = rng.normal(0.05, 1.0, size=(40, 2))
    p = composite_sign_flip_p_values(
        [d, [(nmt, pbmt), (pbmt, nmt)]], [0.5, 0.5], [1.0, 0.05], n_resamples=6000, rng=1
    )
    for s, pair in enumerate([(nmt, pbmt), (pbmt, nmt)]):
        ref = composite_sign_flip_test([d[:, s], pair], [0.5, 0.5], [1.0, 0.05], n_resamples=6000, rng=2)
        assert p[s] == pytest.approx(ref.p_value, abs=0.03)


def test_column_functions_validate_their_inputs() -> None:
    from lm_eval_mtl.stats.permutation import composite_sign_flip_p_values, sign_flip_p_values

    with pytest.raises(ValueError, match=r"`d` must be an \(n_items >= 1, S >= 1\) array"):
        sign_flip_p_values(np.ones(5))
    with pytest.raises(ValueError, match=r"must have the same number of columns; got \[2, 3\]"):
        composite_sign_flip_p_values([np.ones((4, 2)), np.ones((4, 3))], [0.5, 0.5])
    with pytest.raises(
        ValueError, match=r"`task_diffs\[0\]` must hold \(CorpusStats of A, CorpusStats of B\) pairs"
    ):
        composite_sign_flip_p_values([[(1.0, 2.0)]], [1.0])
    with pytest.raises(ValueError, match=r"`task_diffs` must hold at least one task"):
        composite_sign_flip_p_values([], [])


def test_compare_runs_composite_p_is_the_exact_joint_randomization_test(tmp_path: Path) -> None:
    import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py

    from lm_eval_mtl.analysis.compare import compare_runs

    refs = ["the cat sat on the mat", "a dog ran far away", "we went home today", "it is a fine day"]
    hyp_a = ["the cat sat on a mat", "a dog ran away", "we went home today", "it is fine day"]
    hyp_b = ["a cat sat on mat", "the dog ran far away", "we go home", "it is a fine day"]
    va, vb = [0.9, 0.4, 0.7, 0.2, 0.6], [0.5, 0.5, 0.1, 0.1, 0.3]
    wa, wb = [3.0, 1.0, 2.0, 5.0, 4.0], [1.0, 1.5, 2.0, 2.0, 0.0]
    chrf = {h: sacrebleu.corpus_chrf(h, [refs]).score for h in (tuple(hyp_a), tuple(hyp_b))}
    for name, v, w_, h in (("A", va, wa, hyp_a), ("B", vb, wb, hyp_b)):
        fx.write_run(
            tmp_path / name,
            {
                "t1": fx.gen_task(v, metric="f1", filter="none"),
                "t2": fx.gen_task(w_, metric="score", filter="none"),
                "mt": fx.corpus_task(refs, h, aggregate=chrf[tuple(h)]),
            },
            model=f"org/{name}",
        )
    # chrF (0-100) beside 0-1 metrics without a suite: raw units must be asked for
    res = compare_runs([tmp_path / "A", tmp_path / "B"], units="raw", rng=0, n_resamples=200)
    pair = res.pairs[0]
    by = {t.task: t for t in pair.tasks}
    assert by["t1"].method == by["t2"].method == "paired-bootstrap CI, sign-flip p"
    assert by["mt"].method == "paired-bootstrap CI, randomization p"
    d1, d2 = np.subtract(va, vb), np.subtract(wa, wb)
    sa, sb = segment_stats("chrf", refs, hyp_a), segment_stats("chrf", refs, hyp_b)
    assert by["t1"].p_value == pytest.approx(_scipy_paired_p(np.array(va), np.array(vb)), abs=1e-12)
    w = np.array([res.weights[t] for t in ("t1", "t2", "mt")])
    # brute force over every swap of the 5 + 4 + 4 = 13 units that can change anything
    nz2 = d2[d2 != 0]
    diff_seg = [k for k in range(4) if not np.array_equal(sa.stats[k], sb.stats[k])]
    m = 5 + nz2.size + len(diff_seg)
    codes = (np.arange(2**m)[:, None] >> np.arange(m)) & 1
    e = 1.0 - 2.0 * codes
    t1 = e[:, :5] @ d1 / 5
    t2 = e[:, 5 : 5 + nz2.size] @ nz2 / 5
    swap = codes[:, 5 + nz2.size :].astype(float)
    x = sb.stats[diff_seg] - sa.stats[diff_seg]
    ta = sa.stats.sum(0) + swap @ x
    tb = sb.stats.sum(0) - swap @ x
    t3 = sa.score_totals(ta) - sb.score_totals(tb)
    null = w[0] * t1 + w[1] * t2 + w[2] * t3
    obs = w[0] * d1.mean() + w[1] * d2.mean() + w[2] * (chrf[tuple(hyp_a)] - chrf[tuple(hyp_b)])
    assert pair.composite.diff == pytest.approx(obs, rel=1e-9)
    assert pair.composite.method == "paired-bootstrap CI, sign-flip p"
    assert pair.composite.p_value == pytest.approx(np.mean(np.abs(null) >= abs(obs) - 1e-9), abs=1e-12)
    assert 0.01 < pair.composite.p_value < 0.99  # a non-trivial p (not the observed pattern alone, not 1)
