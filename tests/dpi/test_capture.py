"""The capture reader: pcap/pcapng formats, compression, damage, and real captures."""

from __future__ import annotations

import gzip
import os
import struct
import subprocess
from pathlib import Path

import pytest
import zstandard

from dpi.capture import MAX_RECORD_FLOOR, MAX_WARNINGS, CaptureError, open_capture
from dpi.decode import DecodeError, Decoder
from dpi.frames import Frame
from tests.builders.frames import (
    Pcapng,
    pcap_file,
    pcap_header,
    pcap_record,
    pcapng_file,
    tcp_frame,
)
from tests.conftest import CAPTURES

MARKER = b"SECRET-PAYLOAD-MARKER"


def write(tmp_path: Path, data: bytes, name: str = "c.pcap") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def read_all(path: Path) -> tuple[list[Frame], list[str]]:
    with open_capture(path) as reader:
        frames = list(reader.frames())
        return frames, reader.warnings


def three_frames() -> list[tuple[int, bytes, int]]:
    return [
        (1_700_000_000_123_456_000, tcp_frame(b"GET / HTTP/1.1\r\n\r\n"), 72),
        (1_700_000_001_000_001_000, tcp_frame(MARKER), 75),
        (1_700_000_002_999_999_000, tcp_frame(b""), 54),
    ]


# -- classic pcap --------------------------------------------------------------------


@pytest.mark.parametrize("big_endian", [False, True])
@pytest.mark.parametrize("nanosecond", [False, True])
def test_pcap_byte_orders_and_resolutions_give_ns_timestamps(
    tmp_path: Path, big_endian: bool, nanosecond: bool
) -> None:
    frames = [
        (1_700_000_000_123_456_789, b"\x00" * 60, 60),
        (1_700_000_001_000_000_001, b"\x01" * 70, 1500),
    ]
    path = write(tmp_path, pcap_file(frames, nanosecond=nanosecond, big_endian=big_endian))
    with open_capture(path) as reader:
        got = list(reader.frames())
        assert reader.format == "pcap"
        assert reader.linktypes == {1}
        assert reader.warnings == []
    assert [f.number for f in got] == [1, 2]
    expected_ts = [t if nanosecond else t // 1000 * 1000 for t, _, _ in frames]
    assert [f.ts_ns for f in got] == expected_ts
    assert [f.data for f in got] == [d for _, d, _ in frames]
    assert [f.wire_len for f in got] == [60, 1500]
    assert all(f.linktype == 1 for f in got)


def test_pcap_header_only_yields_no_frames(tmp_path: Path) -> None:
    frames, warnings = read_all(write(tmp_path, pcap_header()))
    assert frames == [] and warnings == []


def test_pcap_linktype_upper_bits_are_fcs_flags_not_linktype(tmp_path: Path) -> None:
    path = write(tmp_path, pcap_file([tcp_frame()], linktype=1 | 0x14000000))
    frames, _ = read_all(path)
    assert frames[0].linktype == 1


def test_pcap_before_version_2_3_has_lengths_swapped_fixed(tmp_path: Path) -> None:
    path = write(tmp_path, pcap_file([(5_000_000_000, b"\x00" * 40, 1500)], version=(2, 2)))
    frames, warnings = read_all(path)
    assert [(len(f.data), f.wire_len) for f in frames] == [(40, 1500)]
    assert warnings == []


def test_pcap_record_larger_than_chunk_read_across_refills(tmp_path: Path) -> None:
    big = bytes(range(256)) * 5000  # 1.28 MB: spans two 1 MiB reads
    path = write(tmp_path, pcap_file([b"a" * 100, big, b"b" * 100], snaplen=4 * 1024 * 1024))
    frames, warnings = read_all(path)
    assert [len(f.data) for f in frames] == [100, len(big), 100]
    assert frames[1].data == big and warnings == []


def test_pcap_many_frames_stream_across_chunks_in_order(tmp_path: Path) -> None:
    records = [bytes([i % 256]) * (1000 + i % 700) for i in range(3000)]  # ~4 MB
    path = write(tmp_path, pcap_file(records))
    with open_capture(path) as reader:
        got = list(reader.frames())
        assert reader.position == reader.size == os.path.getsize(path)
    assert [f.data for f in got] == records
    assert got[-1].number == 3000


def test_pcap_file_named_otherwise_detected_by_magic(tmp_path: Path) -> None:
    path = write(tmp_path, pcap_file([tcp_frame()]), name="notes.txt")
    frames, _ = read_all(path)
    assert len(frames) == 1


# -- pcap damage ---------------------------------------------------------------------


def test_pcap_truncated_last_record_keeps_earlier_frames_and_warns(tmp_path: Path) -> None:
    data = pcap_file(three_frames())
    path = write(tmp_path, data[:-10], name="cut.pcap")
    frames, warnings = read_all(path)
    assert len(frames) == 2
    assert len(warnings) == 1
    assert "cut.pcap" in warnings[0] and "record 3" in warnings[0] and "cut short" in warnings[0]


def test_pcap_truncated_record_header_warns(tmp_path: Path) -> None:
    data = pcap_file(three_frames()) + b"\x00" * 7
    frames, warnings = read_all(write(tmp_path, data))
    assert len(frames) == 3 and "record 4" in warnings[0]


def test_pcap_huge_record_length_stops_without_allocating(tmp_path: Path) -> None:
    data = (
        pcap_file(three_frames()[:1])
        + pcap_record(MARKER, incl_len=16_711_424)
        + pcap_record(b"never reached")
    )
    frames, warnings = read_all(write(tmp_path, data))
    assert len(frames) == 1
    assert "16711424" in warnings[0] and f"{MAX_RECORD_FLOOR}-byte bound" in warnings[0]
    assert "offset" in warnings[0]


def test_pcap_garbage_after_header_warns_not_raises(tmp_path: Path) -> None:
    data = pcap_header() + b"\xff" * 100
    frames, warnings = read_all(write(tmp_path, data))
    assert frames == [] and len(warnings) == 1


def test_pcap_snaplen_above_floor_raises_the_bound(tmp_path: Path) -> None:
    record = b"x" * (MAX_RECORD_FLOOR + 10)
    frames, warnings = read_all(write(tmp_path, pcap_file([record], snaplen=1 << 20)))
    assert len(frames) == 1 and warnings == []


def test_warnings_never_quote_packet_bytes(tmp_path: Path) -> None:
    data = pcap_file(three_frames())
    _frames, warnings = read_all(write(tmp_path, data[:-3]))
    assert warnings and all(MARKER.decode() not in w for w in warnings)


# -- not a capture -------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"GET / HTTP/1.1\r\nHost: example\r\n\r\n" * 3,
        os.urandom(4096),
        b"\xd4\xc3\xb2\xa1\x02\x00",  # pcap magic, header cut short
        gzip.compress(b"just some text, not a capture"),
        gzip.compress(b""),
        b"\x1f\x8b\x08\x00garbage that is not deflate",
    ],
    ids=["empty", "text", "random", "short-header", "gzip-text", "gzip-empty", "bad-gzip"],
)
def test_not_a_capture_raises_capture_error(tmp_path: Path, content: bytes) -> None:
    path = write(tmp_path, content, name="x.pcap")
    with pytest.raises(CaptureError) as err:
        open_capture(path)
    message = str(err.value)
    assert "\n" not in message and "x.pcap" in message
    assert "HTTP" not in message and "text" not in message.replace("not a capture", "")


