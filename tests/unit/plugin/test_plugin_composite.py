"""The composite added to mtl groups, against hand computations."""

from __future__ import annotations

import logging
import math
import sys
import types
from typing import Any

import pytest

from lm_eval_mtl.errors import MissingMetricError, MissingTaskError, MTLError, UnknownNameError
from lm_eval_mtl.plugin.composite import (
    COMPOSITE_KEY,
    COMPOSITE_STDERR_KEY,
    LEADERBOARD_KEY,
    aggregate_with_composite,
    group_composite,
)
from lm_eval_mtl.suites import SuiteSpec, SuiteSpecError

MEMBERS = [
    {"task": "t_mc2", "metric": "acc", "chance": 0.5, "family": "cls"},
    {"task": "t_mc4", "metric": "acc", "chance": 0.25, "family": "cls"},
    {
        "task": "t_gen",
        "metric": "exact_match",
        "filter": "strict",
        "chance": 0.0,
        "family": "qa",
        "output_type": "generate_until",
    },
    {
        "task": "t_mt",
        "metric": "chrf",
        "chance": 0.0,
        "ceiling": 100.0,
        "family": "mt",
        "output_type": "generate_until",
    },
]


def _meta(weights: str = "family", members: Any = None, **extra: Any) -> dict[str, Any]:
    return {
        "version": 2.0,
        "mtl": {"schema": 1, "kind": "suite", "weights": weights, "members": members or MEMBERS, **extra},
    }


METRICS: dict[str, dict[str, Any]] = {
    "t_mc2": {"acc,none": 0.75, "acc_stderr,none": 0.04, "sample_len": 100},
    "t_mc4": {"acc,none": 0.40, "acc_stderr,none": 0.05, "sample_len": 50},
    "t_gen": {
        "exact_match,strict": 0.30,
        "exact_match_stderr,strict": 0.02,
        "sample_len": 200,
        "exact_match,none": 0.9,
    },
    "t_mt": {"chrf,none": 45.0, "chrf_stderr,none": 1.5, "sample_len": 150},
}


def test_family_composite_matches_hand_computation() -> None:
    spec = SuiteSpec.from_metadata("g", _meta())
    got = group_composite(spec, METRICS)
    # z by hand: (0.75-.5)/.5=0.5, (0.40-.25)/.75=0.2, 0.30, 0.45
    # family weights: cls 1/3 split in two, qa 1/3, mt 1/3
    w = [1 / 6, 1 / 6, 1 / 3, 1 / 3]
    z = [0.5, 0.2, 0.3, 0.45]
    se = [0.04 / 0.5, 0.05 / 0.75, 0.02, 1.5 / 100]
    assert got.value == pytest.approx(sum(a * b for a, b in zip(w, z, strict=False)), abs=1e-12)
    assert got.stderr == pytest.approx(
        math.sqrt(sum((a * s) ** 2 for a, s in zip(w, se, strict=False))), abs=1e-12
    )
    assert dict(got.normalized) == pytest.approx(dict(zip([m["task"] for m in MEMBERS], z, strict=False)))
    assert got.sizes == {"t_mc2": 100, "t_mc4": 50, "t_gen": 200, "t_mt": 150}
    assert got.leaderboard_average is None


def test_size_weights_use_lm_eval_sample_len() -> None:
    spec = SuiteSpec.from_metadata("g", _meta("size"))
    got = group_composite(spec, METRICS)
    n = [100, 50, 200, 150]
    z = [0.5, 0.2, 0.3, 0.45]
    assert got.value == pytest.approx(sum(a * b for a, b in zip(n, z, strict=False)) / sum(n), abs=1e-12)


