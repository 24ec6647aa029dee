"""MS MARCO passage ranking for ``mtl_msmarco``: prompts, per-query RR@10 / NDCG@10 and their chance levels.

One lm-eval document is one query with its candidate passages (``microsoft/ms_marco`` v1.1: ``query``,
``passages.passage_text``, ``passages.is_selected``). The task is ``multiple_choice`` with multiple inputs
(like winogrande): ``doc_to_text`` returns an int, so each "choice" is a full context, one per passage,
and the shared continuation is `` Yes``; lm-eval sends one loglikelihood request per (query, passage).

``process_results`` ranks the passages by that log-probability (ties broken by a hash of the passage text,
never by the dataset's order, which is Bing's ranking) and returns, per query:

* ``rr10``: reciprocal rank of the first relevant passage within the top 10 (0 if none);
* ``ndcg10``: NDCG@10 with binary gains ``is_selected`` and the ``1/log2(rank+1)`` discount (trec_eval's
  ``ndcg_cut_10``);
* ``rr10_chance`` and ``ndcg10_chance``: the exact expectation of those metrics when the query's
  candidates are ranked by a uniformly random permutation (closed forms below; the tests check them
  against exact enumeration, simulation and ir-measures).

With ``n`` candidates of which ``r >= 1`` are relevant, under a uniform random ranking:

* the first relevant passage sits at rank ``j`` with probability ``C(n-j, r-1) / C(n, r)``, so
  ``E[RR@10] = sum_{j=1}^{min(10, n-r+1)} C(n-j, r-1) / (j C(n, r))``;
* every rank ``j <= n`` holds a relevant passage with probability ``r/n`` (linearity of expectation), and
  the ideal DCG does not depend on the ranking, so
  ``E[NDCG@10] = (r/n) sum_{j=1}^{min(10, n)} 1/log2(j+1) / sum_{j=1}^{min(10, r)} 1/log2(j+1)``.

Only the standard library is used here (the task must run wherever lm-eval runs).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from typing import Any

CUTOFF = 10
"""Rank cutoff of RR@10 and NDCG@10."""

PROMPT = "Passage: {passage}\nQuery: {query}\nDoes the passage answer the query?\nAnswer:"
"""The relevance prompt (HELM's MS MARCO wording); the continuation scored is `` Yes``."""


def _passages(doc: dict[str, Any]) -> tuple[list[str], list[int]]:
    p = doc["passages"]
    texts = [str(t).strip() for t in p["passage_text"]]
    labels = [1 if int(x) > 0 else 0 for x in p["is_selected"]]
    if len(texts) != len(labels):
        raise ValueError(
            f"MS MARCO row {doc.get('query_id')!r}: {len(texts)} passages but {len(labels)} is_selected labels."
        )
    return texts, labels


def usable(doc: dict[str, Any]) -> bool:
    """Whether a row can be ranked: at least two candidates and at least one relevant one."""
    texts, labels = _passages(doc)
    return len(texts) >= 2 and any(labels) and len(texts) == len(labels)


def process_docs(dataset: Any) -> Any:
    """Keep the queries that can be ranked (see :func:`usable`).

    A query without a relevant passage has no defined NDCG and no chance above 0: it is dropped rather
    than scored 0.
    """
    return dataset.filter(usable)


def doc_to_text(doc: dict[str, Any]) -> int:
    """Return an int, so lm-eval treats the choices as the contexts (one per passage)."""
    return 0


def doc_to_choice(doc: dict[str, Any]) -> list[str]:
    """One relevance prompt per candidate passage, in the dataset's order."""
    texts, _ = _passages(doc)
    query = str(doc["query"]).strip()
    return [PROMPT.format(passage=t, query=query) for t in texts]


def tie_key(query: str, passage: str) -> str:
    """Tie-breaker between equal scores: a hash, unrelated to relevance or to the dataset's order."""
    return hashlib.sha256(f"{query}\x00{passage}".encode()).hexdigest()


def ranking(scores: Sequence[float], tie_keys: Sequence[str]) -> list[int]:
    """Candidate indices, best first: by score descending, then by tie key, then by index."""
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), tie_keys[i], i))


def rr_at_k(ranked_labels: Sequence[int], k: int = CUTOFF) -> float:
    """Reciprocal rank of the first relevant item within the top ``k`` (0 if none)."""
    for rank, rel in enumerate(ranked_labels[:k], start=1):
        if rel > 0:
            return 1.0 / rank
    return 0.0


def _discounts(m: int) -> float:
    return sum(1.0 / math.log2(j + 1) for j in range(1, m + 1))


def ndcg_at_k(ranked_labels: Sequence[int], k: int = CUTOFF) -> float:
    """NDCG@k with the labels as gains and the 1/log2(rank+1) discount; 0 when nothing is relevant."""
    dcg = sum(g / math.log2(j + 1) for j, g in enumerate(ranked_labels[:k], start=1))
    ideal = sorted(ranked_labels, reverse=True)
    idcg = sum(g / math.log2(j + 1) for j, g in enumerate(ideal[:k], start=1))
    return dcg / idcg if idcg > 0 else 0.0


def expected_rr_at_k(n: int, r: int, k: int = CUTOFF) -> float:
    """Exact E[RR@k] of a uniformly random ranking of ``n`` candidates, ``r`` of them relevant."""
    if not (0 <= r <= n) or n < 1:
        raise ValueError(f"need 0 <= r <= n and n >= 1; got n={n}, r={r}")
    if r == 0:
        return 0.0
    total = math.comb(n, r)
    return sum(math.comb(n - j, r - 1) / (j * total) for j in range(1, min(k, n - r + 1) + 1))


def expected_ndcg_at_k(n: int, r: int, k: int = CUTOFF) -> float:
    """Exact E[NDCG@k] (binary gains) of a uniformly random ranking of ``n`` candidates, ``r`` relevant."""
    if not (0 <= r <= n) or n < 1:
        raise ValueError(f"need 0 <= r <= n and n >= 1; got n={n}, r={r}")
    if r == 0:
        return 0.0
    return (r / n) * _discounts(min(k, n)) / _discounts(min(k, r))


def score_query(
    scores: Sequence[float], labels: Sequence[int], tie_keys: Sequence[str], k: int = CUTOFF
) -> dict[str, float]:
    """Return the four per-query values from the candidates' scores and relevance labels."""
    order = ranking(scores, tie_keys)
    ranked = [labels[i] for i in order]
    n, r = len(labels), sum(1 for x in labels if x > 0)
    return {
        "rr10": rr_at_k(ranked, k),
        "ndcg10": ndcg_at_k(ranked, k),
        "rr10_chance": expected_rr_at_k(n, r, k),
        "ndcg10_chance": expected_ndcg_at_k(n, r, k),
    }


def process_results(doc: dict[str, Any], results: Sequence[Any]) -> dict[str, float]:
    """Per query: RR@10, NDCG@10 and their chance levels (lm-eval averages each over queries)."""
    texts, labels = _passages(doc)
    lls = [float(r[0]) if isinstance(r, (tuple, list)) else float(r) for r in results]
    if len(lls) != len(texts):
        raise ValueError(
            f"MS MARCO query {doc.get('query_id')!r}: {len(lls)} loglikelihoods for {len(texts)} passages."
        )
    query = str(doc["query"]).strip()
    return score_query(lls, labels, [tie_key(query, t) for t in texts])