def test_unsupported_linktype_yields_frames_and_warns_once_with_the_count(tmp_path: Path) -> None:
    # Formerly a CaptureError (exit 2): an unknown link type is skipped, not refused.
    path = write(tmp_path, pcap_file([b"\x00" * 20, b"\x01" * 30, b"\x02" * 40], linktype=147))
    frames, warnings = read_all(path)
    assert [f.linktype for f in frames] == [147, 147, 147]
    assert warnings == ["c.pcap: link type 147 is not supported: 3 frames skipped"]


def test_modified_pcap_record_headers_are_read(tmp_path: Path) -> None:
    """Magic a1b2cd34: 24-byte (Kuznetsov) or 28-byte (Red Hat 6.1) record headers."""
    frames = three_frames()
    for head in (24, 28):
        for order in "<>":
            data = [struct.pack(order + "IHHiIII", 0xA1B2CD34, 2, 4, 0, 0, 65535, 1)]
            for ts, frame, wire in frames:
                sec, usec = divmod(ts // 1000, 1_000_000)
                extra = struct.pack(order + "IHBB", 3, 0x0800, 4, 0) + b"\x00" * (head - 24)
                data.append(struct.pack(order + "IIII", sec, usec, len(frame), wire) + extra + frame)
            got, warnings = read_all(write(tmp_path, b"".join(data)))
            assert [(f.ts_ns, f.data, f.wire_len) for f in got] == frames, (head, order)
            assert warnings == []


def test_missing_file_raises_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="cannot open"):
        open_capture(tmp_path / "nope.pcap")


def test_directory_raises_capture_error(tmp_path: Path) -> None:
    with pytest.raises(CaptureError):
        open_capture(tmp_path)


