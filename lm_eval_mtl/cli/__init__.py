"""The ``lm-eval-mtl`` command line: one module per subcommand, each calling the public API."""
