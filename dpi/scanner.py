"""Capture files and directories -> one engine run -> one inventory.

Paths are expanded (directories recursively, in name order, keeping files whose first
bytes are a pcap, pcapng, gzip or zstd magic); each capture is read as a stream and its
frames fed to one `Engine`. A file that cannot be opened is a warning (or, when no file
at all could be read, a `ScanError`); a damaged file is scanned up to the damage.
Progress is reported through a callback so that only the CLI touches the terminal.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from dpi.capture import CaptureError, open_capture
from dpi.engine import Engine

# First bytes of the files a directory scan picks up: pcap (both byte orders, micro-
# and nanosecond), pcapng, gzip, zstd.
CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x0a\x0d\x0d\x0a",
    b"\x1f\x8b",
    b"\x28\xb5\x2f\xfd",
)
# Frames between two progress callbacks: often enough for a smooth bar, rare enough
# to cost nothing.
PROGRESS_EVERY = 2048

Progress = Callable[[int], None]  # bytes consumed since the last call


class ScanError(Exception):
    """Nothing could be scanned (bad paths, no readable capture)."""


@dataclass(frozen=True, slots=True)
class Input:
    path: Path
    size: int


def _looks_like_capture(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return any(head.startswith(magic) for magic in CAPTURE_MAGICS)


def expand(paths: Iterable[str | os.PathLike[str]], warnings: list[str]) -> list[Input]:
    """Files as given; directories walked for captures. Missing paths are warnings."""
    found: list[Input] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    candidate = Path(root) / name
                    if candidate.is_file() and _looks_like_capture(candidate):
                        found.append(Input(candidate, candidate.stat().st_size))
        elif path.is_file():
            found.append(Input(path, path.stat().st_size))
        elif path.exists():
            warnings.append(f"{path}: not a regular file; skipped")
        else:
            warnings.append(f"{path}: no such file or directory")
    return found


def scan_inputs(
    engine: Engine, inputs: list[Input], progress: Progress | None = None
) -> int:
    """Feed every input to `engine`; returns how many files were read. Per-file damage
    and unreadable files become warnings in `engine.stats.warnings`."""
    stats = engine.stats
    scanned = 0
    for item in inputs:
        try:
            reader_cm = open_capture(item.path)
        except CaptureError as exc:
            stats.warnings.append(str(exc))
            if progress:
                progress(item.size)
            continue
        with reader_cm as reader:
            scanned += 1
            stats.files += 1
            reported = 0
            count = 0
            feed = engine.feed_frame
            for frame in reader.frames():
                feed(frame)
                count += 1
                if progress and count % PROGRESS_EVERY == 0:
                    position = reader.position
                    progress(position - reported)
                    reported = position
            stats.warnings.extend(reader.warnings)
            stats.bytes_read += item.size
            # Connections do not continue across unrelated files: close them all, so a
            # later file reusing a 4-tuple starts clean.
            engine.finish()
            if progress:
                progress(item.size - reported)
    return scanned
