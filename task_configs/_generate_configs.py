"""Regenerate the group YAMLs of the shipped suites and the lite MMLU task YAMLs.

The member lists are long (57 MMLU subjects, 24 BBH subtasks) and repeated across a suite, its
family groups and its lite twin, so they are written by this script rather than by hand. Run it
after changing a member, then bump ``metadata.version`` of every group whose scores could move
(the version is written below as ``VERSION``) and update the READMEs' member tables::

    python task_configs/_generate_configs.py

It reads lm-eval's installed task YAMLs (MMLU subjects and descriptions, BBH choice counts, the
leaderboard subtask lists, the MMMU subjects) and writes only under ``task_configs/`` (never ``mtl_demo/``).
``tests/unit/test_task_configs.py`` checks the result against lm-eval's loader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lm_eval.tasks
import yaml

LM = Path(lm_eval.tasks.__file__).parent
ROOT = Path(__file__).resolve().parent
VERSION = 1.0
FLAGSHIP_VERSION = 1.1
"""``metadata.version`` of ``mtl_suite`` and ``mtl_suite_lite`` (1.1: the search family joined)."""
HEADER = (
    "# Written by task_configs/_generate_configs.py; the member table in this folder's README.md must match.\n"
    "# Bump metadata.version whenever a score could move.\n"
)
AGG = [{"metric": "mtl_composite", "filter_list": ["none"]}]
FAMILIES = ("classification", "qa", "translation", "commonsense", "knowledge", "math", "intent", "search")
MSMARCO_CHANCE = 7381 / 25200
"""E[RR@10] of a random ranking of 10 candidates with one relevant (H_10 / 10): the spec's documented
chance of ``mtl_msmarco``; the composite takes the run's ``rr10_chance`` instead (``chance_metric``)."""


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """Safe loader that ignores lm-eval's ``!function`` tags."""


_Loader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.load(fh, Loader=_Loader)  # noqa: S506 - SafeLoader subclass
    assert isinstance(data, dict), path
    return data


def _member(
    task: str,
    metric: str,
    chance: float,
    family: str,
    *,
    filter: str = "none",
    ceiling: float = 1.0,
    output_type: str = "multiple_choice",
    cluster: str | None = None,
    label: str | None = None,
    overlap: str | None = None,
    chance_items: bool | None = None,
    chance_metric: str | None = None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "task": task,
        "metric": metric,
        "filter": filter,
        "chance": chance,
        "ceiling": ceiling,
        "family": family,
        "output_type": output_type,
        "cluster": cluster,
    }
    if label:
        out["label"] = label
    if overlap:
        out["overlap"] = overlap
    if chance_items is not None:
        out["chance_items"] = chance_items
    if chance_metric is not None:
        out["chance_metric"] = chance_metric
    return out


def _dump(path: Path, doc: dict[str, Any], header: str = HEADER) -> None:
    path.write_text(
        header + yaml.safe_dump(doc, sort_keys=False, width=110, allow_unicode=True), encoding="utf-8"
    )


def mmlu_subjects() -> list[dict[str, Any]]:
    """Return lm-eval's 57 default MMLU subject task configs, sorted by task name."""
    subjects = [_read(p) for p in sorted((LM / "mmlu" / "default").glob("mmlu_*.yaml"))]
    assert len(subjects) == 57, len(subjects)
    return subjects


def flagship_members(lite: bool) -> dict[str, list[dict[str, Any]]]:
    """Return the members of ``mtl_suite`` (or ``mtl_suite_lite``) per family."""

    def name(task: str) -> str:
        if not lite:
            return task
        return "mtl_lite_" + task.removeprefix("mtl_")

    gen = "generate_until"
    return {
        "classification": [
            _member(name("sst2"), "acc", 0.5, "classification"),
            _member(name("rte"), "acc", 0.5, "classification"),
            _member(name("mtl_ag_news"), "acc", 0.25, "classification"),
        ],
        "qa": [
            _member(name("boolq"), "acc", 0.5, "qa", cluster="passage"),
            _member(name("arc_easy"), "acc", 0.25, "qa"),
            _member(name("arc_challenge"), "acc_norm", 0.25, "qa"),
            _member(name("triviaqa"), "exact_match", 0.0, "qa", filter="remove_whitespace", output_type=gen),
        ],
        "translation": [
            _member(name("wmt16-de-en"), "chrf", 0.0, "translation", ceiling=100.0, output_type=gen),
            _member(name("wmt16-ro-en"), "chrf", 0.0, "translation", ceiling=100.0, output_type=gen),
        ],
        "commonsense": [
            _member(name("hellaswag"), "acc_norm", 0.25, "commonsense"),
            _member(name("winogrande"), "acc", 0.5, "commonsense"),
            _member(name("piqa"), "acc", 0.5, "commonsense"),
        ],
        "knowledge": [_member(name(s["task"]), "acc", 0.25, "knowledge") for s in mmlu_subjects()],
        "math": [
            _member(name("gsm8k"), "exact_match", 0.0, "math", filter="flexible-extract", output_type=gen)
        ],
        "intent": [_member(name("mtl_banking77"), "acc", 1.0 / 77, "intent")],
        # per-query RR@10 of a ranking by P(" Yes" | passage, query); chance = the run's mean rr10_chance
        "search": [
            _member(name("mtl_msmarco"), "rr10", MSMARCO_CHANCE, "search", chance_metric="rr10_chance")
        ],
    }


