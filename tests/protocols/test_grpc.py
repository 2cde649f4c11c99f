"""protocols._grpc: length-prefixed deframing across DATA frames, compression, gRPC-Web
trailers and text, and the bounds."""

from __future__ import annotations

import base64
import gzip

import pytest

from protocols import _grpc
from protocols.base import Limits
from tests.builders.http2 import grpc_gzip_message, grpc_message, grpc_web_trailers, pb_bytes

LIMITS = Limits()


def _bodies(items: list[_grpc.GrpcFrame | _grpc.Skipped]) -> list[bytes]:
    return [i.data for i in items if isinstance(i, _grpc.GrpcFrame)]


def test_message_split_over_data_frames_is_joined() -> None:
    wire = grpc_message(pb_bytes(1, "Clement"))
    deframer = _grpc.Deframer(1024)
    got: list[_grpc.GrpcFrame | _grpc.Skipped] = []
    for i in range(len(wire)):
        got += deframer.feed(wire[i : i + 1])
    assert _bodies(got) == [pb_bytes(1, "Clement")]
    assert deframer.pending == 0


def test_several_messages_in_one_data_frame() -> None:
    wire = b"".join(grpc_message(pb_bytes(1, f"m{i}")) for i in range(3))
    assert _bodies(_grpc.Deframer(1024).feed(wire)) == [pb_bytes(1, f"m{i}") for i in range(3)]


def test_empty_message_is_a_message() -> None:
    assert _bodies(_grpc.Deframer(1024).feed(grpc_message(b""))) == [b""]


def test_oversized_message_is_skipped_by_count_not_buffered() -> None:
    deframer = _grpc.Deframer(10)
    big = grpc_message(b"x" * 100)
    items = deframer.feed(big[:50])
    assert [i.reason for i in items if isinstance(i, _grpc.Skipped)] == ["body_too_large"]
    assert deframer.pending == 55
    items = deframer.feed(big[50:] + grpc_message(b"ok"))
    assert _bodies(items) == [b"ok"]


def test_unknown_flag_bits_lose_sync_until_a_frame_starts() -> None:
    deframer = _grpc.Deframer(1024)
    items = deframer.feed(b"\x42\x00\x00\x00\x01x")
    assert [i.reason for i in items if isinstance(i, _grpc.Skipped)] == ["grpc_bad_frame"]
    assert deframer.feed(b"garbage!") and not deframer.in_sync
    assert _bodies(deframer.feed(grpc_message(b"ok"))) == [b"ok"]


def test_gzip_message_decompresses_and_bomb_is_refused() -> None:
    frame = _grpc.Deframer(1 << 20).feed(grpc_gzip_message(pb_bytes(1, "x")))[0]
    assert isinstance(frame, _grpc.GrpcFrame) and frame.compressed
    assert _grpc.decompress(frame.data, "gzip", LIMITS) == pb_bytes(1, "x")
    bomb = gzip.compress(b"\0" * (4 << 20))
    with pytest.raises(_grpc.GrpcError):
        _grpc.decompress(bomb, "gzip", Limits(max_decompressed_bytes=1 << 20))
    with pytest.raises(_grpc.GrpcError):
        _grpc.decompress(b"not gzip", "gzip", LIMITS)
    with pytest.raises(_grpc.GrpcError):
        _grpc.decompress(b"x", "no-such-coding", LIMITS)


def test_sniffed_compression_when_grpc_encoding_is_unknown() -> None:
    assert _grpc.sniff_compression(gzip.compress(b"x")) == "gzip"
    assert _grpc.sniff_compression(b"\x78\x9c...") == "deflate"
    assert _grpc.sniff_compression(b"\x0a\x01x") == ""


def test_grpc_web_trailers_frame_is_flagged_and_parsed() -> None:
    wire = grpc_message(b"m") + grpc_web_trailers([("grpc-status", "0"), ("grpc-message", "ok")])
    frames, skipped = _grpc.deframe(wire, LIMITS)
    assert not skipped and [f.trailers for f in frames] == [False, True]
    assert _grpc.parse_web_trailers(frames[1].data) == [
        ("grpc-status", b"0"),
        ("grpc-message", b"ok"),
    ]


def test_grpc_web_text_decodes_concatenated_chunks() -> None:
    raw = grpc_message(b"a") + grpc_message(b"bcdef")
    text = base64.b64encode(grpc_message(b"a")) + b"\r\n" + base64.b64encode(grpc_message(b"bcdef"))
    assert _grpc.decode_web_text(text) == raw
    with pytest.raises(_grpc.GrpcError):
        _grpc.decode_web_text(b"@@@@")


def test_truncated_body_reports_the_rest() -> None:
    frames, skipped = _grpc.deframe(grpc_message(b"abc")[:-1], LIMITS)
    assert frames == [] and [s.reason for s in skipped] == ["grpc_bad_frame"]


def test_looks_like_grpc_accepts_chained_prefixes_only() -> None:
    assert _grpc.looks_like_grpc(grpc_message(b"abc") + grpc_message(b"d"))
    assert _grpc.looks_like_grpc(grpc_message(b"abcdef")[:7])  # continues in next frame
    assert not _grpc.looks_like_grpc(b'{"json": true}')
    assert not _grpc.looks_like_grpc(b"\x00\x00")
