"""The offline demo: a tiny local model, the bundled ``mtl_demo`` suite, a real ``lm_eval`` run.

``lm-eval-mtl demo`` calls :func:`lm_eval_mtl.demo.run.run_demo`; the pieces live in
:mod:`lm_eval_mtl.demo.tiny_model` (build or reuse a random-weight HF model),
:mod:`lm_eval_mtl.demo.run` (the first steps), :mod:`lm_eval_mtl.demo.story` (the
simulated checkpoints, the analyses and REPORT.md) and :mod:`lm_eval_mtl.demo.progress`
(the live status line). Nothing here is imported at start-up.
"""

from __future__ import annotations

__all__: list[str] = []