def write_flagship(lite: bool) -> None:
    """Write the suite group and its eight family groups."""
    suite = "mtl_suite_lite" if lite else "mtl_suite"
    folder = ROOT / suite
    families = flagship_members(lite)
    assert tuple(families) == FAMILIES
    for fam, members in families.items():
        if fam == "knowledge" and not lite:
            listed: list[Any] = ["mmlu"]  # lm-eval's MMLU group; the spec lists its 57 leaves
        else:
            listed = [m["task"] for m in members]
        group = f"{suite}_{fam}"
        meta = {
            "version": VERSION,
            "mtl": {"schema": 1, "kind": "family", "weights": "equal", "members": members},
        }
        doc = {
            "group": group,
            "group_alias": f"{suite} {fam}",
            "task": listed,
            "aggregate_metric_list": AGG,
            "metadata": meta,
        }
        _dump(folder / f"_{group}.yaml", doc)
    members = [m for ms in families.values() for m in ms]
    meta = {
        "version": FLAGSHIP_VERSION,
        "mtl": {"schema": 1, "kind": "suite", "weights": "family", "members": members},
    }
    doc = {
        "group": suite,
        "group_alias": suite,
        "task": [f"{suite}_{fam}" for fam in families],
        "aggregate_metric_list": AGG,
        "metadata": meta,
    }
    _dump(folder / f"_{suite}.yaml", doc)


def write_lite_mmlu() -> None:
    """Write one ``mtl_lite_mmlu_<subject>`` YAML per subject (the template holds the rest)."""
    for s in mmlu_subjects():
        doc = {
            "include": "_mmlu_template_yaml",
            "task": "mtl_lite_" + s["task"],
            "task_alias": s["dataset_name"],
            "dataset_name": s["dataset_name"],
            "description": s["description"],
        }
        header = f"# Written by task_configs/_generate_configs.py from lm-eval's mmlu/default/{s['task']}.yaml (same prompt), capped.\n"
        _dump(ROOT / "mtl_suite_lite" / f"mtl_lite_{s['task']}.yaml", doc, header)


def write_openllm_v1() -> None:
    """Write ``mtl_openllm_v1``: the v1 leaderboard's six benchmarks and shots; families = benchmarks."""
    members = [
        _member("arc_challenge", "acc_norm", 0.25, "arc_challenge"),
        _member("hellaswag", "acc_norm", 0.25, "hellaswag"),
        *[_member(s["task"], "acc", 0.25, "mmlu") for s in mmlu_subjects()],
        # mc2 is the probability mass on the true answers, not a 1-of-k pick: its chance is not 1/k
        _member("truthfulqa_mc2", "acc", 0.46, "truthfulqa_mc2", chance_items=False),
        _member("winogrande", "acc", 0.5, "winogrande"),
        _member("gsm8k", "exact_match", 0.0, "gsm8k", filter="strict-match", output_type="generate_until"),
    ]
    doc = {
        "group": "mtl_openllm_v1",
        "group_alias": "mtl_openllm_v1",
        "task": [
            {"task": "arc_challenge", "num_fewshot": 25},
            {"task": "hellaswag", "num_fewshot": 10},
            {"group": "mmlu", "num_fewshot": 5},
            {"task": "truthfulqa_mc2", "num_fewshot": 0},
            {"task": "winogrande", "num_fewshot": 5},
            {"task": "gsm8k", "num_fewshot": 5},
        ],
        "aggregate_metric_list": AGG,
        "metadata": {
            "version": VERSION,
            "mtl": {"schema": 1, "kind": "suite", "weights": "redundancy-openllm_v1", "members": members},
        },
    }
    _dump(ROOT / "mtl_openllm_v1" / "_mtl_openllm_v1.yaml", doc)


