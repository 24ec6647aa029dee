"""The shipped suites (task_configs/) against lm-eval 0.4.13's own loader, offline.

Nothing here downloads data: the checks read YAML through lm-eval's loader and
index, and build the group trees with lm-eval's TaskFactory while a stub stands
in for ConfigurableTask (whose constructor would fetch the dataset).
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from background import BackgroundRun  # tests/data, on sys.path via tests/conftest.py

pytest.importorskip("lm_eval")
datasets = pytest.importorskip("datasets")

import lm_eval.tasks as lm_tasks  # noqa: E402
from lm_eval.api.group import Group  # noqa: E402
from lm_eval.api.task import Task  # noqa: E402
from lm_eval.tasks._index import Entry, Kind, TaskIndex  # noqa: E402
from lm_eval.tasks._yaml_loader import load_yaml  # noqa: E402

from lm_eval_mtl.suites import SuiteSpec, list_suites  # noqa: E402
from lm_eval_mtl.suites import load_suite as _load_suite  # noqa: E402

REPO = Path(__file__).resolve().parents[3]
CONFIGS = REPO / "task_configs"
BUILTIN = Path(lm_tasks.__file__).parent
OURS = ("mtl_suite", "mtl_suite_lite", "mtl_openllm_v1", "mtl_openllm_v2", "mtl_suite_vision")  # our folders
SUITES = ("mtl_suite", "mtl_suite_lite", "mtl_openllm_v1", "mtl_openllm_v2", "mtl_suite_vision")
SHARED = REPO.parent / "shared" / "data"


# ----------------------------------------------------------------- fixtures


@functools.cache
def _all_specs(root: Path) -> dict[str, SuiteSpec]:
    specs = {}
    for path in sorted(p for d in OURS for p in (root / d).rglob("*.yaml")):
        cfg = load_yaml(path, resolve_func=False, recursive=False)
        if isinstance(cfg.get("group"), str) and "mtl" in (cfg.get("metadata") or {}):
            specs[cfg["group"]] = SuiteSpec.from_metadata(cfg["group"], cfg["metadata"], source=path)
    return specs


def load_suite(name: str, root: Path) -> SuiteSpec:
    """The spec of group ``name``, parsed once per session (the real loader is checked once)."""
    return _all_specs(root)[name]


class _StubTask(Task):
    """Stands in for ConfigurableTask: keeps the merged config, downloads nothing."""

    def __init__(self, config: dict[str, Any]) -> None:  # noqa: D107
        self._stub_config = dict(config)

    @property
    def task_name(self) -> str:  # type: ignore[override]
        return str(self._stub_config["task"])


_StubTask.__abstractmethods__ = frozenset()  # type: ignore[misc]  # instantiable stub


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture(scope="module")
def manager_and_overrides() -> tuple[Any, list[str]]:
    """A real TaskManager over the built-ins plus our folder, and the override warnings it logged."""
    from lm_eval.tasks import TaskManager

    handler = _Capture()
    log = logging.getLogger("lm_eval.tasks._index")
    log.addHandler(handler)
    try:
        tm = TaskManager(include_path=str(CONFIGS))
    finally:
        log.removeHandler(handler)
    return tm, handler.messages


@pytest.fixture(scope="module")
def index(manager_and_overrides: tuple[Any, list[str]]) -> dict[str, Entry]:
    return manager_and_overrides[0].task_index  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ours() -> dict[str, Entry]:
    return TaskIndex.build([CONFIGS / d for d in OURS if (CONFIGS / d).is_dir()])


def resolved_config(entry: Entry) -> dict[str, Any]:
    """The task's config with its include chain merged, functions left as path strings."""
    assert entry.yaml_path is not None, f"{entry.name} has no YAML"
    return load_yaml(entry.yaml_path, resolve_func=False, recursive=True)


