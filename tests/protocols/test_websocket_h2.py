"""WebSocket through HTTP/2 extended CONNECT (RFC 8441): crafted h2c captures whose
extended CONNECT stream carries JSON messages both ways (with and without
permessage-deflate) give the same rows as the HTTP/1.1 upgrade would, next to an
ordinary h2 stream of the same connection; plus the stream-level edge cases (a refused
CONNECT, a bad frame, lost bytes, held bytes) on the dissector directly."""

from __future__ import annotations

import struct
from pathlib import Path

from dpi.api import scan_engine
from protocols.base import Anomaly, Direction, Event, Message
from protocols.http2 import Http2Dissector
from tests.builders import http2 as b
from tests.builders.conversation import Conversation
from tests.builders.websocket import (
    CLOSE,
    TEXT,
    Deflater,
    client_frame,
    frame,
    json_text,
)

REQ, RESP = Direction.REQUEST, Direction.RESPONSE
ENABLE_CONNECT_PROTOCOL = 0x8  # RFC 8441 section 3
HOST = "chat.example"
SERVER = "10.0.0.5:8080"


def _server_settings() -> bytes:
    return b.frame(b.SETTINGS, 0, 0, struct.pack(">HI", ENABLE_CONNECT_PROTOCOL, 1))


def _connect(hp: b.Hpack, sid: int, path: str, extensions: str = "") -> bytes:
    pairs = [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", path),
        (":authority", HOST),
        ("sec-websocket-version", "13"),
    ]
    if extensions:
        pairs.append(("sec-websocket-extensions", extensions))
    return b.headers(sid, hp.req(pairs))


def _accept(hp: b.Hpack, sid: int, extensions: str = "", status: str = "200") -> bytes:
    pairs = [(":status", status)]
    if extensions:
        pairs.append(("sec-websocket-extensions", extensions))
    return b.headers(sid, hp.resp(pairs))


def _capture(tmp_path: Path, deflate: bool) -> Path:
    """Stream 1: extended CONNECT to /v1/chat/42 with two messages each way, a close
    each way, END_STREAM; stream 3: a plain JSON POST, interleaved with stream 1."""
    hp = b.Hpack()
    extensions = "permessage-deflate" if deflate else ""
    client, server = Deflater(), Deflater()

    def client_msg(document: object) -> bytes:
        raw = json_text(document)
        if deflate:
            return client_frame(TEXT, client.compress(raw), rsv1=True)
        return client_frame(TEXT, raw)

    def server_msg(document: object) -> bytes:
        raw = json_text(document)
        if deflate:
            return frame(TEXT, server.compress(raw), rsv1=True)
        return frame(TEXT, raw)

    conv = Conversation().handshake()
    conv.request(b.PREFACE + b.settings())
    conv.response(_server_settings() + b.settings(ack=True))
    conv.request(b.settings(ack=True) + _connect(hp, 1, "/v1/chat/42", extensions))
    conv.response(_accept(hp, 1, extensions))
    conv.request(b.data(1, client_msg({"type": "message.send", "email": "jane.doe@example.com"})))
    conv.response(b.data(1, server_msg({"event": "payment.ok", "card": "4111 1111 1111 1111"})))
    # A normal h2 stream of the same connection, while the WebSocket is open.
    post = json_text({"email": "bob.smith@example.org"})
    conv.request(
        b.headers(
            3,
            hp.req(
                [
                    (":method", "POST"),
                    (":scheme", "http"),
                    (":path", "/v1/users"),
                    (":authority", HOST),
                    ("content-type", "application/json"),
                ]
            ),
        )
        + b.data(3, post, end=True)
    )
    conv.request(b.data(1, client_msg({"type": "card.add", "card": "5500 0000 0000 0004"})))
    conv.response(
        b.headers(3, hp.resp([(":status", "201"), ("content-type", "application/json")]))
        + b.data(3, json_text({"id": 7, "email": "bob.smith@example.org"}), end=True)
    )
    conv.response(b.data(1, server_msg({"event": "message.new", "email": "ann.lee@example.net"})))
    conv.request(b.data(1, client_frame(CLOSE, struct.pack(">H", 1000)), end=True))
    conv.response(b.data(1, frame(CLOSE, struct.pack(">H", 1000)), end=True))
    conv.close()
    return conv.write(tmp_path / ("ws-h2-deflate.pcap" if deflate else "ws-h2.pcap"))


EXPECTED_ROWS = [
    ("http", "POST /v1/users", "request", "email", "EMAIL_ADDRESS"),
    ("http", "POST /v1/users", "response", "email", "EMAIL_ADDRESS"),
    ("http", "WS /v1/chat/{id} card.add", "request", "card", "CARD_NUMBER"),
    ("http", "WS /v1/chat/{id} message.new", "response", "email", "EMAIL_ADDRESS"),
    ("http", "WS /v1/chat/{id} message.send", "request", "email", "EMAIL_ADDRESS"),
    ("http", "WS /v1/chat/{id} payment.ok", "response", "card", "CARD_NUMBER"),
]


def _rows(capture: Path) -> list[tuple[str, str, str, str, str]]:
    engine = scan_engine(capture, strict=True)
    rows = []
    for r in engine.inventory.rows():
        assert (r.server, r.host) == (SERVER, HOST)
        if r.data_type in ("EMAIL_ADDRESS", "CARD_NUMBER"):
            rows.append((r.protocol, r.api, r.direction, r.field, r.data_type))
    return sorted(rows)


def test_extended_connect_websocket_messages_become_rows(tmp_path: Path) -> None:
    assert _rows(_capture(tmp_path, deflate=False)) == EXPECTED_ROWS


def test_extended_connect_websocket_with_permessage_deflate(tmp_path: Path) -> None:
    assert _rows(_capture(tmp_path, deflate=True)) == EXPECTED_ROWS


