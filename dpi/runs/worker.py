"""The per-file task of batch scans: one capture -> one partial result, in any process.

A worker (a local process or a Dask worker) rebuilds the Engine from plain data in an
`EngineSpec` (dpi.toml text, .proto directories and descriptor-set paths, the salt) with
`dpi.build.build_engine`, so it scans with the same classifiers and schemas as the
parent. Each file gets a fresh Engine (and a fresh schema registry), which makes a
file's result independent of which worker ran it and of the files that worker ran before.

The unit of work is one file, or one shard of one file: a task may name shard `shard`
of `shards`, and then the worker reads the whole file but handles only the flows of
that shard (`dpi/runs/sharding.py`: by server where the servers balance over the
shards); `merge_shards` puts the shards of one file back together into the file's
result, which then equals the one-process scan of that file. A
connection cut by a file boundary (tcpdump -G/-C rotation) is seen as two partial flows,
as in a serial scan of separate files. A file whose size or modification time changed
while it was read is reported `changed` and contributes nothing (it is still being
written; the next run takes it); when any shard of a file says so, the whole file does.

A file that grew by appending since an earlier run read it is read on: the task names
how many records were read before and a keyed digest of the last of them; the worker
reads past those records (parsing only) and feeds the engine the rest. When the record
at that point is not the one read before (or the file has fewer records now), the file
was rewritten, not appended to: it is read again whole and reported `rewritten`.

Results are JSON-safe dicts (`dpi/runs/codec.py`): the same form goes through process pipes,
Dask and the state file. `merge_results` combines two results in order (left first), so
a tree of merges in file order gives the same inventory as a left-to-right fold. The
caller folds results decoded (`Decoded`); local runs decode each shard's result as soon
as its worker is done and merge decoded shards (`merge_decoded_shards`), with no
encoding in between.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from dpi.build import EngineSpec, build_engine
from dpi.engine import Engine, ScanStats
from dpi.frames import Frame
from dpi.inventory import Inventory
from dpi.runs.codec import (
    inventory_from_obj,
    inventory_to_obj,
    merge_stats,
    stats_from_obj,
    stats_to_obj,
)
from dpi.runs.evidence import Evidence, evidence_from_obj, evidence_to_obj, observers_for
from dpi.runs.scanner import Input, Tally, scan_inputs
from dpi.runs.shard_plan import ShardPlan
from dpi.runs.sharding import apply_shard, finish_shard
from dpi.runs.sources import describe, local_copy

Result = dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class FileTask:
    index: int  # position in the run's file order
    location: str
    size: int
    mtime_ns: int
    # Grown since an earlier run: records read then, bytes read then, and the keyed
    # digest of the last record read then (`record_digest`).
    skip_records: int = 0
    skip_bytes: int = 0
    boundary: str = ""
    # Flow shard `shard` of `shards` (dpi/runs/sharding.py); 1 shard: the whole file.
    shard: int = 0
    shards: int = 1
    # Which shard reads which server (dpi/runs/shard_plan.py), made once for the file by
    # the run so that every shard applies the same one; None: split by API.
    plan: ShardPlan | None = None


def record_digest(salt: bytes, frame: Frame | None) -> str:
    """Identifies one capture record (time, lengths, bytes) without revealing it: BLAKE2b
    keyed with the state's salt, as client addresses are."""
    if frame is None:
        return ""
    digest = hashlib.blake2b(key=salt, digest_size=16)
    digest.update(b"%d %d %d %d:" % (frame.ts_ns, frame.linktype, frame.wire_len, len(frame.data)))
    digest.update(frame.data)
    return digest.hexdigest()


def _result(
    spec: EngineSpec,
    engine: Engine | None,
    task: FileTask,
    status: str,
    tally: Tally | None = None,
    rewritten: bool = False,
) -> Result:
    inventory = engine.inventory if engine is not None else Inventory(salt=bytes.fromhex(spec.salt_hex))
    stats = engine.stats if engine is not None else ScanStats()
    item: dict[str, Any] = {"index": task.index, "location": task.location, "status": status}
    if tally is not None:
        # How far the file was read, for the ledger: the next run reads on from there.
        last = tally.last if tally.last is not None else tally.boundary
        item |= {
            "records": tally.records,
            "last_record": record_digest(bytes.fromhex(spec.salt_hex), last),
            "rewritten": rewritten,
        }
    return {
        "salt": spec.salt_hex,
        "inventory": inventory_to_obj(inventory, numbered=True),
        "stats": stats_to_obj(stats),
        "files": [item],
        "evidence": evidence_to_obj(Evidence.of(engine.observers if engine is not None else ())),
    }


