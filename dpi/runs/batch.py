"""Batch scans: incremental (with a state), parallel (worker processes) or distributed (Dask).

`run_batch` lists the captures under the given paths, decides per file against the state
ledger (`dpi/runs/state.py`) whether it is new, already scanned, grown by appended records
since it was scanned (read on from the record where the last run stopped: each record
counts once), changed otherwise (rotated over, rewritten, shrunk: scanned again whole,
with a warning; the evidence of its earlier contents stays) or still being written
(modified less than `settle_seconds` ago: left for the next run), scans what is to be
scanned with a runner (`dpi/runs/parallel.py`) and folds the partial inventories into the
state's inventory in file order. The state is saved atomically
after a result is folded in, at most every `checkpoint_seconds`, and at the end; a run
killed at any moment loses at most the files folded since the last save, which the next
run scans again. Files are independent units (see `dpi/runs/worker.py`): a connection split
across two rotated files is seen as two partial flows. A big file is scanned in flow
shards on several cores (`dpi/runs/parallel.py`); the runner hands back a file only when all
its shards are done, so the ledger never records half a file.

Without a state, every listed file is scanned and nothing is remembered.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dpi.build import EngineSpec
from dpi.engine import ScanStats
from dpi.inventory import SALT_BYTES, Inventory, Row
from dpi.runs.codec import merge_stats
from dpi.runs.evidence import Evidence, plan_evidence
from dpi.runs.parallel import bytes_to_read, run_dask, run_local
from dpi.runs.sources import Source, head_of, list_sources
from dpi.runs.state import LedgerEntry, State
from dpi.runs.worker import Decoded, FileTask, decode_result

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
    rebuild_state: bool = False  # start the state over (it is damaged, or unwanted)
    jobs: int = 0  # 0: one per available core
    dask: Any = None  # scheduler address or distributed.Client
    settle_seconds: float = DEFAULT_SETTLE_SECONDS
    checkpoint_seconds: float = DEFAULT_CHECKPOINT_SECONDS
    dask_batch: int = DEFAULT_DASK_BATCH
    # A big file is split into flow shards of at least this many bytes (default:
    # dpi.runs.parallel.MIN_SHARD_BYTES).
    min_shard_bytes: int | None = None
    config_text: str | None = None
    proto_dirs: tuple[str, ...] = ()
    descriptor_sets: tuple[str, ...] = ()
    limit_args: tuple[str, ...] = ()
    keylogs: tuple[str, ...] = ()
    topic_schemas: tuple[tuple[str, str], ...] = ()
    strict: bool = False
    # Gathered beside the inventory and merged like it (dpi/runs/evidence.py).
    findings: bool = False
    internal: tuple[str, ...] = ()
    tls_coverage: bool = False


@dataclass(slots=True)
class BatchOutcome:
    """The inventory (everything scanned so far, with a state) and what this run did."""

    inventory: Inventory
    stats: ScanStats
    listed: int = 0
    scanned: int = 0
    known: int = 0  # in the ledger, unchanged: not read again
    deferred: int = 0  # still being written: next run
    grown: int = 0  # grew by appending since their scan (read on now, or deferred)
    grown_bytes: int = 0  # bytes appended to them since
    appended_read: int = 0  # grown files whose appended part this run read
    appended_records: int = 0  # records read from those appended parts
    rewritten: int = 0  # changed other than by appending: scanned again whole
    pending_bytes: int = 0  # listed, not read by this run, left for a later one
    dropped_fields: int = 0  # fields this run could not add (field table full)
    unreadable: int = 0
    ledger_files: int = 0
    interrupted: bool = False
    warnings: list[str] = field(default_factory=list)
    # Findings evidence and TLS coverage of the same files as the inventory.
    evidence: Evidence = field(default_factory=Evidence)

    def as_dict(self) -> dict[str, Any]:
        return {
            "listed": self.listed,
            "scanned": self.scanned,
            "known": self.known,
            "deferred": self.deferred,
            "grown": self.grown,
            "grown_bytes": self.grown_bytes,
            "appended_read": self.appended_read,
            "appended_records": self.appended_records,
            "rewritten": self.rewritten,
            "pending_bytes": self.pending_bytes,
            "unreadable": self.unreadable,
            "ledger_files": self.ledger_files,
            "interrupted": self.interrupted,
        }


@dataclass(frozen=True, slots=True)
class _Planned:
    """A file to scan, and how much of it an earlier run read (grown files)."""

    source: Source
    entry: LedgerEntry | None = None  # set: read on after entry.records records

    @property
    def unread_bytes(self) -> int:
        return self.source.size - (self.entry.size if self.entry is not None else 0)


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
) -> list[_Planned]:
    todo = []
    now_ns = time.time_ns()
    for source in sources:
        entry = state.files.get(source.location) if state is not None else None
        planned = _Planned(source)
        if entry is not None:
            appended = source.size >= entry.size and _same_head(source, entry)
            if appended and source.size == entry.size:
                outcome.known += 1
                continue
            if appended:
                # A capture still being written between runs: pcap and pcapng append
                # records, so the next one starts where this run's ledger stopped.
                outcome.grown += 1
                outcome.grown_bytes += source.size - entry.size
                planned = _Planned(source, entry)
        if state is not None and now_ns - source.mtime_ns < settle_ns:
            outcome.deferred += 1
            outcome.pending_bytes += planned.unread_bytes
            log.info("%s: still being written; left for the next run", source.location)
            continue
        if planned.entry is not None:
            log.info("%s: grew by %d bytes since its last scan; reading the appended records",
                     source.location, planned.unread_bytes)
        elif entry is not None:
            # Rotated over (a ring buffer reusing the name), rewritten or cut: not an
            # append, so all of it again; what its earlier contents gave stays.
            outcome.rewritten += 1
            outcome.warnings.append(
                f"{source.location}: changed since its last scan other than by appending "
                "records; scanned again whole"
            )
        todo.append(planned)
    return todo


def run_batch(
    options: BatchOptions,
    progress: Callable[[int], None] | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    row_filter: Callable[[list[Row]], list[Row]] | None = None,
    total: Callable[[int], None] | None = None,
) -> BatchOutcome:
    """Scan what is new under `options.paths`; see the module docstring. `row_filter`:
    what the user's allow rules keep (dpi.toml), applied to the rows the state's history
    records, as to every output. `progress` gets the bytes read as they are read,
    `total` the bytes there are to read, once known."""
    state = State.open(options.state, rebuild=options.rebuild_state) if options.state else None
    try:
        return _run(options, state, progress, should_stop, row_filter, total)
    finally:
        if state is not None:
            state.close()


def _run(
    options: BatchOptions,
    state: State | None,
    progress: Callable[[int], None] | None,
    should_stop: Callable[[], bool],
    row_filter: Callable[[list[Row]], list[Row]] | None = None,
    total: Callable[[int], None] | None = None,
) -> BatchOutcome:
    salt = state.salt if state is not None else os.urandom(SALT_BYTES)
    inventory = state.inventory if state is not None else Inventory(salt=salt)
    outcome = BatchOutcome(inventory=inventory, stats=ScanStats())
    dropped_before = inventory.dropped_fields  # the state's count covers earlier runs
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
    if state is not None:
        outcome.evidence = state.evidence
    gather = plan_evidence(
        outcome.evidence, bool(state is not None and state.files), options.findings,
        options.internal, options.tls_coverage,
    )
    outcome.warnings.extend(gather.warnings)
    spec = EngineSpec(
        salt_hex=salt.hex(),
        config_text=options.config_text,
        proto_dirs=options.proto_dirs,
        descriptor_sets=options.descriptor_sets,
        limit_args=options.limit_args,
        keylogs=options.keylogs,
        topic_schemas=options.topic_schemas,
        strict=options.strict,
        findings=gather.findings,
        internal=gather.internal,
        tls_coverage=gather.tls_coverage,
    )
    tasks = [_task(i, planned) for i, planned in enumerate(todo)]
    by_location = {p.source.location: p for p in todo}
    if total is not None:  # what a local run's progress counts up to (`RunProgress`)
        total(sum(bytes_to_read(tasks)))
    log.info("%d file(s) listed, %d to scan", len(sources), len(tasks))
    results: Iterator[Decoded]
    # A local run reports the bytes its workers read as they read them; a Dask run, the
    # bytes of each file when it is done.
    per_file = progress if options.dask is not None else None
    if options.dask is not None:
        results = map(
            decode_result,
            run_dask(options.dask, spec, tasks, options.dask_batch, options.min_shard_bytes),
        )
    else:
        results = run_local(spec, tasks, options.jobs or default_jobs(), options.min_shard_bytes,
                            progress)  # fmt: skip
    last_save = time.monotonic()
    unsaved = False
    for result in results:
        _fold(result, salt, state, by_location, outcome)
        unsaved = True
        if per_file is not None:
            per_file(sum(by_location[f["location"]].unread_bytes for f in result.files))
        if state is not None and time.monotonic() - last_save >= options.checkpoint_seconds:
            state.save()
            last_save, unsaved = time.monotonic(), False
        if should_stop():
            outcome.interrupted = True
            break
    if state is not None:
        if tasks:  # the inventory over time (dpi/runs/history.py): once per run, on its rows
            rows = inventory.rows()
            state.history.fold_maps(inventory.map_keys.maps)
            state.history.record_run(
                row_filter(rows) if row_filter is not None else rows,
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            )
            unsaved = True
        if unsaved or state.rebuilt or not state.path.exists():
            state.save()
        outcome.ledger_files = len(state.files)
    outcome.warnings.extend(outcome.stats.warnings)
    outcome.dropped_fields = inventory.dropped_fields - dropped_before
    return outcome


def _task(index: int, planned: _Planned) -> FileTask:
    source, entry = planned.source, planned.entry
    task = FileTask(index=index, location=source.location, size=source.size, mtime_ns=source.mtime_ns)
    if entry is None or entry.records == 0:
        return task  # nothing to read past: the whole file
    return dataclasses.replace(
        task, skip_records=entry.records, skip_bytes=entry.size, boundary=entry.last_record
    )


def _fold(
    result: Decoded,
    salt: bytes,
    state: State | None,
    by_location: dict[str, _Planned],
    outcome: BatchOutcome,
) -> None:
    """One partial result into the outcome (and the state's ledger), all or nothing:
    everything that can fail (decoding, done by the runner) happens before anything is
    changed."""
    if result.salt_hex != salt.hex():
        raise BatchError("a worker used another salt")  # a bug: merging would miscount
    outcome.inventory.merge(result.inventory)
    merge_stats(outcome.stats, result.stats)
    outcome.evidence.merge(result.evidence)
    if state is not None:
        state.evidence = outcome.evidence
    for item in result.files:
        status, location = item["status"], item["location"]
        planned = by_location[location]
        source = planned.source
        if status == "changed":
            outcome.deferred += 1
            outcome.pending_bytes += planned.unread_bytes
            log.info("%s: changed while read; left for the next run", location)
            continue
        if status == "vanished":
            outcome.warnings.append(f"{location}: vanished before it was read")
            continue
        records = int(item.get("records", 0))
        if status == "unreadable":
            outcome.unreadable += 1
        else:
            outcome.scanned += 1
        if item.get("rewritten"):
            outcome.rewritten += 1
            outcome.warnings.append(
                f"{location}: grew, but its earlier records changed too; scanned again whole"
            )
        elif planned.entry is not None and status == "scanned":
            outcome.appended_read += 1
            outcome.appended_records += max(0, records - planned.entry.records)
        log.debug("%s: %s", location, status)
        if state is not None:
            state.files[location] = LedgerEntry(
                size=source.size,
                mtime_ns=source.mtime_ns,
                head_len=source.head_len,
                head_sha256=source.head_sha256,
                status=status,
                scanned_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                records=records,
                last_record=str(item.get("last_record", "")),
            )
