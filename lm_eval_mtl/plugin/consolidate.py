"""The composite-row adapter for lm-eval without ``Group.aggregate`` (0.4.9.2 to 0.4.11).

There, groups are aggregated by ``consolidate_group_results(results, versions,
task_dict, task_root=None, show_group_table=False, task_aggregation_list=None)``
in ``lm_eval/evaluator_utils.py``, which ``lm_eval.evaluator`` imports by name.
The start-up hook patches the module right after it has executed, so the
evaluator binds the wrapper. The wrapper runs lm-eval's own consolidation
unchanged (it recurses through the module attribute, i.e. through the wrapper,
which passes inner calls straight through); after the outermost call it adds,
for every group of the task tree whose ``metadata`` has an ``mtl`` block, the
same entries as :func:`lm_eval_mtl.plugin.composite.composite_entries` on newer
lm-eval, computed from the member tasks' final results (their ``samples`` count
read as ``sample_len``), so the row prints in lm-eval's Groups table and lands
in its results JSON. A bad spec or a missing member raises, as on newer lm-eval.

Where this lm-eval has neither hook point -- ``lm_eval.evaluator_utils`` without
this function and ``lm_eval.api.group`` without ``Group.aggregate``, both
imported -- one line says the composite row is off and how to get the composite
(``lm-eval-mtl report``): :func:`report_if_no_hook_point`, called by both adapters.
A signature mismatch is reported by the adapter that found it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator, Mapping
from types import ModuleType
from typing import Any

from lm_eval_mtl.plugin.wrapping import finish_wrapper, is_wrapped, log_once, signature_names

__all__ = [
    "CONSOLIDATE_PARAMS",
    "add_composites",
    "iter_mtl_groups",
    "patch_evaluator_utils",
    "report_if_no_hook_point",
]

CONSOLIDATE_PARAMS: tuple[str, ...] = (
    "results",
    "versions",
    "task_dict",
    "task_root",
    "show_group_table",
    "task_aggregation_list",
)
"""``consolidate_group_results``'s parameters on lm-eval 0.4.9.2 to 0.4.11."""

_OFF = (
    "this lm-eval has neither Group.aggregate nor consolidate_group_results{detail}; "
    "composite rows are off (run `lm-eval-mtl report` on the output folder for the composite)."
)


def _loaded(name: str) -> ModuleType | None:
    """``sys.modules[name]`` once it has finished executing (None before)."""
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    if module is None or getattr(spec, "_initializing", False):
        return None
    return module


def report_if_no_hook_point() -> bool:
    """Log once that composite rows are off when neither hook point exists.

    Returns:
        Whether it was reported (both modules loaded, neither hook point present).
    """
    utils, group = _loaded("lm_eval.evaluator_utils"), _loaded("lm_eval.api.group")
    if utils is None or group is None:
        return False  # the other module's adapter decides once it has run
    if getattr(utils, "consolidate_group_results", None) is not None:
        return False
    if getattr(getattr(group, "Group", None), "aggregate", None) is not None:
        return False
    log_once("no-hook-point", _OFF.format(detail=""))
    return True


def _group_name(key: Any) -> str | None:
    name = getattr(key, "group_name", None)
    return name if isinstance(name, str) else None


def _group_metadata(key: Any) -> Any:
    config = getattr(key, "config", None)
    if isinstance(config, Mapping):
        return config.get("metadata")
    return getattr(config, "metadata", None)


def iter_mtl_groups(task_dict: Mapping[Any, Any]) -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Yield the ``(name, metadata)`` of every group in lm-eval's task tree whose metadata has ``mtl``.

    Args:
        task_dict: lm-eval's nested task dict (``ConfigurableGroup`` keys map to dicts,
            task names to ``Task`` objects).
    """
    for key, value in task_dict.items():
        if isinstance(value, Mapping):
            name, metadata = _group_name(key), _group_metadata(key)
            if name is not None and isinstance(metadata, Mapping) and "mtl" in metadata:
                yield name, metadata
            yield from iter_mtl_groups(value)


def add_composites(results: Any, versions: Any, task_dict: Mapping[Any, Any]) -> bool:
    """Add the composite entries of every mtl group to lm-eval's consolidated ``results``.

    Args:
        results: ``{name: {"acc,none": ..., "samples": n, ...}}`` after consolidation (modified).
        versions: ``{name: version}`` (the group's version is set when missing).
        task_dict: lm-eval's task tree.

    Returns:
        Whether any group got a composite.

    Raises:
        SuiteSpecError, MissingTaskError, MissingMetricError, MTLError: As on newer lm-eval.
    """
    from lm_eval_mtl.plugin.composite import COMPOSITE_KEY, composite_entries
    from lm_eval_mtl.suites import SuiteSpec

    added = False
    for name, metadata in iter_mtl_groups(task_dict):
        row = results[name]
        if COMPOSITE_KEY in row:
            continue
        spec = SuiteSpec.from_metadata(name, metadata)
        task_metrics = {
            t: {**results[t], "sample_len": results[t].get("samples", 0)} for t in spec.tasks if t in results
        }
        row.update(composite_entries(spec, task_metrics))
        row.pop(" ", None)  # lm-eval's placeholder for groups without a row
        row.setdefault("samples", sum(int(m.get("sample_len") or 0) for m in task_metrics.values()))
        if versions.get(name) is None:
            versions[name] = metadata.get("version")
        added = True
    return added


def patch_evaluator_utils(module: ModuleType) -> bool:
    """Wrap ``module.consolidate_group_results`` (where it exists) to add composite rows.

    Args:
        module: ``lm_eval.evaluator_utils``, just executed.

    Returns:
        Whether the wrapper is (now) installed.
    """
    original = getattr(module, "consolidate_group_results", None)
    if original is None:  # newer lm-eval: Group.aggregate carries the row (or nothing does)
        report_if_no_hook_point()
        return False
    if is_wrapped(original):
        return True
    names = signature_names(original)
    if names != CONSOLIDATE_PARAMS:
        log_once(
            "consolidate-signature",
            _OFF.format(detail=f" with the expected parameters (got {names}, expected {CONSOLIDATE_PARAMS})"),
        )
        return False
    module.consolidate_group_results = _wrap_consolidate(original)  # type: ignore[attr-defined]
    return True


def _wrap_consolidate(original: Any) -> Any:
    from lm_eval_mtl.plugin.warnpass import call_passing_warnings

    def consolidate_group_results(
        results: Any,
        versions: Any,
        task_dict: Any,
        task_root: Any = None,
        show_group_table: Any = False,
        task_aggregation_list: Any = None,
    ) -> Any:
        out = call_passing_warnings(
            2, original, results, versions, task_dict, task_root, show_group_table, task_aggregation_list
        )
        if task_root is not None:  # an inner (recursive) call: lm-eval's own business
            return out
        results, versions, show, *rest = out
        if add_composites(results, versions, task_dict):
            show = True
        return (results, versions, show, *rest)

    return finish_wrapper(consolidate_group_results, original)
