"""HTTP/2 frame layout (RFC 9113 section 4.1 and section 6): headers, flags, padding and
priority fields, and the plausibility test used to find a frame boundary.

Pure functions on bytes; the connection logic lives in `protocols.http2`. Not supported
here on purpose: flow control accounting (a passive observer has nothing to enforce) and
extension frames beyond RFC 9113 (they are skipped by length, as section 4.1 requires).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

# RFC 9113 section 3.4: the client connection preface.
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FRAME_HEADER_LEN = 9
# RFC 9113 section 4.2: SETTINGS_MAX_FRAME_SIZE starts at 2^14 and may grow to 2^24-1.
DEFAULT_MAX_FRAME_SIZE = 16_384
ABSOLUTE_MAX_FRAME_SIZE = 16_777_215
# RFC 9113 section 5.1.1: stream identifiers are 31 bits.
STREAM_ID_MASK = 0x7FFF_FFFF

# length (24 bits) is read as a 32-bit word with the type byte, then split.
_HEADER = struct.Struct(">IBI")


class FrameType(IntEnum):
    """RFC 9113 section 6 frame types."""

    DATA = 0x0
    HEADERS = 0x1
    PRIORITY = 0x2
    RST_STREAM = 0x3
    SETTINGS = 0x4
    PUSH_PROMISE = 0x5
    PING = 0x6
    GOAWAY = 0x7
    WINDOW_UPDATE = 0x8
    CONTINUATION = 0x9


KNOWN_TYPES = frozenset(int(t) for t in FrameType)

# Flags (RFC 9113 section 6).
FLAG_END_STREAM = 0x1
FLAG_ACK = 0x1
FLAG_END_HEADERS = 0x4
FLAG_PADDED = 0x8
FLAG_PRIORITY = 0x20

# Which frames live on stream 0 (connection) and which on a stream: used both to reject
# malformed frames and to judge whether bytes are a frame header when resyncing.
_CONNECTION_TYPES = frozenset({FrameType.SETTINGS, FrameType.PING, FrameType.GOAWAY})
_STREAM_TYPES = frozenset(
    {
        FrameType.DATA,
        FrameType.HEADERS,
        FrameType.PRIORITY,
        FrameType.RST_STREAM,
        FrameType.PUSH_PROMISE,
        FrameType.CONTINUATION,
    }
)
# Flags each type defines; a frame with other bits set is still legal (unknown flags are
# ignored, section 4.1) but counts against plausibility when hunting for a boundary.
_DEFINED_FLAGS = {
    FrameType.DATA: FLAG_END_STREAM | FLAG_PADDED,
    FrameType.HEADERS: FLAG_END_STREAM | FLAG_END_HEADERS | FLAG_PADDED | FLAG_PRIORITY,
    FrameType.PRIORITY: 0,
    FrameType.RST_STREAM: 0,
    FrameType.SETTINGS: FLAG_ACK,
    FrameType.PUSH_PROMISE: FLAG_END_HEADERS | FLAG_PADDED,
    FrameType.PING: FLAG_ACK,
    FrameType.GOAWAY: 0,
    FrameType.WINDOW_UPDATE: 0,
    FrameType.CONTINUATION: FLAG_END_HEADERS,
}
# Fixed payload sizes (sections 6.3, 6.4, 6.7, 6.9).
_FIXED_LENGTH = {
    FrameType.PRIORITY: 5,
    FrameType.RST_STREAM: 4,
    FrameType.PING: 8,
    FrameType.WINDOW_UPDATE: 4,
}


class FrameError(Exception):
    """A frame whose fields contradict each other; the message holds sizes only."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FrameHeader:
    length: int
    type: int
    flags: int
    stream_id: int


def parse_header(buf: bytes | bytearray | memoryview, offset: int) -> FrameHeader:
    """The 9-byte frame header at `offset` (caller checked that 9 bytes are there)."""
    word, flags, sid = _HEADER.unpack_from(buf, offset)
    return FrameHeader(
        length=word >> 8, type=word & 0xFF, flags=flags, stream_id=sid & STREAM_ID_MASK
    )


def encode_header(length: int, ftype: int, flags: int, stream_id: int) -> bytes:
    return _HEADER.pack((length << 8) | ftype, flags, stream_id)


def plausible(header: FrameHeader, max_frame_size: int, strict: bool) -> bool:
    """Could `header` be a real frame header? `strict` (used when hunting for a boundary
    in bytes of unknown alignment) also requires a known type and only defined flags."""
    if header.length > max_frame_size:
        return False
    if header.type not in KNOWN_TYPES:
        return not strict
    ftype = FrameType(header.type)
    if ftype in _CONNECTION_TYPES and header.stream_id != 0:
        return False
    if ftype in _STREAM_TYPES and header.stream_id == 0:
        return False
    fixed = _FIXED_LENGTH.get(ftype)
    if fixed is not None and header.length != fixed:
        return False
    if ftype is FrameType.SETTINGS and header.length % 6:
        return False
    return not (strict and header.flags & ~_DEFINED_FLAGS[ftype])


def strip_padding(payload: bytes, flags: int) -> bytes:
    """Payload without the Pad Length byte and padding (section 6.1 / 6.2)."""
    if not flags & FLAG_PADDED:
        return payload
    if not payload:
        raise FrameError("padded frame without pad length")
    pad = payload[0]
    if pad >= len(payload):
        raise FrameError(f"pad length {pad} exceeds payload of {len(payload)} bytes")
    return payload[1 : len(payload) - pad]


def headers_fragment(payload: bytes, flags: int) -> bytes:
    """The header block fragment of a HEADERS frame (padding and priority removed)."""
    body = strip_padding(payload, flags)
    if flags & FLAG_PRIORITY:
        if len(body) < 5:
            raise FrameError(f"priority fields need 5 bytes, frame has {len(body)}")
        body = body[5:]
    return body


def push_promise_fragment(payload: bytes, flags: int) -> tuple[int, bytes]:
    """(promised stream id, header block fragment) of a PUSH_PROMISE (section 6.6)."""
    body = strip_padding(payload, flags)
    if len(body) < 4:
        raise FrameError(f"push promise needs 4 bytes, frame has {len(body)}")
    return int.from_bytes(body[:4], "big") & STREAM_ID_MASK, body[4:]


_SETTING = struct.Struct(">HI")
SETTINGS_HEADER_TABLE_SIZE = 0x1
SETTINGS_MAX_FRAME_SIZE = 0x5


def parse_settings(payload: bytes) -> dict[int, int]:
    """Identifier -> value of a SETTINGS payload (section 6.5.1); later ones win."""
    return {
        ident: value
        for ident, value in (
            _SETTING.unpack_from(payload, pos) for pos in range(0, len(payload) - 5, 6)
        )
    }
