"""HTTP/0.9 requests and the registered methods (issue #15, dissection misses on real
traffic): a request line of just `GET <target>` is a request whose response is the raw
body until close, at the start of a connection only; QUERY and the other methods of
the IANA HTTP Method Registry are requests. Crafted bytes in, messages out."""

from __future__ import annotations

import pytest

from protocols._http_headers import KNOWN_METHODS
from protocols.base import Anomaly, Direction, Event, Limits, Location, Message, Probe
from protocols.http1 import Http1Dissector
from protocols.payload import decode_part
from tests.builders import http1 as b

REQ, RESP = Direction.REQUEST, Direction.RESPONSE

HTML = b"<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD><BODY>gone</BODY></HTML>\n"


def _run(conv: list[tuple[Direction, bytes]], close: bool = True) -> list[Event]:
    d = Http1Dissector()
    events: list[Event] = []
    for ts, (direction, data) in enumerate(conv, start=1):
        events += d.feed(direction, data, ts)
    if close:
        events += d.close(REQ, 99) + d.close(RESP, 99)
    return events


def _messages(events: list[Event]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def _anomalies(events: list[Event]) -> list[str]:
    return [e.kind for e in events if isinstance(e, Anomaly)]


def _fields(msg: Message) -> dict[tuple[str, str], str]:
    return {
        (fv.location.value, fv.path): fv.value
        for p in msg.parts
        for fv in decode_part(p, Limits())
    }


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        # HTTP/0.9: GET and a target in origin or absolute form, then the line ends.
        (b"GET /cgi-bin/formmail.pl?email=a%40mail.example&msg=hi\r\n", Probe.YES),
        (b"GET /index.html\n", Probe.YES),
        (b"GET http://www.example.test/\r\n", Probe.YES),
        (b"GET /index.html", Probe.NEED_MORE),  # the line may still end
        # Not HTTP/0.9: other methods, a target that is no path (a Redis inline
        # command), blanks or control bytes in the target, an empty target.
        (b"POST /form\r\n", Probe.NO),
        (b"GET key:1\r\n", Probe.NO),
        (b"GET mykey\r\n", Probe.NO),
        (b"GET /a\x01b\r\n", Probe.NO),
        (b"GET \r\n", Probe.NO),
        (b"GET /a /b\r\n", Probe.NO),
        # Methods of the registry (and QUERY) start requests; PRI stays HTTP/2's preface.
        (b"QUERY /users HTTP/1.1\r\n", Probe.YES),
        (b"VERSION-CONTROL /repo/file HTTP/1.1\r\n", Probe.YES),
        (b"UPDATEREDIRECTREF /r HTTP/1.1\r\n", Probe.YES),
        (b"BASELINE-CONTR", Probe.NEED_MORE),
        (b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", Probe.NO),
    ],
)
def test_request_probe(data: bytes, expected: Probe) -> None:
    assert Http1Dissector.probe(REQ, data) is expected


def test_method_list_holds_the_registry_and_query_but_not_pri() -> None:
    registry = (
        b"ACL BASELINE-CONTROL BIND CHECKIN CHECKOUT CONNECT COPY DELETE GET HEAD LABEL LINK "
        b"LOCK MERGE MKACTIVITY MKCALENDAR MKCOL MKREDIRECTREF MKWORKSPACE MOVE OPTIONS "
        b"ORDERPATCH PATCH POST PROPFIND PROPPATCH PUT QUERY REBIND REPORT SEARCH TRACE "
        b"UNBIND UNCHECKOUT UNLINK UNLOCK UPDATE UPDATEREDIRECTREF VERSION-CONTROL"
    ).split()
    assert set(registry) <= KNOWN_METHODS
    assert b"PRI" not in KNOWN_METHODS


def test_http09_request_and_raw_response_pair() -> None:
    line = b"GET /cgi-bin/formmail.pl?email=jane%40mail.example&recipient=bob%40mail.example\r\n"
    events = _run([(REQ, line), (RESP, HTML[:20]), (RESP, HTML[20:])])
    request, response = _messages(events)
    assert (request.direction, request.api, request.status) == (REQ, "GET /cgi-bin/formmail.pl", 0)
    assert _fields(request)[("query", "email")] == "jane@mail.example"
    assert _fields(request)[("query", "recipient")] == "bob@mail.example"
    assert (response.direction, response.api, response.status) == (RESP, request.api, 0)
    body = [p for p in response.parts if p.location is Location.BODY]
    assert [p.data for p in body] == [HTML]
    assert not response.incomplete
    assert _anomalies(events) == []


def test_http09_json_response_gives_fields() -> None:
    events = _run([(REQ, b"GET /me\n"), (RESP, b'{"email": "jane@mail.example"}')])
    response = _messages(events)[1]
    assert _fields(response)[("body", "email")] == "jane@mail.example"


