"""MMMU for ``mtl_suite_vision``: lm-eval's own MMMU prompt and scoring, plus each item's chance level.

lm-eval's ``mmmu_val_<subject>`` tasks are generation tasks whose ``process_results`` returns ``acc``
only; a generation task logs one request per item, so the number of options of a multiple-choice
question is not in the samples' requests. The ``mtl_mmmu_val_<subject>`` mirrors call lm-eval's own
functions (``lm_eval.tasks.mmmu.utils``: same prompt, images and answer parsing) and add ``acc_chance``:

* a ``multiple-choice`` question with k options (``options``, a Python-literal list): 1/k. lm-eval's
  parser (MMMU's reference parser) picks an option at random when the response names none, so a random
  guesser scores exactly 1/k in expectation;
* an ``open`` question: 0 (free-form answers, no guessing floor).

The member declares ``chance_metric: acc_chance``: its chance level is the run's mean ``acc_chance``.
"""

from __future__ import annotations

import ast
from typing import Any

from lm_eval.tasks.mmmu import utils as _mmmu

doc_to_image = _mmmu.doc_to_image
doc_to_text = _mmmu.doc_to_text


def item_chance(doc: dict[str, Any]) -> float:
    """1/k for a k-option multiple-choice question, 0 for an open one."""
    if doc["question_type"] == "multiple-choice":
        k = len(ast.literal_eval(doc["options"]))
        if k < 1:
            raise ValueError(f"MMMU item {doc.get('id')!r}: a multiple-choice question without options.")
        return 1.0 / k
    return 0.0


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """lm-eval's MMMU ``acc`` and the item's ``acc_chance``."""
    out = dict(_mmmu.process_results(doc, results))
    out["acc_chance"] = item_chance(doc)
    return out
