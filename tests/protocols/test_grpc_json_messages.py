"""gRPC messages written in JSON under a content type that does not say so (issue #15:
grpc-java with a JSON marshaller sends `{"name": ...}` under plain `application/grpc`):
`protocols._grpc.json_document` tells a JSON message from a protobuf one by its bytes,
the HTTP/2 dissector hands such a message as a JSON part, and gRPC-Web bodies over
HTTP/1.1 (`protocols.protobuf.fields_from_part`) walk it as the payload decoder walks
JSON. End to end: captures written here, scanned, give rows at the JSON paths.
Synthetic values only."""

from __future__ import annotations

import base64
import random
from pathlib import Path

import orjson
import pytest

import dpi
from protocols import _grpc
from protocols.base import Direction, Limits, Location, MediaType, Message, Part
from protocols.http2 import Http2Dissector
from protocols.payload import field_pairs
from tests.builders import http2 as b
from tests.builders.conversation import Conversation

PATH = "/tutorial.PersonSearchService/Search"
REQUEST = {"name": ["Jane", "John"]}
PERSON = {
    "name": "Jane Roe",
    "id": 1001,
    "email": "jane.roe@example.com",
    "phone": [{"number": "+14155550123", "type": "MOBILE"}, {"number": "+442079460000"}],
}
PERSON_PATHS = {"name", "id", "email", "phone[].number", "phone[].type"}


def _json(obj: object, indent: bool = True) -> bytes:
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 if indent else 0)


# -- telling JSON from protobuf by the bytes ---------------------------------------------


@pytest.mark.parametrize(
    "body",
    [_json(PERSON), _json(PERSON, indent=False), _json([PERSON]), b"\n\t {\"a\": 1}\r\n",
     b"{}", b"[]"],
    ids=["object", "compact", "array", "blanks", "empty-object", "empty-array"],
)  # fmt: skip
def test_json_documents_are_json(body: bytes) -> None:
    assert _grpc.json_document(body) == orjson.loads(body)


def test_protobuf_messages_are_not_json() -> None:
    rng = random.Random(15)
    messages = [
        b"",
        b.pb_bytes(1, "Jane Roe") + b.pb_bytes(3, "jane.roe@example.com"),
        b.pb_bytes(1, '{"name": "Jane"}'),  # a string field that holds JSON
        b.pb_varint(4, 123) + b.pb_bytes(5, "}"),  # 0x20 0x7b: a blank, then `{`
        b.pb_bytes(1, b"{" + b"x" * 122),  # tag 0x0a (a blank), length 0x7b (`{`)
        b"{\x08\x01|",  # proto2 group field 15 (start-group tag 0x7b)
        b"[\x08\x01\\",  # proto2 group field 11 (0x5b)
        b"{not json}",
        b"[1, 2",  # cut
        b"42",  # a JSON scalar is no message
        b'"text"',
    ]
    messages += [bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
                 for _ in range(2000)]  # fmt: skip
    for body in messages:
        assert _grpc.json_document(body) is None


# -- HTTP/2: the message becomes a JSON part ---------------------------------------------


def _h2_unary(request: bytes, response: bytes, content_type: str) -> list[Message]:
    hp = b.Hpack()
    headers = [(k, content_type if k == "content-type" else v)
               for k, v in b.grpc_request_headers(PATH)]  # fmt: skip
    answer = [(":status", "200"), ("content-type", content_type)]
    conv = [
        (Direction.REQUEST, b.PREFACE + b.settings()),
        (Direction.RESPONSE, b.settings() + b.settings(ack=True)),
        (Direction.REQUEST, b.headers(1, hp.req(headers)) + b.data(1, request, end=True)),
        (Direction.RESPONSE, b.headers(1, hp.resp(answer)) + b.data(1, response)
         + b.headers(1, hp.resp(b.grpc_trailers()), end=True)),
    ]  # fmt: skip
    dissector = Http2Dissector()
    events = [e for direction, data in conv for e in dissector.feed(direction, data, 7)]
    return [e for e in events if isinstance(e, Message)]


def _body_paths(msg: Message) -> set[str]:
    return {path for part in msg.parts if part.location is Location.BODY
            for path, _ in field_pairs(part, Limits())}  # fmt: skip


@pytest.mark.parametrize("content_type", ["application/grpc", "application/grpc+proto",
                                          "application/grpc-web", "application/grpc+json"])
def test_h2_json_message_is_a_json_part(content_type: str) -> None:
    msgs = _h2_unary(b.grpc_message(_json(REQUEST)),
                     b.grpc_message(_json(PERSON)) + b.grpc_gzip_message(_json(PERSON)),
                     content_type)  # fmt: skip
    bodies = [p for m in msgs for p in m.parts if p.location is Location.BODY]
    assert [p.media_type for p in bodies] == [MediaType.JSON] * 3
    assert [m.protocol for m in msgs if m.parts] == ["grpc"] * 3
    assert _body_paths(msgs[0]) == {"name[]"}
    assert _body_paths(msgs[1]) == _body_paths(msgs[2]) == PERSON_PATHS


