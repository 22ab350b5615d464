"""The ``ionflow`` command line: one module per command, see :mod:`ionflow.cli.main`."""
