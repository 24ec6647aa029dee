"""Pure numerical statistics: bootstrap, intervals, multiple comparisons, shrinkage.

This subpackage imports numpy and scipy only: never lm_eval, matplotlib or the
rest of lm_eval_mtl (except :mod:`lm_eval_mtl.errors`).
"""
