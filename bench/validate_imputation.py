"""Validation: is the default ``correlate --impute pca`` unbiased for the PC1 share?

Run:  PYTHONPATH=. python bench/validate_imputation.py [--masks 20] [--fraction 0.2]

Population: ../shared/data/panels/openllm_v1/open-llm-leaderboard_old.csv, the six task
columns (ARC, HellaSwag, MMLU, TruthfulQA, Winogrande, GSM8K), repeated model ids keeping the
first row (6,811 models, no gaps). For each mask seed 0..masks-1, every cell is removed with
probability ``fraction`` (``numpy.random.default_rng(seed).random(shape) < fraction``); the
holed panel goes through ``correlate_tasks(..., impute="pca")`` with its defaults. Printed per
mask: the chosen rank, the held-out RMSE per candidate rank, map evaluations, convergence, the
imputed and the complete-case PC1 shares (correlation matrix) and their errors against the full
panel's. Target: |imputed - full| <= 0.01 on average and for every mask.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from lm_eval_mtl.analysis.correlate import correlate_tasks
from lm_eval_mtl.scoring.population import Population, load_panel_csv

PANEL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "panels"
    / "openllm_v1"
    / "open-llm-leaderboard_old.csv"
)
TASKS = ["ARC", "HellaSwag", "MMLU", "TruthfulQA", "Winogrande", "GSM8K"]
TARGET = 0.01


def holed(pop: Population, seed: int, fraction: float) -> Population:
    """``pop`` with each cell removed with probability ``fraction`` (seeded)."""
    x = np.array(pop.scores, dtype=np.float64)
    x[np.random.default_rng(seed).random(x.shape) < fraction] = np.nan
    return Population(models=pop.models, tasks=pop.tasks, scores=x, source=f"mask {seed}", sha256="")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--masks", type=int, default=20)
    parser.add_argument("--fraction", type=float, default=0.2)
    args = parser.parse_args()
    if not PANEL.is_file():
        print(f"skip: {PANEL} not available", file=sys.stderr)
        return 0
    pop = load_panel_csv(PANEL, id_column="Model", tasks=TASKS, duplicates="first")
    full = float(correlate_tasks(pop).explained_variance_ratio[0])
    print(f"panel: {pop.n_models} models x {len(TASKS)} tasks; full-panel PC1 share {full:.4f}")
    print(
        "mask rank heldout_rmse(1..5)                          evals conv  imputed  err     cc(n)         err_cc   s"
    )
    errs, cc_errs = [], []
    for seed in range(args.masks):
        t0 = time.perf_counter()
        st = correlate_tasks(holed(pop, seed, args.fraction), impute="pca")
        dt = time.perf_counter() - t0
        imp = st.imputation
        assert imp is not None and imp.imputed_pc1 is not None and imp.complete_case_pc1 is not None
        err, cc_err = imp.imputed_pc1 - full, imp.complete_case_pc1 - full
        errs.append(err)
        cc_errs.append(cc_err)
        rmse = " ".join(f"{e:.4f}" for e in imp.heldout_rmse)
        print(
            f"{seed:4d} {imp.n_components:4d} {rmse}  {imp.iterations:5d} {imp.converged!s:5} "
            f"{imp.imputed_pc1:.4f} {err:+.4f} {imp.complete_case_pc1:.4f}({imp.n_complete}) {cc_err:+.4f} {dt:5.2f}"
        )
    e, c = np.array(errs), np.array(cc_errs)
    print(
        f"imputed - full: mean {e.mean():+.4f}, sd {e.std(ddof=1):.4f}, max |.| {np.abs(e).max():.4f} "
        f"(target <= {TARGET}); complete-case - full: mean {c.mean():+.4f}, sd {c.std(ddof=1):.4f}, "
        f"max |.| {np.abs(c).max():.4f}"
    )
    ok = abs(e.mean()) <= TARGET and bool(np.all(np.abs(e) <= TARGET))
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
