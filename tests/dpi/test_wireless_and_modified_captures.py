"""Captures that tshark reads and `dpi scan` once refused with exit 2 (issue 16): 802.11
(link types 105, 127 radiotap, 192 PPI), the "modified" pcap magic a1b2cd34, and link
types nobody decodes (skipped with one warning per link type, exit 0). Each crafted
capture is checked through the command line and cross-checked against tshark."""

from __future__ import annotations

import csv
import json
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from scapy.layers.dot11 import Dot11, Dot11QoS, RadioTap
from scapy.layers.inet import IP
from scapy.layers.l2 import LLC, SNAP
from scapy.packet import Packet, Raw

from dpi.capture import open_capture
from dpi.cli import main
from dpi.decode import DecodeError, Decoder
from dpi.frames import Frame
from tests.builders.conversation import Conversation, http_request, http_response
from tests.builders.frames import Pcapng, pcap_file

CARD = "5555555555554444"
EMAIL = "lee.okafor@mail.shopper-demo.net"
STA, AP = "02:00:00:00:00:01", "02:00:00:00:00:02"


def _conversation() -> Conversation:
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/cards", json.dumps({"pan": CARD}).encode()))
    conv.response(http_response(json.dumps({"email": EMAIL}).encode()))
    return conv.close()


def _dot11(pkt: Packet, client: str) -> bytes:
    """The IP packet of an Ethernet frame as an 802.11 QoS data frame (LLC/SNAP)."""
    ip = pkt[IP]
    to_ap = ip.src == client
    header = Dot11(
        type=2,
        subtype=8,
        FCfield="to_DS" if to_ap else "from_DS",
        addr1=AP if to_ap else STA,
        addr2=STA if to_ap else AP,
        addr3=AP,
    )
    return bytes(header / Dot11QoS() / LLC() / SNAP(code=0x0800) / ip)


# Frames without IP that a monitor-mode capture holds between the data frames.
_BEACON = bytes(Dot11(type=0, subtype=8, addr1="ff:ff:ff:ff:ff:ff", addr2=AP, addr3=AP) / Raw(b"\x00" * 12))
_PROTECTED = bytes(
    Dot11(type=2, subtype=0, FCfield="to_DS+protected", addr1=AP, addr2=STA, addr3=AP)
    / Raw(b"\x5a" * 64)
)


def _wrap(dot11: bytes, linktype: int) -> bytes:
    if linktype == 105:
        return dot11
    if linktype == 127:  # TSFT + Flags (FCS at the end), then the frame and its FCS
        header = RadioTap(present="TSFT+Flags", mac_timestamp=1234, Flags="FCS")
        return bytes(header / Raw(dot11)) + b"\x00\x00\x00\x00"
    return struct.pack("<BBHI", 0, 0, 8, 105) + dot11  # PPI carrying 802.11


def _wireless_capture(path: Path, linktype: int) -> Path:
    conv = _conversation()
    records: list[tuple[int, bytes]] = []
    for i, pkt in enumerate(conv.packets):
        ts = int(pkt.time * 1e9)
        records.append((ts, _wrap(_dot11(pkt, conv.client), linktype)))
        if i % 3 == 0:
            records.append((ts, _wrap(_BEACON if i % 2 else _PROTECTED, linktype)))
    path.write_bytes(pcap_file(records, linktype=linktype))
    return path


