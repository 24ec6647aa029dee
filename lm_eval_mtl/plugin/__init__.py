"""Everything that touches lm-eval internals.

* :mod:`lm_eval_mtl.plugin._startup` — the start-up hook. The wheel installs it
  as the top-level module ``_lm_eval_mtl_startup`` together with a one-line
  ``lm_eval_mtl_startup.pth``; it wraps ``TaskManager.__init__`` (task folder),
  ``Group.aggregate`` (composite rows) and registers the ``mtl-sim`` model, each
  only when lm-eval imports the module concerned.
* :mod:`lm_eval_mtl.plugin.paths` — the ``lm_eval.tasks`` entry point (upstream PR #4015).
* :mod:`lm_eval_mtl.plugin.composite` — the composite added to mtl groups' results.

This package's ``__init__`` imports nothing: the hook must stay cheap.
"""

from __future__ import annotations

__all__: list[str] = []