# -- pcapng --------------------------------------------------------------------------


def test_pcapng_interfaces_keep_their_linktype_and_resolution(tmp_path: Path) -> None:
    eth = tcp_frame(b"one")
    raw = tcp_frame(b"two", linktype=101)
    data = (
        Pcapng()
        .section()
        .interface(linktype=1)  # default: microseconds
        .interface(linktype=101, tsresol=9, tsoffset=100)
        .interface(linktype=1, tsresol=0x80 | 10)  # 2**-10 s
        .packet(eth, interface=0, ts=1_700_000_000_000_001)
        .packet(raw, interface=1, ts=5_000_000_007)
        .packet(eth, interface=2, ts=3 * 1024 + 512)
        .bytes()
    )
    with open_capture(write(tmp_path, data, "c.pcapng")) as reader:
        frames = list(reader.frames())
        assert reader.format == "pcapng"
        assert reader.linktypes == {1, 101}
        assert reader.warnings == []
    assert [f.linktype for f in frames] == [1, 101, 1]
    assert [f.ts_ns for f in frames] == [
        1_700_000_000_000_001_000,
        105_000_000_007,
        3_500_000_000,
    ]
    assert [f.data for f in frames] == [eth, raw, eth]
    assert [f.number for f in frames] == [1, 2, 3]


def test_pcapng_finer_than_ns_resolution_rounds_down(tmp_path: Path) -> None:
    data = Pcapng().section().interface(tsresol=12).packet(b"x" * 20, ts=1_234_567_890_123).bytes()
    frames, _ = read_all(write(tmp_path, data, "c.pcapng"))
    assert frames[0].ts_ns == 1_234_567_890


def test_pcapng_simple_packet_block_reuses_previous_timestamp(tmp_path: Path) -> None:
    data = (
        Pcapng()
        .section()
        .interface(snaplen=64, tsresol=9)
        .packet(b"a" * 30, ts=42)
        .simple(b"b" * 100, wire_len=100)  # snaplen 64 cuts it
        .bytes()
    )
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert [(f.ts_ns, len(f.data), f.wire_len) for f in frames] == [(42, 30, 30), (42, 64, 100)]
    assert warnings == []


def test_pcapng_obsolete_packet_block_and_other_blocks_skipped(tmp_path: Path) -> None:
    data = (
        Pcapng()
        .section()
        .block(4, b"\x01\x00\x04\x00\x0a\x00\x00\x01host\x00\x00\x00\x00")  # NRB
        .interface(tsresol=6)
        .block(5, b"\x00" * 12)  # ISB
        .block(10, b"\x00" * 40)  # DSB
        .block(0xBAD, b"\x00" * 8)  # custom
        .obsolete(b"p" * 33, ts=7)
        .packet(b"e" * 20, ts=8)
        .bytes()
    )
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert [(f.ts_ns, f.data) for f in frames] == [(7000, b"p" * 33), (8000, b"e" * 20)]
    assert warnings == []


def test_pcapng_sections_with_different_byte_orders_reset_interfaces(tmp_path: Path) -> None:
    builder = Pcapng().section().interface(linktype=1).packet(b"le" * 10, ts=1)
    builder.section(big_endian=True).interface(linktype=101, tsresol=9).packet(b"be" * 10, ts=2)
    frames, warnings = read_all(write(tmp_path, builder.bytes(), "c.pcapng"))
    assert [(f.linktype, f.ts_ns, f.data) for f in frames] == [
        (1, 1000, b"le" * 10),
        (101, 2, b"be" * 10),
    ]
    assert warnings == []


def test_pcapng_big_endian_file_reads(tmp_path: Path) -> None:
    data = pcapng_file(three_frames(), big_endian=True)
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert [f.ts_ns for f in frames] == [t for t, _, _ in three_frames()]
    assert [f.wire_len for f in frames] == [72, 75, 54] and warnings == []


def test_pcapng_unsupported_interface_linktype_warns_and_still_yields(tmp_path: Path) -> None:
    data = Pcapng().section().interface(linktype=147).packet(b"z" * 10).bytes()
    with open_capture(write(tmp_path, data, "c.pcapng")) as reader:
        frames = list(reader.frames())
        assert reader.linktypes == {147}
        assert len(reader.warnings) == 1 and "147" in reader.warnings[0]
    assert frames[0].linktype == 147


def test_pcapng_unknown_interface_block_skipped_with_warning(tmp_path: Path) -> None:
    data = Pcapng().section().interface().packet(b"a" * 10, interface=3).packet(b"b" * 10).bytes()
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert [f.data for f in frames] == [b"b" * 10]
    assert "unknown interface 3" in warnings[0] and "skipped" in warnings[0]