def _modified_capture(path: Path, head: int, order: str) -> Path:
    """A "modified" pcap: magic a1b2cd34, records with `head`-byte headers."""
    with open_capture(_conversation().write(path.with_suffix(".plain"))) as reader:
        frames = list(reader.frames())
    out = [struct.pack(order + "IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)]
    for frame in frames:
        sec, usec = divmod(frame.ts_ns // 1000, 1_000_000)
        extra = struct.pack(order + "IHBB", 2, 0x0800, 0, 0) + b"\x00" * (head - 24)
        out.append(struct.pack(order + "IIII", sec, usec, len(frame.data), frame.wire_len) + extra + frame.data)
    path.write_bytes(b"".join(out))
    path.with_suffix(".plain").unlink()
    return path


def _scan(tmp_path: Path, *paths: Path) -> tuple[int, set[tuple[str, ...]], list[str]]:
    inv, summary = tmp_path / "inv.csv", tmp_path / "summary.json"
    status = main(["scan", *map(str, paths), "-o", str(inv), "--no-progress", "--summary-json", str(summary)])
    with inv.open(newline="") as handle:
        rows = {(r["api"], r["field"], r["data_type"], r["count"]) for r in csv.DictReader(handle)}
    return status, rows, json.loads(summary.read_text())["warnings"]


def _tshark_tcp_lengths(tshark: str, path: Path) -> list[int | None]:
    out = subprocess.run(
        [tshark, "-n", "-r", str(path), "-T", "fields", "-e", "tcp.len"],
        capture_output=True, text=True, check=True,
    ).stdout
    return [int(line) if line else None for line in out.splitlines()]


def _our_tcp_lengths(path: Path) -> list[int | None]:
    decoder = Decoder()
    lengths: list[int | None] = []
    with open_capture(path) as reader:
        for frame in reader.frames():
            try:
                seg = decoder.decode(frame)
            except DecodeError:
                seg = None
            lengths.append(None if seg is None else len(seg.payload))
    return lengths


@pytest.fixture(scope="module")
def ethernet_rows(tmp_path_factory: pytest.TempPathFactory) -> set[tuple[str, ...]]:
    tmp = tmp_path_factory.mktemp("ethernet")
    status, rows, warnings = _scan(tmp, _conversation().write(tmp / "eth.pcap"))
    assert status == 0 and warnings == []
    assert {("POST /v1/cards", "pan", "CARD_NUMBER"), ("POST /v1/cards", "email", "EMAIL_ADDRESS")} <= {
        r[:3] for r in rows
    }
    return rows


@pytest.mark.parametrize("linktype", [105, 127, 192], ids=["802.11", "radiotap", "ppi"])
def test_80211_capture_gives_the_ethernet_rows(
    tmp_path: Path, ethernet_rows: set[tuple[str, ...]], linktype: int
) -> None:
    capture = _wireless_capture(tmp_path / "wlan.pcap", linktype)
    status, rows, warnings = _scan(tmp_path, capture)
    assert status == 0
    assert rows == ethernet_rows
    assert warnings == []


@pytest.mark.parametrize("linktype", [105, 127, 192], ids=["802.11", "radiotap", "ppi"])
def test_80211_segments_match_tshark(tmp_path: Path, tshark: str, linktype: int) -> None:
    capture = _wireless_capture(tmp_path / "wlan.pcap", linktype)
    theirs = _tshark_tcp_lengths(tshark, capture)
    assert _our_tcp_lengths(capture) == theirs
    assert theirs.count(None) >= 3 and any(theirs)  # beacons/protected frames, and data


@pytest.mark.parametrize("order", ["<", ">"], ids=["little-endian", "big-endian"])
@pytest.mark.parametrize("head", [24, 28], ids=["kuznetsov", "redhat-6.1"])
def test_modified_pcap_reads_like_tshark_and_gives_the_rows(
    tmp_path: Path, tshark: str, ethernet_rows: set[tuple[str, ...]], head: int, order: str
) -> None:
    captures = tmp_path / "captures"
    captures.mkdir()
    capture = _modified_capture(captures / "modified.pcap", head, order)
    assert _our_tcp_lengths(capture) == _tshark_tcp_lengths(tshark, capture)
    status, rows, warnings = _scan(tmp_path, captures)  # a directory: found by its magic
    assert status == 0 and rows == ethernet_rows and warnings == []


def test_unknown_link_types_are_skipped_with_one_warning_each(
    tmp_path: Path, ethernet_rows: set[tuple[str, ...]]
) -> None:
    captures = tmp_path / "captures"
    captures.mkdir()
    _conversation().write(captures / "a-eth.pcap")
    (captures / "b-usb.pcap").write_bytes(pcap_file([b"\x00" * 20, b"\x01" * 30, b"\x02" * 40], linktype=189))
    # pcapng: an Ethernet interface and two unknown ones, frames interleaved.
    with open_capture(captures / "a-eth.pcap") as reader:
        frames: list[Frame] = list(reader.frames())
    ng = Pcapng().section().interface(linktype=1, tsresol=9).interface(linktype=147, tsresol=9)
    ng.interface(linktype=148, tsresol=9)
    for frame in frames:
        ng.packet(frame.data, interface=0, ts=frame.ts_ns).packet(b"\x00" * 16, interface=1, ts=frame.ts_ns)
    ng.packet(b"\x00" * 16, interface=2, ts=frames[-1].ts_ns)
    (captures / "c-mixed.pcapng").write_bytes(ng.bytes())
    status, rows, warnings = _scan(tmp_path, captures)
    assert status == 0
    # The same conversation twice (the pcap and the pcapng's Ethernet interface).
    assert {r[:3] for r in rows} == {r[:3] for r in ethernet_rows}
    assert {r[3] for r in rows} == {"2"}
    assert warnings == [
        "b-usb.pcap: link type 189 is not supported: 3 frames skipped",
        f"c-mixed.pcapng: link type 147 is not supported: {len(frames)} frames skipped",
        "c-mixed.pcapng: link type 148 is not supported: 1 frame skipped",
    ]


def test_only_unknown_link_type_is_exit_0_and_no_capture_is_exit_2(tmp_path: Path) -> None:
    usb = tmp_path / "usb.pcap"
    usb.write_bytes(pcap_file([b"\x00" * 20], linktype=189))
    run = [sys.executable, "-m", "dpi", "scan", "--no-progress", "-o", str(tmp_path / "inv.csv")]
    result = subprocess.run([*run, str(usb)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "usb.pcap: link type 189 is not supported: 1 frame skipped" in result.stderr
    assert "Traceback" not in result.stderr
    text = tmp_path / "notes.pcap"
    text.write_text("not a capture\n")
    result = subprocess.run([*run, str(text)], capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
