"""Ledoit-Wolf shrinkage of a correlation matrix: reference loop form and properties."""

from __future__ import annotations

import numpy as np
import pytest

from lm_eval_mtl.errors import DegenerateDataWarning, InsufficientDataError
from lm_eval_mtl.stats.shrinkage import ledoit_wolf_correlation


def _lw_loop(x: np.ndarray) -> tuple[np.ndarray, float]:
    """LW (2004) written out as in the paper, with explicit loops (independent of the library)."""
    n, p = x.shape
    z = np.empty_like(x, dtype=float)
    for j in range(p):
        col = x[:, j]
        mean = sum(col) / n
        sd = (sum((v - mean) ** 2 for v in col) / n) ** 0.5
        z[:, j] = [(v - mean) / sd for v in col]
    s = np.zeros((p, p))
    for k in range(n):
        s += np.outer(z[k], z[k])
    s /= n

    def norm2(a: np.ndarray) -> float:  # LW's normalized Frobenius norm: tr(AA')/p
        return float(np.trace(a @ a.T)) / p

    mu = np.trace(s) / p
    d2 = norm2(s - mu * np.eye(p))
    bbar2 = sum(norm2(np.outer(z[k], z[k]) - s) for k in range(n)) / n**2
    b2 = min(bbar2, d2)
    delta = b2 / d2
    return delta * mu * np.eye(p) + (1 - delta) * s, delta


@pytest.mark.parametrize("seed, n, p", [(0, 30, 4), (1, 12, 6), (2, 200, 3), (3, 8, 8)])
def test_matches_loop_form_of_ledoit_wolf_2004(seed: int, n: int, p: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p)) @ rng.normal(size=(p, p)) + rng.normal(size=p)
    got = ledoit_wolf_correlation(x)
    want_r, want_delta = _lw_loop(x)
    assert got.delta == pytest.approx(want_delta, rel=1e-10, abs=1e-12)
    np.testing.assert_allclose(got.correlation, want_r, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got.sample, np.corrcoef(x, rowvar=False), atol=1e-12)


def test_delta_is_two_over_n_for_duplicate_plus_orthogonal_columns() -> None:
    # Columns a, a, b with a and b orthogonal +-1 patterns. By hand: |x_k|^4 = 9,
    # ||R||_F^2 = 5, so bbar^2 = (9n - 5n)/(3 n^2) = 4/(3n); d^2 = 2/3; delta = 2/n.
    n = 400
    a = np.tile([1.0, -1.0], n // 2)
    b = np.tile([1.0, 1.0, -1.0, -1.0], n // 4)
    got = ledoit_wolf_correlation(np.column_stack([a, a, b]))
    assert got.delta == pytest.approx(2 / n, rel=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_delta_in_unit_interval_and_output_psd_with_unit_diagonal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, p = int(rng.integers(3, 40)), int(rng.integers(2, 12))
    got = ledoit_wolf_correlation(rng.normal(size=(n, p)))
    assert 0.0 <= got.delta <= 1.0
    assert np.linalg.eigvalsh(got.correlation).min() >= -1e-12
    np.testing.assert_allclose(np.diag(got.correlation), 1.0)


def test_delta_shrinks_as_n_grows_for_fixed_structure() -> None:
    rng = np.random.default_rng(7)
    cov = np.full((5, 5), 0.6) + 0.4 * np.eye(5)
    chol = np.linalg.cholesky(cov)
    deltas = [ledoit_wolf_correlation(rng.normal(size=(n, 5)) @ chol.T).delta for n in (30, 300, 3000, 30000)]
    assert deltas == sorted(deltas, reverse=True)
    assert deltas[-1] < 0.002


def test_identity_sample_correlation_warns_and_returns_nan_delta() -> None:
    x = np.array([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]])
    with pytest.warns(DegenerateDataWarning, match="identity"):
        got = ledoit_wolf_correlation(x)
    assert np.isnan(got.delta)
    np.testing.assert_array_equal(got.correlation, np.eye(2))


@pytest.mark.parametrize(
    "x, match",
    [
        (np.array([[1.0, np.nan], [2.0, 3.0], [3.0, 1.0]]), "NaN/inf"),
        (np.array([[1.0, 2.0], [1.0, 3.0], [1.0, 5.0]]), "constant column"),
        (np.array([[1.0, 2.0]]), "at least 2 rows"),
    ],
)
def test_bad_input_raises(x: np.ndarray, match: str) -> None:
    with pytest.raises(InsufficientDataError, match=match):
        ledoit_wolf_correlation(x)
