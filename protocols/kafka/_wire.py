"""Primitive readers of the Kafka wire protocol, for passive and lenient parsing.

Spec: the Kafka protocol guide (kafka.apache.org/protocol), sections "Protocol Primitive
Types" (INT8..INT64, UNSIGNED_VARINT, VARINT/VARLONG zigzag, (COMPACT_)(NULLABLE_)STRING
and BYTES, UUID, (COMPACT_)ARRAY) and "Headers"; KIP-482 for tagged fields (flexible
versions).

Why hand-written rather than kafka-python 3.x's protocol classes: those are compiled
from the JSON schemas to build and decode whole messages of versions the client knows.
For passive parsing we need to read the few fields we care about of every version ever
seen on the wire (Produce v0-v2 and Fetch v0-v3 are outside their JSON "validVersions"),
skip the rest, bound every count by the bytes actually present (a mutated array count of
2**31 must not loop or allocate) and raise one exception type that carries no payload.
Their decoder gives none of these guarantees, and the project keeps kafka-python in
`_records.py` only.

Every read is bounds-checked against `end`; a short read raises `WireError` (a
`ProtocolError`) naming the offset, never the bytes.
"""

from __future__ import annotations

import struct
import uuid

from protocols.base import ProtocolError

_I8 = struct.Struct(">b")
_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")
_U32 = struct.Struct(">I")
_I64 = struct.Struct(">q")

# A varint is at most 5 bytes for 32 bits and 10 for 64 bits; longer is corruption.
MAX_VARINT_BYTES = 5
MAX_VARLONG_BYTES = 10


class WireError(ProtocolError):
    """Bytes that do not follow the primitive types (offset and size only)."""


class Reader:
    """A cursor over a bytes-like buffer: reads advance `pos`, never past `end`."""

    __slots__ = ("buf", "end", "pos")

    def __init__(self, buf: bytes | bytearray | memoryview, pos: int = 0, end: int = -1) -> None:
        self.buf = buf
        self.pos = pos
        self.end = len(buf) if end < 0 else end

    @property
    def remaining(self) -> int:
        return self.end - self.pos

    def _need(self, size: int) -> int:
        pos = self.pos
        if size < 0 or pos + size > self.end:
            raise WireError(f"short read: need {size} bytes at offset {pos}, have {self.end - pos}")
        self.pos = pos + size
        return pos

    def int8(self) -> int:
        return int(_I8.unpack_from(self.buf, self._need(1))[0])

    def int16(self) -> int:
        return int(_I16.unpack_from(self.buf, self._need(2))[0])

    def int32(self) -> int:
        return int(_I32.unpack_from(self.buf, self._need(4))[0])

    def uint32(self) -> int:
        return int(_U32.unpack_from(self.buf, self._need(4))[0])

    def int64(self) -> int:
        return int(_I64.unpack_from(self.buf, self._need(8))[0])

    def skip(self, size: int) -> None:
        self._need(size)

    def raw(self, size: int) -> bytes:
        start = self._need(size)
        return bytes(self.buf[start : start + size])

    def uvarint(self, max_bytes: int = MAX_VARINT_BYTES) -> int:
        """UNSIGNED_VARINT (protobuf base-128, little-endian groups)."""
        result = 0
        shift = 0
        buf = self.buf
        for _ in range(max_bytes):
            pos = self._need(1)
            byte = buf[pos]
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return result
            shift += 7
        raise WireError(f"varint longer than {max_bytes} bytes at offset {self.pos}")

    def varint(self) -> int:
        """VARINT: zigzag-encoded signed 32-bit."""
        raw = self.uvarint(MAX_VARINT_BYTES)
        return (raw >> 1) ^ -(raw & 1)

    def varlong(self) -> int:
        """VARLONG: zigzag-encoded signed 64-bit."""
        raw = self.uvarint(MAX_VARLONG_BYTES)
        return (raw >> 1) ^ -(raw & 1)

    def uuid(self) -> str:
        return str(uuid.UUID(bytes=self.raw(16)))

    # -- strings and bytes ---------------------------------------------------------

    def _text(self, size: int) -> str:
        start = self._need(size)
        # Names on the wire should be UTF-8; a broken one must not stop the flow.
        return bytes(self.buf[start : start + size]).decode("utf-8", "replace")

    def string(self, compact: bool) -> str | None:
        """(COMPACT_)NULLABLE_STRING; also reads non-nullable STRING (never -1 there)."""
        if compact:
            size = self.uvarint() - 1
        else:
            size = self.int16()
        if size < 0:
            if size == -1:
                return None
            raise WireError(f"negative string length at offset {self.pos}")
        return self._text(size)

    def bytes_span(self, compact: bool) -> tuple[int, int] | None:
        """(COMPACT_)NULLABLE_BYTES or RECORDS as a (start, end) span, without copying."""
        if compact:
            size = self.uvarint() - 1
        else:
            size = self.int32()
        if size < 0:
            if size == -1:
                return None
            raise WireError(f"negative bytes length at offset {self.pos}")
        start = self._need(size)
        return start, start + size

    def skip_bytes(self, compact: bool) -> None:
        self.bytes_span(compact)

    def array_len(self, compact: bool, min_item_size: int = 1) -> int:
        """(COMPACT_)ARRAY count; -1 (null) reads as 0. Bounded by the bytes left."""
        count = self.uvarint() - 1 if compact else self.int32()
        if count < 0:
            if count == -1:
                return 0
            raise WireError(f"negative array length at offset {self.pos}")
        # Each element takes at least `min_item_size` bytes: a larger count is a lie
        # that would otherwise drive a long loop over nothing.
        if count * max(1, min_item_size) > self.remaining:
            raise WireError(f"array of {count} items at offset {self.pos} exceeds the message")
        return count

    def tagged_fields(self) -> dict[int, tuple[int, int]]:
        """KIP-482 tagged fields: returns tag -> (start, end) spans of their data."""
        count = self.uvarint()
        if count > self.remaining:
            raise WireError(f"{count} tagged fields at offset {self.pos} exceed the message")
        found: dict[int, tuple[int, int]] = {}
        for _ in range(count):
            tag = self.uvarint()
            size = self.uvarint()
            start = self._need(size)
            found[tag] = (start, start + size)
        return found

    def skip_tagged_fields(self) -> None:
        count = self.uvarint()
        if count > self.remaining:
            raise WireError(f"{count} tagged fields at offset {self.pos} exceed the message")
        for _ in range(count):
            self.uvarint()
            self._need(self.uvarint())
