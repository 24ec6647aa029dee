"""Everything that touches lm-eval internals.

* :mod:`lm_eval_mtl.plugin._startup`: the start-up hook. The wheel installs it
  as the top-level module ``_lm_eval_mtl_startup`` together with a one-line
  ``lm_eval_mtl_startup.pth``; it only installs a lazy import finder.
* :mod:`lm_eval_mtl.plugin.hooks`: which adapter the finder applies when lm-eval
  imports one of its target modules.
* One adapter per lm-eval internal that differs across 0.4.9.2 to 0.4.13, each
  chosen by what the module offers: :mod:`~lm_eval_mtl.plugin.task_folder` (our
  task folder in ``TaskManager``), :mod:`~lm_eval_mtl.plugin.native` (does
  lm-eval's own entry-point discovery find it?), :mod:`~lm_eval_mtl.plugin.group_row`
  and :mod:`~lm_eval_mtl.plugin.consolidate` (the composite row),
  :mod:`~lm_eval_mtl.plugin.models` (``mtl-sim`` registration),
  :mod:`~lm_eval_mtl.plugin.eval_tasks` (the simulated backend's task lookup),
  :mod:`~lm_eval_mtl.plugin.cli` (the ``lm_eval`` command line),
  :mod:`~lm_eval_mtl.plugin.selected_tasks_log` (a 0.4.9.2 bug); docs/compatibility.md.
* :mod:`lm_eval_mtl.plugin.wrapping` and :mod:`lm_eval_mtl.plugin.warnpass`: how
  wrappers are made, and how lm-eval's warnings keep their attribution through them.
* :mod:`lm_eval_mtl.plugin.composite`: the composite added to mtl groups' results.
* :mod:`lm_eval_mtl.plugin.paths`: our task folder and the ``lm_eval.tasks`` entry
  point's value (upstream PR #4015).

This package's ``__init__`` imports nothing: the hook must stay cheap.
"""

from __future__ import annotations

__all__: list[str] = []