def test_pcapng_caplen_beyond_block_skipped_with_warning(tmp_path: Path) -> None:
    data = Pcapng().section().interface().packet(MARKER, caplen=5000).packet(b"ok" * 10).bytes()
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert [f.data for f in frames] == [b"ok" * 10]
    assert "5000" in warnings[0] and MARKER.decode() not in warnings[0]


def test_pcapng_bad_block_length_stops_with_warning(tmp_path: Path) -> None:
    data = (
        Pcapng().section().interface().packet(b"a" * 20).block(6, b"\x00" * 40, length=13).bytes()
    )
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert len(frames) == 1 and "invalid block length 13" in warnings[0]


def test_pcapng_huge_block_length_stops_without_allocating(tmp_path: Path) -> None:
    data = (
        Pcapng()
        .section()
        .interface()
        .packet(b"a" * 20)
        .block(6, b"\x00" * 40, length=16_711_424)
        .bytes()
    )
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert len(frames) == 1 and "16711424" in warnings[0]


def test_pcapng_trailer_mismatch_stops_with_warning(tmp_path: Path) -> None:
    data = (
        Pcapng()
        .section()
        .interface()
        .packet(b"a" * 20)
        .block(6, b"\x00" * 40, trailer=8)
        .packet(b"b" * 20)
        .bytes()
    )
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert len(frames) == 1 and "trailing length" in warnings[0]


def test_pcapng_cut_short_block_keeps_earlier_frames(tmp_path: Path) -> None:
    data = pcapng_file(three_frames())
    frames, warnings = read_all(write(tmp_path, data[:-9], "c.pcapng"))
    assert len(frames) == 2 and "cut short" in warnings[0]


def test_pcapng_large_skipped_block_is_streamed_past(tmp_path: Path) -> None:
    big = b"\x00" * (3 * 1024 * 1024)
    data = (
        Pcapng().section().interface().packet(b"a" * 20).block(0xBAD, big).packet(b"b" * 20).bytes()
    )
    frames, warnings = read_all(write(tmp_path, data, "c.pcapng"))
    assert [f.data for f in frames] == [b"a" * 20, b"b" * 20] and warnings == []


def test_pcapng_without_byte_order_magic_raises_capture_error(tmp_path: Path) -> None:
    data = b"\x0a\x0d\x0d\x0a\x1c\x00\x00\x00" + b"\x00" * 20
    with pytest.raises(CaptureError, match="byte-order"):
        open_capture(write(tmp_path, data, "c.pcapng"))


def test_warning_list_is_bounded(tmp_path: Path) -> None:
    builder = Pcapng().section().interface()
    for _ in range(MAX_WARNINGS + 50):
        builder.packet(b"x" * 8, interface=9)
    frames, warnings = read_all(write(tmp_path, builder.bytes(), "c.pcapng"))
    assert frames == []
    assert len(warnings) == MAX_WARNINGS + 1 and "50 further warnings suppressed" in warnings[-1]


# -- compression ---------------------------------------------------------------------


def test_gzip_pcap_detected_by_magic_and_streamed(tmp_path: Path) -> None:
    data = gzip.compress(pcap_file(three_frames()))
    path = write(tmp_path, data, name="plain-name.pcap")
    with open_capture(path) as reader:
        frames = list(reader.frames())
        assert reader.compression == "gzip"
        assert reader.position == reader.size == len(data)
    assert [f.data for f in frames] == [d for _, d, _ in three_frames()]


def test_zstd_pcapng_detected_by_magic(tmp_path: Path) -> None:
    data = zstandard.ZstdCompressor().compress(pcapng_file(three_frames()))
    with open_capture(write(tmp_path, data, name="c.bin")) as reader:
        frames = list(reader.frames())
        assert reader.compression == "zstd" and reader.format == "pcapng"
    assert len(frames) == 3


def test_zstd_garbage_raises_capture_error(tmp_path: Path) -> None:
    path = write(tmp_path, b"\x28\xb5\x2f\xfd" + b"\xff" * 64)
    with pytest.raises(CaptureError, match="zstd"):
        open_capture(path)


