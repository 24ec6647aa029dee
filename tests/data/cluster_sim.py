"""Clustered runs with a known truth, scored through the pipeline (score_run, compare_runs).

Shared by tests/unit/scoring/test_few_clusters_pipeline.py (fast, seeded) and
bench/validate_clusters_pipeline.py (the full study). Design: a suite of ``K`` 0/1 members,
each with ``G`` clusters of 5-15 items (the doc field ``passage``); a member's cluster
probabilities are Beta with mean ``mu_k`` and intra-cluster correlation ``rho`` (beta-binomial:
the items' ICC is exactly rho). The composite's truth is ``sum_k w_k (mu_k - c_k) / (1 - c_k)``.
Null comparisons: models A and B draw independent cluster probabilities from the same Beta
(exchangeable), so every paired difference has mean 0.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from score_runs import write_run

from lm_eval_mtl.analysis.compare import compare_runs
from lm_eval_mtl.errors import FewClustersWarning
from lm_eval_mtl.io import load_run
from lm_eval_mtl.scoring.composite import score_run
from lm_eval_mtl.suites import MemberSpec, SuiteSpec

MUS = (0.62, 0.7, 0.76, 0.82)
CHOICES = (2, 4, 2, 4)


def suite(k: int = 4) -> SuiteSpec:
    """The K-member clustered suite (equal weights; chance 1/choices)."""
    return SuiteSpec(
        name="mtl_clustered_sim",
        version="1.0",
        kind="suite",
        members=tuple(
            MemberSpec(f"t{i}", "acc", "none", 1.0 / CHOICES[i % 4], 1.0, f"f{i}", cluster="passage")
            for i in range(k)
        ),
        weights="equal",
    )


def truth(k: int = 4) -> float:
    """The planted composite: mean over members of (mu - c) / (1 - c)."""
    return float(np.mean([(MUS[i % 4] - 1 / CHOICES[i % 4]) / (1 - 1 / CHOICES[i % 4]) for i in range(k)]))


def _design(gen: np.random.Generator, g: int) -> np.ndarray:
    return np.repeat(np.arange(g), gen.integers(5, 16, size=g))


def _beta_p(gen: np.random.Generator, mu: float, rho: float, g: int) -> np.ndarray:
    k = 1.0 / rho - 1.0
    return gen.beta(mu * k, (1.0 - mu) * k, size=g)


def _write(
    folder: Path, model: str, labels: list[np.ndarray], probs: list[np.ndarray], gen: np.random.Generator
) -> Path:
    tasks = {}
    for i, (lab, p) in enumerate(zip(labels, probs, strict=True)):
        y = (gen.random(lab.size) < p[lab]).astype(float)
        tasks[f"t{i}"] = {
            "scores": y,
            "docs": [{"passage": f"p{c}"} for c in lab],
            "n_choices": CHOICES[i % 4],
        }
    return write_run(folder, model, tasks)


@dataclass(frozen=True)
class Hits:
    """Coverage counts of one (G, rho) cell."""

    reps: int
    bootstrap: int
    analytic: int
    method: str
    width_bootstrap: float
    width_analytic: float


def coverage(
    tmp: Path, g: int, rho: float, reps: int, seed: int, *, k: int = 4, n_resamples: int = 1999
) -> Hits:
    """Coverage of the composite interval (auto: bootstrap or wild; analytic: CR1-t Satterthwaite)."""
    gen = np.random.default_rng(seed)
    spec, c0 = suite(k), truth(k)
    hb = ha = 0
    wb = wa = 0.0
    method = ""
    for r in range(reps):
        labels = [_design(gen, g) for _ in range(k)]
        probs = [_beta_p(gen, MUS[i % 4], rho, g) for i in range(k)]
        folder = _write(tmp / f"cov{r}", "m", labels, probs, gen)
        run = load_run(folder)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            b = score_run(run, spec, rng=r, n_resamples=n_resamples)
            a = score_run(run, spec, method="analytic")
        shutil.rmtree(folder)
        method = b.method
        hb += int(b.ci.low <= c0 <= b.ci.high)
        ha += int(a.ci.low <= c0 <= a.ci.high)
        wb += (b.ci.high - b.ci.low) / reps
        wa += (a.ci.high - a.ci.low) / reps
    return Hits(reps, hb, ha, method, wb, wa)


@dataclass(frozen=True)
class Rejections:
    """Null rejections at 5% of one (G, rho) cell."""

    reps: int
    composite: int
    """Composite sign-flip p < 0.05."""
    composite_ci: int
    """Composite interval excludes 0."""
    task: int
    """Per-task p < 0.05 (first member; the wild cluster bootstrap below 20 clusters)."""
    method: str


def null_rejection(
    tmp: Path, g: int, rho: float, reps: int, seed: int, *, k: int = 4, n_resamples: int = 1999
) -> Rejections:
    """Rejection rates of exchangeable clustered comparisons through compare_runs."""
    gen = np.random.default_rng(seed)
    spec = suite(k)
    rc = rci = rt = 0
    method = ""
    for r in range(reps):
        labels = [_design(gen, g) for _ in range(k)]
        pa = [_beta_p(gen, MUS[i % 4], rho, g) for i in range(k)]
        pb = [_beta_p(gen, MUS[i % 4], rho, g) for i in range(k)]
        fa = _write(tmp / f"a{r}", "a", labels, pa, gen)
        fb = _write(tmp / f"b{r}", "b", labels, pb, gen)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            res = compare_runs([fa, fb], suite=spec, rng=r, n_resamples=n_resamples)
        shutil.rmtree(fa)
        shutil.rmtree(fb)
        pair = res.pairs[0]
        comp = pair.composite
        method = comp.method
        rc += int(comp.p_value < 0.05)
        rci += int(not (comp.ci.low <= 0.0 <= comp.ci.high))
        rt += int(pair.tasks[0].p_value < 0.05)
    return Rejections(reps, rc, rci, rt, method)
