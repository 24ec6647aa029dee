"""Gradient task affinity on lm-eval's model backends: predicted transfer without fine-tuning.

For every task of a suite, the gradient of the task's own loss on its gold answers is taken on
a subset of the model's parameters (the output head and the last transformer blocks), on the
documents, prompts and few-shot contexts that ``lm_eval --tasks`` builds, through lm-eval's own
model object. Per item the gradient is projected to d dimensions with a fixed-seed random
projection; from the projected features and from one extra forward pass per source task, the
package forms three sources x targets matrices: the cosine of the mean gradients (with bootstrap
intervals over items and a split-half reliability per cell), the first-order lookahead, and the
exact TAG lookahead ``1 - L_t(theta - eta g_s) / L_t(theta)`` (Fifty et al. 2021).

Modules, one job each:

* :mod:`~lm_eval_mtl.affinity.guards`: feature detection of every lm-eval internal used.
* :mod:`~lm_eval_mtl.affinity.spec`: the typed options (parameter subset, projection, lookahead).
* :mod:`~lm_eval_mtl.affinity.requests`: lm-eval tasks -> items with their log-likelihood requests.
* :mod:`~lm_eval_mtl.affinity.losses`: per-item losses on the gold answers and their derivatives.
* :mod:`~lm_eval_mtl.affinity.params`: the parameter subset of a Hugging Face model.
* :mod:`~lm_eval_mtl.affinity.projection`: seeded Kronecker-factored projections and the hooks
  that project per-sequence gradients batch by batch.
* :mod:`~lm_eval_mtl.affinity.replay`: lm-eval's batching of the scored requests, and the frozen
  prefix's activations cached once, so that later passes re-run only the chosen suffix.
* :mod:`~lm_eval_mtl.affinity.gradients`: the gradient pass (lm-eval's encoding and batching).
* :mod:`~lm_eval_mtl.affinity.lookahead`: the exact TAG lookahead passes.
* :mod:`~lm_eval_mtl.affinity.distributed`: ranks, shards and reductions (accelerate, torchrun).
* :mod:`~lm_eval_mtl.affinity.cells`: the matrices, intervals and reliabilities (numpy only).
* :mod:`~lm_eval_mtl.affinity.result`: the result objects, their JSON form and loader.
* :mod:`~lm_eval_mtl.affinity.render`: tables and heatmaps.
* :mod:`~lm_eval_mtl.affinity.run`: orchestration (:func:`gradient_affinity`, :func:`write_affinity`).
* :mod:`~lm_eval_mtl.affinity.synthetic`: tasks with planted relatedness and a tiny LM, the known
  truth of the validation (tests/sim/test_affinity_truth.py, bench/validate_affinity.py).

``lm_eval_mtl.analysis.predicted`` sets an affinity matrix beside a measured transfer matrix
(``lm-eval-mtl transfer --predicted``).

See docs/affinity.md for the formulas, assumptions and references.
"""

from __future__ import annotations