# Where a local worker process reports the bytes it reads, for the run's progress bar
# (`dpi/runs/parallel.py` sets it in each worker); None elsewhere (Dask workers).
_reading: Callable[[float], None] | None = None


def report_reading(callback: Callable[[float], None] | None) -> None:
    """This process's scans report the bytes they read to `callback` (None: nowhere)."""
    global _reading  # one per worker process, set once by the pool's initializer
    _reading = callback


def _read(
    spec: EngineSpec, path: Path, task: FileTask, skip: bool, reading: Callable[[float], None] | None
) -> tuple[Engine, int, Tally]:
    salt = bytes.fromhex(spec.salt_hex)
    evidence = observers_for(spec.findings, spec.internal, spec.tls_coverage, salt)
    engine = build_engine(replace(spec, observers=(*spec.observers, *evidence)))
    # Its place in the run's file order, as a one-process scan of the files counts them:
    # the scan-order keys of the confidence samples (dpi/inventory.py) merge across files.
    engine.stream = task.index
    shard = apply_shard(engine, task.shard, task.shards, task.plan) if task.shards > 1 else None
    tallies: dict[Path, Tally] = {}
    source = Input(path, task.size, task.skip_records, task.skip_bytes) if skip else Input(path, task.size)
    progress = None
    if reading is not None:
        # Every shard reads the whole file: its bytes count once over the shards. The
        # reader's count starts at the file's start: the part an earlier run read (a
        # grown file) is not this run's work.
        share = 1 / task.shards
        before = task.skip_bytes if skip else 0

        def progress(read: int) -> None:
            nonlocal before
            passed = min(before, read)
            before -= passed
            if read > passed:
                reading((read - passed) * share)

    scanned = scan_inputs(engine, [source], progress, separate_files=True, tallies=tallies)
    if shard is not None:
        finish_shard(engine, shard)
    return engine, scanned, tallies.get(path, Tally())


def scan_file(spec: EngineSpec, task: FileTask, reading: Callable[[float], None] | None = None) -> Result:
    """Scan one capture (or its appended part). Status: `scanned`, `unreadable` (not a
    capture, or no access), `changed` (grew or was replaced while read: left for the
    next run), `vanished`. The bytes read go to `reading` as they are read (else to
    this process's `report_reading` callback)."""
    if reading is None:
        reading = _reading
    before = describe(task.location)
    if before is None:
        return _result(spec, None, task, "vanished")
    if (before.size, before.mtime_ns) != (task.size, task.mtime_ns):
        return _result(spec, None, task, "changed")
    rewritten = False
    with local_copy(task.location) as path:
        engine, scanned, tally = _read(spec, path, task, task.skip_records > 0, reading)
        if task.skip_records and (
            tally.records < task.skip_records
            or record_digest(bytes.fromhex(spec.salt_hex), tally.boundary) != task.boundary
        ):
            # Not the records read before: rewritten, not appended to. All of it again.
            rewritten = True
            engine, scanned, tally = _read(spec, path, task, False, reading)
    after = describe(task.location)
    if after is None or (after.size, after.mtime_ns) != (task.size, task.mtime_ns):
        return _result(spec, None, task, "changed")
    if scanned == 0:
        failed = _result(spec, None, task, "unreadable")
        failed["stats"]["warnings"] = list(engine.stats.warnings)
        return failed
    return _result(spec, engine, task, "scanned", tally, rewritten)


@dataclass(slots=True)
class Decoded:
    """A result decoded (its salt checked by whoever folds it): what a batch run folds."""

    salt_hex: str
    inventory: Inventory
    stats: ScanStats
    files: list[dict[str, Any]]
    evidence: Evidence


