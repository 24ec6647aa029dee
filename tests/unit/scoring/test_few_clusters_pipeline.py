"""Few clusters through the pipeline: the wild cluster bootstrap-t on every bootstrap path.

score_run (report), compare_runs and transfer switch from the pairs cluster bootstrap to the
wild cluster bootstrap-t below 20 clusters; the simulations (tests/data/cluster_sim.py, the
full version in bench/validate_clusters_pipeline.py) check coverage and null rejection with a
known truth.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import cluster_sim as cs  # tests/data
import numpy as np
import pytest

from lm_eval_mtl.analysis.transfer import transfer_from_scores
from lm_eval_mtl.errors import FewClustersWarning
from lm_eval_mtl.io import load_run
from lm_eval_mtl.report.render import headline
from lm_eval_mtl.scoring.composite import score_run
from lm_eval_mtl.stats.clusters import t_critical
from lm_eval_mtl.stats.paired import WILD


def _one_run(tmp_path: Path, g: int, seed: int = 0) -> Path:
    gen = np.random.default_rng(seed)
    labels = [np.repeat(np.arange(g), gen.integers(5, 16, size=g)) for _ in range(4)]
    probs = [gen.beta(1.4, 0.6, size=g) for _ in range(4)]
    return cs._write(tmp_path / "run", "m", labels, probs, gen)


def test_bootstrap_path_uses_the_wild_cluster_bootstrap_below_20_clusters(tmp_path: Path) -> None:
    run = load_run(_one_run(tmp_path, 6))
    with pytest.warns(FewClustersWarning, match="only 6 clusters"):
        c = score_run(run, cs.suite(), rng=0, n_resamples=999)
    assert c.method == "wild"
    assert {t.resample for t in c.tasks} == {"wild cluster"}
    assert any("wild cluster bootstrap-t" in n and "t0 (6)" in n for n in c.notes)
    assert "wild cluster bootstrap-t" in headline(c)
    lo90, hi90 = c.confidence_interval(0.90)
    assert c.ci.low < lo90 < c.value < hi90 < c.ci.high
    # seeded: the same interval again
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        again = score_run(run, cs.suite(), rng=0, n_resamples=999)
    assert again.ci == c.ci


def test_twenty_clusters_keep_the_pairs_cluster_bootstrap(tmp_path: Path) -> None:
    c = score_run(load_run(_one_run(tmp_path, 20)), cs.suite(), rng=0, n_resamples=999)
    assert c.method == "percentile"
    assert {t.resample for t in c.tasks} == {"cluster"}


def test_analytic_t_interval_at_another_level_keeps_its_degrees_of_freedom(tmp_path: Path) -> None:
    run = load_run(_one_run(tmp_path, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        c = score_run(run, cs.suite(), method="analytic")
    width95 = c.ci.high - c.ci.low
    lo, hi = c.confidence_interval(0.80)
    ratio = (hi - lo) / width95
    # one df for both levels: the ratio of t quantiles, not of normal ones (1.2816 / 1.96)
    df = next(float(n.split(" on ")[1].split(" degrees")[0]) for n in c.notes if "degrees of freedom" in n)
    assert ratio == pytest.approx(t_critical(df, 0.80) / t_critical(df, 0.95), rel=1e-2)
    assert abs(ratio - 1.2815515655446004 / 1.959963984540054) > 0.01


def test_composite_coverage_with_five_clusters_per_member(tmp_path: Path) -> None:
    """Fast seeded version of bench/validate_clusters_pipeline.py (ICC 0.33, G = 5; MC sd 0.015)."""
    h = cs.coverage(tmp_path, 5, 0.33, 200, seed=11, n_resamples=999)
    assert h.method == "wild"
    assert 0.90 <= h.bootstrap / h.reps <= 0.99
    assert 0.90 <= h.analytic / h.reps <= 0.99


def test_null_clustered_comparisons_hold_their_level(tmp_path: Path) -> None:
    r = cs.null_rejection(tmp_path, 5, 0.33, 80, seed=12, n_resamples=999)
    assert r.method == "wild cluster bootstrap CI, sign-flip p"
    assert r.composite / r.reps <= 0.125
    assert r.composite_ci / r.reps <= 0.125
    assert r.task / r.reps <= 0.125


def test_transfer_cells_and_composite_use_the_wild_bootstrap_with_few_clusters() -> None:
    gen = np.random.default_rng(3)
    g = 6
    lab = np.repeat(np.arange(g), 12)
    p0 = gen.beta(1.4, 0.6, size=g)
    base = {t: (gen.random(lab.size) < p0[lab]).astype(float) for t in ("x", "y")}
    ck = {
        s: {t: (gen.random(lab.size) < np.minimum(1, p0[lab] + 0.1)).astype(float) for t in ("x", "y")}
        for s in ("x", "y")
    }
    few = transfer_from_scores(base, ck, clusters={"x": lab, "y": lab}, rng=0, n_resamples=999)
    assert few.method == ((WILD, WILD), (WILD, WILD))
    many_lab = np.arange(lab.size)  # every item its own cluster: the pairs bootstrap again
    many = transfer_from_scores(base, ck, clusters={"x": many_lab, "y": many_lab}, rng=0, n_resamples=999)
    assert WILD not in many.method[0]
    # the few-cluster composite interval is wider than the item-level one
    assert (few.composite_ci_high - few.composite_ci_low)[0] > (
        many.composite_ci_high - many.composite_ci_low
    )[0]
