"""HTTP/2 `:authority` with userinfo (RFC 3986 section 3.2.1, `user:pass@host`): the
credential is handed to the classifiers as the header field `:authority`, and the host
column carries the host alone (issue #15 item 6). Values are synthetic."""

from __future__ import annotations

from protocols.base import Direction, Location, Message
from protocols.http2 import Http2Dissector
from tests.builders import http2 as b

REQ = Direction.REQUEST
RESP = Direction.RESPONSE


def _messages(authority: str) -> list[Message]:
    hp = b.Hpack()
    request = [(":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", authority)]
    conv = [
        (REQ, b.PREFACE + b.settings()),
        (RESP, b.settings() + b.settings(ack=True)),
        (REQ, b.headers(1, hp.req(request), end=True)),
        (RESP, b.headers(1, hp.resp([(":status", "204")]), end=True)),
    ]
    d = Http2Dissector()
    events = []
    for direction, data in conv:
        events += d.feed(direction, data, 7)
    events += d.close(REQ, 9) + d.close(RESP, 9)
    return [e for e in events if isinstance(e, Message)]


def test_userinfo_in_authority_is_a_header_field_and_never_the_host() -> None:
    request, response = _messages("amy:Tr0ub4dor@api.example:8443")
    assert request.host == response.host == "api.example:8443"
    headers = [(p.name, p.data) for p in request.parts if p.location is Location.HEADER]
    assert (":authority", b"amy:Tr0ub4dor@api.example:8443") in headers


def test_plain_authority_is_no_field() -> None:
    request, _ = _messages("api.example")
    assert request.host == "api.example"
    assert all(p.name != ":authority" for p in request.parts)