def decode(result: Result) -> tuple[Inventory, ScanStats, list[dict[str, Any]]]:
    salt = bytes.fromhex(result["salt"])
    return (
        inventory_from_obj(result["inventory"], salt),
        stats_from_obj(result["stats"]),
        list(result["files"]),
    )


def decode_result(result: Result) -> Decoded:
    inventory, stats, files = decode(result)
    evidence = evidence_from_obj(result.get("evidence"), bytes.fromhex(result["salt"]))
    return Decoded(result["salt"], inventory, stats, files, evidence)


def encode_result(decoded: Decoded) -> Result:
    return {
        "salt": decoded.salt_hex,
        "inventory": inventory_to_obj(decoded.inventory, numbered=True),
        "stats": stats_to_obj(decoded.stats),
        "files": decoded.files,
        "evidence": evidence_to_obj(decoded.evidence),
    }


def _add(into: Decoded, other: Decoded) -> None:
    """`other` after `into`, into `into`; its ledger items after `into`'s."""
    into.inventory.merge(other.inventory)
    merge_stats(into.stats, other.stats)
    into.evidence.merge(other.evidence)
    into.files = into.files + other.files


def merge_results(left: Result, right: Result) -> Result:
    """`left` then `right`: one result (used for tree merges on a cluster)."""
    merged = decode_result(left)
    _add(merged, decode_result(right))
    return encode_result(merged)


# When shards of one file disagree (one saw the file change while it was read), the
# file takes the first of these that any shard reported, and contributes nothing.
_FAILED_STATUSES = ("changed", "vanished", "unreadable")


def _failed_shard(statuses: list[str]) -> int | None:
    """The shard whose result stands for a file not scanned whole, if any."""
    for status in _FAILED_STATUSES:
        if status in statuses:
            return statuses.index(status)
    return None


def merge_shards(*shards: Result) -> Result:
    """The shards of one file (in shard order) -> that file's result: inventories and
    stats added up (each frame was counted by one shard), one ledger item (shard 0's:
    every shard read the same records). A file is scanned only when all its shards
    were: otherwise the result is the failed shard's, which holds no evidence."""
    failed = _failed_shard([result["files"][0]["status"] for result in shards])
    if failed is not None:
        return shards[failed]
    return encode_result(merge_decoded_shards([decode_result(result) for result in shards]))


def rescan_by_api(unit: Sequence[FileTask], merged: Decoded) -> list[FileTask]:
    """The tasks that scan a file again, split by API, when it was split by server and
    its workers found Kafka that the plan's sample did not show (dpi/runs/shard_plan.py:
    Kafka's facts cross servers, so a split by server can name a fetch `topic-id:...` or
    read an Avro value as binary where one process would not); none otherwise."""
    plan = unit[0].plan
    if (
        plan is None
        or not plan.by_server
        or merged.files[0]["status"] != "scanned"
        or not merged.stats.flows_by_protocol.get("kafka")
    ):
        return []
    return [replace(task, plan=ShardPlan(task.shards)) for task in unit]


def merge_unit(spec: EngineSpec, unit: Sequence[FileTask], *shards: Result) -> Result:
    """`merge_shards` of a file's shards, and its scan again by API when
    `rescan_by_api` says so, here (a Dask task)."""
    merged = merge_decoded_shards([decode_result(result) for result in shards])
    again = rescan_by_api(unit, merged)
    if again:
        merged = merge_decoded_shards([decode_result(scan_file(spec, task)) for task in again])
    return encode_result(merged)


def merge_decoded_shards(shards: Sequence[Decoded]) -> Decoded:
    """`merge_shards` of decoded shards (in shard order): the same file result, decoded.
    The first shard's objects are reused for it."""
    failed = _failed_shard([decoded.files[0]["status"] for decoded in shards])
    if failed is not None:
        return shards[failed]
    merged = shards[0]
    files = merged.files
    for other in shards[1:]:
        _add(merged, other)
    merged.files = files
    # What encoding the merged result would do (`inventory_to_obj`): fields recorded under
    # the literal keys of maps found by the merge move to their `{key}` fields now.
    merged.inventory.fold_maps()
    return merged
