"""The `dpi` command line: one module per subcommand (`scan`, with `batch` and `evidence`
for `--state/--jobs/--dask`; `watch`, `report`, `diff`, `check`, `spec`), what they share
in `common`, the parser and `main` in `command`. Only this package touches argv, stdout
and stderr."""

from __future__ import annotations

from dpi.cli.command import build_parser, main

__all__ = ["build_parser", "main"]