def test_missing_metric_names_group_task_key_and_what_the_task_has() -> None:
    spec = SuiteSpec.from_metadata("my_suite", _meta())
    metrics = dict(METRICS)
    metrics["t_gen"] = {"exact_match,none": 0.3, "exact_match_stderr,none": 0.01, "sample_len": 5}
    with pytest.raises(
        MissingMetricError,
        match=r"group 'my_suite': task 't_gen' has no metric "
        r"'exact_match,strict'; it has: exact_match,none\.",
    ):
        group_composite(spec, metrics)


def test_missing_task_is_an_error_not_a_partial_composite() -> None:
    spec = SuiteSpec.from_metadata("my_suite", _meta())
    metrics = {k: v for k, v in METRICS.items() if k != "t_mt"}
    with pytest.raises(MissingTaskError, match=r"group 'my_suite': member task 't_mt' has no results"):
        group_composite(spec, metrics)


@pytest.mark.parametrize("bad", [float("nan"), "N/A", None])
def test_non_finite_metric_is_an_error(bad: Any) -> None:
    spec = SuiteSpec.from_metadata("g", _meta())
    metrics = dict(METRICS)
    metrics["t_mc2"] = {"acc,none": bad, "sample_len": 3}
    with pytest.raises(MTLError, match=r"task 't_mc2' metric 'acc,none' must be a finite number"):
        group_composite(spec, metrics)


def test_unknown_stderr_gives_nan_composite_stderr() -> None:
    spec = SuiteSpec.from_metadata("g", _meta())
    metrics = dict(METRICS)
    metrics["t_mt"] = {"chrf,none": 45.0, "chrf_stderr,none": "N/A", "sample_len": 150}
    got = group_composite(spec, metrics)
    assert math.isnan(got.stderr)
    assert math.isfinite(got.value)


def test_unknown_leaderboard_is_refused() -> None:
    spec = SuiteSpec.from_metadata("g", _meta(leaderboard="openllm_v9"))
    with pytest.raises(UnknownNameError, match=r"Unknown leaderboard of group 'g' 'openllm_v9'.*openllm_v2"):
        group_composite(spec, METRICS)


def test_leaderboard_average_is_computed_from_raw_values(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Any] = []
    fake = types.ModuleType("lm_eval_mtl.scoring.leaderboard")

    def openllm_v2_average(spec: SuiteSpec, values: Any, sizes: Any = None) -> float:
        calls.append((spec.name, dict(values), dict(sizes)))
        return 42.5

    fake.openllm_v2_average = openllm_v2_average  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "lm_eval_mtl.scoring.leaderboard", fake)
    spec = SuiteSpec.from_metadata("g", _meta(leaderboard="openllm_v2"))
    got = group_composite(spec, METRICS)
    assert got.leaderboard_average == 42.5
    assert calls == [
        (
            "g",
            {"t_mc2": 0.75, "t_mc4": 0.40, "t_gen": 0.30, "t_mt": 45.0},
            {"t_mc2": 100, "t_mc4": 50, "t_gen": 200, "t_mt": 150},
        )
    ]


def test_missing_leaderboard_module_skips_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "lm_eval_mtl.scoring.leaderboard", None)
    spec = SuiteSpec.from_metadata("g", _meta(leaderboard="openllm_v2"))
    with caplog.at_level(logging.WARNING, logger="lm_eval_mtl.plugin"):
        got = group_composite(spec, METRICS)
    assert got.leaderboard_average is None
    assert any("leaderboard average skipped" in r.getMessage() for r in caplog.records)


# ----------------------------------------------------------------- inside lm-eval's Group


def _lm_eval_group(metadata: dict[str, Any]) -> Any:
    from lm_eval.api.group import Group
    from lm_eval.config.group import AggMetricConfig

    return Group(
        name="my_suite",
        alias="My suite",
        aggregate_metric_list=[AggMetricConfig(metric="mtl_composite", filter_list=["none"])],
        metadata=metadata,
    )


def _original_aggregate() -> Any:
    from lm_eval.api.group import Group

    return getattr(Group.aggregate, "__wrapped__", Group.aggregate)


