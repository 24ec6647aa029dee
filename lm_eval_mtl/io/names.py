"""File names lm-eval writes into an output folder."""

from __future__ import annotations

import re

__all__ = ["ANY_TIMESTAMPED_JSON", "RESULTS_NAME", "SAMPLES_NAME", "TIMESTAMP"]

TIMESTAMP = r"\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}(?:\.\d+)?"
"""``<timestamp>`` of lm-eval file names: ``datetime.now().isoformat()`` with ``:`` -> ``-``."""
RESULTS_NAME = re.compile(rf"^results_(?P<ts>{TIMESTAMP})\.json$")
"""``results_<timestamp>.json``."""
ANY_TIMESTAMPED_JSON = re.compile(rf"^(?P<stem>.+)_(?P<ts>{TIMESTAMP})\.json$")
"""Any ``<stem>_<timestamp>.json``."""
SAMPLES_NAME = re.compile(rf"^samples_(?P<task>.+)_(?P<ts>{TIMESTAMP})\.jsonl$")
"""``samples_<task>_<timestamp>.jsonl``."""
