"""The citation signature of a composite, built from the objects that made the number."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from lm_eval_mtl.scoring.types import WeightsInfo
from lm_eval_mtl.suites.spec import SuiteSpec

__all__ = ["limit_mark", "limit_text", "signature"]


def limit_text(limit: float) -> str:
    """Write an lm-eval ``--limit`` as given: ``10`` (items per task) or ``0.1`` (a fraction of each task)."""
    return str(int(limit)) if float(limit).is_integer() else f"{limit:g}"


def limit_mark(limit: float | None) -> str:
    """Return the words that mark a ``lm_eval --limit`` run (empty for a full run)."""
    if limit is None:
        return ""
    n = limit_text(limit)
    what = f"a fraction {n} of each task's items" if limit < 1 else f"first {n} items per task"
    return f"lm_eval --limit {n}: {what}, not the full benchmark"


def signature(
    suite: SuiteSpec,
    weights: WeightsInfo,
    lm_eval_version: str | None,
    task_hashes: Mapping[str, str | None],
    tasks_dropped: Sequence[str] = (),
    *,
    chance_from_samples: bool = False,
    limit: float | None = None,
) -> str:
    """Build the citation signature of a composite, like sacrebleu's.

    Format (fields separated by ``|``)::

        <suite>@<version>|norm=<chance|chance[samples]>|w=<weights id>@sha256:<6 hex>|lm-eval=<version>|tasks=<8 hex>[|limit=<N>][|drop=<a>+<b>]

    * ``<suite>@<version>``: the suite and its ``metadata.version`` (fixes members,
      metrics, filters, chance and ceilings).
    * ``norm=chance``: z = (x - c)/(u - c), not clipped, with every member's chance c as
      its suite spec gives it (the exact mean of 1/k over its evaluation split, or a
      fixed 1/k); this is the chance of lm-eval's own table row. ``norm=chance[samples]``:
      some multiple-choice member's chance was taken from its logged items (the mean of
      1/k over the items scored) and differs from the spec's (a ``--limit`` run, a subset,
      or a member whose spec chance is not exact), so the number may differ from the
      table row's.
    * ``w=``: the weights id (the scheme name for structural weights) and the first 6 hex
      digits of their sha256 (the weights file's content hash; for structural weights the
      hash of the canonical JSON of the member weights before any drop).
    * ``lm-eval=``: lm-eval's version (or ``git-<hash>``), ``unknown`` when not recorded.
    * ``tasks=``: first 8 hex digits of sha256 over the lines ``<task>:<task_hash>`` of the
      members' tasks (sorted), from the results file's ``task_hashes`` (written by lm-eval
      when samples are logged; they hash every document, prompt and target). ``tasks=na``
      when some member has no task hash.
    * ``limit=``: the run was made with ``lm_eval --limit N`` (the results file's
      ``config.limit``): each task scored only its first N items (or, for N < 1, that fraction
      of them), so the number is not the benchmark's full score. Absent for a full run.
    * ``drop=``: when ``missing="drop"`` dropped members: their labels, sorted, joined by
      ``+`` (up to 5), else ``<count>@<first 8 hex of sha256 of the sorted labels, one per line>``.

    Args:
        suite: The suite.
        weights: The weights used.
        lm_eval_version: From the run.
        task_hashes: Task -> its hash (None when absent), for the members' tasks.
        tasks_dropped: Dropped member labels.
        chance_from_samples: Whether some member's chance came from its items and differs
            from the spec's.
        limit: The run's ``--limit`` (``config.limit`` of its results file), None for a full run.

    Returns:
        The signature string.
    """
    if task_hashes and all(task_hashes.values()):
        lines = "\n".join(f"{t}:{h}" for t, h in sorted(task_hashes.items()))
        tasks = hashlib.sha256(lines.encode("utf-8")).hexdigest()[:8]
    else:
        tasks = "na"
    parts = [
        suite.id,
        "norm=chance[samples]" if chance_from_samples else "norm=chance",
        f"w={weights.id}@sha256:{weights.short_hash}",
        f"lm-eval={lm_eval_version or 'unknown'}",
        f"tasks={tasks}",
    ]
    if limit is not None:
        parts.append(f"limit={limit_text(limit)}")
    if tasks_dropped:
        names = sorted(tasks_dropped)
        if len(names) <= 5:
            parts.append("drop=" + "+".join(names))
        else:
            digest = hashlib.sha256("\n".join(names).encode("utf-8")).hexdigest()[:8]
            parts.append(f"drop={len(names)}@{digest}")
    return "|".join(parts)
