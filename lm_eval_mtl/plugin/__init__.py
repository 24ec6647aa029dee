"""Everything that touches lm-eval internals.

* :mod:`lm_eval_mtl.plugin._startup`: the start-up hook. The wheel installs it
  as the top-level module ``_lm_eval_mtl_startup`` together with a one-line
  ``lm_eval_mtl_startup.pth``; it only installs a lazy import finder.
* :mod:`lm_eval_mtl.plugin.hooks`: the patches that finder applies when lm-eval
  imports ``lm_eval.tasks.manager`` (our task folder), ``lm_eval.api.group``
  (composite rows) and ``lm_eval.models`` (the ``mtl-sim`` model), with their
  version guards.
* :mod:`lm_eval_mtl.plugin.composite`: the composite added to mtl groups' results.
* :mod:`lm_eval_mtl.plugin.paths`: the ``lm_eval.tasks`` entry point (upstream PR #4015).

This package's ``__init__`` imports nothing: the hook must stay cheap.
"""

from __future__ import annotations

__all__: list[str] = []
