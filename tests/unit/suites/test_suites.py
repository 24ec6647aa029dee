"""Parsing of a suite's `metadata.mtl` block and lookup of shipped suites."""

from __future__ import annotations

from typing import Any

import pytest

from lm_eval_mtl.errors import UnknownNameError
from lm_eval_mtl.suites import SuiteSpec, SuiteSpecError, load_suite


def _meta(**member: Any) -> dict[str, Any]:
    m = {"task": "t1", "metric": "acc", "family": "f", "chance": 0.25}
    m.update(member)
    return {
        "version": 1.0,
        "mtl": {"members": [m, {"task": "t2", "metric": "chrf", "family": "g", "ceiling": 100}]},
    }


def test_members_parse_with_defaults() -> None:
    spec = SuiteSpec.from_metadata("mtl_x", _meta())
    assert spec.id == "mtl_x@1.0"
    assert spec.labels == ("t1", "t2")
    m1, m2 = spec.members
    assert (m1.filter, m1.ceiling, m1.output_type, m1.cluster, m1.overlap) == (
        "none",
        1.0,
        "multiple_choice",
        None,
        None,
    )
    assert m1.metric_key == "acc,none" and m1.stderr_key == "acc_stderr,none"
    assert (m2.chance, m2.ceiling) == (0.0, 100.0)
    assert spec.weights == "family" and spec.kind == "suite"


def test_overlap_key_defaults_to_the_task_and_can_be_shared() -> None:
    spec = SuiteSpec.from_metadata("mtl_x", _meta(overlap="gpqa"))
    assert spec.members[0].overlap_key == "gpqa"
    assert spec.members[1].overlap_key == "task:t2"


@pytest.mark.parametrize(
    ("member", "message"),
    [
        ({"overlap": ""}, r"member 't1' `overlap` must be a non-empty string or null; got ''"),
        ({"chance": 1.0}, r"member 't1' needs `ceiling` > `chance`; got chance=1.0, ceiling=1.0"),
        ({"chance": "half"}, r"member 't1' `chance` must be a finite number; got 'half'"),
        ({"output_type": "ranking"}, r"`output_type` must be one of multiple_choice, generate_until"),
        ({"weight": 2}, r"member 0 has unknown field\(s\) weight"),
    ],
)
def test_malformed_members_are_refused_naming_the_field(member: dict[str, Any], message: str) -> None:
    with pytest.raises(SuiteSpecError, match=message):
        SuiteSpec.from_metadata("mtl_x", _meta(**member))


def test_repeated_labels_are_refused() -> None:
    meta = _meta()
    meta["mtl"]["members"][1] = dict(meta["mtl"]["members"][0])
    with pytest.raises(SuiteSpecError, match=r"member labels must be unique; t1 repeat"):
        SuiteSpec.from_metadata("mtl_x", meta)


def test_a_missing_version_is_refused() -> None:
    meta = _meta()
    del meta["version"]
    with pytest.raises(SuiteSpecError, match=r"`metadata.version` is required"):
        SuiteSpec.from_metadata("mtl_x", meta)


def test_unknown_suite_names_close_matches() -> None:
    with pytest.raises(UnknownNameError, match=r"Unknown suite 'mtl_suit'\. Did you mean: mtl_suite"):
        load_suite("mtl_suit")


def test_shipped_v2_suite_marks_the_nested_gpqa_subsets_as_overlapping() -> None:
    spec = load_suite("mtl_openllm_v2")
    gpqa = [m for m in spec.members if m.family == "gpqa"]
    assert len(gpqa) == 3 and {m.overlap_key for m in gpqa} == {"gpqa"}
    ifeval = [m for m in spec.members if m.task == "leaderboard_ifeval"]
    assert len(ifeval) == 2 and ifeval[0].overlap_key == ifeval[1].overlap_key
