"""WebSocket (RFC 6455, RFC 7692) after an HTTP/1.1 upgrade: framing, masking,
fragmentation, control frames, permessage-deflate with and without context takeover,
message types in the api, binary payloads, limits, and the sample capture against
tshark's count of messages."""

from __future__ import annotations

import subprocess
import zlib
from pathlib import Path

import msgpack
import pytest

from dpi.api import scan_engine
from protocols.base import Anomaly, Direction, Event, Handoff, Limits, Location, MediaType, Message
from protocols.http1 import Http1Dissector
from protocols.payload import field_pairs
from protocols.websocket import WebSocketDissector, parse_extensions
from tests.builders.http1 import request, response
from tests.builders.websocket import (
    BINARY,
    CLOSE,
    CONTINUATION,
    PING,
    TEXT,
    Deflater,
    client_frame,
    frame,
    json_text,
)
from tests.recording import MessageRecorder

REQ, RESP = Direction.REQUEST, Direction.RESPONSE
DEFLATE = "permessage-deflate; client_max_window_bits"


def _ws(extensions: str = DEFLATE, limits: Limits | None = None) -> WebSocketDissector:
    dissector = WebSocketDissector(limits)
    dissector.takeover({"path": "/v1/chat/{id}", "host": "chat.example", "extensions": extensions})
    return dissector


def _messages(events: list[Event]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def _kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Anomaly)]


