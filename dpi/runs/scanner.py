"""Capture files and directories -> one engine run -> one inventory.

Paths are expanded (directories recursively, in name order, keeping files whose first
bytes are a pcap, pcapng, gzip or zstd magic); each capture is read as a stream and its
frames fed to one `Engine`. A file that cannot be opened is a warning (or, when no file
at all could be read, a `ScanError`); a damaged file is scanned up to the damage.
Progress is reported through a callback so that only the CLI touches the terminal.

Capture sets. Sensors rotate their files (tcpdump -C `cap.pcap`, `cap.pcap1`...;
tcpdump -G with strftime names; dumpcap -b `name_00001_20260115090000.pcapng`), cutting
connections in two. Files are grouped into sets per sensor: by default the directory
and the file name without its rotation marker (a trailing separator followed by digits
and time punctuation, or digits after the capture extension); with `sensor_pattern`,
the regex's `sensor` group (or its first group, or its whole match). The files of a
set are read in capture-time order (the first record's timestamp, read cheaply) as one
continuous stream: no `Engine.finish()` between them, so TCP reassembly, HTTP/2 header
tables and MySQL prepared statements carry over. The rotated sets of one directory
(several sensors) are merged by timestamp (a k-way merge holding one frame per set)
and a packet seen by two sensors is kept once (`dpi.decode.DuplicateFilter`, a bounded
window of recent segment hashes). Files without a rotation marker are read alone,
with `finish()` after each, as before: unrelated captures never share connections.
`separate_files=True` reads every file alone.
"""

from __future__ import annotations

import heapq
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path

from dpi.capture import CaptureError, CaptureReader, open_capture
from dpi.decode import DuplicateFilter
from dpi.engine import Engine
from dpi.frames import Frame

