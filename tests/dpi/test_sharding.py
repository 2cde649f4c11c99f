"""One capture on several cores: flow shards (dpi/runs/sharding.py) in workers, Dask and with
a state, against the one-process scan of the same capture. The capture's two servers carry
eight flows each: two shards are made of servers, three of connections
(dpi/runs/shard_plan.py), and both must add up to the one-process scan."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scapy.layers.inet import IP, fragment
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from dpi import capture as capture_module
from dpi.cli import main
from dpi.decode import Segment
from dpi.outputs.contract import to_csv
from dpi.runs import parallel, scanner
from dpi.runs.batch import BatchOptions, run_batch
from dpi.runs.run_progress import RunProgress
from dpi.runs.shard_plan import connection_shard, plan_shards
from dpi.runs.worker import (
    EngineSpec,
    FileTask,
    decode,
    decode_result,
    merge_decoded_shards,
    merge_shards,
    record_digest,
    scan_file,
)
from tests.builders.conversation import T0, Conversation, http_request, http_response
from tests.builders.dns import dns_answer

FLOWS = 16
FRAGMENTED = (3, 8, 13)  # conversations whose response is sent in IP fragments
SALT = "00" * 16
# Counters that must add up over the shards to the one-process figures.
COUNTERS = ("files", "bytes_read", "frames", "tcp_segments", "non_tcp", "decode_errors",
            "flows", "partial_flows", "gaps", "messages", "flows_by_protocol", "values",
            "unidentified_flows", "protocol_errors", "bugs", "anomalies", "warnings")


def _conversation(i: int) -> list[Any]:
    conv = Conversation(client=f"10.0.1.{i + 1}", cport=41000 + i,
                        server="10.0.0.5" if i % 2 else "10.0.0.6", sport=8080,
                        ts=T0 + i * 0.0003)  # flows overlap in time
    body = json.dumps({"email": f"user{i}@example.org", "name": f"Ann Example{i}",
                       "phone": f"+1 415 555 {1000 + i:04d}"}).encode()
    answer = {"id": i, "ssn": f"{123 + i:03d}-45-{6789 - i:04d}"}
    if i in FRAGMENTED:
        answer["card_on_file"] = "4111 1111 1111 1111"
    conv.handshake().request(http_request("POST", "/api/users", body))
    conv.response(http_response(json.dumps(answer).encode()))
    if i in FRAGMENTED:
        whole = conv.packets.pop()
        pieces = fragment(whole[IP], fragsize=24)  # type: ignore[no-untyped-call]
        for piece in pieces:
            frame = Ether() / piece
            frame.time = whole.time
            conv.packets.append(frame)
    conv.close()
    return conv.packets


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """16 HTTP flows (three with fragmented responses), DNS answers (UDP) and one
    undecodable frame, interleaved in time."""
    packets = [p for i in range(FLOWS) for p in _conversation(i)]
    for n in range(4):
        packets.append(dns_answer(f"api{n}.example", f"192.0.2.{n + 1}", ts=T0 + 0.001 * n))
    broken = Ether(type=0x0800) / Raw(b"\x45\x00\x00")  # an IPv4 header cut short
    broken.time = T0 + 0.0025
    packets.append(broken)
    packets.sort(key=lambda p: float(p.time))
    path = tmp_path_factory.mktemp("sharding") / "mixed.pcap"
    wrpcap(str(path), packets)
    return path


def _task(path: Path, shard: int = 0, shards: int = 1) -> FileTask:
    """Shard `shard` of `shards` with the file's plan, as the run makes it."""
    st = path.stat()
    plan = plan_shards(path, shards) if shards > 1 else None
    return FileTask(index=0, location=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns,
                    shard=shard, shards=shards, plan=plan)


def _outcome(result: dict[str, Any]) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    inventory, stats, files = decode(result)
    return to_csv(inventory.rows()), {k: getattr(stats, k) for k in COUNTERS}, files


