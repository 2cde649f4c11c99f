"""The helpers the live sample generators share (`samples/_capture_tools.py`): pcap
records, the private clock rewrite, TCP payloads, and expected-CSV rows.

The generators themselves need root, dumpcap and live servers; these helpers are what
makes their output stable (times, rows, CSV bytes), so they are pinned here on tiny
captures built in the test.
"""

from __future__ import annotations

import importlib
from itertools import pairwise
from pathlib import Path

import pytest

from dpi.inventory import COLUMNS
from dpi.masking import mask
from samples import _capture_tools as tools
from tests.builders.frames import pcap_file, tcp_frame
from tests.samples.golden import expected_rows

FRAMES = [
    tcp_frame(b"hello", sport=40000, dport=9092, seq=1000),
    tcp_frame(b"", sport=9092, dport=40000, seq=5000),
    tcp_frame(b"world!", sport=40000, dport=9092, seq=1005),
]


def _capture(tmp_path: Path, *, big_endian: bool = False, linktype: int = 1) -> Path:
    frames = [tcp_frame(b"x" * i, linktype=linktype) for i in range(3)] if linktype != 1 else FRAMES
    # Wall-clock times as a live capture has them; the last frame was cut at the snaplen.
    records = [(1_700_000_000_123_456_789 + i * 7_000, f) for i, f in enumerate(frames)]
    records[-1] = (records[-1][0], records[-1][1], len(records[-1][1]) + 100)
    path = tmp_path / "raw.pcap"
    path.write_bytes(pcap_file(records, big_endian=big_endian, linktype=linktype))
    return path


