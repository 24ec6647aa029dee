"""Corpus metrics (BLEU, chrF, chrF++, TER) from additive per-segment sufficient statistics.

A corpus metric is not a mean of segment scores, but it is a formula of segment
statistics summed over the corpus (n-gram matches and totals, lengths, edits). So a
bootstrap resample with segment multiplicities ``counts`` (shape (B, n)) scores as
``formula(counts @ stats)``: one matrix product and a vectorized formula, instead of
re-tokenizing and re-scoring the corpus B times (Koehn 2004's paired bootstrap, fast).

The statistics come from sacrebleu's own extraction (``Metric._extract_corpus_statistics``),
so tokenization matches sacrebleu exactly; the formulas below replicate sacrebleu 2.x's
``_compute_score_from_stats`` (BLEU brevity penalty, smoothing and effective order; chrF's
per-order averaging) in numpy. Defaults equal lm-eval 0.4.13's ``bleu``/``chrf``/``chrf++``/
``ter`` aggregations, which call ``sacrebleu.corpus_bleu(preds, refs)`` and friends with
sacrebleu's defaults.

This is the one module of :mod:`lm_eval_mtl.stats` that imports sacrebleu (lazily, in
:func:`segment_stats`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Literal, overload

import numpy as np
import numpy.typing as npt

from lm_eval_mtl.errors import InsufficientDataError
from lm_eval_mtl.stats._common import RngLike

if TYPE_CHECKING:
    from lm_eval_mtl.stats.bootstrap import BootstrapResult

__all__ = [
    "DEFAULT_OPTIONS",
    "CorpusDifference",
    "CorpusMetric",
    "CorpusStats",
    "bootstrap_corpus",
    "corpus_score",
    "segment_stats",
]

FloatArray = npt.NDArray[np.float64]
CorpusMetric = Literal["bleu", "chrf", "chrf++", "ter"]

DEFAULT_OPTIONS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        # sacrebleu.corpus_bleu defaults, as lm_eval.api.metrics.bleu calls it.
        "bleu": MappingProxyType(
            {
                "smooth_method": "exp",
                "smooth_value": None,
                "force": False,
                "lowercase": False,
                "tokenize": "13a",
                "use_effective_order": False,
                "max_ngram_order": 4,
            }
        ),
        # sacrebleu.corpus_chrf defaults, as lm_eval.api.metrics.chrf calls it.
        "chrf": MappingProxyType(
            {"char_order": 6, "word_order": 0, "beta": 2, "remove_whitespace": True, "eps_smoothing": False}
        ),
        # lm_eval.api.metrics.chrfpp: corpus_chrf(..., word_order=2).
        "chrf++": MappingProxyType(
            {"char_order": 6, "word_order": 2, "beta": 2, "remove_whitespace": True, "eps_smoothing": False}
        ),
        # sacrebleu.corpus_ter defaults, as lm_eval.api.metrics.ter calls it.
        "ter": MappingProxyType(
            {"normalized": False, "no_punct": False, "asian_support": False, "case_sensitive": False}
        ),
    }
)
"""Options per metric: the argument names and defaults of sacrebleu's ``corpus_*`` functions."""

_BLEU_LOG_ZERO = -9999999999.0  # sacrebleu.utils.my_log(0)


# --------------------------------------------------------------------------- formulas


