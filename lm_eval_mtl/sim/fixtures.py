"""Synthetic lm-eval tasks for the simulated backend: local JSONL data and YAML, written on demand.

:func:`write_fixture_tasks` writes a small suite (``simfx_suite``) of four tasks
that cover the request types the simulator answers: a 4-way multiple-choice task
(``acc``, ``acc_norm``), a binary classification task, a short-answer generation
task (``exact_match``) and a "translation" task scored with chrF. The texts are
made of project-written word lists (no third-party data). YAML files name their
data with absolute paths, because lm-eval resolves relative ``data_files``
against the working directory.

The group carries a ``metadata.mtl`` spec (equal weights), so the project's
composite plugin adds ``mtl_composite`` to the group row when it is installed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["FIXTURE_GROUP", "FIXTURE_TASKS", "FixtureSuite", "write_fixture_tasks"]

FIXTURE_GROUP = "simfx_suite"
"""Name of the fixture group."""

FIXTURE_TASKS: tuple[str, ...] = ("simfx_mc4", "simfx_binary", "simfx_arith", "simfx_translate")
"""Names of the fixture tasks, in member order."""

_WORDS = (
    "river stone window garden letter market summer winter candle mirror bridge forest "
    "teacher doctor farmer sailor silver golden quiet bright narrow gentle rapid ancient "
    "carries builds follows watches opens closes paints reads finds keeps"
).split()
_GERMANISH = (
    "fluss stein fenster garten brief markt sommer winter kerze spiegel bruecke wald "
    "lehrer arzt bauer seemann silber golden still hell schmal sanft schnell alt "
    "traegt baut folgt sieht oeffnet schliesst malt liest findet haelt"
).split()


@dataclass(frozen=True)
class FixtureSuite:
    """Where :func:`write_fixture_tasks` wrote the suite."""

    folder: Path
    """Folder to pass as ``--include_path`` (or ``TaskManager(include_path=...)``)."""
    group: str
    """Group name (``simfx_suite``)."""
    tasks: tuple[str, ...]
    """Task names."""
    n_items: int
    """Items per task."""


def _sentence(rng: np.random.Generator, n: int) -> list[int]:
    return [int(i) for i in rng.integers(0, len(_WORDS), size=n)]


def _write_jsonl(path: Path, rows: list[dict[str, object]]) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def write_fixture_tasks(folder: str | Path, n_items: int = 60, *, rng: int = 0) -> FixtureSuite:
    """Write the fixture suite (YAML + JSONL) into ``folder``.

    Args:
        folder: Destination folder (created if needed).
        n_items: Items per task (>= 2).
        rng: Integer seed of the synthetic texts and labels.

    Returns:
        Where the suite lives and its names.

    Raises:
        ValueError: ``n_items`` < 2 or ``rng`` is not a non-negative int.
    """
    if isinstance(n_items, bool) or not isinstance(n_items, int) or n_items < 2:
        raise ValueError(f"`n_items` must be an int >= 2; got {n_items!r}.")
    if isinstance(rng, bool) or not isinstance(rng, int) or rng < 0:
        raise ValueError(f"`rng` must be a non-negative int seed; got {rng!r}.")
    out = Path(folder).resolve()
    out.mkdir(parents=True, exist_ok=True)
    gen = np.random.default_rng(rng)

    mc_rows: list[dict[str, object]] = []
    for i in range(n_items):
        words = _sentence(gen, 4)
        choices = [" ".join(_WORDS[(w + 3 * j) % len(_WORDS)] for w in words[:2]) for j in range(4)]
        # choice lengths differ, so acc and acc_norm can disagree for a real model
        choices = [
            c + ("" if j % 2 else " " + _WORDS[(words[3] + j) % len(_WORDS)]) for j, c in enumerate(choices)
        ]
        mc_rows.append(
            {
                "id": i,
                "question": f"Which phrase completes: {' '.join(_WORDS[w] for w in words)}?",
                "choices": choices,
                "label": int(gen.integers(0, 4)),
            }
        )
    bin_rows: list[dict[str, object]] = [
        {
            "id": i,
            "sentence": " ".join(_WORDS[w] for w in _sentence(gen, 6)),
            "label": int(gen.integers(0, 2)),
        }
        for i in range(n_items)
    ]
    arith_rows: list[dict[str, object]] = []
    for i in range(n_items):
        a, b = (int(x) for x in gen.integers(2, 60, size=2))
        arith_rows.append({"id": i, "question": f"What is {a} plus {b}?", "answer": str(a + b)})
    tr_rows: list[dict[str, object]] = []
    for i in range(n_items):
        idx = _sentence(gen, int(gen.integers(5, 10)))
        tr_rows.append(
            {
                "id": i,
                "source": " ".join(_GERMANISH[w] for w in idx),
                "reference": " ".join(_WORDS[w] for w in idx).capitalize() + ".",
            }
        )
    data = {
        "simfx_mc4": mc_rows,
        "simfx_binary": bin_rows,
        "simfx_arith": arith_rows,
        "simfx_translate": tr_rows,
    }
    for name, rows in data.items():
        _write_jsonl(out / f"{name}.jsonl", rows)

    def _head(name: str) -> str:
        return (
            f"task: {name}\n"
            "dataset_path: json\n"
            f"dataset_kwargs:\n  data_files:\n    test: {json.dumps(str(out / (name + '.jsonl')))}\n"
            "test_split: test\n"
        )

    yamls = {
        "simfx_mc4": _head("simfx_mc4") + "output_type: multiple_choice\n"
        'doc_to_text: "{{question}}\\nAnswer:"\n'
        'doc_to_choice: "{{choices}}"\n'
        "doc_to_target: label\n"
        "metric_list:\n  - metric: acc\n  - metric: acc_norm\n"
        "metadata:\n  version: 1.0\n",
        "simfx_binary": _head("simfx_binary") + "output_type: multiple_choice\n"
        'doc_to_text: "{{sentence}}\\nSentiment:"\n'
        'doc_to_choice: ["negative", "positive"]\n'
        "doc_to_target: label\n"
        "metric_list:\n  - metric: acc\n"
        "metadata:\n  version: 1.0\n",
        "simfx_arith": _head("simfx_arith") + "output_type: generate_until\n"
        'doc_to_text: "Question: {{question}}\\nAnswer:"\n'
        "doc_to_target: answer\n"
        'generation_kwargs:\n  until: ["\\n"]\n  do_sample: false\n'
        "metric_list:\n  - metric: exact_match\n    ignore_case: true\n    ignore_punctuation: true\n"
        "metadata:\n  version: 1.0\n",
        "simfx_translate": _head("simfx_translate") + "output_type: generate_until\n"
        'doc_to_text: "Translate: {{source}}\\nEnglish:"\n'
        "doc_to_target: reference\n"
        'generation_kwargs:\n  until: ["\\n"]\n  do_sample: false\n'
        "metric_list:\n  - metric: chrf\n"
        "metadata:\n  version: 1.0\n",
    }
    for name, text in yamls.items():
        (out / f"{name}.yaml").write_text(text, encoding="utf-8")
    group = (
        f"group: {FIXTURE_GROUP}\n"
        "task:\n" + "".join(f"  - {t}\n" for t in FIXTURE_TASKS) + "aggregate_metric_list:\n"
        "  - metric: acc\n    weight_by_size: false\n"
        "metadata:\n"
        "  version: 1.0\n"
        "  mtl:\n"
        "    schema: 1\n"
        "    kind: suite\n"
        "    weights: equal\n"
        "    members:\n"
        "      - {task: simfx_mc4, metric: acc, chance: 0.25, ceiling: 1.0, family: qa}\n"
        "      - {task: simfx_binary, metric: acc, chance: 0.5, ceiling: 1.0, family: classification}\n"
        "      - {task: simfx_arith, metric: exact_match, chance: 0.0, ceiling: 1.0, family: math,"
        " output_type: generate_until}\n"
        "      - {task: simfx_translate, metric: chrf, chance: 0.0, ceiling: 100.0, family: translation,"
        " output_type: generate_until}\n"
    )
    (out / f"{FIXTURE_GROUP}.yaml").write_text(group, encoding="utf-8")
    return FixtureSuite(folder=out, group=FIXTURE_GROUP, tasks=FIXTURE_TASKS, n_items=n_items)
