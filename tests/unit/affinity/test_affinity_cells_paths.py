"""The affinity statistics from Gram matrices equal those formed in feature space (same draws)."""

from __future__ import annotations

import numpy as np
import pytest


def _inputs(seed: int, exact: bool) -> object:
    from lm_eval_mtl.affinity.cells import CellInputs

    rng = np.random.default_rng(seed)
    sizes = [9, 12, 7]
    base = rng.normal(size=40)
    feats = [base * (0.5 + t) + rng.normal(size=(n, 40)) for t, n in enumerate(sizes)]
    losses = [rng.uniform(0.5, 2.0, size=n) for n in sizes]
    after = [x[None, :] * rng.uniform(0.95, 1.05, size=(3, x.shape[0])) for x in losses] if exact else None
    return CellInputs(feats, losses, after, 0.3)


@pytest.mark.parametrize("exact", [True, False])
def test_gram_and_feature_space_statistics_agree(monkeypatch: pytest.MonkeyPatch, exact: bool) -> None:
    import lm_eval_mtl.affinity.cells as cells

    kwargs = {"confidence_level": 0.9, "n_resamples": 300, "n_splits": 20, "rng": 4}
    gram = cells.affinity_cells(_inputs(0, exact), **kwargs)  # type: ignore[arg-type]
    monkeypatch.setattr(cells, "_GRAM_BYTES", 0)
    feature = cells.affinity_cells(_inputs(0, exact), **kwargs)  # type: ignore[arg-type]
    assert (
        set(gram.measures)
        == set(feature.measures)
        == ({"cosine", "first_order"} | ({"tag"} if exact else set()))
    )
    for name, m in gram.measures.items():
        f = feature.measures[name]
        for key in ("value", "ci_low", "ci_high", "reliability"):
            np.testing.assert_allclose(
                getattr(m, key), getattr(f, key), rtol=1e-10, atol=1e-12, err_msg=f"{name}.{key}"
            )
        assert m.matrix_reliability == pytest.approx(f.matrix_reliability, rel=1e-10)
    np.testing.assert_allclose(gram.split_half_cosine, feature.split_half_cosine, rtol=1e-10)
