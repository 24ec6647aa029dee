"""Local rows in the schema of ``microsoft/ms_marco`` v1.1, and a local dataset folder laid out like the Hub repo.

The Hub repository holds one parquet file per config and split (``v1.1/validation-00000-of-00001.parquet``)
and declares its configs in the README's YAML header; :func:`write_local_dataset` writes the same layout,
so ``datasets.load_dataset(<folder>, "v1.1", split="validation")`` reads it exactly as it reads the Hub
copy, and a task YAML that only swaps ``dataset_path`` for the folder runs the real config.

The texts are seeded pseudo-words (no data is copied); the rows vary what the metrics depend on: the
number of candidates (2..10), of relevant ones (0..3; rows without a relevant passage exist, as in the
real data, and the task drops them) and duplicated passages (ties in any scorer).
"""

from __future__ import annotations

import random
import textwrap
from pathlib import Path
from typing import Any

_SYL = "ba be bi bo bu ca co da de do fa fe ga go ha he ka ko la le lo ma me mo na ne no pa pe ra re ro sa se so ta te to va ve".split()


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYL) for _ in range(rng.randint(1, 3)))


def _text(rng: random.Random, lo: int, hi: int) -> str:
    words = [_word(rng) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def make_rows(n_queries: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n_queries`` rows with the fields of ms_marco v1.1 (answers, passages, query, query_id, query_type,
    wellFormedAnswers); about one row in eight has no relevant passage."""
    rng = random.Random(seed)
    rows = []
    for q in range(n_queries):
        n = rng.choice([2, 3, 5, 7, 8, 9, 10, 10, 10, 10])
        r = 0 if rng.random() < 0.125 else min(n - 1, rng.choice([1, 1, 1, 2, 3]))
        selected = [0] * n
        for i in rng.sample(range(n), r):
            selected[i] = 1
        texts = [_text(rng, 6, 18) for _ in range(n)]
        if n >= 3 and rng.random() < 0.15:  # duplicated passages occur in the real data
            texts[-1] = texts[0]
        query = " ".join(_word(rng) for _ in range(rng.randint(2, 6)))
        rows.append(
            {
                "answers": [_text(rng, 2, 6)] if r else ["No Answer Present."],
                "passages": {
                    "is_selected": selected,
                    "passage_text": texts,
                    "url": [f"http://example.org/{q}/{i}" for i in range(n)],
                },
                "query": query,
                "query_id": 19700 + q,
                "query_type": rng.choice(["description", "numeric", "entity", "location", "person"]),
                "wellFormedAnswers": [],
            }
        )
    return rows


README = textwrap.dedent(
    """\
    ---
    configs:
    - config_name: v1.1
      data_files:
      - split: validation
        path: v1.1/validation-*
    ---
    Local rows in the schema of microsoft/ms_marco (generated for tests).
    """
)


def write_local_dataset(folder: Path, rows: list[dict[str, Any]]) -> Path:
    """Write ``rows`` as config ``v1.1``, split ``validation``, in the Hub repo's layout; return ``folder``."""
    import datasets

    features = datasets.Features(
        {
            "answers": datasets.Sequence(datasets.Value("string")),
            "passages": datasets.Sequence(
                {
                    "is_selected": datasets.Value("int32"),
                    "passage_text": datasets.Value("string"),
                    "url": datasets.Value("string"),
                }
            ),
            "query": datasets.Value("string"),
            "query_id": datasets.Value("int32"),
            "query_type": datasets.Value("string"),
            "wellFormedAnswers": datasets.Sequence(datasets.Value("string")),
        }
    )
    (folder / "v1.1").mkdir(parents=True, exist_ok=True)
    ds = datasets.Dataset.from_list(rows, features=features)
    ds.to_parquet(str(folder / "v1.1" / "validation-00000-of-00001.parquet"))
    (folder / "README.md").write_text(README, encoding="utf-8")
    return folder
