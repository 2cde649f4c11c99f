"""Rotated capture sets and several sensors: a set is one stream, sensors are merged by
time and their duplicates dropped once; the inventory equals the unrotated capture's."""

from __future__ import annotations

import gzip
import random
from itertools import pairwise
from pathlib import Path

import pytest

from dpi.capture import open_capture
from dpi.engine import Engine
from dpi.inventory import Row
from dpi.runs.scanner import expand, plan_groups, scan_inputs, sensor_key
from protocols.mysql._packets import Cap, FieldType
from tests.builders import http1, http2
from tests.builders import mysql as my
from tests.builders.conversation import T0, Conversation
from tests.builders.frames import pcap_file

EMAILS = [f"customer{i}@mail.shopper-demo.net" for i in range(8)]
SSNS = ["219-09-9999", "078-05-1121", "123-45-6788", "536-22-1234"]


# -- the three long connections ------------------------------------------------------------


def http1_keepalive() -> Conversation:
    """Eight exchanges on one connection; every other request body spans segments."""
    conv = Conversation(client="10.1.0.11", server="10.1.0.5", cport=41000, sport=8080, ts=T0)
    conv.handshake()
    for i, email in enumerate(EMAILS):
        notes = "x" * (3000 if i % 2 else 10)
        conv.request(http1.json_request("POST", f"/v1/users/{100 + i}", {"email": email, "notes": notes}))
        conv.response(http1.json_response({"id": 100 + i, "ssn": SSNS[i % len(SSNS)]}))
    return conv.close()


def http2_h2c() -> Conversation:
    """Prior-knowledge h2c; the later streams' headers are indexed references into the
    HPACK dynamic table that the first stream filled."""
    conv = Conversation(client="10.1.0.12", server="10.1.0.6", cport=42000, sport=8081, ts=T0 + 0.0003)
    conv.handshake()
    hp = http2.Hpack()
    head = [
        (":method", "POST"), (":scheme", "http"), (":path", "/v2/profile"),
        (":authority", "profile.internal.example"), ("content-type", "application/json"),
        ("x-tenant", "acme-retail"),
    ]
    conv.request(http2.PREFACE + http2.settings() + http2.window_update(0))
    conv.response(http2.settings() + http2.settings(ack=True))
    for n in range(6):
        sid = 1 + 2 * n
        body = b'{"email": "%s", "ssn": "%s"}' % (EMAILS[n].encode(), SSNS[n % 4].encode())
        conv.request(http2.headers(sid, hp.req(head)) + http2.data(sid, body, end=True))
        conv.response(
            http2.headers(sid, hp.resp([(":status", "200"), ("content-type", "application/json")]))
            + http2.data(sid, b'{"contact": "%s"}' % EMAILS[-1 - n].encode(), end=True)
        )
    return conv.close()


def mysql_prepared() -> Conversation:
    """PREPARE early, EXECUTE many times later: the parameters need the PREPARE."""
    conv = Conversation(client="10.1.0.13", server="10.1.0.7", cport=43000, sport=3306, ts=T0 + 0.0006)
    conv.handshake()
    conv.response(my.greeting())
    conv.request(my.login("app", "shop", caps=my.CLIENT_CAPS | Cap.DEPRECATE_EOF))
    conv.response(my.ok(2))
    param = my.Col("?", table="", schema="")
    conv.request(my.prepare("INSERT INTO customers (email, ssn) VALUES (?, ?)"))
    conv.response(my.prepare_ok(1, [param, param], [], deprecate_eof=True))
    for n in range(6):
        conv.request(my.execute(1, [(FieldType.VAR_STRING, EMAILS[n], False),
                                    (FieldType.VAR_STRING, SSNS[n % 4], False)]))
        conv.response(my.ok(1, affected=1))
    return conv.close()