def test_h2_protobuf_message_stays_protobuf() -> None:
    person = b.pb_bytes(1, "Jane Roe") + b.pb_bytes(3, "jane.roe@example.com")
    msgs = _h2_unary(b.grpc_message(b.pb_bytes(1, "Jane")), b.grpc_message(person),
                     "application/grpc")  # fmt: skip
    bodies = [p for m in msgs for p in m.parts if p.location is Location.BODY]
    assert [p.media_type for p in bodies] == [MediaType.PROTOBUF] * 2
    assert _body_paths(msgs[1]) == {"1", "3"}


# -- gRPC-Web bodies (HTTP/1.1): the frames are deframed, then walked as JSON -------------


def _web_pairs(body: bytes, media_type: str) -> list[tuple[str, str]]:
    part = Part(location=Location.BODY, name="", data=body, media_type=media_type)
    return field_pairs(part, Limits())


@pytest.mark.parametrize("media_type", ["application/grpc-web", "application/grpc-web+proto",
                                        "application/grpc-web+json", "application/grpc"])
def test_grpc_web_json_frames_give_json_paths(media_type: str) -> None:
    body = (b.grpc_message(_json(PERSON)) + b.grpc_gzip_message(_json({"name": "John Doe"}))
            + b.grpc_web_trailers([("grpc-status", "0")]))  # fmt: skip
    pairs = _web_pairs(body, media_type)
    assert ("email", "jane.roe@example.com") in pairs
    assert ("phone[].number", "+442079460000") in pairs
    assert ("name", "John Doe") in pairs
    assert {path for path, _ in pairs} == PERSON_PATHS


def test_grpc_web_text_json_frames_and_mixed_codecs() -> None:
    frames = b.grpc_message(_json(REQUEST)) + b.grpc_message(b.pb_bytes(2, "proto-value"))
    pairs = _web_pairs(base64.b64encode(frames), "application/grpc-web-text")
    assert pairs == [("name[]", "Jane"), ("name[]", "John"), ("2", "proto-value")]


def test_grpc_web_json_codec_never_reads_a_frame_as_protobuf() -> None:
    body = b.grpc_message(b.pb_bytes(1, "proto-value")) + b.grpc_message(_json(REQUEST))
    assert _web_pairs(body, "application/grpc-web+json") == [("name[]", "Jane"),
                                                            ("name[]", "John")]


# -- end to end: captures in, rows out ---------------------------------------------------


def _rows(capture: Path) -> set[tuple[str, str, str, str]]:
    frame = dpi.scan(capture)
    return {(r.protocol, r.direction, r.field, r.data_type) for r in frame.itertuples()}


def test_scan_h2_grpc_json_capture(tmp_path: Path) -> None:
    hp = b.Hpack()
    request = b.headers(1, hp.req(b.grpc_request_headers(PATH))) + b.data(
        1, b.grpc_message(_json(REQUEST)), end=True
    )
    response = (b.headers(1, hp.resp(b.GRPC_RESPONSE_HEADERS))
                + b.data(1, b.grpc_message(_json(PERSON)))
                + b.headers(1, hp.resp(b.grpc_trailers()), end=True))  # fmt: skip
    conv = Conversation(sport=50051).handshake()
    conv.request(b.PREFACE + b.settings()).response(b.settings() + b.settings(ack=True))
    conv.request(request).response(response).close()
    rows = _rows(conv.write(tmp_path / "grpc-json.pcap"))
    assert ("grpc", "response", "email", "EMAIL_ADDRESS") in rows
    assert ("grpc", "response", "phone[].number", "PHONE_NUMBER") in rows
    # The search request holds first names only, in an API about people.
    assert ("grpc", "request", "name[]", "PERSON_NAME") in rows


def test_scan_grpc_web_http1_json_capture(tmp_path: Path) -> None:
    body = b.grpc_message(_json(PERSON)) + b.grpc_web_trailers([("grpc-status", "0")])
    head = (f"POST {PATH} HTTP/1.1\r\nHost: web.example\r\n"
            "Content-Type: application/grpc-web+proto\r\nContent-Length: 5\r\n\r\n")  # fmt: skip
    answer = ("HTTP/1.1 200 OK\r\nContent-Type: application/grpc-web+proto\r\n"
              f"Content-Length: {len(body)}\r\n\r\n").encode() + body  # fmt: skip
    conv = Conversation().handshake()
    conv.request(head.encode() + b.grpc_message(b"")).response(answer).close()
    rows = _rows(conv.write(tmp_path / "grpc-web-json.pcap"))
    assert ("grpc", "response", "email", "EMAIL_ADDRESS") in rows
    assert ("grpc", "response", "phone[].number", "PHONE_NUMBER") in rows
