"""HTTP/1.0 and HTTP/1.1 seen from the side: RFC 9112 (message syntax and framing) and
RFC 9110 (semantics), for a passive observer that may join mid-stream and lose segments.

Hand-written rather than built on h11: h11 is an endpoint state machine (one side of
the conversation, expecting to start at the first byte) that refuses a mid-stream start
and has no notion of lost bytes, and it is slower than the `find`/`split` parsing below.
A passive observer must resynchronise on the next start line instead.

What it does, by RFC 9112 section:
- 2.2 / 3 / 4: request and status lines; empty lines before a start line are skipped.
- 5: header fields (obsolete line folding, 5.2, is joined with a space).
- 6.3: body length, in the order the RFC gives: no body for HEAD responses and 1xx/204/
  304; a tunnel after a 2xx to CONNECT; chunked (7.1, with chunk extensions and
  trailers, 7.1.2); Content-Length; read until close for responses without either.
- 9.3 / RFC 9110 section 9.3.6 and 7.8: persistent connections, pipelining (responses
  pair with requests in order), CONNECT and Upgrade (101) end HTTP/1 on the connection
  with a `Handoff`.
- RFC 9110 section 10.1.1: `Expect: 100-continue` (interim responses are skipped).
- RFC 9110 section 8.4: Content-Encoding, decoded by `protocols._decompress`.
- gRPC-Web over HTTP/1.1 (gRPC-Web protocol doc): messages with an `application/grpc*`
  content type are protocol `grpc` with the request path as api.

A message that never completes (the connection closes or is evicted mid-body, a gap
ends it) is emitted with its head and the body seen so far, `incomplete=True`, with an
`incomplete_message` anomaly; a body over `max_body_bytes` keeps its first
`max_body_bytes` (`body_too_large`, except compressed ones, whose start cannot be decoded).

A second answer whose start was overwritten: a middlebox that injects a short response
(`HTTP/1.1 200 OK`, `Content-Length: 5`, `BANG!`) races the server's own response on the
same sequence numbers, and TCP reassembly keeps the first copy (dpi/reassembly.py), so
what follows the injected response is the server's response without its first bytes:
the rest of a header block and the body. When every request has been answered, bytes
on the response side that are no status line but the tail of a header block (after the
cut line, only `name: value` lines, among them Content-Type, Content-Length or
Transfer-Encoding, then the blank line) are read as a second response to the request
answered last, status unknown (0), anomaly `headless_response`. Pairing is untouched:
no pending request is consumed. Anything else there is resynchronised as before.

Bare LF line endings are accepted (RFC 9112 section 2.2 allows it; libhtp test traffic
uses them), but not a header block that mixes LF lines with a CRLF blank line.

HTTP/0.9 (the 1991 "HTTP as implemented in W3" note; RFC 1945 section 4.1 calls it a
Simple-Request): a request line of exactly `GET` and a target, no version and no
header; the response is the raw body until the connection closes, without status line
or headers. Accepted only as the first request of a connection (HTTP/0.9 has no
persistent connections) and never while resynchronising, with a target that is an
origin or absolute form of printable ASCII: a stream of other text (`GET key` of a
Redis inline command) is not taken for HTTP. A server that answers with a status line
anyway is read as HTTP/1.x.

Not supported: multiple-member Content-Length
lists with differing values (treated as a framing error), transfer codings other than
chunked on requests (a framing error), `Transfer-Encoding` with `gzip` on responses
(read until close, the coding is not undone).
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from enum import Enum
from typing import ClassVar, NamedTuple

from protocols import _decompress
from protocols._http_headers import (
    KNOWN_METHODS,
    MAX_METHOD_LEN,
    content_codings,
    cookie_parts,
    is_grpc,
    media_type_for_body,
    media_type_of,
    set_cookie_part,
)
from protocols._printable import readable_binary
from protocols._slots import slot_factory
from protocols.base import (
    MAX_SHARED_VALUE,
    SHAREABLE_HEADERS,
    Anomaly,
    Direction,
    Dissector,
    DissectorOptions,
    Event,
    Handoff,
    Limits,
    Location,
    MediaType,
    Message,
    Part,
    Probe,
    ProtocolError,
)
from protocols.graphql import GraphQLTracker
from protocols.http_api import http_api
from protocols.websocket import upgrade_context


class _State(Enum):
    START = "start"  # at a message boundary: a start line must come
    RESYNC = "resync"  # scanning for a plausible start line (mid-stream start, after a gap)
    BODY = "body"  # Content-Length body
    CHUNK_SIZE = "chunk_size"  # chunk-size line with extensions
    CHUNK_DATA = "chunk_data"
    CHUNK_END = "chunk_end"  # the CRLF after chunk data
    TRAILERS = "trailers"  # trailer section after the last chunk
    UNTIL_CLOSE = "until_close"  # response body delimited by the connection close
    HOLD = "hold"  # request side after CONNECT/Upgrade: wait for the response's verdict
    DONE = "done"  # closed or handed off: bytes are ignored

    # Enum's own __hash__ is Python code; states are looked up on every segment.
    __hash__ = object.__hash__


# The states, directions and probe verdicts as module constants for the parsing code: a
# member read off its enum class goes through `EnumType.__getattr__`'s hook (about ten
# times the cost of reading a global), and they are read several times per segment.
_START, _RESYNC, _BODY, _DONE = _State.START, _State.RESYNC, _State.BODY, _State.DONE
_CHUNK_SIZE, _CHUNK_DATA, _CHUNK_END = _State.CHUNK_SIZE, _State.CHUNK_DATA, _State.CHUNK_END
_TRAILERS, _UNTIL_CLOSE, _HOLD = _State.TRAILERS, _State.UNTIL_CLOSE, _State.HOLD
_REQUEST, _RESPONSE = Direction.REQUEST, Direction.RESPONSE
_AT_HEADER, _AT_QUERY, _AT_BODY = Location.HEADER, Location.QUERY, Location.BODY
_FORM = MediaType.FORM  # a query's media type
_YES, _NO, _NEED_MORE = Probe.YES, Probe.NO, Probe.NEED_MORE

# The one transition table: every move of a direction's state is checked against it.
_TRANSITIONS: dict[_State, frozenset[_State]] = {
    _State.START: frozenset(
        {
            _State.START,
            _State.RESYNC,
            _State.BODY,
            _State.CHUNK_SIZE,
            _State.UNTIL_CLOSE,
            _State.HOLD,
            _State.DONE,
        }
    ),
    _State.RESYNC: frozenset({_State.START, _State.RESYNC, _State.DONE}),
    _State.BODY: frozenset({_State.START, _State.HOLD, _State.RESYNC, _State.DONE}),
    _State.CHUNK_SIZE: frozenset({_State.CHUNK_DATA, _State.TRAILERS, _State.RESYNC, _State.DONE}),
    _State.CHUNK_DATA: frozenset({_State.CHUNK_END, _State.RESYNC, _State.DONE}),
    _State.CHUNK_END: frozenset({_State.CHUNK_SIZE, _State.RESYNC, _State.DONE}),
    _State.TRAILERS: frozenset({_State.START, _State.HOLD, _State.RESYNC, _State.DONE}),
    _State.UNTIL_CLOSE: frozenset({_State.START, _State.DONE}),
    _State.HOLD: frozenset({_State.START, _State.RESYNC, _State.DONE}),
    _State.DONE: frozenset(),
}

# Longest request line accepted while probing or resynchronising: servers cap the
# request target at 8 KB (nginx, Apache) and anything longer is not a start line.
MAX_START_LINE = 8192
# Longest chunk-size line with extensions (RFC 9112 section 7.1.1 lets recipients limit it).
MAX_CHUNK_LINE = 4096
# Chunk sizes need at most 15 hex digits (2**60 bytes): more is an overflow attempt
# (robustness/rawip-http-chunk-size-overflow.pcap sends 2**64).
MAX_CHUNK_HEX_DIGITS = 15
# Header lines per message: servers cap at about 100; beyond, the rest is not parsed.
MAX_HEADER_LINES = 1000
# Requests awaiting a response per connection: pipelining clients keep a few in flight;
# beyond this the oldest is forgotten (`pending_overflow`) so that memory stays bounded.
MAX_PENDING = 4096
# Bytes kept at the end of a resync buffer so that a start line split across segments
# is still found: the longest method, a space and the byte before it.
_RESYNC_TAIL = MAX_METHOD_LEN + 1

# `Part(...)` and `Message(...)` at half the cost (protocols/_slots.py): a part per header
# line, query and body, a message per request and response.
_part = slot_factory(Part)
_message = slot_factory(Message)

_NO_BODY_STATUS = frozenset({204, 304})
_UNKNOWN_API = "(unknown)"

# Longest first, so that a longer method is not matched by its prefix (MKCOL vs MKCALENDAR).
_METHODS_LONGEST_FIRST: list[bytes] = sorted(KNOWN_METHODS, key=len, reverse=True)
_METHOD_ALT = b"|".join(_METHODS_LONGEST_FIRST)
# Resync anchors. Not tied to a line start: after a body the next start line follows
# the last body byte directly. A candidate is confirmed by the probe (a whole start line).
_REQUEST_ANCHOR = re.compile(rb"(?:" + _METHOD_ALT + rb") ")
_RESPONSE_ANCHOR = re.compile(rb"HTTP/1\.[01] [1-5][0-9][0-9][ \r\n]")
_STATUS_PREFIX = b"HTTP/1.1 200 "
# The 13 bytes `_probe_response` checks one by one, as one pattern.
_STATUS_LINE_START = re.compile(rb"HTTP/1\.[01] [0-9]{3}[ \r\n]")
_VERSIONS = (b"HTTP/1.1", b"HTTP/1.0")
# Each known method as the text `api` starts with: one lookup checks and decodes it.
_METHOD_NAMES: dict[bytes, str] = {method: method.decode("ascii") for method in KNOWN_METHODS}
# HTTP/0.9's only method and the forms its target may take (origin, absolute).
_HTTP09_METHOD = b"GET"
_HTTP09_TARGET_START = (b"/", b"http://", b"https://")
_HTTP09_TARGET = re.compile(rb"[!-~]+")  # printable ASCII, no blank
# A header field line (RFC 9112 section 5: a token, a colon, a value without CR/LF).
_HEADER_LINE = re.compile(rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+:[^\r\n]*")
# Fields one of which a headless response must carry: they frame or type a body.
_BODY_FIELDS = (b"content-type:", b"content-length:", b"transfer-encoding:")


def _header_tail(lines: list[bytes], complete: bool) -> bool:
    """Are `lines` the tail of a header block: the cut first line (any text), then only
    header field lines? `complete`: the blank line was seen, so a field that frames or
    types a body must be among them."""
    first, rest = lines[0].removesuffix(b"\r"), lines[1:]
    if not first.isascii() or any(byte < 32 and byte != 9 for byte in first):
        return False
    if not all(_HEADER_LINE.fullmatch(line) for line in rest):
        return False
    if not complete:
        return True
    return any(line[:18].lower().startswith(_BODY_FIELDS) for line in rest)


def _http09_target(line: bytes) -> bytes | None:
    """The target of an HTTP/0.9 request line (`GET /path`, CR/LF stripped), or None:
    exactly two fields, the method GET, a target of printable ASCII (RFC 3986
    characters, no blank) in origin or absolute form."""
    method, sp, target = line.removesuffix(b"\r").partition(b" ")
    if (
        method != _HTTP09_METHOD
        or not sp
        or not target.startswith(_HTTP09_TARGET_START)
        or len(target) >= MAX_START_LINE
        or _HTTP09_TARGET.fullmatch(target) is None
    ):
        return None
    return target


def _probe_request(data: bytes, http09: bool = False) -> Probe:
    """A request start line? `http09`: an HTTP/0.9 line counts too (at the start of a
    connection only, never while resynchronising)."""
    sp = data.find(b" ", 0, MAX_METHOD_LEN + 1)
    if sp < 0:
        if len(data) <= MAX_METHOD_LEN and any(m.startswith(data) for m in KNOWN_METHODS):
            return _NEED_MORE
        return _NO
    if data[:sp] not in KNOWN_METHODS:
        return _NO
    eol = data.find(b"\n", sp)
    if eol >= 0:
        fields = data[:eol].removesuffix(b"\r").split(b" ")
        if len(fields) == 3 and fields[1] and fields[2] in _VERSIONS:
            return _YES
        if http09 and len(fields) == 2 and _http09_target(data[:eol]) is not None:
            return _YES
        return _NO
    line = data[:-1] if data[-1:] == b"\r" else data
    if len(line) >= MAX_START_LINE or b"\n" in line or b"\r" in line:
        return _NO
    fields = line.split(b" ")
    if len(fields) > 3 or (len(fields) == 3 and not fields[1]):
        return _NO
    # The target has no spaces (RFC 9112 section 3.2), so a third field is the version.
    if len(fields) == 3 and not any(v.startswith(fields[2]) for v in _VERSIONS):
        return _NO
    return _NEED_MORE


def _probe_response(data: bytes) -> Probe:
    head = data[:13]
    if len(head) == 13:  # every status line's start: one C match
        return _YES if _STATUS_LINE_START.fullmatch(head) is not None else _NO
    for i, byte in enumerate(head):
        if i in (7, 9, 10, 11):
            ok = 48 <= byte <= 57 if i != 7 else byte in (48, 49)
        elif i == 12:
            ok = byte in (32, 13, 10)
        else:
            ok = byte == _STATUS_PREFIX[i]
        if not ok:
            return _NO
    return _YES if len(head) == 13 else _NEED_MORE


_PROBES: dict[Direction, Callable[[bytes], Probe]] = {
    _REQUEST: _probe_request,
    _RESPONSE: _probe_response,
}


def _head_end(buf: bytes | bytearray, start: int) -> tuple[int, int]:
    """(end of the header block, start of the body), or (-1, -1) while incomplete.
    CRLF is the rule; a bare LF blank line is accepted too (RFC 9112 section 2.2)."""
    crlf = buf.find(b"\r\n\r\n", start)
    lf = buf.find(b"\n\n", start, crlf if crlf >= 0 else len(buf))
    if lf >= 0:
        return lf, lf + 2
    if crlf >= 0:
        return crlf, crlf + 4
    return -1, -1


def _lines(head: bytes, terminator: int) -> list[bytes]:
    """Header block -> lines without their CRLF or bare LF."""
    if terminator == 4:
        lines = head.split(b"\r\n")
        if head.count(b"\n") == len(lines) - 1:  # every LF is in a CRLF: no bare LF
            return lines
    lines = head.replace(b"\r\n", b"\n").split(b"\n")
    lines[-1] = lines[-1].removesuffix(b"\r")
    return lines


def _line_break(buf: bytes | bytearray, pos: int) -> int:
    """Length of the CRLF (or bare LF) at `pos`: 0 if it may still come, -1 if absent."""
    first = buf[pos : pos + 1]
    if first == b"\n":
        return 1
    if first != b"\r" and first:
        return -1
    if len(buf) - pos < 2:
        return 0
    return 2 if buf[pos + 1] == 10 else -1


class _Pending:
    """A request whose response has not started yet (the pairing FIFO entry)."""

    __slots__ = ("api", "holds", "host", "http09", "method", "protocol")

    def __init__(
        self, method: str, api: str, host: str, protocol: str, holds: bool, http09: bool = False
    ) -> None:
        self.method = method
        self.api = api
        self.host = host
        self.protocol = protocol
        self.holds = holds  # CONNECT or Upgrade: the request side waits for the verdict
        self.http09 = http09  # an HTTP/0.9 request: its response has no head


_LOST = _Pending("", _UNKNOWN_API, "", "http", False)


class _Msg:
    """One message being read: head fields, body pieces and the body's fate."""

    __slots__ = (
        "api",
        "codings",
        "content_type",
        "ctype",
        "cut",
        "dropped",
        "held",
        "holds",
        "host",
        "keep",
        "lost",
        "parts",
        "pieces",
        "protocol",
        "schema",
        "size",
        "status",
    )

    def __init__(self) -> None:
        self.protocol = "http"
        self.api = _UNKNOWN_API
        self.host = ""
        self.parts: list[Part] = []
        self.content_type = ""
        self.ctype = _NO_CONTENT_TYPE  # what `content_type` decides (`_content_type`)
        self.codings: list[str] = []
        self.schema = ""
        self.pieces: list[bytes | bytearray | memoryview] = []
        self.size = 0
        self.keep = True  # False: the body is counted past, not buffered
        self.dropped = ""  # anomaly kind that cost this message its body
        self.held = 0  # bytes in `pieces`
        # `pieces` hold only the start of the body (the rest over the limit, lost or never
        # sent): the message is emitted as `incomplete`.
        self.cut = False
        # Bytes of this message were lost (gap) or never came (close, eviction): emitted
        # as `incomplete` with an `incomplete_message` anomaly.
        self.lost = False
        self.holds = False
        self.status = 0  # response status code; 0 for requests

    def type_from(self, fields: dict[str, bytes]) -> None:
        """The Content-Type among a head's framing fields, decided once for the message."""
        self.content_type = content_type = fields.get("content-type", b"").decode("latin-1")
        self.ctype = _content_type(content_type)


