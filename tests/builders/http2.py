"""Byte factories for HTTP/2 (RFC 9113 frames, RFC 7541 blocks via hpack's Encoder),
gRPC length-prefixed messages and protobuf wire encoding; plus a tshark-based reader of
the per-direction TCP byte streams of real captures (no capture reader exists yet).
"""

from __future__ import annotations

import gzip
import struct
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from hpack import Encoder
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH

from protocols.base import Direction, Event

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE = 0, 1, 2, 3, 4, 5
PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = 6, 7, 8, 9
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20


# -- frames ----------------------------------------------------------------------------


def frame(ftype: int, flags: int, sid: int, payload: bytes = b"") -> bytes:
    return struct.pack(">IBI", (len(payload) << 8) | ftype, flags, sid) + payload


def _pad(payload: bytes, pad: int) -> bytes:
    return bytes([pad]) + payload + b"\0" * pad if pad else payload


def settings(ack: bool = False, **values: int) -> bytes:
    ids = {"header_table_size": 1, "max_concurrent_streams": 3, "max_frame_size": 5}
    payload = b"".join(struct.pack(">HI", ids[k], v) for k, v in values.items())
    return frame(SETTINGS, ACK if ack else 0, 0, payload)


def data(sid: int, payload: bytes, end: bool = False, pad: int = 0) -> bytes:
    flags = (END_STREAM if end else 0) | (PADDED if pad else 0)
    return frame(DATA, flags, sid, _pad(payload, pad))


def headers(
    sid: int,
    block: bytes,
    end: bool = False,
    end_headers: bool = True,
    pad: int = 0,
    priority: bool = False,
) -> bytes:
    flags = (END_STREAM if end else 0) | (END_HEADERS if end_headers else 0)
    body = block
    if priority:
        flags |= PRIORITY_FLAG
        body = struct.pack(">IB", 0x8000_0000 | 0, 15) + body
    if pad:
        flags |= PADDED
        body = _pad(body, pad)
    return frame(HEADERS, flags, sid, body)


def continuation(sid: int, block: bytes, end_headers: bool = True) -> bytes:
    return frame(CONTINUATION, END_HEADERS if end_headers else 0, sid, block)


def priority(sid: int, depends_on: int = 0, weight: int = 16) -> bytes:
    return frame(PRIORITY, 0, sid, struct.pack(">IB", depends_on, weight))


def rst_stream(sid: int, code: int = 8) -> bytes:
    return frame(RST_STREAM, 0, sid, struct.pack(">I", code))


def ping(ack: bool = False) -> bytes:
    return frame(PING, ACK if ack else 0, 0, b"\0" * 8)


def goaway(last_sid: int, code: int = 0) -> bytes:
    return frame(GOAWAY, 0, 0, struct.pack(">II", last_sid, code))


def window_update(sid: int, increment: int = 65535) -> bytes:
    return frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", increment))


def push_promise(sid: int, promised: int, block: bytes) -> bytes:
    return frame(PUSH_PROMISE, END_HEADERS, sid, struct.pack(">I", promised) + block)


# -- HPACK -----------------------------------------------------------------------------


@dataclass
class Hpack:
    """One encoder per direction, as a real connection has."""

    request: Encoder = field(default_factory=Encoder)
    response: Encoder = field(default_factory=Encoder)

    def req(self, pairs: Iterable[tuple[str, str] | tuple[str, str, bool]]) -> bytes:
        return self.request.encode(list(pairs))

    def resp(self, pairs: Iterable[tuple[str, str] | tuple[str, str, bool]]) -> bytes:
        return self.response.encode(list(pairs))


def literal_new_name(name: str, value: str, huffman_name: bool = False) -> bytes:
    """RFC 7541 6.2.2 literal without indexing, new name (index 0): a representation
    hpack's Encoder never picks for a name the static table holds."""

    def string(raw: bytes, huffman: bool) -> bytes:
        if huffman:
            raw = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH).encode(raw)
        assert len(raw) < 127  # one-byte length prefix (5.1) is all tests need
        return bytes([(0x80 if huffman else 0) | len(raw)]) + raw

    return b"\x00" + string(name.encode(), huffman_name) + string(value.encode(), False)


def grpc_request_headers(
    path: str, authority: str = "svc.example:50051", extra: Iterable[tuple[str, str]] = ()
) -> list[tuple[str, str]]:
    return [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", path),
        (":authority", authority),
        ("content-type", "application/grpc"),
        ("te", "trailers"),
        *extra,
    ]


GRPC_RESPONSE_HEADERS = [(":status", "200"), ("content-type", "application/grpc")]


def grpc_trailers(status: int = 0, message: str = "") -> list[tuple[str, str]]:
    out = [("grpc-status", str(status))]
    if message:
        out.append(("grpc-message", message))
    return out


# -- gRPC and protobuf -----------------------------------------------------------------


def grpc_message(payload: bytes, compressed: bool = False) -> bytes:
    return struct.pack(">BI", 1 if compressed else 0, len(payload)) + payload


def grpc_gzip_message(payload: bytes) -> bytes:
    return grpc_message(gzip.compress(payload, mtime=0), compressed=True)


def grpc_web_trailers(pairs: Iterable[tuple[str, str]]) -> bytes:
    block = b"".join(f"{k}: {v}\r\n".encode() for k, v in pairs)
    return struct.pack(">BI", 0x80, len(block)) + block


def varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def pb_varint(number: int, value: int) -> bytes:
    return varint(number << 3) + varint(value)


def pb_bytes(number: int, value: bytes | str) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return varint(number << 3 | 2) + varint(len(raw)) + raw


