"""Part -> field values (spec/inventory.md, "field"): JSON paths, NDJSON, SSE, forms,
multipart, text, protobuf delegation, limits; object keys that are data (`{key}`), key
and path bounds, damaged JSON recovered and counted, encoded values decoded."""

from __future__ import annotations

import tracemalloc
from collections import Counter

import orjson
import pytest

from protocols.base import FieldValue, Limits, Location, MediaType, Part
from protocols.payload import decode_part, field_pairs


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
    # A line that is no JSON is one text value (issue #16: parse failures are not
    # silent losses), so an address in a log line between records is still seen.
    data = b'{"email": "a@example.test"}\n\n{"email": "b@example.test"}\nnot json\n'
    assert pairs(decode_part(body(data, MediaType.NDJSON), Limits())) == [
        ("email", "a@example.test"),
        ("email", "b@example.test"),
        ("", "not json"),
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


# -- object keys that are data (spec "field"; issue #15 item 1) ---------------------------


def json_pairs(doc: object, limits: Limits | None = None) -> list[tuple[str, str]]:
    return pairs(decode_part(body(orjson.dumps(doc), MediaType.JSON), limits or Limits()))


def test_version_keys_become_key_placeholders_and_are_values_too() -> None:
    doc = {"versions": {v: {"maintainers": [{"email": f"m{i}@example.test"}]}
                        for i, v in enumerate(["1.2.0", "2.0.0-beta.3", "10.0.0-0"])}}  # fmt: skip
    got = json_pairs(doc)
    assert {path for path, _ in got} == {"versions.{key}", "versions.{key}.maintainers[].email"}
    assert [v for p, v in got if p == "versions.{key}"] == ["1.2.0", "2.0.0-beta.3", "10.0.0-0"]


@pytest.mark.parametrize(
    "key",
    [
        "404",
        "-1",
        "0.5",
        "1.2.0",
        "v1.2.3",
        "2.0.0-beta.3",
        "10.0.0.1",
        "2001:db8::1",
        "123e4567-e89b-12d3-a456-426614174000",
        "2024-01-31",
        "2024-01-31T10:00:00Z",
        "10:30",
        "31/01/2024",
        "sam@example.net",
        "+1 (555) 010-9999",
        "5f2b9c01",
        "0x1f2e3d4c5b6a",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    ],
)
def test_data_shaped_key_is_templated_alone(key: str) -> None:
    got = json_pairs({"m": {key: "x", "name": "y"}})
    assert got == [("m.{key}", key), ("m.{key}", "x"), ("m.name", "y")]


@pytest.mark.parametrize(
    "key", ["email", "line1", "address_2", "sha256", "field12", "x509", "@context", "deadbeef"]
)
def test_names_stay_names(key: str) -> None:
    assert json_pairs({key: "x"}) == [(key, "x")]


def test_map_keyed_by_ids_is_templated_whole() -> None:
    # Stripe-style ids are no data shape alone; two thirds of an object's keys being
    # id-like makes it a map, and all of its keys (`default` too) become `{key}`.
    doc = {"balances": {"cus_J2kd82Lx": {"iban": "DE89370400440532013000"},
                        "cus_Z9y8X7w6": {"iban": "GB82WEST12345698765432"},
                        "default": {"iban": "FR1420041010050500013M02606"}}}  # fmt: skip
    got = json_pairs(doc)
    assert {path for path, _ in got} == {"balances.{key}", "balances.{key}.iban"}
    # Two id-like keys are not enough to call an object a map.
    assert json_pairs({"a": {"cus_J2kd82Lx": "1", "cus_Z9y8X7w6": "2"}}) == [
        ("a.cus_J2kd82Lx", "1"),
        ("a.cus_Z9y8X7w6", "2"),
    ]


def test_map_keyed_by_email_addresses_reports_the_keys() -> None:
    doc = {"subscribers": {"sam@example.net": {"since": 2021}, "jo@example.org": {"since": 2022}}}
    assert json_pairs(doc) == [
        ("subscribers.{key}", "sam@example.net"),
        ("subscribers.{key}.since", "2021"),
        ("subscribers.{key}", "jo@example.org"),
        ("subscribers.{key}.since", "2022"),
    ]


def test_numbered_field_names_are_not_a_map() -> None:
    doc = {"line1": "a", "line2": "b", "line3": "c", "k0": "1", "k1": "2"}
    assert [p for p, _ in json_pairs(doc)] == ["line1", "line2", "line3", "k0", "k1"]


def test_key_placeholder_gives_no_field_name_tokens() -> None:
    from classifiers._hints import name_tokens, path_tokens

    assert name_tokens("{key}") == frozenset()
    assert path_tokens("versions.{key}.maintainers[].email") == {"versions", "maintainers", "email"}


# -- bounds: key and path length (issue #16) ----------------------------------------------


def test_long_key_is_cut_with_a_marker_and_counted() -> None:
    part = body(orjson.dumps({"A" * 1000: {"f0": "x", "f1": "y"}}), MediaType.JSON)
    hits: Counter[str] = Counter()
    got = field_pairs(part, Limits(max_key_chars=16), None, hits)
    assert got == [("A" * 16 + "\u2026.f0", "x"), ("A" * 16 + "\u2026.f1", "y")]
    assert hits["key_too_long"] == 1


def test_long_path_is_cut_once_and_shared_below() -> None:
    doc: object = "v"
    for i in range(40):
        doc = {f"level{i:02d}xxxxxxxxxx": doc}
    part = body(orjson.dumps({"wide": {"a": doc, "b": doc}}), MediaType.JSON)
    hits: Counter[str] = Counter()
    got = field_pairs(part, Limits(max_path_chars=200), None, hits)
    assert len(got) == 2 and all(len(p) == 201 and p.endswith("\u2026") for p, _ in got)
    assert hits["path_too_long"] == 1


def test_long_form_name_is_cut() -> None:
    hits: Counter[str] = Counter()
    got = field_pairs(body(b"x" * 500 + b"=1", MediaType.FORM), Limits(max_key_chars=8), None, hits)
    assert got == [("x" * 8 + "\u2026", "1")] and hits["key_too_long"] == 1


def test_long_key_above_20000_leaves_stays_small() -> None:
    # Issue #16: one 100,000-character key above 20,000 leaves took 2 GB (the key copied
    # into every leaf's path); bounded, it is a few MB.
    inner = b",".join(b'"f%d":%d' % (i, i) for i in range(20_000))
    data = b'{"' + b"A" * 100_000 + b'":{' + inner + b"}}"
    part = body(data, MediaType.JSON)
    hits: Counter[str] = Counter()
    tracemalloc.start()
    try:
        got = field_pairs(part, Limits(), None, hits)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(got) == 20_000
    assert max(len(p) for p, _ in got) <= Limits().max_key_chars + 1 + len(".f19999")
    assert peak < 40_000_000
    assert hits["key_too_long"] == 1


# -- damage recovered and counted (issue #16) ---------------------------------------------


def recovered(data: bytes, media: str = MediaType.JSON) -> tuple[list[tuple[str, str]], Counter[str], Counter[str]]:
    hits: Counter[str] = Counter()
    damage: Counter[str] = Counter()
    got = field_pairs(body(data, media), Limits(), None, hits, damage)
    return got, hits, damage


@pytest.mark.parametrize(
    ("data", "kind", "expected"),
    [
        (b'{"ratio": NaN, "email": "sam@example.net"}', "json_nonstandard",
         [("email", "sam@example.net")]),
        (b'{"email": "sam@example.net", "note": "caf\xe9"}', "json_invalid_utf8",
         [("email", "sam@example.net"), ("note", "caf\ufffd")]),
        (b'{"email": "sam@example.net"} <!-- cached -->', "json_trailing_data",
         [("email", "sam@example.net"), ("", "<!-- cached -->")]),
        (b'{"user": {"email": "sam@example.net", "card": "4111 1111 11', "json_syntax_error",
         [("user.email", "sam@example.net"), ("user.card", "4111 1111 11")]),
        (b'{"s": "\\ud800", "email": "sam@example.net"}', "json_nonstandard",
         [("s", "\ufffd"), ("email", "sam@example.net")]),
        (b"<html><body>error for sam@example.net</body></html>", "json_syntax_error",
         [("", "<html><body>error for sam@example.net</body></html>")]),
    ],
    ids=["nan", "invalid-utf8", "trailing", "cut", "lone-surrogate", "html"],
)  # fmt: skip
def test_broken_json_is_recovered_and_counted(
    data: bytes, kind: str, expected: list[tuple[str, str]]
) -> None:
    got, hits, damage = recovered(data)
    assert got == expected
    assert damage == Counter({kind: 1})
    assert not hits


def test_nesting_beyond_the_parser_keeps_the_shallow_values() -> None:
    data = b'{"email": "sam@example.net", "deep": ' + b"[" * 3000 + b"]" * 3000 + b"}"
    got, hits, damage = recovered(data)
    assert got == [("email", "sam@example.net")]
    assert hits["json_depth_limit"] == 1 and not damage


def test_recovery_is_bounded_by_a_token_budget() -> None:
    data = b'{"a": [' + b"1," * 500_000
    hits: Counter[str] = Counter()
    got = field_pairs(body(data, MediaType.JSON), Limits(max_fields_per_part=100), None, hits)
    assert len(got) == 100 and hits["fields_limit"] == 1


def test_ndjson_sent_as_application_json() -> None:
    # Elasticsearch `_bulk`: action and document lines; clean NDJSON is no damage.
    data = b'{"index":{"_id":"1"}}\n{"email":"sam@example.net"}\n{"index":{"_id":"2"}}\n{"email":"jo@example.org"}\n'
    got, hits, damage = recovered(data)
    assert got == [("index._id", "1"), ("email", "sam@example.net"),
                   ("index._id", "2"), ("email", "jo@example.org")]  # fmt: skip
    assert not damage and not hits
    got, _, damage = recovered(b'{"a": "1"}\n{"email": "sam@example.net", "r": NaN}\n')
    assert ("email", "sam@example.net") in got and damage["json_nonstandard"] == 1


def test_empty_json_body_is_no_damage() -> None:
    for data in (b"", b"  \r\n"):
        assert recovered(data) == ([], Counter(), Counter())


def test_sse_data_that_is_no_json_is_text_not_damage() -> None:
    got, _, damage = recovered(b"data: [DONE]\n\n", MediaType.SSE)
    assert got == [("", "[DONE]")] and not damage


# -- values that arrive encoded (issue #15 item 9) ----------------------------------------


def test_cookie_values_are_percent_decoded() -> None:
    for raw in (b"john%40example.com", b"john%2540example.com", b"john\\u0040example.com"):
        part = Part(location=Location.COOKIE, name="user", data=raw)
        assert pairs(decode_part(part, Limits())) == [("user", "john@example.com")]
    # `+` stays: base64 cookie values keep it.
    part = Part(location=Location.COOKIE, name="sid", data=b"ab+cd/ef==")
    assert pairs(decode_part(part, Limits())) == [("sid", "ab+cd/ef==")]


def test_form_values_double_encoded_and_unicode_escaped() -> None:
    data = b"a=john%2540example.com&b=jo\\u0040example.org&c=100%25"
    assert pairs(decode_part(body(data, MediaType.FORM), Limits())) == [
        ("a", "john@example.com"),
        ("b", "jo@example.org"),
        ("c", "100%"),
    ]


def test_header_unicode_escapes_decoded_percent_kept() -> None:
    part = Part(location=Location.HEADER, name="x-user", data=b"sam\\u0040example.net 100%41")
    assert pairs(decode_part(part, Limits())) == [("x-user", "sam@example.net 100%41")]


def test_repeated_bodies_give_the_same_paths_and_numbers() -> None:
    # The walk keeps member paths and float texts from body to body: the second body,
    # and -0.0 after 0.0 (equal floats with different texts), come out as on their own.
    first = orjson.dumps({"order": {"total": 0.0, "items": [{"price": 140.49}]}})
    second = orjson.dumps({"order": {"total": -0.0, "items": [{"price": 140.49}, {"qty": 2}]}})
    limits = Limits()
    assert field_pairs(body(first, MediaType.JSON), limits) == [
        ("order.total", "0.0"),
        ("order.items[].price", "140.49"),
    ]
    assert field_pairs(body(second, MediaType.JSON), limits) == [
        ("order.total", "-0.0"),
        ("order.items[].price", "140.49"),
        ("order.items[].qty", "2"),
    ]


def test_member_path_cache_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from protocols import payload

    monkeypatch.setattr(payload, "MAX_MEMBER_PATH_CHARS", 64)
    limits = Limits()
    for i in range(20):
        doc = {f"parent{i}": {"child": "x", "other": 1}}
        got = field_pairs(body(orjson.dumps(doc), MediaType.JSON), limits)
        assert got == [(f"parent{i}.child", "x"), (f"parent{i}.other", "1")]
    kept = sum(len(path) for paths in payload._MEMBER_PATHS.values() for path in paths.values())
    assert kept <= 64
