"""Compressed capture files under a ratio bound (issue 16): a 33 KB `.zst` expanding to
1 GiB of zeros (67 million empty records) ran past 120 s. Reading now stops once the
expanded bytes exceed `max_capture_compression_ratio` times the compressed bytes read
(after the first `RATIO_GRACE_BYTES`), with a warning naming the limit, exit 0 and the
records before it scanned; real captures, even zero-filled bulk transfers, stay below."""

from __future__ import annotations

import csv
import gzip
import json
import random
import struct
from pathlib import Path

import pytest
import zstandard

from dpi.capture import RATIO_GRACE_BYTES, open_capture
from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response
from tests.builders.frames import pcap_header, pcap_record, tcp_frame

CARD = "5555555555554444"
LIMIT = "max_capture_compression_ratio"


def _card_records(tmp_path: Path) -> bytes:
    """pcap records (no file header) of one HTTP exchange carrying a card number."""
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/cards", json.dumps({"pan": CARD}).encode()))
    conv.response(http_response(b"{}")).close()
    return conv.write(tmp_path / "card.pcap").read_bytes()[24:]


def _compress(path: Path, kind: str, pieces: list[bytes], zeros: int) -> Path:
    """`pieces`, then `zeros` zero bytes, compressed as a stream (never held whole)."""
    block = b"\x00" * (1 << 20)
    with path.open("wb") as raw:
        if kind == "zstd":
            writer = zstandard.ZstdCompressor(level=3).stream_writer(raw, closefd=False)
        else:
            writer = gzip.GzipFile(fileobj=raw, mode="wb", compresslevel=9)
        with writer:
            for piece in pieces:
                writer.write(piece)
            for _ in range(zeros // len(block)):
                writer.write(block)
    return path


def _scan(tmp_path: Path, capture: Path, *extra: str) -> tuple[int, set[tuple[str, str]], dict]:
    inv, summary = tmp_path / "inv.csv", tmp_path / "summary.json"
    args = ["scan", str(capture), "-o", str(inv), "--no-progress", "--summary-json", str(summary)]
    status = main([*args, *extra])
    with inv.open(newline="") as handle:
        rows = {(r["field"], r["data_type"]) for r in csv.DictReader(handle)}
    return status, rows, json.loads(summary.read_text())


@pytest.mark.parametrize(
    ("kind", "zeros"), [("zstd", 1 << 30), ("gzip", 256 << 20)], ids=["zstd-1GiB", "gzip-256MiB"]
)
def test_bomb_stops_at_the_ratio_and_keeps_what_came_before(
    tmp_path: Path, kind: str, zeros: int
) -> None:
    header = pcap_header()
    capture = _compress(tmp_path / f"bomb.pcap.{kind[:3]}", kind, [header, _card_records(tmp_path)], zeros)
    assert capture.stat().st_size < zeros // 200  # a bomb by the limit's own measure
    status, rows, summary = _scan(tmp_path, capture)
    assert status == 0
    assert ("pan", "CARD_NUMBER") in rows
    assert summary["limits_hit"] == {LIMIT: 1}
    warnings = summary["warnings"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"{capture.name}: reading stopped at uncompressed offset ")
    assert warnings[0].endswith(f"expanded more than 200 times the compressed bytes read (limit {LIMIT})")
    # Bounded: the empty 16-byte records read are those of the grace and one more chunk,
    # not the 67 million of the whole gibibyte.
    assert summary["frames"] < (RATIO_GRACE_BYTES + (2 << 20)) // 16


def _bulk_transfer(tmp_path: Path, packets: int) -> bytes:
    """A card exchange, then a bulk transfer of zero-filled 1448-byte segments with real
    variation (IP id, checksums, time): the most compressible real traffic."""
    rng = random.Random(7)
    out = [pcap_header(), _card_records(tmp_path)]
    ts = 1_768_467_700_000_000_000
    for i in range(packets):
        frame = bytearray(tcp_frame(b"\x00" * 1448, sport=5001, dport=40100, seq=1 + 1448 * i, ack=1))
        struct.pack_into("!H", frame, 18, i & 0xFFFF)  # IP id
        struct.pack_into("!H", frame, 24, rng.getrandbits(16))  # IP checksum
        struct.pack_into("!H", frame, 50, rng.getrandbits(16))  # TCP checksum
        ts += 12_000 + rng.randrange(1000)
        out.append(pcap_record(bytes(frame), ts_ns=ts))
    return b"".join(out)


@pytest.fixture(scope="module")
def bulk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    tmp = tmp_path_factory.mktemp("bulk")
    data = _bulk_transfer(tmp, 8000)  # 11.7 MB: past the grace
    assert len(data) > RATIO_GRACE_BYTES
    path = tmp / "bulk.pcap.zst"
    path.write_bytes(zstandard.ZstdCompressor(level=3).compress(data))
    ratio = len(data) / path.stat().st_size
    assert 100 < ratio < 200, ratio  # what such a real capture reaches
    with open_capture(tmp / "bulk.pcap.zst") as reader:
        records = sum(1 for _ in reader.frames())
    return path, records


def test_zero_filled_bulk_transfer_is_read_whole(tmp_path: Path, bulk: tuple[Path, int]) -> None:
    path, records = bulk
    assert records == 8000 + 8  # the bulk segments and the card exchange
    status, rows, summary = _scan(tmp_path, path)
    assert status == 0 and ("pan", "CARD_NUMBER") in rows
    assert summary["warnings"] == [] and summary["limits_hit"] == {}
    assert summary["frames"] == records


def test_the_limit_is_set_by_name(tmp_path: Path, bulk: tuple[Path, int]) -> None:
    path, records = bulk
    status, rows, summary = _scan(tmp_path, path, "--limit", f"{LIMIT}=50")
    assert status == 0 and ("pan", "CARD_NUMBER") in rows  # read before the stop
    assert summary["limits_hit"] == {LIMIT: 1}
    assert "(limit max_capture_compression_ratio)" in summary["warnings"][0]
    assert summary["frames"] < records
