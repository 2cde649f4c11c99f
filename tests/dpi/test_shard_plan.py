"""Shard plans (dpi/runs/shard_plan.py): a server's connections in one shard where the
servers balance, else each API's messages scored in one shard, so that fields settle as
in one process and `--jobs` changes nothing."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from scapy.utils import rdpcap

from dpi.cli import main
from dpi.decode import Segment
from dpi.runs import parallel, shard_plan, sharding
from dpi.runs.shard_plan import (
    ApiOwners,
    ShardPlan,
    balance,
    plan_shards,
    server_of,
)
from dpi.runs.sharding import ShardFilter
from dpi.runs.worker import (
    EngineSpec,
    FileTask,
    decode,
    decode_result,
    merge_decoded_shards,
    rescan_by_api,
    scan_file,
)
from tests.builders import kafka as kb
from tests.builders.conversation import T0, Conversation, http_request, http_response

A, B = bytes([10, 0, 0, 5]), bytes([10, 0, 0, 6])
CLIENT = bytes([10, 0, 1, 9])
LOGINS = 80  # per server: more than SETTLE_HIT_AFTER (64) values of one field
ODD = 70  # the login whose address is not an address, after the field settled


def _seg(src: bytes, dst: bytes, sport: int, dport: int) -> Segment:
    return Segment(src=src, dst=dst, sport=sport, dport=dport, seq=0, ack=0, flags=0, payload=b"")


def test_the_server_is_named_by_the_reassemblers_port_rule() -> None:
    assert server_of(_seg(CLIENT, A, 51000, 8080)) == (A, 8080)  # a common server port
    assert server_of(_seg(A, CLIENT, 8080, 51000)) == (A, 8080)  # either direction
    assert server_of(_seg(CLIENT, A, 51000, 700)) == (A, 700)  # well-known
    assert server_of(_seg(CLIENT, A, 51000, 20000)) == (A, 20000)  # below the ephemeral range
    assert server_of(_seg(CLIENT, A, 40001, 40000)) == (A, 40000)  # a tie: the lower port
    assert server_of(_seg(CLIENT, A, 40000, 40000)) is None  # no rule: by connection


def test_servers_go_to_the_lightest_shard_largest_first() -> None:
    c = bytes([10, 0, 0, 7])
    plan = balance({(A, 80): 50, (B, 80): 30, (c, 80): 25}, 0, 2)
    assert plan.by_server and plan.servers == {(A, 80): 0, (B, 80): 1, (c, 80): 1}
    # Ties go in endpoint order, whatever order the sample met them in.
    assert balance({(B, 80): 10, (A, 80): 10}, 0, 2).servers == {(A, 80): 0, (B, 80): 1}
    # Connections without a server weigh on every shard alike.
    assert balance({(A, 80): 40, (B, 80): 40}, 20, 2).by_server


def test_servers_that_cannot_be_balanced_are_split_by_api() -> None:
    assert not balance({(A, 80): 100}, 0, 2).by_server  # one server
    assert not balance({(A, 80): 70, (B, 80): 30}, 0, 2).by_server  # 70% > 1.25 x 50%
    assert not balance({(A, 80): 40, (B, 80): 40}, 0, 3).by_server  # fewer servers than shards
    assert not balance({}, 100, 2).by_server


def test_every_segment_belongs_to_exactly_one_shard() -> None:
    plan = balance({(A, 8080): 10, (B, 8080): 10}, 0, 2)
    unseen = bytes([10, 0, 0, 99])  # not in the sample: by a hash of its endpoint
    for server in (A, B, unseen):
        owners = set()
        for port in range(41000, 41040):
            out, back = _seg(CLIENT, server, port, 8080), _seg(server, CLIENT, 8080, port)
            shards = [i for i in range(2) if ShardFilter(i, 2, plan).owns(out)]
            assert len(shards) == 1 and ShardFilter(shards[0], 2, plan).owns(back)
            owners.add(shards[0])
        assert len(owners) == 1  # every connection of a server: one shard
    spread = {plan.shard_of(_seg(bytes([10, 0, 1, n]), A, 41000, 41000)) for n in range(40)}
    assert spread == {0, 1}  # equal ports: by connection
    # By API every shard reads every segment.
    assert all(ShardFilter(i, 2, ShardPlan(2)).owns(_seg(CLIENT, A, 41000, 8080)) for i in range(2))


def test_a_shard_remembers_owners_as_the_plan_gives_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """`owns` asks the plan once per direction of a connection and counts every segment
    it skips; emptied when full, it asks again and answers alike."""
    monkeypatch.setattr(sharding, "MAX_OWNED_DIRECTIONS", 3)
    plan = balance({(A, 8080): 10, (B, 8080): 10}, 0, 2)
    shard = ShardFilter(0, 2, plan)
    asked = []
    plan_of = ShardPlan.shard_of
    monkeypatch.setattr(ShardPlan, "shard_of",
                        lambda self, seg: asked.append(seg) or plan_of(self, seg))
    segments = [_seg(CLIENT, server, port, 8080) for server in (A, B) for port in (41000, 41001)]
    expected = [plan_of(plan, seg) == 0 for seg in segments]
    for _ in range(3):  # every segment three times: a connection's many segments
        answers = [shard.owns(seg) for seg in segments]
        assert answers == expected
    assert shard.skipped == 3 * answers.count(False) > 0
    assert len(asked) > len(segments)  # four directions, room for three: asked again
    assert len(shard._owned) <= 3
    monkeypatch.undo()
    roomy = ShardFilter(0, 2, plan)
    for seg in segments * 3:
        roomy.owns(seg)
    assert len(roomy._owned) == len(segments)


def test_a_plan_is_for_one_count() -> None:
    with pytest.raises(ValueError, match="another count"):
        ShardFilter(0, 3, ShardPlan(2))


def _logins(path: Path, endpoints: tuple[tuple[str, str], ...]) -> Path:
    """LOGINS connections per (server, path), one login each; each field's ODD-th value
    is not an address. The field settles on IP_ADDRESS after 64 values, so a
    one-process scan counts the odd value with the rest."""
    packets = []
    for s, (server, api_path) in enumerate(endpoints):
        for i in range(LOGINS):
            conv = Conversation(client=f"10.0.{s + 2}.{i + 1}", cport=42000 + i, server=server,
                                sport=8080, ts=T0 + i * 0.01 + s * 0.003)  # fmt: skip
            value = "not recorded" if i == ODD else f"203.0.113.{i + 1}"
            body = json.dumps({"last_login_ip": value}).encode()
            conv.handshake().request(http_request("POST", api_path, body))
            packets += conv.response(http_response(b'{"ok":true}')).close().packets
    packets.sort(key=lambda p: float(p.time))
    merged = Conversation()
    merged.packets = packets
    return merged.write(path)


@pytest.fixture(scope="module")
def logins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two servers of one API: split by server."""
    return _logins(tmp_path_factory.mktemp("plan") / "logins.pcap",
                   (("10.0.0.5", "/api/logins"), ("10.0.0.6", "/api/logins")))  # fmt: skip


