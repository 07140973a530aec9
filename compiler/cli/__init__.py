"""The ``trigc`` command line: one parser, one error policy, shared options defined once.

- :mod:`trigc.cli.app`: the parser, :func:`main` (one-line errors with exit status 2,
  130 on Ctrl-C, ``--debug`` for the traceback);
- :mod:`trigc.cli.options`: the options every subcommand that takes them takes the
  same way (``--type``/``--config``; ``--part``/``--board``, ``--clock-ns``,
  ``--backend``, ``--interface``, ``--axis-word-bits``; budgets) and reading array files;
- :mod:`trigc.cli.compile`: ``inspect``, ``compile``, ``profile``;
- :mod:`trigc.cli.project`: ``check``, ``csim``, ``build`` on a compiled project;
- :mod:`trigc.cli.export`: ``boards``, ``export``;
- :mod:`trigc.cli.trigger`: ``emulate``.
"""

from trigc.cli.app import build_parser, main

__all__ = ["build_parser", "main"]
