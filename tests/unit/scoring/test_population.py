"""Populations from panel CSVs and from lm-eval run folders."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.scoring.population import PanelFormatError, load_panel_csv, population_from_runs
from lm_eval_mtl.suites import MemberSpec, SuiteSpec

SPEC = SuiteSpec(
    name="s",
    version="1.0",
    kind="suite",
    members=(
        MemberSpec("arc", "acc_norm", "none", 0.25, 1.0, "reasoning"),
        MemberSpec("wino", "acc", "none", 0.5, 1.0, "reasoning"),
        MemberSpec("gsm", "exact_match", "strict-match", 0.0, 1.0, "math"),
    ),
)


def _csv(tmp_path: Path, text: str, name: str = "panel.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


PANEL = """Model,ARC,Wino,GSM,date
m1,62.5,75,40,2024-01-02
m2,25,50,0,2024-03-01T10:00:00Z
m3,100,100,100,2023-12-31
"""


def test_reads_renames_scales_and_normalizes_with_spec(tmp_path: Path) -> None:
    path = _csv(tmp_path, PANEL)
    pop = load_panel_csv(
        path,
        id_column="Model",
        tasks=["ARC=arc", "Wino=wino", "GSM=gsm"],
        scale=0.01,
        spec=SPEC,
        date_column="date",
    )
    assert pop.models == ("m1", "m2", "m3")
    assert pop.tasks == ("arc", "wino", "gsm")
    assert pop.columns == ("ARC", "Wino", "GSM")
    # by hand: arc (0.625-0.25)/0.75 = 0.5; wino (0.75-0.5)/0.5 = 0.5; gsm 0.4
    np.testing.assert_allclose(pop.scores[0], [0.5, 0.5, 0.4])
    np.testing.assert_allclose(pop.scores[1], [0.0, 0.0, 0.0])
    np.testing.assert_allclose(pop.scores[2], [1.0, 1.0, 1.0])
    assert pop.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert pop.source == "panel.csv"
    assert pop.date == "2024-03-01"
    assert pop.n_models == 3


def test_family_keys_use_the_family_chance_and_normalized_skips_it(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Model,M\nm1,50\nm2,70\n")
    spec = SuiteSpec(
        "s",
        "1",
        "suite",
        (
            MemberSpec("x1", "acc", "none", 0.25, 1.0, "fam"),
            MemberSpec("x2", "acc", "none", 0.25, 1.0, "fam"),
        ),
    )
    pop = load_panel_csv(path, id_column="Model", tasks={"M": "fam"}, scale=0.01, spec=spec)
    np.testing.assert_allclose(pop.scores[:, 0], [(0.5 - 0.25) / 0.75, (0.7 - 0.25) / 0.75])
    pop = load_panel_csv(path, id_column="Model", tasks={"M": "fam"}, scale=0.01, spec=spec, normalized=True)
    np.testing.assert_allclose(pop.scores[:, 0], [0.5, 0.7])


def test_family_with_mixed_chance_refused(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Model,R\nm1,50\nm2,70\n")
    with pytest.raises(PanelFormatError, match="different chance/ceiling"):
        load_panel_csv(path, id_column="Model", tasks={"R": "reasoning"}, spec=SPEC)


def test_default_tasks_are_the_numeric_columns(tmp_path: Path) -> None:
    pop = load_panel_csv(_csv(tmp_path, PANEL), id_column="Model")
    assert pop.tasks == ("ARC", "Wino", "GSM")


def test_gaps_are_nan(tmp_path: Path) -> None:
    pop = load_panel_csv(_csv(tmp_path, "Model,A,B\nm1,1,\nm2,NaN,2\nm3,3,4\n"), id_column="Model")
    assert pop.n_missing == 2
    assert np.isnan(pop.scores[0, 1]) and np.isnan(pop.scores[1, 0])
    assert pop.complete_rows().models == ("m3",)
    assert "2 model(s) with gaps dropped (listwise)" in pop.complete_rows().notes


def test_missing_column_suggests_close_match(tmp_path: Path) -> None:
    with pytest.raises(PanelFormatError, match="Unknown column 'ARCC'. Did you mean: ARC"):
        load_panel_csv(_csv(tmp_path, PANEL), id_column="Model", tasks=["ARCC"])
    with pytest.raises(PanelFormatError, match="`id_column`.*Did you mean: Model"):
        load_panel_csv(_csv(tmp_path, PANEL), id_column="model")


def test_non_numeric_cell_names_row_and_column(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Model,A\nm1,1\nm2,oops\n")
    with pytest.raises(PanelFormatError, match=r"column 'A', row 3 \(model 'm2'\) is not a number: 'oops'"):
        load_panel_csv(path, id_column="Model", tasks=["A"])


def test_infinite_cell_refused(tmp_path: Path) -> None:
    with pytest.raises(PanelFormatError, match="not finite"):
        load_panel_csv(_csv(tmp_path, "Model,A\nm1,inf\nm2,1\n"), id_column="Model", tasks=["A"])


def test_truncated_row_refused(tmp_path: Path) -> None:
    with pytest.raises(PanelFormatError, match="row 3 has 1 cells"):
        load_panel_csv(_csv(tmp_path, "Model,A\nm1,1\nm2\n"), id_column="Model", tasks=["A"])


def test_duplicate_ids_error_first_mean(tmp_path: Path) -> None:
    path = _csv(tmp_path, "Model,A\nm1,1\nm2,2\nm1,3\n")
    with pytest.raises(PanelFormatError, match=r"'m1' on rows 2, 4.*duplicates='first' or 'mean'"):
        load_panel_csv(path, id_column="Model")
    first = load_panel_csv(path, id_column="Model", duplicates="first")
    mean = load_panel_csv(path, id_column="Model", duplicates="mean")
    assert first.models == mean.models == ("m1", "m2")
    assert first.scores[0, 0] == 1.0
    assert mean.scores[0, 0] == 2.0
    assert "merged by mean" in mean.notes


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"scale": 0.0}, "`scale` must be a positive"),
        ({"duplicates": "last"}, "`duplicates` must be one of"),
        ({"id_column": ""}, "`id_column` must be a non-empty"),
        ({"chance": {"nope": 0.1}}, "not in the panel: nope"),
        ({"chance": {"A": 1.0}}, "ceiling must exceed chance"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"id_column": "Model", "tasks": ["A"]}
    args.update(kwargs)
    with pytest.raises(PanelFormatError, match=match):
        load_panel_csv(_csv(tmp_path, "Model,A\nm1,1\nm2,2\n"), **args)  # type: ignore[arg-type]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no such panel file"):
        load_panel_csv(tmp_path / "none.csv", id_column="Model")


def test_select_reorders_and_unknown_task_raises(tmp_path: Path) -> None:
    pop = load_panel_csv(_csv(tmp_path, PANEL), id_column="Model")
    sel = pop.select(["GSM", "ARC"])
    np.testing.assert_array_equal(sel.scores, pop.scores[:, [2, 0]])
    with pytest.raises(Exception, match="Did you mean: GSM"):
        pop.select(["GSN"])


def _write_run(root: Path, model: str, arc: float, wino: float, gsm: float) -> Path:
    folder = root / model
    folder.mkdir(parents=True)
    results = {
        "results": {
            "arc": {"alias": "arc", "acc_norm,none": arc, "acc_norm_stderr,none": 0.01},
            "wino": {"alias": "wino", "acc,none": wino, "acc_stderr,none": 0.01},
            "gsm": {"alias": "gsm", "exact_match,strict-match": gsm, "exact_match_stderr,strict-match": 0.01},
        },
        "versions": {"arc": 1.0, "wino": 1.0, "gsm": 1.0},
        "n-shot": {"arc": 0, "wino": 0, "gsm": 0},
        "n-samples": {t: {"original": 100, "effective": 100} for t in ("arc", "wino", "gsm")},
        "model_name": model,
        "lm_eval_version": "0.4.13",
    }
    (folder / "results_2024-01-01T00-00-00.000000.json").write_text(json.dumps(results))
    return folder


def test_population_from_runs_normalizes_with_suite(tmp_path: Path) -> None:
    runs = [
        _write_run(tmp_path, "m1", 0.625, 0.75, 0.4),
        _write_run(tmp_path, "m2", 0.25, 0.5, 0.0),
        _write_run(tmp_path, "m3", 1.0, 1.0, 1.0),
    ]
    pop = population_from_runs(runs, SPEC)
    assert pop.models == ("m1", "m2", "m3")
    assert pop.tasks == ("arc", "wino", "gsm")
    np.testing.assert_allclose(pop.scores, [[0.5, 0.5, 0.4], [0, 0, 0], [1, 1, 1]])
    assert len(pop.sha256) == 64


def test_population_from_runs_needs_three_distinct_models(tmp_path: Path) -> None:
    a = _write_run(tmp_path / "x", "m1", 0.5, 0.5, 0.5)
    b = _write_run(tmp_path / "y", "m1", 0.6, 0.6, 0.6)
    c = _write_run(tmp_path / "z", "m2", 0.6, 0.6, 0.6)
    with pytest.raises(InsufficientDataError, match="at least 3 run folders"):
        population_from_runs([a, b], SPEC)
    with pytest.raises(PanelFormatError, match="model 'm1' appears twice"):
        population_from_runs([a, b, c], SPEC)
