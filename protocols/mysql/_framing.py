"""Packets out of a side's bytes (PAGE_PROTOCOL_BASICS: 3-byte length, sequence id,
16 MB continuation; PAGE_PROTOCOL_COMPRESSION: zlib and zstd), and finding a client
command again mid-stream or after a gap (`plausible_command`, `compressed_command`)."""

from __future__ import annotations

from protocols._decompress import DecompressionBomb, DecompressionError, decompress
from protocols.base import (
    Anomaly,
    Direction,
    Event,
    Limits,
)
from protocols.mysql import _packets as wire
from protocols.mysql._connection import Connection, Packet, Side
from protocols.mysql._phases import (
    COM_FIELD_LIST,
    COM_INIT_DB,
    COM_QUERY,
    COM_STMT_EXECUTE,
    COM_STMT_PREPARE,
    PLAUSIBLE,
    Sync,
)

# Bytes of a truncated logical packet kept: enough for the command byte and ids.
TRUNCATED_HEAD = 64
# Leading bytes of an SQL text checked for plausibility when hunting for a command.
SQL_PROBE_CHARS = 16


def _printable_sql(data: bytes | bytearray, start: int, end: int) -> bool:
    """Does an SQL text start at `start`? Printable ASCII or whitespace, a letter, `(`,
    `/` (comment) or `{` (ODBC escape) first: statements begin with a keyword."""
    sample = bytes(data[start:end])
    stripped = sample.lstrip(b" \t\r\n")
    if not stripped:
        return len(sample) > 0
    first = stripped[:1]
    if not (first.isalpha() or first in (b"(", b"/", b"{", b"-", b"#")):
        return False
    return all(0x20 <= b < 0x7F or b in (9, 10, 13) for b in sample)


def plausible_command(data: bytes | bytearray, pos: int, max_size: int) -> bool | None:
    """Does a client command packet (sequence id 0) start at `pos`? None: need more bytes."""
    if len(data) - pos < 5:
        return None
    length = wire.u24(data, pos)
    if data[pos + 3] != 0:
        return False
    code = data[pos + 4]
    bounds = PLAUSIBLE.get(code)
    if bounds is None or length < bounds[0] or length > max_size:
        return False
    if bounds[1] is not None and length > bounds[1]:
        return False
    body = pos + 5
    if code in (COM_QUERY, COM_STMT_PREPARE):
        if length >= 3 and data[pos + 5 : pos + 7] == b"\x00\x01":
            body += 2  # CLIENT_QUERY_ATTRIBUTES: no attributes, one parameter set
        end = min(pos + 4 + length, body + SQL_PROBE_CHARS)
        if len(data) < end:
            return None
        return _printable_sql(data, body, end)
    if code in (COM_INIT_DB, COM_FIELD_LIST):
        end = min(pos + 4 + length, body + SQL_PROBE_CHARS)
        if len(data) < end:
            return None
        return all(0x20 < b < 0x7F or b == 0 for b in bytes(data[body:end]))
    if code == COM_STMT_EXECUTE:
        if len(data) < pos + 4 + wire.EXECUTE_HEAD:
            return None
        flags = data[pos + 9]
        iterations = bytes(data[pos + 10 : pos + 14])
        return flags < 0x10 and iterations == b"\x01\x00\x00\x00"
    return True


_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"  # RFC 8878 section 3.1.1


def compressed_command(data: bytes | bytearray, pos: int, limits: Limits) -> str | None:
    """Does a compressed-protocol packet holding a client command start at `pos`?
    Returns the coding ("zlib", "zstd", "none" for a packet sent uncompressed), "" for
    no, None when more bytes are needed to say."""
    if len(data) - pos < wire.HEADER:
        return None
    size = wire.u24(data, pos)
    if data[pos + 3] != 0 or size < 5 or size > limits.max_buffer_bytes:
        return ""
    if len(data) - pos < wire.COMPRESSED_HEADER + 5:
        return None
    head = wire.compressed_header(data, pos)
    inner = pos + wire.COMPRESSED_HEADER
    if head.uncompressed == 0:
        if wire.u24(data, inner) + wire.HEADER != head.size:
            return ""
        verdict = plausible_command(data, inner, head.size)
        return None if verdict is None else ("none" if verdict else "")
    if data[inner] == 0x78:  # zlib header (RFC 1950): deflate with a 32 KiB window
        coding = "zlib"
    elif bytes(data[inner : inner + 4]) == _ZSTD_MAGIC:
        coding = "zstd"
    else:
        return ""
    if len(data) < inner + head.size:
        return None
    try:
        plain = decompress(bytes(data[inner : inner + head.size]), coding, limits)
    except DecompressionError:
        return ""
    if len(plain) != head.uncompressed:
        return ""
    return coding if plausible_command(plain, 0, len(plain)) else ""