def _cli(*args: str) -> str:
    out = io.StringIO()
    saved = sys.stdout
    sys.stdout = out
    try:
        assert main(["scan", *args, "--no-progress", "-q"]) == 0
    finally:
        sys.stdout = saved
    return out.getvalue()


def test_both_directions_of_a_connection_hash_to_one_shard() -> None:
    shards = set()
    for port in range(40000, 40064):
        out = Segment(src=b"\x0a\x00\x00\x01", dst=b"\x0a\x00\x00\x05", sport=port, dport=8080,
                      seq=0, ack=0, flags=0, payload=b"")
        back = dataclasses.replace(out, src=out.dst, dst=out.src, sport=out.dport, dport=out.sport)
        assert connection_shard(out, 3) == connection_shard(back, 3)
        shards.add(connection_shard(out, 3))
    assert shards == {0, 1, 2}  # client ports spread the flows


def test_two_balanced_servers_make_two_shards_of_servers_and_three_of_connections(
    capture: Path,
) -> None:
    two, three = plan_shards(capture, 2), plan_shards(capture, 3)
    assert two.by_server and sorted(two.servers.values()) == [0, 1]
    assert {(bytes(ip), port) for ip, port in two.servers} == {
        (bytes([10, 0, 0, 5]), 8080), (bytes([10, 0, 0, 6]), 8080)}
    assert not three.by_server  # two servers cannot fill three shards
    assert [[t.plan for t in unit] for unit in parallel.shard_tasks([_task(capture)], 2, 0)] == [
        [two, two]]  # one plan per file, carried by each of its shards' tasks


