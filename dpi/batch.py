"""Batch scans: incremental (with a state), parallel (worker processes) or distributed (Dask).

`run_batch` lists the captures under the given paths, decides per file against the state
ledger (`dpi/state.py`) whether it is new, already scanned, replaced (rotated over: scan
again), grown after it was scanned (warned, not rescanned: its evidence would count
twice) or still being written (modified less than `settle_seconds` ago: left for the
next run), scans the new ones with a runner (`dpi/parallel.py`) and folds the partial
inventories into the state's inventory in file order. The state is saved atomically
after a result is folded in, at most every `checkpoint_seconds`, and at the end; a run
killed at any moment loses at most the files folded since the last save, which the next
run scans again. Files are independent units (see `dpi/worker.py`): a connection split
across two rotated files is seen as two partial flows.

Without a state, every listed file is scanned and nothing is remembered.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dpi.codec import merge_stats
from dpi.engine import ScanStats
from dpi.inventory import SALT_BYTES, Inventory
from dpi.parallel import run_dask, run_local
from dpi.sources import Source, head_of, list_sources
from dpi.state import LedgerEntry, State
from dpi.worker import EngineSpec, FileTask, Result, decode

log = logging.getLogger(__name__)

# A file modified less than this long ago may still be written by tcpdump (-G/-C) or a
# mirror agent: it waits for the next run. Rotation closes a file within a second of
# the next one opening; a minute covers slow flushes of buffered writers.
DEFAULT_SETTLE_SECONDS = 60.0
# Minimum time between two state saves: a save rewrites the whole state, so many small
# files would otherwise spend their time writing it.
DEFAULT_CHECKPOINT_SECONDS = 1.0
# Files per Dask batch (scanned in parallel, merged as a tree, checkpointed as one).
DEFAULT_DASK_BATCH = 64


class BatchError(Exception):
    """Nothing can be scanned (no capture under the paths); one-line reason."""


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchOptions:
    paths: tuple[str, ...]
    state: str | None = None
    jobs: int = 0  # 0: one per available core
    dask: Any = None  # scheduler address or distributed.Client
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS
    dask_batch: int = DEFAULT_DASK_BATCH
    config_text: str | None = None
    proto_dirs: tuple[str, ...] = ()
    descriptor_sets: tuple[str, ...] = ()
    limit_args: tuple[str, ...] = ()
    keylogs: tuple[str, ...] = ()
    topic_schemas: tuple[tuple[str, str], ...] = ()
    strict: bool = False


@dataclass(slots=True)
class BatchOutcome:
    """The inventory (everything scanned so far, with a state) and what this run did."""

    inventory: Inventory
    stats: ScanStats
    listed: int = 0
    scanned: int = 0
    known: int = 0  # in the ledger, unchanged: not read again
    deferred: int = 0  # still being written: next run
    grown: int = 0  # grew after being scanned: warned, not rescanned
    unreadable: int = 0
    ledger_files: int = 0
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "scanned": self.scanned,
            "known": self.known,
            "deferred": self.deferred,
            "grown": self.grown,
            "unreadable": self.unreadable,
            "ledger_files": self.ledger_files,
            "interrupted": self.interrupted,
        }


def default_jobs() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def options_fingerprint(options: BatchOptions) -> str:
    """Identifies what classifies and names fields, to warn when a state mixes options."""
    digest = hashlib.sha256()
    parts = (options.config_text or "", *options.proto_dirs, "|", *options.descriptor_sets,
             "|", *options.limit_args, "|", *options.keylogs,
             "|", *(f"{t}={m}" for t, m in options.topic_schemas))
    for part in parts:
        digest.update(part.encode() + b"\0")
    return digest.hexdigest()[:16]


def _same_head(source: Source, entry: LedgerEntry) -> bool:
    if source.size < entry.head_len:
        return False
    if source.head_len == entry.head_len:
        return source.head_sha256 == entry.head_sha256
    try:
        return head_of(source.location, entry.head_len) == entry.head_sha256
    except OSError:
        return False


def _plan(
    sources: list[Source], state: State | None, settle_ns: int, outcome: BatchOutcome
) -> list[Source]:
    todo = []
    now_ns = time.time_ns()
    for source in sources:
        entry = state.files.get(source.location) if state is not None else None
        if entry is not None and _same_head(source, entry):
            if source.size == entry.size:
                outcome.known += 1
                continue
            if source.size > entry.size:
                outcome.grown += 1
                outcome.warnings.append(
                    f"{source.location}: grew after it was scanned; the added part is not read"
                )
                continue
        # New, or a different file at a known path (a ring buffer rotated over it).
        if state is not None and now_ns - source.mtime_ns < settle_ns:
            outcome.deferred += 1
            log.info("%s: still being written; left for the next run", source.location)
            continue
        todo.append(source)
    return todo


def run_batch(
    options: BatchOptions,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> BatchOutcome:
    """Scan what is new under `options.paths`; see the module docstring."""
    state = State.open(options.state) if options.state else None
    try:
        return _run(options, state, progress, should_stop)
    finally:
        if state is not None:
            state.close()


def _run(
    options: BatchOptions,
    state: State | None,
    progress: Callable[[int], None] | None,
    should_stop: Callable[[], bool],
) -> BatchOutcome:
    salt = state.salt if state is not None else os.urandom(SALT_BYTES)
    inventory = state.inventory if state is not None else Inventory(salt=salt)
    outcome = BatchOutcome(inventory=inventory, stats=ScanStats())
    sources = list_sources(options.paths, outcome.warnings)
    outcome.listed = len(sources)
    if not sources and (state is None or not state.files):
        raise BatchError("no capture to scan")
    if state is not None:
        fingerprint = options_fingerprint(options)
        if state.options and state.options != fingerprint:
            outcome.warnings.append(
                "classifier or schema options changed since earlier runs of this state; "
                "its rows mix both"
            )
        state.options = fingerprint
    todo = _plan(sources, state, int(options.settle_seconds * 1e9), outcome)
    spec = EngineSpec(
        salt_hex=salt.hex(),
        config_text=options.config_text,
        proto_dirs=options.proto_dirs,
        descriptor_sets=options.descriptor_sets,
        limit_args=options.limit_args,
        keylogs=options.keylogs,
        topic_schemas=options.topic_schemas,
        strict=options.strict,
    )
    tasks = [
        FileTask(index=i, location=s.location, size=s.size, mtime_ns=s.mtime_ns)
        for i, s in enumerate(todo)
    ]
    by_location = {s.location: s for s in todo}
    log.info("%d file(s) listed, %d to scan", len(sources), len(tasks))
    if options.dask is not None:
        results = run_dask(options.dask, spec, tasks, options.dask_batch)
    else:
        results = run_local(spec, tasks, options.jobs or default_jobs())
    last_save = time.monotonic()
    unsaved = False
    for result in results:
        _fold(result, salt, state, by_location, outcome)
        unsaved = True
        if progress is not None:
            progress(sum(by_location[f["location"]].size for f in result["files"]))
        if state is not None and time.monotonic() - last_save >= options.checkpoint_seconds:
            state.save()
            last_save, unsaved = time.monotonic(), False
        if should_stop():
            outcome.interrupted = True
            break
    if state is not None:
        if unsaved or not state.path.exists():
            state.save()
        outcome.ledger_files = len(state.files)
    outcome.warnings.extend(outcome.stats.warnings)
    return outcome


def _fold(
    result: Result,
    salt: bytes,
    state: State | None,
    by_location: dict[str, Source],
    outcome: BatchOutcome,
) -> None:
    """One partial result into the outcome (and the state's ledger), all or nothing:
    everything that can fail (decoding) happens before anything is changed."""
    if result["salt"] != salt.hex():
        raise BatchError("a worker used another salt")  # a bug: merging would miscount
    partial, stats, files = decode(result)
    outcome.inventory.merge(partial)
    merge_stats(outcome.stats, stats)
    for item in files:
        status, location = item["status"], item["location"]
        source = by_location[location]
        if status == "changed":
            outcome.deferred += 1
            log.info("%s: changed while read; left for the next run", location)
            continue
        if status == "vanished":
            outcome.warnings.append(f"{location}: vanished before it was read")
            continue
        if status == "unreadable":
            outcome.unreadable += 1
        else:
            outcome.scanned += 1
        log.debug("%s: %s", location, status)
        if state is not None:
            state.files[location] = LedgerEntry(
                size=source.size,
                mtime_ns=source.mtime_ns,
                head_len=source.head_len,
                head_sha256=source.head_sha256,
                status=status,
                scanned_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            )
