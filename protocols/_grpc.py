"""gRPC message framing (gRPC over HTTP/2, "Length-Prefixed-Message"; gRPC-Web protocol).

Each message is `Compressed-Flag (1 byte) | Message-Length (4 bytes, big endian) |
Message`. gRPC-Web adds flag bit 0x80 for a trailers frame whose body is an HTTP/1-style
header block, and `application/grpc-web-text` carries the same bytes base64-encoded
(possibly as several padded base64 chunks). Compressed messages (flag bit 0x01) are
decoded per `grpc-encoding` by the shared bounded decompressor `protocols._decompress`
(gzip, deflate, snappy, zstd, identity): never more than `Limits.max_decompressed_bytes`
nor `Limits.max_compression_ratio` times the input.

A message is protobuf unless it is written in JSON (`json_document`): gRPC lets the
codec differ from the content type's `+json` suffix (grpc-java's JSON marshaller sends
JSON under plain `application/grpc`), and Wireshark's gRPC dissector offers the same
reading. A body whose first byte other than blanks is `{` or `[`, and which parses as one
JSON object or array, is JSON: those bytes are protobuf tags of wire type 3 (start group),
which proto3 never writes, and no real protobuf message is also a whole JSON document.

Not supported: gRPC-Web-text bodies whose base64 chunks are not each padded to a multiple
of four (servers write whole frames per chunk, so this does not occur in practice).
"""

from __future__ import annotations

import base64
import binascii
import re
import struct
from dataclasses import dataclass, field

import orjson

from protocols import _decompress
from protocols.base import Limits

PREFIX_LEN = 5
_PREFIX = struct.Struct(">BI")
FLAG_COMPRESSED = 0x01
FLAG_WEB_TRAILERS = 0x80
# Flag bits defined by gRPC and gRPC-Web; anything else means we are not at a boundary.
_KNOWN_FLAGS = FLAG_COMPRESSED | FLAG_WEB_TRAILERS
# Trailers of gRPC-Web are a small header block; bigger is not a trailers frame.
MAX_WEB_TRAILERS_BYTES = 64 * 1024


class GrpcError(Exception):
    """A gRPC frame that cannot be read; messages hold sizes and names, never content."""


@dataclass(frozen=True, slots=True, kw_only=True)
class GrpcFrame:
    compressed: bool
    trailers: bool  # gRPC-Web trailers frame (flag 0x80)
    data: bytes = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Skipped:
    """A message that was not kept: `reason` is an anomaly kind."""

    reason: str
    size: int


class Deframer:
    """Streaming deframer for one stream direction: DATA payloads in, messages out.

    A message longer than `max_message` is skipped by count, never buffered.
    """

    def __init__(self, max_message: int) -> None:
        self._max = max_message
        self._buf = bytearray()
        self._skip = 0
        self.in_sync = True

    def lose_sync(self) -> None:
        """Bytes of this stream were lost: the next DATA payload must start a message."""
        self._buf.clear()
        self._skip = 0
        self.in_sync = False

    @property
    def pending(self) -> int:
        return len(self._buf) + self._skip

    def feed(self, data: bytes) -> list[GrpcFrame | Skipped]:
        out: list[GrpcFrame | Skipped] = []
        if not self.in_sync:
            if not looks_like_grpc(data, self._max):
                out.append(Skipped(reason="grpc_resync", size=len(data)))
                return out
            self.in_sync = True
        pos = 0
        if self._skip:
            taken = min(self._skip, len(data))
            self._skip -= taken
            pos = taken
        self._buf += data[pos:]
        off = 0
        buf = self._buf
        while len(buf) - off >= PREFIX_LEN:
            flags, length = _PREFIX.unpack_from(buf, off)
            if flags & ~_KNOWN_FLAGS:
                # Not a message boundary: drop what is buffered and wait for a payload
                # that starts a message again.
                out.append(Skipped(reason="grpc_bad_frame", size=len(buf) - off))
                off = len(buf)
                self.in_sync = False
                break
            if length > self._max:
                out.append(Skipped(reason="body_too_large", size=length))
                available = len(buf) - off - PREFIX_LEN
                if available >= length:
                    off += PREFIX_LEN + length
                    continue
                self._skip = length - available
                off = len(buf)
                break
            stop = off + PREFIX_LEN + length
            if stop > len(buf):
                break
            out.append(
                GrpcFrame(
                    compressed=bool(flags & FLAG_COMPRESSED),
                    trailers=bool(flags & FLAG_WEB_TRAILERS),
                    data=bytes(buf[off + PREFIX_LEN : stop]),
                )
            )
            off = stop
        del buf[:off]
        return out


