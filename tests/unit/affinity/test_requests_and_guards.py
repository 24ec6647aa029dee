"""lm-eval tasks -> items with their gold-answer requests; the guards around lm-eval's internals."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

pytest.importorskip("lm_eval")

from lm_eval_mtl.affinity.guards import check_backend, lm_eval_internal, require_attribute  # noqa: E402
from lm_eval_mtl.affinity.requests import _covered, load_task_items  # noqa: E402
from lm_eval_mtl.errors import MTLError  # noqa: E402


def test_items_carry_lm_evals_own_requests_and_gold_answers() -> None:
    items = load_task_items(["mtl_demo_sentiment", "mtl_demo_closed_qa"], limit=3)
    sentiment, qa = items
    assert (sentiment.name, sentiment.loss, sentiment.n_items) == ("mtl_demo_sentiment", "choice_ce", 3)
    np.testing.assert_array_equal(sentiment.starts, [0, 2, 4, 6])
    assert [inst.args[1] for inst in sentiment.instances[:2]] == [" negative", " positive"]
    assert all(g in ((0,), (1,)) for g in sentiment.gold)
    assert all(
        inst.args[0].startswith("Review: ") and inst.args[0].endswith("Sentiment:")
        for inst in sentiment.instances
    )
    assert (qa.loss, qa.output_type, qa.n_items) == ("nll", "generate_until", 3)
    for inst in qa.instances:
        assert inst.request_type == "loglikelihood"
        assert inst.args[0].startswith("Question: ") and inst.args[0].endswith("Answer:")
        assert inst.args[1] == " " + str(inst.doc["answer"])  # target_delimiter + reference
    np.testing.assert_array_equal(qa.doc_ids, [0, 1, 2])


def test_a_fractional_limit_and_the_fewshot_setting_go_through_lm_eval() -> None:
    (items,) = load_task_items(["mtl_demo_topic"], limit=0.1, num_fewshot=1)
    assert items.num_fewshot == 1
    assert 0 < items.n_items < 100
    assert items.instances[0].args[0].count("Headline:") == 2  # one shot, then the item


def test_the_narrow_index_covers_a_group_only_when_every_member_is_indexed() -> None:
    def entry(kind: str, cfg: dict[str, Any] | None = None) -> Any:
        return SimpleNamespace(kind=SimpleNamespace(name=kind), cfg=cfg)

    index = {
        "a": entry("TASK"),
        "g": entry("GROUP", {"task": ["a", {"task": "inline", "dataset_path": "json"}]}),
        "h": entry("GROUP", {"task": ["a", "sst2"]}),
        "t": entry("TAG"),
    }
    assert _covered(index, "a") and _covered(index, "g")
    assert not _covered(index, "h")  # sst2 lives in lm-eval's own folders
    assert not _covered(index, "t") and not _covered(index, "missing")


def test_missing_internals_name_the_supported_lm_eval_versions() -> None:
    with pytest.raises(MTLError, match=r"lm-eval's `lm_eval.api.nothing.here`.*install lm-eval==0.4.13"):
        lm_eval_internal("lm_eval.api.nothing:here")
    with pytest.raises(MTLError, match=r"`Task.build_all_requests`"):
        require_attribute(object(), "build_all_requests", "Task")
    assert lm_eval_internal("lm_eval.nope:x", "lm_eval.api.instance:Instance").__name__ == "Instance"


def test_a_backend_without_a_torch_model_is_refused() -> None:
    pytest.importorskip("torch")
    api_like = SimpleNamespace(model="gpt-4o", loglikelihood=lambda requests: [])  # as an API backend
    with pytest.raises(MTLError, match=r"--model openai: affinity needs a backend that holds a torch model"):
        check_backend(api_like, "openai")
