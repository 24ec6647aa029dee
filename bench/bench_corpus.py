"""Benchmark: corpus BLEU bootstrap over ~3,000 segments, ours vs lm-eval's bootstrap stderr.

Run:  PYTHONPATH=. python bench/bench_corpus.py [--lm-eval-iters 20] [--n-segments 3000]

Data: the real WMT16 news-test segments in <repo>/../shared/data/eval_sets/wmt16_de_en_popovic
(de-en and en-de; two systems each, Edinburgh NMT and PBMT, against the reference): 471
segments x 2 systems = 942 (reference, prediction) pairs, repeated in order and cut to
--n-segments (3,000 by default) so the corpus has the size of the design's measurement.
Nothing is written anywhere; the data stays where it is.

lm-eval: lm_eval.api.metrics.bootstrap_stderr(bleu, items, iters) in its single-process
path (DISABLE_MULTIPROC=1; its pool path splits the same work over cpu_count processes),
which re-runs sacrebleu.corpus_bleu on every resample. It is run with --lm-eval-iters
resamples and its per-resample cost is extrapolated linearly to B = 1,000 (stated in the
output). Ours: segment_stats once (sacrebleu's own extraction), then bootstrap_corpus
with B = 1,000 (counts @ stats and the vectorized BLEU formula).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import time
from pathlib import Path

from lm_eval_mtl.stats.corpus import bootstrap_corpus, corpus_score, segment_stats

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "eval_sets" / "wmt16_de_en_popovic"
B = 1000


def load_pairs(n_segments: int) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name in ("de-en_uedin_nmt_pbmt_ref.jsonl", "en-de_uedin_nmt_pbmt_ref.jsonl"):
        rows = [json.loads(x) for x in (DATA / name).read_text(encoding="utf-8").splitlines() if x.strip()]
        pairs += [(r["ref"], r["nmt"]) for r in rows] + [(r["ref"], r["pbmt"]) for r in rows]
    base = len(pairs)
    out = (pairs * (n_segments // base + 1))[:n_segments]
    print(f"{base} real (reference, prediction) pairs repeated to {len(out)} segments")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--lm-eval-iters", type=int, default=20)
    ap.add_argument("--n-segments", type=int, default=3000)
    args = ap.parse_args()
    if not DATA.is_dir():
        raise SystemExit(f"WMT16 data not found at {DATA}")
    items = load_pairs(args.n_segments)
    refs = [r for r, _ in items]
    preds = [p for _, p in items]

    os.environ["DISABLE_MULTIPROC"] = "1"
    from lm_eval.api.metrics import bleu, bootstrap_stderr

    t0 = time.perf_counter()
    full = bleu(items)
    t_full = time.perf_counter() - t0

    t0 = time.perf_counter()
    st = segment_stats("bleu", refs, preds)
    t_extract = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = bootstrap_corpus(st, n_resamples=B, rng=0)
    t_boot = time.perf_counter() - t0
    assert abs(corpus_score(st) - full) < 1e-9

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        t0 = time.perf_counter()
        lm_se = bootstrap_stderr(bleu, items, iters=args.lm_eval_iters)
        t_lm = time.perf_counter() - t0
    per = t_lm / args.lm_eval_iters
    t_lm_b = per * B

    print(f"corpus BLEU: lm-eval {full:.6f}  ours {res.value:.6f}  (one lm-eval scoring: {t_full:.3f} s)")
    print(
        f"ours: segment_stats {t_extract:.3f} s (once) + bootstrap B={B} {t_boot:.3f} s "
        f"= {t_extract + t_boot:.3f} s; se {res.se:.4f}, 95% CI [{res.ci.low:.4f}, {res.ci.high:.4f}]"
    )
    print(
        f"lm-eval bootstrap_stderr: {args.lm_eval_iters} resamples in {t_lm:.2f} s = {per:.3f} s/resample; "
        f"se {lm_se:.4f} (from {args.lm_eval_iters} resamples)"
    )
    print(f"lm-eval extrapolated to B={B}: {t_lm_b:.1f} s")
    print(
        f"speed-up, bootstrap only: x{t_lm_b / t_boot:,.0f}; including our one-off extraction: "
        f"x{t_lm_b / (t_extract + t_boot):,.0f}"
    )


if __name__ == "__main__":
    main()
