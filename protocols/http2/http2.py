"""HTTP/2 in clear text (h2c) and gRPC over it: RFC 9113, RFC 7541 (through
`protocols.http2._hpack`), gRPC over HTTP/2 ("PROTOCOL-HTTP2.md") and gRPC-Web
("PROTOCOL-WEB.md").

One `Http2Dissector` sees both directions of one connection:
- framing (RFC 9113 section 4, 6): prior knowledge (client preface, section 3.4), after an
  `Upgrade: h2c` handoff (section 3.2 of RFC 7540; the engine feeds the bytes after the
  101), or a connection joined mid-way (the first bytes must be a plausible frame header);
  DATA, HEADERS, CONTINUATION, SETTINGS, RST_STREAM, GOAWAY, PUSH_PROMISE, PRIORITY,
  PING, WINDOW_UPDATE; PADDED and PRIORITY flags; unknown frame types skipped (4.1);
- streams (section 5.1) paired by id: a request and a response per stream, many
  interleaved; a response on a stream whose request was never seen gets api `(unknown)`
  (stream 1 after an upgrade, a capture started mid-way); server push (6.6) decodes the
  promised request headers (to keep HPACK in step and name the pushed response) but emits
  no request message;
- HPACK per direction, surviving unknown dynamic-table indexes ("hpack_unknown_index");
  what a connection joined mid-way can and cannot recover (a `:path` inserted before the
  capture began never is: those streams keep api `(unknown)`) is set out in
  `protocols.http2._hpack`;
- probe (`_probe_frames`, here; the rest of the work is `_session.py`'s
  `Http2Session`, imported when a connection first becomes HTTP/2) orientation-aware for connections joined mid-way: a HEADERS
  block whose pseudo-headers belong to the other direction (RFC 9113 8.3.1, 8.3.2) is a NO,
  so that the engine can swap roles that a port guess got wrong;
- gaps (`gap`): a gap inside a frame's payload keeps the framing (the rest of that frame
  is skipped); any other gap resyncs on the first two consecutive plausible frame
  headers ("frame_resync") and distrusts the dynamic table of that direction.

Messages:
- gRPC (content type `application/grpc*`, or, when no content type is known, DATA that
  chains as gRPC length prefixes): protocol `grpc`, api = `:path` verbatim. One Message
  per gRPC message, so that long streams stay bounded in memory: the first one of a
  direction also carries that direction's metadata; trailers (and header-only halves)
  give one more Message with `metadata` parts. Metadata parts: every header that is not
  a pseudo-header or gRPC transport header (`_GRPC_TRANSPORT_HEADERS`), `-bin` values
  base64-decoded (RFC 4648, padding optional as gRPC allows). Bodies are decompressed per
  `grpc-encoding` and handed as `application/x-protobuf` parts whose `schema` is
  `/pkg.Svc/Method#request|response` (see `protocols.protobuf`), or as JSON parts when
  the content type ends in `+json` or the message is a JSON document
  (`_grpc.json_document`: grpc-java sends JSON under plain `application/grpc`). Each
  `FileDescriptorProto` a server reflection response holds is returned as a `Learned`
  event (`FactKind.PROTOBUF_FILE`) before that response's Message: the engine adds it
  to the scan's schema registry, so the response itself is read with it.
- anything else: protocol `http`, api `METHOD /template` (`http_api`), one Message per
  direction at END_STREAM with HEADER, COOKIE, QUERY and BODY parts as HTTP/1.x does
  (same helpers: `protocols._http_headers`); `content-encoding` is undone, bounded, by
  `protocols._decompress`. A stream half that never ends (closed connection, end of
  capture, eviction) or lost bytes is emitted with what was seen, `incomplete=True` and
  an `incomplete_message` anomaly; a body over `max_body_bytes` keeps its start.
- WebSocket through extended CONNECT (RFC 8441): a request with `:method CONNECT` and
  `:protocol websocket` (the server's SETTINGS_ENABLE_CONNECT_PROTOCOL is not required:
  a capture may miss it) is emitted when its headers come, api `CONNECT /template`, and
  so is a 2xx answer, whose `sec-websocket-extensions` sets permessage-deflate; the
  stream's DATA then goes to a `protocols.websocket.WebSocketParser`, each direction,
  whose messages are named as after an HTTP/1.1 upgrade (`WS /template type`). A non-2xx
  answer makes the stream plain HTTP. A WebSocket protocol error stops that stream's
  direction (`websocket_protocol_error`), not the connection; a DATA frame lost inside a
  WebSocket payload leaves a hole in that message, one lost at a frame boundary (or a
  padded one) stops that direction.

Not supported: TLS (h2 over TLS is opaque here), gRPC-Web-text bodies are buffered whole
per direction (bounded by `max_body_bytes`) rather than decoded per message,
flow-control accounting.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from protocols.base import Direction, Probe, SessionDissector
from protocols.http2 import _frames as _h2_frames
from protocols.http2._frames import FRAME_HEADER_LEN, PREFACE, FrameError, FrameType

if TYPE_CHECKING:
    from protocols.http2._session import Http2Session

# Frames the probe walks looking for one that only the other side may send: the engine
# hands at most 8 KiB per side, which holds a few dozen small control frames.
MAX_PROBE_FRAMES = 64


class Http2Dissector(SessionDissector):
    """One HTTP/2 connection, both directions (see the module docstring).

    The work is done by a `Http2Session` (`_session.py`), loaded with the first
    connection of this protocol (`SessionDissector`)."""

    name = "http2"
    ports = frozenset()

    _session: Http2Session

    def _new_session(self) -> Http2Session:
        from protocols.http2._session import Http2Session

        return Http2Session(self.limits, self.options)

    # -- probe -----------------------------------------------------------------------

    @classmethod
    def probe(cls, direction: Direction, data: bytes) -> Probe:
        if not data:
            return Probe.NEED_MORE
        if direction is Direction.REQUEST and PREFACE.startswith(data[: len(PREFACE)]):
            return Probe.YES if len(data) >= len(PREFACE) else Probe.NEED_MORE
        return _probe_frames(direction, data)



def _probe_frames(direction: Direction, data: bytes) -> Probe:
    """Plausible frame headers back to back: two complete frames, or frames that end
    exactly with the data, or a SETTINGS frame first (a server's first frame); and no
    frame that only the other side may send.

    The other side's frames (RFC 9113 5.1.1, 6.6, 8.3): in the request direction, a
    HEADERS or DATA frame on an even stream, a PUSH_PROMISE, or a HEADERS block whose
    pseudo-headers are a response's (`:status`); in the response direction, a HEADERS
    block whose pseudo-headers are a request's. Every complete frame of `data` (up to
    `MAX_PROBE_FRAMES`) is checked, not only the first two, so that a connection joined
    mid-way is not accepted in the wrong orientation because its first frames were
    WINDOW_UPDATE or DATA; when it shows no HEADERS block at all, both orientations
    stay plausible and the verdict is the framing's alone."""
    pos = 0
    frames = 0
    verdict = Probe.NEED_MORE
    while len(data) - pos >= FRAME_HEADER_LEN and frames < MAX_PROBE_FRAMES:
        header = _h2_frames.parse_header(data, pos)
        if not _h2_frames.plausible(header, _h2_frames.DEFAULT_MAX_FRAME_SIZE, strict=True):
            # Garbage after frames already judged plausible does not undo the verdict
            # (the probe sees a prefix that may end anywhere).
            return verdict if verdict is Probe.YES else Probe.NO
        if direction is Direction.REQUEST and (
            header.type == FrameType.PUSH_PROMISE
            or (
                header.type in (FrameType.HEADERS, FrameType.DATA, FrameType.CONTINUATION)
                and header.stream_id % 2 == 0
            )
        ):
            return Probe.NO  # clients open odd streams only and never push (5.1.1, 6.6)
        if frames == 0 and header.type == FrameType.SETTINGS and not header.flags:
            verdict = Probe.YES
        stop = pos + FRAME_HEADER_LEN + header.length
        if stop > len(data):
            return verdict
        if header.type == FrameType.HEADERS and _sent_by_peer(
            direction, data[pos + FRAME_HEADER_LEN : stop], header.flags
        ):
            return Probe.NO
        pos = stop
        frames += 1
        if frames >= 2:
            verdict = Probe.YES
    if pos == len(data) and frames:
        return Probe.YES
    return verdict


def _sent_by_peer(direction: Direction, payload: bytes, flags: int) -> bool:
    """Does this HEADERS payload carry the pseudo-headers of the other direction?"""
    from protocols.http2._hpack import block_role  # HEADERS frames only: most probes never

    try:
        fragment = _h2_frames.headers_fragment(payload, flags)
    except FrameError:
        return False  # a malformed frame says nothing about who sent it
    role = block_role(fragment)
    if direction is Direction.REQUEST:
        return role == "response"
    return role == "request"
