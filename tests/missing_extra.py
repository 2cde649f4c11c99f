"""`dpi` run as an install without one optional extra would run it: the extra's module
made unimportable (`sys.modules[name] = None`) before the command line starts."""

from __future__ import annotations

import subprocess
import sys


def run_dpi_without(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    code = (f"import sys; sys.modules[{module!r}] = None; "
            "from dpi.cli import main; sys.exit(main())")
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True, text=True, timeout=120, check=False,
    )
