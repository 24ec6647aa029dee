"""The composite-row adapter for lm-eval with ``Group.aggregate`` (0.4.12 and later).

lm-eval aggregates each group through ``Group.aggregate(task_metrics)``
(``lm_eval/api/group.py``). The wrapper calls the original for every group;
for groups whose ``metadata`` has an ``mtl`` block it delegates to
:func:`lm_eval_mtl.plugin.composite.aggregate_with_composite`, which raises on a
bad spec or a missing metric (never a silent partial composite).

On lm-eval without ``Group`` (0.4.9.2 to 0.4.11) this adapter does nothing:
:mod:`lm_eval_mtl.plugin.consolidate` adds the row there (and says so when neither
hook point exists).
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from lm_eval_mtl.plugin.wrapping import finish_wrapper, is_wrapped, log_once, signature_names

__all__ = ["GROUP_AGGREGATE_PARAMS", "patch_group"]

GROUP_AGGREGATE_PARAMS: tuple[str, ...] = ("self", "task_metrics")
"""The signature this adapter was written against (lm-eval 0.4.12, 0.4.13)."""


def patch_group(module: ModuleType) -> bool:
    """Wrap ``module.Group.aggregate`` to add composites to mtl groups.

    Args:
        module: ``lm_eval.api.group``, just executed.

    Returns:
        Whether the wrapper is (now) installed; False on a lm-eval without
        ``Group.aggregate`` (the other adapter's case).
    """
    cls = getattr(module, "Group", None)
    original = getattr(cls, "aggregate", None)
    if cls is None or original is None:  # older lm-eval: consolidate_group_results (or nothing)
        from lm_eval_mtl.plugin.consolidate import report_if_no_hook_point

        report_if_no_hook_point()
        return False
    if is_wrapped(original):
        return True
    names = signature_names(original)
    if names != GROUP_AGGREGATE_PARAMS:
        log_once(
            "group-signature",
            f"Group.aggregate has parameters {names}, expected {GROUP_AGGREGATE_PARAMS}; "
            "composite rows are off (run `lm-eval-mtl report` on the output folder instead).",
        )
        return False
    cls.aggregate = _wrap_aggregate(original)
    return True


def _wrap_aggregate(original: Any) -> Any:
    from lm_eval_mtl.plugin.warnpass import call_passing_warnings

    def aggregate(self: Any, task_metrics: Any) -> Any:
        metadata = getattr(self, "metadata", None)
        if not isinstance(metadata, dict) or "mtl" not in metadata:
            return call_passing_warnings(2, original, self, task_metrics)
        try:
            from lm_eval_mtl.plugin.composite import aggregate_with_composite
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - a broken install: lm-eval's own row
            log_once("group-import", f"cannot import the composite ({exc!r}); composite rows are off.")
            return call_passing_warnings(2, original, self, task_metrics)

        # Our frames between lm-eval's aggregate and its caller: call_passing_warnings,
        # this lambda, aggregate_with_composite and this wrapper.
        return aggregate_with_composite(
            self, task_metrics, lambda group, metrics: call_passing_warnings(4, original, group, metrics)
        )

    return finish_wrapper(aggregate, original)
