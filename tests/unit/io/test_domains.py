"""lm_eval_mtl.io.domains: the metric domain table, and its use where values enter."""

from __future__ import annotations

import json
import math
from pathlib import Path

import fixture_runs as fx  # tests/data, on sys.path via tests/conftest.py
import pytest

from lm_eval_mtl.errors import ResultsFormatError
from lm_eval_mtl.io import load_run, read_samples
from lm_eval_mtl.io.domains import describe_domain, domain_problem, metric_domain


@pytest.mark.parametrize(
    ("metric", "domain"),
    [
        ("acc", (0.0, 1.0)),
        ("acc_norm", (0.0, 1.0)),
        ("exact_match", (0.0, 1.0)),
        ("em", (0.0, 1.0)),
        ("prompt_level_strict_acc", (0.0, 1.0)),
        ("inst_level_loose_acc", (0.0, 1.0)),
        ("mcc", (-1.0, 1.0)),
        ("chrf", (0.0, 100.0)),
        ("chrf++", (0.0, 100.0)),
        ("bleu", (0.0, 100.0)),
        ("ter", (0.0, math.inf)),
        ("f1", (0.0, 100.0)),  # squadv2 reports f1 in percent
    ],
)
def test_table(metric: str, domain: tuple[float, float]) -> None:
    assert metric_domain(metric) == domain


def test_metric_not_in_the_table_is_not_checked() -> None:
    assert metric_domain("perplexity") is None and metric_domain("mtl_composite") is None
    assert domain_problem("perplexity", -5.0) is None and domain_problem("bleu_diff", -3.0) is None


def test_bounds_and_rounding() -> None:
    assert domain_problem("acc", 0.0) is None and domain_problem("acc", 1.0) is None
    assert domain_problem("acc", 1.0 + 1e-12) is None  # rounding of a mean
    assert domain_problem("acc", 1.5) == "outside [0, 1]"
    assert domain_problem("acc", -1.0) == "outside [0, 1]"
    assert domain_problem("mcc", -0.5) is None and domain_problem("mcc", -1.5) == "outside [-1, 1]"
    assert domain_problem("ter", 250.0) is None and domain_problem("ter", -1.0) == "outside [0, inf)"
    assert domain_problem("chrf", 100.5) == "outside [0, 100]"
    assert describe_domain((0.0, math.inf)) == "[0, inf)"


def _edit(folder: Path, key: str, value: object, section: str = "results") -> Path:
    (res,) = folder.glob("results_*.json")
    data = json.loads(res.read_text(encoding="utf-8"))
    if section == "results":
        data["results"]["t"][key] = value
    else:
        data["n-samples"]["t"][key] = value
    res.write_text(json.dumps(data), encoding="utf-8")
    return folder


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("acc,none", 1.5, r"task 't' reports acc \(filter 'none'\) = 1\.5, outside \[0, 1\]"),
        ("acc,none", -1, r"= -1\.0, outside \[0, 1\]"),
        ("acc_stderr,none", -0.01, r"acc_stderr .* = -0\.01; expected a standard error >= 0"),
        ("prompt_level_strict_acc,none", 3.0, r"prompt_level_strict_acc .*outside \[0, 1\]"),
        ("mcc,none", -1.2, r"outside \[-1, 1\]"),
        ("chrf,none", 101.0, r"outside \[0, 100\]"),
        ("ter,none", -2.0, r"outside \[0, inf\)"),
    ],
)
def test_results_values_out_of_domain_are_refused(
    tmp_path: Path, key: str, value: object, match: str
) -> None:
    folder = _edit(fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)}), key, value)
    with pytest.raises(ResultsFormatError, match=match):
        load_run(folder)


@pytest.mark.parametrize("value", [-1, 2.5, "many", [3]])
def test_bad_item_counts_are_refused(tmp_path: Path, value: object) -> None:
    folder = _edit(fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)}), "effective", value, "n-samples")
    with pytest.raises(ResultsFormatError, match=r"n-samples\.effective = .*expected an item count"):
        load_run(folder)


def test_in_domain_values_and_integral_counts_are_accepted(tmp_path: Path) -> None:
    folder = _edit(fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)}), "effective", 3.0, "n-samples")
    _edit(folder, "perplexity,none", -7.0)  # not in the table: not range-checked
    run = load_run(folder)
    assert run.task("t").n == 3 and run.task("t").metric("perplexity").value == -7.0


def test_per_item_values_out_of_domain_are_refused_with_the_line(tmp_path: Path) -> None:
    folder = fx.write_run(tmp_path, {"t": fx.mc_task([1, 0, 1], 4)})
    (s,) = folder.glob("samples_t_*.jsonl")
    lines = s.read_text(encoding="utf-8").splitlines()
    rec = json.loads(lines[1])
    rec["acc"] = -1.0
    lines[1] = json.dumps(rec)
    s.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ResultsFormatError, match=r":2: metric 'acc' of task 't' is -1\.0 .*\[0, 1\]"):
        read_samples(s)
