"""Weights files: round trip, hashing, shipped files, bad files, compatibility, percentiles."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from lm_eval_mtl.errors import IncompatibleWeightsError, UnknownNameError
from lm_eval_mtl.scoring.weights_file import (
    PercentileTable,
    PopulationProvenance,
    WeightsFile,
    WeightsFormatError,
    check_compatible,
    list_shipped_weights,
    load_weights,
    percentile,
    save_weights,
)
from lm_eval_mtl.suites import MemberSpec, SuiteSpec, load_suite

REPO = Path(__file__).resolve().parents[3]


def _spec(name: str = "s", version: str = "1.0") -> SuiteSpec:
    return SuiteSpec(
        name=name,
        version=version,
        kind="suite",
        members=(
            MemberSpec("a1", "acc", "none", 0.25, 1.0, "fa"),
            MemberSpec("a2", "acc", "none", 0.25, 1.0, "fa"),
            MemberSpec("b", "acc", "none", 0.5, 1.0, "fb"),
        ),
    )


def _wf(**kw: object) -> WeightsFile:
    base: dict[str, object] = dict(
        id="redundancy-s",
        suite="s",
        suite_version="1.0",
        scheme="redundancy",
        weights={"a1": 0.2, "a2": 0.3, "b": 0.5},
        population=PopulationProvenance("panel.csv", "ab" * 32, "2024-01-01", 10, ("a1", "a2", "b")),
        delta=0.01,
        effective_number_nyholt=2.5,
        effective_number_li_ji=2.0,
        kendall_tau=0.9,
        max_rank_change=3,
        max_rank_change_at="b x2",
        percentiles={"fitted": PercentileTable((0.0, 50.0, 100.0), (0.0, 0.4, 1.0), "fitted")},
        created="2026-01-01T00:00:00+00:00",
        lm_eval_mtl_version="0.1.0",
    )
    base.update(kw)
    return WeightsFile(**base)  # type: ignore[arg-type]


def test_round_trip_preserves_content_and_hash(tmp_path: Path) -> None:
    wf = _wf()
    path = save_weights(wf, tmp_path / "w.json")
    back = load_weights(path)
    assert back.to_dict() == wf.to_dict()
    assert back.sha256 == wf.sha256
    assert list(back.weights) == ["a1", "a2", "b"]


def test_hash_ignores_created_and_version_but_not_weights() -> None:
    wf = _wf()
    assert _wf(created="2030-01-01", lm_eval_mtl_version="9").sha256 == wf.sha256
    assert _wf(weights={"a1": 0.25, "a2": 0.25, "b": 0.5}).sha256 != wf.sha256
    assert wf.short_hash == wf.sha256[:6]
    assert wf.signature == f"redundancy-s@sha256:{wf.sha256[:6]}"


def test_nan_written_as_null_and_read_back_as_nan(tmp_path: Path) -> None:
    path = save_weights(_wf(delta=math.nan, population=None), tmp_path / "w.json")
    assert json.loads(path.read_text())["diagnostics"]["delta"] is None
    assert math.isnan(load_weights(path).delta)


def test_shipped_ids_listed_and_loadable() -> None:
    ids = list_shipped_weights()
    assert {"redundancy-openllm_v1", "redundancy-openllm_v2"} <= set(ids)
    for ident in ids:
        wf = load_weights(ident)
        assert wf.id == ident
        assert sum(wf.weights.values()) == pytest.approx(1.0, abs=1e-12)
        assert min(wf.weights.values()) >= 0


def test_shipped_v1_fits_the_v1_suite_per_family() -> None:
    wf = load_weights("redundancy-openllm_v1")
    spec = load_suite("mtl_openllm_v1")
    check_compatible(wf, spec)
    member = wf.member_weights(spec)
    assert sum(member.values()) == pytest.approx(1.0)
    mmlu = [m.label for m in spec.members if m.family == "mmlu"]
    for label in mmlu:
        assert member[label] == pytest.approx(wf.weights["mmlu"] / len(mmlu))
    assert member["gsm8k"] == pytest.approx(wf.weights["gsm8k"])


def test_unknown_id_suggests_close_match() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean: .*redundancy-openllm_v1"):
        load_weights("redundancy-openllm_v1x")


def test_missing_path_is_unknown(tmp_path: Path) -> None:
    with pytest.raises(UnknownNameError, match="Unknown weights file"):
        load_weights(tmp_path / "nope.json")


def test_truncated_json_raises(tmp_path: Path) -> None:
    full = json.dumps(_wf().to_dict())
    path = tmp_path / "t.json"
    path.write_text(full[: len(full) // 2])
    with pytest.raises(WeightsFormatError, match="not valid JSON"):
        load_weights(path)


@pytest.mark.parametrize(
    "patch, match",
    [
        ({"weights": {"a1": 0.2, "a2": 0.3, "b": 0.6}}, "sum to 1"),
        ({"weights": {"a1": -0.2, "a2": 0.7, "b": 0.5}}, "non-negative"),
        ({"weights": {}}, "must not be empty"),
        ({"weights": {"a1": "x", "a2": 0.5, "b": 0.5}}, "finite number"),
        ({"format_version": 99}, "format_version"),
        ({"suite": ""}, "non-empty"),
        ({"level": "task"}, "level"),
    ],
)
def test_malformed_weights_raise(tmp_path: Path, patch: dict[str, object], match: str) -> None:
    data = _wf().to_dict()
    data.update(patch)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(WeightsFormatError, match=match):
        load_weights(path)


def test_nan_literal_refused(tmp_path: Path) -> None:
    text = json.dumps(_wf().to_dict()).replace('"delta": 0.01', '"delta": NaN')
    path = tmp_path / "nan.json"
    path.write_text(text)
    with pytest.raises(WeightsFormatError, match="must not contain NaN"):
        load_weights(path)


def test_missing_field_raises(tmp_path: Path) -> None:
    data = _wf().to_dict()
    del data["scheme"]
    path = tmp_path / "m.json"
    path.write_text(json.dumps(data))
    with pytest.raises(WeightsFormatError, match="missing field `scheme`"):
        load_weights(path)


def test_other_suite_or_version_incompatible_and_message_names_both() -> None:
    wf = _wf()
    with pytest.raises(IncompatibleWeightsError, match=r"for suite s@1\.0; they cannot weight suite s@2\.0"):
        check_compatible(wf, _spec(version="2.0"))
    with pytest.raises(IncompatibleWeightsError, match=r"for suite s@1\.0; they cannot weight suite t@1\.0"):
        check_compatible(wf, _spec(name="t"))


def test_member_keys_must_match() -> None:
    wf = _wf(weights={"a1": 0.5, "c": 0.5})
    with pytest.raises(
        IncompatibleWeightsError, match="no weight for member.* a2, b; weights for unknown member.* c"
    ):
        check_compatible(wf, _spec())


def test_family_level_spreads_equally_within_family() -> None:
    wf = _wf(level="family", weights={"fa": 0.6, "fb": 0.4})
    assert wf.member_weights(_spec()) == pytest.approx({"a1": 0.3, "a2": 0.3, "b": 0.4})


def test_percentile_interpolates_by_hand() -> None:
    table = PercentileTable((0.0, 25.0, 50.0, 75.0, 100.0), (0.0, 0.1, 0.2, 0.6, 1.0), "fitted")
    assert percentile(-1.0, table) == 0.0
    assert percentile(2.0, table) == 100.0
    assert percentile(0.15, table) == pytest.approx(37.5)  # halfway between 25% (0.1) and 50% (0.2)
    assert percentile(0.5, table) == pytest.approx(50 + 25 * (0.3 / 0.4))


def test_percentile_of_shipped_table_matches_empirical_rank(shared_data: Path) -> None:
    from lm_eval_mtl.scoring.population import load_panel_csv

    path = shared_data / "panels" / "openllm_v1" / "open-llm-leaderboard_old.csv"
    wf = load_weights("redundancy-openllm_v1")
    assert wf.population is not None
    pop = load_panel_csv(
        path,
        id_column="Model",
        tasks=dict(zip(wf.population.columns, wf.population.tasks, strict=True)),
        scale=0.01,
        spec=load_suite("mtl_openllm_v1"),
        duplicates="mean",
    )
    comp = pop.scores @ np.array([wf.weights[t] for t in pop.tasks])
    for value in np.quantile(comp, [0.1, 0.33, 0.5, 0.9]):
        empirical = 100.0 * float(np.mean(comp <= value))
        assert percentile(float(value), wf.percentiles["fitted"]) == pytest.approx(empirical, abs=0.6)


def _refit(shared_data: Path, ident: str) -> tuple[WeightsFile, WeightsFile]:
    """Re-derive a shipped file from shared data with the command in weights/PROVENANCE.md."""
    from lm_eval_mtl.scoring.population import load_panel_csv
    from lm_eval_mtl.scoring.weighting import fit_weights

    shipped = load_weights(ident)
    assert shipped.population is not None
    folder = "openllm_v1" if ident.endswith("v1") else "openllm_v2"
    path = shared_data / "panels" / folder / shipped.population.source
    if not path.is_file():
        pytest.skip(f"{path} not available")
    spec = load_suite(shipped.suite)
    pop = load_panel_csv(
        path,
        id_column="Model",
        tasks=dict(zip(shipped.population.columns, shipped.population.tasks, strict=True)),
        scale=0.01,
        spec=spec,
        duplicates="mean",
        date_column="date" if folder == "openllm_v1" else "Submission Date",
        normalized=folder == "openllm_v2",
    )
    return shipped, fit_weights(pop, shipped.scheme, suite=spec, weights_id=ident)


@pytest.mark.parametrize("ident", ["redundancy-openllm_v1", "redundancy-openllm_v2"])
def test_shipped_weights_rederive_from_shared_data(shared_data: Path, ident: str) -> None:
    shipped, refit = _refit(shared_data, ident)
    assert refit.population == shipped.population
    assert list(refit.weights) == list(shipped.weights)
    for k in shipped.weights:
        assert refit.weights[k] == pytest.approx(shipped.weights[k], rel=1e-9)
    assert refit.delta == pytest.approx(shipped.delta, rel=1e-9)
    assert refit.kendall_tau == pytest.approx(shipped.kendall_tau, rel=1e-9)
    assert refit.max_rank_change == shipped.max_rank_change
    np.testing.assert_allclose(
        refit.percentiles["fitted"].values, shipped.percentiles["fitted"].values, rtol=1e-9
    )
    # family-level file: the equal-weights table is the suite's `family` scheme
    assert set(shipped.percentiles) == {"fitted", "family"}
    np.testing.assert_allclose(
        refit.percentiles["family"].values, shipped.percentiles["family"].values, rtol=1e-9
    )


# ------------------------------------------------------------------ content hash (issue 9)

_SHIPPED_SHA256 = {
    "redundancy-openllm_v1": "5e99a1f7b35af34d2ea81fd99e52a6d3c22f798d8c517acef147cefd761f988a",
    "redundancy-openllm_v2": "7f56ee303275abc402462e38e601212e621e8e07be12f676c1398da233a37fc5",
}


def test_saved_file_carries_its_content_hash_outside_the_content(tmp_path: Path) -> None:
    wf = _wf()
    path = save_weights(wf, tmp_path / "w.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["content_sha256"] == wf.sha256
    assert "content_sha256" not in wf.to_dict() and "content_sha256" not in wf.content_dict()
    assert load_weights(path).sha256 == wf.sha256


@pytest.mark.parametrize("ident", sorted(_SHIPPED_SHA256))
def test_shipped_files_carry_a_matching_hash_and_keep_their_sha256(ident: str) -> None:
    wf = load_weights(ident)
    assert wf.sha256 == _SHIPPED_SHA256[ident]  # unchanged by adding the field: citations still hold
    data = json.loads((REPO / "lm_eval_mtl" / "weights" / f"{ident}.json").read_text(encoding="utf-8"))
    assert data["content_sha256"] == wf.sha256


def test_edited_file_is_refused(tmp_path: Path) -> None:
    path = save_weights(_wf(), tmp_path / "w.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["weights"] = {"a1": 0.3, "a2": 0.2, "b": 0.5}  # still valid weights, but not what was fitted
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    with pytest.raises(WeightsFormatError, match=r"edited after it was written.*weights fit"):
        load_weights(path)


def test_edit_of_uncounted_fields_is_accepted(tmp_path: Path) -> None:
    path = save_weights(_wf(), tmp_path / "w.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    data["created"] = "2031-01-01T00:00:00+00:00"  # not part of the content
    path.write_text(json.dumps(data, indent=2), encoding="utf-8")
    assert load_weights(path).sha256 == _wf().sha256


def test_file_without_hash_is_accepted_as_older_format(tmp_path: Path) -> None:
    path = tmp_path / "old.json"
    path.write_text(json.dumps(_wf().to_dict(), indent=2), encoding="utf-8")
    assert load_weights(path).sha256 == _wf().sha256


@pytest.mark.parametrize("bad", ["", "abc", 12, None, "A" * 64])
def test_malformed_hash_field_is_refused(tmp_path: Path, bad: object) -> None:
    data = _wf().to_dict()
    data["content_sha256"] = bad
    path = tmp_path / "w.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(WeightsFormatError, match="content_sha256"):
        load_weights(path)


# ------------------------------------------------------------------ names vs paths (issue 9)


def test_shipped_id_wins_over_a_file_of_that_name_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ident = "redundancy-openllm_v1"
    fake = _wf(id=ident)
    save_weights(fake, tmp_path / ident)
    monkeypatch.chdir(tmp_path)
    assert load_weights(ident).sha256 == _SHIPPED_SHA256[ident]
    assert load_weights(f"./{ident}").sha256 == fake.sha256  # given as a path: the user's file
    assert load_weights(Path(ident)).sha256 == fake.sha256


def test_bare_name_is_never_looked_up_in_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_weights(_wf(), tmp_path / "mine")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UnknownNameError, match="Unknown weights id 'mine'"):
        load_weights("mine")
    with pytest.raises(UnknownNameError, match="Did you mean: .*redundancy-openllm_v1"):
        load_weights("redundancy-openllm_v3")
    assert load_weights("./mine").id == "redundancy-s"
    save_weights(_wf(), tmp_path / "mine.json")
    assert load_weights("mine.json").id == "redundancy-s"