class _Side:
    """Per-direction parser state. `buf` is the caller's bytes while nothing is pending
    (no copy), a bytearray once bytes must be kept across segments."""

    __slots__ = (
        "buf",
        "direction",
        "gap_pending",
        "msg",
        "pos",
        "remaining",
        "scan_from",
        "seen",
        "skipped",
        "start_ok",
        "state",
        "ts_ns",
    )

    def __init__(self, direction: Direction) -> None:
        self.direction = direction
        self.state = _START
        self.buf: bytes | bytearray = b""
        self.pos = 0
        self.scan_from = 0  # where the next search for a delimiter starts
        self.msg: _Msg | None = None
        self.remaining = 0  # body or chunk bytes still expected
        self.seen = False  # a message start was parsed in this direction
        self.skipped = 0  # bytes skipped while resynchronising
        self.ts_ns = 0
        self.gap_pending = False  # response side lost bytes: re-align the FIFO
        self.start_ok = False  # the current head's first bytes were checked


class Http1Dissector(Dissector):
    """HTTP/1.x: both directions parsed independently, responses paired in order."""

    name: ClassVar[str] = "http"
    ports: ClassVar[frozenset[int]] = frozenset(
        {80, 591, 3000, 5000, 8000, 8008, 8065, 8080, 8081, 8088, 8888, 9200, 2375, 15672}
    )

    def __init__(
        self, limits: Limits | None = None, options: DissectorOptions | None = None
    ) -> None:
        super().__init__(limits, options)
        request, response = _Side(_REQUEST), _Side(_RESPONSE)
        # Spelled out: iterating the Direction enum costs more than the rest of __init__.
        self._sides = {_REQUEST: request, _RESPONSE: response}
        self._both = (request, response)
        self._fifo: deque[_Pending] = deque()
        # The request the last final response answered: a headless second response
        # (see the module docstring) is named after it.
        self._answered: _Pending | None = None
        self._done = False
        self._graphql = GraphQLTracker()  # GraphQL operations as apis (protocols.graphql)

    # -- the Dissector interface ------------------------------------------------------

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        if not data:
            return _NEED_MORE
        head = bytes(data[:MAX_START_LINE])
        if direction is _REQUEST:
            return _probe_request(head, http09=True)  # a connection's first bytes
        return _probe_response(head)

    def feed(self, direction: Direction, data: bytes, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        if self._done or side.state is _DONE or not data:
            return []
        side.ts_ns = ts_ns
        if side.pos >= len(side.buf):
            # Nothing pending: parse the caller's bytes in place.
            side.scan_from = 0
            side.buf = data if isinstance(data, bytes) else bytes(data)
            side.pos = 0
        else:
            if isinstance(side.buf, bytes):
                self._rebase(side, side.pos)
                side.buf = bytearray(memoryview(side.buf)[side.pos :])
                side.pos = 0
            side.buf += data
        events: list[Event] = []
        self._run(side, events)
        return events

    def gap(self, direction: Direction, size: int) -> list[Event]:
        side = self._sides[direction]
        if self._done or side.state is _DONE or size <= 0:
            return []
        events: list[Event] = []
        state = side.state
        msg = side.msg
        pending = len(side.buf) - side.pos
        # The body seen before a gap is kept (cut there) and emitted with the head.
        if state is _UNTIL_CLOSE and msg is not None:
            self._cut_body(side, msg, "body_gap", events)
            msg.lost = True
            return events
        if state in (_BODY, _CHUNK_DATA) and msg is not None and pending == 0:
            self._cut_body(side, msg, "body_gap", events)
            msg.lost = True
            if size <= side.remaining:
                # Lost bytes inside a body of known length: skip them, keep the framing.
                side.remaining -= size
                self._run(side, events)
                return events
            self._finish(side, events, resync=True)
        elif msg is not None:
            self._cut_body(side, msg, "body_gap", events)
            msg.lost = True
            self._finish(side, events, resync=True)
        else:
            events.append(Anomaly(kind="gap", direction=direction))
        if self._done:
            return events
        # The lost bytes began a new message (or several): resynchronise on the next one.
        side.buf = b""
        side.pos = side.scan_from = 0
        side.msg = None
        if direction is _REQUEST:
            if state is not _RESYNC:
                self._fifo.append(_LOST)
        else:
            side.gap_pending = True
        self._move(side, _RESYNC)
        return events

    def close(self, direction: Direction, ts_ns: int) -> list[Event]:
        side = self._sides[direction]
        if self._done or side.state is _DONE:
            return []
        side.ts_ns = ts_ns
        events: list[Event] = []
        msg = side.msg
        if msg is not None:
            if side.state is not _UNTIL_CLOSE:
                # The message never completed (a cut upload, a capture that ends, an
                # eviction): its head and the body seen are emitted, marked incomplete.
                self._cut_body(side, msg, "body_truncated", events)
                msg.lost = True
            # No next message can follow: DONE first, so that _finish does not try to
            # move from a chunk state to START (found by the mutation contract test).
            self._move(side, _DONE)
            self._finish(side, events)
        else:
            if side.state is _START and side.buf[side.pos :].strip(b"\r\n"):
                events.append(Anomaly(kind="truncated_message", direction=direction))
            self._move(side, _DONE)
        if self._done:  # _finish handed the connection off
            return events
        side.buf = b""
        side.pos = 0
        if direction is _RESPONSE:
            for pending in self._fifo:
                if pending is not _LOST:
                    events.append(Anomaly(kind="unanswered_request", direction=_REQUEST))
            self._fifo.clear()
        return events

    # -- the state machine ------------------------------------------------------------

    def _move(self, side: _Side, new: _State) -> None:
        if new not in _TRANSITIONS[side.state]:
            raise AssertionError(f"http1: no transition {side.state.value} -> {new.value}")
        side.state = new

    @staticmethod
    def _rebase(side: _Side, cut: int) -> None:
        side.scan_from = max(0, side.scan_from - cut)

    def _run(self, side: _Side, events: list[Event]) -> None:
        handlers = _HANDLERS
        while not self._done and handlers[side.state](self, side, events):
            pass
        if self._done:
            return
        # Compact: drop consumed bytes.
        buf = side.buf
        cut = side.pos
        if cut <= 0:
            return
        if cut >= len(buf):
            side.buf = b""
            side.pos = side.scan_from = 0
        elif isinstance(buf, bytearray):
            del buf[:cut]
            side.pos -= cut
            self._rebase(side, cut)
        # bytes buffers stay as they are: the next feed copies only the unread tail

    def _garbage(self, side: _Side, events: list[Event]) -> bool:
        kind = "resync" if side.seen else "midstream"
        events.append(Anomaly(kind=kind, direction=side.direction))
        side.scan_from = side.pos
        self._move(side, _RESYNC)
        return True

    def _on_done(self, side: _Side, events: list[Event]) -> bool:
        side.pos = len(side.buf)
        return False

    def _on_hold(self, side: _Side, events: list[Event]) -> bool:
        if len(side.buf) - side.pos > self.limits.max_buffer_bytes:
            raise ProtocolError("http1: bytes held after CONNECT/Upgrade exceed the buffer limit")
        return False

    def _on_resync(self, side: _Side, events: list[Event]) -> bool:
        buf = side.buf
        anchor = _REQUEST_ANCHOR if side.direction is _REQUEST else _RESPONSE_ANCHOR
        probe = _PROBES[side.direction]
        start = max(side.pos, side.scan_from)
        while True:
            found = anchor.search(buf, start)
            if found is None:
                keep = max(start, len(buf) - _RESYNC_TAIL)
                self._count_skipped(side, keep - side.pos)
                side.pos = side.scan_from = keep
                return False
            at = found.start()
            verdict = probe(bytes(buf[at : at + MAX_START_LINE]))
            if verdict is _YES:
                self._count_skipped(side, at - side.pos)
                side.pos = at
                side.skipped = 0
                side.start_ok = True
                self._move(side, _START)
                return True
            if verdict is _NEED_MORE:
                self._count_skipped(side, at - side.pos)
                side.pos = side.scan_from = at
                return False
            start = at + 1

    def _count_skipped(self, side: _Side, count: int) -> None:
        side.skipped += max(0, count)
        if side.skipped > self.limits.max_buffer_bytes:
            raise ProtocolError(
                f"http1: no start line in {side.skipped} bytes of {side.direction.value}"
            )

    def _on_start(self, side: _Side, events: list[Event]) -> bool:
        buf = side.buf
        size = len(buf)
        pos = side.pos
        # RFC 9112 section 2.2: empty lines before a start line are ignored.
        while pos < size and buf[pos] in (13, 10):
            pos += 1
        if pos != side.pos:
            side.pos = pos
            side.scan_from = max(side.scan_from, pos)
        if pos >= size:
            return False
        if side.direction is _REQUEST:
            if not side.seen and self._http09_request(side, events):
                return True
        elif self._fifo and self._fifo[0].http09:
            return self._http09_response(side, events)
        start = max(pos, side.scan_from)
        end = buf.find(b"\r\n\r\n", start)
        if 0 <= end - pos <= self.limits.max_header_bytes:
            # The usual head, CRLF throughout, split at once: when every LF in it is
            # in a CRLF, no bare-LF blank line comes before this one, so this is the
            # end `_head_end` finds and these are the lines `_lines` gives (one
            # search and two calls fewer per message).
            head = bytes(buf[pos:end])
            lines = head.split(b"\r\n")
            if head.count(b"\n") == len(lines) - 1:
                return self._head(side, lines, end + 4, events)
        end, body_at = _head_end(buf, start)
        if end < 0:
            if not side.start_ok:
                verdict = _PROBES[side.direction](bytes(buf[pos : pos + MAX_START_LINE]))
                if verdict is _NO:
                    if self._headless_wait(side, pos):
                        side.scan_from = max(pos, size - 3)
                        return False
                    return self._garbage(side, events)
                side.start_ok = verdict is _YES
            if size - pos > self.limits.max_header_bytes:
                raise ProtocolError(
                    f"http1: {side.direction.value} header block over "
                    f"{self.limits.max_header_bytes} bytes"
                )
            side.scan_from = max(pos, size - 3)
            return False
        if end - pos > self.limits.max_header_bytes:
            raise ProtocolError(
                f"http1: {side.direction.value} header block over "
                f"{self.limits.max_header_bytes} bytes"
            )
        return self._head(side, _lines(bytes(buf[pos:end]), body_at - end), body_at, events)

    def _head(self, side: _Side, lines: list[bytes], body_at: int, events: list[Event]) -> bool:
        """A whole head's lines (the start line first); its body starts at `body_at`."""
        if side.direction is _REQUEST:
            ok = self._request_head(side, lines, body_at, events)
        else:
            ok = self._response_head(side, lines, body_at, events)
            if not ok and self._headless_possible(side) and len(lines) > 1:
                ok = _header_tail(lines, complete=True) and self._headless_head(
                    side, lines, body_at, events
                )
        if not ok:
            return self._garbage(side, events)
        return True

    # -- HTTP/0.9 ------------------------------------------------------------------------

    def _http09_request(self, side: _Side, events: list[Event]) -> bool:
        """The connection's first request, if it is an HTTP/0.9 line: emitted at once
        (no header, no body); True when it was one."""
        buf = side.buf
        eol = buf.find(b"\n", side.pos, side.pos + MAX_START_LINE)
        if eol < 0:
            return False
        target = _http09_target(bytes(buf[side.pos : eol]))
        if target is None:
            return False
        msg = _Msg()
        self._request_target(msg, "GET", target.decode("ascii"), "")
        self._queue(_Pending("GET", msg.api, msg.host, msg.protocol, False, http09=True), events)
        side.seen = True
        side.start_ok = False
        side.pos = side.scan_from = eol + 1
        side.msg = msg
        self._finish(side, events)
        return True

    def _http09_response(self, side: _Side, events: list[Event]) -> bool:
        """The answer to an HTTP/0.9 request: the body until close, no status line, no
        headers; unless the server answers with a status line after all."""
        verdict = _probe_response(bytes(side.buf[side.pos : side.pos + 13]))
        if verdict is _NEED_MORE:
            return False
        if verdict is _YES:
            self._fifo[0].http09 = False  # an HTTP/1.x response: read its head
            return True
        pending = self._pair(side, events)
        msg = _Msg()
        msg.api = pending.api
        msg.host = pending.host
        side.seen = True
        side.start_ok = False
        side.msg = msg
        return self._begin_body(side, {}, -1, events)

    # -- heads ---------------------------------------------------------------------------

    def _headers(
        self, side: _Side, msg: _Msg, lines: list[bytes], events: list[Event]
    ) -> dict[str, bytes]:
        """Header lines -> parts; returns the framing-relevant fields by name. One pass
        over the lines; a block with obs-fold lines is read by `_folded_headers`."""
        fields: dict[str, bytes] = {}
        parts = msg.parts
        parts_before = len(parts)
        events_before = len(events)
        known = _KNOWN_NAMES
        shared = _SHARED_PARTS
        shared_lines = _SHARED_LINES
        header = _AT_HEADER
        for line in lines if len(lines) <= MAX_HEADER_LINES else lines[:MAX_HEADER_LINES]:
            seen = shared_lines.get(line)
            if seen is not None:
                # A shareable field line met before, as sent: what the rules below
                # made of it (`_SHARED_LINES`).
                part, name, kind, value = seen
                parts.append(part)
                if kind & _FRAMING:
                    # `_framing_field`, inline (a few framing lines in every head)
                    if name in fields:
                        _repeated_field(fields, name, value)
                    else:
                        fields[name] = value
                continue
            raw_name, sep, value = line.partition(b":")
            info = known.get(raw_name) if sep else None
            if info is None:
                if line[:1] in (b" ", b"\t"):
                    # obs-fold (or a name after blanks): this block's general reading
                    del parts[parts_before:]
                    del events[events_before:]
                    return self._folded_headers(side, msg, lines, events)
                if not sep or not raw_name or raw_name[-1:] in (b" ", b"\t"):
                    events.append(Anomaly(kind="bad_header", direction=side.direction))
                    continue
                name = raw_name.decode("latin-1").lower()
                info = (name, _NAME_KINDS.get(name, 0))
            name, kind = info
            value = value.strip(b" \t")
            # `_header_part`'s rules, inline: this loop runs for every header line of
            # every message. Keep the two in step (obs-fold blocks go through it).
            if not kind:
                parts.append(_part(location=header, name=name, data=value))
                continue
            if kind & _SHAREABLE and len(value) <= MAX_SHARED_VALUE:
                part = shared.get((name, value)) or _shared_part(name, value)
                parts.append(part)
                if len(line) <= MAX_SHARED_LINE:
                    _share_line(line, part, name, kind, value)
            elif kind & _COOKIES:
                _cookie_parts(parts, kind, value)
            else:
                parts.append(_part(location=header, name=name, data=value))
            if kind & _FRAMING:
                if name in fields:
                    _repeated_field(fields, name, value)
                else:
                    fields[name] = value
        if len(lines) > MAX_HEADER_LINES:
            events.append(Anomaly(kind="too_many_headers", direction=side.direction))
        return fields

    @staticmethod
    def _folded_headers(
        side: _Side, msg: _Msg, lines: list[bytes], events: list[Event]
    ) -> dict[str, bytes]:
        """`_headers` for a block with obs-fold lines (RFC 9112 section 5.2): each is
        joined to the field before it with a space, then the fields become parts."""
        folded: list[tuple[str, bytes]] = []
        for line in lines[:MAX_HEADER_LINES]:
            if line[:1] in (b" ", b"\t") and folded:
                name, value = folded[-1]
                folded[-1] = (name, value + b" " + line.strip(b" \t"))
                continue
            raw_name, sep, value = line.partition(b":")
            if not sep or not raw_name or raw_name[-1:] in (b" ", b"\t"):
                events.append(Anomaly(kind="bad_header", direction=side.direction))
                continue
            folded.append((raw_name.decode("latin-1").lower(), value.strip(b" \t")))
        if len(lines) > MAX_HEADER_LINES:
            events.append(Anomaly(kind="too_many_headers", direction=side.direction))
        fields: dict[str, bytes] = {}
        for name, value in folded:
            _header_part(msg.parts, fields, name, _NAME_KINDS.get(name, 0), value)
        return fields

    def _request_head(
        self, side: _Side, lines: list[bytes], body_at: int, events: list[Event]
    ) -> bool:
        fields_ = lines[0].split(b" ")
        if len(fields_) != 3:
            return False
        method = _METHOD_NAMES.get(fields_[0])
        if method is None or not fields_[1] or fields_[2] not in _VERSIONS:
            return False
        target = fields_[1].decode("latin-1")
        msg = _Msg()
        headers = self._headers(side, msg, lines[1:], events)
        host = headers.get("host", b"").decode("latin-1").strip()
        msg.type_from(headers)
        self._request_target(msg, method, target, host)
        msg.holds = method == "CONNECT" or "upgrade" in headers
        self._queue(_Pending(method, msg.api, msg.host, msg.protocol, msg.holds), events)
        side.seen = True
        side.start_ok = False
        side.pos = side.scan_from = body_at
        side.msg = msg
        if "transfer-encoding" in headers:
            codings = content_codings(headers["transfer-encoding"].decode("latin-1"))
            if not codings or codings[-1] != "chunked":
                # RFC 9112 section 6.3 item 4: a request must end with chunked
                events.append(Anomaly(kind="bad_framing", direction=side.direction))
                self._finish(side, events, resync=True)
                return True
            return self._begin_body(side, headers, None, events)
        length = self._content_length(side, headers, events)
        if length is None:
            return True
        return self._begin_body(side, headers, length, events)

    @staticmethod
    def _request_target(msg: _Msg, method: str, target: str, host: str) -> None:
        """Host, api and query part of a request from its target (and Host header)."""
        if target.startswith(("http://", "https://")):
            # absolute-form (RFC 9112 section 3.2.2): the authority is the host
            authority = target.split("://", 1)[1].split("/", 1)[0].split("?", 1)[0]
            host = authority
        # Never the userinfo (`Host: user:pass@api.example`), as HTTP/2 does: a credential
        # there is judged once, in the Host header's value, not again in the host column.
        msg.host = host.rsplit("@", 1)[-1]
        if msg.ctype.grpc:
            path = target.split("?", 1)[0]
            msg.protocol = "grpc"
            msg.api = path
            # protocols.protobuf resolves `/pkg.Svc/Method#request` to the input type.
            msg.schema = f"{path}#request"
            return
        msg.api = http_api(method, target)
        query = target.split("#", 1)[0].partition("?")[2]
        if query:
            msg.parts.insert(
                0,
                _part(
                    location=_AT_QUERY,
                    name="",
                    data=query.encode("latin-1"),
                    media_type=_FORM,
                ),
            )

    def _queue(self, pending: _Pending, events: list[Event]) -> None:
        """A request awaits its response (pairing FIFO, bounded)."""
        if len(self._fifo) >= MAX_PENDING:
            # A client never answered (one-sided capture, a request flood): forget the
            # oldest request; its response, if it ever comes, pairs as unpaired.
            self._fifo.popleft()
            events.append(Anomaly(kind="pending_overflow", direction=_REQUEST))
        self._fifo.append(pending)

    def _response_head(
        self, side: _Side, lines: list[bytes], body_at: int, events: list[Event]
    ) -> bool:
        status_line = lines[0]
        # `_probe_response(status_line[:13] + b" ") is not _YES` as one C match: the
        # pattern is 13 bytes long, and a line shorter than 12 cannot match either.
        if _STATUS_LINE_START.match(status_line[:13] + b" ") is None:
            return False
        status = int(status_line[9:12])
        msg = _Msg()
        msg.status = status
        headers = self._headers(side, msg, lines[1:], events)
        side.seen = True
        side.start_ok = False
        side.pos = side.scan_from = body_at
        if 100 <= status < 200 and status != 101:
            # Interim response (RFC 9110 section 15.2): the final one still pairs.
            return True
        pending = self._pair(side, events)
        if pending is not _LOST:
            self._answered = pending
        msg.type_from(headers)
        msg.api = pending.api
        msg.host = pending.host
        msg.protocol = pending.protocol
        if pending is _LOST and msg.ctype.grpc:
            msg.protocol = "grpc"
        if msg.protocol == "grpc":
            msg.schema = f"{pending.api}#response" if pending is not _LOST else ""
        side.msg = msg
        switch = status == 101 or (pending.method == "CONNECT" and 200 <= status < 300)
        if switch:
            self._finish(side, events)
            self._handoff(headers, status, events, msg)
            return True
        if pending.holds:
            self._release_hold(events)
        if pending.method == "HEAD" or status in _NO_BODY_STATUS:
            self._finish(side, events)
            return True
        return self._response_body(side, headers, events)

    def _response_body(self, side: _Side, headers: dict[str, bytes], events: list[Event]) -> bool:
        """A response body framed by its headers (RFC 9112 section 6.3 items 4-8)."""
        if "transfer-encoding" in headers:
            codings = content_codings(headers["transfer-encoding"].decode("latin-1"))
            if codings and codings[-1] == "chunked":
                return self._begin_body(side, headers, None, events)
            # RFC 9112 section 6.3 item 4: otherwise read until the connection closes
            return self._begin_body(side, headers, -1, events)
        if "content-length" in headers:
            length = self._content_length(side, headers, events)
            if length is None:
                return True
            return self._begin_body(side, headers, length, events)
        return self._begin_body(side, headers, -1, events)

    def _headless_possible(self, side: _Side) -> bool:
        """Could bytes here be a second response whose start was overwritten? Only on
        the response side, after a response, with no request left to answer."""
        return (
            side.direction is _RESPONSE
            and side.seen
            and not self._fifo
            and self._answered is not None
        )

    def _headless_wait(self, side: _Side, pos: int) -> bool:
        """Wait for the blank line of a possible headless response? While what came
        looks like the tail of a header block, within MAX_START_LINE bytes."""
        size = len(side.buf)
        if not self._headless_possible(side) or size - pos >= min(
            MAX_START_LINE, self.limits.max_header_bytes
        ):
            return False
        lines = bytes(side.buf[pos:size]).replace(b"\r\n", b"\n").split(b"\n")
        # The last piece may be a line still arriving: judged once it ends.
        return _header_tail(lines[:-1] if len(lines) > 1 else lines, complete=False)

    def _headless_head(
        self, side: _Side, lines: list[bytes], body_at: int, events: list[Event]
    ) -> bool:
        """The tail of a header block (its cut first line dropped) as a response to the
        request answered last, status unknown; the FIFO is not touched."""
        answered = self._answered
        assert answered is not None
        msg = _Msg()
        headers = self._headers(side, msg, lines[1:], events)
        events.append(Anomaly(kind="headless_response", direction=side.direction))
        side.start_ok = False
        side.pos = side.scan_from = body_at
        msg.type_from(headers)
        msg.api = answered.api
        msg.host = answered.host
        msg.protocol = answered.protocol
        if msg.protocol == "grpc":
            msg.schema = f"{answered.api}#response"
        side.msg = msg
        if answered.method == "HEAD":
            self._finish(side, events)
            return True
        return self._response_body(side, headers, events)

    def _pair(self, side: _Side, events: list[Event]) -> _Pending:
        fifo = self._fifo
        if side.gap_pending:
            # Responses were lost: under keep-alive without pipelining the response
            # that follows a loss answers the newest request; older ones stay unanswered.
            side.gap_pending = False
            while len(fifo) > 1:
                fifo.popleft()
                events.append(Anomaly(kind="unanswered_request", direction=_REQUEST))
        if not fifo:
            events.append(Anomaly(kind="unpaired_response", direction=side.direction))
            return _LOST
        return fifo.popleft()

    def _content_length(
        self, side: _Side, headers: dict[str, bytes], events: list[Event]
    ) -> int | None:
        raw = headers.get("content-length", b"0").strip()
        if not raw.isdigit() or len(raw) > 18:
            events.append(Anomaly(kind="bad_content_length", direction=side.direction))
            self._finish(side, events, resync=True)
            return None
        return int(raw)

    def _begin_body(
        self, side: _Side, headers: dict[str, bytes], length: int | None, events: list[Event]
    ) -> bool:
        """Set up the body: `length` None is chunked, -1 until close, else a length."""
        msg = side.msg
        assert msg is not None
        coding = headers.get("content-encoding")
        msg.codings = content_codings(coding.decode("latin-1")) if coding is not None else []
        # Binary media (images, archives, html) give no fields: count past, never buffer.
        # Other binary bodies get the binary fallback (protocols/_printable.py).
        msg.keep = msg.ctype.keep
        if length is None:
            self._move(side, _CHUNK_SIZE)
        elif length < 0:
            self._move(side, _UNTIL_CLOSE)
        elif length == 0:
            self._finish(side, events)
        else:
            side.remaining = length
            if length > self.limits.max_body_bytes:
                if msg.codings:
                    # The start of a compressed body cannot be decoded: not buffered.
                    self._drop_body(side, msg, "body_too_large", events)
                elif msg.keep:
                    # Counted now; the first max_body_bytes are kept (see _take).
                    msg.dropped = "body_too_large"
                    events.append(Anomaly(kind="body_too_large", direction=side.direction))
            self._move(side, _BODY)
        return True

    # -- bodies --------------------------------------------------------------------------

    def _take(self, side: _Side, msg: _Msg, count: int, events: list[Event]) -> None:
        """Consume `count` body bytes at `pos` (keeping them if the body is kept)."""
        buf = side.buf
        pos = side.pos
        if msg.keep:
            keep = min(count, self.limits.max_body_bytes - msg.held)
            if keep > 0:
                if isinstance(buf, bytes):
                    # immutable: a view costs nothing, the final join is the only copy
                    msg.pieces.append(
                        buf if pos == 0 and keep == len(buf) else memoryview(buf)[pos : pos + keep]
                    )
                else:
                    msg.pieces.append(buf[pos : pos + keep])
                msg.held += keep
            if keep < count:
                # Over max_body_bytes: the start is kept, the rest counted past.
                self._cut_body(side, msg, "body_too_large", events)
        msg.size += count
        side.pos = pos + count

    def _drop_body(self, side: _Side, msg: _Msg, kind: str, events: list[Event]) -> None:
        """The body is lost (reported once); a body not kept anyway loses nothing."""
        if msg.keep and not msg.dropped:
            msg.dropped = kind
            events.append(Anomaly(kind=kind, direction=side.direction))
        msg.keep = False
        msg.pieces = []
        msg.held = 0

    def _cut_body(self, side: _Side, msg: _Msg, kind: str, events: list[Event]) -> None:
        """No more of the body is kept (reported once), but what was kept stays: the
        message is emitted with the start of its body, as `incomplete`."""
        if msg.keep:
            msg.cut = True
            if not msg.dropped:
                msg.dropped = kind
                events.append(Anomaly(kind=kind, direction=side.direction))
        msg.keep = False

    def held_bytes(self) -> int:
        request, response = self._both
        held = len(request.buf) - request.pos + len(response.buf) - response.pos
        if request.msg is not None:
            held += request.msg.held
        if response.msg is not None:
            held += response.msg.held
        return held

    def _take_remaining(self, side: _Side, events: list[Event]) -> bool:
        """Takes what is buffered of the `remaining` bytes of a body or chunk; whether
        all of them have come."""
        msg = side.msg
        assert msg is not None
        count = min(side.remaining, len(side.buf) - side.pos)
        if count:
            self._take(side, msg, count, events)
            side.remaining -= count
        return not side.remaining

    def _on_body(self, side: _Side, events: list[Event]) -> bool:
        if not self._take_remaining(side, events):
            return False
        self._finish(side, events)
        return True

    def _on_until_close(self, side: _Side, events: list[Event]) -> bool:
        msg = side.msg
        assert msg is not None
        count = len(side.buf) - side.pos
        if count:
            self._take(side, msg, count, events)
        return False

    def _on_chunk_size(self, side: _Side, events: list[Event]) -> bool:
        buf = side.buf
        eol = buf.find(b"\n", max(side.pos, side.scan_from))
        if eol < 0:
            if len(buf) - side.pos > MAX_CHUNK_LINE:
                return self._bad_chunk(side, events, "bad_chunk")
            side.scan_from = len(buf)
            return False
        if eol - side.pos > MAX_CHUNK_LINE:
            return self._bad_chunk(side, events, "bad_chunk")
        # chunk-ext (RFC 9112 section 7.1.1) follows `;` and is ignored
        digits = bytes(buf[side.pos : eol]).split(b";", 1)[0].strip(b" \t\r")
        side.pos = side.scan_from = eol + 1
        if not digits or digits.strip(b"0123456789abcdefABCDEF"):
            return self._bad_chunk(side, events, "bad_chunk")
        if len(digits.lstrip(b"0")) > MAX_CHUNK_HEX_DIGITS:
            return self._bad_chunk(side, events, "bad_chunk_size")
        size = int(digits, 16)
        if size == 0:
            self._move(side, _TRAILERS)
        else:
            side.remaining = size
            self._move(side, _CHUNK_DATA)
        return True

    def _bad_chunk(self, side: _Side, events: list[Event], kind: str) -> bool:
        msg = side.msg
        assert msg is not None
        self._drop_body(side, msg, kind, events)
        self._finish(side, events, resync=True)
        return True

    def _on_chunk_data(self, side: _Side, events: list[Event]) -> bool:
        if not self._take_remaining(side, events):
            return False
        self._move(side, _CHUNK_END)
        return True

    def _on_chunk_end(self, side: _Side, events: list[Event]) -> bool:
        used = _line_break(side.buf, side.pos)
        if used == 0:
            return False
        if used < 0:
            return self._bad_chunk(side, events, "bad_chunk")
        side.pos = side.scan_from = side.pos + used
        self._move(side, _CHUNK_SIZE)
        return True

    def _on_trailers(self, side: _Side, events: list[Event]) -> bool:
        buf = side.buf
        pos = side.pos
        used = _line_break(buf, pos)
        if used == 0:
            return False
        if used > 0:
            side.pos = side.scan_from = pos + used
            self._finish(side, events)
            return True
        end, body_at = _head_end(buf, max(pos, side.scan_from))
        if end < 0:
            if len(buf) - pos > self.limits.max_header_bytes:
                raise ProtocolError("http1: trailer section over the header limit")
            side.scan_from = max(pos, len(buf) - 3)
            return False
        msg = side.msg
        assert msg is not None
        # Trailer fields (RFC 9112 section 7.1.2) are kept as header parts.
        self._headers(side, msg, _lines(bytes(buf[pos:end]), body_at - end), events)
        side.pos = side.scan_from = body_at
        self._finish(side, events)
        return True

    # -- completion, hand-offs -----------------------------------------------------------

    def _finish(self, side: _Side, events: list[Event], resync: bool = False) -> None:
        """Emit the current message and move to the next one (or to a resync)."""
        msg = side.msg
        side.msg = None
        side.remaining = 0
        if msg is not None:
            parts = msg.parts
            if msg.pieces:
                body = self._decoded_body(side, msg, events)
                if body:
                    media = msg.ctype.media or media_type_for_body(
                        msg.content_type, body
                    )
                    parts.append(
                        _part(
                            location=_AT_BODY,
                            name="",
                            data=body,
                            media_type=media,
                            schema=msg.schema,
                        )
                    )
            message = _message(
                protocol=msg.protocol,
                direction=side.direction,
                api=msg.api,
                host=msg.host,
                ts_ns=side.ts_ns,
                parts=tuple(parts),
                status=msg.status,
                incomplete=msg.cut or msg.lost,
            )
            events.extend(self._graphql.rewrite(message))
            if msg.lost:
                events.append(Anomaly(kind="incomplete_message", direction=side.direction))
        if side.state is _DONE or self._done:
            return
        if resync:
            side.scan_from = side.pos
            self._move(side, _RESYNC)
        elif msg is not None and msg.holds and side.direction is _REQUEST:
            self._move(side, _HOLD)
        else:
            self._move(side, _START)

    def _decoded_body(self, side: _Side, msg: _Msg, events: list[Event]) -> bytes:
        pieces = msg.pieces
        msg.pieces = []
        msg.held = 0
        body = bytes(pieces[0]) if len(pieces) == 1 else b"".join(pieces)
        if not msg.codings:
            return body
        try:
            return _decompress.decode_content(body, msg.codings, self.limits)
        except _decompress.DecompressionBomb:
            kind = "decompression_bomb"
        except _decompress.UnsupportedCoding:
            kind = "unsupported_encoding"
        except _decompress.DecompressionError:
            if msg.cut:
                return b""  # the start of a compressed stream: its cut is counted already
            kind = "bad_encoding"
        events.append(Anomaly(kind=kind, direction=side.direction))
        return b""

    def _release_hold(self, events: list[Event]) -> None:
        """The server refused the CONNECT/Upgrade: the client's bytes are HTTP again."""
        req = self._sides[_REQUEST]
        if req.state is _HOLD:
            self._move(req, _START)
            self._run(req, events)

    def _handoff(
        self, headers: dict[str, bytes], status: int, events: list[Event], msg: _Msg | None = None
    ) -> None:
        context: dict[str, str] = {}
        if status == 101:
            upgrade = headers.get("upgrade", b"").decode("latin-1").strip().lower()
            protocol = "http2" if upgrade == "h2c" else "opaque"
            if upgrade == "websocket" and msg is not None:
                protocol = "websocket"
                context = upgrade_context(msg.api, msg.host, msg.parts)
        else:
            protocol = ""  # CONNECT tunnel: the engine probes what runs inside
        leftover: dict[Direction, bytes] = {}
        for direction, side in self._sides.items():
            rest = bytes(side.buf[side.pos :])
            if rest:
                leftover[direction] = rest
            side.buf = b""
            side.pos = 0
            if side.state is not _DONE:
                self._move(side, _DONE)
        self._done = True
        events.append(
            Handoff(
                protocol=protocol,
                leftover=leftover,
                ts_ns=self._sides[_RESPONSE].ts_ns,
                context=context,
            )
        )


# State -> handler, one table for the class: a per-instance table of bound methods would
# cost about 1 KB per connection and a reference cycle (freed only by the cyclic GC).
_HANDLERS: dict[_State, Callable[[Http1Dissector, _Side, list[Event]], bool]] = {
    _State.START: Http1Dissector._on_start,
    _State.RESYNC: Http1Dissector._on_resync,
    _State.BODY: Http1Dissector._on_body,
    _State.CHUNK_SIZE: Http1Dissector._on_chunk_size,
    _State.CHUNK_DATA: Http1Dissector._on_chunk_data,
    _State.CHUNK_END: Http1Dissector._on_chunk_end,
    _State.TRAILERS: Http1Dissector._on_trailers,
    _State.UNTIL_CLOSE: Http1Dissector._on_until_close,
    _State.HOLD: Http1Dissector._on_hold,
    _State.DONE: Http1Dissector._on_done,
}

# The parts of descriptive headers (`SHAREABLE_HEADERS`: `Accept: application/json`,
# `Connection: keep-alive`), immutable, are made once and shared, bounded, values up to
# MAX_SHARED_VALUE bytes: nothing sensitive stays in this process-wide table.
MAX_SHARED_PARTS = 4096
_SHARED_PARTS: dict[tuple[str, bytes], Part] = {}
# The same for whole field lines as sent (`Accept: application/json`): a line seen again
# is one lookup instead of a split, a name lookup, a strip and the lookup above. Only
# lines of shareable fields, up to MAX_SHARED_LINE bytes, as many as MAX_SHARED_PARTS.
MAX_SHARED_LINE = 2 * MAX_SHARED_VALUE
_SHARED_LINES: dict[bytes, tuple[Part, str, int, bytes]] = {}

_FRAMING_FIELDS = frozenset(
    {"content-length", "transfer-encoding", "content-type", "content-encoding", "host", "upgrade"}
)

# What `_headers` does with a field besides keeping it (bits of a name's kind).
_SHAREABLE = 1  # its part may be shared (`_SHARED_PARTS`)
_FRAMING = 2  # returned among the fields that frame the body
_COOKIE = 4  # one part per cookie
_SET_COOKIE = 8  # the cookie it sets, attributes dropped
_COOKIES = _COOKIE | _SET_COOKIE
_NAME_KINDS: dict[str, int] = {
    name: (_SHAREABLE if name in SHAREABLE_HEADERS else 0)
    | (_FRAMING if name in _FRAMING_FIELDS else 0)
    for name in SHAREABLE_HEADERS | _FRAMING_FIELDS
}
_NAME_KINDS["cookie"] = _COOKIE
_NAME_KINDS["set-cookie"] = _SET_COOKIE


def _spellings(name: str) -> tuple[str, ...]:
    """How senders write a lower-case field name: as is, and Title-Case."""
    return (name, "-".join(word.capitalize() for word in name.split("-")))


# Field names as sent -> (lower-case name, kind), for the names most messages carry in
# their usual spellings: one lookup instead of decoding, lower-casing and classifying
# each line. A fixed table: nothing from the traffic is kept in it. Other names take
# the general way.
_KNOWN_NAMES: dict[bytes, tuple[str, int]] = {
    spelling.encode("latin-1"): (name, _NAME_KINDS.get(name, 0))
    for name in (
        *_NAME_KINDS,
        "accept-charset", "accept-ranges", "access-control-allow-origin", "age",
        "authorization", "content-disposition", "content-language", "content-location",
        "date", "etag", "expect", "expires", "forwarded", "if-match", "if-modified-since",
        "if-none-match", "keep-alive", "last-modified", "link", "location", "origin",
        "proxy-authorization", "range", "referer", "retry-after", "strict-transport-security",
        "te", "trailer", "user-agent", "via", "www-authenticate", "x-api-key",
        "x-correlation-id", "x-forwarded-for", "x-forwarded-host", "x-forwarded-proto",
        "x-real-ip", "x-request-id", "x-requested-with", "x-trace-id",
    )
    for spelling in (*_spellings(name), name.upper())
}  # fmt: skip
_KNOWN_NAMES.update(
    {spelling: (name, _NAME_KINDS.get(name, 0))
     for spelling in (b"ETag", b"WWW-Authenticate", b"X-Request-ID", b"TE")
     for name in (spelling.decode("latin-1").lower(),)}
)  # fmt: skip


def _header_part(
    parts: list[Part], fields: dict[str, bytes], name: str, kind: int, value: bytes
) -> None:
    """One header field (name lower-case, value stripped) -> its parts; a framing
    field is also put in `fields`. `_headers` has the same rules inline for speed: keep
    the two in step."""
    if kind & _COOKIES:
        _cookie_parts(parts, kind, value)
    elif kind & _SHAREABLE and len(value) <= MAX_SHARED_VALUE:
        parts.append(_SHARED_PARTS.get((name, value)) or _shared_part(name, value))
    else:
        parts.append(_part(location=_AT_HEADER, name=name, data=value))
    if kind & _FRAMING:
        _framing_field(fields, name, value)


def _cookie_parts(parts: list[Part], kind: int, value: bytes) -> None:
    """A Cookie header's cookies, or the cookie a Set-Cookie header sets."""
    if kind & _COOKIE:
        parts.extend(cookie_parts(value))
        return
    cookie = set_cookie_part(value)
    if cookie is not None:
        parts.append(cookie)


def _shared_part(name: str, value: bytes) -> Part:
    """The shared part of a shareable header's value, made on its first use."""
    shared = _SHARED_PARTS
    if len(shared) >= MAX_SHARED_PARTS:
        shared.clear()
    part = shared[(name, value)] = _part(location=_AT_HEADER, name=name, data=value)
    return part


def _share_line(line: bytes, part: Part, name: str, kind: int, value: bytes) -> None:
    """Remember what a shareable field line (as sent) gives, for its next sighting."""
    if len(_SHARED_LINES) >= MAX_SHARED_PARTS:
        _SHARED_LINES.clear()
    _SHARED_LINES[line] = (part, name, kind, value)


def _framing_field(fields: dict[str, bytes], name: str, value: bytes) -> None:
    """A framing field's value into `fields`; one seen before is joined (`_repeated_field`)."""
    if name in fields:
        _repeated_field(fields, name, value)
    else:
        fields[name] = value


def _repeated_field(fields: dict[str, bytes], name: str, value: bytes) -> None:
    """A framing field seen again: joined with a comma, except Content-Length, whose
    differing copies make it invalid."""
    if name == "content-length":
        if fields[name].strip() != value.strip():
            fields[name] = b"invalid"
    else:
        fields[name] = fields[name] + b"," + value


class _ContentTypeInfo(NamedTuple):
    """What a message asks of its Content-Type value."""

    media: str | None  # its media type, None when the value names none
    keep: bool  # whether the body is kept for decoding
    grpc: bool  # a gRPC body (application/grpc...)


# Content-Type value -> what each message asks of it, decided once per value. Bounded like
# `_SHARED_PARTS` (values up to MAX_SHARED_VALUE bytes, a table cleared when full);
# Content-Type is one of its shareable headers.
MAX_CONTENT_TYPES = 1024
_CONTENT_TYPES: dict[str, _ContentTypeInfo] = {}


def _content_type(content_type: str) -> _ContentTypeInfo:
    """What `content_type` decides for a message, from the bounded table when seen."""
    info = _CONTENT_TYPES.get(content_type)
    if info is None:
        media = media_type_of(content_type)
        keep = media != MediaType.BINARY or readable_binary(content_type)
        info = _ContentTypeInfo(media, keep, is_grpc(content_type))
        if len(content_type) <= MAX_SHARED_VALUE:
            if len(_CONTENT_TYPES) >= MAX_CONTENT_TYPES:
                _CONTENT_TYPES.clear()
            _CONTENT_TYPES[content_type] = info
    return info


_NO_CONTENT_TYPE = _content_type("")  # a message without Content-Type