def write_openllm_v2() -> None:
    """Write ``mtl_openllm_v2``: lm-eval's leaderboard_* leaf tasks; families = the six benchmarks."""
    gen = "generate_until"
    ifeval = "leaderboard_ifeval"
    members = [
        _member(
            ifeval,
            "inst_level_strict_acc",
            0.0,
            "ifeval",
            output_type=gen,
            label=f"{ifeval}:inst_level_strict_acc",
        ),
        _member(
            ifeval,
            "prompt_level_strict_acc",
            0.0,
            "ifeval",
            output_type=gen,
            label=f"{ifeval}:prompt_level_strict_acc",
        ),
    ]
    bbh = LM / "leaderboard" / "bbh_mc"
    for task in _read(bbh / "_leaderboard_bbh.yaml")["task"]:
        k = len(_read(bbh / (task.removeprefix("leaderboard_bbh_") + ".yaml"))["doc_to_choice"])
        members.append(_member(task, "acc_norm", 1.0 / k, "bbh"))
    for task in _read(LM / "leaderboard" / "math" / "_leaderboard_math.yaml")["task"]:
        members.append(_member(task, "exact_match", 0.0, "math", output_type=gen))
    for task in ("leaderboard_gpqa_diamond", "leaderboard_gpqa_extended", "leaderboard_gpqa_main"):
        # diamond is inside main, main inside extended: one overlap key (errors added as correlated)
        members.append(_member(task, "acc_norm", 0.25, "gpqa", overlap="gpqa"))
    # k per MuSR subtask: the leaderboard's normalization documentation (1/2, 1/5, 1/3)
    for task, k in (
        ("leaderboard_musr_murder_mysteries", 2),
        ("leaderboard_musr_object_placements", 5),
        ("leaderboard_musr_team_allocation", 3),
    ):
        members.append(_member(task, "acc_norm", 1.0 / k, "musr"))
    members.append(_member("leaderboard_mmlu_pro", "acc", 0.1, "mmlu_pro"))
    doc = {
        "group": "mtl_openllm_v2",
        "group_alias": "mtl_openllm_v2",
        "task": [
            "leaderboard_ifeval",
            "leaderboard_bbh",
            "leaderboard_math_hard",
            "leaderboard_gpqa",
            "leaderboard_musr",
            "leaderboard_mmlu_pro",
        ],
        "aggregate_metric_list": AGG,
        "metadata": {
            "version": VERSION,
            "mtl": {
                "schema": 1,
                "kind": "suite",
                "weights": "family",
                "leaderboard": "openllm_v2",
                "members": members,
            },
        },
    }
    _dump(ROOT / "mtl_openllm_v2" / "_mtl_openllm_v2.yaml", doc)


VISION_VERSION = 1.0
"""``metadata.version`` of ``mtl_suite_vision`` and its families."""
MMMU_CHANCE = 0.25
"""Documented chance of an ``mtl_mmmu_val_<subject>`` member (every question 4-option multiple choice);
the composite takes the run's ``acc_chance`` (1/k per multiple-choice question, 0 per open one) instead."""


def mmmu_subjects() -> list[dict[str, Any]]:
    """Return lm-eval's 30 ``mmmu_val_<subject>`` task configs (task, task_alias, dataset_name), sorted by task."""
    subjects = [_read(p) for p in sorted((LM / "mmmu").glob("mmmu_*.yaml"))]
    assert len(subjects) == 30, len(subjects)
    return subjects


def vision_members() -> dict[str, list[dict[str, Any]]]:
    """Return the members of ``mtl_suite_vision`` per family."""
    gen = "generate_until"
    return {
        "multidiscipline": [
            _member(
                "mtl_" + s["task"],
                "acc",
                MMMU_CHANCE,
                "multidiscipline",
                output_type=gen,
                chance_metric="acc_chance",
            )
            for s in mmmu_subjects()
        ],
        "charts": [_member("chartqa", "relaxed_accuracy", 0.0, "charts", output_type=gen)],
    }


def write_vision() -> None:
    """Write ``mtl_suite_vision``: the MMMU mirrors (per-item chance), its family groups and the suite."""
    folder = ROOT / "mtl_suite_vision"
    for s in mmmu_subjects():
        doc = {
            "include": "_mmmu_template_yaml",
            "task": "mtl_" + s["task"],
            "task_alias": s["task_alias"],
            "dataset_name": s["dataset_name"],
        }
        header = (
            f"# Written by task_configs/_generate_configs.py from lm-eval's mmmu/{s['task']}.yaml (same prompt and "
            "scoring), plus the per-item chance level acc_chance.\n"
        )
        _dump(folder / f"mtl_{s['task']}.yaml", doc, header)
    families = vision_members()
    for fam, members in families.items():
        group = f"mtl_suite_vision_{fam}"
        doc = {
            "group": group,
            "group_alias": f"mtl_suite_vision {fam}",
            "task": [m["task"] for m in members],
            "aggregate_metric_list": AGG,
            "metadata": {
                "version": VISION_VERSION,
                "mtl": {"schema": 1, "kind": "family", "weights": "equal", "members": members},
            },
        }
        _dump(folder / f"_{group}.yaml", doc)
    doc = {
        "group": "mtl_suite_vision",
        "group_alias": "mtl_suite_vision",
        "task": [f"mtl_suite_vision_{fam}" for fam in families],
        "aggregate_metric_list": AGG,
        "metadata": {
            "version": VISION_VERSION,
            "mtl": {
                "schema": 1,
                "kind": "suite",
                "weights": "family",
                "members": [m for ms in families.values() for m in ms],
            },
        },
    }
    _dump(folder / "_mtl_suite_vision.yaml", doc)


def main() -> None:
    """Write every generated YAML."""
    write_flagship(lite=False)
    write_flagship(lite=True)
    write_lite_mmlu()
    write_openllm_v1()
    write_openllm_v2()
    write_vision()


if __name__ == "__main__":
    main()
