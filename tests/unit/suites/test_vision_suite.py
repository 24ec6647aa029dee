"""``mtl_suite_vision`` against lm-eval 0.4.13's own configs, offline.

* the spec: 30 MMMU mirrors (``chance_metric: acc_chance``) + lm-eval's ``chartqa`` (relaxed accuracy),
  two families, family weights; the generator writes what is shipped;
* the MMMU mirrors equal lm-eval's ``mmmu_val_<subject>`` configs key by key, except ``process_results``
  (which adds ``acc_chance``) and the metric list (``acc`` + ``acc_chance``);
* the group's leaves (lm-eval's own index) are exactly the spec's members, each with its metric;
* ``acc_chance`` is 1/k for a k-option question and 0 for an open one, next to lm-eval's own ``acc``;
* a mirror builds for real (``ConfigurableTask``) on local rows with project-drawn images.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytest.importorskip("lm_eval")
pytest.importorskip("PIL")

import lm_eval.tasks as lm_tasks  # noqa: E402
from lm_eval.tasks._index import Kind, TaskIndex  # noqa: E402
from lm_eval.tasks._yaml_loader import load_yaml  # noqa: E402

from lm_eval_mtl.suites import SuiteSpec, load_suite  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "task_configs"
VISION = CONFIGS / "mtl_suite_vision"
BUILTIN = Path(lm_tasks.__file__).parent


def _load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def spec() -> SuiteSpec:
    return load_suite("mtl_suite_vision", CONFIGS)


def test_spec_has_the_mmmu_mirrors_and_chartqa(spec: SuiteSpec) -> None:
    assert spec.kind == "suite" and spec.weights == "family" and spec.version == "1.0"
    assert spec.families == ("multidiscipline", "charts")
    mmmu = [m for m in spec if m.family == "multidiscipline"]
    builtin = sorted(load_yaml(p, resolve_func=False)["task"] for p in (BUILTIN / "mmmu").glob("mmmu_*.yaml"))
    assert [m.task for m in mmmu] == ["mtl_" + t for t in builtin] and len(mmmu) == 30
    for m in mmmu:
        assert (m.metric, m.filter, m.chance_metric, m.output_type, m.ceiling) == (
            "acc",
            "none",
            "acc_chance",
            "generate_until",
            1.0,
        )
    (chart,) = [m for m in spec if m.family == "charts"]
    assert (chart.task, chart.metric, chart.filter, chart.chance, chart.chance_metric) == (
        "chartqa",
        "relaxed_accuracy",
        "none",
        0.0,
        None,
    )
    collected = []
    for fam in spec.families:
        sub = load_suite(f"mtl_suite_vision_{fam}", CONFIGS)
        assert sub.kind == "family" and sub.weights == "equal"
        collected.extend(sub.members)
    assert tuple(collected) == spec.members


def test_generator_writes_what_is_shipped(spec: SuiteSpec) -> None:
    gen = _load(CONFIGS / "_generate_configs.py", "_test_generate_configs_vision")
    members = [m for ms in gen.vision_members().values() for m in ms]
    got = SuiteSpec.from_metadata(
        "mtl_suite_vision", {"version": gen.VISION_VERSION, "mtl": {"members": members}}
    )
    assert got.members == spec.members
    for s in gen.mmmu_subjects():
        cfg = load_yaml(VISION / f"mtl_{s['task']}.yaml", resolve_func=False)
        assert (cfg["dataset_name"], cfg["task_alias"]) == (s["dataset_name"], s["task_alias"])


_DIFFERS = {"task", "include", "process_results", "metric_list"}


def _normalize(value: Any) -> Any:
    if isinstance(value, str) and value.endswith((".doc_to_image", ".doc_to_text")):
        return value.rsplit(".", 1)[-1]  # a !function path: the function's name
    return value


def test_mirrors_equal_lm_evals_mmmu_configs_but_the_chance_metric() -> None:
    for path in sorted((BUILTIN / "mmmu").glob("mmmu_*.yaml")):
        ref = load_yaml(path, resolve_func=False, recursive=True)
        got = load_yaml(VISION / f"mtl_{ref['task']}.yaml", resolve_func=False, recursive=True)
        keys = (set(ref) | set(got)) - _DIFFERS
        diff = {k: (ref.get(k), got.get(k)) for k in keys if _normalize(ref.get(k)) != _normalize(got.get(k))}
        assert not diff, (path.name, diff)
        assert got["metric_list"] == [*ref["metric_list"], {**ref["metric_list"][0], "metric": "acc_chance"}]
        assert got["task"] == "mtl_" + ref["task"]


def test_group_leaves_in_lm_evals_index_are_exactly_the_members(spec: SuiteSpec) -> None:
    index = TaskIndex.build([VISION])
    leaves: list[str] = []

    def expand(name: str) -> None:
        entry = index.get(name)
        if entry is None:  # a built-in task listed by name
            leaves.append(name)
            return
        if entry.kind is Kind.GROUP:
            cfg = load_yaml(entry.yaml_path, resolve_func=False)
            for child in cfg["task"]:
                expand(child)
        else:
            leaves.append(name)

    expand("mtl_suite_vision")
    assert leaves == list(spec.tasks)
    for m in spec:
        path = index[m.task].yaml_path if m.task in index else BUILTIN / "chartqa" / "chartqa.yaml"
        cfg = load_yaml(path, resolve_func=True, recursive=True)
        assert cfg["task"] == m.task and cfg["output_type"] == m.output_type
        names = [
            x["metric"] if isinstance(x["metric"], str) else x["metric"].__name__ for x in cfg["metric_list"]
        ]
        assert m.metric in names and (m.chance_metric is None or m.chance_metric in names), (m.task, names)
        assert "filter_list" not in cfg  # filter "none"


def test_acc_chance_is_one_over_k_for_multiple_choice_and_zero_for_open() -> None:
    utils = _load(VISION / "mmmu_utils.py", "_test_mmmu_utils")
    from lm_eval.tasks.mmmu import utils as lm_mmmu

    for k in (2, 3, 4, 5, 9):
        doc = {
            "question_type": "multiple-choice",
            "options": repr([f"o{j}" for j in range(k)]),
            "answer": "A",
        }
        out = utils.process_results(doc, ["(A)"])
        assert out == {"acc": lm_mmmu.process_results(doc, ["(A)"])["acc"], "acc_chance": 1.0 / k}
        assert out["acc"] == 1.0
    open_doc = {"question_type": "open", "options": "[]", "answer": "12"}
    assert utils.process_results(open_doc, ["12"]) == {"acc": 1.0, "acc_chance": 0.0}
    assert utils.doc_to_text is lm_mmmu.doc_to_text and utils.doc_to_image is lm_mmmu.doc_to_image


def test_mirror_builds_on_local_rows_with_images(tmp_path: Path) -> None:
    import tiny_vlm
    from lm_eval.api.task import ConfigurableTask
    from PIL import Image

    files = tiny_vlm.write_vision_rows(tmp_path, n_mmmu=4, n_chart=2)
    cfg = load_yaml(VISION / "mtl_mmmu_val_accounting.yaml", resolve_func=True, recursive=True)
    cfg.update(
        {
            "dataset_path": "parquet",
            "dataset_name": None,
            "dataset_kwargs": {"data_files": {"validation": str(files["mmmu"])}},
        }
    )
    task = ConfigurableTask(config=cfg)
    docs = list(task.eval_docs)
    assert len(docs) == 4
    images = task.doc_to_image(docs[0])
    assert len(images) == 1 and isinstance(images[0], Image.Image)
    assert task.doc_to_text(docs[0]).startswith("<image> What does bar")
    got = task.process_results(docs[0], ["(A)"])
    assert set(got) == {"acc", "acc_chance"} and got["acc_chance"] == pytest.approx(
        1.0 / len(eval(docs[0]["options"]))  # noqa: S307 - the fixture's own repr() of a list of strings
    )
