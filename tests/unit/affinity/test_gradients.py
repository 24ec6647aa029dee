"""The gradient pass on lm-eval's hf backend: lm-eval's numbers, exact projections, restored models.

On the tiny random GPT-2 (tied head, Conv1D layers): the gradient pass scores what lm-eval's
``loglikelihood`` scores, the per-item projected features equal the explicit projection
P_out G P_in^T of each item's autograd gradient, the summed weight gradients are the items'
gradients, and the parameter scope and the lookahead step leave the model exactly as it was.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("lm_eval")


@pytest.fixture(scope="module")
def hflm(tiny_hf_model: Path) -> Any:
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_hf_model), dtype="float32", device="cpu", batch_size=3)


def _instances(pairs: list[tuple[str, str]]) -> list[Any]:
    from lm_eval.api.instance import Instance

    return [
        Instance(request_type="loglikelihood", doc={}, arguments=p, idx=0, metadata=("t", i, 1))
        for i, p in enumerate(pairs)
    ]


PAIRS = [
    ("Review: the film was wonderful\nSentiment:", " positive"),
    ("Question: What is two plus three?\nAnswer:", " 5"),
    ("Der Hund läuft im Park.\nEnglish:", " The dog runs in the park."),
    ("Goal: keep ice cream cold\nSolution:", " put it in the freezer"),
    ("Headline: markets rally\nTopic:", " business"),
]


def test_projected_features_are_the_projections_of_each_items_gradient(hflm: Any) -> None:
    from lm_eval_mtl.affinity.gradients import gradient_pass, score_requests
    from lm_eval_mtl.affinity.params import parameter_scope
    from lm_eval_mtl.affinity.projection import GradientProjector
    from lm_eval_mtl.affinity.spec import ParameterSubset

    model = hflm.model
    instances = _instances(PAIRS)
    ll, enc = score_requests(hflm, instances, record=True)
    direct = np.array([x[0] for x in hflm.loglikelihood(instances, disable_tqdm=True)])
    np.testing.assert_allclose(ll, direct)
    weights = np.array([0.7, -1.0, 0.3, -0.2, 1.5])
    tied_before = model.lm_head.weight is model.transformer.wte.weight
    with parameter_scope(model, ParameterSubset(blocks=1, head=True)) as chosen:
        assert chosen.untied_head and tied_before
        assert [layer.name for layer in chosen.layers][-1] == "lm_head"
        projector = GradientProjector(chosen.layers, 256, seed=3, device=torch.device("cpu"))
        with projector.attached():
            gp = gradient_pass(
                hflm, model, enc, weights, np.arange(5), 5, chosen, projector, batch_size=2, reference_ll=ll
            )
        assert gp.max_ll_gap < 1e-4
        # reference: one item at a time, full autograd gradients, explicit projection
        expected = np.zeros_like(gp.features)
        total = [torch.zeros_like(layer.weight) for layer in chosen.layers]
        for i, e in enumerate(enc):
            toks = list(e.context) + list(e.continuation)
            inp = torch.tensor([toks[:-1]])
            logp = torch.log_softmax(model(inp).logits[0], dim=-1)
            n = len(e.continuation)
            ll_i = logp[-n:].gather(1, torch.tensor(e.continuation)[:, None]).sum()
            assert float(ll_i.detach()) == pytest.approx(ll[i], abs=1e-4)
            grads = torch.autograd.grad(weights[i] * ll_i, [layer.weight for layer in chosen.layers])
            parts = []
            for layer, g, (p_out, p_in) in zip(chosen.layers, grads, projector._factors, strict=True):
                g_lin = g if isinstance(layer.module, torch.nn.Linear) else g.T  # Conv1D stores (in, out)
                parts.append((p_out @ g_lin @ p_in.T).reshape(-1))
                total[chosen.layers.index(layer)] += g
            expected[i] = torch.cat(parts).double().numpy()
        np.testing.assert_allclose(gp.features, expected, rtol=2e-4, atol=1e-6)
        for s, t in zip(gp.grad_sum, total, strict=True):
            np.testing.assert_allclose(s.numpy(), t.detach().numpy(), rtol=2e-4, atol=1e-6)
    assert model.lm_head.weight is model.transformer.wte.weight  # tie restored
    assert all(p.requires_grad for p in model.parameters())


def test_projection_factors_are_fixed_by_the_seed_and_preserve_inner_products_on_average() -> None:
    from lm_eval_mtl.affinity.params import ChosenLayer
    from lm_eval_mtl.affinity.projection import GradientProjector

    layer = ChosenLayer("x.0.mlp", torch.nn.Linear(24, 16), 24, 16, False)
    a = GradientProjector([layer], 64, seed=5, device="cpu")
    b = GradientProjector([layer], 64, seed=5, device="cpu")
    c = GradientProjector([layer], 64, seed=6, device="cpu")
    assert a.dim == 64 and a.projections[0].k_out * a.projections[0].k_in == 64
    assert torch.equal(a._factors[0][0], b._factors[0][0])
    assert not torch.equal(a._factors[0][0], c._factors[0][0])
    gen = torch.Generator().manual_seed(0)
    g1, g2 = torch.randn(16, 24, generator=gen), torch.randn(16, 24, generator=gen)
    g2 = g2 + g1  # correlated
    est = []
    for seed in range(100):
        p_out, p_in = GradientProjector([layer], 64, seed=seed, device="cpu")._factors[0]
        est.append(float(((p_out @ g1 @ p_in.T) * (p_out @ g2 @ p_in.T)).sum()))
    exact = float((g1 * g2).sum())
    assert np.mean(est) == pytest.approx(exact, rel=0.15)


def test_the_lookahead_step_is_undone_bit_for_bit(hflm: Any) -> None:
    from lm_eval_mtl.affinity.lookahead import moved_parameters
    from lm_eval_mtl.affinity.params import parameter_scope
    from lm_eval_mtl.affinity.spec import ParameterSubset

    model = hflm.model
    before = {k: v.clone() for k, v in model.state_dict().items()}
    instances = _instances(PAIRS[:2])
    base = [x[0] for x in hflm.loglikelihood(instances, disable_tqdm=True)]
    with parameter_scope(model, ParameterSubset(blocks=2, head=False)) as chosen:
        gen = torch.Generator().manual_seed(0)  # (a constant direction would vanish in the layer norms)
        direction = [torch.randn(layer.weight.shape, generator=gen) for layer in chosen.layers]
        with moved_parameters(chosen, direction, 0.05):
            moved = [x[0] for x in hflm.loglikelihood(instances, disable_tqdm=True)]
    assert moved != pytest.approx(base)
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k]), k
    assert [x[0] for x in hflm.loglikelihood(instances, disable_tqdm=True)] == base


def test_a_subset_the_model_cannot_give_is_refused(hflm: Any) -> None:
    from lm_eval_mtl.affinity.params import parameter_scope
    from lm_eval_mtl.affinity.spec import ParameterSubset
    from lm_eval_mtl.errors import MTLError

    with pytest.raises(MTLError, match="`blocks` must be at most the model's 2 blocks; got 5"):
        with parameter_scope(hflm.model, ParameterSubset(blocks=5)):
            pass
