"""HTTP/1.x dissector: framing, pairing, codings, gaps, upgrades (RFC 9112, RFC 9110),
from builder bytes and from the real captures under tests/captures (cross-checked
with tshark, which also extracts the TCP byte streams until dpi.reassembly exists)."""

from __future__ import annotations

import gzip
import subprocess
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from protocols.base import (
    Anomaly,
    Direction,
    Event,
    Handoff,
    Limits,
    Location,
    MediaType,
    Message,
    Probe,
    ProtocolError,
)
from protocols.http1 import Http1Dissector
from protocols.payload import decode_part
from tests.builders import http1 as b

REQ, RESP = Direction.REQUEST, Direction.RESPONSE


def feed_all(
    conv: list[tuple[Direction, bytes]], dissector: Http1Dissector | None = None, close: bool = True
) -> list[Event]:
    d = dissector or Http1Dissector()
    events: list[Event] = []
    for ts, (direction, data) in enumerate(conv, start=1):
        events += d.feed(direction, data, ts)
    if close:
        events += d.close(REQ, 99) + d.close(RESP, 99)
    return events


def messages(events: list[Event]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def anomalies(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Anomaly)]


def body(msg: Message) -> bytes:
    found = [p for p in msg.parts if p.location is Location.BODY]
    return found[0].data if found else b""


def part(msg: Message, location: Location, name: str = "") -> bytes | None:
    for p in msg.parts:
        if p.location is location and p.name == name:
            return p.data
    return None


def fields(msg: Message, limits: Limits | None = None) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for p in msg.parts:
        for fv in decode_part(p, limits or Limits()):
            out[(fv.location.value, fv.path)] = fv.value
    return out


# -- probe -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("direction", "data", "expected"),
    [
        (REQ, b"GET / HTTP/1.1\r\n", Probe.YES),
        (REQ, b"PROPFIND /dav HTTP/1.0\r\nHost: x\r\n", Probe.YES),
        (REQ, b"GE", Probe.NEED_MORE),
        (REQ, b"GET /very/long", Probe.NEED_MORE),
        (REQ, b"GET / HTT", Probe.NEED_MORE),
        (REQ, b"GET / HTTP/2.0\r\n", Probe.NO),
        (REQ, b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Probe.NO),
        (REQ, b"FOO / HTTP/1.1\r\n", Probe.NO),
        (REQ, b"\x16\x03\x01\x02\x00", Probe.NO),
        (REQ, b"GET / X", Probe.NO),
        (RESP, b"HTTP/1.1 200 OK\r\n", Probe.YES),
        (RESP, b"HTTP/1.0 404\r\n", Probe.YES),
        (RESP, b"HTTP/1.", Probe.NEED_MORE),
        (RESP, b"HTTP/2 200\r\n", Probe.NO),
        (RESP, b"SSH-2.0-OpenSSH_8.7\r\n", Probe.NO),
        (REQ, b"", Probe.NEED_MORE),
    ],
)
def test_probe_start_lines_classified(direction: Direction, data: bytes, expected: Probe) -> None:
    assert Http1Dissector.probe(direction, data) is expected


# -- framing and pairing ------------------------------------------------------------------


def test_keepalive_content_length_pairs_in_order() -> None:
    events = feed_all(
        [
            (REQ, b.json_request("POST", "/v1/users", {"email": "a@example.test"})),
            (RESP, b.json_response({"id": 7}, 201)),
            (REQ, b.request("GET", "/v1/users/7?fields=email&x=")),
            (RESP, b.json_response({"email": "a@example.test"})),
        ]
    )
    msgs = messages(events)
    assert [(m.direction, m.api) for m in msgs] == [
        (REQ, "POST /v1/users"),
        (RESP, "POST /v1/users"),
        (REQ, "GET /v1/users/{id}"),
        (RESP, "GET /v1/users/{id}"),
    ]
    assert all(m.host == "api.example.test" and m.protocol == "http" for m in msgs)
    assert fields(msgs[0])[("body", "email")] == "a@example.test"
    assert part(msgs[2], Location.QUERY) == b"fields=email&x="
    assert fields(msgs[2])[("query", "fields")] == "email"
    assert ("query", "x") not in fields(msgs[2])
    assert fields(msgs[3])[("header", "content-type")] == "application/json"
    assert anomalies(events) == []


def _gzip_request(body: bytes, encodings: int = 1) -> bytes:
    """A JSON POST whose body is gzipped `encodings` times, one Content-Encoding line each."""
    for _ in range(encodings):
        body = gzip.compress(body)
    return (
        b"POST /v1/users HTTP/1.1\r\nHost: api.example.test\r\nAccept:  application/json \r\n"
        + b"Content-Type: application/json\r\n"
        + b"Content-Encoding: gzip\r\n" * encodings
        + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body
    )