class PacketFraming(Connection):
    """Logical packets out of each side's bytes, compressed or not; hunting for a command."""

    def _fill_inner(self, side: Side, direction: Direction, events: list[Event]) -> None:
        """Decompress every complete compressed packet of `raw` into `inner`."""
        raw = side.raw
        while True:
            if side.skip_raw:
                used = min(side.skip_raw, len(raw))
                del raw[:used]
                side.skip_raw -= used
                if side.skip_raw:
                    return
            if len(raw) < wire.COMPRESSED_HEADER:
                return
            head = wire.compressed_header(raw, 0)
            if head.size > self.limits.max_buffer_bytes:
                events.append(Anomaly(kind="message_too_large", direction=direction))
                del raw[: wire.COMPRESSED_HEADER]
                side.skip_raw = head.size
                side.inner.clear()
                side.payload.clear()
                side.remaining = 0
                side.started = side.more = False
                side.sync = Sync.HUNTING
                continue
            end = wire.COMPRESSED_HEADER + head.size
            if len(raw) < end:
                return
            body = bytes(raw[wire.COMPRESSED_HEADER : end])
            del raw[:end]
            if head.uncompressed == 0:
                side.inner += body
                continue
            try:
                side.inner += decompress(body, self._compress or "zlib", self.limits)
            except DecompressionBomb:
                events.append(Anomaly(kind="decompression_limit", direction=direction))
                self._lose_inner(side, direction, events)
            except DecompressionError:
                events.append(Anomaly(kind="undecodable", direction=direction))
                self._lose_inner(side, direction, events)

    def _lose_inner(self, side: Side, direction: Direction, events: list[Event]) -> None:
        side.inner.clear()
        side.payload.clear()
        side.remaining = 0
        side.started = side.more = False
        side.sync = Sync.HUNTING
        if direction is Direction.RESPONSE:
            self._drop_replies(events)

    def _next_packet(self, side: Side, direction: Direction, events: list[Event]) -> Packet | None:
        """The next complete logical packet (continuations joined), or None for now."""
        if side.compressed:
            self._fill_inner(side, direction, events)
            buf = side.inner
        else:
            buf = side.raw
        limit = self.limits.max_buffer_bytes
        while True:
            if side.remaining:
                take = min(side.remaining, len(buf))
                if not take:
                    return None
                if not side.dropped:
                    room = limit - len(side.payload)
                    if take > room:
                        # Too large to hold: keep the head (command byte, ids), drop the rest.
                        side.dropped = True
                        events.append(Anomaly(kind="message_too_large", direction=direction))
                        del side.payload[TRUNCATED_HEAD:]
                    else:
                        side.payload += buf[:take]
                del buf[:take]
                side.remaining -= take
                if side.remaining:
                    return None
                if side.more:
                    continue
                return self._finish(side)
            if len(buf) < wire.HEADER:
                return None
            length = wire.u24(buf, 0)
            seq = buf[3]
            if not side.started:
                side.started = True
                side.seq = seq
                if length < wire.MAX_PAYLOAD and length <= limit and len(buf) >= wire.HEADER + length:
                    # The common case: one whole packet in the buffer.
                    payload = bytes(buf[wire.HEADER : wire.HEADER + length])
                    del buf[: wire.HEADER + length]
                    side.started = False
                    return Packet(seq=seq, payload=payload, truncated=False)
            del buf[: wire.HEADER]
            side.more = length == wire.MAX_PAYLOAD
            side.remaining = length
            if not length:
                return self._finish(side)

    @staticmethod
    def _finish(side: Side) -> Packet:
        packet = Packet(seq=side.seq, payload=bytes(side.payload), truncated=side.dropped)
        side.payload.clear()
        side.started = side.more = side.dropped = False
        return packet

    def _hunt_request(self, side: Side, events: list[Event]) -> bool:
        """Scan for a plausible command; drop what precedes it. Compressed packets are
        looked for once compression is known, or while it is unknown (mid-stream)."""
        raw = side.raw
        max_size = self.limits.max_buffer_bytes
        plain = not side.compressed
        squeezable = side.compressed or not self._login_seen
        pos = 0
        while True:
            verdict = plausible_command(raw, pos, max_size) if plain else False
            coding = compressed_command(raw, pos, self.limits) if squeezable else ""
            if verdict is None or coding is None:
                # Decide with both answers known, whatever the split of the bytes.
                del raw[:pos]
                return False
            if verdict or coding:
                if coding and not verdict:
                    for each in self._sides.values():
                        each.compressed = True
                    if coding != "none":
                        self._compress = coding
                    self._compress = self._compress or "zlib"
                del raw[:pos]
                side.sync = Sync.IN_SYNC
                events.append(Anomaly(kind="resync", direction=Direction.REQUEST))
                return True
            pos += 1
