"""The affinity JSON and its loader; predicted beside measured transfer; tables; the options."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import kendalltau, spearmanr

from lm_eval_mtl import (
    AffinityMatrix,
    AffinityMeasure,
    InsufficientDataError,
    MTLError,
    ParameterInfo,
    ProjectionInfo,
    TaskGradient,
    affinity_tables,
    json_dumps,
    load_affinity,
    predicted_tables,
    predicted_transfer,
    render_table,
    transfer_from_scores,
)
from lm_eval_mtl.affinity.spec import AffinityOptions, ParameterSubset, check_options

TASKS = ("t0", "t1", "t2", "t3")


def _affinity(values: np.ndarray, tasks: tuple[str, ...] = TASKS) -> AffinityMatrix:
    shape = values.shape
    measure = AffinityMeasure(
        name="tag",
        value=values,
        ci_low=values - 0.1,
        ci_high=values + 0.1,
        reliability=np.full(shape, 0.8),
        matrix_reliability=0.7,
        formula="A[s,t]",
        interval="bootstrap",
    )
    cos = AffinityMeasure("cosine", values / 2, values, values, np.full(shape, math.nan), math.nan, "C", "b")
    return AffinityMatrix(
        sources=tasks,
        targets=tasks,
        measures={"cosine": cos, "tag": measure},
        tasks=tuple(TaskGradient(t, "multiple_choice", "choice_ce", 8, 0, 0.7, 1.0, 1.1, 0.9) for t in tasks),
        parameters=ParameterInfo("output head", 0, True, ("lm_head",), 100, 3.0, True),
        projection=ProjectionInfo("kronecker-gaussian", 64, 64, 0, (("lm_head", 8, 8),)),
        step=0.01,
        confidence_level=0.95,
        n_resamples=100,
        n_splits=10,
        seed=0,
        model="hf",
        model_args="pretrained=x",
        limit=8.0,
        lm_eval_version="0.4.13",
    )


def test_the_json_reads_back_into_the_same_matrix(tmp_path: Path) -> None:
    values = np.arange(16, dtype=float).reshape(4, 4) / 10
    aff = _affinity(values)
    (tmp_path / "affinity.json").write_text(json_dumps(aff.to_dict()), encoding="utf-8")
    back = load_affinity(tmp_path)  # the folder is enough
    assert back.sources == TASKS and set(back.measures) == {"cosine", "tag"}
    np.testing.assert_array_equal(back.measure("tag").value, values)
    assert math.isnan(back.measure("cosine").matrix_reliability)
    assert back.tasks == aff.tasks and back.parameters == aff.parameters and back.projection == aff.projection
    assert json_dumps(back.to_dict()) == json_dumps(aff.to_dict())
    with pytest.raises(MTLError, match="measure 'first_order' was not computed; computed: cosine, tag"):
        back.measure("first_order")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1, 2]", "must hold a JSON object"),
        ('{"kind": "x"}', "not an lm-eval-mtl affinity file"),
        ("{not json", "not valid JSON"),
        ('{"kind": "lm-eval-mtl/affinity", "schema": 1, "sources": ["a"], "targets": ["a"], "measures": {"tag": {"value": [[1, 2]]}}}',
         r"`measures.tag.value`: must have shape \(1, 1\)"),
    ],
)  # fmt: skip
def test_a_bad_affinity_file_is_refused_with_its_name_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(MTLError, match=message):
        load_affinity(path)
    with pytest.raises(MTLError, match="does not exist"):
        load_affinity(tmp_path / "missing.json")


def _measured(delta: np.ndarray) -> object:
    rng = np.random.default_rng(0)
    n = 400
    base = {t: rng.random(n) for t in TASKS}
    checkpoints = {s: {t: base[t] + delta[i, j] for j, t in enumerate(TASKS)} for i, s in enumerate(TASKS)}
    return transfer_from_scores(base, checkpoints, n_resamples=50, rng=1)


def test_rank_agreement_is_scipys_over_the_matched_off_diagonal_cells() -> None:
    rng = np.random.default_rng(4)
    delta = rng.normal(0, 0.05, (4, 4))
    predicted = delta + rng.normal(0, 0.02, (4, 4))
    tm = _measured(delta)
    pt = predicted_transfer(tm, _affinity(predicted), n_resamples=100, rng=0)  # type: ignore[arg-type]
    off = ~np.eye(4, dtype=bool)
    assert len(pt.cells) == 12 and ("t0", "t0") not in pt.cells
    tag = next(a for a in pt.agreements if a.measure == "tag")
    assert tag.spearman == pytest.approx(spearmanr(predicted[off], delta[off]).statistic)
    assert tag.kendall == pytest.approx(kendalltau(predicted[off], delta[off]).statistic)
    assert tag.spearman_ci.low <= tag.spearman <= tag.spearman_ci.high
    text = "\n".join(render_table(t, "md") for t in predicted_tables(pt))
    assert "Predicted (gradient affinity) vs measured transfer" in text
    record = json.loads(json_dumps(pt.to_dict()))
    assert {r["measure"] for r in record["agreement"]} == {"cosine", "tag"}


def test_matrices_sharing_too_few_cells_are_refused() -> None:
    tm = _measured(np.full((4, 4), 0.01))
    other = _affinity(np.eye(2), ("t0", "x9"))
    with pytest.raises(
        InsufficientDataError, match=r"only 0 off-diagonal \(source, target\) cell.*Affinity tasks: t0, x9"
    ):
        predicted_transfer(tm, other)  # type: ignore[arg-type]


def test_tables_render_in_every_format() -> None:
    aff = _affinity(np.eye(4))
    tables = affinity_tables(aff)
    assert [t.title for t in tables][:2] == [
        "Gradient cosine C[source, target]",
        "TAG lookahead A[source, target] = 1 - L_t(theta - eta g_s) / L_t(theta)",
    ]
    for fmt in ("table", "md", "latex", "csv"):
        assert "t3" in render_table(tables[0], fmt)  # type: ignore[arg-type]
    assert "not transfer after fine-tuning" in tables[0].caption


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            AffinityOptions(parameters=ParameterSubset(blocks=-1)),
            "`blocks` must be a non-negative integer; got -1",
        ),
        (AffinityOptions(parameters=ParameterSubset(blocks=0, head=False)), "the parameter subset is empty"),
        (AffinityOptions(proj_dim=0), "`proj_dim` must be a positive integer; got 0"),
        (AffinityOptions(step=1.5), r"`step` must be a number in \(0, 1\]; got 1.5"),
        (AffinityOptions(lookahead="second"), "`lookahead` must be one of exact, first-order"),  # type: ignore[arg-type]
        (AffinityOptions(confidence_level=1.0), r"`confidence_level` must be in \(0, 1\)"),
        (AffinityOptions(n_splits=0), "`n_splits` must be a positive integer"),
    ],
)
def test_bad_options_are_refused_before_any_work(options: AffinityOptions, message: str) -> None:
    with pytest.raises(MTLError, match=message):
        check_options(options)
