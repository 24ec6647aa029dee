"""The cached prefix: passes that re-run only the chosen suffix give the whole model's numbers.

On the tiny random GPT-2 (tied head, Conv1D layers): the suffix's log-likelihoods and gradients
equal the whole model's (and lm-eval's), at theta and after a lookahead step, for the head alone,
head + last block and two blocks; a structure that is not the recognised one, a failed check on
the first batch, or no cache budget fall back to whole-model passes; a partial budget mixes both.
The shipped task index narrowed to the folders that mention a name resolves it as the whole
shipped index does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("lm_eval")

PAIRS = [
    ("Review: the film was wonderful\nSentiment:", " positive"),
    ("Question: What is two plus three?\nAnswer:", " 5"),
    ("Der Hund läuft im Park.\nEnglish:", " The dog runs in the park."),
    ("Goal: keep ice cream cold\nSolution:", " put it in the freezer"),
    ("Headline: markets rally\nTopic:", " business"),
    ("Question: What colour is the sky?\nAnswer:", " blue"),
    ("If you drop a glass on a stone floor,", " it will most likely break."),
]


@pytest.fixture(scope="module")
def hflm(tiny_hf_model: Path) -> Any:
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_hf_model), dtype="float32", device="cpu", batch_size=3)


@pytest.fixture(scope="module")
def scored(hflm: Any) -> tuple[Any, Any]:
    from lm_eval.api.instance import Instance

    from lm_eval_mtl.affinity.gradients import score_requests

    instances = [
        Instance(request_type="loglikelihood", doc={}, arguments=p, idx=0, metadata=("t", i, 1))
        for i, p in enumerate(PAIRS)
    ]
    return score_requests(hflm, instances, record=True)


def _passes(hflm: Any, enc: Any, ll: Any, blocks: int, head: bool, suffix_of: Any = None) -> dict[str, Any]:
    """Gradient pass and lookahead scores, with the cache (as built) and without it."""
    from lm_eval_mtl.affinity.gradients import gradient_pass
    from lm_eval_mtl.affinity.lookahead import moved_parameters, score_batches
    from lm_eval_mtl.affinity.params import parameter_scope
    from lm_eval_mtl.affinity.projection import GradientProjector
    from lm_eval_mtl.affinity.replay import cache_prefix, collate, find_suffix
    from lm_eval_mtl.affinity.spec import ParameterSubset

    model, device, n = hflm.model, torch.device("cpu"), len(enc)
    weights = np.linspace(-1.0, 1.0, n)
    out: dict[str, Any] = {}
    with parameter_scope(model, ParameterSubset(blocks=blocks, head=head)) as chosen:
        projector = GradientProjector(chosen.layers, 128, seed=1, device=device)
        cached = collate(hflm, enc, 2, device)
        plain = collate(hflm, enc, 2, device)
        found = find_suffix(model, blocks) if suffix_of is None else suffix_of(model)
        suffix = cache_prefix(hflm, model, found, cached, device)
        out["suffix"], out["n_cached"] = suffix, sum(b.state is not None for b in cached)
        out["batches"] = cached
        gen = torch.Generator().manual_seed(0)
        direction = [torch.randn(layer.weight.shape, generator=gen) for layer in chosen.layers]
        with projector.attached():
            for key, batches, suf in (("cached", cached, suffix), ("plain", plain, None)):
                gp = gradient_pass(
                    hflm, model, enc, weights, np.arange(n), n, chosen, projector,
                    batch_size=2, reference_ll=ll, batches=batches, suffix=suf,
                )  # fmt: skip
                with moved_parameters(chosen, direction, 0.05):
                    moved = score_batches(hflm, model, suf, [batches], [0, n])
                out[key] = (gp, score_batches(hflm, model, suf, [batches], [0, n]), moved)
    return out


@pytest.mark.parametrize(("blocks", "head"), [(1, True), (0, True), (2, False), (2, True)])
def test_the_suffix_gives_the_whole_models_log_likelihoods_and_gradients(
    hflm: Any, scored: tuple[Any, Any], blocks: int, head: bool
) -> None:
    ll, enc = scored
    out = _passes(hflm, enc, ll, blocks, head)
    assert out["suffix"] is not None and out["n_cached"] == 4  # 7 requests, batches of 2
    (gp_c, at_c, moved_c), (gp_p, at_p, moved_p) = out["cached"], out["plain"]
    np.testing.assert_allclose(at_c, ll, atol=2e-5)
    np.testing.assert_allclose(at_c, at_p, atol=1e-5)
    np.testing.assert_allclose(gp_c.ll, at_c, atol=1e-5)
    assert gp_c.max_ll_gap < 1e-4
    # float32 sums in another order: agreement to 1e-4 of the features' scale (entries near 0 included)
    scale = float(np.abs(gp_p.features).max())
    np.testing.assert_allclose(gp_c.features, gp_p.features, rtol=1e-4, atol=1e-4 * scale)
    for a, b in zip(gp_c.grad_sum, gp_p.grad_sum, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(moved_c, moved_p, atol=1e-5)
    assert np.abs(moved_c - at_c).max() > 1e-3  # the step moved the log-likelihoods


def test_the_lookahead_from_the_cache_equals_lm_evals_loglikelihood_after_the_step(
    hflm: Any, scored: tuple[Any, Any]
) -> None:
    from lm_eval.api.instance import Instance

    from lm_eval_mtl.affinity.gradients import score_requests
    from lm_eval_mtl.affinity.lookahead import moved_parameters, score_batches
    from lm_eval_mtl.affinity.params import parameter_scope
    from lm_eval_mtl.affinity.replay import cache_prefix, collate, find_suffix
    from lm_eval_mtl.affinity.spec import ParameterSubset

    ll, enc = scored
    model, device = hflm.model, torch.device("cpu")
    instances = [
        Instance(request_type="loglikelihood", doc={}, arguments=p, idx=0, metadata=("t", i, 1))
        for i, p in enumerate(PAIRS)
    ]
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with parameter_scope(model, ParameterSubset(blocks=1, head=True)) as chosen:
        batches = collate(hflm, enc, 3, device)
        suffix = cache_prefix(hflm, model, find_suffix(model, 1), batches, device)
        assert suffix is not None
        gen = torch.Generator().manual_seed(1)
        direction = [torch.randn(layer.weight.shape, generator=gen) for layer in chosen.layers]
        with moved_parameters(chosen, direction, 0.05):
            ours = score_batches(hflm, model, suffix, [batches], [0, len(enc)])
            theirs, _ = score_requests(hflm, instances)
    np.testing.assert_allclose(ours, theirs, atol=2e-5)
    assert np.abs(theirs - ll).max() > 1e-3
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_an_unrecognised_structure_falls_back_to_the_whole_model(hflm: Any, scored: tuple[Any, Any]) -> None:
    from lm_eval_mtl.affinity.replay import Suffix, find_suffix

    ll, enc = scored

    def wrong(model: Any) -> Any:  # a suffix that misses the final norm: the first batch's check fails
        return Suffix(find_suffix(model, 1).blocks, None, model.get_output_embeddings())

    out = _passes(hflm, enc, ll, 1, True, suffix_of=wrong)
    assert out["suffix"] is None and out["n_cached"] == 0
    np.testing.assert_allclose(out["cached"][1], ll, atol=2e-5)
    # no final norm to be found: not recognised
    torch_nn = torch.nn
    plain = torch_nn.Module()
    plain.blocks = torch_nn.ModuleList([torch_nn.Linear(2, 2)])
    plain.get_output_embeddings = lambda: torch_nn.Linear(2, 3)  # type: ignore[method-assign]
    assert find_suffix(plain, 1) is None
    assert find_suffix(plain, 0) is not None  # the head alone needs no structure


def test_logit_post_processing_is_not_recognised(hflm: Any) -> None:
    from lm_eval_mtl.affinity.replay import find_suffix

    model = hflm.model
    assert find_suffix(model, 1) is not None
    model.config.final_logit_softcapping = 30.0
    try:
        assert find_suffix(model, 1) is None
    finally:
        del model.config.final_logit_softcapping


def test_the_cache_budget_bounds_what_is_kept(
    hflm: Any, scored: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from lm_eval_mtl.affinity.replay import CACHE_ENV, _tensor_bytes

    ll, enc = scored
    monkeypatch.setenv(CACHE_ENV, "0")
    out = _passes(hflm, enc, ll, 1, True)
    assert out["suffix"] is None and out["n_cached"] == 0
    monkeypatch.delenv(CACHE_ENV)
    sizes = [_tensor_bytes(b.state, set()) for b in _passes(hflm, enc, ll, 1, True)["batches"]]
    monkeypatch.setenv(CACHE_ENV, str((sizes[0] + sizes[1] + 1) / 2**20))  # room for two batches
    out = _passes(hflm, enc, ll, 1, True)
    assert out["n_cached"] == 2
    assert out["suffix"] is not None and 0 < out["n_cached"] < 4
    np.testing.assert_allclose(out["cached"][1], out["plain"][1], atol=1e-5)
    np.testing.assert_allclose(out["cached"][2], out["plain"][2], atol=1e-5)
    np.testing.assert_allclose(out["cached"][0].features, out["plain"][0].features, rtol=1e-4, atol=1e-7)


def test_the_narrowed_shipped_index_resolves_every_name_as_the_whole_shipped_index() -> None:
    from lm_eval.tasks import TaskManager

    from lm_eval_mtl.affinity.requests import shipped_folders
    from lm_eval_mtl.suites.loading import task_config_dir

    root = task_config_dir()
    whole = TaskManager(include_path=[str(root)], include_defaults=False).task_index
    narrow: dict[tuple[str, ...], Any] = {}
    for name, entry in whole.items():
        folders = shipped_folders(root, [name])
        assert folders, name
        key = tuple(folders)
        if key not in narrow:
            narrow[key] = TaskManager(include_path=list(key), include_defaults=False).task_index
        got = narrow[key].get(name)
        assert got is not None, name
        assert (got.kind, got.yaml_path) == (entry.kind, entry.yaml_path), name
