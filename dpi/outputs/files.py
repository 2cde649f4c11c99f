"""Writing output files: whole or not at all, and never over a device or a pipe.

Scheduled runs write their outputs atomically (a temporary file beside the target, then
a rename), so a reader never sees half a file. A rename replaces whatever the name
pointed to, though: `-o /dev/null` once turned the machine's /dev/null into a regular
file (root may do that). A target that exists and is not a regular file (a character
device such as /dev/null or /dev/stdout, a FIFO, a socket) is written in place instead.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path


def replaceable(path: Path) -> bool:
    """Whether `path` may be replaced by a rename: it is missing or a regular file."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return True
    return stat.S_ISREG(mode)


def write_atomic(path: Path, data: bytes) -> None:
    """Readers of a scheduled run's output never see half a file."""
    if not replaceable(path):
        with path.open("wb") as handle:
            handle.write(data)
        return
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