# First bytes of the files a directory scan picks up: pcap (both byte orders, micro-
# and nanosecond), pcapng, gzip, zstd.
CAPTURE_MAGICS = (
    b"\xd4\xc3\xb2\xa1",
    b"\xa1\xb2\xc3\xd4",
    b"\x4d\x3c\xb2\xa1",
    b"\xa1\xb2\x3c\x4d",
    b"\x34\xcd\xb2\xa1",  # "modified" pcap (Kuznetsov), both byte orders
    b"\xa1\xb2\xcd\x34",
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
    # A file that grew by appending since an earlier run read it: its first
    # `skip_records` records are read past (not fed to the engine) and their
    # `skip_bytes` not counted again.
    skip_records: int = 0
    skip_bytes: int = 0


@dataclass(slots=True)
class Tally:
    """What reading one file saw, for the batch ledger (`dpi/runs/batch.py`)."""

    records: int = 0  # records the reader delivered, the skipped ones included
    last: Frame | None = None  # the last record delivered
    boundary: Frame | None = None  # the last record skipped (the earlier run's last)


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


# -- capture sets -------------------------------------------------------------------

# A rotation marker ending a file stem: a separator, then digits with the punctuation of
# sequence numbers and times (`_00001_20260115090000`, `-2026-01-15T09:00:00Z`, `.3`).
# A digit right after a letter is part of the sensor's name (`tap1`, `eth0`).
_ROTATION = re.compile(r"[-_.][0-9][0-9TZ_.:+\-]*$")
_ALL_ROTATION = re.compile(r"[0-9][0-9TZ_.:+\-]*")
# The capture extension, with the counter that tcpdump -C appends to it (`cap.pcap12`).
_CAPTURE_EXT = re.compile(r"\.(?:pcapng|pcap|cap|dmp|ntar)([0-9]*)$", re.IGNORECASE)
_COMPRESSED_EXT = re.compile(r"\.(?:gz|zst)$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class CaptureSet:
    """The files of one sensor, in capture-time order: read as one stream."""

    sensor: str
    files: tuple[Input, ...]


@dataclass(frozen=True, slots=True)
class ScanGroup:
    """Sets read together, merged by timestamp, with one `Engine.finish()` at the end."""

    sets: tuple[CaptureSet, ...]


def sensor_key(name: str, pattern: re.Pattern[str] | None = None) -> tuple[str, bool]:
    """(sensor name, whether the file name marks it as part of a rotated set)."""
    if pattern is not None:
        match = pattern.search(name)
        if match is None:
            return name, False
        if "sensor" in pattern.groupindex:
            return match.group("sensor") or "", True
        return (match.group(1) if pattern.groups else match.group(0)) or "", True
    stem = _COMPRESSED_EXT.sub("", name)
    rotated = False
    ext = _CAPTURE_EXT.search(stem)
    if ext is not None:
        rotated = bool(ext.group(1))
        stem = stem[: ext.start()]
    if _ALL_ROTATION.fullmatch(stem):
        return "", True  # a name that is only a time or a number (tcpdump -G "%s.pcap")
    marker = _ROTATION.search(stem)
    if marker is not None and marker.start() > 0:
        stem = stem[: marker.start()]
        rotated = True
    return stem, rotated


def first_timestamp(path: Path) -> int | None:
    """Capture time of the first record (ns), or None when there is none to read."""
    try:
        with open_capture(path) as reader:
            for frame in reader.frames():
                return frame.ts_ns
    except (CaptureError, OSError):
        return None
    return None


def _natural(name: str) -> list[object]:
    """Name order with numbers compared as numbers (`cap.pcap2` before `cap.pcap10`)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"([0-9]+)", name)]


def plan_groups(
    inputs: list[Input],
    *,
    sensor_pattern: str | re.Pattern[str] | None = None,
    separate_files: bool = False,
) -> list[ScanGroup]:
    """Group inputs into capture sets and the sets into scan groups (module docstring).

    Groups keep the order of their first input; a set's files are sorted by their first
    timestamp (files without one last), then by name."""
    if separate_files:
        return [ScanGroup((CaptureSet(str(i.path), (i,)),)) for i in inputs]
    pattern = re.compile(sensor_pattern) if isinstance(sensor_pattern, str) else sensor_pattern
    keys = [(str(i.path.parent), *sensor_key(i.path.name, pattern)) for i in inputs]
    # A plainly named file joins its sensor's rotated set when there is one (tcpdump
    # -C's first file `cap.pcap` before `cap.pcap1`).
    rotated_sensors = {(directory, sensor) for directory, sensor, rotated in keys if rotated}
    # group id -> sensor -> files; a plain file is a group of its own.
    groups: dict[tuple[str, str | int], dict[str, list[Input]]] = {}
    for number, (item, (directory, sensor, _)) in enumerate(zip(inputs, keys)):
        in_set = (directory, sensor) in rotated_sensors
        group_id: tuple[str, str | int] = ("dir", directory) if in_set else ("file", number)
        groups.setdefault(group_id, {}).setdefault(sensor, []).append(item)
    out = []
    for group_id, sensors in groups.items():
        sets = []
        for sensor, files in sensors.items():
            if group_id[0] == "dir":
                stamps = {f.path: first_timestamp(f.path) for f in files}
                files = sorted(
                    files,
                    key=lambda f: (stamps[f.path] is None, stamps[f.path] or 0, _natural(f.path.name)),
                )
            sets.append(CaptureSet(sensor, tuple(files)))
        out.append(ScanGroup(tuple(sets)))
    return out


class _SetReader:
    """The frames of one capture set, file after file; accounts files, bytes, warnings
    and progress as it goes."""

    def __init__(
        self,
        capture_set: CaptureSet,
        engine: Engine,
        progress: Progress | None,
        tallies: dict[Path, Tally] | None = None,
    ) -> None:
        self.capture_set = capture_set
        self.stats = engine.stats
        self.progress = progress
        self.tallies = tallies
        self.scanned = 0
        self.add_secrets: Callable[[int, bytes, str], None] = engine.add_secrets  # pcapng Decryption Secrets Blocks (TLS keys)
        self.limits = engine.limits  # max_capture_compression_ratio for .gz/.zst files
        # Every shard of a sharded scan reads the whole file (dpi/runs/sharding.py): what
        # belongs to the file (files, bytes, reader warnings and limits) counts in shard 0.
        self.primary = engine.shard is None or engine.shard.primary
        if not self.primary:
            self.add_secrets = self._secrets_quietly(engine)

    def frames(self) -> Iterator[Frame]:
        stats = self.stats
        progress = self.progress
        for item in self.capture_set.files:
            try:
                reader_cm = open_capture(item.path, self.limits)
            except CaptureError as exc:
                if self.primary:
                    stats.warnings.append(str(exc))
                if progress:
                    progress(item.size)
                continue
            with reader_cm as reader:
                reader.on_secrets = self.add_secrets
                self.scanned += 1
                stats.files += self.primary
                reported = 0
                tally = Tally()
                if self.tallies is not None:
                    self.tallies[item.path] = tally
                frames = reader.frames()
                if item.skip_records:
                    frames = self._skip(frames, item.skip_records, tally)
                if not progress and self.tallies is None:
                    # Nobody reads the count or the last frame (no progress bar, no
                    # batch ledger): the frames are passed on by `yield from`, without
                    # a loop of ours per frame.
                    yield from frames
                    if self.primary:
                        self._file_read(reader, item)
                    continue
                frame: Frame | None = None
                count = 0
                for count, frame in enumerate(frames, 1):
                    yield frame
                    if progress and count % PROGRESS_EVERY == 0:
                        position = reader.position
                        progress(position - reported)
                        reported = position
                if frame is not None:
                    tally.last = frame
                    tally.records += count
                if self.primary:
                    self._file_read(reader, item)
                if progress:
                    progress(item.size - reported)

    def _file_read(self, reader: CaptureReader, item: Input) -> None:
        """What belongs to a file read to its end: its reader's warnings and limit hits,
        its bytes."""
        stats = self.stats
        stats.warnings.extend(reader.warnings)
        stats.limits_hit.update(reader.limits_hit)
        stats.bytes_read += item.size - min(item.skip_bytes, item.size)

    @staticmethod
    def _secrets_quietly(engine: Engine) -> Callable[[int, bytes, str], None]:
        """Key material for every shard; the warnings about it from shard 0 only."""
        warnings = engine.stats.warnings

        def add_secrets(kind: int, data: bytes, source: str) -> None:
            before = len(warnings)
            engine.add_secrets(kind, data, source)
            del warnings[before:]

        return add_secrets

    @staticmethod
    def _skip(frames: Iterator[Frame], count: int, tally: Tally) -> Iterator[Frame]:
        """The frames after the first `count` (read, not delivered); `tally` learns how
        many were skipped and which was the last of them."""
        for number, frame in enumerate(frames, 1):
            if number <= count:
                tally.records = number
                tally.boundary = frame
                continue
            yield frame
            yield from frames
            return


def scan_group(
    engine: Engine,
    group: ScanGroup,
    progress: Progress | None = None,
    tallies: dict[Path, Tally] | None = None,
) -> int:
    """Feed one group to `engine` as one stream, then `finish()`; returns files read."""
    readers = [_SetReader(s, engine, progress, tallies) for s in group.sets]
    feed = engine.feed_frame
    if len(readers) == 1:
        for frame in readers[0].frames():
            feed(frame)
    else:
        decoder = engine.decoder
        decoder.dedup = DuplicateFilter()
        try:
            for frame in heapq.merge(*(r.frames() for r in readers), key=attrgetter("ts_ns")):
                feed(frame)
        finally:
            decoder.dedup = None
    # Connections do not continue across unrelated groups: close them all, so a later
    # group reusing a 4-tuple starts clean.
    engine.finish()
    return sum(r.scanned for r in readers)


def scan_inputs(
    engine: Engine,
    inputs: list[Input],
    progress: Progress | None = None,
    *,
    sensor_pattern: str | re.Pattern[str] | None = None,
    separate_files: bool = False,
    tallies: dict[Path, Tally] | None = None,
) -> int:
    """Feed every input to `engine`, capture sets as one stream each (module docstring);
    returns how many files were read. Per-file damage and unreadable files become
    warnings in `engine.stats.warnings`; `tallies` (when given) gets a `Tally` per file
    read."""
    groups = plan_groups(inputs, sensor_pattern=sensor_pattern, separate_files=separate_files)
    return sum(scan_group(engine, group, progress, tallies) for group in groups)
