"""Profiles: parsing, validation messages, presets and transfer rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lm_eval_mtl.errors import UnknownNameError
from lm_eval_mtl.sim.profile import SimProfileError, builtin_profile, load_profile, parse_profile


def test_demo_profile_covers_the_demo_suite_tasks(repo_root: Path) -> None:
    from lm_eval_mtl.suites import load_suite

    prof = builtin_profile("demo")
    spec = load_suite("mtl_demo", root=repo_root / "task_configs")
    assert set(spec.tasks) <= set(prof.tasks)
    # families of the profile agree with the suite's, so ft_<task> transfers within a family
    for m in spec.members:
        assert prof.family(m.task) == m.family


def test_unlisted_task_gets_the_default_parameters() -> None:
    prof = parse_profile({"default": {"ability": 0.7}, "tasks": {"a": {"ability": -1.0}}})
    assert prof.task("unknown_task").ability == 0.7
    assert prof.task("a").ability == -1.0
    # a listed task inherits the default's other fields
    assert prof.task("a").discrimination == prof.default.discrimination


def test_transfer_rules_and_explicit_rows() -> None:
    prof = parse_profile(
        {
            "tasks": {"a": {"family": "f"}, "b": {"family": "f"}, "c": {"family": "g"}},
            "transfer_rules": {"in_task": 2.0, "same_family": 0.5, "multitask": 1.0},
            "transfer": {"ft_c": {"a": -0.25}},
        }
    )
    assert prof.delta("base", "a") == 0.0
    assert prof.delta("ft_a", "a") == 2.0
    assert prof.delta("ft_a", "b") == 0.5
    assert prof.delta("ft_a", "c") == 0.0
    assert prof.delta("mtl", "c") == 1.0
    # an explicit row replaces the rules entirely
    assert prof.delta("ft_c", "a") == -0.25
    assert prof.delta("ft_c", "c") == 0.0
    assert prof.delta("other", "a") == 0.0


@pytest.mark.parametrize(
    ("raw", "match"),
    [
        (
            {"tasks": {"a": {"abilty": 1}}},
            r"`tasks\.a` has unknown field\(s\) 'abilty' \(did you mean 'ability'\?\)",
        ),
        (
            {"tasks": {"a": {"discrimination": 0}}},
            r"`tasks\.a\.discrimination` must be in \(0\.0, inf\); got 0",
        ),
        ({"default": {"guess": 1.0}}, r"`default\.guess` must be in \[0\.0, 1\.0\); got 1\.0"),
        ({"default": {"difficulty_sd": -1}}, r"`default\.difficulty_sd` must be in \[0\.0, inf\)"),
        ({"coupling": 1.5}, r"`coupling` must be in \[0\.0, 1\.0\]; got 1\.5"),
        ({"coupling": "high"}, r"`coupling` must be a finite number; got 'high'"),
        ({"default": {"ability": float("nan")}}, r"`default\.ability` must be a finite number"),
        (
            {"tasks": {"a": {"answer_format": "x"}}},
            r"`tasks\.a\.answer_format` must be a string containing '\{target\}'",
        ),
        ({"schema": 2}, r"`schema` must be 1; got 2"),
        ({"transfer": {"ft_a": {"b": "big"}}}, r"`transfer\.ft_a\.b` must be a finite number"),
        ({"transfer": {"ft_a": [1, 2]}}, r"`transfer\.ft_a` must be a mapping; got list"),
        ({"population": {"unique": 1}}, r"`population` has unknown field\(s\) 'unique'"),
        ({"weights": 1}, r"`profile` has unknown field\(s\) 'weights'"),
        ([1, 2], r"`profile` must be a mapping; got list"),
    ],
)
def test_malformed_profile_names_the_field(raw: object, match: str) -> None:
    with pytest.raises(SimProfileError, match=match):
        parse_profile(raw)


def test_profile_files_yaml_and_json_parse_alike(tmp_path: Path) -> None:
    raw = {"name": "p", "tasks": {"a": {"ability": 1.25, "family": "f"}}, "transfer": {"ft_a": {"a": 0.5}}}
    (tmp_path / "p.json").write_text(json.dumps(raw))
    (tmp_path / "p.yaml").write_text(
        "name: p\ntasks:\n  a: {ability: 1.25, family: f}\ntransfer:\n  ft_a: {a: 0.5}\n"
    )
    assert load_profile(tmp_path / "p.json") == load_profile(tmp_path / "p.yaml")


def test_profile_file_errors_name_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("tasks: [unclosed\n")
    with pytest.raises(SimProfileError, match=r"bad\.yaml: not valid YAML"):
        load_profile(bad)
    field = tmp_path / "field.yaml"
    field.write_text("coupling: 3\n")
    with pytest.raises(SimProfileError, match=r"field\.yaml: `coupling` must be in"):
        load_profile(field)
    with pytest.raises(FileNotFoundError, match="`profile` file not found"):
        load_profile(tmp_path / "missing.yaml")


def test_yaml_profile_is_parsed_safely(tmp_path: Path) -> None:
    evil = tmp_path / "evil.yaml"
    evil.write_text("name: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(SimProfileError, match="not valid YAML"):
        load_profile(evil)


def test_unknown_builtin_profile_suggests_demo() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean: demo"):
        builtin_profile("dem")