def frames_of(path: Path) -> list[tuple[int, bytes]]:
    with open_capture(path) as reader:
        return [(f.ts_ns, f.data) for f in reader.frames()]


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The unrotated capture: the three connections interleaved in time."""
    directory = tmp_path_factory.mktemp("plain")
    records: list[tuple[int, bytes]] = []
    for i, conv in enumerate((http1_keepalive(), http2_h2c(), mysql_prepared())):
        conv.write(directory / f"c{i}.pcap")
        records += frames_of(directory / f"c{i}.pcap")
    records.sort(key=lambda r: r[0])
    path = directory / "plain.pcap"
    path.write_bytes(pcap_file(records))
    return path


def scan(paths: list[Path], **kw: object) -> tuple[Engine, list[Row]]:
    engine = Engine(strict=True)
    warnings: list[str] = []
    inputs = expand([str(p) for p in paths], warnings)
    assert not warnings
    scan_inputs(engine, inputs, **kw)  # type: ignore[arg-type]
    return engine, engine.inventory.rows()


def split(records: list[tuple[int, bytes]], cuts: list[int]) -> list[list[tuple[int, bytes]]]:
    bounds = [0, *cuts, len(records)]
    return [records[a:b] for a, b in pairwise(bounds)]


def write_set(directory: Path, names: list[str], parts: list[list[tuple[int, bytes]]]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, part in zip(names, parts, strict=True):
        (directory / name).write_bytes(pcap_file(part))


# -- the reference ---------------------------------------------------------------------


def test_plain_capture_inventory_depends_on_the_whole_connections(plain: Path) -> None:
    _, rows = scan([plain])
    keys = {(r.protocol, r.api, r.location, r.field, r.data_type) for r in rows}
    assert ("mysql", "shop.customers", "param", "email", "EMAIL_ADDRESS") in keys
    assert ("http", "POST /v2/profile", "body", "email", "EMAIL_ADDRESS") in keys
    assert ("http", "POST /v1/users/{id}", "body", "email", "EMAIL_ADDRESS") in keys
    emails = {r.api: r.count for r in rows if r.field == "email" and r.direction == "request"}
    assert emails == {"shop.customers": 6, "POST /v2/profile": 6, "POST /v1/users/{id}": 8}


# -- rotated sets ----------------------------------------------------------------------


def cut_points(n: int) -> list[int]:
    return [n // 4, n // 2 - 3, (3 * n) // 4 + 1]


@pytest.mark.parametrize(
    "names",
    [
        # dumpcap -b: prefix, file number, start time
        [f"sensor_{i:05d}_20260115090{i}00.pcap" for i in range(1, 5)],
        # tcpdump -C: the first file has no counter; name order puts 10 before 2
        ["cap.pcap", "cap.pcap1", "cap.pcap2", "cap.pcap10"],
        # tcpdump -G with strftime
        [f"edge-2026-01-15T09:0{i}:00Z.pcap" for i in range(4)],
    ],
    ids=["dumpcap", "tcpdump-C", "tcpdump-G"],
)
def test_rotated_set_inventory_equals_the_unrotated_one(plain: Path, tmp_path: Path, names: list[str]) -> None:
    records = frames_of(plain)
    write_set(tmp_path, names, split(records, cut_points(len(records))))
    _, expected = scan([plain])
    engine, rows = scan([tmp_path])
    assert rows == expected
    assert engine.stats.files == 4 and engine.stats.gaps == 0 and engine.stats.partial_flows == 0


def test_rotated_set_given_as_files_in_any_order_is_read_in_time_order(plain: Path, tmp_path: Path) -> None:
    records = frames_of(plain)
    names = [f"tap1-{i:04d}.pcap.gz" for i in range(4)]
    tmp_path.mkdir(exist_ok=True)
    for name, part in zip(names, split(records, cut_points(len(records)))):
        (tmp_path / name).write_bytes(gzip.compress(pcap_file(part), mtime=0))
    shuffled = [tmp_path / n for n in names]
    random.Random(5).shuffle(shuffled)
    _, expected = scan([plain])
    _, rows = scan(shuffled)
    assert rows == expected


def test_files_read_separately_lose_the_cut_connections(plain: Path, tmp_path: Path) -> None:
    """The control: finishing after every file (the old way) breaks the HPACK table and
    the prepared statement, so the equality above is not trivial."""
    records = frames_of(plain)
    names = [f"sensor_{i:05d}.pcap" for i in range(1, 5)]
    write_set(tmp_path, names, split(records, cut_points(len(records))))
    _, expected = scan([plain])
    _, rows = scan([tmp_path], separate_files=True)
    assert rows != expected
    assert any(r.api == "(unknown)" for r in rows if r.protocol == "mysql")


def test_unrotated_names_stay_separate_captures(tmp_path: Path) -> None:
    for name in ("shop.pcap", "billing.pcap", "part1.pcap", "part2.pcap"):
        (tmp_path / name).write_bytes(pcap_file([(0, b"\x00" * 60)]))
    groups = plan_groups(expand([str(tmp_path)], []))
    assert [len(g.sets) for g in groups] == [1, 1, 1, 1]
    assert all(len(s.files) == 1 for g in groups for s in g.sets)


def test_sensor_names_from_rotation_markers() -> None:
    assert sensor_key("cap.pcap") == ("cap", False)
    assert sensor_key("cap.pcap12") == ("cap", True)
    assert sensor_key("east_00001_20260115090000.pcapng") == ("east", True)
    assert sensor_key("tap1-2026-01-15T09:00:00Z.pcap.gz") == ("tap1", True)
    assert sensor_key("1768467600.pcap") == ("", True)
    assert sensor_key("rest-shop.pcap") == ("rest-shop", False)
    assert sensor_key("eth0.pcap") == ("eth0", False)


def test_sensor_pattern_option_groups_by_its_sensor_group(tmp_path: Path) -> None:
    for name in ("east-a.pcap", "east-b.pcap", "west-a.pcap", "other.pcap"):
        (tmp_path / name).write_bytes(pcap_file([(0, b"\x00" * 60)]))
    groups = plan_groups(expand([str(tmp_path)], []), sensor_pattern=r"^(?P<sensor>east|west)-")
    shapes = sorted(sorted((s.sensor, len(s.files)) for s in g.sets) for g in groups)
    assert shapes == [[("east", 2), ("west", 1)], [("other.pcap", 1)]]


# -- two sensors -----------------------------------------------------------------------


def test_two_sensors_merge_by_time_and_drop_duplicates_once(plain: Path, tmp_path: Path) -> None:
    records = frames_of(plain)
    # Sensor A saw everything (two rotated files); sensor B, whose clock runs 1.5 ms
    # ahead, saw every second packet of the middle half, plus three packets A missed.
    missed = set(range(len(records) // 3, len(records) // 3 + 3))
    a = [r for i, r in enumerate(records) if i not in missed]
    b_idx = [i for i in range(len(records) // 4, 3 * len(records) // 4) if i % 2 == 0 or i in missed]
    b = [(records[i][0] + 1_500_000, records[i][1]) for i in b_idx]
    write_set(tmp_path, ["sensorA_00001.pcap", "sensorA_00002.pcap"], split(a, [len(a) // 2]))
    write_set(tmp_path, ["sensorB_00001.pcap", "sensorB_00002.pcap"], split(b, [len(b) // 3]))
    groups = plan_groups(expand([str(tmp_path)], []))
    assert len(groups) == 1 and sorted(s.sensor for s in groups[0].sets) == ["sensorA", "sensorB"]

    _, expected = scan([plain])
    engine, rows = scan([tmp_path])
    # B's copies of packets A missed are ~1.5 ms late: only timestamps could move, and
    # the packets missed are handshake-free data segments, so compare all but times.
    def strip(rs: list[Row]) -> list[tuple[object, ...]]:
        return [(r.protocol, r.server, r.api, r.direction, r.location, r.field, r.data_type, r.count, r.clients) for r in rs]

    assert strip(rows) == strip(expected)
    assert engine.decoder.stats.duplicates == len(b_idx) - len(missed)
    assert engine.stats.files == 4


def test_two_sensors_with_identical_copies_give_identical_inventory(plain: Path, tmp_path: Path) -> None:
    records = frames_of(plain)
    shifted = [(ts + 700_000, data) for ts, data in records]
    write_set(tmp_path, ["left_0001.pcap"], [records])
    write_set(tmp_path, ["right_0001.pcap"], [shifted])
    _, expected = scan([plain])
    engine, rows = scan([tmp_path])
    assert rows == expected
    assert engine.decoder.stats.duplicates == len(records)
