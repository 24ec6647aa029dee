"""The composite column and the multi-task gain of a transfer matrix (:mod:`lm_eval_mtl.analysis.transfer`).

* :func:`composite_p`: per source, the sign-flip p-value of the weighted composite, every
  target's pairs swapped at once;
* :func:`few_cluster_composite`: the wild cluster bootstrap-t interval of the composite where a
  target has few clusters;
* :func:`mtl_gain`: a multi-task checkpoint against the best single-source checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.analysis.transfer_cells import Column
from lm_eval_mtl.analysis.transfer_result import MultiTaskGain
from lm_eval_mtl.stats.corpus import CorpusStats
from lm_eval_mtl.stats.intervals import se_mean_columns
from lm_eval_mtl.stats.joint import resample_column_means
from lm_eval_mtl.stats.paired import corpus_columns, normal_test
from lm_eval_mtl.stats.permutation import (
    composite_sign_flip_p_values,
    corpus_randomization_test,
    paired_sign_flip_test,
)

__all__ = ["composite_p", "few_cluster_composite", "mtl_gain"]

FloatArray = npt.NDArray[np.float64]


def few_cluster_composite(
    columns: Sequence[Column],
    w: FloatArray,
    comp: FloatArray,
    lo: FloatArray,
    hi: FloatArray,
    s_count: int,
    level: float,
    nres: int,
    gen: np.random.Generator,
) -> bool:
    """Replace the composite column's interval by the wild cluster bootstrap-t's when clusters are few.

    Returns True when it did.

    A target with 2 to 19 clusters makes the pairs cluster bootstrap under-cover
    (bench/RESULTS.md, "Few clusters"); corpus targets enter through their own bootstrap.
    """
    from lm_eval_mtl.stats.clusters import FINE_CLUSTERS
    from lm_eval_mtl.stats.wild_composite import WildStratum, wild_composite

    if not any(
        c.item_diff is not None and c.clusters is not None and np.unique(c.clusters).size < FINE_CLUSTERS
        for c in columns
    ):
        return False
    for s in range(s_count):
        strata = [
            WildStratum.from_items(c.item_diff[:, s], c.clusters, wt * c.scale)
            for wt, c in zip(w, columns, strict=False)
            if c.item_diff is not None
        ]
        corpus = [
            wt * c.boot[:, s]
            for wt, c in zip(w, columns, strict=False)
            if c.item_diff is None and c.boot is not None
        ]
        extra = np.sum(corpus, axis=0) if corpus else None
        wild = wild_composite(
            strata,
            float(comp[s]),
            extra_deviations=None if extra is None else extra - float(np.mean(extra)),
            extra_variance=float(np.var(extra, ddof=1)) if extra is not None else 0.0,
            confidence_level=level,
            n_resamples=nres,
            rng=gen,
        )
        lo[s], hi[s] = wild.ci.low, wild.ci.high
    return True


def composite_p(
    columns: Sequence[Column], w: FloatArray, s_count: int, nres: int, gen: np.random.Generator
) -> FloatArray:
    """Composite sign-flip p-value per source: every target's pairs swapped at once."""
    diffs: list[FloatArray | list[tuple[CorpusStats, CorpusStats]]] = []
    for c in columns:
        if c.item_diff is not None:
            diffs.append(c.item_diff[:, :s_count])
        else:
            assert c.corpus is not None  # noqa: S101 - paired columns hold items or corpus statistics
            diffs.append([(c.corpus[s + 1], c.corpus[0]) for s in range(s_count)])
    return composite_sign_flip_p_values(
        diffs,
        w,
        [c.scale for c in columns],
        clusters=[c.clusters for c in columns],
        n_resamples=nres,
        rng=gen,
    )


def mtl_gain(
    sources: Sequence[str], columns: Sequence[Column], level: float, nres: int, gen: np.random.Generator
) -> MultiTaskGain:
    """Per target: the multi-task checkpoint's transfer and its gain over the best single source."""
    s_count = len(sources)
    alpha = 1 - level
    out: dict[str, list[float]] = {k: [] for k in ("delta", "gain", "se", "lo", "hi", "p")}
    best_names: list[str] = []
    for c in columns:
        best = int(np.argmax(c.delta[:s_count]))
        best_names.append(sources[best])
        gain = float(c.delta[s_count] - c.delta[best])
        out["delta"].append(float(c.delta[s_count]))
        out["gain"].append(gain)
        if c.boot is not None and c.item_diff is not None:
            pair = c.item_diff[:, [s_count, best]]
            g_boot = c.scale * resample_column_means(pair[:, :1] - pair[:, 1:], nres, gen, c.clusters)[:, 0]
            dd = c.item_diff[:, s_count] - c.item_diff[:, best]
            # clustered where the target declares clusters, as the cells are
            se = (
                float(c.scale * np.reshape(se_mean_columns(dd, c.clusters), -1)[0])
                if dd.shape[0] > 1
                else math.nan
            )
            lo, hi = np.quantile(g_boot, [alpha / 2, 1 - alpha / 2])
            p = paired_sign_flip_test(dd, clusters=c.clusters, n_resamples=nres, rng=gen).p_value
        elif (
            c.boot is not None and c.corpus is not None
        ):  # corpus: both resampled with the same segment draws
            g_boot = corpus_columns(
                [c.corpus[best + 1], c.corpus[s_count + 1]],
                scale=c.scale,
                clusters=c.clusters,
                confidence_level=level,
                n_resamples=nres,
                rng=gen,
            ).boot[:, 0]
            se = float(np.std(g_boot, ddof=1))
            lo, hi = np.quantile(g_boot, [alpha / 2, 1 - alpha / 2])
            p = corpus_randomization_test(
                c.corpus[s_count + 1], c.corpus[best + 1], clusters=c.clusters, n_resamples=nres, rng=gen
            ).p_value
        else:
            se = float(math.sqrt(c.se[s_count] ** 2 + c.se[best] ** 2))
            lo_a, hi_a, p_a = normal_test(gain, se, level)  # the one analytic test (SE 0: p 1 or 0)
            lo, hi, p = float(lo_a), float(hi_a), float(p_a)
        out["se"].append(se)
        out["lo"].append(float(lo))
        out["hi"].append(float(hi))
        out["p"].append(p)
    return MultiTaskGain(
        delta=np.array(out["delta"]),
        best_source=tuple(best_names),
        gain=np.array(out["gain"]),
        se=np.array(out["se"]),
        ci_low=np.array(out["lo"]),
        ci_high=np.array(out["hi"]),
        p_value=np.array(out["p"]),
    )