def _fields(message: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.parts:
        out.update(field_pairs(part, Limits()))
    return out


def test_masked_client_text_json_is_request_with_type_in_api() -> None:
    events = _ws().feed(REQ, client_frame(TEXT, json_text({"type": "message.send", "to": "a@b.io"})), 5)
    [message] = _messages(events)
    assert message.protocol == "http"
    assert message.direction is REQ
    assert message.api == "WS /v1/chat/{id} message.send"
    assert message.host == "chat.example"
    assert message.ts_ns == 5
    assert _fields(message) == {"type": "message.send", "to": "a@b.io"}
    assert message.parts[0].location is Location.BODY


def test_type_members_in_order_and_data_values_are_not_types() -> None:
    ws = _ws()
    apis = [
        _messages(ws.feed(RESP, frame(TEXT, json_text(doc)), 1))[0].api
        for doc in (
            {"event": "joined", "action": "x"},
            {"action": "pay"},
            {"op": "kyc.submit"},
            {"type": "12345"},  # a number is data, not a name
            {"type": "jane@example.com"},
            {"type": 2},
            ["type"],
        )
    ]
    assert apis == [
        "WS /v1/chat/{id} joined",
        "WS /v1/chat/{id} pay",
        "WS /v1/chat/{id} kyc.submit",
        "WS /v1/chat/{id}",
        "WS /v1/chat/{id}",
        "WS /v1/chat/{id}",
        "WS /v1/chat/{id}",
    ]


def test_fragments_joined_and_control_frames_between_them_skipped() -> None:
    text = json_text({"event": "profile", "phone": "+1 415 555 0134"})
    wire = (
        frame(TEXT, text[:7], fin=False)
        + frame(PING, b"keepalive")
        + frame(CONTINUATION, text[7:20], fin=False)
        + frame(CONTINUATION, text[20:])
    )
    events = _ws().feed(RESP, wire, 1)
    [message] = _messages(events)
    assert message.api == "WS /v1/chat/{id} profile"
    assert _fields(message)["phone"] == "+1 415 555 0134"
    assert _kinds(events) == []


def test_deflate_with_context_takeover_decodes_every_message() -> None:
    deflater = Deflater(takeover=True)
    doc = json_text({"type": "update", "email": "jane@example.com", "note": "same text again"})
    first, second = deflater.compress(doc), deflater.compress(doc)
    assert len(second) < len(first)  # the second refers back into the first
    ws = _ws()
    messages = _messages(
        ws.feed(REQ, client_frame(TEXT, first, rsv1=True) + client_frame(TEXT, second, rsv1=True), 1)
    )
    assert [_fields(m)["email"] for m in messages] == ["jane@example.com"] * 2


def test_deflate_without_context_takeover_uses_a_fresh_inflater_per_message() -> None:
    deflater = Deflater(takeover=False)
    docs = [json_text({"type": "t", "n": str(i), "card": "4111111111111111"}) for i in range(3)]
    ws = _ws("permessage-deflate; server_no_context_takeover")
    wire = b"".join(frame(BINARY, deflater.compress(d), rsv1=True) for d in docs)
    messages = _messages(ws.feed(RESP, wire, 1))
    assert [_fields(m)["n"] for m in messages] == ["0", "1", "2"]


def test_mid_stream_deflate_without_history_is_counted_and_later_ones_too() -> None:
    deflater = Deflater(takeover=True)
    doc = json_text({"type": "x", "text": "repeated repeated repeated repeated"})
    deflater.compress(doc)  # the first message was before the capture
    ws = _ws()
    events = ws.feed(RESP, frame(TEXT, deflater.compress(doc), rsv1=True), 1)
    events += ws.feed(RESP, frame(TEXT, deflater.compress(doc), rsv1=True), 2)
    assert _messages(events) == []
    assert _kinds(events) == ["bad_encoding", "websocket_deflate_context_lost"]


def test_deflate_bomb_is_bounded() -> None:
    limits = Limits(max_decompressed_bytes=64 * 1024)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    bomb = compressor.compress(b"{" + b" " * 10_000_000) + compressor.flush(zlib.Z_SYNC_FLUSH)
    events = _ws(limits=limits).feed(RESP, frame(TEXT, bomb[:-4], rsv1=True), 1)
    assert _messages(events) == []
    assert _kinds(events) == ["decompression_bomb"]


def test_rsv1_without_negotiated_deflate_is_a_protocol_error() -> None:
    from protocols.base import ProtocolError

    with pytest.raises(ProtocolError):
        _ws("").feed(RESP, frame(TEXT, b"x", rsv1=True), 1)


def test_parse_extensions_takeover_flags() -> None:
    assert parse_extensions("") == (False, True, True)
    assert parse_extensions("x-webkit; a=1, permessage-deflate; client_no_context_takeover") == (
        True,
        False,
        True,
    )
    assert parse_extensions("permessage-deflate; server_no_context_takeover") == (True, True, False)


def test_binary_messagepack_becomes_json_fields_with_op_type() -> None:
    payload = msgpack.packb({"op": "kyc.submit", "ssn": "512-44-3187", "n": 7, "raw": b"\xff"})
    [message] = _messages(_ws().feed(REQ, client_frame(BINARY, payload), 1))
    assert message.api == "WS /v1/chat/{id} kyc.submit"
    assert message.parts[0].media_type == MediaType.JSON
    assert _fields(message) == {"op": "kyc.submit", "ssn": "512-44-3187", "n": "7"}


def test_binary_protobuf_is_decoded_schema_less() -> None:
    payload = b"\x0a\x14jane.roe@example.com\x10\x2a"
    [message] = _messages(_ws().feed(RESP, frame(BINARY, payload), 1))
    assert message.parts[0].media_type == MediaType.PROTOBUF
    assert _fields(message) == {"1": "jane.roe@example.com", "2": "42"}


def test_undecodable_binary_gives_its_printable_runs_with_empty_field() -> None:
    payload = b"\x00\x07\x01\x92" + b"4111111111111111" + b"\x00\x9a\xff\x02ok\x00"
    [message] = _messages(_ws().feed(RESP, frame(BINARY, payload), 1))
    # One binary body: protocols.payload gives its printable runs as one value.
    assert [(p.media_type, p.data) for p in message.parts] == [(MediaType.BINARY, payload)]
    assert _fields(message) == {"": "4111111111111111"}


def test_ndjson_text_message() -> None:
    wire = frame(TEXT, b'{"type":"row","email":"a@b.io"}\n{"type":"row","email":"c@d.io"}\n')
    [message] = _messages(_ws().feed(RESP, wire, 1))
    assert message.api == "WS /v1/chat/{id} row"
    assert message.parts[0].media_type == MediaType.NDJSON


def test_close_frame_ends_the_direction() -> None:
    ws = _ws()
    events = ws.feed(REQ, client_frame(CLOSE, b"\x03\xe8") + client_frame(TEXT, b"after"), 1)
    assert _messages(events) == []
    assert ws.feed(REQ, client_frame(TEXT, b"later"), 2) == []


def test_message_over_body_limit_keeps_its_start_as_incomplete() -> None:
    limits = Limits(max_body_bytes=16)
    events = _ws(limits=limits).feed(RESP, frame(TEXT, b"x" * 40), 1)
    [message] = _messages(events)
    assert message.incomplete
    assert message.parts[0].data == b"x" * 16
    assert _kinds(events) == ["body_too_large"]


def test_gap_inside_payload_keeps_framing_and_marks_incomplete() -> None:
    ws = _ws()
    wire = frame(TEXT, b"a" * 30) + frame(TEXT, json_text({"type": "next"}))
    events = ws.feed(RESP, wire[:10], 1)
    events += ws.gap(RESP, 10)
    events += ws.feed(RESP, wire[20:], 2)
    messages = _messages(events)
    assert [m.incomplete for m in messages] == [True, False]
    assert messages[1].api == "WS /v1/chat/{id} next"


def test_close_mid_message_emits_what_was_seen() -> None:
    ws = _ws()
    events = ws.feed(RESP, frame(TEXT, b'{"email": "a@b.io"', fin=False), 1)
    events += ws.close(RESP, 2)
    [message] = _messages(events)
    assert message.incomplete
    assert "incomplete_message" in _kinds(events)


def test_without_handshake_api_is_unknown_and_probe_says_no() -> None:
    ws = WebSocketDissector()
    [message] = _messages(ws.feed(RESP, frame(TEXT, json_text({"type": "x"})), 1))
    assert message.api == "(unknown)"
    assert WebSocketDissector.probe(REQ, client_frame(TEXT, b"hello")).value == "no"


def test_http1_upgrade_hands_off_with_path_host_and_extensions() -> None:
    http = Http1Dissector()
    upgrade = request(
        "GET", "/v1/chat/42", [("Upgrade", "websocket"), ("Connection", "Upgrade")],
        host="chat.example",
    )  # fmt: skip
    switch = response(
        101,
        [("Upgrade", "websocket"), ("Sec-WebSocket-Extensions", DEFLATE)],
        reason="Switching Protocols",
        length=False,
    )
    events = http.feed(REQ, upgrade, 1) + http.feed(RESP, switch + frame(TEXT, b"{}"), 2)
    [handoff] = [e for e in events if isinstance(e, Handoff)]
    assert handoff.protocol == "websocket"
    assert handoff.context == {"path": "/v1/chat/{id}", "host": "chat.example", "extensions": DEFLATE}
    assert handoff.leftover == {RESP: frame(TEXT, b"{}")}


def _sample(samples_dir: Path) -> Path:
    capture = samples_dir / "websocket-chat.pcap"
    if not capture.is_file():
        pytest.skip("run python samples/make_websocket_graphql_samples.py")
    return capture


def test_sample_capture_messages_through_the_engine(samples_dir: Path) -> None:
    collect = MessageRecorder()
    engine = scan_engine(_sample(samples_dir), strict=True, observers=[collect])
    assert engine.stats.bugs == 0
    assert engine.stats.flows_by_protocol["websocket"] == 2
    ws = [m for m in collect.messages if m.api.startswith("WS ")]
    assert len(ws) == 13
    assert {m.api for m in ws if m.direction is REQ} == {
        "WS /v1/chat/{id} message.send",
        "WS /v1/chat/{id} payment.create",
        "WS /v1/chat/{id} kyc.submit",
        "WS /v1/chat/{id} feed.more",
        "WS /v2/feed/{id} subscribe",
        "WS /v2/feed/{id} blob.get",
    }
    assert not any(m.incomplete for m in ws)


@pytest.mark.tshark
def test_sample_message_count_matches_tshark(tshark: str, samples_dir: Path) -> None:
    capture = _sample(samples_dir)
    out = subprocess.run(
        [tshark, "-r", str(capture), "-d", "tcp.port==61801,http", "-Y",
         "websocket.opcode == 1 || websocket.opcode == 2", "-T", "fields", "-e", "frame.number"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    # A message is its first frame (text or binary); continuations are not counted.
    expected = len(out.split())
    collect = MessageRecorder()
    scan_engine(capture, strict=True, observers=[collect])
    assert sum(m.api.startswith("WS ") for m in collect.messages) == expected == 13
