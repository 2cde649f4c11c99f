"""Part -> field values (spec/inventory.md, "field"): JSON paths, NDJSON, SSE, forms,
multipart, text, protobuf delegation, limits."""

from __future__ import annotations

import orjson
import pytest

from protocols.base import FieldValue, Limits, Location, MediaType, Part
from protocols.payload import decode_part


def body(data: bytes, media: str) -> Part:
    return Part(location=Location.BODY, name="", data=data, media_type=media)


def pairs(values: list[FieldValue]) -> list[tuple[str, str]]:
    return [(v.path, v.value) for v in values]


def test_json_nested_paths_with_array_markers() -> None:
    doc = {
        "patients": [{"address": {"zip": "94110"}, "age": 42}, {"address": {"zip": "10001"}}],
        "ratio": 0.5,
        "ok": True,
        "none": None,
    }
    got = pairs(decode_part(body(orjson.dumps(doc), MediaType.JSON), Limits()))
    assert got == [
        ("patients[].address.zip", "94110"),
        ("patients[].age", "42"),
        ("patients[].address.zip", "10001"),
        ("ratio", "0.5"),
    ]


def test_json_bare_scalar_and_top_level_array() -> None:
    assert pairs(decode_part(body(b'"078-05-1120"', MediaType.JSON), Limits())) == [
        ("", "078-05-1120")
    ]
    assert pairs(decode_part(body(b"12345", MediaType.JSON), Limits())) == [("", "12345")]
    assert pairs(decode_part(body(b'[{"a": "x"}, "y"]', MediaType.JSON), Limits())) == [
        ("[].a", "x"),
        ("[]", "y"),
    ]


def test_json_nested_arrays() -> None:
    got = pairs(decode_part(body(b'{"m": [[1, 2], [3]]}', MediaType.JSON), Limits()))
    assert got == [("m[][]", "1"), ("m[][]", "2"), ("m[][]", "3")]


def test_json_invalid_gives_nothing() -> None:
    assert decode_part(body(b'{"a": ', MediaType.JSON), Limits()) == []


def test_json_limits_depth_count_and_length() -> None:
    deep = b'{"a":' * 10 + b'"v"' + b"}" * 10
    assert decode_part(body(deep, MediaType.JSON), Limits(max_depth=5)) == []
    assert len(decode_part(body(deep, MediaType.JSON), Limits(max_depth=10))) == 1
    wide = orjson.dumps({f"k{i}": str(i) for i in range(100)})
    assert len(decode_part(body(wide, MediaType.JSON), Limits(max_fields_per_part=7))) == 7
    long = orjson.dumps({"t": "x" * 100})
    assert decode_part(body(long, MediaType.JSON), Limits(max_value_chars=10))[0].value == "x" * 10


def test_ndjson_each_line_walked() -> None:
    data = b'{"email": "a@example.test"}\n\n{"email": "b@example.test"}\nnot json\n'
    assert pairs(decode_part(body(data, MediaType.NDJSON), Limits())) == [
        ("email", "a@example.test"),
        ("email", "b@example.test"),
    ]


def test_json_seq_record_separators() -> None:
    data = b'\x1e{"a": "1"}\n\x1e{"a": "2"}\n'
    assert pairs(decode_part(body(data, MediaType.NDJSON), Limits())) == [("a", "1"), ("a", "2")]


def test_sse_data_lines_json_or_text() -> None:
    data = (
        b'event: message\ndata: {"choices": [{"delta": {"content": "hi"}}]}\n\n'
        b": comment\ndata: plain text\ndata: second line\n\n"
        b"data: [DONE]\n\n"
    )
    assert pairs(decode_part(body(data, MediaType.SSE), Limits())) == [
        ("choices[].delta.content", "hi"),
        ("", "plain text\nsecond line"),
        ("", "[DONE]"),
    ]


def test_sse_crlf_and_unterminated_event() -> None:
    data = b'data: {"a": "b"}\r\n\r\ndata: {"c": "d"}'
    assert pairs(decode_part(body(data, MediaType.SSE), Limits())) == [("a", "b"), ("c", "d")]


def test_form_and_query() -> None:
    part = Part(location=Location.QUERY, name="", data=b"q=a+b&empty=&e=x%40y.test&q=2",
                media_type=MediaType.FORM)  # fmt: skip
    got = decode_part(part, Limits())
    assert [(v.location, v.path, v.value) for v in got] == [
        (Location.QUERY, "q", "a b"),
        (Location.QUERY, "e", "x@y.test"),
        (Location.QUERY, "q", "2"),
    ]
    assert len(decode_part(body(b"&".join([b"a=1"] * 50), MediaType.FORM),
                           Limits(max_fields_per_part=5))) == 5  # fmt: skip


def test_multipart_text_json_and_file_parts() -> None:
    boundary = "----b0undary"
    data = (
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="email"\r\n\r\n'
        "a@example.test\r\n"
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="meta"\r\n'
        "Content-Type: application/json\r\n\r\n"
        '{"ssn": "078-05-1120"}\r\n'
        f"--{boundary}\r\n"
        'Content-Disposition: form-data; name="file"; filename="x.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
        "\x00\x01\r\n"
        f"--{boundary}--\r\n"
    ).encode()
    media = f"multipart/form-data; boundary={boundary}"
    assert pairs(decode_part(body(data, media), Limits())) == [
        ("email", "a@example.test"),
        ("meta.ssn", "078-05-1120"),
    ]


def test_multipart_without_boundary_gives_nothing() -> None:
    assert decode_part(body(b"--x\r\n", "multipart/form-data"), Limits()) == []


def test_text_header_and_cookie_named_by_part() -> None:
    header = Part(location=Location.HEADER, name="authorization", data=b"Bearer abc")
    cookie = Part(location=Location.COOKIE, name="sid", data=b"\xffz")
    assert [(v.location, v.path, v.value) for v in decode_part(header, Limits())] == [
        (Location.HEADER, "authorization", "Bearer abc")
    ]
    assert decode_part(cookie, Limits())[0].value == "\ufffdz"
    assert decode_part(Part(location=Location.HEADER, name="x", data=b""), Limits()) == []


def test_binary_gives_nothing() -> None:
    assert decode_part(body(b'{"a": "b"}', MediaType.BINARY), Limits()) == []
    assert decode_part(body(b'{"a": "b"}', "image/png"), Limits()) == []


@pytest.mark.parametrize(
    "media", ["application/grpc", "application/grpc-web+proto", MediaType.PROTOBUF]
)
def test_protobuf_media_delegated(media: str) -> None:
    # protobuf field 1 (string) = "abc"; whatever protocols.protobuf returns is a list
    result = decode_part(body(b"\x0a\x03abc", media), Limits())
    assert isinstance(result, list)
    assert all(isinstance(v, FieldValue) for v in result)


def test_field_value_repr_hides_value() -> None:
    value = decode_part(body(b'{"password": "hunter2"}', MediaType.JSON), Limits())[0]
    assert "hunter2" not in repr(value)