@pytest.mark.parametrize("big_endian", [False, True])
def test_rewrite_times_puts_every_packet_on_the_private_clock(
    tmp_path: Path, big_endian: bool
) -> None:
    path = _capture(tmp_path, big_endian=big_endian)
    before = path.read_bytes()
    frames = tools.rewrite_times(path)
    after = path.read_bytes()
    assert [f for _, f in frames] == FRAMES
    assert [ts for ts, _ in frames] == [tools.EPOCH_US, tools.EPOCH_US + 3_037, tools.EPOCH_US + 6_074]
    assert after[:24] == before[:24]  # header, byte order and link type kept
    assert len(after) == len(before)
    records = tools.pcap_records(after)
    old = tools.pcap_records(before)
    for (ts_us, frame), (sec, frac, incl, orig, data), (_, _, incl0, orig0, _) in zip(
        frames, records, old, strict=True
    ):
        assert (sec, frac) == (ts_us // 1_000_000, ts_us % 1_000_000)
        assert (incl, orig, data) == (incl0, orig0, frame)
    assert records[-1][3] == len(FRAMES[-1]) + 100  # original length survives the rewrite


def test_rewrite_times_is_stable_when_run_twice(tmp_path: Path) -> None:
    path = _capture(tmp_path)
    first = tools.rewrite_times(path)
    once = path.read_bytes()
    assert tools.rewrite_times(path) == first
    assert path.read_bytes() == once


def test_rewrite_times_keeps_a_record_cut_short_by_the_capture_stopping(tmp_path: Path) -> None:
    path = _capture(tmp_path)
    path.write_bytes(path.read_bytes()[:-3])
    frames = tools.rewrite_times(path)
    assert len(frames) == 3 and frames[-1][1] == FRAMES[-1][:-3]
    last = tools.pcap_records(path.read_bytes())[-1]
    assert last[2] == len(FRAMES[-1])  # the header's incl_len, not the bytes left


def test_private_clock_steps_three_milliseconds_with_sub_millisecond_jitter() -> None:
    times = [tools.private_clock_us(i) for i in range(100)]
    assert times[0] == tools.EPOCH_US == 1_768_467_600 * 1_000_000  # 2026-01-15T09:00:00Z
    assert all(b > a for a, b in pairwise(times))
    assert all(0 <= (t - tools.EPOCH_US) % 3_000 < 500 for t in times)
    assert tools.private_clock_us(1, epoch_us=0) == 3_037


@pytest.mark.parametrize(("linktype", "offset"), [(1, 14), (0, 4)])
@pytest.mark.parametrize("big_endian", [False, True])
def test_ip_header_offset_follows_the_link_type(
    tmp_path: Path, linktype: int, offset: int, big_endian: bool
) -> None:
    data = _capture(tmp_path, big_endian=big_endian, linktype=linktype).read_bytes()
    assert tools.pcap_endian(data) == (">" if big_endian else "<")
    assert tools.pcap_linktype(data) == linktype
    assert tools.ip_header_offset(data) == offset
    assert not tools.pcap_is_nanosecond(data)


def test_nanosecond_capture_is_recognised() -> None:
    data = pcap_file(FRAMES, nanosecond=True)
    assert tools.pcap_is_nanosecond(data)
    assert tools.pcap_is_nanosecond(pcap_file(FRAMES, nanosecond=True, big_endian=True))
    assert [r[4] for r in tools.pcap_records(data)] == FRAMES


def test_tcp_payload_gives_ports_sequence_and_data() -> None:
    assert tools.tcp_payload(FRAMES[0], 14) == (40000, 9092, 1000, b"hello")
    assert tools.tcp_payload(FRAMES[1], 14) == (9092, 40000, 5000, b"")
    # Ethernet padding after the IP datagram is not payload.
    assert tools.tcp_payload(FRAMES[2] + b"\x00" * 6, 14) == (40000, 9092, 1005, b"world!")


def test_tcp_payload_of_non_tcp_or_short_frame_is_none() -> None:
    udp = bytearray(FRAMES[0])
    udp[14 + 9] = 17
    assert tools.tcp_payload(bytes(udp), 14) is None
    assert tools.tcp_payload(FRAMES[0][:30], 14) is None


@pytest.mark.parametrize(
    ("ts_us", "text"),
    [
        (tools.EPOCH_US, "2026-01-15T09:00:00.000Z"),
        (tools.EPOCH_US + 1_999, "2026-01-15T09:00:00.001Z"),  # truncated, not rounded
        (tools.EPOCH_US + 59_999_999, "2026-01-15T09:00:59.999Z"),
        (tools.EPOCH_US + 3_600_000_000, "2026-01-15T10:00:00.000Z"),
    ],
)
def test_iso_ms_truncates_to_milliseconds(ts_us: int, text: str) -> None:
    assert tools.iso_ms(ts_us) == text


def _row(field: str, direction: str = "request") -> dict[str, str]:
    return tools.expected_row(
        protocol="kafka", server="127.0.0.1:39092", host="", api="customers",
        direction=direction, location="value", field=field, data_type="EMAIL_ADDRESS",
        category="PII", count=4, first_us=tools.EPOCH_US, last_us=tools.EPOCH_US + 9_111,
        value="ana.silva@example.com",
    )  # fmt: skip


def test_expected_row_masks_the_value_and_writes_the_confidence_floor() -> None:
    row = _row("customer.email")
    assert tuple(row) == COLUMNS
    assert row["sample"] == mask("ana.silva@example.com", "PII", "EMAIL_ADDRESS")
    assert "ana.silva@example.com" not in row.values()
    assert (row["count"], row["clients"], row["confidence"]) == ("4", "1", tools.MIN_CONFIDENCE)
    assert (row["first_seen"], row["last_seen"]) == (
        "2026-01-15T09:00:00.000Z",
        "2026-01-15T09:00:00.009Z",
    )


def test_sort_rows_orders_by_the_contract_key() -> None:
    rows = [_row("z", "response"), _row("b"), _row("a", "response")]
    assert tools.sort_rows(rows) is rows
    assert [(r["direction"], r["field"]) for r in rows] == [
        ("request", "b"), ("response", "a"), ("response", "z"),
    ]  # fmt: skip


def test_write_csv_writes_inventory_columns_with_newline_endings(tmp_path: Path) -> None:
    rows = tools.sort_rows([_row("customer.email"), _row("card.holder_email")])
    path = tmp_path / "x.expected.csv"
    tools.write_csv(path, rows)
    raw = path.read_bytes()
    assert b"\r" not in raw and raw.endswith(b"\n")
    assert raw.splitlines()[0].decode() == ",".join(COLUMNS)
    assert expected_rows(path) == rows  # golden.py checks the header against COLUMNS


def test_csv_text_can_end_lines_with_crlf() -> None:
    text = tools.csv_text([_row("email")], lineterminator="\r\n")
    lines = text.split("\r\n")
    assert lines[0] == ",".join(COLUMNS) and lines[-1] == "" and len(lines) == 3


def test_helpers_use_the_inventory_columns() -> None:
    assert tools.COLUMNS is COLUMNS  # imported from dpi.inventory, never a copy


@pytest.mark.parametrize("name", ["kafka", "mysql", "grpc", "tls"])
def test_generator_script_imports_as_a_module(name: str) -> None:
    module = importlib.import_module(f"samples.make_{name}_samples")
    assert callable(module.main)