def test_truncated_gzip_keeps_earlier_frames_and_warns(tmp_path: Path) -> None:
    records = [os.urandom(1400) for _ in range(2000)]  # incompressible: ~2.8 MB
    data = gzip.compress(pcap_file(records))
    path = write(tmp_path, data[: len(data) * 3 // 4], name="c.pcap.gz")
    frames, warnings = read_all(path)
    assert 0 < len(frames) < len(records)
    assert [f.data for f in frames] == records[: len(frames)]
    assert len(warnings) == 1


def test_position_grows_to_size(tmp_path: Path) -> None:
    path = write(tmp_path, pcap_file([b"q" * 1000] * 3000))
    seen = []
    with open_capture(path) as reader:
        assert reader.size == os.path.getsize(path)
        for _ in reader.frames():
            seen.append(reader.position)
        assert reader.position == reader.size
    assert seen == sorted(seen) and 0 < seen[0] <= reader.size


def test_reader_repr_has_no_bytes(tmp_path: Path) -> None:
    with open_capture(write(tmp_path, pcap_file([MARKER]))) as reader:
        assert MARKER.decode() not in repr(reader)
        frame = next(reader.frames())
        assert MARKER.decode() not in repr(frame)


# -- real captures -------------------------------------------------------------------

REAL_DIRS = ("robustness", "http", "grpc", "kafka", "mysql")
DAMAGED = {"cut-short-nanosecond-null.pcap", "damaged-record-fuzz.pcap"}


def real_captures() -> list[str]:
    # Same location as the `shared_captures` fixture (tests/conftest.py); needed here at
    # collection time to parametrize.
    # Split captures (`X.part1.pcap.gz`) are listed under the name the fixture joins them to.
    root = CAPTURES
    names = {
        f"{d}/{p.name}".replace(".part1.pcap.gz", ".pcap")
        for d in REAL_DIRS
        for p in (root / d).glob("*")
        if ".pcap" in p.name and ".part" not in p.name.replace(".part1.", "")
    }
    return sorted(names)


def tshark_counts(tshark: str, path: Path) -> tuple[int, int]:
    """(frames, frames whose TCP length is > 0) as tshark sees them."""
    out = subprocess.run(
        [tshark, "-n", "-r", str(path), "-T", "fields", "-e", "frame.number", "-e", "tcp.len"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    frames = segments = 0
    for line in out.splitlines():
        number, _, lengths = line.partition("\t")
        if not number:
            continue
        frames += 1
        if any(x and int(x) > 0 for x in lengths.split(",")):
            segments += 1
    return frames, segments


def scan(path: Path) -> tuple[int, int, list[str], int]:
    decoder = Decoder()
    frames = segments = errors = 0
    with open_capture(path) as reader:
        for frame in reader.frames():
            frames += 1
            try:
                seg = decoder.decode(frame)
            except DecodeError:
                errors += 1
                continue
            if seg is not None and (seg.payload or seg.missing):
                segments += 1
        return frames, segments, reader.warnings, errors


@pytest.mark.tshark
@pytest.mark.parametrize("name", real_captures())
def test_real_capture_matches_tshark_counts(shared_captures: Path, tshark: str, name: str) -> None:
    path = shared_captures / name
    frames, segments, warnings, errors = scan(path)
    ts_frames, ts_segments = tshark_counts(tshark, path)
    if path.name in DAMAGED:
        # tshark shows one bogus record past the damage in damaged-record-fuzz; we stop
        # at the damage: never more frames than tshark, and a warning.
        assert 1 <= frames <= ts_frames
        assert len(warnings) == 1
        return
    assert warnings == []
    assert frames == ts_frames
    assert segments == ts_segments
    assert errors == 0


def test_cut_short_nanosecond_null_yields_its_frame_and_a_warning(shared_captures: Path) -> None:
    frames, warnings = read_all(shared_captures / "robustness/cut-short-nanosecond-null.pcap")
    assert len(frames) == 1 and len(frames[0].data) == 197 and frames[0].linktype == 0
    assert "cut short" in warnings[0] and "record 2" in warnings[0]


def test_damaged_record_fuzz_stops_at_the_damage(shared_captures: Path) -> None:
    frames, warnings = read_all(shared_captures / "robustness/damaged-record-fuzz.pcap")
    assert len(frames) == 1 and len(frames[0].data) == 188
    assert "record 2" in warnings[0] and "bound" in warnings[0]


def test_gzip_real_capture_streams_with_compressed_position(shared_captures: Path) -> None:
    path = shared_captures / "robustness/http-1000-requests-one-dropped.pcap.gz"
    with open_capture(path) as reader:
        count = sum(1 for _ in reader.frames())
        assert reader.compression == "gzip"
        assert reader.position == reader.size == path.stat().st_size
    assert count == 4102


def test_frames_twice_is_a_programming_error(tmp_path: Path) -> None:
    with open_capture(write(tmp_path, pcap_file([b"x" * 20]))) as reader:
        assert len(list(reader.frames())) == 1
        with pytest.raises(RuntimeError):
            reader.frames()
