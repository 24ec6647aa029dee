"""Open LLM Leaderboard recipes, checked by hand and against the published v1/v2 averages."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import pytest

from lm_eval_mtl.errors import MissingTaskError, MTLError
from lm_eval_mtl.scoring.leaderboard import (
    clipped_normalized,
    openllm_v1_average,
    openllm_v2_average,
    openllm_v2_score,
)
from lm_eval_mtl.suites import MemberSpec, SuiteSpec


def _m(task: str, family: str, chance: float, metric: str = "acc_norm", label: str = "") -> MemberSpec:
    return MemberSpec(
        task=task, metric=metric, filter="none", chance=chance, ceiling=1.0, family=family, label=label
    )


# lm-eval-shaped miniature of mtl_openllm_v2: real leaderboard task names, fewer subtasks.
SPEC = SuiteSpec(
    name="mini_v2",
    version="1.0",
    kind="suite",
    members=(
        _m("leaderboard_ifeval", "ifeval", 0.0, "inst_level_strict_acc", "ifeval:inst"),
        _m("leaderboard_ifeval", "ifeval", 0.0, "prompt_level_strict_acc", "ifeval:prompt"),
        _m("leaderboard_bbh_navigate", "bbh", 1 / 2),
        _m("leaderboard_bbh_disambiguation_qa", "bbh", 1 / 3),
        _m("leaderboard_math_algebra_hard", "math", 0.0, "exact_match"),
        _m("leaderboard_math_geometry_hard", "math", 0.0, "exact_match"),
        _m("leaderboard_gpqa_main", "gpqa", 0.25),
        _m("leaderboard_gpqa_diamond", "gpqa", 0.25),
        _m("leaderboard_musr_murder_mysteries", "musr", 1 / 2),
        _m("leaderboard_musr_object_placements", "musr", 1 / 5),
        _m("leaderboard_musr_team_allocation", "musr", 1 / 3),
        _m("leaderboard_mmlu_pro", "mmlu_pro", 0.1, "acc"),
    ),
)
VALUES = {
    "ifeval:inst": 0.60,
    "ifeval:prompt": 0.50,
    "leaderboard_bbh_navigate": 0.62,
    "leaderboard_bbh_disambiguation_qa": 0.30,
    "leaderboard_math_algebra_hard": 0.20,
    "leaderboard_math_geometry_hard": 0.05,
    "leaderboard_gpqa_main": 0.30,
    "leaderboard_gpqa_diamond": 0.20,
    "leaderboard_musr_murder_mysteries": 0.55,
    "leaderboard_musr_object_placements": 0.44,
    "leaderboard_musr_team_allocation": 0.50,
    "leaderboard_mmlu_pro": 0.37,
}
SIZES = {
    "leaderboard_math_algebra_hard": 300,
    "leaderboard_math_geometry_hard": 100,
    "leaderboard_gpqa_main": 400,
    "leaderboard_gpqa_diamond": 200,
}

# By hand, from the published recipe:
IFEVAL = (60.0 + 50.0) / 2  # mean of inst and prompt strict acc, x100 = 55
BBH = ((0.62 - 0.5) / 0.5 * 100 + 0.0) / 2  # navigate 24; disambiguation 0.30 < 1/3 -> clipped 0; = 12
MATH = (0.20 * 300 + 0.05 * 100) / 400 * 100  # size-weighted exact match = 0.1625 -> 16.25
GPQA = (
    ((0.30 * 400 + 0.20 * 200) / 600 - 0.25) / 0.75 * 100
)  # pooled 0.26667 -> (1/60)/(3/4) = 1/45 -> 2.2222
MUSR = (10.0 + 30.0 + 25.0) / 3  # (.55-.5)/.5=.1; (.44-.2)/.8=.3; (.5-1/3)/(2/3)=.25 -> 21.667
MMLU_PRO = (0.37 - 0.1) / 0.9 * 100  # 30
AVERAGE = (IFEVAL + BBH + MATH + GPQA + MUSR + MMLU_PRO) / 6


def test_hand_computed_benchmarks_and_average() -> None:
    got = openllm_v2_score(SPEC, VALUES, SIZES)
    assert got.benchmark("ifeval").normalized == pytest.approx(55.0)
    assert got.benchmark("bbh").normalized == pytest.approx(12.0)
    assert got.benchmark("math").normalized == pytest.approx(16.25)
    assert got.benchmark("gpqa").normalized == pytest.approx(100 / 45)
    assert got.benchmark("musr").normalized == pytest.approx(65 / 3)
    assert got.benchmark("mmlu_pro").normalized == pytest.approx(30.0)
    assert got.average == pytest.approx((55 + 12 + 16.25 + 100 / 45 + 65 / 3 + 30) / 6)
    assert got.average == pytest.approx(AVERAGE)
    assert openllm_v2_average(SPEC, VALUES, SIZES) == got.average
    assert got.benchmark("math").method == "pooled"
    assert got.benchmark("bbh").method == "per_subtask"
    assert [b.family for b in got.benchmarks] == ["ifeval", "bbh", "math", "gpqa", "musr", "mmlu_pro"]


def test_pooled_family_clips_after_pooling_not_per_subtask() -> None:
    # GPQA diamond alone (0.20) is below chance; pooled with main it is above: the
    # leaderboard clips the group value, so diamond's clipped 0 must not enter.
    got = openllm_v2_score(SPEC, VALUES, SIZES).benchmark("gpqa")
    assert got.member_normalized["leaderboard_gpqa_diamond"] == 0.0
    assert got.normalized > 0.0


def test_missing_member_named() -> None:
    values = {k: v for k, v in VALUES.items() if k not in ("leaderboard_mmlu_pro", "ifeval:inst")}
    with pytest.raises(MissingTaskError, match="lacks ifeval:inst, leaderboard_mmlu_pro"):
        openllm_v2_average(SPEC, values, SIZES)


def test_pooled_family_without_sizes_raises() -> None:
    with pytest.raises(MTLError, match="`sizes` lacks the item count of leaderboard_math_algebra_hard"):
        openllm_v2_average(SPEC, VALUES)


@pytest.mark.parametrize(
    "bad, match", [(62.0, "Pass raw metrics"), (math.nan, "finite number"), (-0.1, r"\[0, 1\]")]
)
def test_bad_value_raises(bad: float, match: str) -> None:
    with pytest.raises(MTLError, match=match):
        openllm_v2_average(SPEC, {**VALUES, "leaderboard_mmlu_pro": bad}, SIZES)


def test_clipped_normalized() -> None:
    assert clipped_normalized(0.1, 0.25) == 0.0
    assert clipped_normalized(0.625, 0.25) == pytest.approx(50.0)
    assert clipped_normalized(40.0, 0.0, 100.0) == pytest.approx(40.0)
    with pytest.raises(MTLError, match="`ceiling` must exceed `chance`"):
        clipped_normalized(0.5, 0.5, 0.5)


def test_shipped_v2_suite_gives_six_benchmarks() -> None:
    from lm_eval_mtl.suites import load_suite

    spec = load_suite("mtl_openllm_v2")
    values = {label: 0.5 for label in spec.labels}
    sizes = {m.label: 100 for m in spec.members}
    got = openllm_v2_score(spec, values, sizes)
    assert len(got.benchmarks) == 6
    # every subtask at 0.5: MATH and IFEval (chance 0) are 50; MMLU-Pro (0.5-0.1)/0.9
    assert got.benchmark("math").normalized == pytest.approx(50.0)
    assert got.benchmark("mmlu_pro").normalized == pytest.approx(40 / 0.9)


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_v2_published_average_is_plain_mean_of_six(shared_data: Path) -> None:
    path = shared_data / "panels" / "openllm_v2" / "open-llm-leaderboard-v2_normalized.csv"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    cols = {
        "IFEval": "ifeval",
        "BBH": "bbh",
        "MATH Lvl 5": "math",
        "GPQA": "gpqa",
        "MUSR": "musr",
        "MMLU-PRO": "mmlu_pro",
    }
    # the panel holds normalized benchmark scores: one member per benchmark, chance 0
    spec = SuiteSpec(
        name="v2_normalized",
        version="1",
        kind="suite",
        members=tuple(_m(f"col_{k}", k, 0.0, label=k) for k in cols.values()),
    )
    rows = _rows(path)
    assert len(rows) == 729
    worst = 0.0
    for row in rows:
        got = openllm_v2_average(spec, {key: float(row[col]) / 100 for col, key in cols.items()})
        worst = max(worst, abs(got - float(row["Average ⬆️"])))
    assert worst <= 0.01


def test_v1_published_average_is_plain_mean_of_six(shared_data: Path) -> None:
    path = shared_data / "panels" / "openllm_v1" / "open-llm-leaderboard_old.csv"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    cols = ["ARC", "HellaSwag", "MMLU", "TruthfulQA", "Winogrande", "GSM8K"]
    worst = 0.0
    for row in _rows(path):
        got = openllm_v1_average({c: float(row[c]) / 100 for c in cols})
        worst = max(worst, abs(got - float(row["Average ⬆️"])))
    assert worst <= 0.01
