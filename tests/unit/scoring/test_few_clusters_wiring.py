"""Few clusters through the pipeline: warned and t-based at 4-19, refused below 4 unless insisted on."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import numpy as np
import pytest
from score_runs import write_run  # tests/data

from lm_eval_mtl.analysis.compare import compare_runs
from lm_eval_mtl.errors import FewClustersError, FewClustersWarning
from lm_eval_mtl.io import load_run
from lm_eval_mtl.scoring.composite import score_run
from lm_eval_mtl.stats.clusters import t_critical
from lm_eval_mtl.stats.intervals import normal_interval
from lm_eval_mtl.suites import MemberSpec, SuiteSpec


def _run(tmp_path: Path, n_clusters: int, n: int = 60, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    correct = (rng.random(n) < 0.6).astype(int).tolist()
    docs = [{"question": f"q{i}", "passage": f"p{i % n_clusters}"} for i in range(n)]
    return fx.write_run(tmp_path, {"rc": fx.mc_task(correct, 2, docs=docs)})


SUITE = SuiteSpec(
    name="mtl_fc",
    version="1.0",
    kind="suite",
    members=(MemberSpec("rc", "acc", "none", 0.5, 1.0, "rc", cluster="passage"),),
    weights="equal",
)


def test_six_clusters_warn_and_use_t_quantiles(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path, 6))
    with pytest.warns(FewClustersWarning, match=r"member 'rc' clustered on 'passage': only 6 clusters"):
        c = score_run(run, SUITE, method="analytic")
    (t,) = c.tasks
    assert t.n_clusters == 6 and t.interval_kind == "t"
    lo, hi = t.confidence_interval(0.95)
    nlo, nhi = normal_interval(t.normalized, t.se, 0.95)
    assert (hi - lo) / (nhi - nlo) == pytest.approx(t_critical(5) / 1.959963984540054, rel=1e-9)
    # the analytic composite of one clustered member: the same t(5) interval
    assert c.ci.high - c.ci.low == pytest.approx(hi - lo, rel=1e-9)
    assert any("Satterthwaite" in n for n in c.notes)


def test_three_clusters_are_refused_unless_insisted_on(tmp_path: Path) -> None:
    run = load_run(_run(tmp_path, 3))
    with pytest.raises(FewClustersError, match=r"only 3 clusters; at least 4 are needed.*allow_few_clusters"):
        score_run(run, SUITE, method="analytic")
    with pytest.warns(FewClustersWarning, match="only 3 clusters"):
        c = score_run(run, SUITE, method="analytic", allow_few_clusters=True)
    assert c.tasks[0].df == 2.0


def test_compare_with_few_clusters_uses_the_wild_cluster_bootstrap(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    n, g = 120, 6
    docs = [{"passage": f"p{i % g}"} for i in range(n)]
    a = (rng.random(n) < 0.7).astype(float)
    b = (rng.random(n) < 0.5).astype(float)
    write_run(tmp_path / "A", "a", {"t": {"scores": a, "docs": docs}})
    write_run(tmp_path / "B", "b", {"t": {"scores": b, "docs": docs}})
    with pytest.warns(FewClustersWarning):
        res = compare_runs(
            [tmp_path / "A", tmp_path / "B"], clusters={"t": "passage"}, rng=0, n_resamples=500
        )
    (t,) = res.pairs[0].tasks
    assert t.method == "wild cluster bootstrap CI and p"
    assert t.n_clusters == g
    # Webb's six-point weights, every pattern enumerated: the smallest attainable p is 6^(1-G)
    assert t.min_p_value == pytest.approx(6.0 ** (1 - g))
    assert t.p_value >= t.min_p_value
    assert t.ci.low < t.diff < t.ci.high
    assert json.loads(json.dumps(res.to_dict()))["pairs"][0]["tasks"][0]["min_p_value"] == t.min_p_value


def test_chembench_three_difficulty_strata_are_refused_then_honest(tmp_path: Path, shared_data: Path) -> None:
    base = shared_data / "items" / "chembench"
    if not (base / "binary_matrix.csv").is_file():
        pytest.skip(f"chembench items not available at {base}")
    with (base / "binary_matrix.csv").open(encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    names = rows[0][1:]
    x = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    strata = json.loads((base / "difficulty_dict.json").read_text())
    level = {int(i): k for k, items in strata.items() for i in items}
    keep = [i for i in range(x.shape[0]) if i in level]
    docs = [{"difficulty": level[i]} for i in keep]
    ia, ib = names.index("GPT-4o"), names.index("Claude-3.5 (Sonnet)")
    write_run(tmp_path / "A", "a", {"chem": {"scores": x[keep, ia], "docs": docs}})
    write_run(tmp_path / "B", "b", {"chem": {"scores": x[keep, ib], "docs": docs}})
    runs = [tmp_path / "A", tmp_path / "B"]
    with pytest.raises(FewClustersError, match=r"only 3 clusters"):
        compare_runs(runs, clusters={"chem": "difficulty"}, rng=0, n_resamples=500)
    with pytest.warns(FewClustersWarning):
        res = compare_runs(
            runs, clusters={"chem": "difficulty"}, allow_few_clusters=True, rng=0, n_resamples=500
        )
    (t,) = res.pairs[0].tasks
    # 3 clusters: the interval is not the narrow [0.000, 0.0175] of the pairs bootstrap, and p cannot be small
    assert t.ci.high - t.ci.low > 0.05 or math.isinf(t.ci.high - t.ci.low)
    assert t.min_p_value is not None and t.min_p_value >= 6.0**-2
