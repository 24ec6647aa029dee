"""Report rendering: generic tables (terminal, Markdown, LaTeX, CSV), composite reports and plots.

* :mod:`lm_eval_mtl.report.tables`: :class:`~lm_eval_mtl.report.tables.Table` and
  :func:`~lm_eval_mtl.report.tables.render_table`, the only place numbers are rounded.
* :mod:`lm_eval_mtl.report.render`: a composite score as a table in any format, or JSON.
* :mod:`lm_eval_mtl.report.plots`: matplotlib figures (the ``plot`` extra).
"""