# -- the dissector directly ------------------------------------------------------------


def _messages(events: list[Event]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def _kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Anomaly)]


def _opened(extensions: str = "") -> tuple[Http2Dissector, list[Event]]:
    hp = b.Hpack()
    h2 = Http2Dissector()
    events = h2.feed(REQ, b.PREFACE + b.settings() + _connect(hp, 1, "/ws/7", extensions), 1)
    events += h2.feed(RESP, _server_settings() + _accept(hp, 1, extensions), 2)
    return h2, events


def test_handshake_headers_are_emitted_when_they_come_and_not_again() -> None:
    h2, events = _opened()
    request, response = _messages(events)
    assert (request.api, request.direction, request.incomplete) == ("CONNECT /ws/{id}", REQ, False)
    assert (response.api, response.status) == ("CONNECT /ws/{id}", 200)
    events = h2.feed(REQ, b.data(1, client_frame(TEXT, b'{"op":"sub"}'), end=True), 3)
    events += h2.close(REQ, 4) + h2.close(RESP, 4)
    [message] = _messages(events)
    assert (message.api, message.direction, message.ts_ns) == ("WS /ws/{id} sub", REQ, 3)
    assert "incomplete_message" not in _kinds(events)
    assert h2.held_bytes() == 0


def test_frame_split_across_data_frames_is_held_then_joined() -> None:
    h2, _ = _opened()
    wire = frame(TEXT, json_text({"event": "tick", "email": "a.b@example.com"}))
    assert not _messages(h2.feed(RESP, b.data(1, wire[:5]), 3))
    assert h2.held_bytes() == 3  # the payload's first bytes (the 2-byte header is read)
    [message] = _messages(h2.feed(RESP, b.data(1, wire[5:]), 4))
    assert (message.api, message.direction) == ("WS /ws/{id} tick", RESP)
    assert h2.held_bytes() == 0


def test_rsv1_without_negotiated_deflate_stops_that_direction_only() -> None:
    h2, _ = _opened()
    events = h2.feed(REQ, b.data(1, client_frame(TEXT, b"x", rsv1=True)), 3)
    assert _kinds(events) == ["websocket_protocol_error"]
    assert not _messages(h2.feed(REQ, b.data(1, client_frame(TEXT, b'{"a":1}')), 4))
    [message] = _messages(h2.feed(RESP, b.data(1, frame(TEXT, b'{"type":"ok"}')), 5))
    assert message.api == "WS /ws/{id} ok"


def test_deflate_negotiated_by_the_response_header() -> None:
    h2, _ = _opened("permessage-deflate; server_no_context_takeover")
    server = Deflater(takeover=False)
    wire = b"".join(
        frame(TEXT, server.compress(json_text({"type": "t", "n": i})), rsv1=True) for i in range(2)
    )
    assert [m.api for m in _messages(h2.feed(RESP, b.data(1, wire), 3))] == [
        "WS /ws/{id} t",
        "WS /ws/{id} t",
    ]


def test_refused_connect_is_plain_http_and_data_is_not_websocket() -> None:
    hp = b.Hpack()
    h2 = Http2Dissector()
    events = h2.feed(REQ, b.PREFACE + _connect(hp, 1, "/ws/7"), 1)
    events += h2.feed(
        RESP,
        b.headers(1, hp.resp([(":status", "403"), ("content-type", "application/json")]))
        + b.data(1, json_text({"error": "denied"}), end=True),
        2,
    )
    apis = [(m.api, m.direction, m.status) for m in _messages(events)]
    assert apis == [("CONNECT /ws/{id}", REQ, 0), ("CONNECT /ws/{id}", RESP, 403)]
    events = h2.feed(REQ, b.data(1, b"", end=True), 3)
    assert not _messages(events)  # the request's headers were emitted already


def test_lost_data_frame_inside_a_websocket_payload_keeps_its_framing() -> None:
    h2, _ = _opened()
    first = frame(TEXT, json_text({"type": "a", "v": "x" * 60}))
    second = frame(TEXT, json_text({"type": "b"}))
    pieces = [b.data(1, first[:20]), b.data(1, first[20:50]), b.data(1, first[50:] + second)]
    events = h2.feed(RESP, pieces[0], 3)
    # The middle DATA frame loses bytes after its header: the frame is dropped whole,
    # its 30 bytes lie inside the WebSocket payload, so the WebSocket framing holds.
    events += h2.feed(RESP, pieces[1][:12], 3)
    events += h2.gap(RESP, len(pieces[1]) - 15)
    events += h2.feed(RESP, pieces[1][-3:] + pieces[2], 4)
    assert "gap" in _kinds(events)
    cut, whole = _messages(events)
    assert cut.api.startswith("WS /ws/{id}") and cut.incomplete
    assert (whole.api, whole.incomplete) == ("WS /ws/{id} b", False)
    assert "incomplete_message" in _kinds(events)


def test_lost_data_frame_at_a_websocket_frame_boundary_stops_that_direction() -> None:
    h2, _ = _opened()
    lost = b.data(1, frame(TEXT, json_text({"type": "a", "v": "x" * 40})))
    events = h2.feed(RESP, lost[:20], 3)
    events += h2.gap(RESP, len(lost) - 25)
    events += h2.feed(RESP, lost[-5:] + b.data(1, frame(TEXT, json_text({"type": "b"}))), 4)
    # Where the next WebSocket frame starts cannot be known: nothing is guessed.
    assert "gap" in _kinds(events)
    assert not _messages(events)
    [message] = _messages(h2.feed(REQ, b.data(1, client_frame(TEXT, b'{"op":"c"}')), 5))
    assert message.api == "WS /ws/{id} c"
