"""Analyses over several runs: paired comparison, transfer matrices, task correlation.

Each module calls :mod:`lm_eval_mtl.scoring` (members, weights, normalization) and
:mod:`lm_eval_mtl.stats`; none reads lm-eval files itself.
"""
