"""Capture files of a batch scan: listing, identity, and a local path to read them from.

A source is a local file (directories walked by `scanner.expand`, which keeps files whose
first bytes are a capture magic) or an object behind a URL that fsspec understands
(`s3://bucket/captures/`, `gcs://...`, `memory://...`; a URL naming a prefix is listed
recursively with the same magic check). Its identity is what the state ledger compares
between runs: location (absolute path or URL), size, modification time and a SHA-256 of
its first `HEAD_BYTES` (which tells a rotated-over file from one that only grew).

Not supported: following a file across a rename (a moved file is a new file), reading
objects without a size or time in their listing (they count as never settled).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dpi.runs.scanner import CAPTURE_MAGICS, expand

# Bytes hashed at the start of a file: past the capture header and the first packets,
# so two rotated files of one sensor (same header) still differ, and cheap on an object
# store (one ranged read).
HEAD_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True, kw_only=True)
class Source:
    location: str  # absolute local path, or a URL
    size: int
    mtime_ns: int
    head_len: int
    head_sha256: str


def is_url(location: str) -> bool:
    return "://" in location and not location.startswith("file://")


def _local(location: str) -> str:
    return location.removeprefix("file://")


def _mtime_ns(info: dict[str, Any]) -> int:
    """fsspec backends name the modification time differently (seconds or datetime)."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if value is None:
            continue
        if hasattr(value, "timestamp"):
            return int(value.timestamp() * 1e9)
        try:
            return int(float(value) * 1e9)
        except (TypeError, ValueError):
            continue
    return 0


def _head(read: Callable[[int], bytes], size: int) -> tuple[int, str]:
    data = read(min(size, HEAD_BYTES))
    return len(data), hashlib.sha256(data).hexdigest()


def head_of(location: str, length: int) -> str:
    """SHA-256 of the first `length` bytes (to compare with a ledger entry)."""
    with open_binary(location) as handle:
        return hashlib.sha256(handle.read(length)).hexdigest()


@contextmanager
def open_binary(location: str) -> Iterator[Any]:
    if is_url(location):
        import fsspec  # only for URLs

        with fsspec.open(location, "rb") as handle:
            yield handle
    else:
        with open(_local(location), "rb") as handle:
            yield handle


def describe(location: str) -> Source | None:
    """Current identity of one file, or None if it is gone or unreadable."""
    try:
        if is_url(location):
            import fsspec

            fs, path = fsspec.core.url_to_fs(location)
            info = fs.info(path)
            size, mtime_ns = int(info.get("size") or 0), _mtime_ns(info)
        else:
            st = os.stat(_local(location))
            size, mtime_ns = st.st_size, st.st_mtime_ns
        with open_binary(location) as handle:
            head_len, digest = _head(handle.read, size)
    except (OSError, ValueError):
        return None
    return Source(
        location=location, size=size, mtime_ns=mtime_ns, head_len=head_len, head_sha256=digest
    )


def _list_url(url: str, warnings: list[str]) -> list[str]:
    import fsspec

    try:
        fs, path = fsspec.core.url_to_fs(url)
        if fs.isdir(path):
            found = []
            for name in sorted(fs.find(path)):
                with fs.open(name, "rb") as handle:
                    if any(handle.read(4).startswith(m) for m in CAPTURE_MAGICS):
                        found.append(fs.unstrip_protocol(name))
            return found
        if fs.isfile(path):
            return [url]
    except (OSError, ValueError, ImportError) as exc:
        warnings.append(f"{url}: cannot list ({type(exc).__name__})")
        return []
    warnings.append(f"{url}: no such file or prefix")
    return []


def list_sources(paths: Iterable[str], warnings: list[str]) -> list[Source]:
    """Every capture under `paths`, in the order given (directories in name order),
    each once. Files that vanish while being listed are left out."""
    locations: list[str] = []
    for raw in paths:
        if is_url(raw):
            locations.extend(_list_url(raw, warnings))
        else:
            locations.extend(str(item.path.resolve()) for item in expand([_local(raw)], warnings))
    seen: set[str] = set()
    sources = []
    for location in locations:
        if location in seen:
            continue
        seen.add(location)
        source = describe(location)
        if source is None:
            warnings.append(f"{location}: vanished or unreadable while listing; skipped")
        else:
            sources.append(source)
    return sources


@contextmanager
def local_copy(location: str) -> Iterator[Path]:
    """A local path with the file's bytes: the file itself, or a temporary copy of an
    object (the capture reader streams from a local file)."""
    if not is_url(location):
        yield Path(_local(location))
        return
    # Same base name: the reader's warnings name the file the user knows.
    name = location.rstrip("/").rsplit("/", 1)[-1] or "capture"
    with tempfile.TemporaryDirectory(prefix="dpi-fetch-") as tmp:
        target = Path(tmp) / name
        with open_binary(location) as src, target.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        yield target