def metric_names(cfg: dict[str, Any]) -> list[str]:
    # a metric given as a `!function module.name` path is named by its last part (chartqa's)
    return [
        str(m["metric"]).rsplit(".", 1)[-1] if "/" in str(m["metric"]) else m["metric"]
        for m in cfg.get("metric_list") or []
    ]


def filter_names(cfg: dict[str, Any]) -> list[str]:
    fl = cfg.get("filter_list")
    return [f["name"] for f in fl] if fl else ["none"]


def build_group(manager: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> Group:
    import lm_eval.tasks._factory as factory

    monkeypatch.setattr(factory, "ConfigurableTask", _StubTask)
    built = manager._load_spec(name)
    assert isinstance(built, Group)
    return built


def _load_utils() -> ModuleType:
    path = CONFIGS / "mtl_suite_lite" / "utils.py"
    spec = importlib.util.spec_from_file_location("_mtl_lite_utils_under_test", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# ----------------------------------------------------------------- YAML and specs


def test_every_yaml_parses_with_lm_eval_loader() -> None:
    files = [
        p for p in CONFIGS.rglob("*") if p.is_file() and (p.suffix == ".yaml" or p.name.endswith("_yaml"))
    ]
    assert len(files) > 80
    for path in files:
        cfg = load_yaml(path, resolve_func=False, recursive=True)
        assert isinstance(cfg, dict), path


def test_every_task_yaml_resolves_its_functions() -> None:
    for path in sorted((CONFIGS / "mtl_suite_lite").glob("*.yaml"))[:5] + [
        CONFIGS / "mtl_suite_lite" / "mtl_lite_winogrande.yaml",
        CONFIGS / "mtl_suite_lite" / "mtl_lite_mmlu_anatomy.yaml",
        CONFIGS / "mtl_suite_lite" / "mtl_lite_hellaswag.yaml",
    ]:
        cfg = load_yaml(path, resolve_func=True, recursive=True)
        for key in ("process_docs", "doc_to_text", "doc_to_choice", "doc_to_target"):
            if key in cfg and not isinstance(cfg[key], (str, list, int)):
                assert callable(cfg[key]), (path, key)


def test_all_suites_and_families_load_as_specs(ours: dict[str, Entry]) -> None:
    names = list_suites(CONFIGS)
    groups = {n: e for n, e in ours.items() if e.kind is Kind.GROUP}
    assert set(groups) <= set(names)
    assert _load_suite("mtl_suite", CONFIGS) == load_suite("mtl_suite", CONFIGS)  # the real loader agrees
    assert set(SUITES) <= set(groups)
    for name, entry in groups.items():
        spec = SuiteSpec.from_metadata(name, (entry.cfg or {})["metadata"])
        assert isinstance(spec, SuiteSpec)
        # the flagship suites gained the search family in 1.1
        assert spec.version == ("1.1" if name in ("mtl_suite", "mtl_suite_lite") else "1.0"), name
        assert len(set(spec.labels)) == len(spec.labels)
        for m in spec:
            assert m.ceiling > m.chance >= 0.0


def test_every_group_has_metadata_version_and_composite_row(ours: dict[str, Entry]) -> None:
    groups = [e for e in ours.values() if e.kind is Kind.GROUP]
    assert (
        len(groups) == 2 + 2 * 8 + 2 + 3
    )  # flagships + their 8 families, openllm v1/v2, vision + 2 families
    for e in groups:
        cfg = e.cfg or {}
        assert "version" in (cfg.get("metadata") or {}), e.name
        assert cfg["aggregate_metric_list"] == [{"metric": "mtl_composite", "filter_list": ["none"]}], e.name
        SuiteSpec.from_metadata(e.name, cfg["metadata"])


def test_no_name_of_ours_collides_with_a_builtin(
    ours: dict[str, Entry], manager_and_overrides: tuple[Any, list[str]]
) -> None:
    _, warnings_logged = manager_and_overrides
    # an override of a built-in names lm-eval's folder; our folder indexed twice (the start-up hook
    # plus an explicit include_path) overrides only itself
    assert not [w for w in warnings_logged if "overrides existing" in w and str(BUILTIN) in w]
    for name, entry in ours.items():
        assert name.startswith("mtl_"), name
        assert entry.kind is not Kind.TAG, f"we declare no tags; got {name}"


def test_every_member_resolves_with_its_metric_filter_and_output_type(index: dict[str, Entry]) -> None:
    for suite in SUITES:
        spec = load_suite(suite, CONFIGS)
        for m in spec:
            entry = index.get(m.task)
            assert entry is not None and entry.kind is Kind.TASK, f"{suite}: {m.task} is not a leaf task"
            cfg = resolved_config(entry)
            assert m.metric in metric_names(cfg), (suite, m.task, m.metric, metric_names(cfg))
            assert m.filter in filter_names(cfg), (suite, m.task, m.filter, filter_names(cfg))
            assert m.output_type == cfg["output_type"], (suite, m.task)
            if m.output_type == "generate_until" and m.chance_metric is None:
                assert m.chance == 0.0
            if isinstance(cfg.get("doc_to_choice"), list):  # a fixed choice list: c = 1/k exactly
                assert m.chance == pytest.approx(1.0 / len(cfg["doc_to_choice"])), (suite, m.task)


def test_translation_members_use_chrf_on_a_0_to_100_scale() -> None:
    for suite in ("mtl_suite", "mtl_suite_lite"):
        tr = [m for m in load_suite(suite, CONFIGS) if m.family == "translation"]
        assert len(tr) == 2
        assert all(m.metric == "chrf" and m.ceiling == 100.0 and m.chance == 0.0 for m in tr)


def test_families_partition_the_flagship_suites() -> None:
    for suite in ("mtl_suite", "mtl_suite_lite"):
        top = load_suite(suite, CONFIGS)
        assert top.kind == "suite" and top.weights == "family"
        assert top.families == (
            "classification",
            "qa",
            "translation",
            "commonsense",
            "knowledge",
            "math",
            "intent",
            "search",
        )
        collected = []
        for fam in top.families:
            sub = load_suite(f"{suite}_{fam}", CONFIGS)
            assert sub.kind == "family" and sub.weights == "equal"
            assert {m.family for m in sub} == {fam}
            collected.extend(sub.members)
        assert tuple(collected) == top.members


def test_lite_has_the_same_members_as_the_flagship() -> None:
    full = load_suite("mtl_suite", CONFIGS)
    lite = load_suite("mtl_suite_lite", CONFIGS)
    assert len(full) == len(lite) == 15 + 57
    for a, b in zip(full, lite, strict=True):
        assert b.task == "mtl_lite_" + a.task.removeprefix("mtl_")
        assert (a.metric, a.filter, a.chance, a.ceiling, a.family, a.output_type, a.cluster) == (
            b.metric,
            b.filter,
            b.chance,
            b.ceiling,
            b.family,
            b.output_type,
            b.cluster,
        )


@pytest.mark.parametrize("suite", SUITES + tuple(f"mtl_suite_{f}" for f in ("qa", "knowledge")))
def test_built_group_leaves_are_exactly_the_spec_members(
    suite: str, manager_and_overrides: tuple[Any, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    if suite == "mtl_openllm_v2" and importlib.util.find_spec("langdetect") is None:
        pytest.skip("building leaderboard_ifeval imports langdetect (pip install 'lm-eval[ifeval]')")
    group = build_group(manager_and_overrides[0], suite, monkeypatch)
    leaves = Counter(t.task_name for t in group.get_all_tasks())
    spec = load_suite(suite, CONFIGS)
    assert leaves == Counter(spec.tasks), set(leaves) ^ set(spec.tasks)


def _leaves(index: dict[str, Entry], name: str) -> list[str]:
    entry = index[name]
    if entry.kind is Kind.TAG:
        return sorted(entry.tags)
    if entry.kind is not Kind.GROUP:
        return [name]
    cfg = load_yaml(entry.yaml_path, resolve_func=False) if entry.yaml_path else entry.cfg or {}
    items = cfg["task"] if isinstance(cfg["task"], list) else [cfg["task"]]
    out: list[str] = []
    for item in items:
        child = item if isinstance(item, str) else item.get("task") or item.get("group")
        out.extend(_leaves(index, child))
    return out


@pytest.mark.parametrize("suite", SUITES)
def test_index_expansion_of_each_suite_is_exactly_its_members(index: dict[str, Entry], suite: str) -> None:
    assert Counter(_leaves(index, suite)) == Counter(load_suite(suite, CONFIGS).tasks)


def test_openllm_v1_applies_the_leaderboard_shots(
    manager_and_overrides: tuple[Any, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    group = build_group(manager_and_overrides[0], "mtl_openllm_v1", monkeypatch)
    shots = {t.task_name: t._stub_config.get("num_fewshot") for t in group.get_all_tasks()}  # type: ignore[attr-defined]
    expected = {"arc_challenge": 25, "hellaswag": 10, "truthfulqa_mc2": 0, "winogrande": 5, "gsm8k": 5}
    for task, k in expected.items():
        assert shots.pop(task) == k, task
    assert len(shots) == 57 and set(shots.values()) == {5}  # every MMLU subject 5-shot
    spec = load_suite("mtl_openllm_v1", CONFIGS)
    assert spec.families == ("arc_challenge", "hellaswag", "mmlu", "truthfulqa_mc2", "winogrande", "gsm8k")
    assert spec.weights == "redundancy-openllm_v1"
    metric = {m.family: (m.metric, m.filter) for m in spec}
    assert metric["arc_challenge"] == ("acc_norm", "none") and metric["hellaswag"] == ("acc_norm", "none")
    assert metric["gsm8k"] == ("exact_match", "strict-match")


def test_openllm_v2_follows_the_published_normalization(index: dict[str, Entry]) -> None:
    spec = load_suite("mtl_openllm_v2", CONFIGS)
    assert spec.leaderboard == "openllm_v2" and spec.weights == "family"
    assert spec.families == ("ifeval", "bbh", "math", "gpqa", "musr", "mmlu_pro")
    count = Counter(m.family for m in spec)
    assert count == {"ifeval": 2, "bbh": 24, "math": 7, "gpqa": 3, "musr": 3, "mmlu_pro": 1}
    ifeval = [m for m in spec if m.family == "ifeval"]
    assert {m.label for m in ifeval} == {
        "leaderboard_ifeval:inst_level_strict_acc",
        "leaderboard_ifeval:prompt_level_strict_acc",
    }
    chance = {m.task: m.chance for m in spec if m.family in ("musr", "gpqa", "mmlu_pro")}
    # HF leaderboard docs (open_llm_leaderboard/normalization): MuSR bounds 1/2, 1/5, 1/3; GPQA 1/4; MMLU-Pro 1/10
    assert chance["leaderboard_musr_murder_mysteries"] == pytest.approx(1 / 2)
    assert chance["leaderboard_musr_object_placements"] == pytest.approx(1 / 5)
    assert chance["leaderboard_musr_team_allocation"] == pytest.approx(1 / 3)
    assert chance["leaderboard_gpqa_main"] == 0.25 and chance["leaderboard_mmlu_pro"] == 0.1
    for m in spec:
        if m.family == "bbh":  # 1/k from the task's own doc_to_choice
            cfg = resolved_config(index[m.task])
            assert m.chance == pytest.approx(1.0 / len(cfg["doc_to_choice"]))


# ----------------------------------------------------------------- lite mirrors the built-ins

_IGNORED = {"task", "task_alias", "tag", "process_docs", "metadata", "include"}


def _normalize(value: Any) -> Any:
    if (
        isinstance(value, str)
        and "/" in value
        and value.rsplit("/", 1)[-1].count(".") >= 1
        and Path(value.rsplit(".", 1)[0] + ".py").exists()
    ):
        return ".".join(value.replace("/", ".").split(".")[-2:])  # a !function path: module.func
    if isinstance(value, str) and value.startswith("/") and "lm_eval.tasks." in value:
        return ".".join(value.split(".")[-2:])
    return value


def test_lite_tasks_mirror_their_builtin_configs(index: dict[str, Entry]) -> None:
    lite = load_suite("mtl_suite_lite", CONFIGS)
    full = load_suite("mtl_suite", CONFIGS)
    for a, b in zip(full, lite, strict=True):
        ref = resolved_config(index[a.task])
        got = resolved_config(index[b.task])
        keys = (set(ref) | set(got)) - _IGNORED
        diff = {k: (ref.get(k), got.get(k)) for k in keys if _normalize(ref.get(k)) != _normalize(got.get(k))}
        assert not diff, (b.task, diff)
        assert ".cap_" in got["process_docs"], b.task


# ----------------------------------------------------------------- the cap function


def _synthetic(n_per_label: dict[int, int], split: str = "test") -> Any:
    labels = [lab for lab, n in sorted(n_per_label.items()) for _ in range(n)]
    return datasets.Dataset.from_dict(
        {"label": labels, "x": list(range(len(labels)))}, split=datasets.NamedSplit(split)
    )


def test_cap_is_deterministic_stratified_and_within_the_cap() -> None:
    utils = _load_utils()
    ds = _synthetic({0: 700, 1: 200, 2: 100})
    a = utils.cap_docs(ds, cap=100, split="test", label="label", seed=7)
    b = utils.cap_docs(_synthetic({0: 700, 1: 200, 2: 100}), cap=100, split="test", label="label", seed=7)
    assert a["x"] == b["x"] and len(a) == 100
    assert Counter(a["label"]) == {0: 70, 1: 20, 2: 10}
    assert a["x"] == sorted(a["x"])  # dataset order kept
    c = utils.cap_docs(ds, cap=100, split="test", label="label", seed=8)
    assert c["x"] != a["x"]  # the seed matters


def test_cap_allocates_remainders_by_largest_fraction() -> None:
    utils = _load_utils()
    idx = utils.stratified_indices([0] * 5 + [1] * 3 + [2] * 2, cap=4, seed=0)
    labels = [([0] * 5 + [1] * 3 + [2] * 2)[i] for i in idx]
    # quotas 2.0, 1.2, 0.8 -> floors 2, 1, 0; one left goes to the largest remainder (0.8: label 2)
    assert Counter(labels) == {0: 2, 1: 1, 2: 1}


def test_cap_matches_an_independent_hash_ordering() -> None:
    import hashlib

    utils = _load_utils()
    got = utils.stratified_indices([0] * 10, cap=3, seed=42)
    ref = sorted(sorted(range(10), key=lambda i: hashlib.sha256(f"42:{i}".encode()).hexdigest())[:3])
    assert got == ref


def test_cap_leaves_other_splits_and_small_splits_alone() -> None:
    utils = _load_utils()
    train = _synthetic({0: 300, 1: 300}, split="train")
    assert utils.cap_docs(train, cap=10, split="test", label="label") is train
    small = _synthetic({0: 3, 1: 4})
    assert utils.cap_docs(small, cap=10, split="test", label="label") is small
    assert len(utils.cap_sst2(_synthetic({0: 428, 1: 444}, split="validation"))) == 500
    assert len(utils.cap_banking77(_synthetic(dict.fromkeys(range(77), 40)))) == 500


@pytest.mark.parametrize("cap", [0, -1, 2.5, True])
def test_cap_rejects_a_non_positive_integer(cap: Any) -> None:
    utils = _load_utils()
    with pytest.raises(ValueError, match=r"`cap` must be a positive integer; got"):
        utils.stratified_indices([0, 1], cap=cap)


# ----------------------------------------------------------------- new tasks vs local copies


def test_banking77_choices_follow_the_hub_label_order() -> None:
    import json

    path = SHARED / "eval_sets" / "banking77" / "categories.json"
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    categories = json.loads(path.read_text())
    cfg = load_yaml(CONFIGS / "mtl_suite" / "mtl_banking77.yaml", resolve_func=False)
    hub_order = sorted(categories, key=str.lower)  # the Hub's ClassLabel names
    assert cfg["doc_to_choice"] == [c.replace("_", " ").rstrip("?").lower() for c in hub_order]
    assert len(set(cfg["doc_to_choice"])) == 77


def test_new_tasks_render_on_local_rows_in_the_hub_schema() -> None:
    import jinja2

    path = SHARED / "eval_sets" / "ag_news_test_slice" / "ag_news_test_first100perclass.jsonl"
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    import json

    row = json.loads(path.read_text().splitlines()[0])
    cfg = load_yaml(CONFIGS / "mtl_suite" / "mtl_ag_news.yaml", resolve_func=False)
    text = jinja2.Template(cfg["doc_to_text"]).render(**row)
    assert text.startswith(row["text"]) and text.endswith("Answer:")
    assert cfg["doc_to_choice"][row["label"]].startswith(row["label_text"].split("/")[0])


# ----------------------------------------------------------------- lm-eval's own CLI


VALIDATE_TEST = "test_lm_eval_validate_finds_every_suite_offline"


def _start_validate() -> BackgroundRun:
    """``python -m lm_eval validate --tasks SUITES --include_path task_configs``, hook off, offline."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "LM_EVAL_MTL_DISABLE": "1"}
    argv = [
        sys.executable,
        "-m",
        "lm_eval",
        "validate",
        "--tasks",
        ",".join(SUITES),
        "--include_path",
        str(CONFIGS),
    ]
    return BackgroundRun(argv, cwd=None, env=env, timeout=300)


@pytest.fixture(scope="module", autouse=True)
def validate_run(request: pytest.FixtureRequest) -> Iterator[BackgroundRun | None]:
    """Starts the ``lm_eval validate`` subprocess of :func:`test_lm_eval_validate_finds_every_suite_offline`
    with the module's first test, when that test is selected, so that it runs beside the module's
    in-process index of lm-eval's tasks (single-threaded both) instead of after it."""
    selected = any(
        item.module is request.module and item.originalname == VALIDATE_TEST  # type: ignore[attr-defined]
        for item in request.session.items
        if isinstance(item, pytest.Function)
    )
    run = _start_validate() if selected else None
    yield run
    if run is not None:
        run.stop()  # no-op once waited for


@pytest.mark.e2e
def test_lm_eval_validate_finds_every_suite_offline(validate_run: BackgroundRun | None) -> None:
    returncode, stdout, stderr = (validate_run or _start_validate()).wait()
    assert returncode == 0, stdout + stderr
    assert "All tasks found and valid" in stdout


# ----------------------------------------------------------------- real lm-eval tasks on local rows


def _local_task(yaml_path: Path, data_files: dict[str, str]) -> Any:
    """A real ConfigurableTask from our YAML, its Hub dataset swapped for local JSON rows."""
    from lm_eval.api.task import ConfigurableTask

    cfg = load_yaml(yaml_path, resolve_func=True)
    cfg.pop("dataset_name", None)
    cfg.update({"dataset_path": "json", "dataset_kwargs": {"data_files": data_files}})
    return ConfigurableTask(config=cfg)


_LOCAL = {  # task yaml -> (eval split, local file under shared/data/eval_sets, expected docs, stratum field)
    "mtl_suite_lite/mtl_lite_sst2.yaml": ("validation", "sst2_glue_dev/sst2_validation.jsonl", 500, "label"),
    "mtl_suite_lite/mtl_lite_rte.yaml": (
        "validation",
        "superglue_rte_val/rte_validation_hfschema.jsonl",
        277,
        None,
    ),
    "mtl_suite_lite/mtl_lite_ag_news.yaml": (
        "test",
        "ag_news_test_slice/ag_news_test_first100perclass.jsonl",
        400,
        None,
    ),
    "mtl_suite_lite/mtl_lite_gsm8k.yaml": ("test", "metabench_items/gsm8k.jsonl", 200, None),
    "mtl_suite_lite/mtl_lite_hellaswag.yaml": ("validation", "metabench_items/hellaswag.jsonl", 93, None),
    "mtl_suite_lite/mtl_lite_winogrande.yaml": ("validation", "metabench_items/winogrande.jsonl", 133, None),
    "mtl_suite_lite/mtl_lite_arc_challenge.yaml": ("test", "metabench_items/arc.jsonl", 145, None),
    "mtl_suite_lite/mtl_lite_mmlu_anatomy.yaml": ("test", "metabench_items/mmlu.jsonl", 20, "answer"),
}


@pytest.mark.parametrize("rel", sorted(_LOCAL))
def test_lite_task_builds_caps_and_renders_on_local_rows(rel: str, tmp_path: Path) -> None:
    import json

    split, data, expected, stratum = _LOCAL[rel]
    path = SHARED / "eval_sets" / data
    if not path.exists():
        pytest.skip(f"shared data absent: {path}")
    if "rte" in rel:  # the same 277 RTE items in SuperGLUE's schema; GLUE names the fields sentence1/2
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        path = tmp_path / "rte.jsonl"
        path.write_text(
            "\n".join(
                json.dumps({"sentence1": r["premise"], "sentence2": r["hypothesis"], "label": r["label"]})
                for r in rows
            )
        )
    files = {split: str(path), "train": str(path)}
    if rel.endswith("mmlu_anatomy.yaml"):
        files["dev"] = str(path)
    task = _local_task(CONFIGS / rel, files)
    docs = list(task.eval_docs)
    n_all = len(task.dataset[split])
    assert len(docs) == expected
    if stratum is not None:  # proportional allocation, within one item per stratum
        full = Counter(str(v) for v in task.dataset[split][stratum])
        kept = Counter(str(d[stratum]) for d in docs)
        for key, n in full.items():
            assert abs(kept[key] - expected * n / n_all) < 1.0, (key, kept[key], n)
    shots = 5 if "gsm8k" in rel or "mmlu" in rel else 0
    ctx = task.fewshot_context(docs[0], num_fewshot=shots)
    assert isinstance(ctx, (str, list)) and ctx
    target = task.doc_to_target(docs[0])
    if task.OUTPUT_TYPE == "multiple_choice" and not task.multiple_input:
        choices = task.doc_to_choice(docs[0])
        assert isinstance(target, int) and 0 <= target < len(choices)


def test_banking77_task_scores_against_hub_style_labels(tmp_path: Path) -> None:
    import csv
    import json

    folder = SHARED / "eval_sets" / "banking77"
    if not (folder / "test.csv").exists():
        pytest.skip(f"shared data absent: {folder}")
    names = sorted(json.loads((folder / "categories.json").read_text()), key=str.lower)
    with (folder / "test.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    hub_style = tmp_path / "test.jsonl"  # temporary, Hub schema: label = ClassLabel index
    hub_style.write_text(
        "\n".join(json.dumps({"text": r["text"], "label": names.index(r["category"])}) for r in rows)
    )
    task = _local_task(
        CONFIGS / "mtl_suite_lite" / "mtl_lite_banking77.yaml",
        {"test": str(hub_style), "train": str(hub_style)},
    )
    docs = list(task.eval_docs)
    assert len(task.dataset["test"]) == 3080 and len(docs) == 500
    assert set(Counter(d["label"] for d in docs).values()) == {6, 7}  # 500/77 = 6.49 per intent
    first = rows[0]
    choice = task.doc_to_choice(task.dataset["test"][0])[task.doc_to_target(task.dataset["test"][0])]
    assert choice == first["category"].replace("_", " ").rstrip("?").lower()