def _bleu_scores(totals: FloatArray, opts: Mapping[str, Any]) -> FloatArray:
    """Vectorized ``sacrebleu.BLEU.compute_bleu`` over rows of summed statistics."""
    order = int(opts["max_ngram_order"])
    smooth = str(opts["smooth_method"])
    smooth_value = opts["smooth_value"]
    if smooth_value is None:
        smooth_value = {"none": None, "floor": 0.1, "add-k": 1, "exp": None}[smooth]
    sys_len = totals[:, 0]
    ref_len = totals[:, 1]
    correct = totals[:, 2 : 2 + order].copy()
    total = totals[:, 2 + order : 2 + 2 * order].copy()
    no_match = ~np.any(correct != 0, axis=1)  # sacrebleu's early stop (#141): score 0

    with np.errstate(divide="ignore", invalid="ignore"):
        bp = np.where(
            sys_len < ref_len,
            np.where(sys_len > 0, np.exp(1.0 - ref_len / np.where(sys_len > 0, sys_len, 1.0)), 0.0),
            1.0,
        )
        if smooth == "add-k":
            correct[:, 1:] += smooth_value
            total[:, 1:] += smooth_value
        alive = np.cumprod(total != 0, axis=1).astype(bool)  # the `break` at the first empty order
        zero = (correct == 0) & alive
        safe_total = np.where(total != 0, total, 1.0)
        prec = np.where(alive, 100.0 * correct / safe_total, 0.0)
        if smooth == "exp":
            k = np.cumsum(zero, axis=1)
            prec = np.where(zero, 100.0 / (np.power(2.0, k) * safe_total), prec)
        elif smooth == "floor":
            prec = np.where(zero, 100.0 * float(smooth_value) / safe_total, prec)
        logs = np.where(prec == 0.0, _BLEU_LOG_ZERO, np.log(np.where(prec > 0, prec, 1.0)))
        if opts["use_effective_order"]:
            n_alive = alive.sum(axis=1)
            eff = np.where(n_alive > 0, n_alive, order)
            used = np.arange(order)[None, :] < eff[:, None]
            log_sum = np.where(used, logs, 0.0).sum(axis=1)
        else:
            eff = np.full(totals.shape[0], order)
            log_sum = logs.sum(axis=1)
        score = bp * np.exp(log_sum / eff)
    return np.where(no_match, 0.0, score)


def _chrf_scores(totals: FloatArray, opts: Mapping[str, Any]) -> FloatArray:
    """Vectorized ``sacrebleu.CHRF._compute_f_score`` over rows of summed statistics."""
    n_orders = int(opts["char_order"]) + int(opts["word_order"])
    factor = float(int(opts["beta"]) ** 2)
    eps = 1e-16
    hyp = totals[:, 0 : 3 * n_orders : 3]
    ref = totals[:, 1 : 3 * n_orders : 3]
    match = totals[:, 2 : 3 * n_orders : 3]
    with np.errstate(divide="ignore", invalid="ignore"):
        prec = np.where(hyp > 0, match / np.where(hyp > 0, hyp, 1.0), eps)
        rec = np.where(ref > 0, match / np.where(ref > 0, ref, 1.0), eps)
        if opts["eps_smoothing"]:
            denom = factor * prec + rec
            f = np.where(denom > 0, (1 + factor) * prec * rec / np.where(denom > 0, denom, 1.0), eps)
            out: FloatArray = 100.0 * f.sum(axis=1) / n_orders
            return out
        valid = (hyp > 0) & (ref > 0)
        eff = valid.sum(axis=1)
        avg_prec = np.where(valid, prec, 0.0).sum(axis=1)
        avg_rec = np.where(valid, rec, 0.0).sum(axis=1)
        safe_eff = np.where(eff > 0, eff, 1)
        avg_prec = np.where(eff > 0, avg_prec / safe_eff, 0.0)
        avg_rec = np.where(eff > 0, avg_rec / safe_eff, 0.0)
        s = (1 + factor) * avg_prec * avg_rec
        denom = factor * avg_prec + avg_rec
        nz = (avg_prec + avg_rec) != 0
        score = np.where(nz, 100.0 * (s / np.where(nz, denom, 1.0)), 0.0)
    return score


