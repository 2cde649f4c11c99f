"""The field scorer's pairs of descriptive headers (`FieldScorer._header_pair`, issue
#14): a value of a `SHAREABLE_HEADERS` header is turned into its pair once, not per
message. The cached pair is `plain_text_pair`'s, for values it takes and values it
refuses alike, whatever the limits; only descriptive headers are kept (never a
credential), and the table stays within its bound."""

from __future__ import annotations

import base64
import json

from dpi.classify import ClassifierSet
from dpi.field_scoring import MAX_HEADER_PAIRS, FieldScorer
from dpi.scan_stats import ScanStats
from protocols.base import (
    MAX_SHARED_VALUE,
    SHAREABLE_HEADERS,
    Direction,
    DissectorOptions,
    Limits,
    Location,
    Message,
    Part,
)
from protocols.http1 import Http1Dissector
from protocols.payload import plain_text_pair
from tests.builders.http1 import json_request

_VALUES = [
    b"application/json", b"keep-alive", b"", b"  ", b"gzip, deflate, br", b"no-cache",
    b"text/html; charset=utf-8", b"api.example.test:8443", b"x" * 40,
    # carriers and escapes, which `plain_text_pair` leaves to `field_pairs`
    b'{"email": "a@b.io"}', b'["a", "b"]', b"caf\\u00e9",
    base64.b64encode(b"hello world, some text here"),
    b"/v1/files?X-Amz-Signature=abc&x=1", b"https://cdn.example/a?sig=abc",
    "caf\u00e9".encode(), b"\xff\xfe not utf-8",
    b"a" * MAX_SHARED_VALUE, b"a" * (MAX_SHARED_VALUE + 1), b"b" * 5000,
]


def _scorer(limits: Limits) -> FieldScorer:
    return FieldScorer(ClassifierSet([]), limits, DissectorOptions(), ScanStats())


def test_header_pair_is_plain_text_pair_for_every_value_and_limits() -> None:
    for limits in (Limits(), Limits(max_value_chars=8), Limits(max_fields_per_part=1)):
        scorer = _scorer(limits)
        for _ in range(2):  # the first sight fills the table, the second reads it
            for name in sorted(SHAREABLE_HEADERS):
                for value in _VALUES:
                    part = Part(location=Location.HEADER, name=name, data=value)
                    assert scorer._header_pair(part) == plain_text_pair(part, limits), (
                        name, value[:20], limits)


def test_only_descriptive_headers_are_kept_and_rows_are_unchanged() -> None:
    token = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJl"
    messages = []
    http = Http1Dissector()
    for i in range(3):
        wire = json_request("POST", "/v1/users", {"email": f"user{i}@example.com"},
                            headers=[("Authorization", token), ("Accept", "application/json"),
                                     ("X-Request-Id", f"r-{i}"), ("Connection", "keep-alive")])
        messages += [e for e in http.feed(Direction.REQUEST, wire, i) if isinstance(e, Message)]
    scorer = _scorer(Limits())
    grouped = [scorer._grouped_parts(m)[0] for m in messages]
    kept = {name for name, _ in scorer._header_pairs}
    assert kept == {"accept", "connection", "content-type", "content-length", "host"} & (
        SHAREABLE_HEADERS)
    assert all(value not in (token.encode(), b"r-0") for _, value in scorer._header_pairs)
    # the same pairs as a scorer that never had the table (each message afresh)
    for message, got in zip(messages, grouped, strict=True):
        assert got == _scorer(Limits())._grouped_parts(message)[0]
    headers = dict(next(groups for location, groups in grouped[2] if location == "header"))
    assert headers["authorization"] == [token]
    assert headers["accept"] == ["application/json"]
    assert json.loads(messages[2].parts[-1].data) == {"email": "user2@example.com"}


def test_header_pairs_stay_within_their_bound() -> None:
    scorer = _scorer(Limits())
    for i in range(MAX_HEADER_PAIRS * 2 + 3):
        part = Part(location=Location.HEADER, name="accept", data=f"type/{i}".encode())
        assert scorer._header_pair(part) == ("accept", f"type/{i}")
        assert len(scorer._header_pairs) <= MAX_HEADER_PAIRS
