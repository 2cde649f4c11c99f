"""WebSocket (RFC 6455) seen from the side, reached two ways, both read by one
`WebSocketParser`:
- after an HTTP/1.1 `101 Switching Protocols` with `Upgrade: websocket` (RFC 6455
  section 4): `protocols.http1` hands the connection over with the upgrade request's path
  template, its host and the negotiated `Sec-WebSocket-Extensions` (`Handoff.context`,
  given to `WebSocketDissector.takeover`);
- through an HTTP/2 extended CONNECT stream (RFC 8441): `protocols.http2` keeps one
  parser per such stream and feeds it that stream's DATA, each direction.

What it does, by RFC 6455 section:
- 5.2: base framing (FIN, RSV1-3, opcode, 7/16/64-bit payload length); 5.3: client
  masking, undone as the payload streams in (frames are never buffered whole);
- 5.4: fragmentation, continuation frames joined into one message, control frames
  allowed between fragments; 5.5: control frames (close, ping, pong) are skipped, and
  after a close frame the rest of that direction is ignored;
- 5.6: text (opcode 1) and binary (opcode 2) messages -> one `Message` each, read by
  `protocols.websocket._messages` (JSON, NDJSON, text; MessagePack, protobuf, printable runs);
- RFC 7692 (`permessage-deflate`): RSV1 marks a compressed message, inflated with the
  `00 00 ff ff` tail restored (7.2.2), one inflater per direction kept across messages
  (context takeover) unless `server_no_context_takeover` / `client_no_context_takeover`
  was negotiated; output bounded like every decompression (`protocols._decompress`'s
  budget). A message that cannot be inflated (bytes lost, a bomb) is counted; with
  context takeover the later compressed messages of that direction cannot be either
  (`websocket_deflate_context_lost`).

Messages (spec/inventory.md, "api, per protocol", WebSocket): protocol `http` (the
spec's protocol list has no `websocket`; the dissector is named `websocket`), api
`WS /path/template` plus the message's own type when it has one (`WS /v1/chat
message.send`), client-to-server `request`, server-to-client `response`, location `body`.
Without a hand-off context (tests) the api is `(unknown)` and RSV1 is taken as
permessage-deflate, the only extension in use that sets it.

The probe always says NO: WebSocket frames have no signature a passive observer can
trust mid-stream, so a connection is read as WebSocket only when its handshake was seen.

Not supported: extensions other than permessage-deflate (RSV2/RSV3 set is a protocol
error), resynchronising after lost bytes outside a payload (that direction stops).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any, ClassVar

from protocols._decompress import output_budget
from protocols.base import (
    Anomaly,
    Direction,
    Dissector,
    DissectorOptions,
    Event,
    Limits,
    Location,
    Message,
    Part,
    Probe,
    ProtocolError,
)
from protocols.websocket._messages import binary_parts, text_parts


class _State(Enum):
    HEADER = "header"  # reading a frame header (2 to 14 bytes)
    PAYLOAD = "payload"  # streaming a frame's payload
    DONE = "done"  # closed, after a close frame, or framing lost: bytes are ignored

    __hash__ = object.__hash__


_TRANSITIONS: dict[_State, frozenset[_State]] = {
    _State.HEADER: frozenset({_State.HEADER, _State.PAYLOAD, _State.DONE}),
    _State.PAYLOAD: frozenset({_State.HEADER, _State.DONE}),
    _State.DONE: frozenset(),
}


class Opcode:
    """RFC 6455 section 5.2 (11.8 registry)."""

    CONTINUATION = 0
    TEXT = 1
    BINARY = 2
    CLOSE = 8
    PING = 9
    PONG = 10


_DATA_OPCODES = frozenset({Opcode.TEXT, Opcode.BINARY})
_CONTROL_OPCODES = frozenset({Opcode.CLOSE, Opcode.PING, Opcode.PONG})
# Control frames carry at most 125 bytes (section 5.5).
MAX_CONTROL_PAYLOAD = 125
# What RFC 7692 section 7.2.1 strips from the end of every compressed message.
_DEFLATE_TAIL = b"\x00\x00\xff\xff"
# A 15-bit window inflater reads streams made with any smaller window (RFC 1951), so the
# negotiated `*_max_window_bits` need not be followed.
_WBITS = -zlib.MAX_WBITS
_UNKNOWN_API = "(unknown)"
_PROTOCOL = "http"  # the inventory's protocol column (spec/inventory.md lists no websocket)


def _unmask(data: bytes, key: bytes, offset: int) -> bytes:
    """XOR with the 4-byte masking key starting at `offset` (section 5.3), on whole
    integers: a per-byte loop is ~50x slower on large payloads."""
    size = len(data)
    if not size:
        return b""
    turn = offset & 3
    rotated = key[turn:] + key[:turn]
    stream = (rotated * (size // 4 + 1))[:size]
    mixed = int.from_bytes(data, "little") ^ int.from_bytes(stream, "little")
    return mixed.to_bytes(size, "little")


class _Msg:
    """A data message being assembled from its frames."""

    __slots__ = ("compressed", "cut", "held", "lost", "opcode", "pieces")

    def __init__(self, opcode: int, compressed: bool) -> None:
        self.opcode = opcode
        self.compressed = compressed
        self.pieces: list[bytes] = []
        self.held = 0
        self.cut = False  # over max_body_bytes: only the start is kept
        self.lost = False  # bytes lost (gap) or never came (close)


class _Side:
    __slots__ = (
        "broken",
        "control",
        "discard",
        "fin",
        "head",
        "inflater",
        "key",
        "mask_pos",
        "msg",
        "opcode",
        "remaining",
        "state",
        "takeover",
        "ts_ns",
    )

    def __init__(self) -> None:
        self.state = _State.HEADER
        self.head = bytearray()
        self.remaining = 0
        self.key = b""
        self.mask_pos = 0
        self.opcode = 0
        self.fin = False
        self.control = False
        self.discard = False  # this frame's payload is skipped (control, orphan)
        self.msg: _Msg | None = None
        self.inflater: Any = None
        self.takeover = True  # permessage-deflate context takeover (RFC 7692 section 7.1.1)
        self.broken = False  # the inflate context was lost: compressed messages cannot be read
        self.ts_ns = 0


def _open(side: _Side) -> bool:
    return side.state is not _State.DONE


def _header_size(head: bytes | bytearray) -> int:
    length = head[1] & 0x7F
    size = 2 + (2 if length == 126 else 8 if length == 127 else 0)
    return size + (4 if head[1] & 0x80 else 0)


def parse_extensions(value: str) -> tuple[bool, bool, bool]:
    """`Sec-WebSocket-Extensions` of the 101 -> (permessage-deflate agreed, client context
    takeover, server context takeover) (RFC 7692 section 7.1)."""
    for offer in value.split(","):
        name, *params = (p.strip().lower() for p in offer.split(";"))
        if name != "permessage-deflate":
            continue
        names = {p.split("=", 1)[0].strip() for p in params}
        return (
            True,
            "client_no_context_takeover" not in names,
            "server_no_context_takeover" not in names,
        )
    return False, True, True


class WebSocketParser:
    """Both directions of one WebSocket conversation, each framed independently: the
    one parser behind the HTTP/1.1 hand-off (`WebSocketDissector`) and the HTTP/2
    extended CONNECT streams of RFC 8441 (`protocols.http2` feeds it a stream's DATA)."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self._sides = {d: _Side() for d in Direction}
        self._path = ""
        self._host = ""
        # None: the handshake was not seen, RSV1 is taken as permessage-deflate.
        self._deflate: bool | None = None

    def configure(self, path: str, host: str) -> None:
        """The handshake request's path template and host (the messages' api and host)."""
        self._path = path
        self._host = host

    def negotiate(self, extensions: str) -> None:
        """The handshake response's `Sec-WebSocket-Extensions` (RFC 7692 section 7.1)."""
        deflate, client_takeover, server_takeover = parse_extensions(extensions)
        self._deflate = deflate
        self._sides[Direction.REQUEST].takeover = client_takeover
        self._sides[Direction.RESPONSE].takeover = server_takeover

    def is_open(self, direction: Direction) -> bool:
        return _open(self._sides[direction])

    def stop(self, direction: Direction) -> None:
        """Nothing more of this direction is read (its framing cannot be trusted)."""
        side = self._sides[direction]
        side.msg = None
        side.head = bytearray()
        if side.state is not _State.DONE:
            self._move(side, _State.DONE)

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        if side.state is _State.DONE or not data:
            return []
        side.ts_ns = ts_ns
        events: list[Event] = []
        view = memoryview(data)
        pos = 0
        size = len(data)
        # Each step may end the direction (a close frame): the state is read afresh.
        while pos < size and _open(side):
            if side.state is _State.HEADER:
                pos = self._read_header(direction, side, view, pos, events)
            else:
                pos = self._read_payload(direction, side, view, pos, events)
        return events

    def gap(self, direction: Direction, size: int) -> list[Event]:
        side = self._sides[direction]
        if side.state is _State.DONE or size <= 0:
            return []
        events: list[Event] = [Anomaly(kind="gap", direction=direction)]
        msg = side.msg
        if side.state is _State.PAYLOAD and size <= side.remaining:
            # Lost bytes inside one payload: the framing holds, the message has a hole.
            side.remaining -= size
            side.mask_pos += size
            if msg is not None and not side.discard:
                msg.lost = True
                msg.cut = True
                if msg.compressed and side.takeover:
                    side.broken = True
            if side.remaining == 0:
                self._end_frame(direction, side, events)
            return events
        # The framing is lost with the bytes: what was assembled is emitted, then stop.
        if msg is not None:
            msg.lost = True
            self._emit(direction, side, events)
        self._move(side, _State.DONE)
        return events

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        if side.state is _State.DONE:
            return []
        side.ts_ns = ts_ns
        events: list[Event] = []
        if side.msg is not None:
            side.msg.lost = True
            self._emit(direction, side, events)
        self._move(side, _State.DONE)
        side.head = bytearray()
        return events

    def held_bytes(self, direction: Direction | None = None) -> int:
        """Bytes held (partial headers and messages), of one direction or both."""
        held = 0
        for d, side in self._sides.items():
            if direction is not None and d is not direction:
                continue
            held += len(side.head)
            if side.msg is not None:
                held += side.msg.held
        return held

    # -- framing -----------------------------------------------------------------------

    @staticmethod
    def _move(side: _Side, new: _State) -> None:
        if new not in _TRANSITIONS[side.state]:
            raise AssertionError(f"websocket: no transition {side.state.value} -> {new.value}")
        side.state = new

    def _read_header(
        self, direction: Direction, side: _Side, view: memoryview, pos: int, events: list[Event]
    ) -> int:
        head = side.head
        if len(head) < 2:
            take = min(2 - len(head), len(view) - pos)
            head += view[pos : pos + take]
            pos += take
            if len(head) < 2:
                return pos
        need = _header_size(head)
        if len(head) < need:
            take = min(need - len(head), len(view) - pos)
            head += view[pos : pos + take]
            pos += take
            if len(head) < need:
                return pos
        self._begin_frame(direction, side, bytes(head), events)
        side.head = bytearray()
        return pos

    def _begin_frame(
        self, direction: Direction, side: _Side, head: bytes, events: list[Event]
    ) -> None:
        first, second = head[0], head[1]
        fin = bool(first & 0x80)
        rsv1 = bool(first & 0x40)
        opcode = first & 0x0F
        if first & 0x30:
            raise ProtocolError("websocket: RSV2/RSV3 set with no extension that defines them")
        length = second & 0x7F
        at = 2
        if length == 126:
            length = int.from_bytes(head[2:4], "big")
            at = 4
        elif length == 127:
            length = int.from_bytes(head[2:10], "big")
            at = 10
            if length >> 63:
                raise ProtocolError("websocket: 64-bit payload length with its high bit set")
        side.key = head[at : at + 4] if second & 0x80 else b""
        side.mask_pos = 0
        side.remaining = length
        side.opcode = opcode
        side.fin = fin
        side.control = opcode in _CONTROL_OPCODES
        side.discard = False
        if side.control:
            if length > MAX_CONTROL_PAYLOAD or not fin or rsv1:
                raise ProtocolError(
                    f"websocket: control frame of {length} bytes, fragmented or RSV1"
                )
            side.discard = True
        elif opcode in _DATA_OPCODES:
            if rsv1 and self._deflate is False:
                raise ProtocolError("websocket: RSV1 set without permessage-deflate")
            if side.msg is not None:
                # A new message before the last one ended: the last one is cut there.
                events.append(Anomaly(kind="websocket_unfinished_message", direction=direction))
                side.msg.lost = True
                self._emit(direction, side, events)
            side.msg = _Msg(opcode, rsv1)
        elif opcode == Opcode.CONTINUATION:
            if rsv1:
                raise ProtocolError("websocket: RSV1 set on a continuation frame")
            if side.msg is None:
                # The message began before the capture (or a gap): its rest is skipped.
                events.append(Anomaly(kind="websocket_orphan_continuation", direction=direction))
                side.discard = True
        else:
            raise ProtocolError(f"websocket: reserved opcode {opcode}")
        self._move(side, _State.PAYLOAD)
        if length == 0:
            self._end_frame(direction, side, events)

    def _read_payload(
        self, direction: Direction, side: _Side, view: memoryview, pos: int, events: list[Event]
    ) -> int:
        count = min(side.remaining, len(view) - pos)
        msg = side.msg
        if not side.discard and msg is not None and not msg.cut:
            keep = min(count, self.limits.max_body_bytes - msg.held)
            if keep > 0:
                chunk = bytes(view[pos : pos + keep])
                if side.key:
                    chunk = _unmask(chunk, side.key, side.mask_pos)
                msg.pieces.append(chunk)
                msg.held += keep
            if keep < count:
                # Over max_body_bytes: the start is kept, the rest counted past.
                msg.cut = True
                events.append(Anomaly(kind="body_too_large", direction=direction))
                if msg.compressed and side.takeover:
                    side.broken = True
        side.mask_pos += count
        side.remaining -= count
        pos += count
        if side.remaining == 0:
            self._end_frame(direction, side, events)
        return pos

    def _end_frame(self, direction: Direction, side: _Side, events: list[Event]) -> None:
        self._move(side, _State.HEADER)
        if side.opcode == Opcode.CLOSE:
            # Section 5.5.1: nothing follows a close frame in its direction.
            if side.msg is not None:
                side.msg.lost = True
                self._emit(direction, side, events)
            self._move(side, _State.DONE)
            return
        if side.control or not side.fin:
            return
        if side.msg is not None:
            self._emit(direction, side, events)

    # -- messages ----------------------------------------------------------------------

    def _emit(self, direction: Direction, side: _Side, events: list[Event]) -> None:
        msg = side.msg
        side.msg = None
        if msg is None:
            return
        payload = b"".join(msg.pieces)
        msg.pieces = []
        msg.held = 0
        if msg.compressed:
            inflated = self._inflate(direction, side, payload, msg, events)
            if inflated is None:
                return
            payload = inflated
        if msg.opcode == Opcode.TEXT:
            parts, kind = text_parts(payload)
        else:
            parts, kind = binary_parts(payload, self.limits)
        events.append(self._message(direction, side, parts, kind, msg.cut or msg.lost))
        if msg.lost:
            events.append(Anomaly(kind="incomplete_message", direction=direction))

    def _message(
        self, direction: Direction, side: _Side, parts: list[Part], kind: str, incomplete: bool
    ) -> Message:
        if self._path:
            api = f"WS {self._path} {kind}" if kind else f"WS {self._path}"
        else:
            api = _UNKNOWN_API
        return Message(
            protocol=_PROTOCOL,
            direction=direction,
            api=api,
            host=self._host,
            ts_ns=side.ts_ns,
            parts=tuple(parts),
            incomplete=incomplete,
        )

    def _inflate(
        self, direction: Direction, side: _Side, payload: bytes, msg: _Msg, events: list[Event]
    ) -> bytes | None:
        """RFC 7692 section 7.2.2, bounded; None (counted) when it cannot be read."""
        if side.broken and side.takeover and not msg.cut:
            events.append(Anomaly(kind="websocket_deflate_context_lost", direction=direction))
            return None
        if side.inflater is None or not side.takeover or side.inflater.eof:
            side.inflater = zlib.decompressobj(_WBITS)
        inflater = side.inflater
        # A cut message is read as far as it goes; a whole one gets its tail back.
        pending = payload if msg.cut else payload + _DEFLATE_TAIL
        budget = output_budget(len(payload), self.limits)
        try:
            # max_length one past the budget: a longer output is a bomb, a shorter one
            # means every input byte was used (or the stream ended).
            inflated: bytes = inflater.decompress(pending, budget + 1)
        except zlib.error:
            events.append(Anomaly(kind="bad_encoding", direction=direction))
            side.broken = side.broken or side.takeover
            side.inflater = None
            return None
        if len(inflated) > budget:
            events.append(Anomaly(kind="decompression_bomb", direction=direction))
            side.broken = side.broken or side.takeover
            side.inflater = None
            return None
        return inflated


class WebSocketDissector(Dissector):
    """One connection upgraded by HTTP/1.1: a `WebSocketParser` fed the whole stream."""

    name: ClassVar[str] = "websocket"
    ports: ClassVar[frozenset[int]] = frozenset()

    def __init__(
        self, limits: Limits | None = None, options: DissectorOptions | None = None
    ) -> None:
        super().__init__(limits, options)
        self._parser = WebSocketParser(self.limits)

    def takeover(self, context: Mapping[str, str]) -> None:
        """What the upgrade handshake said: `path` (templated), `host`, `extensions`."""
        self._parser.configure(context.get("path", ""), context.get("host", ""))
        self._parser.negotiate(context.get("extensions", ""))

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        return Probe.NO

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        return self._parser.feed(direction, data, ts_ns)

    def gap(self, direction: Direction, size: int) -> list[Event]:
        return self._parser.gap(direction, size)

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        return self._parser.close(direction, ts_ns)

    def held_bytes(self) -> int:
        return self._parser.held_bytes()


def upgrade_context(api: str, host: str, response_parts: Sequence[Part]) -> dict[str, str]:
    """The `Handoff.context` of an HTTP/1.1 upgrade to WebSocket: the request's path
    template (from its `GET /path` api), its host and the 101's negotiated extensions."""
    method, _, path = api.partition(" ")
    extensions = ", ".join(
        p.data.decode("latin-1")
        for p in response_parts
        if p.location is Location.HEADER and p.name == "sec-websocket-extensions"
    )
    return {"path": path if method and path else "", "host": host, "extensions": extensions}