def test_a_field_line_seen_again_reads_as_the_first_time() -> None:
    # Shareable lines met before take a shorter way (_SHARED_LINES): same parts, same
    # framing (host, media type, content coding) on every message.
    request = _gzip_request(b'{"email": "a@example.test"}')
    msgs = messages(feed_all([(REQ, request)] * 3))
    shapes = [[(p.location, p.name, p.data, p.media_type) for p in m.parts] for m in msgs]
    assert len(shapes) == 3 and shapes[0] == shapes[1] == shapes[2]
    assert [m.host for m in msgs] == ["api.example.test"] * 3
    assert fields(msgs[2])[("body", "email")] == "a@example.test"
    assert fields(msgs[2])[("header", "accept")] == "application/json"


def test_a_framing_line_seen_again_and_repeated_is_joined() -> None:
    # The second request sends the known `Content-Encoding: gzip` line twice: both
    # codings apply (joined as `gzip,gzip`), so the twice-gzipped body is read.
    events = feed_all(
        [(REQ, _gzip_request(b'{"a": 1}')), (REQ, _gzip_request(b'{"email": "b@example.test"}', 2))]
    )
    msgs = messages(events)
    assert fields(msgs[1])[("body", "email")] == "b@example.test"
    assert "bad_encoding" not in anomalies(events)


def test_pipelined_requests_pair_with_responses_in_order() -> None:
    reqs = b"".join(b.request("GET", f"/item/{name}") for name in ("a", "b", "c"))
    resps = b"".join(b.response(200, [("Content-Type", "text/plain")], n.encode()) for n in "abc")
    msgs = messages(feed_all([(REQ, reqs), (RESP, resps)]))
    assert [m.api for m in msgs if m.direction is RESP] == [
        "GET /item/a",
        "GET /item/b",
        "GET /item/c",
    ]
    assert [body(m) for m in msgs if m.direction is RESP] == [b"a", b"b", b"c"]


def test_chunked_with_extensions_and_trailers_reassembled() -> None:
    payload = orjson.dumps({"card": {"number": "4111111111111111"}})
    req = b.request(
        "POST",
        "/pay",
        [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
        b.chunked(payload, 3, "name=value", [("X-Digest", "sha-256=abc")]),
    )
    events = feed_all([(REQ, req), (RESP, b.response(204, length=False))])
    msg = messages(events)[0]
    assert body(msg) == payload
    assert part(msg, Location.HEADER, "x-digest") == b"sha-256=abc"
    assert fields(msg)[("body", "card.number")] == "4111111111111111"
    assert anomalies(events) == []


@pytest.mark.parametrize("coding", ["gzip", "x-gzip", "deflate", "raw-deflate", "br", "zstd"])
def test_content_encoding_decoded(coding: str) -> None:
    payload = orjson.dumps({"patients": [{"address": {"zip": "94110"}}]})
    name = "deflate" if coding == "raw-deflate" else coding
    resp = b.response(
        200,
        [("Content-Type", "application/json"), ("Content-Encoding", name)],
        b.encode(payload, coding),
    )
    msgs = messages(feed_all([(REQ, b.request()), (RESP, resp)]))
    assert body(msgs[1]) == payload
    assert fields(msgs[1])[("body", "patients[].address.zip")] == "94110"


def test_stacked_codings_undone_in_reverse() -> None:
    payload = b'{"a": "b"}'
    resp = b.response(
        200,
        [("Content-Type", "application/json"), ("Content-Encoding", "gzip, br")],
        b.encode(b.encode(payload, "gzip"), "br"),
    )
    assert body(messages(feed_all([(REQ, b.request()), (RESP, resp)]))[1]) == payload


def test_gzip_bomb_skipped_with_anomaly() -> None:
    bomb = gzip.compress(b"0" * (4 * 1024 * 1024), compresslevel=9)
    resp = b.response(
        200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], bomb
    )
    events = feed_all([(REQ, b.request()), (RESP, resp)])
    assert "decompression_bomb" in anomalies(events)
    assert body(messages(events)[1]) == b""


def test_corrupt_gzip_reported_bad_encoding() -> None:
    resp = b.response(
        200, [("Content-Type", "application/json"), ("Content-Encoding", "gzip")], b"\x1f\x8bjunk"
    )
    events = feed_all([(REQ, b.request()), (RESP, resp)])
    assert anomalies(events) == ["bad_encoding"]
    assert len(messages(events)) == 2


def test_head_204_304_have_no_body_and_keep_alive_continues() -> None:
    events = feed_all(
        [
            (REQ, b.request("HEAD", "/a") + b.request("GET", "/b") + b.request("GET", "/c")),
            (
                RESP,
                b.response(200, [("Content-Length", "500")])
                + b.response(204, length=False)
                + b.response(304, [("Content-Length", "9")])
                + b"",
            ),
            (REQ, b.request("GET", "/d")),
            (RESP, b.response(200, [("Content-Type", "text/plain")], b"d")),
        ]
    )
    resps = [m for m in messages(events) if m.direction is RESP]
    assert [m.api for m in resps] == ["HEAD /a", "GET /b", "GET /c", "GET /d"]
    assert body(resps[3]) == b"d"
    assert anomalies(events) == []