@pytest.mark.parametrize("count", [2, 3])
def test_shards_add_up_to_the_one_process_scan(capture: Path, count: int) -> None:
    spec = EngineSpec(salt_hex=SALT)
    whole_csv, whole_stats, whole_files = _outcome(scan_file(spec, _task(capture)))
    shards = [scan_file(spec, _task(capture, shard=i, shards=count)) for i in range(count)]
    merged_csv, merged_stats, merged_files = _outcome(merge_shards(*shards))
    assert merged_csv == whole_csv
    assert merged_stats == whole_stats
    assert merged_files == whole_files  # one ledger item: records and last record
    # Real work on every side, the frames of no flow in shard 0.
    per_shard = [decode(s)[1] for s in shards]
    if count == 2:  # by server: each shard reads and counts its server's eight flows
        assert [s.flows for s in per_shard] == [FLOWS // 2] * 2
    else:  # by API: shard 0 counts every flow, and the one API is scored in one shard
        assert [s.flows for s in per_shard] == [FLOWS, 0, 0]
        assert sorted(s.values > 0 for s in per_shard) == [False, False, True]
    assert per_shard[0].non_tcp == whole_stats["non_tcp"] >= 4  # the DNS answers
    assert per_shard[0].decode_errors == whole_stats["decode_errors"] == 1
    assert all(s.non_tcp == s.decode_errors == s.files == s.bytes_read == 0 for s in per_shard[1:])
    assert whole_stats["flows"] == FLOWS and whole_stats["messages"]["http"] == 2 * FLOWS


def test_shards_merged_decoded_equal_the_merged_result(capture: Path) -> None:
    # Local runs decode each shard as it finishes and merge decoded shards: the same
    # file result as merging the results (as Dask does) and decoding that.
    spec = EngineSpec(salt_hex=SALT)
    shards = [scan_file(spec, _task(capture, shard=i, shards=3)) for i in range(3)]
    csv_text, stats, files = _outcome(merge_shards(*shards))
    merged = merge_decoded_shards([decode_result(s) for s in shards])
    assert to_csv(merged.inventory.rows()) == csv_text and csv_text.count("\n") > 6
    assert {k: getattr(merged.stats, k) for k in COUNTERS} == stats
    assert merged.files == files and len(files) == 1
    stale = dataclasses.replace(_task(capture, shard=2, shards=3), mtime_ns=1)
    failed = merge_decoded_shards([decode_result(s) for s in (*shards[:2], scan_file(spec, stale))])
    assert [f["status"] for f in failed.files] == ["changed"] and not failed.inventory.rows()


def test_fragmented_datagrams_are_handled_by_their_flows_shard(capture: Path) -> None:
    spec = EngineSpec(salt_hex=SALT)
    shards = [scan_file(spec, _task(capture, shard=i, shards=2)) for i in range(2)]
    rows = decode(merge_shards(*shards))[0].rows()
    cards = [r for r in rows if r.field == "card_on_file"]
    # The card numbers travel only in the fragmented responses: each was reassembled and
    # dissected exactly once, in one shard.
    assert [(r.server, r.data_type, r.count, r.clients) for r in cards] == [
        ("10.0.0.5:8080", "CARD_NUMBER", 2, 2),  # conversations 3 and 13
        ("10.0.0.6:8080", "CARD_NUMBER", 1, 1),  # conversation 8
    ]
    per_shard = [sum(1 for r in decode(s)[0].rows() if r.field == "card_on_file") for s in shards]
    assert sum(per_shard) >= 1


def test_a_shard_that_saw_the_file_change_makes_the_whole_file_changed(capture: Path) -> None:
    spec = EngineSpec(salt_hex=SALT)
    good = scan_file(spec, _task(capture, shard=0, shards=2))
    stale = dataclasses.replace(_task(capture, shard=1, shards=2), mtime_ns=1)
    merged = merge_shards(good, scan_file(spec, stale))
    csv_text, _, files = _outcome(merged)
    assert [f["status"] for f in files] == ["changed"]
    assert csv_text.count("\n") == 1  # header only: half a file never counts


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_jobs_on_one_file_equals_the_plain_scan(capture: Path, tmp_path: Path, jobs: str,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "MIN_SHARD_BYTES", 0)  # the capture is small
    planned: list[list[list[FileTask]]] = []
    shard_tasks = parallel.shard_tasks

    def spy(*args: Any) -> list[list[FileTask]]:
        planned.append(shard_tasks(*args))
        return planned[-1]

    monkeypatch.setattr(parallel, "shard_tasks", spy)
    plain = _cli(str(capture), "--summary-json", str(tmp_path / "plain.json"))
    sharded = _cli(str(capture), "--jobs", jobs, "--summary-json", str(tmp_path / "jobs.json"))
    assert [[t.shard for t in unit] for unit in planned[0]] == [list(range(int(jobs)))]
    assert sharded == plain and plain.count("\n") > 6
    one, many = (json.loads((tmp_path / n).read_text()) for n in ("plain.json", "jobs.json"))
    assert {k: many[k] for k in COUNTERS} == {k: one[k] for k in COUNTERS}


def test_small_files_are_not_sharded_and_a_big_one_is_split_up_to_the_jobs() -> None:
    mib = 1 << 20
    assert parallel.shard_counts([100 * mib], 4) == [4]
    assert parallel.shard_counts([100 * mib, 100 * mib], 2) == [1, 1]  # files fill the cores
    assert parallel.shard_counts([90 * mib, 5 * mib, 5 * mib], 2) == [2, 1, 1]
    assert parallel.shard_counts([3 * mib // 2], 4) == [1]  # under 2 x MIN_SHARD_BYTES
    assert parallel.shard_counts([100 * mib], 1) == [1]


def test_state_records_a_sharded_file_once(capture: Path, tmp_path: Path) -> None:
    plain = _cli(str(capture))
    options = BatchOptions(paths=(str(capture),), state=str(tmp_path / "state"), jobs=2,
                           settle_seconds=0, min_shard_bytes=0)
    first = run_batch(options)
    assert first.scanned == 1 and to_csv(first.inventory.rows()) == plain
    assert first.stats.frames == len(list(_records(capture)))
    again = run_batch(options)
    assert (again.scanned, again.known) == (0, 1) and to_csv(again.inventory.rows()) == plain


def _records(path: Path) -> Iterator[bytes]:
    from dpi.capture import open_capture

    with open_capture(path) as reader:
        for frame in reader.frames():
            yield frame.data


@pytest.fixture(scope="module")
def dask_cluster() -> Iterator[str]:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        yield str(cluster.scheduler_address)


def test_dask_scans_one_file_in_shards_and_a_lost_shard_loses_the_file(
    capture: Path, tmp_path: Path, dask_cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain = _cli(str(capture))
    state = str(tmp_path / "state")
    options = BatchOptions(paths=(str(capture),), state=state, dask=dask_cluster,
                           settle_seconds=0, min_shard_bytes=0)

    def crash_on_shard_one(spec: EngineSpec, task: FileTask) -> dict[str, Any]:
        if (task.shard, task.shards) == (1, 2):  # (file, shard) is the cluster's task
            raise RuntimeError("worker lost")
        return scan_file(spec, task)

    monkeypatch.setattr(parallel, "scan_file", crash_on_shard_one)
    with pytest.raises(RuntimeError, match="worker lost"):
        run_batch(options)
    monkeypatch.undo()
    # Nothing of the file was kept: the next run scans it whole, counted once.
    outcome = run_batch(options)
    assert outcome.scanned == 1 and to_csv(outcome.inventory.rows()) == plain
    assert outcome.stats.frames == len(list(_records(capture)))
    assert os.path.exists(state)


def test_each_shard_reports_its_share_of_the_bytes_as_it_reads(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(scanner, "PROGRESS_EVERY", 4)  # the capture has few frames
    monkeypatch.setattr(capture_module, "_CHUNK", 4096)  # and is read in one chunk
    spec = EngineSpec(salt_hex=SALT)
    for i in range(2):
        reported: list[float] = []
        scan_file(spec, _task(capture, shard=i, shards=2), reported.append)
        # Every shard reads the whole file: each counts half of its bytes, as it goes.
        assert len(reported) > 2 and sum(reported) == pytest.approx(capture.stat().st_size / 2)


def test_a_local_run_shows_its_progress_up_to_the_bytes_it_announced(capture: Path) -> None:
    progress: list[int] = []
    totals: list[int] = []
    options = BatchOptions(paths=(str(capture),), jobs=2, settle_seconds=0, min_shard_bytes=0)
    assert run_batch(options, progress.append, total=totals.append).scanned == 1
    assert totals == [capture.stat().st_size]
    assert sum(progress) == totals[0] and all(n > 0 for n in progress)


def test_progress_never_goes_back_nor_past_the_total() -> None:
    shown: list[int] = []
    bar = RunProgress(shown.append, 100)
    bar.reached(30)
    bar.reached(20)  # an earlier reading of the counter: no step back
    bar.finished(60)  # a file done: its bytes, whatever the workers said
    bar.read(500)  # a grown file's reader also goes over the part an earlier run read
    assert shown == [30, 30, 40]


def test_a_grown_file_reports_only_the_bytes_this_run_reads(
    capture: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file read on past the records an earlier run read: the progress is the new
    part, not the reader's position from the start of the file."""
    from dpi.capture import open_capture

    monkeypatch.setattr(scanner, "PROGRESS_EVERY", 4)
    with open_capture(capture) as reader:
        first = [frame for _, frame in zip(range(10), reader.frames(), strict=False)]
    read_before = 24 + sum(16 + len(frame.data) for frame in first)  # classic pcap
    task = dataclasses.replace(_task(capture), skip_records=10, skip_bytes=read_before,
                               boundary=record_digest(bytes.fromhex(SALT), first[-1]))  # fmt: skip
    reported: list[float] = []
    result = scan_file(EngineSpec(salt_hex=SALT), task, reported.append)
    assert result["files"][0]["rewritten"] is False  # read on, not again
    assert sum(reported) == capture.stat().st_size - read_before