def test_lm_eval_group_gets_composite_keys_and_no_missing_value_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    group = _lm_eval_group(_meta())
    with caplog.at_level(logging.WARNING):
        out = aggregate_with_composite(group, METRICS, _original_aggregate())
    expected = group_composite(SuiteSpec.from_metadata("my_suite", _meta()), METRICS)
    assert out[COMPOSITE_KEY] == expected.value
    assert out[COMPOSITE_STDERR_KEY] == expected.stderr
    assert out["alias"] == "My suite"
    assert out["sample_len"] == 500
    assert LEADERBOARD_KEY not in out
    assert not [r for r in caplog.records if "no values found" in r.getMessage()]
    # The pseudo-entry is restored: lm-eval still lists the group in its Groups table.
    assert group.has_aggregation
    assert [a.metric for a in group.aggregate_metric_list] == ["mtl_composite"]


def test_lm_eval_group_with_unknown_stderr_reports_na() -> None:
    metrics = dict(METRICS)
    metrics["t_mc4"] = {"acc,none": 0.4, "acc_stderr,none": "N/A", "sample_len": 50}
    out = aggregate_with_composite(_lm_eval_group(_meta()), metrics, _original_aggregate())
    assert out[COMPOSITE_STDERR_KEY] == "N/A"


def test_lm_eval_group_with_bad_spec_raises_and_restores_its_list() -> None:
    group = _lm_eval_group({"version": 1, "mtl": {"schema": 1, "members": []}})
    with pytest.raises(
        SuiteSpecError, match=r"group 'my_suite': `metadata.mtl.members` must be a non-empty list"
    ):
        aggregate_with_composite(group, METRICS, _original_aggregate())
    assert group.has_aggregation


def test_installed_wrapper_aggregates_an_mtl_group_through_lm_eval() -> None:
    from lm_eval.api.group import Group

    if not getattr(Group.aggregate, "__lm_eval_mtl_wrapped__", False):
        pytest.skip("start-up hook not active in this session")
    out = _lm_eval_group(_meta()).aggregate(METRICS)
    assert COMPOSITE_KEY in out
    plain = Group(name="plain", metadata={"version": 1})
    assert plain.aggregate(METRICS) == {"alias": "plain", "name": "plain"}


def test_members_sharing_items_add_their_errors_as_correlated() -> None:
    # two metrics of one task (as IFEval on the Open LLM Leaderboard v2) and two nested subsets
    # marked with one `overlap` key (as GPQA diamond inside main)
    members = [
        {"task": "t_if", "metric": "inst", "chance": 0.0, "family": "if", "label": "t_if:inst"},
        {"task": "t_if", "metric": "prompt", "chance": 0.0, "family": "if", "label": "t_if:prompt"},
        {"task": "t_sub", "metric": "acc", "chance": 0.25, "family": "mc", "overlap": "nested"},
        {"task": "t_all", "metric": "acc", "chance": 0.25, "family": "mc", "overlap": "nested"},
    ]
    metrics = {
        "t_if": {"inst,none": 0.6, "inst_stderr,none": 0.02, "prompt,none": 0.5, "prompt_stderr,none": 0.03},
        "t_sub": {"acc,none": 0.4, "acc_stderr,none": 0.05, "sample_len": 100},
        "t_all": {"acc,none": 0.45, "acc_stderr,none": 0.02, "sample_len": 400},
    }
    spec = SuiteSpec.from_metadata("mtl_overlap", _meta(weights="equal", members=members))
    got = group_composite(spec, metrics)
    w = 0.25
    se_if = w * 0.02 + w * 0.03
    se_mc = w * 0.05 / 0.75 + w * 0.02 / 0.75
    assert got.stderr == pytest.approx(math.sqrt(se_if**2 + se_mc**2))
    independent = math.sqrt(sum((w * s) ** 2 for s in (0.02, 0.03, 0.05 / 0.75, 0.02 / 0.75)))
    assert got.stderr > independent