def looks_like_grpc(data: bytes, max_message: int = 1 << 24) -> bool:
    """Do these bytes start with gRPC length-prefixed messages? Used where the content
    type is unknown (mid-stream) and after lost bytes: every prefix in `data` must carry
    only the compressed flag and a length up to `max_message`; the last message may run
    past the end of `data` (it continues in the next DATA frame)."""
    if len(data) < PREFIX_LEN:
        return False
    off = 0
    while len(data) - off >= PREFIX_LEN:
        flags, length = _PREFIX.unpack_from(data, off)
        if flags & ~FLAG_COMPRESSED or length > max_message:
            return False
        off += PREFIX_LEN + length
    return True


# The start of a JSON document: JSON's own blanks (RFC 8259 section 2), then an object or
# array. A match, not `lstrip`: most protobuf messages start with 0x0A (field 1,
# length-delimited), a JSON blank, and stripping would copy the whole message.
_JSON_START = re.compile(rb"[ \t\r\n]*[\[{]")


def json_document(body: bytes) -> dict[str, object] | list[object] | None:
    """The JSON object or array a gRPC message is when it is written in JSON rather than
    protobuf (module docstring); None for a protobuf message, at the cost of one byte
    test. Bounded: a message is at most `max_body_bytes`, the deframer's bound."""
    if _JSON_START.match(body) is None:
        return None
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return document if isinstance(document, (dict, list)) else None


def deframe(data: bytes, limits: Limits) -> tuple[list[GrpcFrame], list[Skipped]]:
    """All messages of a complete body (gRPC-Web over HTTP/1.1, tests)."""
    deframer = Deframer(limits.max_body_bytes)
    frames: list[GrpcFrame] = []
    skipped: list[Skipped] = []
    for item in deframer.feed(data):
        (frames if isinstance(item, GrpcFrame) else skipped).append(item)  # type: ignore[arg-type]
    if deframer.pending:
        skipped.append(Skipped(reason="grpc_bad_frame", size=deframer.pending))
    return frames, skipped


def decode_web_text(data: bytes) -> bytes:
    """`application/grpc-web-text` body -> binary frames. Each write of the server is
    base64 on its own, so the body may be several padded chunks back to back."""
    out = bytearray()
    compact = b"".join(data.split())
    pos = 0
    while pos < len(compact):
        # A chunk ends after its padding; find the first '=' run end or the body end.
        pad = compact.find(b"=", pos)
        if pad < 0:
            stop = len(compact)
        else:
            stop = pad
            while stop < len(compact) and compact[stop] == 0x3D:
                stop += 1
        chunk = compact[pos:stop]
        try:
            out += base64.b64decode(chunk + b"=" * (-len(chunk) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise GrpcError(f"bad base64 chunk of {len(chunk)} bytes") from None
        pos = stop
    return bytes(out)


def decompress(data: bytes, encoding: str, limits: Limits) -> bytes:
    """Decompress one message per `grpc-encoding` (gzip, deflate, snappy, zstd, identity),
    bounded by `protocols._decompress`."""
    name = encoding.strip().lower()
    if name in ("", "identity"):
        return data
    try:
        return _decompress.decompress(data, name, limits)
    except _decompress.DecompressionError as err:
        raise GrpcError(f"{type(err).__name__} in a {len(data)}-byte message") from None


def sniff_compression(data: bytes) -> str:
    """The encoding of a compressed message whose `grpc-encoding` header was not seen."""
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if len(data) >= 2 and data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0:
        return "deflate"
    return ""


def parse_web_trailers(data: bytes) -> list[tuple[str, bytes]]:
    """A gRPC-Web trailers frame body: `name: value` lines (CRLF), names lower-cased."""
    if len(data) > MAX_WEB_TRAILERS_BYTES:
        raise GrpcError(f"trailers frame of {len(data)} bytes")
    out: list[tuple[str, bytes]] = []
    for line in data.split(b"\n"):
        line = line.rstrip(b"\r")
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise GrpcError(f"trailer line of {len(line)} bytes without a colon")
        out.append((name.strip().decode("latin-1").lower(), value.strip()))
    return out