def _ter_scores(totals: FloatArray) -> FloatArray:
    """Vectorized ``sacrebleu.TER._compute_score_from_stats``."""
    edits = totals[:, 0]
    ref_len = totals[:, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = edits / np.where(ref_len > 0, ref_len, 1.0)
    return 100.0 * np.where(ref_len > 0, ratio, np.where(edits > 0, 1.0, 0.0))


# --------------------------------------------------------------------------- statistics objects


@dataclass(frozen=True, eq=False)
class CorpusStats:
    """Additive per-segment sufficient statistics of a corpus metric.

    Implements :class:`lm_eval_mtl.stats.bootstrap.SufficientStatistics`, so it can be a
    task of :func:`~lm_eval_mtl.stats.bootstrap.bootstrap_composite`.
    """

    metric: CorpusMetric
    """Which metric: ``bleu``, ``chrf``, ``chrf++`` or ``ter``."""
    stats: FloatArray = field(repr=False)
    """Shape (n_segments, d): sacrebleu's segment statistics (BLEU: sys_len, ref_len,
    correct[1..4], total[1..4]; chrF: (hyp, ref, match) per order; TER: edits, ref_len)."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """The metric options (sacrebleu ``corpus_*`` argument names), defaults filled in."""

    def __post_init__(self) -> None:
        if self.metric not in DEFAULT_OPTIONS:
            from lm_eval_mtl.errors import unknown_name

            raise unknown_name("corpus metric", str(self.metric), list(DEFAULT_OPTIONS))
        s = np.array(self.stats, dtype=np.float64, copy=True)
        if s.ndim != 2 or s.shape[0] < 1:
            raise ValueError(f"`stats` must have shape (n_segments >= 1, d); got {s.shape}.")
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError("`stats` must be finite and non-negative.")
        opts = dict(DEFAULT_OPTIONS[self.metric])
        unknown = sorted(set(self.options) - set(opts))
        if unknown:
            raise ValueError(
                f"Unknown option(s) {unknown} for metric {self.metric!r}; known: {sorted(opts)}."
            )
        opts.update(self.options)
        expected = _stats_width(self.metric, opts)
        if s.shape[1] != expected:
            raise ValueError(
                f"`stats` for {self.metric!r} with these options must have {expected} columns; got {s.shape[1]}."
            )
        s.setflags(write=False)
        object.__setattr__(self, "stats", s)
        object.__setattr__(self, "options", MappingProxyType(opts))

    @property
    def n(self) -> int:
        """Number of segments."""
        return int(self.stats.shape[0])

    def score_totals(self, totals: FloatArray) -> FloatArray:
        """Return the metric (0-100 scale) for each row of summed statistics, shape (B, d) -> (B,)."""
        t = np.asarray(totals, dtype=np.float64)
        if self.metric == "bleu":
            return _bleu_scores(t, self.options)
        if self.metric in ("chrf", "chrf++"):
            return _chrf_scores(t, self.options)
        return _ter_scores(t)

    def subset(self, indices: npt.ArrayLike) -> CorpusStats:
        """Return the statistics of the segments at ``indices`` (repeats allowed)."""
        return CorpusStats(self.metric, self.stats[np.asarray(indices, dtype=np.intp)], dict(self.options))


@dataclass(frozen=True, eq=False)
class CorpusDifference:
    """Paired difference ``score(a) - score(b)`` of two systems on the same segments.

    Resampling it resamples the same segments for both systems (Koehn 2004's paired
    bootstrap). Implements :class:`lm_eval_mtl.stats.bootstrap.SufficientStatistics`.
    """

    a: CorpusStats
    """Statistics of system A."""
    b: CorpusStats
    """Statistics of system B (same metric, options and segments)."""

    def __post_init__(self) -> None:
        if self.a.metric != self.b.metric or dict(self.a.options) != dict(self.b.options):
            raise ValueError(
                "`a` and `b` must use the same metric and options; got "
                f"{self.a.metric} {dict(self.a.options)} and {self.b.metric} {dict(self.b.options)}."
            )
        if self.a.n != self.b.n:
            raise ValueError(
                f"`a` and `b` must cover the same segments; got {self.a.n} and {self.b.n} segments."
            )

    @property
    def stats(self) -> FloatArray:
        """Both systems' statistics side by side, shape (n_segments, 2d)."""
        return np.hstack([self.a.stats, self.b.stats])

    def score_totals(self, totals: FloatArray) -> FloatArray:
        """``score_a - score_b`` for each row of summed side-by-side statistics."""
        d = self.a.stats.shape[1]
        t = np.asarray(totals, dtype=np.float64)
        return self.a.score_totals(t[:, :d]) - self.b.score_totals(t[:, d:])


def _stats_width(metric: str, opts: Mapping[str, Any]) -> int:
    if metric == "bleu":
        return 2 + 2 * int(opts["max_ngram_order"])
    if metric in ("chrf", "chrf++"):
        return 3 * (int(opts["char_order"]) + int(opts["word_order"]))
    return 2


# --------------------------------------------------------------------------- public functions


def _segment_stats_iv(
    metric: str,
    references: Sequence[str] | Sequence[Sequence[str]],
    predictions: Sequence[str],
    metric_kwargs: Mapping[str, Any],
) -> tuple[dict[str, Any], list[list[str]], list[str]]:
    if metric not in DEFAULT_OPTIONS:
        from lm_eval_mtl.errors import unknown_name

        raise unknown_name("corpus metric", str(metric), list(DEFAULT_OPTIONS))
    opts = dict(DEFAULT_OPTIONS[metric])
    unknown = sorted(set(metric_kwargs) - set(opts))
    if unknown:
        raise ValueError(f"Unknown option(s) {unknown} for metric {metric!r}; known: {sorted(opts)}.")
    opts.update(metric_kwargs)
    if isinstance(predictions, str) or not isinstance(predictions, Sequence):
        raise ValueError(f"`predictions` must be a sequence of strings; got {type(predictions).__name__}.")
    if isinstance(references, str) or not isinstance(references, Sequence):
        raise ValueError(
            "`references` must be a sequence of strings (or of equal-length sequences of strings); "
            f"got {type(references).__name__}."
        )
    if len(predictions) == 0:
        raise InsufficientDataError("`predictions` must hold at least 1 segment; got 0.")
    if len(references) != len(predictions):
        raise ValueError(
            f"`references` and `predictions` must have one entry per segment; got {len(references)} "
            f"and {len(predictions)}."
        )
    preds: list[str] = []
    for i, p in enumerate(predictions):
        if not isinstance(p, str):
            raise ValueError(f"`predictions[{i}]` must be a string; got {type(p).__name__}.")
        preds.append(p)
    per_segment: list[list[str]] = []
    for i, r in enumerate(references):
        refs_i = [r] if isinstance(r, str) else list(r)
        if not refs_i or not all(isinstance(x, str) for x in refs_i):
            raise ValueError(
                f"`references[{i}]` must be a string or a non-empty sequence of strings; got {r!r:.80}."
            )
        per_segment.append(refs_i)
    n_refs = {len(r) for r in per_segment}
    if len(n_refs) != 1:
        raise ValueError(
            f"Every segment must have the same number of references (as lm-eval's _sacreformat); got {sorted(n_refs)}."
        )
    streams = [list(s) for s in zip(*per_segment, strict=True)]
    return opts, streams, preds


def segment_stats(
    metric: CorpusMetric,
    references: Sequence[str] | Sequence[Sequence[str]],
    predictions: Sequence[str],
    **metric_kwargs: Any,
) -> CorpusStats:
    """Per-segment sufficient statistics of a corpus metric, extracted by sacrebleu.

    Args:
        metric: ``"bleu"``, ``"chrf"``, ``"chrf++"`` or ``"ter"``.
        references: One reference string per segment, or one sequence of references per
            segment (the same number for every segment), as lm-eval logs them.
        predictions: One hypothesis string per segment.
        **metric_kwargs: Options named as sacrebleu's ``corpus_bleu``/``corpus_chrf``/
            ``corpus_ter`` arguments; the defaults (:data:`DEFAULT_OPTIONS`) are lm-eval's.

    Returns:
        The :class:`CorpusStats`; ``corpus_score(result)`` equals lm-eval's aggregation.

    Raises:
        UnknownNameError: Unknown ``metric``.
        ValueError: Unknown options, mismatched lengths, non-string entries.
        InsufficientDataError: No segments.
    """
    opts, streams, preds = _segment_stats_iv(metric, references, predictions, metric_kwargs)
    if metric in ("chrf", "chrf++") and int(opts["word_order"]) == 0:
        # Character n-grams only (chrF's default): the same integers as sacrebleu, vectorized.
        from lm_eval_mtl.stats.chrf_stats import chrf_char_stats

        rows_chrf = chrf_char_stats(
            preds,
            streams,
            char_order=int(opts["char_order"]),
            remove_whitespace=bool(opts["remove_whitespace"]),
            f_scores=lambda r: _chrf_scores(r, opts),
        )
        return CorpusStats(metric, rows_chrf, opts)
    from sacrebleu.metrics import BLEU, CHRF, TER  # type: ignore[attr-defined]

    scorer: Any
    if metric == "bleu":
        scorer = BLEU(
            lowercase=opts["lowercase"],
            force=opts["force"],
            tokenize=opts["tokenize"],
            smooth_method=opts["smooth_method"],
            smooth_value=opts["smooth_value"],
            effective_order=opts["use_effective_order"],
            max_ngram_order=opts["max_ngram_order"],
        )
    elif metric in ("chrf", "chrf++"):
        scorer = CHRF(
            char_order=opts["char_order"],
            word_order=opts["word_order"],
            beta=opts["beta"],
            whitespace=not opts["remove_whitespace"],
            eps_smoothing=opts["eps_smoothing"],
        )
    else:
        scorer = TER(
            normalized=opts["normalized"],
            no_punct=opts["no_punct"],
            asian_support=opts["asian_support"],
            case_sensitive=opts["case_sensitive"],
        )
    rows = scorer._extract_corpus_statistics(preds, streams)
    return CorpusStats(metric, np.asarray(rows, dtype=np.float64).reshape(len(preds), -1), opts)


@overload
def corpus_score(stats: CorpusStats, counts: None = None) -> float: ...
@overload
def corpus_score(stats: CorpusStats, counts: npt.ArrayLike) -> FloatArray: ...
def corpus_score(stats: CorpusStats, counts: npt.ArrayLike | None = None) -> float | FloatArray:
    """Compute the corpus score (0-100 scale), or the scores of resamples given their multiplicities.

    Args:
        stats: Segment statistics from :func:`segment_stats`.
        counts: None for the corpus itself; or multiplicities of shape (B, n_segments)
            (or (n_segments,)), each row one resample (e.g. bootstrap counts).

    Returns:
        A float for ``counts=None``; otherwise an array of B scores.

    Raises:
        ValueError: ``stats`` is not a CorpusStats, or ``counts`` has the wrong shape or
            negative/non-finite entries.
    """
    if not isinstance(stats, CorpusStats):
        raise ValueError(f"`stats` must be a CorpusStats (from segment_stats); got {type(stats).__name__}.")
    if counts is None:
        return float(stats.score_totals(stats.stats.sum(axis=0, keepdims=True))[0])
    c = np.asarray(counts, dtype=np.float64)
    if c.ndim == 1:
        c = c[None, :]
    if c.ndim != 2 or c.shape[1] != stats.n:
        raise ValueError(f"`counts` must have shape (B, n_segments={stats.n}); got {np.shape(counts)}.")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("`counts` must be finite and non-negative.")
    return stats.score_totals(c @ stats.stats)


def bootstrap_corpus(
    stats: CorpusStats,
    *,
    n_resamples: int = 1000,
    rng: RngLike = None,
    confidence_level: float = 0.95,
    method: Literal["percentile", "bca", "basic"] = "percentile",
    baseline: CorpusStats | None = None,
) -> BootstrapResult:
    """Bootstrap a corpus score over segments (or a paired difference against ``baseline``).

    Args:
        stats: Segment statistics of the system.
        n_resamples: Number of resamples B.
        rng: Generator, int seed or None.
        confidence_level: In (0, 1).
        method: ``"percentile"``, ``"bca"`` (leave-one-segment-out jackknife) or ``"basic"``.
        baseline: Statistics of a second system on the same segments: the result is then
            the paired bootstrap of ``score(stats) - score(baseline)`` (Koehn 2004).

    Returns:
        A :class:`~lm_eval_mtl.stats.bootstrap.BootstrapResult` on the 0-100 scale.

    Raises:
        ValueError: ``stats``/``baseline`` are not CorpusStats or do not match; bad level or B.
    """
    from lm_eval_mtl.stats.bootstrap import bootstrap_composite

    if not isinstance(stats, CorpusStats):
        raise ValueError(f"`stats` must be a CorpusStats (from segment_stats); got {type(stats).__name__}.")
    task: CorpusStats | CorpusDifference = stats
    if baseline is not None:
        if not isinstance(baseline, CorpusStats):
            raise ValueError(f"`baseline` must be a CorpusStats or None; got {type(baseline).__name__}.")
        task = CorpusDifference(stats, baseline)
    return bootstrap_composite(
        [task], [1.0], confidence_level=confidence_level, method=method, n_resamples=n_resamples, rng=rng
    )
