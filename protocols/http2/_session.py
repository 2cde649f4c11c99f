"""The HTTP/2 dissector's work on one connection (`protocols.http2.http2` is the
protocol's documentation and its registry face): framing, streams, HPACK, gRPC, messages.

Imported when the first connection of a scan is HTTP/2 (`Http2Dissector.__init__`): the
registry imports `http2.py` and runs its probe on every connection of every scan, and
this module (its stream and frame state, HPACK through `_hpack`) is most of the
protocol's import.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from enum import Enum

from protocols import _decompress, _grpc
from protocols._http_headers import content_codings, cookie_parts, media_type_for_body
from protocols.base import (
    Anomaly,
    Direction,
    DissectorOptions,
    Event,
    FactKind,
    Learned,
    Limits,
    Location,
    MediaType,
    Message,
    Part,
    ProtocolError,
)
from protocols.graphql import GraphQLTracker
from protocols.http2 import _frames as _h2_frames
from protocols.http2._frames import (
    FLAG_END_HEADERS,
    FLAG_END_STREAM,
    FRAME_HEADER_LEN,
    PREFACE,
    FrameError,
    FrameHeader,
    FrameType,
)
from protocols.http2._hpack import Header, HeaderDecoder
from protocols.http_api import http_api
from protocols.websocket import WebSocketParser


class SideState(Enum):
    """Framing state of one direction."""

    START = "start"  # nothing parsed yet: preface, first frame or garbage
    FRAMES = "frames"  # aligned on frame boundaries
    RESYNC = "resync"  # looking for a frame boundary after a gap or a bad header


class SideEvent(Enum):
    PREFACE = "preface"
    FRAME = "frame"
    BAD_HEADER = "bad_header"
    GAP = "gap"
    FOUND = "found"


TRANSITIONS: dict[tuple[SideState, SideEvent], SideState] = {
    (SideState.START, SideEvent.PREFACE): SideState.FRAMES,
    (SideState.START, SideEvent.FRAME): SideState.FRAMES,
    (SideState.START, SideEvent.BAD_HEADER): SideState.RESYNC,
    (SideState.START, SideEvent.GAP): SideState.RESYNC,
    (SideState.FRAMES, SideEvent.FRAME): SideState.FRAMES,
    (SideState.FRAMES, SideEvent.BAD_HEADER): SideState.RESYNC,
    (SideState.FRAMES, SideEvent.GAP): SideState.RESYNC,
    (SideState.RESYNC, SideEvent.GAP): SideState.RESYNC,
    (SideState.RESYNC, SideEvent.FOUND): SideState.FRAMES,
}


class StreamKind(Enum):
    UNDECIDED = "undecided"
    GRPC = "grpc"
    GRPC_WEB_TEXT = "grpc_web_text"
    HTTP = "http"
    WEBSOCKET = "websocket"  # RFC 8441 extended CONNECT with `:protocol websocket`


UNKNOWN_API = "(unknown)"
# Bytes lost in a gap whose size within a stream is unknown: past any WebSocket frame,
# so that the stream's WebSocket direction stops rather than reads misaligned bytes.
_FRAMING_LOST = 1 << 62
# Bytes skipped while hunting for a frame boundary before the flow is declared not
# HTTP/2: a real connection has a frame header at least every 16 KiB (default max frame
# size), so 256 KiB without one means the bytes are something else.
MAX_RESYNC_BYTES = 256 * 1024
# gRPC paths of server reflection (grpc/reflection/v1 and v1alpha reflection.proto).
REFLECTION_PATHS = frozenset(
    {
        "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
        "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
    }
)
# Headers that carry the gRPC transport itself (gRPC over HTTP/2 spec): never data.
# Frame types that may anchor a resync on their own when their stream is known.
_RESYNC_ANCHORS = frozenset({FrameType.DATA, FrameType.HEADERS})
_GRPC_TRANSPORT_HEADERS = frozenset(
    {
        "content-type",
        "content-length",
        "te",
        "user-agent",
        "grpc-encoding",
        "grpc-accept-encoding",
        "accept-encoding",
        "grpc-timeout",
        "grpc-status",
        "date",
    }
)


@dataclass(slots=True)
class _Half:
    """One direction of one stream."""

    headers: tuple[Header, ...] | None = None
    trailers: list[Header] = field(default_factory=list)
    headers_emitted: bool = False
    body: bytearray = field(default_factory=bytearray)
    body_dropped: bool = False  # not emitted (a compressed body cut by a limit or a gap)
    # `body` holds only the start of the body (over the limit, lost bytes, never ended):
    # nothing more is added and the message is emitted as `incomplete`.
    body_cut: bool = False
    # Bytes of this half were lost (gap) or never came (closed or reset before
    # END_STREAM): emitted as `incomplete` with an `incomplete_message` anomaly.
    lost: bool = False
    held: int = 0  # bytes counted in the dissector's `_held` for this half
    deframer: _grpc.Deframer | None = None
    emitted: bool = False
    ended: bool = False
    # The header block was emitted when it came (a WebSocket handshake, RFC 8441): at
    # the end of the half only a body or trailers would give another message.
    handshake_sent: bool = False


@dataclass(slots=True)
class _Stream:
    sid: int
    method: str = ""
    path: str = ""
    authority: str = ""
    kind: StreamKind = StreamKind.UNDECIDED
    pushed: bool = False
    # RFC 8441: the stream carries WebSocket frames in its DATA, both ways.
    websocket: WebSocketParser | None = None
    halves: dict[Direction, _Half] = field(
        default_factory=lambda: {Direction.REQUEST: _Half(), Direction.RESPONSE: _Half()}
    )

    def content_type(self, direction: Direction) -> str:
        for d in (direction, direction.opposite):
            ct = _header(self.halves[d].headers, "content-type")
            if ct:
                return _text(ct)
        return ""


@dataclass(slots=True)
class _PendingBlock:
    """A header block awaiting CONTINUATION frames."""

    sid: int
    ftype: FrameType
    end_stream: bool
    promised: int
    fragments: bytearray


@dataclass(slots=True)
class _Side:
    state: SideState = SideState.START
    buf: bytearray = field(default_factory=bytearray)
    decoder: HeaderDecoder = field(default_factory=HeaderDecoder)
    # Frames this side sends are bounded by the peer's SETTINGS_MAX_FRAME_SIZE.
    max_frame_size: int = _h2_frames.DEFAULT_MAX_FRAME_SIZE
    skip: int = 0  # bytes of a damaged frame still to drop (gap inside a payload)
    discarded: int = 0  # bytes dropped while resyncing
    pending: _PendingBlock | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Frame:
    header: FrameHeader
    payload: bytes


class Http2Session:
    """One HTTP/2 connection, both directions (see `protocols.http2.http2`)."""

    def __init__(self, limits: Limits, options: DissectorOptions) -> None:
        self.limits = limits
        self.options = options
        self._sides = {
            d: _Side(decoder=HeaderDecoder.for_limits(self.limits))
            for d in (Direction.REQUEST, Direction.RESPONSE)
        }
        self._streams: dict[int, _Stream] = {}
        self._ts = 0
        # Bytes of partial bodies and gRPC messages held by live streams (held_bytes).
        self._held = 0
        # The WebSocket parsers of live extended CONNECT streams, by stream id: their
        # partial frames and messages count in held_bytes.
        self._websockets: dict[int, WebSocketParser] = {}
        self._graphql = GraphQLTracker()  # GraphQL operations as apis (protocols.graphql)
        self._handlers = {
            FrameType.DATA: self._on_data,
            FrameType.HEADERS: self._on_headers,
            FrameType.PRIORITY: self._on_ignored,
            FrameType.RST_STREAM: self._on_rst_stream,
            FrameType.SETTINGS: self._on_settings,
            FrameType.PUSH_PROMISE: self._on_push_promise,
            FrameType.PING: self._on_ignored,
            FrameType.GOAWAY: self._on_ignored,
            FrameType.WINDOW_UPDATE: self._on_ignored,
            FrameType.CONTINUATION: self._on_continuation,
        }

    # -- feeding ---------------------------------------------------------------------

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        self._ts = ts_ns
        side = self._sides[direction]
        events: list[Event] = []
        if side.skip:
            taken = min(side.skip, len(data))
            side.skip -= taken
            data = data[taken:]
        if not data:
            return events
        if len(side.buf) + len(data) > self.limits.max_buffer_bytes + FRAME_HEADER_LEN:
            # Cannot happen with a plausible frame header (its length is bounded), so the
            # buffer holds garbage: start over from the new bytes.
            side.buf.clear()
            events.append(Anomaly(kind="frame_resync", direction=direction))
            self._move(side, SideEvent.GAP)
        side.buf += data
        self._run(direction, side, events)
        return events

    def gap(self, direction: Direction, size: int) -> list[Event]:
        side = self._sides[direction]
        events: list[Event] = []
        if side.skip:
            # Still inside a damaged frame: the gap may end inside it too.
            if size < side.skip:
                side.skip -= size
                return events
            size -= side.skip
            side.skip = 0
        if side.state is SideState.FRAMES and len(side.buf) >= FRAME_HEADER_LEN:
            header = _h2_frames.parse_header(side.buf, 0)
            missing = FRAME_HEADER_LEN + header.length - len(side.buf)
            if 0 < size < missing:
                # The gap lies inside this frame's payload: framing survives, the frame
                # is lost (its stream's body or header block with it).
                side.skip = missing - size
                side.buf.clear()
                self._damage(direction, side, header, events)
                return events
        side.buf.clear()
        self._lose_all(direction, side, events)
        if side.state is not SideState.RESYNC:
            events.append(Anomaly(kind="frame_resync", direction=direction))
        self._move(side, SideEvent.GAP)
        return events

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        self._ts = ts_ns
        side = self._sides[direction]
        events: list[Event] = []
        if side.pending is not None:
            events.append(Anomaly(kind="h2_incomplete_headers", direction=direction))
            self._finish_block(direction, side, events)
        if side.buf and side.state is SideState.FRAMES:
            events.append(Anomaly(kind="h2_truncated_frame", direction=direction))
        side.buf.clear()
        for sid in sorted(self._streams):
            stream = self._streams[sid]
            half = stream.halves[direction]
            if not half.ended:
                # Never ended (a cut upload, the end of the capture, an eviction): what
                # was seen is emitted, marked incomplete.
                half.lost = True
                self._end_half(stream, direction, events)
            self._maybe_forget(stream)
        return events

    def held_bytes(self) -> int:
        request, response = self._sides[Direction.REQUEST], self._sides[Direction.RESPONSE]
        held = self._held + len(request.buf) + len(response.buf)
        held += sum(parser.held_bytes() for parser in self._websockets.values())
        for side in (request, response):
            if side.pending is not None:
                held += len(side.pending.fragments)
        return held

    def _recount(self, half: _Half) -> None:
        """Bring `_held` in step with what `half` holds now (O(1), after each change)."""
        held = len(half.body)
        if half.deframer is not None:
            held += len(half.deframer._buf)  # the partial gRPC message being assembled
        self._held += held - half.held
        half.held = held

    # -- framing ---------------------------------------------------------------------

    def _move(self, side: _Side, event: SideEvent) -> None:
        side.state = TRANSITIONS.get((side.state, event), side.state)

    def _run(self, direction: Direction, side: _Side, events: list[Event]) -> None:
        while True:
            if side.state is SideState.START:
                if not self._start(direction, side, events):
                    return
            elif side.state is SideState.RESYNC:
                if not self._resync(direction, side, events):
                    return
            elif not self._frames(direction, side, events):
                return

    def _start(self, direction: Direction, side: _Side, events: list[Event]) -> bool:
        buf = side.buf
        if direction is Direction.REQUEST and PREFACE.startswith(bytes(buf[: len(PREFACE)])):
            if len(buf) < len(PREFACE):
                return False
            del buf[: len(PREFACE)]
            self._move(side, SideEvent.PREFACE)
            return True
        if len(buf) < FRAME_HEADER_LEN:
            return False
        header = _h2_frames.parse_header(buf, 0)
        if _h2_frames.plausible(header, side.max_frame_size, strict=True):
            if header.type != FrameType.SETTINGS:
                # Joined mid-connection: dynamic-table entries may predate the capture.
                side.decoder.lose_context()
            self._move(side, SideEvent.FRAME)
        else:
            side.decoder.lose_context()
            events.append(Anomaly(kind="frame_resync", direction=direction))
            self._move(side, SideEvent.BAD_HEADER)
        return True

    def _frames(self, direction: Direction, side: _Side, events: list[Event]) -> bool:
        buf = side.buf
        off = 0
        try:
            while len(buf) - off >= FRAME_HEADER_LEN:
                header = _h2_frames.parse_header(buf, off)
                if not _h2_frames.plausible(header, side.max_frame_size, strict=False):
                    events.append(Anomaly(kind="frame_resync", direction=direction))
                    self._lose_all(direction, side, events)
                    self._move(side, SideEvent.BAD_HEADER)
                    return True
                stop = off + FRAME_HEADER_LEN + header.length
                if stop > len(buf):
                    return False
                payload = bytes(buf[off + FRAME_HEADER_LEN : stop])
                off = stop
                self._frame(direction, side, _Frame(header=header, payload=payload), events)
            return False
        finally:
            del buf[:off]

    def _resync(self, direction: Direction, side: _Side, events: list[Event]) -> bool:
        """Find a frame boundary: a strictly plausible header followed by another one,
        or a complete DATA/HEADERS frame on a stream we already track (a 31-bit id that
        matches is strong evidence). A candidate is judged only on complete evidence, so
        any split of the same bytes gives the same result."""
        buf = side.buf
        limit = side.max_frame_size
        pos = 0
        found = -1
        while len(buf) - pos >= FRAME_HEADER_LEN:
            header = _h2_frames.parse_header(buf, pos)
            if _h2_frames.plausible(header, limit, strict=True):
                nxt = pos + FRAME_HEADER_LEN + header.length
                if header.stream_id in self._streams and header.type in _RESYNC_ANCHORS:
                    if nxt > len(buf):
                        break  # wait for the whole frame
                    found = pos
                    break
                if len(buf) - nxt < FRAME_HEADER_LEN:
                    break  # need the next header to judge this candidate
                if _h2_frames.plausible(_h2_frames.parse_header(buf, nxt), limit, strict=True):
                    found = pos
                    break
            pos += 1
        side.discarded += pos
        del buf[:pos]
        if found < 0:
            if side.discarded > MAX_RESYNC_BYTES:
                raise ProtocolError(
                    f"no HTTP/2 frame boundary in {side.discarded} bytes after a resync"
                )
            return False
        side.discarded = 0
        self._move(side, SideEvent.FOUND)
        return True

    def _frame(self, direction: Direction, side: _Side, frame: _Frame, events: list[Event]) -> None:
        header = frame.header
        if side.pending is not None and header.type != FrameType.CONTINUATION:
            # RFC 9113 6.10: nothing may come between a header block's frames.
            events.append(Anomaly(kind="h2_continuation_missing", direction=direction))
            self._finish_block(direction, side, events)
        if header.type not in _h2_frames.KNOWN_TYPES:
            return  # extension frame (4.1): skipped by length
        handler = self._handlers[FrameType(header.type)]
        try:
            handler(direction, side, frame, events)
        except FrameError:
            events.append(Anomaly(kind="h2_bad_frame", direction=direction))

    # -- frame handlers --------------------------------------------------------------

    def _on_ignored(
        self, direction: Direction, side: _Side, frame: _Frame, events: list[Event]
    ) -> None:
        """PRIORITY, PING, GOAWAY, WINDOW_UPDATE carry nothing to inventory."""

    def _on_settings(
        self, direction: Direction, side: _Side, frame: _Frame, events: list[Event]
    ) -> None:
        if frame.header.flags & _h2_frames.FLAG_ACK:
            return
        settings = _h2_frames.parse_settings(frame.payload)
        size = settings.get(_h2_frames.SETTINGS_MAX_FRAME_SIZE)
        if size is not None and _h2_frames.DEFAULT_MAX_FRAME_SIZE <= size:
            # The other side may now send frames up to this size (6.5.2).
            other = self._sides[direction.opposite]
            other.max_frame_size = min(size, _h2_frames.ABSOLUTE_MAX_FRAME_SIZE)

    def _on_headers(
        self, direction: Direction, side: _Side, frame: _Frame, events: list[Event]
    ) -> None:
        header = frame.header
        fragment = _h2_frames.headers_fragment(frame.payload, header.flags)
        block = _PendingBlock(
            sid=header.stream_id,
            ftype=FrameType.HEADERS,
            end_stream=bool(header.flags & FLAG_END_STREAM),
            promised=0,
            fragments=bytearray(fragment),
        )
        self._start_block(direction, side, block, header.flags, events)

    def _on_push_promise(
        self, direction: Direction, side: _Side, frame: _Frame, events: list[Event]
    ) -> None:
        header = frame.header
        promised, fragment = _h2_frames.push_promise_fragment(frame.payload, header.flags)
        block = _PendingBlock(
            sid=header.stream_id,
            ftype=FrameType.PUSH_PROMISE,
            end_stream=False,
            promised=promised,
            fragments=bytearray(fragment),
        )
        self._start_block(direction, side, block, header.flags, events)

    def _start_block(
        self, direction: Direction, side: _Side, block: _PendingBlock, flags: int,
        events: list[Event],
    ) -> None:
        """A header block begins (HEADERS or PUSH_PROMISE): decoded now if this frame
        ends it, else held for its CONTINUATION frames (bounded)."""
        side.pending = block
        if flags & FLAG_END_HEADERS:
            self._finish_block(direction, side, events)
        else:
            self._check_block_size(direction, side, events)

    def _on_continuation(
        self, direction: Direction, side: _Side, frame: _Frame, events: list[Event]
    ) -> None:
        pending = side.pending
        if pending is None or pending.sid != frame.header.stream_id:
            # A continuation of a block we did not see the start of: its fragment cannot
            # be decoded, and it may have changed the dynamic table.
            events.append(Anomaly(kind="h2_bad_frame", direction=direction))
            side.decoder.lose_context()
            return
        pending.fragments += frame.payload
        if frame.header.flags & FLAG_END_HEADERS:
            self._finish_block(direction, side, events)
        else:
            self._check_block_size(direction, side, events)

    def _check_block_size(self, direction: Direction, side: _Side, events: list[Event]) -> None:
        pending = side.pending
        if pending is not None and len(pending.fragments) > self.limits.max_header_bytes:
            events.append(Anomaly(kind="header_too_large", direction=direction))
            side.pending = None
            # The unread block may have changed the dynamic table.
            side.decoder.lose_context()

    def _finish_block(self, direction: Direction, side: _Side, events: list[Event]) -> None:
        pending = side.pending
        side.pending = None
        if pending is None:
            return
        if len(pending.fragments) > self.limits.max_header_bytes:
            events.append(Anomaly(kind="header_too_large", direction=direction))
            side.decoder.lose_context()
            return
        block = side.decoder.decode(bytes(pending.fragments))
        if block.unknown:
            events.append(Anomaly(kind="hpack_unknown_index", direction=direction))
        if block.broken:
            events.append(Anomaly(kind="hpack_error", direction=direction))
        if block.table_limit:
            events.append(Anomaly(kind="hpack_table_limit", direction=direction))
        if block.too_many_fields:  # max_header_fields: the block was cut there
            events.append(Anomaly(kind="too_many_headers", direction=direction))
        if block.too_large:  # max_header_bytes of decoded size: the block was cut there
            events.append(Anomaly(kind="header_too_large", direction=direction))
        if pending.ftype is FrameType.PUSH_PROMISE:
            self._on_promise(pending, block.headers, events)
            return
        stream = self._stream(pending.sid, direction, events)
        if stream is None:
            return
        half = stream.halves[direction]
        if half.headers is None:
            if direction is Direction.RESPONSE and _is_informational(block.headers):
                return  # 1xx (8.1): the final response follows
            half.headers = block.headers
            if direction is Direction.REQUEST:
                self._learn_request(stream, block.headers)
                self._websocket_request(stream, events)
            elif stream.websocket is not None:
                self._websocket_response(stream, events)
        else:
            half.trailers.extend(block.headers)
        if pending.end_stream:
            self._end_half(stream, direction, events)
            self._maybe_forget(stream)

    def _on_promise(
        self, pending: _PendingBlock, headers: tuple[Header, ...], events: list[Event]
    ) -> None:
        stream = self._stream(pending.promised, Direction.RESPONSE, events)
        if stream is None:
            return
        stream.pushed = True
        self._learn_request(stream, headers)
        request = stream.halves[Direction.REQUEST]
        # The promised request was never sent by the client: no request message.
        request.ended = True
        request.emitted = True

    @staticmethod
    def _learn_request(stream: _Stream, headers: tuple[Header, ...]) -> None:
        stream.method = _text(_header(headers, ":method"))
        stream.path = _text(_header(headers, ":path"))
        authority = _text(_header(headers, ":authority") or _header(headers, "host"))
        stream.authority = authority.rpartition("@")[2]  # never the userinfo

    def _on_rst_stream(
        self, direction: Direction, side: _Side, frame: _Frame, events: list[Event]
    ) -> None:
        stream = self._streams.get(frame.header.stream_id)
        if stream is None:
            return
        for d in (Direction.REQUEST, Direction.RESPONSE):
            if not stream.halves[d].ended:
                self._end_half(stream, d, events)
        self._maybe_forget(stream)

    def _on_data(
        self, direction: Direction, side: _Side, frame: _Frame, events: list[Event]
    ) -> None:
        header = frame.header
        data = _h2_frames.strip_padding(frame.payload, header.flags)
        stream = self._stream(header.stream_id, direction, events)
        if stream is None:
            return
        half = stream.halves[direction]
        if half.ended:
            events.append(Anomaly(kind="h2_data_after_end", direction=direction))
            return
        if data and stream.websocket is not None:
            self._websocket_feed(stream, direction, data, events)
        elif data:
            kind = self._decide(stream, direction, data)
            if kind is StreamKind.GRPC:
                self._grpc_data(stream, direction, data, events)
            else:
                self._buffer_body(half, data, direction, events)
            self._recount(half)
        if header.flags & FLAG_END_STREAM:
            self._end_half(stream, direction, events)
            self._maybe_forget(stream)

    # -- streams ---------------------------------------------------------------------

    def _stream(self, sid: int, direction: Direction, events: list[Event]) -> _Stream | None:
        stream = self._streams.get(sid)
        if stream is not None:
            return stream
        if len(self._streams) >= self.limits.max_streams:
            events.append(Anomaly(kind="stream_limit", direction=direction))
            return None
        stream = _Stream(sid=sid)
        self._streams[sid] = stream
        return stream

    def _maybe_forget(self, stream: _Stream) -> None:
        halves = stream.halves.values()
        for half in halves:
            self._recount(half)
        if all(h.ended for h in halves) and self._streams.pop(stream.sid, None) is not None:
            self._websockets.pop(stream.sid, None)
            for half in halves:
                self._held -= half.held
                half.held = 0

    def _decide(self, stream: _Stream, direction: Direction, data: bytes) -> StreamKind:
        if stream.kind is not StreamKind.UNDECIDED:
            return stream.kind
        ct = stream.content_type(direction).lower()
        if ct.startswith("application/grpc-web-text"):
            stream.kind = StreamKind.GRPC_WEB_TEXT
        elif ct.startswith("application/grpc"):
            stream.kind = StreamKind.GRPC
        elif ct:
            stream.kind = StreamKind.HTTP
        elif data and _grpc.looks_like_grpc(data, self.limits.max_body_bytes):
            # Content type lost with the HPACK context: the payload shows gRPC framing.
            stream.kind = StreamKind.GRPC
        elif data:
            stream.kind = StreamKind.HTTP
        return stream.kind

    # -- WebSocket over HTTP/2 (RFC 8441) -------------------------------------------

    def _websocket_request(self, stream: _Stream, events: list[Event]) -> None:
        """An extended CONNECT (RFC 8441 section 4) with `:protocol websocket`: the
        request's headers are emitted now (the stream never ends while it is open) and
        its DATA goes to a WebSocket parser named like the HTTP/1.1 upgrade's."""
        half = stream.halves[Direction.REQUEST]
        protocol = _text(_header(half.headers, ":protocol")).strip().lower()
        if stream.method.upper() != "CONNECT" or protocol != "websocket":
            return
        parser = WebSocketParser(self.limits)
        path = http_api("GET", stream.path).partition(" ")[2] if stream.path else ""
        parser.configure(path, stream.authority)
        stream.websocket = parser
        stream.kind = StreamKind.WEBSOCKET
        self._websockets[stream.sid] = parser
        self._send_handshake(stream, Direction.REQUEST, events)

    def _websocket_response(self, stream: _Stream, events: list[Event]) -> None:
        """The server's answer: a 2xx opens the tunnel (section 5) with the extensions it
        agreed; anything else makes the stream plain HTTP again (the body is an error)."""
        status = _header(stream.halves[Direction.RESPONSE].headers, ":status")
        parser = stream.websocket
        if parser is None:
            return
        if len(status) == 3 and status[:1] == b"2":
            extensions = ", ".join(
                _text(h.value)
                for h in stream.halves[Direction.RESPONSE].headers or ()
                if h.name == "sec-websocket-extensions"
            )
            parser.negotiate(extensions)
            self._send_handshake(stream, Direction.RESPONSE, events)
            return
        stream.websocket = None
        stream.kind = StreamKind.UNDECIDED
        self._websockets.pop(stream.sid, None)

    def _send_handshake(self, stream: _Stream, direction: Direction, events: list[Event]) -> None:
        half = stream.halves[direction]
        half.handshake_sent = half.emitted = True
        parts = self._http_parts(half, direction, events)
        events.append(self._message(stream, direction, "http", parts))

    def _websocket_feed(
        self, stream: _Stream, direction: Direction, data: bytes, events: list[Event]
    ) -> None:
        parser = stream.websocket
        if parser is None:
            return
        try:
            events.extend(parser.feed(direction, data, self._ts))
        except ProtocolError:
            # This stream's frames are not WebSocket as negotiated: that direction stops,
            # the connection's other streams go on.
            events.append(Anomaly(kind="websocket_protocol_error", direction=direction))
            parser.stop(direction)

    def _websocket_gap(
        self, stream: _Stream, direction: Direction, size: int, events: list[Event]
    ) -> None:
        if stream.websocket is not None:
            events.extend(stream.websocket.gap(direction, size))

    def _buffer_body(
        self, half: _Half, data: bytes, direction: Direction, events: list[Event]
    ) -> None:
        if half.body_dropped or half.body_cut:
            return
        room = self.limits.max_body_bytes - len(half.body)
        if len(data) > room:
            # Over the limit: the start is kept (emitted incomplete), the rest counted past.
            events.append(Anomaly(kind="body_too_large", direction=direction))
            half.body += data[:room]
            half.body_cut = True
            return
        half.body += data

    def _grpc_data(
        self, stream: _Stream, direction: Direction, data: bytes, events: list[Event]
    ) -> None:
        half = stream.halves[direction]
        if half.deframer is None:
            half.deframer = _grpc.Deframer(self.limits.max_body_bytes)
        for item in half.deframer.feed(data):
            if isinstance(item, _grpc.Skipped):
                events.append(Anomaly(kind=item.reason, direction=direction))
                continue
            self._grpc_message(stream, direction, item, events)

    def _grpc_message(
        self, stream: _Stream, direction: Direction, frame: _grpc.GrpcFrame, events: list[Event]
    ) -> None:
        half = stream.halves[direction]
        if frame.trailers:
            # gRPC-Web trailers frame: an HTTP/1-style header block in the body.
            try:
                lines = _grpc.parse_web_trailers(frame.data)
            except _grpc.GrpcError:
                events.append(Anomaly(kind="grpc_bad_frame", direction=direction))
                return
            half.trailers.extend(Header(name=n, value=v) for n, v in lines)
            return
        body = frame.data
        if frame.compressed:
            encoding = _text(_header(half.headers, "grpc-encoding")) or _grpc.sniff_compression(
                body
            )
            try:
                body = _grpc.decompress(body, encoding, self.limits)
            except _grpc.GrpcError:
                events.append(Anomaly(kind="unsupported_encoding", direction=direction))
                return
        if stream.path in REFLECTION_PATHS and direction is Direction.RESPONSE:
            events.extend(_reflected(body))
        parts = self._metadata_parts(stream, direction, include_headers=True)
        ct = stream.content_type(direction).lower()
        # JSON by the content type, or by the message itself (`_grpc.json_document`).
        in_json = ct.endswith("+json") or _grpc.json_document(body) is not None
        media = MediaType.JSON if in_json else MediaType.PROTOBUF
        parts.append(
            Part(
                location=Location.BODY,
                name="",
                data=body,
                media_type=media,
                schema=f"{stream.path}#{direction.value}" if stream.path else "",
            )
        )
        half.emitted = True
        events.append(self._message(stream, direction, "grpc", parts))

    def _metadata_parts(
        self, stream: _Stream, direction: Direction, include_headers: bool
    ) -> list[Part]:
        half = stream.halves[direction]
        parts: list[Part] = []
        headers: list[Header] = []
        if include_headers and not half.headers_emitted and half.headers is not None:
            headers.extend(half.headers)
            half.headers_emitted = True
        if not include_headers:
            headers.extend(half.trailers)
            half.trailers.clear()
        for h in headers:
            if not h.name or h.name.startswith(":") or h.name in _GRPC_TRANSPORT_HEADERS:
                continue
            value = h.value
            if h.name.endswith("-bin"):
                value = _b64(value)
            if not value:
                continue
            parts.append(
                Part(
                    location=Location.METADATA,
                    name=h.name,
                    data=value,
                    never_indexed=h.never_indexed,
                )
            )
        return parts

    def _end_half(self, stream: _Stream, direction: Direction, events: list[Event]) -> None:
        half = stream.halves[direction]
        if half.ended:
            return
        half.ended = True
        if stream.websocket is not None:
            events.extend(stream.websocket.close(direction, self._ts))
        if half.handshake_sent and not half.body and not half.trailers:
            return
        if half.headers is None and not half.body and not half.trailers and half.deframer is None:
            return
        kind = self._decide(stream, direction, bytes(half.body[:64]))
        if kind is StreamKind.GRPC_WEB_TEXT:
            self._web_text_body(stream, direction, events)
            kind = StreamKind.GRPC
        if kind is StreamKind.GRPC:
            if half.deframer is not None and half.deframer.pending:
                events.append(Anomaly(kind="grpc_truncated", direction=direction))
            parts = self._metadata_parts(stream, direction, include_headers=True)
            parts += self._metadata_parts(stream, direction, include_headers=False)
            if parts:
                half.emitted = True
                events.append(self._message(stream, direction, "grpc", parts, half.lost))
                if half.lost:
                    events.append(Anomaly(kind="incomplete_message", direction=direction))
            return
        if kind is StreamKind.UNDECIDED and not half.headers and not half.trailers:
            return
        half.emitted = True
        parts = self._http_parts(half, direction, events)
        message = self._message(stream, direction, "http", parts, half.lost or half.body_cut)
        events.extend(self._graphql.rewrite(message, stream.sid))
        if half.lost:
            events.append(Anomaly(kind="incomplete_message", direction=direction))

    def _web_text_body(self, stream: _Stream, direction: Direction, events: list[Event]) -> None:
        half = stream.halves[direction]
        if half.body_dropped:
            return
        try:
            binary = _grpc.decode_web_text(bytes(half.body))
        except _grpc.GrpcError:
            events.append(Anomaly(kind="grpc_bad_frame", direction=direction))
            return
        half.body = bytearray()
        stream.kind = StreamKind.GRPC
        self._grpc_data(stream, direction, binary, events)

    def _http_parts(self, half: _Half, direction: Direction, events: list[Event]) -> list[Part]:
        parts: list[Part] = []
        headers = list(half.headers or ()) + half.trailers
        content_type = ""
        codings: list[str] = []
        for h in headers:
            if not h.name or h.name.startswith(":"):
                if h.name == ":authority" and b"@" in h.value:
                    # Userinfo (`user:pass@host`, RFC 3986 3.2.1) is a credential: the
                    # value is classified here, and kept out of the host column.
                    parts.append(Part(location=Location.HEADER, name=h.name, data=h.value))
                continue
            if h.name == "cookie":
                # RFC 9113 8.2.3: cookies may come as several crumbs, one header each.
                parts.extend(cookie_parts(h.value))
                continue
            if h.name == "content-type":
                content_type = _text(h.value)
            elif h.name == "content-encoding":
                codings += content_codings(_text(h.value))
            parts.append(
                Part(
                    location=Location.HEADER,
                    name=h.name,
                    data=h.value,
                    never_indexed=h.never_indexed,
                )
            )
        if direction is Direction.REQUEST:
            query = _text(_header(half.headers, ":path")).split("#", 1)[0].partition("?")[2]
            if query:
                parts.append(
                    Part(
                        location=Location.QUERY,
                        name="",
                        data=query.encode("utf-8", "replace"),
                        media_type=MediaType.FORM,
                    )
                )
        body = bytes(half.body)
        half.body = bytearray()
        if body and not half.body_dropped:
            try:
                body = _decompress.decode_content(body, codings, self.limits)
                media = media_type_for_body(content_type, body)
            except _decompress.DecompressionError:
                if half.body_cut:
                    return parts  # the start of a compressed body: its cut is counted
                events.append(Anomaly(kind="unsupported_encoding", direction=direction))
                media = MediaType.BINARY
            parts.append(Part(location=Location.BODY, name="", data=body, media_type=media))
        return parts

    def _message(
        self,
        stream: _Stream,
        direction: Direction,
        protocol: str,
        parts: list[Part],
        incomplete: bool = False,
    ) -> Message:
        if protocol == "grpc":
            api = stream.path.split("?", 1)[0] if stream.path else UNKNOWN_API
        elif stream.method and stream.path:
            api = http_api(stream.method, stream.path)
        else:
            api = UNKNOWN_API
        status = 0
        if direction is Direction.RESPONSE:
            raw = _header(stream.halves[direction].headers, ":status")
            status = int(raw) if len(raw) == 3 and raw.isdigit() else 0
        return Message(
            protocol=protocol,
            direction=direction,
            api=api,
            host=stream.authority,
            ts_ns=self._ts,
            parts=tuple(parts),
            incomplete=incomplete,
            status=status,
        )

    # -- gaps ------------------------------------------------------------------------

    def _damage(
        self, direction: Direction, side: _Side, header: FrameHeader, events: list[Event]
    ) -> None:
        """A frame lost part of its payload to a gap."""
        if header.type in (FrameType.HEADERS, FrameType.CONTINUATION, FrameType.PUSH_PROMISE):
            side.pending = None
            side.decoder.lose_context()
            return
        if header.type == FrameType.DATA:
            stream = self._streams.get(header.stream_id)
            if stream is not None:
                # The whole frame is dropped; with padding its share of WebSocket bytes
                # is unknown, and that direction's framing is lost.
                padded = header.flags & _h2_frames.FLAG_PADDED
                lost = _FRAMING_LOST if padded else header.length
                self._lose_stream_bytes(stream, direction, lost, events)

    def _lose_all(self, direction: Direction, side: _Side, events: list[Event]) -> None:
        """Framing lost in this direction: HPACK context, every partial body, and the
        WebSocket framing of every extended CONNECT stream."""
        side.pending = None
        side.decoder.lose_context()
        for stream in self._streams.values():
            self._lose_stream_bytes(stream, direction, _FRAMING_LOST, events)

    def _lose_stream_bytes(
        self, stream: _Stream, direction: Direction, lost: int, events: list[Event]
    ) -> None:
        """`lost` bytes of one stream's DATA in `direction` are gone: its WebSocket
        framing loses sync and a partial body is cut."""
        self._websocket_gap(stream, direction, lost, events)
        half = stream.halves[direction]
        if half.deframer is not None:
            half.deframer.lose_sync()
        if half.body:
            # What came before the lost bytes is kept: emitted incomplete.
            half.body_cut = half.lost = True
        self._recount(half)


# -- helpers -------------------------------------------------------------------------


def _reflected(body: bytes) -> list[Learned]:
    """The schemas a server reflection response carries, as facts for the scan."""
    from protocols.protobuf import reflection_file_descriptors  # protobuf loads when needed

    return [
        Learned(kind=FactKind.PROTOBUF_FILE, key="", value=descriptor)
        for descriptor in reflection_file_descriptors(body)
    ]


def _header(headers: tuple[Header, ...] | None, name: str) -> bytes:
    if not headers:
        return b""
    for h in headers:
        if h.name == name:
            return bytes(h.value)
    return b""


def _text(value: bytes) -> str:
    return value.decode("utf-8", "replace")


def _is_informational(headers: tuple[Header, ...]) -> bool:
    status = _header(headers, ":status")
    return len(status) == 3 and status[:1] == b"1"


def _b64(value: bytes) -> bytes:
    """A `-bin` metadata value: base64, padded or not (gRPC over HTTP/2, "Custom-Metadata")."""
    compact = value.strip()
    try:
        return base64.b64decode(compact + b"=" * (-len(compact) % 4), validate=False)
    except (binascii.Error, ValueError):
        return b""