@pytest.fixture(scope="module")
def one_server(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One server of two APIs (whose names hash to different shards of two): by API."""
    return _logins(tmp_path_factory.mktemp("plan") / "one_server.pcap",
                   (("10.0.0.5", "/api/logins"), ("10.0.0.5", "/api/sessions")))  # fmt: skip


def _scan(*args: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["scan", *args, "--no-progress", "-q"]) == 0
    return out.getvalue()


def _counts(csv_text: str) -> dict[tuple[str, str], int]:
    rows = [line.split(",") for line in csv_text.splitlines()[1:]]
    return {(r[1], r[3]): int(r[9]) for r in rows if r[6] == "last_login_ip"}


def _with_kafka(logins: Path, path: Path, ts: float) -> Path:
    """`logins` and, from `ts`, a client asking broker .7 for metadata and fetching an
    e-mail address from broker .8 (a topic id learned on one server, used on another)."""
    metadata = Conversation(server="10.0.0.7", cport=43000, sport=9092, ts=ts).handshake()
    metadata.request(kb.metadata_request(12, ["orders"], 1))
    metadata.response(kb.metadata_response(12, {"orders": kb.TOPIC_ID}, 1)).close()
    records = kb.batch_v2([(None, json.dumps({"email": "dana@mail.example.net"}).encode(), [])])
    fetch = Conversation(server="10.0.0.8", cport=43001, sport=9092, ts=ts + 1).handshake()
    fetch.request(kb.fetch_request(13, ["orders"], 7))
    fetch.response(kb.fetch_response(13, [("orders", [(0, records)])], 7)).close()
    merged = Conversation()
    merged.packets = sorted([*rdpcap(str(logins)), *metadata.packets, *fetch.packets],
                            key=lambda p: float(p.time))  # fmt: skip
    return merged.write(path)


def test_a_capture_with_kafka_is_split_by_api(logins: Path, tmp_path: Path) -> None:
    """Kafka facts cross servers (topic ids from one broker's Metadata, Avro schemas
    from a Schema Registry): balanced servers or not, a capture with a Kafka request in
    its sample is split by API, where every shard learns every fact."""
    path = _with_kafka(logins, tmp_path / "with-kafka.pcap", T0 + 0.5)
    assert plan_shards(logins, 2).by_server and not plan_shards(path, 2).by_server


def test_kafka_past_the_sample_has_the_file_scanned_again_by_api(
    logins: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kafka that begins after the plan's sample: split by server, the fetch's worker
    would not know the topic id the other broker answered (`topic-id:...` where one
    process says `orders`); the run sees Kafka in the merged file and scans it again,
    split by API (`worker.rescan_by_api`)."""
    path = _with_kafka(logins, tmp_path / "late-kafka.pcap", T0 + 5)
    monkeypatch.setattr(parallel, "MIN_SHARD_BYTES", 0)  # the capture is small
    monkeypatch.setattr(shard_plan, "SAMPLE_BYTES", logins.stat().st_size // 2)  # no Kafka in it
    assert plan_shards(path, 2).by_server
    plain = _scan(str(path))
    assert ",orders," in plain and "topic-id" not in plain
    assert _scan(str(path), "--jobs", "2") == plain
    # Without the second scan, split by server, the fetch is named by its topic id.
    shards = [decode_result(r) for r in _shards(path, plan_shards(path, 2))]
    merged = merge_decoded_shards(shards)
    assert {r.api for r in merged.inventory.rows() if r.protocol == "kafka"} == {f"topic-id:{kb.TOPIC_ID}"}
    assert rescan_by_api([_shard_task(path, i, plan_shards(path, 2)) for i in range(2)], merged)


def _shard_task(path: Path, shard: int, plan: ShardPlan) -> FileTask:
    st = path.stat()
    return FileTask(index=0, location=str(path), size=st.st_size, mtime_ns=st.st_mtime_ns,
                    shard=shard, shards=plan.count, plan=plan)  # fmt: skip


def _shards(path: Path, plan: ShardPlan) -> list[dict[str, object]]:
    spec = EngineSpec(salt_hex="00" * 16)
    return [scan_file(spec, _shard_task(path, i, plan)) for i in range(plan.count)]


@pytest.mark.parametrize("name", ["logins", "one_server"])
def test_jobs_count_a_settled_field_as_one_process_does(
    name: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    path: Path = request.getfixturevalue(name)
    monkeypatch.setattr(parallel, "MIN_SHARD_BYTES", 0)  # the capture is small
    plain = _scan(str(path))
    assert set(_counts(plain).values()) == {LOGINS} and len(_counts(plain)) == 2
    plan = plan_shards(path, 2)
    assert plan.by_server is (name == "logins")
    assert _scan(str(path), "--jobs", "2") == plain
    # Both shards did work: by server each read one server; by API each scored one API
    # (split by connection, each shard saw about 40 values of a field, too few to
    # settle, scored the odd one and counted one fewer).
    per_shard = [decode(result)[1] for result in _shards(path, plan)]
    assert all(stats.values > 0 for stats in per_shard)
    if not plan.by_server:
        assert [stats.flows for stats in per_shard] == [2 * LOGINS, 0]  # counted once


def test_the_run_plans_a_local_file_once_and_splits_an_object_by_api(logins: Path) -> None:
    local, remote = (
        [t.plan for t in parallel.shard_tasks([task], 2, 0)[0]]
        for task in (_task(logins), _task(logins, "s3://bucket/logins.pcap"))
    )
    assert local == [plan_shards(logins, 2)] * 2 and local[0] is local[1]
    assert local[0] is not None and local[0].by_server
    assert remote == [ShardPlan(2)] * 2  # not fetched twice: by API


def _task(path: Path, location: str = "") -> FileTask:
    st = path.stat()
    return FileTask(index=0, location=location or str(path), size=st.st_size,
                    mtime_ns=st.st_mtime_ns)  # fmt: skip


def test_every_shard_gives_each_api_to_the_same_least_loaded_shard() -> None:
    def message(api: str, body: int) -> Any:
        return SimpleNamespace(protocol="http", api=api, parts=[SimpleNamespace(data=b"x" * body)])

    traffic = [message("GET /big", 50_000), message("GET /a", 10), message("GET /b", 10),
               message("GET /big", 50_000), message("GET /a", 10), message("GET /c", 10)]  # fmt: skip
    shards = [ApiOwners(i, 2) for i in range(2)]
    owners: dict[str, set[int]] = {}
    for m in traffic:
        scored = [i for i, owns in enumerate(shards) if owns(m)]
        assert len(scored) == 1  # one shard scores each message, the same for every shard
        owners.setdefault(m.api, set()).add(scored[0])
    # /big first, to shard 0; the next APIs to shard 1, the lighter, until it is not.
    assert owners == {"GET /big": {0}, "GET /a": {1}, "GET /b": {1}, "GET /c": {1}}