def test_http09_request_answered_with_a_status_line_is_http1() -> None:
    resp = b.response(400, [("Content-Type", "text/plain")], b"bad request")
    events = _run([(REQ, b"GET /x\r\n"), (RESP, resp[:5]), (RESP, resp[5:])])
    request, response = _messages(events)
    assert (request.api, response.api, response.status) == ("GET /x", "GET /x", 400)
    assert _fields(response)[("header", "content-type")] == "text/plain"
    assert _anomalies(events) == []


def test_http09_line_after_a_request_is_not_a_request() -> None:
    # HTTP/0.9 has no persistent connections: a bare line later on is not a request.
    events = _run(
        [
            (REQ, b.request("GET", "/a")),
            (RESP, b.response(200, [("Content-Length", "0")])),
            (REQ, b"GET /b\r\n"),
        ]
    )
    assert [m.api for m in _messages(events)] == ["GET /a", "GET /a"]
    assert "resync" in _anomalies(events)


def test_resync_does_not_take_an_http09_line() -> None:
    # Mid-stream garbage holding `GET /path` lines: only a whole HTTP/1.x start line
    # ends the resynchronisation.
    events = _run(
        [
            (REQ, b"\x00\x01garbage\r\nGET /not-a-request\r\nmore\r\n" + b.request("GET", "/real")),
        ]
    )
    assert [m.api for m in _messages(events)] == ["GET /real"]


def test_query_method_request_and_response() -> None:
    events = _run(
        [
            (REQ, b.json_request("QUERY", "/users", {"select": ["name"], "where": {"age": 3}})),
            (RESP, b.json_response([{"name": "Jane Roe", "email": "jane@mail.example"}])),
        ]
    )
    request, response = _messages(events)
    assert (request.api, response.api) == ("QUERY /users", "QUERY /users")
    assert _fields(request)[("body", "select[]")] == "name"
    assert _fields(response)[("body", "[].email")] == "jane@mail.example"
    assert _anomalies(events) == []


# -- a second response whose start was overwritten (an injected response won the race) --

INJECTED = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nBANG!"
# The server's own response from byte len(INJECTED) on: the rest of its Date line, the
# other header lines, a chunked JSON body.
REAL_TAIL = (
    b" Tue, 31 Mar 2015 14:37:46 GMT\r\nContent-Type: application/json; charset=utf-8\r\n"
    b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    + b.chunked(b'{"ip": "198.51.100.23", "about": "/about"}')
)


@pytest.mark.parametrize("cut", [len(REAL_TAIL), 12, 40, 95])
def test_headless_second_response_is_read(cut: int) -> None:
    events = _run(
        [(REQ, b.request("GET", "/")), (RESP, INJECTED + REAL_TAIL[:cut]), (RESP, REAL_TAIL[cut:])]
    )
    request, injected, real = _messages(events)
    assert (injected.api, injected.status) == ("GET /", 200)
    assert (real.direction, real.api, real.status, real.host) == (RESP, "GET /", 0, request.host)
    assert _fields(real)[("body", "ip")] == "198.51.100.23"
    assert ("header", "connection") in _fields(real)
    assert _anomalies(events) == ["headless_response"]


def test_headless_response_does_not_take_a_pending_request() -> None:
    # Pipelined: the second request is still waiting, so header-like bytes after the
    # first response are not a second answer to the first request.
    events = _run(
        [
            (REQ, b.request("GET", "/a") + b.request("GET", "/b")),
            (RESP, INJECTED + REAL_TAIL),
            (RESP, b.json_response({"b": 1})),
        ]
    )
    assert [(m.direction, m.api) for m in _messages(events)] == [
        (REQ, "GET /a"), (REQ, "GET /b"), (RESP, "GET /a"), (RESP, "GET /b")
    ]  # fmt: skip
    assert "headless_response" not in _anomalies(events)
    assert "resync" in _anomalies(events)


@pytest.mark.parametrize(
    "junk",
    [
        b"trailing junk after the body\r\nmore junk\r\n\r\n",  # not header lines
        b" cut line\r\nX-Other: 1\r\n\r\n",  # header lines, but none types a body
        b" cut line\r\n" + b"X-Pad: " + b"a" * 9000 + b"\r\n",  # no blank line in 8 KB
        b"\x00\x01\x02binary",
    ],
)
def test_other_bytes_after_an_answered_request_resync(junk: bytes) -> None:
    events = _run([(REQ, b.request("GET", "/")), (RESP, INJECTED + junk)])
    assert [m.api for m in _messages(events)] == ["GET /", "GET /"]
    assert "headless_response" not in _anomalies(events)
    assert "resync" in _anomalies(events)
