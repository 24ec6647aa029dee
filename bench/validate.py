"""Validate lm-eval-mtl's statistics against the simulated backend's planted truth.

Three studies on the bundled ``mtl_demo`` suite (6 tasks x 24 items), each over many
seeds (a seed draws new item parameters and new answers):

1. coverage: the composite lm-eval prints (``mtl_composite,none`` +- 1.96 x its
   stderr, added by our group plugin) through the real evaluator
   (``lm_eval.evaluator.evaluate``, in-process, one TaskManager for all seeds) covers
   the planted expected composite sum_t w_t (E[x_t] - c_t)/(u_t - c_t). E[x_t] is
   conditional on the run's items: the mean of P(correct) over them for 0/1 metrics;
   for the chrF member, E[corpus chrF] over the item draws by Monte Carlo (2,000
   draws, from sacrebleu's per-segment statistics of the right and wrong answers).
2. transfer: base + ft_mtl_demo_sentiment + ft_mtl_demo_arithmetic, per-item scores
   from lm-eval's own process_results (lm_eval_mtl.sim.harness), then
   lm_eval_mtl.analysis.transfer.transfer_from_scores (McNemar per 0/1 cell, paired bootstrap
   for sentence-level chrF, BH-FDR 5% over the 12 cells). Planted non-zero cells:
   power; zero cells: rejection rate and the false discovery proportion.
3. null comparisons: two identical models (same truth and items, independent answer
   draws) compared per task and on the composite with the same paired machinery.

Usage::

    python bench/validate.py                  # 200 seeds each (about 15 min on 2 busy cores)
    python bench/validate.py --seeds 40 --reps 40 --json out.json

Prints a Markdown section for bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

SUITE = "mtl_demo"
SOURCES = ("ft_mtl_demo_sentiment", "ft_mtl_demo_arithmetic")


def _load_tasks():
    from lm_eval.tasks import TaskManager

    from lm_eval_mtl.suites import task_config_dir

    tm = TaskManager(include_path=str(task_config_dir() / SUITE), include_defaults=False)
    return tm.load(SUITE)


def _spec_and_weights():
    from lm_eval_mtl.scoring.structural import structural_weights
    from lm_eval_mtl.suites import load_suite

    spec = load_suite(SUITE)
    return spec, structural_weights(spec, spec.weights)


def _chrf_expectation(refs, right, wrong, p, n_draws, rng):
    """E[corpus chrF] when item i answers `right[i]` with probability p[i], else `wrong[i]`."""
    from sacrebleu.metrics import CHRF

    m = CHRF()
    s_right = np.array(m._extract_corpus_statistics(list(right), [list(refs)]), dtype=np.float64)
    s_wrong = np.array(m._extract_corpus_statistics(list(wrong), [list(refs)]), dtype=np.float64)
    mask = (rng.random((n_draws, len(p))) < p[None, :]).astype(np.float64)
    tot = mask @ s_right + (1.0 - mask) @ s_wrong
    return float(np.mean([m._compute_score_from_stats(list(row)).score for row in tot]))


def coverage(n_seeds: int, task_dict) -> dict:
    from lm_eval.evaluator import evaluate

    from lm_eval_mtl.sim.backend import SimulatedLM

    spec, weights = _spec_and_weights()
    tasks = task_dict["tasks"]
    rng = np.random.default_rng(12345)
    hits, rows = 0, []
    for seed in range(n_seeds):
        lm = SimulatedLM(checkpoint="base", seed=seed)
        res = evaluate(lm, task_dict, bootstrap_iters=100, log_samples=False)
        row = res["results"][SUITE]
        est, se = float(row["mtl_composite,none"]), float(row["mtl_composite_stderr,none"])
        truth = 0.0
        for m in spec.members:
            items = lm.ledger[m.task]
            p = np.array([it.p_correct for it in items.values()])
            if m.metric == "chrf":
                task = tasks[m.task]
                docs = {int(i.doc_id): i.doc for i in task.instances}
                ids = sorted(items)
                pairs = [lm.generation_answers(task, docs[d], d) for d in ids]
                refs = [str(task.doc_to_target(docs[d])) for d in ids]
                ex = _chrf_expectation(
                    refs,
                    [a for a, _ in pairs],
                    [b for _, b in pairs],
                    np.array([items[d].p_correct for d in ids]),
                    2000,
                    rng,
                )
            else:
                ex = float(p.mean())
            truth += weights[m.label] * (ex - m.chance) / (m.ceiling - m.chance)
        covered = abs(est - truth) <= 1.959964 * se
        hits += covered
        rows.append({"seed": seed, "estimate": est, "se": se, "truth": truth, "covered": bool(covered)})
    rate = hits / n_seeds
    mc_se = math.sqrt(rate * (1 - rate) / n_seeds)
    return {
        "n_seeds": n_seeds,
        "coverage": rate,
        "mc_se": mc_se,
        "rows": rows,
        "mean_abs_error": float(np.mean([abs(r["estimate"] - r["truth"]) for r in rows])),
        "mean_se": float(np.mean([r["se"] for r in rows])),
    }


def _member_scores(scores, spec):
    """Per member: per-item values in normalized-friendly units and the scale 1/(u - c)."""
    from sacrebleu import sentence_chrf

    out, scale = {}, {}
    for m in spec.members:
        it = scores[m.task][m.filter]
        if m.metric == "chrf":
            refs, preds = it.pairs["chrf"]
            out[m.label] = np.array([sentence_chrf(p, [r]).score for r, p in zip(refs, preds, strict=True)])
        else:
            out[m.label] = it.scores[m.metric]
        scale[m.label] = 1.0 / (m.ceiling - m.chance)
    return out, scale


def transfer(n_reps: int, task_dict, n_resamples: int) -> dict:
    from lm_eval_mtl.analysis.transfer import transfer_from_scores
    from lm_eval_mtl.sim.backend import SimulatedLM
    from lm_eval_mtl.sim.harness import score_items

    spec, weights = _spec_and_weights()
    tasks = task_dict["tasks"]
    labels = list(spec.labels)
    sig, fdp, deltas = [], [], []
    planted = None
    for rep in range(n_reps):
        base_lm = SimulatedLM(checkpoint="base", seed=rep)
        base, scale = _member_scores(score_items(base_lm, tasks), spec)
        ck = {}
        for s in SOURCES:
            ck[s], _ = _member_scores(score_items(SimulatedLM(checkpoint=s, seed=rep), tasks), spec)
        planted = base_lm.truth.planted_transfer(SOURCES, [m.task for m in spec.members])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tm = transfer_from_scores(
                base, ck, scale=scale, weights=weights, n_resamples=n_resamples, rng=rep
            )
        sig.append(tm.significant)
        deltas.append(tm.delta)
        nz = planted.nonzero()
        n_rej = int(tm.significant.sum())
        fdp.append(float((tm.significant & ~nz).sum() / n_rej) if n_rej else 0.0)
    sig_a = np.array(sig)
    nz = planted.nonzero()
    power = sig_a.mean(axis=0)
    return {
        "n_reps": n_reps,
        "sources": list(SOURCES),
        "targets": labels,
        "planted_delta_theta": planted.delta_theta.tolist(),
        "rejection_rate": power.tolist(),
        "min_power_nonzero": float(power[nz].min()),
        "max_rate_zero": float(power[~nz].max()),
        "mean_rate_zero": float(power[~nz].mean()),
        "fdr": float(np.mean(fdp)),
        "mean_delta": np.mean(np.array(deltas), axis=0).tolist(),
    }


def null_comparisons(n_reps: int, task_dict, n_resamples: int) -> dict:
    from lm_eval_mtl.analysis.transfer import transfer_from_scores
    from lm_eval_mtl.sim.backend import SimulatedLM
    from lm_eval_mtl.sim.harness import score_items

    spec, weights = _spec_and_weights()
    tasks = task_dict["tasks"]
    comp_p, task_p = [], []
    for rep in range(n_reps):
        a, scale = _member_scores(score_items(SimulatedLM(seed=rep, draw_seed=10_000 + 2 * rep), tasks), spec)
        b, _ = _member_scores(score_items(SimulatedLM(seed=rep, draw_seed=10_001 + 2 * rep), tasks), spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tm = transfer_from_scores(
                a, {"B": b}, scale=scale, weights=weights, n_resamples=n_resamples, rng=rep
            )
        comp_p.append(float(tm.composite_p_value[0]))
        task_p.append(tm.p_value[0])
    comp = np.array(comp_p)
    tp = np.array(task_p)
    return {
        "n_reps": n_reps,
        "composite_rate_p_lt_05": float(np.mean(comp < 0.05)),
        "per_task_rate_p_lt_05": dict(zip(spec.labels, np.mean(tp < 0.05, axis=0).tolist(), strict=True)),
        "any_task_raw_rate": float(np.mean((tp < 0.05).any(axis=1))),
    }


def cli_transfer(out_dir: Path, seed: int) -> dict:
    """One transfer matrix from real `lm_eval --model mtl-sim` runs (4 subprocesses) via transfer_matrix."""
    from lm_eval_mtl.analysis.transfer import transfer_matrix
    from lm_eval_mtl.sim.backend import SimulatedLM
    from lm_eval_mtl.sim.runner import write_sim_runs

    runs = write_sim_runs(out_dir, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = transfer_matrix(runs.base, runs.sources, mtl=runs.mtl, suite=SUITE, rng=seed)
    planted = SimulatedLM(seed=seed).truth.planted_transfer([f"ft_{s}" for s in tm.sources], list(tm.targets))
    return {
        "seed": seed,
        "sources": list(tm.sources),
        "targets": list(tm.targets),
        "delta": tm.delta.tolist(),
        "significant": tm.significant.tolist(),
        "planted_nonzero": planted.nonzero().tolist(),
        "agrees": bool(np.array_equal(tm.significant, planted.nonzero())),
        "composite": tm.composite.tolist(),
    }


def markdown(res: dict, cmd: str, seconds: float) -> str:
    c, t, n = res["coverage"], res["transfer"], res["null"]
    lines = [
        "## Simulation validation",
        "",
        f"`{cmd}` ({seconds:.0f} s on this machine; lm-eval {res['lm_eval']}; "
        f"suite `{SUITE}`, 6 tasks x 24 items, simulated backend `mtl-sim`, built-in profile `demo`).",
        "",
        f"- Composite interval coverage (real lm-eval evaluator + our group plugin, `mtl_composite` +- 1.96 se): "
        f"**{c['coverage']:.3f}** over {c['n_seeds']} seeds (Monte Carlo se {c['mc_se']:.3f}; target >= 0.93). "
        f"Mean |estimate - truth| {c['mean_abs_error']:.4f}, mean se {c['mean_se']:.4f}.",
        f"- Transfer recovery ({t['n_reps']} replications, BH-FDR 5% over {len(t['sources'])} x {len(t['targets'])} cells): "
        f"minimum power over planted non-zero cells **{t['min_power_nonzero']:.3f}** (target >= 0.90); "
        f"zero cells rejected at most {t['max_rate_zero']:.3f} (mean {t['mean_rate_zero']:.3f}); "
        f"false discovery proportion **{t['fdr']:.3f}** (nominal 0.05).",
        f"- Two identical models ({n['n_reps']} comparisons, independent answer draws on the same items): "
        f"composite p < 0.05 in **{n['composite_rate_p_lt_05']:.3f}** (target 0.03-0.07); per task "
        + ", ".join(f"{k} {v:.3f}" for k, v in n["per_task_rate_p_lt_05"].items())
        + " (exact McNemar is conservative at 24 items).",
        "",
        "Rejection rate per cell (rows: sources; planted delta theta in brackets):",
        "",
        "| source | " + " | ".join(t["targets"]) + " |",
        "|---|" + "---|" * len(t["targets"]),
    ]
    for i, s in enumerate(t["sources"]):
        cells = [
            f"{t['rejection_rate'][i][j]:.2f} [{t['planted_delta_theta'][i][j]:+.1f}]"
            for j in range(len(t["targets"]))
        ]
        lines.append(f"| {s} | " + " | ".join(cells) + " |")
    if "cli" in res:
        cl = res["cli"]
        lines += [
            "",
            f"Real CLI path (`write_sim_runs`: 4 `lm_eval --model mtl-sim --log_samples` runs, seed {cl['seed']}) "
            f"then `transfer_matrix` on the folders: significant cells "
            f"{'equal' if cl['agrees'] else 'DIFFER from'} the planted non-zero cells "
            f"({cl['significant']} vs {cl['planted_nonzero']}).",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=200, help="seeds of the coverage study")
    ap.add_argument("--reps", type=int, default=200, help="replications of the transfer and null studies")
    ap.add_argument("--n-resamples", type=int, default=1000)
    ap.add_argument("--json", type=Path, default=None, help="write every figure here")
    ap.add_argument(
        "--cli", type=Path, default=None, help="also run the real lm_eval CLI path into this folder"
    )
    args = ap.parse_args(argv)
    logging.disable(logging.WARNING)
    import lm_eval

    t0 = time.time()
    td = _load_tasks()
    res = {"lm_eval": lm_eval.__version__}
    res["coverage"] = coverage(args.seeds, td)
    print(f"coverage done {time.time() - t0:.0f}s: {res['coverage']['coverage']:.3f}", file=sys.stderr)
    res["transfer"] = transfer(args.reps, td, args.n_resamples)
    print(f"transfer done {time.time() - t0:.0f}s", file=sys.stderr)
    res["null"] = null_comparisons(args.reps, td, args.n_resamples)
    if args.cli is not None:
        res["cli"] = cli_transfer(args.cli, seed=1)
    seconds = time.time() - t0
    cmd = "python bench/validate.py" + (
        "" if argv is None and len(sys.argv) == 1 else " " + " ".join(sys.argv[1:] if argv is None else argv)
    )
    if args.json:
        args.json.write_text(json.dumps(res, indent=1))
    print(markdown(res, cmd, seconds))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
