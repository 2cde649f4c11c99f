"""What the live sample generators share (`make_kafka_samples.py`, `make_mysql_samples.py`,
`make_grpc_samples.py`, `make_tls_samples.py`): recording loopback traffic with dumpcap,
reading classic pcap records (libpcap file format: 24-byte file header, 16-byte record
headers, in the byte order of the magic), putting packets on the private sample clock,
and writing expected-CSV rows (spec/inventory.md columns, samples/README.md rules).

Not a generator: the scripts import it as `samples._capture_tools` once they have put the
repository root on `sys.path`. Classic pcap only (what `dumpcap -P` writes), no pcapng.
"""

from __future__ import annotations

import calendar
import contextlib
import csv
import datetime as dt
import io
import os
import struct
import subprocess
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from dpi.inventory import COLUMNS
from dpi.masking import mask

# The private clock of the samples: 2026-01-15T09:00:00Z, so first/last seen are stable.
EPOCH_US = calendar.timegm((2026, 1, 15, 9, 0, 0)) * 1_000_000
# Expected CSVs hold the minimum confidence a scan must reach, not the scan's own value.
MIN_CONFIDENCE = "0.5"
# dumpcap needs a moment after it starts before it sees packets.
DUMPCAP_WARMUP_S = 1.5
# Magic numbers as they read when the file is little-endian (micro-, nanosecond).
_LITTLE_ENDIAN_MAGICS = (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1")
# The nanosecond magic in either byte order.
_NANOSECOND_MAGICS = (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
PCAP_HEADER_LEN = 24
RECORD_HEADER_LEN = 16


# -- capture -------------------------------------------------------------------------------


@contextlib.contextmanager
def dumpcap_loopback(pcap: Path, port: int) -> Iterator[None]:
    """Record TCP port `port` on `lo` into `pcap` (classic pcap) while the block runs.

    Needs root (or dumpcap's capabilities). The file is made world-readable afterwards:
    dumpcap run as root writes it 0600.
    """
    capture = subprocess.Popen(
        ["dumpcap", "-q", "-i", "lo", "-f", f"tcp port {port}", "-P", "-w", str(pcap)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(DUMPCAP_WARMUP_S)
    try:
        yield
    finally:
        capture.terminate()
        capture.wait(10)
    os.chmod(pcap, 0o644)


# -- classic pcap ----------------------------------------------------------------------------


def pcap_endian(data: bytes) -> str:
    """`struct` byte order of a classic pcap file, from its magic."""
    return "<" if data[:4] in _LITTLE_ENDIAN_MAGICS else ">"


def pcap_is_nanosecond(data: bytes) -> bool:
    return data[:4] in _NANOSECOND_MAGICS


def pcap_linktype(data: bytes) -> int:
    return int(struct.unpack_from(pcap_endian(data) + "I", data, 20)[0])


def ip_header_offset(data: bytes) -> int:
    """Bytes before the IP header in each frame: 4 for BSD loopback (linktype 0), else the
    14 of Ethernet (Linux `lo` captures as Ethernet)."""
    return 4 if pcap_linktype(data) == 0 else 14


def pcap_records(data: bytes) -> list[tuple[int, int, int, int, bytes]]:
    """(ts_sec, ts_frac, incl_len, orig_len, frame) of every record, in file order. A last
    record cut short (dumpcap stopped mid-write) keeps its header's incl_len."""
    endian = pcap_endian(data)
    records: list[tuple[int, int, int, int, bytes]] = []
    pos = PCAP_HEADER_LEN
    while pos + RECORD_HEADER_LEN <= len(data):
        sec, frac, incl, orig = struct.unpack_from(endian + "IIII", data, pos)
        start = pos + RECORD_HEADER_LEN
        records.append((sec, frac, incl, orig, data[start : start + incl]))
        pos = start + incl
    return records


def private_clock_us(index: int, epoch_us: int = EPOCH_US) -> int:
    """Time of the `index`-th packet: 3 ms apart plus 0-499 microseconds (whole
    milliseconds would hide ordering bugs), as `make_samples.py` does."""
    return epoch_us + index * 3_000 + (index * 37) % 500


def rewrite_times(path: Path, epoch_us: int = EPOCH_US) -> list[tuple[int, bytes]]:
    """Put every packet of the microsecond pcap at `path` on the private clock, in place;
    returns (ts_us, frame) in file order."""
    data = path.read_bytes()
    endian = pcap_endian(data)
    out = bytearray(data[:PCAP_HEADER_LEN])
    frames: list[tuple[int, bytes]] = []
    for index, (_, _, incl, orig, frame) in enumerate(pcap_records(data)):
        ts_us = private_clock_us(index, epoch_us)
        out += struct.pack(endian + "IIII", ts_us // 1_000_000, ts_us % 1_000_000, incl, orig)
        out += frame
        frames.append((ts_us, frame))
    path.write_bytes(bytes(out))
    return frames


def tcp_payload(frame: bytes, offset: int) -> tuple[int, int, int, bytes] | None:
    """(source port, destination port, sequence number, payload) of an IPv4 TCP frame
    whose IP header starts at `offset`; None for anything else."""
    ip = frame[offset:]
    if len(ip) < 20 or ip[9] != 6:
        return None
    ihl = (ip[0] & 0x0F) * 4
    sport, dport, seq = struct.unpack_from(">HHI", ip, ihl)
    tcp_len = (ip[ihl + 12] >> 4) * 4
    total = struct.unpack_from(">H", ip, 2)[0]
    return sport, dport, seq, ip[ihl + tcp_len : total]


# -- expected CSV ----------------------------------------------------------------------------


def iso_ms(ts_us: int) -> str:
    """`2026-01-15T09:00:00.123Z`: the spec's first/last seen, milliseconds truncated."""
    moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=ts_us)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def expected_row(
    *,
    protocol: str,
    server: str,
    host: str,
    api: str,
    direction: str,
    location: str,
    field: str,
    data_type: str,
    category: str,
    count: int,
    first_us: int,
    last_us: int,
    value: str,
) -> dict[str, str]:
    """One expected inventory row from ground truth: one client, the value masked by
    `dpi.masking.mask`, confidence the floor `MIN_CONFIDENCE`."""
    return {
        "protocol": protocol, "server": server, "host": host, "api": api,
        "direction": direction, "location": location, "field": field,
        "data_type": data_type, "category": category, "count": str(count),
        "first_seen": iso_ms(first_us), "last_seen": iso_ms(last_us), "clients": "1",
        "sample": mask(value, category, data_type), "confidence": MIN_CONFIDENCE,
    }  # fmt: skip


def sort_rows(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """In place, in the contract's order (the first eight columns); returns `rows`."""
    rows.sort(key=lambda r: tuple(r[c] for c in COLUMNS[:8]))
    return rows


def csv_text(rows: Iterable[dict[str, str]], *, lineterminator: str = "\n") -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator=lineterminator)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_csv(path: Path, rows: Iterable[dict[str, str]], *, lineterminator: str = "\n") -> None:
    path.write_text(csv_text(rows, lineterminator=lineterminator), newline="")