def pb_fixed32(number: int, value: int) -> bytes:
    return varint(number << 3 | 5) + struct.pack("<I", value)


def pb_fixed64(number: int, value: int) -> bytes:
    return varint(number << 3 | 1) + struct.pack("<Q", value)


def pb_packed(number: int, values: Iterable[int]) -> bytes:
    return pb_bytes(number, b"".join(varint(v) for v in values))


# -- a whole conversation --------------------------------------------------------------

CONTRACT_PATH = "/patients.PatientService/GetPatient"


def contract_conversation() -> list[tuple[Direction, bytes]]:
    """Prior-knowledge h2c: a unary gRPC call with a bearer token and an HTTP JSON GET
    interleaved on a second stream, ending with trailers and GOAWAY."""
    hp = Hpack()
    req = Direction.REQUEST
    resp = Direction.RESPONSE
    request_msg = pb_bytes(1, "P-000123") + pb_bytes(2, "jane.doe@example.com")
    response_msg = pb_bytes(1, "Jane Doe") + pb_bytes(4, "512-44-3187")
    return [
        (req, PREFACE + settings(max_frame_size=16384) + window_update(0)),
        (resp, settings(max_concurrent_streams=100) + settings(ack=True)),
        (
            req,
            settings(ack=True)
            + headers(
                1,
                hp.req(
                    grpc_request_headers(
                        CONTRACT_PATH, extra=[("authorization", "Bearer tok-synthetic-1")]
                    )
                ),
            )
            + headers(
                3,
                hp.req(
                    [
                        (":method", "GET"),
                        (":scheme", "http"),
                        (":path", "/v1/users/42?email=a%40example.com"),
                        (":authority", "svc.example"),
                        ("cookie", "sid=abc123"),
                    ]
                ),
                end=True,
            )
            + data(1, grpc_message(request_msg), end=True),
        ),
        (
            resp,
            headers(1, hp.resp(GRPC_RESPONSE_HEADERS))
            + headers(3, hp.resp([(":status", "200"), ("content-type", "application/json")]))
            + data(3, b'{"email": "jane.doe@example.com"}', end=True)
            + data(1, grpc_message(response_msg))
            + headers(1, hp.resp(grpc_trailers()), end=True)
            + goaway(3),
        ),
    ]


# -- real captures through tshark -------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    direction: Direction
    seq: int
    payload: bytes
    ts_ns: int


def tcp_segments(tshark: str, capture: Path, server_port: int) -> dict[int, list[Segment]]:
    """Per TCP stream index: the payload-bearing segments in capture order, with their
    relative sequence numbers (client = the side not on `server_port`)."""
    out = subprocess.run(
        [
            tshark,
            "-r",
            str(capture),
            "-o",
            "tcp.desegment_tcp_streams:FALSE",
            "-T",
            "fields",
            "-e",
            "tcp.stream",
            "-e",
            "tcp.srcport",
            "-e",
            "tcp.dstport",
            "-e",
            "tcp.seq",
            "-e",
            "tcp.payload",
            "-e",
            "frame.time_epoch",
            "-Y",
            f"tcp.port=={server_port} && tcp.len>0",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    streams: dict[int, list[Segment]] = {}
    for line in out.splitlines():
        cols = line.split("\t")
        if len(cols) < 6 or not cols[4]:
            continue
        sport = int(cols[1])
        direction = Direction.RESPONSE if sport == server_port else Direction.REQUEST
        ts = int(float(cols[5]) * 1e9)
        streams.setdefault(int(cols[0]), []).append(
            Segment(direction, int(cols[3]), bytes.fromhex(cols[4].replace(":", "")), ts)
        )
    return streams


def feed_segments(dissector: object, segments: list[Segment]) -> list[Event]:
    """Feed segments in capture order, dropping retransmits and reporting holes as gaps
    (a stand-in for the reassembly layer)."""
    expected: dict[Direction, int] = {}
    events: list[Event] = []
    last_ts = 0
    for seg in segments:
        exp = expected.get(seg.direction)
        payload = seg.payload
        if exp is not None:
            if seg.seq + len(payload) <= exp:
                continue
            if seg.seq < exp:
                payload = payload[exp - seg.seq :]
            elif seg.seq > exp:
                events += dissector.gap(seg.direction, seg.seq - exp)  # type: ignore[attr-defined]
        expected[seg.direction] = max(exp or 0, seg.seq + len(seg.payload))
        events += dissector.feed(seg.direction, payload, seg.ts_ns)  # type: ignore[attr-defined]
        last_ts = seg.ts_ns
    for direction in (Direction.REQUEST, Direction.RESPONSE):
        events += dissector.close(direction, last_ts)  # type: ignore[attr-defined]
    return events


def split_http1_upgrade(segments: list[Segment]) -> list[Segment]:
    """Drop the HTTP/1.1 `Upgrade: h2c` request and its `101` response heads, as the
    engine does before handing the rest to the HTTP/2 dissector."""
    out: list[Segment] = []
    heads_left = {Direction.REQUEST: True, Direction.RESPONSE: True}
    buffered: dict[Direction, bytes] = {Direction.REQUEST: b"", Direction.RESPONSE: b""}
    for seg in segments:
        if not heads_left[seg.direction]:
            out.append(seg)
            continue
        buffered[seg.direction] += seg.payload
        end = buffered[seg.direction].find(b"\r\n\r\n")
        if end < 0:
            continue
        heads_left[seg.direction] = False
        rest = buffered[seg.direction][end + 4 :]
        if rest:
            out.append(
                Segment(seg.direction, seg.seq + len(seg.payload) - len(rest), rest, seg.ts_ns)
            )
    return out
