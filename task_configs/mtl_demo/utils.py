"""Dataset loader of the bundled ``mtl_demo`` suite.

lm-eval resolves a relative ``data_files`` path against the working directory,
not against the YAML's folder, so a shipped task cannot name its data file with
``dataset_path: json`` alone. The demo tasks instead declare
``custom_dataset: !function utils.load`` (lm-eval imports this file relative to
the YAML) and ``dataset_kwargs: {data_file: <name>.jsonl}``; the loader reads the
file next to this module, wherever the package is installed and whatever the
working directory.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"


def load(data_file: str | None = None, split: str = "test", **_: Any) -> Any:
    """Load one demo task's items as a ``datasets.DatasetDict`` with one split.

    Args:
        data_file: File name under ``data/`` (from the task's ``dataset_kwargs``).
        split: Split name to expose (the tasks use ``test``).
        **_: lm-eval also passes the task metadata (``version`` ...); ignored.

    Returns:
        ``DatasetDict({split: Dataset})``.

    Raises:
        ValueError: ``data_file`` is missing or not a plain file name under ``data/``.
        FileNotFoundError: The file does not exist.
    """
    import datasets

    if not data_file or Path(data_file).name != data_file:
        raise ValueError(f"`data_file` must be a file name under {DATA_DIR}; got {data_file!r}.")
    path = DATA_DIR / data_file
    with path.open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return datasets.DatasetDict({split: datasets.Dataset.from_list(rows)})