def test_interim_100_continue_skipped_real_response_pairs() -> None:
    req_head = b.request(
        "PUT", "/upload", [("Expect", "100-continue"), ("Content-Length", "4")], length=False
    )
    events = feed_all(
        [
            (REQ, req_head),
            (RESP, b.response(100, reason="Continue", length=False)),
            (REQ, b"data"),
            (RESP, b.response(103, [("Link", "</s.css>")], reason="Early Hints", length=False)),
            (RESP, b.response(201, [("Content-Type", "text/plain")], b"ok")),
        ]
    )
    msgs = messages(events)
    assert [(m.direction, m.api) for m in msgs] == [(REQ, "PUT /upload"), (RESP, "PUT /upload")]
    assert body(msgs[0]) == b"data" and body(msgs[1]) == b"ok"


def test_response_read_until_close() -> None:
    resp = b.response(200, [("Content-Type", "application/json")], length=False)
    d = Http1Dissector()
    events = feed_all([(REQ, b.request(version="HTTP/1.0")), (RESP, resp + b'{"a":')], d, False)
    assert len(messages(events)) == 1
    events = d.feed(RESP, b'"x"}', 5) + d.close(RESP, 6)
    assert body(messages(events)[0]) == b'{"a":"x"}'


def test_body_over_limit_keeps_its_start_and_counts_the_rest_past() -> None:
    limits = Limits(max_body_bytes=100)
    big = b'{"a": "' + b"x" * 500 + b'"}'
    conv = [
        (REQ, b.request("POST", "/big", [("Content-Type", "application/json")], big)),
        (
            REQ,
            b.request(
                "POST",
                "/big",
                [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
                b.chunked(big, 50),
            ),
        ),
        (RESP, b.response(200, [("Content-Type", "text/plain")], b"1")),
        (RESP, b.response(200, [("Content-Type", "text/plain")], b"2")),
    ]
    events = feed_all(conv, Http1Dissector(limits))
    assert anomalies(events) == ["body_too_large", "body_too_large"]
    msgs = messages(events)
    # The first max_body_bytes of each body are kept (issue 16: a body that never ends
    # still gives what was seen), the messages marked incomplete.
    assert [body(m) for m in msgs] == [big[:100], big[:100], b"1", b"2"]
    assert [m.incomplete for m in msgs] == [True, True, False, False]


def test_binary_media_not_buffered() -> None:
    resp = b.response(200, [("Content-Type", "image/png")], b"\x89PNG" + bytes(1000))
    msgs = messages(feed_all([(REQ, b.request()), (RESP, resp)]))
    assert body(msgs[1]) == b""


@pytest.mark.parametrize(
    ("content_type", "data", "media"),
    [
        ("application/json; charset=utf-8", b"{}", MediaType.JSON),
        ("application/problem+json", b"{}", MediaType.JSON),
        ("text/json", b"{}", MediaType.JSON),
        ("", b' {"a": 1} ', MediaType.JSON),
        ("text/plain", b"[1, 2]", MediaType.JSON),
        ("text/plain", b"hello", MediaType.TEXT),
        ("application/x-ndjson", b"{}\n{}", MediaType.NDJSON),
        ("application/jsonl", b"{}", MediaType.NDJSON),
        ("application/json-seq", b"\x1e{}", MediaType.NDJSON),
        ("application/x-www-form-urlencoded", b"a=1", MediaType.FORM),
        ("text/event-stream", b"data: {}\n\n", MediaType.SSE),
        ("multipart/form-data; boundary=XyZ", b"--XyZ--", "multipart/form-data; boundary=XyZ"),
        ("text/csv", b"a,b", MediaType.TEXT),
        ("", b"\x00\x01", MediaType.BINARY),
    ],
)
def test_media_type_mapped(content_type: str, data: bytes, media: str) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    msg = messages(feed_all([(REQ, b.request("POST", "/x", headers, data))]))[0]
    assert [p.media_type for p in msg.parts if p.location is Location.BODY] == [media]


def test_cookies_become_cookie_parts() -> None:
    req = b.request("GET", "/", [("Cookie", "sid=s3cr3t; theme=dark; =bad; flag")])
    resp = b.response(200, [("Set-Cookie", "token=abc.def; Path=/; Secure; HttpOnly")])
    msgs = messages(feed_all([(REQ, req), (RESP, resp)]))
    assert part(msgs[0], Location.COOKIE, "sid") == b"s3cr3t"
    assert part(msgs[0], Location.COOKIE, "theme") == b"dark"
    assert part(msgs[0], Location.HEADER, "cookie") is None
    assert part(msgs[1], Location.COOKIE, "token") == b"abc.def"
    assert fields(msgs[1])[("cookie", "token")] == "abc.def"


def test_absolute_form_target_gives_host() -> None:
    req = b.request("GET", "http://proxy.example.test:8080/v1/a?q=1", host=None)
    msg = messages(feed_all([(REQ, req)]))[0]
    assert msg.host == "proxy.example.test:8080"
    assert msg.api == "GET /v1/a"


def test_obs_fold_and_bad_header_line() -> None:
    req = b"GET / HTTP/1.1\r\nHost: h\r\nX-Long: a\r\n  b\r\nnocolon\r\n\r\n"
    events = feed_all([(REQ, req)])
    assert part(messages(events)[0], Location.HEADER, "x-long") == b"a b"
    assert anomalies(events) == ["bad_header", "unanswered_request"]


def test_fold_found_late_in_a_block_reads_like_a_block_without_one() -> None:
    # The one-pass reading meets the fold after it made parts and a bad_header of the
    # lines before it: the block is read again, and nothing counts twice.
    head = (
        b"POST /f HTTP/1.1\r\nHost: h\r\nnocolon\r\nCookie: a=1; b=2\r\n"
        b"Accept: application/json\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n"
    )
    chunked = b"3\r\nabc\r\n0\r\n\r\n"
    seen = []
    for tail in (b"X-Long: a\r\n\r\n", b"X-Long: a\r\n  b\r\n\r\n"):
        events = feed_all([(REQ, head + tail + chunked)])
        (msg,) = messages(events)
        assert anomalies(events) == ["bad_header", "unanswered_request"]
        seen.append([(p.location.value, p.name, p.data) for p in msg.parts])
    expected = [
        ("header", "host", b"h"),
        ("cookie", "a", b"1"),
        ("cookie", "b", b"2"),
        ("header", "accept", b"application/json"),
        ("header", "transfer-encoding", b"gzip"),
        ("header", "transfer-encoding", b"chunked"),
    ]
    assert seen[0] == [*expected, ("header", "x-long", b"a"), ("body", "", b"abc")]
    assert seen[1] == [*expected, ("header", "x-long", b"a b"), ("body", "", b"abc")]


def test_header_block_over_limit_is_protocol_error() -> None:
    d = Http1Dissector(Limits(max_header_bytes=100))
    with pytest.raises(ProtocolError):
        d.feed(REQ, b"GET / HTTP/1.1\r\nX: " + b"a" * 200, 1)


def test_grpc_web_over_http1_is_grpc() -> None:
    message = b"\x00\x00\x00\x00\x05\x0a\x03abc"
    req = b.request(
        "POST", "/pkg.Greeter/SayHello", [("Content-Type", "application/grpc-web+proto")], message
    )
    resp = b.response(200, [("Content-Type", "application/grpc-web+proto")], message)
    msgs = messages(feed_all([(REQ, req), (RESP, resp)]))
    assert [(m.protocol, m.api) for m in msgs] == [("grpc", "/pkg.Greeter/SayHello")] * 2
    parts = [p for p in msgs[0].parts if p.location is Location.BODY]
    assert parts[0].media_type == "application/grpc-web+proto"
    assert parts[0].schema == "/pkg.Greeter/SayHello#request"
    response_body = [p for p in msgs[1].parts if p.location is Location.BODY]
    assert response_body[0].schema == "/pkg.Greeter/SayHello#response"


def test_unpaired_response_gets_unknown_api() -> None:
    events = feed_all([(RESP, b.response(200, [("Content-Type", "text/plain")], b"x"))])
    assert messages(events)[0].api == "(unknown)"
    assert "unpaired_response" in anomalies(events)


def test_request_without_response_still_emitted() -> None:
    events = feed_all([(REQ, b.request("GET", "/lonely"))])
    assert [m.api for m in messages(events)] == ["GET /lonely"]
    assert anomalies(events) == ["unanswered_request"]


# -- upgrades and tunnels -----------------------------------------------------------------


def test_upgrade_h2c_hands_off_with_leftover() -> None:
    req = b.request("GET", "/", [("Connection", "Upgrade, HTTP2-Settings"), ("Upgrade", "h2c")])
    resp = b.response(
        101,
        [("Connection", "Upgrade"), ("Upgrade", "h2c")],
        length=False,
        reason="Switching Protocols",
    )
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    d = Http1Dissector()
    events = feed_all(
        [(REQ, req + preface), (RESP, resp + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")],
        d,
        close=False,
    )
    handoffs = [e for e in events if isinstance(e, Handoff)]
    assert len(handoffs) == 1 and handoffs[0].protocol == "http2"
    assert handoffs[0].leftover == {REQ: preface, RESP: b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"}
    assert [m.direction for m in messages(events)] == [REQ, RESP]
    assert d.feed(REQ, b"more", 9) == [] and d.close(RESP, 9) == []


def test_websocket_upgrade_hands_off_to_websocket() -> None:
    req = b.request("GET", "/ws", [("Upgrade", "websocket"), ("Connection", "Upgrade")])
    resp = b.response(101, [("Upgrade", "websocket")], length=False)
    events = feed_all([(REQ, req), (RESP, resp + b"\x81\x05hello")], close=False)
    handoff = next(e for e in events if isinstance(e, Handoff))
    assert handoff.protocol == "websocket" and handoff.leftover == {RESP: b"\x81\x05hello"}
    assert handoff.context["path"] == "/ws"


def test_refused_upgrade_keeps_parsing_http() -> None:
    req = b.request("GET", "/", [("Upgrade", "h2c")]) + b.request("GET", "/next")
    events = feed_all([(REQ, req), (RESP, b.response(200) + b.response(200))])
    assert not [e for e in events if isinstance(e, Handoff)]
    for direction in Direction:
        assert [m.api for m in messages(events) if m.direction is direction] == [
            "GET /",
            "GET /next",
        ]


def test_connect_2xx_hands_off_for_reprobe() -> None:
    req = b.request("CONNECT", "127.0.0.1:6233", host="127.0.0.1:6233")
    tunnel = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    events = feed_all(
        [
            (REQ, req + tunnel),
            (RESP, b.response(200, length=False, reason="Connection established")),
        ],
        close=False,
    )
    handoff = next(e for e in events if isinstance(e, Handoff))
    assert handoff.protocol == "" and handoff.leftover == {REQ: tunnel}
    assert messages(events)[0].api == "CONNECT 127.0.0.1:6233"


def test_connect_refused_continues() -> None:
    req = b.request("CONNECT", "h:443", host="h:443") + b.request("GET", "/x")
    resp = b.response(407, [("Content-Type", "text/plain")], b"auth") + b.response(200)
    events = feed_all([(REQ, req), (RESP, resp)])
    for direction in Direction:
        assert [m.api for m in messages(events) if m.direction is direction] == [
            "CONNECT h:443",
            "GET /x",
        ]


# -- gaps, mid-stream, resync -------------------------------------------------------------


def test_gap_inside_known_length_body_cuts_that_body_only() -> None:
    payload = b'{"a": "' + b"x" * 100 + b'"}'
    resp = b.response(200, [("Content-Type", "application/json")], payload)
    head_len = resp.index(b"\r\n\r\n") + 4
    d = Http1Dissector()
    events = feed_all([(REQ, b.request("GET", "/1") + b.request("GET", "/2"))], d, close=False)
    events += d.feed(RESP, resp[: head_len + 10], 2)
    events += d.gap(RESP, 20)
    events += d.feed(RESP, resp[head_len + 30 :] + b.json_response({"b": "c"}), 3)
    resps = [m for m in messages(events) if m.direction is RESP]
    assert [m.api for m in resps] == ["GET /{id}", "GET /{id}"]
    # The bytes before the gap are kept (issue 16), the message marked incomplete.
    assert body(resps[0]) == payload[:10] and body(resps[1]) == b'{"b":"c"}'
    assert [m.incomplete for m in resps] == [True, False]
    assert anomalies(events) == ["body_gap", "incomplete_message"]


def test_gap_across_message_boundary_resyncs_on_next_start_line() -> None:
    first = b.json_response({"a": 1})
    second = b.json_response({"b": 2})
    d = Http1Dissector()
    events = feed_all([(REQ, b.request("GET", "/1") + b.request("GET", "/2"))], d, close=False)
    events += d.feed(RESP, first[:30], 2)
    events += d.gap(RESP, len(first) - 30 + 5)  # the rest of `first` and 5 bytes of `second`
    events += d.feed(RESP, second[5:] + b.json_response({"c": 3}), 3)
    events += d.feed(REQ, b.request("GET", "/3"), 4)
    events += d.close(REQ, 5) + d.close(RESP, 5)
    resps = [m for m in messages(events) if m.direction is RESP]
    # the first response's head was cut: lost; the second's start line too; the third pairs
    assert [body(m) for m in resps] == [b'{"c":3}']
    assert "gap" in anomalies(events)


def test_gap_in_chunked_body_resyncs() -> None:
    resp = b.gzip_chunked_json_response({"x": "y" * 50})
    d = Http1Dissector()
    events = feed_all([(REQ, b.request("GET", "/a") + b.request("GET", "/b"))], d, close=False)
    head_len = resp.index(b"\r\n\r\n") + 4
    events += d.feed(RESP, resp[: head_len + 4], 2)
    events += d.gap(RESP, 100)
    events += d.feed(RESP, resp[head_len + 104 :] + b.json_response({"ok": 1}), 3)
    resps = [m for m in messages(events) if m.direction is RESP]
    assert body(resps[-1]) == b'{"ok":1}'
    assert resps[-1].api == "GET /b"
    assert "body_gap" in anomalies(events)


def test_lost_response_pairs_next_with_newest_request() -> None:
    d = Http1Dissector()
    events = feed_all([(REQ, b.request("GET", "/1")), (RESP, b.response(200))], d, close=False)
    events += d.feed(REQ, b.request("GET", "/2"), 3)
    events += d.feed(REQ, b.request("GET", "/3"), 4)
    events += d.gap(RESP, len(b.response(200)))
    events += d.feed(RESP, b.response(200, [("X-N", "3")]), 5)
    events += d.close(REQ, 6) + d.close(RESP, 6)
    resps = [m for m in messages(events) if m.direction is RESP]
    assert [m.api for m in resps] == ["GET /{id}", "GET /{id}"]
    assert part(resps[1], Location.HEADER, "x-n") == b"3"
    assert anomalies(events).count("unanswered_request") == 1


def test_lost_request_pairs_response_with_unknown() -> None:
    d = Http1Dissector()
    events = d.feed(REQ, b.request("GET", "/a")[:10], 1)
    events += d.gap(REQ, 500)
    events += d.feed(RESP, b.response(200, [("Content-Type", "text/plain")], b"x"), 2)
    events += d.feed(REQ, b.request("GET", "/b"), 3)
    events += d.feed(RESP, b.response(200, [("Content-Type", "text/plain")], b"y"), 4)
    resps = [m for m in messages(events) if m.direction is RESP]
    assert [(m.api, body(m)) for m in resps] == [("(unknown)", b"x"), ("GET /b", b"y")]


def test_midstream_start_scans_to_start_line() -> None:
    tail = b'ody": "rest of a previous message"}\r\n'
    events = feed_all(
        [
            (REQ, tail + b.request("GET", "/users/5")),
            (RESP, b"ld\r\n0\r\n\r\n" + b.response(200, [("Content-Type", "text/plain")], b"z")),
        ]
    )
    assert anomalies(events) == ["midstream", "midstream"]
    assert [(m.direction, m.api) for m in messages(events)] == [
        (REQ, "GET /users/{id}"),
        (RESP, "GET /users/{id}"),
    ]


def test_garbage_between_messages_resyncs() -> None:
    events = feed_all([(REQ, b.request("GET", "/1") + b"\x00garbage\r\n" + b.request("GET", "/2"))])
    assert [m.api for m in messages(events)] == ["GET /{id}", "GET /{id}"]
    assert "resync" in anomalies(events)


def test_chunk_size_overflow_is_anomaly_and_terminates() -> None:
    req = (
        b"POST / HTTP/1.1\r\nHost: target\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"10000000000000000\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: target\r\n\r\n"
    )
    events = feed_all([(REQ, req)])
    assert "bad_chunk_size" in anomalies(events)
    assert [m.api for m in messages(events)] == ["POST /", "GET /smuggled"]


def test_invalid_content_length_resyncs() -> None:
    req = b"POST /a HTTP/1.1\r\nContent-Length: 1x\r\n\r\n" + b.request("GET", "/b")
    events = feed_all([(REQ, req)])
    assert "bad_content_length" in anomalies(events)
    assert [m.api for m in messages(events)] == ["POST /a", "GET /b"]


def test_truncated_body_at_close_emits_headers_and_the_body_seen() -> None:
    req = b.request("POST", "/a", [("Content-Type", "application/json")], b'{"a": 1}')
    events = feed_all([(REQ, req[:-3])])
    assert "body_truncated" in anomalies(events) and "incomplete_message" in anomalies(events)
    (msg,) = messages(events)
    assert body(msg) == b'{"a":' and msg.incomplete


def test_no_anomaly_or_error_repr_quotes_payload() -> None:
    secret = b"SUPERSECRETVALUE"
    events = feed_all([(REQ, secret + b"\r\n" + b.request("POST", "/x", [], secret))])
    for event in events:
        assert "SUPERSECRET" not in repr(event)


# -- real captures ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Chunk:
    direction: Direction
    data: bytes
    gap: int
    ts_ns: int


def tcp_streams(tshark: str, path: Path) -> dict[int, list[Chunk]]:
    """Per TCP stream, the payload chunks of both directions in capture order, with a
    gap where sequence numbers jump (retransmitted bytes trimmed: first copy wins)."""
    cmd = [
        tshark, "-r", str(path), "-Y", "tcp", "-T", "fields", "-E", "separator=|",
        "-e", "tcp.stream", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tcp.flags.syn",
        "-e", "tcp.flags.ack", "-e", "tcp.seq_raw", "-e", "tcp.payload", "-e", "frame.time_epoch",
    ]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, check=True, text=True).stdout
    rows: dict[int, list[tuple[int, int, bool, bool, int, bytes, int]]] = defaultdict(list)
    for line in out.splitlines():
        f_stream, f_sport, f_dport, f_syn, f_ack, f_seq, f_payload, f_ts = line.split("|")
        rows[int(f_stream)].append(
            (int(f_sport), int(f_dport), f_syn in ("1", "True"), f_ack in ("1", "True"), int(f_seq),
             bytes.fromhex(f_payload.replace(":", "")), int(float(f_ts) * 1e9))
        )  # fmt: skip
    streams: dict[int, list[Chunk]] = {}
    for stream, packets in rows.items():
        client = None
        for sport, _dport, syn, ack, *_ in packets:
            if syn and not ack:
                client = sport
                break
        if client is None:
            first = next((p for p in packets if p[5]), None)
            if first is None:
                continue
            probe = Http1Dissector.probe(REQ, first[5])
            client = first[0] if probe is not Probe.NO else first[1]
        next_seq: dict[int, int] = {}
        chunks: list[Chunk] = []
        for sport, _dport, syn, _ack, seq, payload, ts in packets:
            if syn:
                next_seq[sport] = seq + 1
                continue
            if not payload:
                continue
            direction = REQ if sport == client else RESP
            expected = next_seq.get(sport, seq)
            gap = 0
            if seq > expected:
                gap = seq - expected
            elif seq < expected:
                payload = payload[expected - seq :]
                if not payload:
                    continue
            next_seq[sport] = max(expected, seq) + len(payload)
            chunks.append(Chunk(direction=direction, data=payload, gap=gap, ts_ns=ts))
        streams[stream] = chunks
    return streams


def dissect_capture(tshark: str, path: Path, limits: Limits | None = None) -> list[list[Event]]:
    result = []
    for _, chunks in sorted(tcp_streams(tshark, path).items()):
        d = Http1Dissector(limits)
        events: list[Event] = []
        stopped = False
        for chunk in chunks:
            if stopped:
                break
            if chunk.gap:
                events += d.gap(chunk.direction, chunk.gap)
            events += d.feed(chunk.direction, chunk.data, chunk.ts_ns)
            stopped = any(isinstance(e, Handoff) for e in events)
        events += d.close(REQ, 0) + d.close(RESP, 0)
        result.append(events)
    return result


def tshark_http(tshark: str, path: Path, *fields_: str) -> list[list[str]]:
    cmd = [tshark, "-r", str(path), "-Y", "http", "-T", "fields", "-E", "separator=|"]
    for f in fields_:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, check=True, text=True).stdout
    return [line.split("|") for line in out.splitlines()]


def all_messages(per_stream: list[list[Event]]) -> list[Message]:
    return [m for events in per_stream for m in messages(events)]


def method_uri(msg: Message) -> str:
    return msg.api.split(" ", 1)[0]


def test_capture_mattermost_login_fields(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "http/mattermost-api-login-upload.pcap"
    msgs = all_messages(dissect_capture(tshark, path))
    reqs = [m for m in msgs if m.direction is REQ]
    expected = [r[0] for r in tshark_http(tshark, path, "http.request.method") if r[0]]
    assert [method_uri(m) for m in reqs] == expected
    login = next(m for m in reqs if m.api == "POST /api/v4/users/login")
    got = fields(login)
    assert got[("body", "login_id")] == "toto" and got[("body", "password")] == "tototo"
    assert all(m.host.startswith("localhost") for m in reqs)
    resps = [m for m in msgs if m.direction is RESP]
    codes = [r[0] for r in tshark_http(tshark, path, "http.response.code") if r[0]]
    assert len(resps) == len(codes)
    assert any(path_[0] == "body" and path_[1] == "email" for path_ in fields(resps[0]))


def test_capture_createorder_json_paths(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "http/createorder-json-keepalive.pcap"
    msgs = all_messages(dissect_capture(tshark, path))
    reqs = [m for m in msgs if m.direction is REQ]
    assert [m.api for m in reqs] == ["POST /createOrder"] * 3
    got = fields(reqs[0])
    assert got[("body", "phone")] == "13635383957"
    assert ("body", "items[].itemId") in got or any(k[1].endswith("itemId") for k in got)
    assert part(reqs[0], Location.HEADER, "sw8") is not None
    tshark_values = tshark_http(tshark, path, "json.member_with_value")
    first = tshark_values[0][0].split(",")
    for member in first:
        key, _, value = member.partition(":")
        if key == "phone":
            assert value == got[("body", "phone")]
    resps = [m for m in msgs if m.direction is RESP]
    assert len(resps) == 3 and all(m.api == "POST /createOrder" for m in resps)
    assert all(fields(m) for m in resps)


def test_capture_npm_chunked_gzip_large(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "http/npm-registry-json-chunked-gzip.pcap"
    per_stream = dissect_capture(tshark, path)
    msgs = all_messages(per_stream)
    reqs = [m for m in msgs if m.direction is REQ]
    resps = [m for m in msgs if m.direction is RESP]
    uris = [r[0] for r in tshark_http(tshark, path, "http.request.uri") if r[0]]
    assert sorted(m.api.split(" ", 1)[1] for m in reqs) == sorted(u.split("?")[0] for u in uris)
    assert len(resps) == len(reqs) == 11
    bodies = [body(m) for m in resps]
    assert all(bodies) and sum(map(len, bodies)) > 10_000_000
    wide = Limits(max_fields_per_part=10**7)
    emails = {
        fv.value
        for m in resps
        for p in m.parts
        for fv in decode_part(p, wide)
        if fv.path.endswith("email")
    }
    assert len(emails) > 50
    kinds = [k for events in per_stream for k in anomalies(events)]
    assert "bad_encoding" not in kinds and "decompression_bomb" not in kinds


def test_capture_httpbin_gzip(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "http/httpbin-gzip-json.pcap"
    msgs = all_messages(dissect_capture(tshark, path))
    assert [(m.direction, m.api) for m in msgs] == [(REQ, "GET /gzip"), (RESP, "GET /gzip")]
    got = fields(msgs[1])
    assert got.get(("body", "gzipped"), True)
    # tshark prints the decoded body with escaped newlines
    decoded = [r[0] for r in tshark_http(tshark, path, "http.file_data") if r[0]]
    assert orjson.loads(body(msgs[1])) == orjson.loads(decoded[-1].replace("\\n", "\n"))


def test_capture_mozilla_pipelined_five_pairs(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "http/mozilla-pipelined-keepalive.pcap"
    msgs = all_messages(dissect_capture(tshark, path))
    reqs = [m for m in msgs if m.direction is REQ]
    resps = [m for m in msgs if m.direction is RESP]
    assert len(reqs) == len(resps) == 5
    assert [m.api for m in reqs] == [m.api for m in resps]
    uris = [r[0] for r in tshark_http(tshark, path, "http.request.uri") if r[0]]
    assert [m.api.split(" ", 1)[1] for m in reqs] == [u.split("?")[0] for u in uris] or len(
        uris
    ) == 5


def test_capture_docker_upgrade_stops_after_101(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "http/docker-api-json-upgrade.pcap"
    per_stream = dissect_capture(tshark, path)
    handoffs = [e for events in per_stream for e in events if isinstance(e, Handoff)]
    assert [h.protocol for h in handoffs] == ["opaque"]
    msgs = all_messages(per_stream)
    create = next(m for m in msgs if m.api == "POST /v1.41/containers/create")
    assert fields(create)  # the JSON container config
    attach = next(events for events in per_stream if any(isinstance(e, Handoff) for e in events))
    assert isinstance(attach[-1], Handoff)
    assert not [k for k in anomalies(attach) if k in ("resync", "midstream")]


def test_capture_1000_requests_one_dropped(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "robustness/http-1000-requests-one-dropped.pcap.gz"
    per_stream = dissect_capture(tshark, path)
    msgs = all_messages(per_stream)
    reqs = [m for m in msgs if m.direction is REQ]
    resps = [m for m in msgs if m.direction is RESP]
    assert len(reqs) == 1000 and len(resps) == 999
    assert all(m.api == "GET /" for m in resps)
    kinds = [k for events in per_stream for k in anomalies(events)]
    assert kinds.count("unanswered_request") == 1
    assert "unpaired_response" not in kinds


def test_capture_chunk_size_overflow_terminates(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "robustness/rawip-http-chunk-size-overflow.pcap"
    per_stream = dissect_capture(tshark, path)
    kinds = [k for events in per_stream for k in anomalies(events)]
    assert "bad_chunk_size" in kinds
    assert next(m.api for m in all_messages(per_stream) if m.direction is REQ) == "POST /"


@pytest.mark.parametrize(
    "name",
    [
        "http/nuget-api-json-gzip.pcap.gz",
        "http/rabbitmq-mgmt-api-json-gzip.pcap",
        "http/openai-chat-json.pcap",
        "http/openai-chat-sse-chunked.pcap",
        "http/quickplay-rest-json-gzip-sll.pcap",
        "robustness/null-loopback-http-bearer.pcap",
        "robustness/http-no-syn-midstream.pcap",
        "robustness/snaplen96-http.pcap",
        "robustness/nflog-http.pcap",
        "robustness/qinq-http.pcap",
        "robustness/pcapng-two-interfaces-asymmetric-http.pcapng",
        "robustness/http-206-out-of-order-retrans.pcap.gz",
    ],
)
def test_capture_requests_match_tshark(tshark: str, shared_captures: Path, name: str) -> None:
    path = shared_captures / name
    per_stream = dissect_capture(tshark, path)
    reqs = [m for m in all_messages(per_stream) if m.direction is REQ]
    methods = [r[0] for r in tshark_http(tshark, path, "http.request.method") if r[0]]
    if name.startswith("robustness/snaplen"):
        # snaplen 96 leaves a few bytes of each head: nothing complete, nothing invented
        assert reqs == []
    else:
        assert sorted(method_uri(m) for m in reqs) == sorted(methods)


def test_capture_openai_sse_json_chunks(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "http/openai-chat-sse-chunked.pcap"
    resps = [m for m in all_messages(dissect_capture(tshark, path)) if m.direction is RESP]
    sse = [p for m in resps for p in m.parts if p.media_type == MediaType.SSE]
    assert sse
    paths = {fv.path for p in sse for fv in decode_part(p, Limits())}
    assert any(p.startswith("choices[].") for p in paths)


def test_capture_bearer_header(tshark: str, shared_captures: Path) -> None:
    path = shared_captures / "robustness/null-loopback-http-bearer.pcap"
    reqs = [m for m in all_messages(dissect_capture(tshark, path)) if m.direction is REQ]
    assert part(reqs[0], Location.HEADER, "authorization") == b"Bearer mF_9.B5f-4.1JqM"
