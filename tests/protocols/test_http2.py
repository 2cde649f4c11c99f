"""protocols.http2: framing, HPACK recovery, stream pairing, gRPC and plain HTTP/2
messages; then the real captures of tests/captures (grpc/ and robustness/h2-*)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from dpi.facts import FactStore
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
    Probe,
)
from protocols.http2 import Http2Dissector
from protocols.protobuf import SchemaRegistry, fields_from_part
from tests.builders import http2 as b

REQ = Direction.REQUEST
RESP = Direction.RESPONSE
PATH = "/clinic.v1.Patients/Get"


def run(
    conv: list[tuple[Direction, bytes]],
    dissector: Http2Dissector | None = None,
    close: bool = True,
) -> list[Event]:
    d = dissector or Http2Dissector()
    events: list[Event] = []
    for direction, data in conv:
        events += d.feed(direction, data, 7)
    if close:
        events += d.close(REQ, 9) + d.close(RESP, 9)
    return events


def messages(events: list[Event]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def kinds(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Anomaly)]


def body(msg: Message) -> bytes:
    return next(p.data for p in msg.parts if p.location is Location.BODY)


def fields(msg: Message, schemas: SchemaRegistry | None = None) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for part in msg.parts:
        if part.location is Location.BODY:
            out += [(v.path, v.value) for v in fields_from_part(part, schemas, Limits())]
    return out


def unary(hp: b.Hpack, sid: int, request: bytes, response: bytes) -> list[tuple[Direction, bytes]]:
    return [
        (
            REQ,
            b.headers(sid, hp.req(b.grpc_request_headers(PATH))) + b.data(sid, request, end=True),
        ),
        (
            RESP,
            b.headers(sid, hp.resp(b.GRPC_RESPONSE_HEADERS))
            + b.data(sid, response)
            + b.headers(sid, hp.resp(b.grpc_trailers()), end=True),
        ),
    ]


def preface() -> list[tuple[Direction, bytes]]:
    return [(REQ, b.PREFACE + b.settings()), (RESP, b.settings() + b.settings(ack=True))]


# -- probe -------------------------------------------------------------------------------


def test_probe_preface_settings_frames_and_garbage() -> None:
    assert Http2Dissector.probe(REQ, b.PREFACE) is Probe.YES
    assert Http2Dissector.probe(REQ, b.PREFACE[:10]) is Probe.NEED_MORE
    assert Http2Dissector.probe(RESP, b.settings(max_frame_size=16384)) is Probe.YES
    hp = b.Hpack()
    midstream = b.headers(5, hp.req(b.grpc_request_headers(PATH))) + b.data(5, b.grpc_message(b""))
    assert Http2Dissector.probe(REQ, midstream) is Probe.YES
    assert Http2Dissector.probe(REQ, midstream[:20]) is Probe.NEED_MORE
    assert Http2Dissector.probe(REQ, b.headers(2, b"\x82")) is Probe.NO  # even stream
    assert Http2Dissector.probe(REQ, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n") is Probe.NO
    assert Http2Dissector.probe(RESP, b"HTTP/1.1 200 OK\r\n\r\n") is Probe.NO
    assert Http2Dissector.probe(RESP, b"") is Probe.NEED_MORE


def test_probe_says_no_to_the_other_directions_headers() -> None:
    hp = b.Hpack()
    hp.req(b.grpc_request_headers(PATH))  # before the capture: dynamic entries unknown
    hp.resp(b.GRPC_RESPONSE_HEADERS)
    request = b.headers(3, hp.req(b.grpc_request_headers(PATH))) + b.data(3, b.grpc_message(b""))
    response = (
        b.window_update(0)
        + b.ping()
        + b.headers(3, hp.resp(b.GRPC_RESPONSE_HEADERS))  # 0x88 first: :status 200
        + b.data(3, b.grpc_message(b""))
    )
    assert Http2Dissector.probe(REQ, request) is Probe.YES
    assert Http2Dissector.probe(RESP, request) is Probe.NO
    assert Http2Dissector.probe(RESP, response) is Probe.YES
    # The HEADERS frame comes after two control frames: still seen, still a NO.
    assert Http2Dissector.probe(REQ, response) is Probe.NO
    for huffman in (False, True):
        literal_status = b.headers(5, b.literal_new_name(":status", "201", huffman))
        literal_path = b.headers(5, b.literal_new_name(":path", "/a", huffman))
        assert Http2Dissector.probe(REQ, literal_status) is Probe.NO
        assert Http2Dissector.probe(RESP, literal_status) is Probe.YES
        assert Http2Dissector.probe(RESP, literal_path) is Probe.NO
        assert Http2Dissector.probe(REQ, literal_path) is Probe.YES


def test_probe_without_pseudo_headers_keeps_both_orientations() -> None:
    hp = b.Hpack()
    trailers = b.headers(1, hp.resp(b.grpc_trailers()), end=True)
    only_data = b.data(1, b.grpc_message(b"x")) + b.window_update(1)
    for data in (trailers, only_data, b.settings() + b.ping(), b.window_update(0)):
        assert Http2Dissector.probe(REQ, data) is Probe.YES
        assert Http2Dissector.probe(RESP, data) is Probe.YES
    # The preface is a client's, whatever follows.
    after_preface = b.PREFACE + b.headers(1, hp.resp(b.GRPC_RESPONSE_HEADERS))
    assert Http2Dissector.probe(REQ, after_preface) is Probe.YES


def test_probe_skips_unknown_dynamic_index_to_the_first_static_name() -> None:
    # 0xbe: dynamic index 62 (name unknown without the table), then :status 200 (0x88).
    assert Http2Dissector.probe(REQ, b.headers(1, b"\xbe\x88")) is Probe.NO
    assert Http2Dissector.probe(RESP, b.headers(1, b"\xbe\x83")) is Probe.NO  # :method POST
    # A regular field first ends the pseudo-header section (RFC 9113 8.3): no verdict.
    assert Http2Dissector.probe(REQ, b.headers(1, b"\x9f\x88")) is Probe.YES  # 0x9f: 31


# -- gRPC --------------------------------------------------------------------------------


def test_prior_knowledge_unary_gives_grpc_messages_with_metadata_and_trailers() -> None:
    hp = b.Hpack()
    conv = preface() + [
        (
            REQ,
            b.headers(
                1,
                hp.req(
                    b.grpc_request_headers(
                        PATH,
                        extra=[
                            ("authorization", "Bearer tok-1"),
                            ("x-trace-bin", "AAECAw"),  # unpadded base64 of 00010203
                        ],
                    )
                ),
            )
            + b.data(1, b.grpc_message(b.pb_bytes(1, "P-7")), end=True),
        ),
        (
            RESP,
            b.headers(1, hp.resp(b.GRPC_RESPONSE_HEADERS))
            + b.data(1, b.grpc_message(b.pb_bytes(2, "a@example.com")))
            + b.headers(1, hp.resp(b.grpc_trailers(3, "bad patient id")), end=True),
        ),
    ]
    msgs = messages(run(conv))
    assert [(m.protocol, m.direction, m.api, m.host) for m in msgs] == [
        ("grpc", REQ, PATH, "svc.example:50051"),
        ("grpc", RESP, PATH, "svc.example:50051"),
        ("grpc", RESP, PATH, "svc.example:50051"),
    ]
    meta = {p.name: p.data for p in msgs[0].parts if p.location is Location.METADATA}
    assert meta == {"authorization": b"Bearer tok-1", "x-trace-bin": b"\x00\x01\x02\x03"}
    body_part = msgs[0].parts[-1]
    assert body_part.media_type == MediaType.PROTOBUF and body_part.schema == f"{PATH}#request"
    assert fields(msgs[0]) == [("1", "P-7")]
    assert fields(msgs[1]) == [("2", "a@example.com")]
    assert [(p.location, p.name, p.data) for p in msgs[2].parts] == [
        (Location.METADATA, "grpc-message", b"bad patient id")
    ]


def test_never_indexed_header_is_marked() -> None:
    hp = b.Hpack()
    block = hp.req([*b.grpc_request_headers(PATH), ("authorization", "Bearer s3", True)])
    conv = preface() + [(REQ, b.headers(1, block) + b.data(1, b.grpc_message(b""), end=True))]
    msg = messages(run(conv))[0]
    auth = next(p for p in msg.parts if p.name == "authorization")
    assert auth.never_indexed


def test_streaming_messages_split_and_packed_over_data_frames() -> None:
    hp = b.Hpack()
    wire = b"".join(b.grpc_message(b.pb_bytes(1, f"visit-{i}")) for i in range(4))
    conv = preface() + [
        (REQ, b.headers(1, hp.req(b.grpc_request_headers(PATH)))),
        (REQ, b.data(1, wire[:7]) + b.data(1, wire[7:30]) + b.data(1, wire[30:], end=True)),
    ]
    msgs = messages(run(conv))
    assert [fields(m) for m in msgs] == [[("1", f"visit-{i}")] for i in range(4)]


def test_gzip_grpc_message_is_decompressed() -> None:
    hp = b.Hpack()
    block = hp.req(b.grpc_request_headers(PATH, extra=[("grpc-encoding", "gzip")]))
    payload = b.pb_bytes(1, "compressed-name")
    conv = preface() + [
        (REQ, b.headers(1, block) + b.data(1, b.grpc_gzip_message(payload), end=True))
    ]
    assert body(messages(run(conv))[0]) == payload


def test_grpc_web_text_over_http2_lands_as_grpc() -> None:
    import base64

    hp = b.Hpack()
    headers = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", PATH),
        (":authority", "web.example"),
        ("content-type", "application/grpc-web-text"),
    ]
    text = base64.b64encode(b.grpc_message(b.pb_bytes(1, "from-browser")))
    conv = preface() + [(REQ, b.headers(1, hp.req(headers)) + b.data(1, text, end=True))]
    msgs = messages(run(conv))
    assert [(m.protocol, fields(m)) for m in msgs] == [("grpc", [("1", "from-browser")])]


def test_interleaved_streams_are_paired_by_id() -> None:
    hp = b.Hpack()
    conv = preface()
    for sid in (1, 3, 5):
        conv.append((REQ, b.headers(sid, hp.req(b.grpc_request_headers(f"/s.S/M{sid}")))))
    for sid in (5, 3, 1):
        conv.append((REQ, b.data(sid, b.grpc_message(b.pb_bytes(1, f"q{sid}")), end=True)))
    for sid in (3, 1, 5):
        conv.append((RESP, b.headers(sid, hp.resp(b.GRPC_RESPONSE_HEADERS))))
    for sid in (1, 5, 3):
        conv.append((RESP, b.data(sid, b.grpc_message(b.pb_bytes(1, f"r{sid}")))))
        conv.append((RESP, b.headers(sid, hp.resp(b.grpc_trailers()), end=True)))
    pairs = [(m.direction, m.api, fields(m)) for m in messages(run(conv)) if fields(m)]
    assert pairs == [
        (REQ, "/s.S/M5", [("1", "q5")]),
        (REQ, "/s.S/M3", [("1", "q3")]),
        (REQ, "/s.S/M1", [("1", "q1")]),
        (RESP, "/s.S/M1", [("1", "r1")]),
        (RESP, "/s.S/M5", [("1", "r5")]),
        (RESP, "/s.S/M3", [("1", "r3")]),
    ]


def test_padding_priority_and_continuation_are_decoded() -> None:
    hp = b.Hpack()
    block = hp.req(b.grpc_request_headers(PATH, extra=[("x-patient-email", "p@example.com")]))
    conv = preface() + [
        (
            REQ,
            b.headers(1, block[:10], end_headers=False, pad=3, priority=True)
            + b.continuation(1, block[10:20], end_headers=False)
            + b.continuation(1, block[20:])
            + b.priority(1)
            + b.data(1, b.grpc_message(b.pb_bytes(1, "x")), pad=5, end=True),
        )
    ]
    events = run(conv)
    msg = messages(events)[0]
    assert msg.api == PATH and fields(msg) == [("1", "x")]
    assert any(p.name == "x-patient-email" for p in msg.parts)
    assert kinds(events) == []


def test_push_promise_names_the_pushed_response_and_emits_no_request() -> None:
    hp = b.Hpack()
    get = [(":method", "GET"), (":scheme", "http"), (":authority", "h.example")]
    conv = preface() + [
        (REQ, b.headers(1, hp.req([*get, (":path", "/")]), end=True)),
        (
            RESP,
            b.push_promise(1, 2, hp.resp([*get, (":path", "/style.css")]))
            + b.headers(1, hp.resp([(":status", "200"), ("content-type", "text/html")]))
            + b.data(1, b"<html></html>", end=True)
            + b.headers(2, hp.resp([(":status", "200"), ("content-type", "text/css")]))
            + b.data(2, b"body{}", end=True),
        ),
    ]
    msgs = messages(run(conv))
    assert [(m.protocol, m.direction, m.api) for m in msgs] == [
        ("http", REQ, "GET /"),
        ("http", RESP, "GET /"),
        ("http", RESP, "GET /style.css"),
    ]


def test_rst_stream_and_goaway_flush_what_was_seen() -> None:
    hp = b.Hpack()
    conv = preface() + [
        (REQ, b.headers(1, hp.req(b.grpc_request_headers(PATH, extra=[("x-user", "jdoe")])))),
        (REQ, b.rst_stream(1) + b.goaway(1) + b.ping() + b.window_update(0)),
    ]
    msgs = messages(run(conv, close=False))
    assert [(m.direction, [p.name for p in m.parts]) for m in msgs] == [(REQ, ["x-user"])]


# -- plain HTTP/2 -------------------------------------------------------------------------


def test_h2c_json_request_has_http_parts_like_http1() -> None:
    hp = b.Hpack()
    request = [
        (":method", "POST"),
        (":scheme", "http"),
        (":path", "/v1/users/42/cards?email=a%40example.com"),
        (":authority", "api.example"),
        ("content-type", "application/json"),
        ("cookie", "sid=abc; theme=dark"),
        ("cookie", "csrf=t0k"),
    ]
    conv = preface() + [
        (REQ, b.headers(1, hp.req(request)) + b.data(1, b'{"card": "4111111111111111"}', end=True)),
        (
            RESP,
            b.headers(1, hp.resp([(":status", "201"), ("content-type", "application/json")]))
            + b.data(1, b"{}", end=True),
        ),
    ]
    req, resp = messages(run(conv))
    assert (req.protocol, req.api, req.host) == ("http", "POST /v1/users/{id}/cards", "api.example")
    assert [(p.location, p.name, p.media_type) for p in req.parts] == [
        (Location.HEADER, "content-type", MediaType.TEXT),
        (Location.COOKIE, "sid", MediaType.TEXT),
        (Location.COOKIE, "theme", MediaType.TEXT),
        (Location.COOKIE, "csrf", MediaType.TEXT),
        (Location.QUERY, "", MediaType.FORM),
        (Location.BODY, "", MediaType.JSON),
    ]
    assert resp.api == "POST /v1/users/{id}/cards"


def test_gzip_content_encoding_is_undone() -> None:
    import gzip

    hp = b.Hpack()
    conv = preface() + [
        (
            REQ,
            b.headers(
                1, hp.req([(":method", "GET"), (":path", "/x"), (":scheme", "http")]), end=True
            ),
        ),
        (
            RESP,
            b.headers(
                1,
                hp.resp(
                    [
                        (":status", "200"),
                        ("content-type", "application/json"),
                        ("content-encoding", "gzip"),
                    ]
                ),
            )
            + b.data(1, gzip.compress(b'{"a": 1}', mtime=0), end=True),
        ),
    ]
    assert body(messages(run(conv))[1]) == b'{"a": 1}'


def test_response_without_request_after_upgrade_has_unknown_api() -> None:
    hp = b.Hpack()
    conv = [
        (REQ, b.PREFACE + b.settings()),
        (
            RESP,
            b.settings()
            + b.headers(1, hp.resp([(":status", "200"), ("content-type", "text/plain")]))
            + b.data(1, b"hello", end=True),
        ),
    ]
    msgs = messages(run(conv))
    assert [(m.protocol, m.direction, m.api) for m in msgs] == [("http", RESP, "(unknown)")]


# -- HPACK recovery, gaps, bad frames, limits ----------------------------------------------


def test_midstream_unknown_dynamic_index_keeps_literals_and_data() -> None:
    hp = b.Hpack()
    # The first block fills the encoder's dynamic table; the capture starts after it.
    hp.req(b.grpc_request_headers(PATH, extra=[("x-tenant", "t1")]))
    second = hp.req(b.grpc_request_headers(PATH, extra=[("x-tenant", "t1"), ("x-new", "v")]))
    conv = [(REQ, b.headers(3, second) + b.data(3, b.grpc_message(b.pb_bytes(1, "P-9")), end=True))]
    events = run(conv)
    msg = messages(events)[0]
    assert "hpack_unknown_index" in kinds(events)
    assert (msg.protocol, msg.api) == ("grpc", "(unknown)")
    assert fields(msg) == [("1", "P-9")]
    assert [p.name for p in msg.parts if p.location is Location.METADATA] == ["x-new"]


def test_path_inserted_after_the_midstream_point_names_later_streams() -> None:
    hp = b.Hpack()
    hp.req(b.grpc_request_headers("/svc.A/Old"))  # before the capture
    first = hp.req(b.grpc_request_headers(PATH, extra=[("x-new", "1")]))  # :path literal
    again = hp.req(b.grpc_request_headers(PATH, extra=[("x-new", "1")]))  # all indexed
    assert len(again) < len(first)
    conv = [
        (REQ, b.headers(3, first) + b.data(3, b.grpc_message(b.pb_bytes(1, "a")), end=True)),
        (REQ, b.headers(5, again) + b.data(5, b.grpc_message(b.pb_bytes(1, "b")), end=True)),
    ]
    msgs = messages(run(conv))
    assert [(m.direction, m.api) for m in msgs if fields(m)] == [(REQ, PATH), (REQ, PATH)]


def test_unknown_path_is_not_attributed_to_a_path_learned_later() -> None:
    """Stream 3 calls /svc.A/Old through a dynamic entry inserted before the capture.
    Stream 5 then inserts a literal `:path` (PATH) and three fields after it, so that at
    stream 7 PATH sits at the very index stream 3 used (65) and it is the only `:path`
    the connection ever shows. Equating the two would be wrong: stream 3 stays unknown."""
    hp = b.Hpack()
    hp.req(b.grpc_request_headers("/svc.A/Old"))  # before the capture: te 62 ... :path 65
    old_call = hp.req(b.grpc_request_headers("/svc.A/Old"))
    assert b"\xc1" in old_call  # 0xc1: indexed field 65, the pre-capture `:path`
    extra = [("x-a", "1"), ("x-b", "2"), ("x-c", "3")]
    new_call = hp.req(b.grpc_request_headers(PATH, extra=extra))
    repeat = hp.req(b.grpc_request_headers(PATH, extra=extra))
    assert b"\xc1" in repeat  # PATH now occupies index 65
    conv = [
        (REQ, b.headers(3, old_call) + b.data(3, b.grpc_message(b.pb_bytes(1, "a")), end=True)),
        (REQ, b.headers(5, new_call) + b.data(5, b.grpc_message(b.pb_bytes(1, "b")), end=True)),
        (REQ, b.headers(7, repeat) + b.data(7, b.grpc_message(b.pb_bytes(1, "c")), end=True)),
    ]
    events = run(conv)
    apis = [(fields(m)[0][1], m.api) for m in messages(events) if fields(m)]
    assert apis == [("a", "(unknown)"), ("b", PATH), ("c", PATH)]
    assert "hpack_unknown_index" in kinds(events)


def test_unknown_content_type_is_sniffed_from_grpc_framing() -> None:
    hp = b.Hpack()
    hp.resp(b.GRPC_RESPONSE_HEADERS)  # lost: indexes into the dynamic table
    conv = [
        (
            RESP,
            b.headers(9, hp.resp(b.GRPC_RESPONSE_HEADERS))
            + b.data(9, b.grpc_message(b.pb_bytes(2, "x"))),
        ),
    ]
    msg = messages(run(conv))[0]
    assert (msg.protocol, msg.direction, msg.api) == ("grpc", RESP, "(unknown)")


def test_gap_inside_data_payload_keeps_framing() -> None:
    hp = b.Hpack()
    d = Http2Dissector()
    first = b.headers(1, hp.req(b.grpc_request_headers(PATH))) + b.data(
        1, b.grpc_message(b.pb_bytes(1, "lost-" * 20))
    )
    events = run(preface(), d, close=False)
    events += d.feed(REQ, first[:-30], 1)
    events += d.gap(REQ, 10)
    events += d.feed(
        REQ, first[-20:] + b.data(1, b.grpc_message(b.pb_bytes(1, "kept")), end=True), 2
    )
    msgs = messages(events)
    assert [fields(m) for m in msgs] == [[("1", "kept")]]
    assert "frame_resync" not in kinds(events)


def test_gap_over_frame_header_resyncs_on_next_frames() -> None:
    hp = b.Hpack()
    d = Http2Dissector()
    events = run(preface(), d, close=False)
    events += d.feed(REQ, b.headers(1, hp.req(b.grpc_request_headers(PATH))), 1)
    events += d.gap(REQ, 30)
    tail = b"\x01\x02garbage" + b.data(1, b.grpc_message(b.pb_bytes(1, "after")))
    events += d.feed(REQ, tail + b.data(1, b.grpc_message(b.pb_bytes(1, "gap")), end=True), 2)
    assert "frame_resync" in kinds(events)
    assert [fields(m) for m in messages(events)] == [[("1", "after")], [("1", "gap")]]


def test_bad_padding_is_an_anomaly_and_the_flow_continues() -> None:
    hp = b.Hpack()
    bad = b.frame(b.DATA, b.PADDED, 1, b"\xff\x00\x00")
    conv = preface() + [
        (
            REQ,
            b.headers(1, hp.req(b.grpc_request_headers(PATH)))
            + bad
            + b.data(1, b.grpc_message(b.pb_bytes(1, "ok")), end=True),
        )
    ]
    events = run(conv)
    assert "h2_bad_frame" in kinds(events)
    assert [fields(m) for m in messages(events)] == [[("1", "ok")]]


def test_stream_limit_and_body_limit_are_anomalies() -> None:
    hp = b.Hpack()
    conv = preface()
    for sid in (1, 3, 5):
        conv.append((REQ, b.headers(sid, hp.req(b.grpc_request_headers(PATH)))))
    events = run(conv, Http2Dissector(Limits(max_streams=2)))
    assert "stream_limit" in kinds(events)
    big = b.grpc_message(b"x" * 200)
    conv = preface() + [
        (REQ, b.headers(1, hp.req(b.grpc_request_headers(PATH))) + b.data(1, big, end=True))
    ]
    events = run(conv, Http2Dissector(Limits(max_body_bytes=100)))
    assert "body_too_large" in kinds(events)


def test_header_block_over_limit_is_dropped_and_context_lost() -> None:
    hp = b.Hpack()
    block = hp.req(b.grpc_request_headers(PATH, extra=[("x-big", "v" * 500)]))
    conv = preface() + [
        (REQ, b.headers(1, block[:100], end_headers=False) + b.continuation(1, block[100:]))
    ]
    events = run(conv, Http2Dissector(Limits(max_header_bytes=64)))
    assert "header_too_large" in kinds(events)


def test_reflection_response_feeds_the_schema_registry() -> None:
    from google.protobuf import descriptor_pb2

    fd = descriptor_pb2.FileDescriptorProto(name="r.proto", package="r")
    fd.message_type.add(name="M").field.add(name="ssn", number=1, type=9, label=1)
    fd.service.add(name="S").method.add(name="Get", input_type=".r.M", output_type=".r.M")
    reflection = b.pb_bytes(4, b.pb_bytes(1, fd.SerializeToString()))
    path = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo"
    schemas = SchemaRegistry()
    hp = b.Hpack()
    d = Http2Dissector(options=DissectorOptions(schemas=schemas))
    conv = preface() + [
        (
            REQ,
            b.headers(1, hp.req(b.grpc_request_headers(path)))
            + b.data(1, b.grpc_message(b""), end=True),
        ),
        (
            RESP,
            b.headers(1, hp.resp(b.GRPC_RESPONSE_HEADERS)) + b.data(1, b.grpc_message(reflection)),
        ),
    ]
    events = run(conv, d)
    # The dissector returns the schema as a fact before the response's message and
    # writes nothing; the engine's store (dpi/facts.py) adds it to the scan's registry.
    learned = [e for e in events if isinstance(e, Learned)]
    assert [(e.kind, e.value) for e in learned] == [(FactKind.PROTOBUF_FILE, fd.SerializeToString())]
    response = next(i for i, e in enumerate(events) if isinstance(e, Message) and e.direction is RESP)
    assert events.index(learned[0]) < response
    assert "/r.S/Get" not in schemas.methods
    store = FactStore(schemas)
    for fact in learned:
        store.learn(fact)
    assert "/r.S/Get" in schemas.methods


# -- through the engine: roles of a connection joined mid-way ---------------------------


def test_engine_swaps_roles_of_midstream_grpc_with_higher_server_port(
    tmp_path: Path, samples_dir: Path
) -> None:
    """No SYN, server port 61051 above the client's 40000: the port guess names the
    client as server; the probe's orientation check must put the roles right, so that
    requests stay requests and HPACK decoders are not swapped. (Had the server's first
    segment held only control or DATA frames, both orientations would stay plausible and
    the port guess would stand: the probe only rejects what contradicts it.)"""
    from dpi.api import scan_engine
    from tests.builders.conversation import Conversation

    svc = "/clinic.v1.PatientService"
    hp = b.Hpack()
    hp.req(b.grpc_request_headers(f"{svc}/GetPatient"))  # before the capture
    hp.resp(b.GRPC_RESPONSE_HEADERS)
    visit = b.pb_bytes(1, "V-1") + b.pb_bytes(2, "I10") + b.pb_bytes(3, "dr.smith@example.org")
    patient = b.pb_bytes(1, "P-000123") + b.pb_bytes(4, "+1 415 555 0134")
    conv = Conversation(cport=40000, sport=61051)  # no handshake: joined mid-way
    # The server speaks first: control frames, then the response to a call made before
    # the capture began (its :status block is what the probe's REQUEST check rejects).
    conv.response(
        b.window_update(0)
        + b.headers(1, hp.resp(b.GRPC_RESPONSE_HEADERS))
        + b.data(1, b.grpc_message(patient))
        + b.headers(1, hp.resp(b.grpc_trailers()), end=True)
    )
    conv.request(
        b.headers(3, hp.req(b.grpc_request_headers(f"{svc}/ListVisits")))  # new :path
        + b.data(3, b.grpc_message(b.pb_bytes(1, "P-000123")), end=True)
    )
    conv.response(
        b.headers(3, hp.resp(b.GRPC_RESPONSE_HEADERS))
        + b.data(3, b.grpc_message(visit))
        + b.headers(3, hp.resp(b.grpc_trailers()), end=True)
    )
    conv.request(
        b.headers(5, hp.req(b.grpc_request_headers(f"{svc}/GetPatient")))  # pre-capture :path
        + b.data(5, b.grpc_message(b.pb_bytes(1, "P-000123")), end=True)
    )
    conv.response(
        b.headers(5, hp.resp(b.GRPC_RESPONSE_HEADERS))
        + b.data(5, b.grpc_message(patient))
        + b.headers(5, hp.resp(b.grpc_trailers()), end=True)
    )
    schemas = SchemaRegistry()
    schemas.load_proto_dirs([samples_dir / "grpc"])
    engine = scan_engine(conv.write(tmp_path / "midstream.pcap"), schemas=schemas, strict=True)
    rows = [
        (r.protocol, r.server, r.host, r.api, r.direction, r.field, r.data_type)
        for r in engine.inventory.rows()
    ]
    server, host = "10.0.0.5:61051", ""  # :authority was indexed before the capture
    assert rows == [
        ("grpc", server, "", "(unknown)", "response", "4", "PHONE_NUMBER"),
        ("grpc", server, host, f"{svc}/ListVisits", "request", "patient_id",
         "MEDICAL_RECORD_NUMBER"),
        ("grpc", server, host, f"{svc}/ListVisits", "response", "clinician_email",
         "EMAIL_ADDRESS"),
        ("grpc", server, host, f"{svc}/ListVisits", "response", "diagnosis_code",
         "DIAGNOSIS_CODE"),
    ]  # fmt: skip


# -- real captures -------------------------------------------------------------------------

GREET_PROTO = """
syntax = "proto3";
package greet;
message GreetRequest { string first_name = 1; string last_name = 2; }
message GreetResponse { string result = 1; }
service GreetService {
  rpc Greet(GreetRequest) returns (GreetResponse);
  rpc GreetManyTimes(GreetRequest) returns (stream GreetResponse);
  rpc LongGreet(stream GreetRequest) returns (GreetResponse);
  rpc GreetEveryone(stream GreetRequest) returns (stream GreetResponse);
  rpc GreetWithDeadline(GreetRequest) returns (GreetResponse);
}
"""


def capture_events(
    tshark: str,
    capture: Path,
    port: int,
    schemas: SchemaRegistry | None = None,
    upgrade: bool = False,
) -> list[Event]:
    events: list[Event] = []
    for segments in b.tcp_segments(tshark, capture, port).values():
        if upgrade:
            segments = b.split_http1_upgrade(segments)
        d = Http2Dissector(options=DissectorOptions(schemas=schemas))
        events += b.feed_segments(d, segments)
    return events


@pytest.fixture(scope="module")
def greet_schemas(tmp_path_factory: pytest.TempPathFactory) -> SchemaRegistry:
    root = tmp_path_factory.mktemp("greet")
    (root / "greet.proto").write_text(GREET_PROTO)
    reg = SchemaRegistry()
    reg.load_proto_dirs([root])
    return reg


@pytest.mark.tshark
@pytest.mark.parametrize(
    ("name", "api", "requests", "responses"),
    [
        ("greet-unary-loopback.pcapng", "/greet.GreetService/Greet", 1, 1),
        ("greet-server-streaming.pcapng", "/greet.GreetService/GreetManyTimes", 1, 10),
        ("greet-client-streaming.pcapng", "/greet.GreetService/LongGreet", 3, 1),
        ("greet-bidi-streaming.pcapng", "/greet.GreetService/GreetEveryone", 3, 3),
    ],
)
def test_greet_captures_give_api_and_first_name(
    tshark: str,
    shared_captures: Path,
    greet_schemas: SchemaRegistry,
    name: str,
    api: str,
    requests: int,
    responses: int,
) -> None:
    events = capture_events(tshark, shared_captures / "grpc" / name, 50051)
    bodies = [m for m in messages(events) if any(p.location is Location.BODY for p in m.parts)]
    assert {m.api for m in bodies} == {api}
    assert sum(m.direction is REQ for m in bodies) == requests
    assert sum(m.direction is RESP for m in bodies) == responses
    first = next(m for m in bodies if m.direction is REQ)
    assert fields(first) == [("1", "Clement")]
    assert fields(first, greet_schemas) == [("first_name", "Clement")]
    assert [p for _, p in fields(next(m for m in bodies if m.direction is RESP), greet_schemas)]
    if name.startswith("greet-unary"):
        meta = [p for m in messages(events) for p in m.parts if p.location is Location.METADATA]
        assert [p.name for p in meta if p.name == "authorization"] == ["authorization"]


@pytest.mark.tshark
def test_deepflow_agent_sync_decodes_with_its_proto(tshark: str, shared_captures: Path) -> None:
    schemas = SchemaRegistry()
    schemas.load_proto_dirs([shared_captures / "grpc"])
    events = capture_events(
        tshark, shared_captures / "grpc" / "deepflow-agent-sync-unary.pcap", 30035, schemas
    )
    request = next(m for m in messages(events) if m.direction is REQ)
    assert request.api == "/agent.Synchronizer/Sync"
    names = dict(fields(request, schemas))
    assert names["process_name"] == "deepflow-agent-ee"
    assert "ctrl_ip" in names
    events = capture_events(
        tshark, shared_captures / "grpc" / "deepflow-agent-push-segmented.pcap", 20035, schemas
    )
    request = next(m for m in messages(events) if m.direction is REQ)
    assert request.api == "/agent.Synchronizer/Push"
    assert "process_name" in dict(fields(request, schemas))


@pytest.mark.tshark
def test_hipstershop_getcart_user_id_and_bin_metadata(tshark: str, shared_captures: Path) -> None:
    events = capture_events(
        tshark, shared_captures / "grpc" / "hipstershop-cart-getcart.pcap", 7070
    )
    request = messages(events)[0]
    assert request.api == "/hipstershop.CartService/GetCart"
    assert fields(request) == [("1", "23c6f77d-9e74-44e5-ad2a-617d18bf19dc")]
    trace = next(p for p in request.parts if p.name == "grpc-trace-bin")
    assert trace.data[:1] == b"\x00"  # base64-decoded binary trace context


@pytest.mark.tshark
def test_h2c_upgrade_after_handoff(tshark: str, shared_captures: Path) -> None:
    events = capture_events(
        tshark, shared_captures / "grpc" / "h2c-upgrade-nghttp2.pcap", 80, upgrade=True
    )
    got = [(m.protocol, m.direction, m.api, m.host) for m in messages(events)]
    assert got == [
        ("http", RESP, "(unknown)", ""),
        ("http", REQ, "GET /humans.txt", "nghttp2.org"),
        ("http", RESP, "GET /humans.txt", "nghttp2.org"),
    ]
    assert all(body(m) for m in messages(events) if m.direction is RESP)


@pytest.mark.tshark
def test_h2c_continuation_curl(tshark: str, shared_captures: Path) -> None:
    events = capture_events(tshark, shared_captures / "grpc" / "h2c-continuation-curl.pcap", 8080)
    msgs = messages(events)
    assert {(m.direction, m.api) for m in msgs} == {(REQ, "GET /tata"), (RESP, "GET /tata")}
    assert kinds(events) == []


@pytest.mark.tshark
def test_h2c_prior_knowledge_push(tshark: str, shared_captures: Path) -> None:
    events = capture_events(
        tshark, shared_captures / "grpc" / "h2c-prior-knowledge-push-nghttp2.pcap", 80
    )
    got = [(m.direction, m.api) for m in messages(events)]
    assert got == [(REQ, "GET /"), (RESP, "GET /"), (RESP, "GET /stylesheets/screen.css")]


@pytest.mark.tshark
def test_timeseries_gaps_recover_every_message(tshark: str, shared_captures: Path) -> None:
    capture = shared_captures / "grpc" / "timeseries-server-stream-gaps.pcap"
    events = capture_events(tshark, capture, 9001)
    ours = [
        len(body(m)) for m in messages(events) if any(p.location is Location.BODY for p in m.parts)
    ]
    # tshark's own view of the gRPC message lengths
    out = subprocess.run(
        [
            tshark,
            "-r",
            str(capture),
            "-d",
            "tcp.port==9001,http2",
            "-Y",
            "grpc",
            "-T",
            "fields",
            "-e",
            "grpc.message_length",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = [int(x) for line in out.split() for x in line.split(",")]
    assert ours == theirs
    assert "frame_resync" in kinds(events)


@pytest.mark.tshark
def test_midstream_hpack_unknown_does_not_crash(tshark: str, shared_captures: Path) -> None:
    events = capture_events(
        tshark, shared_captures / "robustness" / "h2-midstream-hpack-unknown.pcap", 7000
    )
    msgs = messages(events)
    assert "hpack_unknown_index" in kinds(events)
    assert [(m.protocol, m.direction, m.api, m.host) for m in msgs][:2] == [
        ("grpc", REQ, "(unknown)", "currencyservice:7000"),
        ("grpc", RESP, "(unknown)", "currencyservice:7000"),
    ]
    assert ("1", "EUR") in fields(msgs[1])


@pytest.mark.tshark
def test_midstream_multiplexed_pairs_streams(tshark: str, shared_captures: Path) -> None:
    events = capture_events(
        tshark, shared_captures / "robustness" / "h2-midstream-multiplexed.pcap", 3550
    )
    msgs = messages(events)
    requests = {fields(m)[0][1] for m in msgs if m.direction is REQ}
    responses = {fields(m)[0][1] for m in msgs if m.direction is RESP}
    assert requests == responses == {"LS4PSXUNUM", "66VCHSJNUP"}
    assert all(m.protocol == "grpc" and m.api == "(unknown)" for m in msgs)


@pytest.mark.tshark
@pytest.mark.parametrize(
    ("name", "port"),
    [
        ("greet-bidi-streaming.pcapng", 50051),
        ("streaming-clientstream-full-conn.pcap", 38888),
        ("hipstershop-cart-getcart.pcap", 7070),
    ],
)
def test_message_lengths_match_tshark(
    tshark: str, shared_captures: Path, name: str, port: int
) -> None:
    capture = shared_captures / "grpc" / name
    out = subprocess.run(
        [
            tshark,
            "-r",
            str(capture),
            "-d",
            f"tcp.port=={port},http2",
            "-Y",
            "grpc",
            "-T",
            "fields",
            "-e",
            "http2.streamid",
            "-e",
            "grpc.message_length",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = sorted(
        int(x)
        for line in out.splitlines()
        if "\t" in line
        for x in line.split("\t")[1].split(",")
        if x
    )
    ours = sorted(
        len(body(m))
        for m in messages(capture_events(tshark, capture, port))
        if any(p.location is Location.BODY for p in m.parts)
    )
    assert ours == theirs


@pytest.mark.tshark
@pytest.mark.parametrize(
    ("name", "calls"),
    [
        ("grpc-patients.pcap", ["GetPatient", "ListVisits", "UploadVitals", "Chat"]),
        ("grpc-patients-midstream.pcap", ["ListVisits", "UploadVitals", "Chat"]),
    ],
)
def test_generated_samples_name_every_call_and_field(
    tshark: str, samples_dir: Path, name: str, calls: list[str]
) -> None:
    capture = samples_dir / name
    if not capture.exists():
        pytest.skip("run samples/make_grpc_samples.py")
    schemas = SchemaRegistry()
    schemas.load_proto_dirs([samples_dir / "grpc"])
    msgs = messages(capture_events(tshark, capture, 61777, schemas))
    apis = list(dict.fromkeys(m.api for m in msgs))
    assert apis == [f"/clinic.v1.PatientService/{c}" for c in calls]
    names = {path for m in msgs for path, _ in fields(m, schemas)}
    assert {"sender_email", "contact_phone", "clinician_email"} <= names
    if "GetPatient" in calls:
        assert {"ssn", "card_number", "address.postal_code"} <= names
