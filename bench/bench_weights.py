"""Benchmark: fitting `redundancy` weights with every diagnostic on the Open LLM Leaderboard v1 panel.

Run:  PYTHONPATH=. python bench/bench_weights.py [--repeat 5]

Population: ../shared/data/panels/openllm_v1/open-llm-leaderboard_old.csv (6,811 models after
merging duplicate ids by mean, 6 tasks). Timed separately (wall clock, best of --repeat, after one
warm-up call so imports are not counted):
  load    reading and normalizing the CSV (load_panel_csv)
  fit     fit_weights(..., "redundancy"): Ledoit-Wolf shrinkage, weights, Nyholt and Li-Ji
          effective numbers, Kendall tau vs equal weights, the largest rank change over all
          12 halve/double perturbations (6,811 x 12 composites ranked), percentile tables.
Target: fit < 1 s.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from lm_eval_mtl.scoring.population import Population, load_panel_csv
from lm_eval_mtl.scoring.weighting import fit_weights
from lm_eval_mtl.scoring.weights_file import WeightsFile
from lm_eval_mtl.suites import load_suite

PANEL = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "panels"
    / "openllm_v1"
    / "open-llm-leaderboard_old.csv"
)
TASKS = {
    "ARC": "arc_challenge",
    "HellaSwag": "hellaswag",
    "MMLU": "mmlu",
    "TruthfulQA": "truthfulqa_mc2",
    "Winogrande": "winogrande",
    "GSM8K": "gsm8k",
}


def best_of(fn, repeat: int) -> tuple[object, float]:  # type: ignore[no-untyped-def]
    out, times = fn(), []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return out, min(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not PANEL.is_file():
        print(f"skip: {PANEL} not available", file=sys.stderr)
        return 0
    spec = load_suite("mtl_openllm_v1")

    def load() -> Population:
        return load_panel_csv(
            PANEL,
            id_column="Model",
            tasks=TASKS,
            scale=0.01,
            spec=spec,
            duplicates="mean",
            date_column="date",
        )

    pop, t_load = best_of(load, args.repeat)

    def fit() -> WeightsFile:
        return fit_weights(pop, "redundancy", suite=spec)  # type: ignore[arg-type]

    wf, t_fit = best_of(fit, args.repeat)
    print(f"population: {pop.n_models} models x {pop.n_tasks} tasks")  # type: ignore[attr-defined]
    print(f"load_panel_csv: {t_load:.3f} s (best of {args.repeat})")
    print(f"fit_weights(redundancy, all diagnostics): {t_fit:.3f} s (best of {args.repeat}); target < 1 s")
    print(
        f"delta={wf.delta:.6f} nyholt={wf.effective_number_nyholt:.3f} li_ji={wf.effective_number_li_ji:.3f} "  # type: ignore[attr-defined]
        f"tau={wf.kendall_tau:.4f} max_rank_change={wf.max_rank_change} ({wf.max_rank_change_at})"
    )  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(main())
