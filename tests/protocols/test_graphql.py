"""GraphQL over HTTP: operations as apis, variables and inline arguments as request
fields, data paths as response fields, batches, persisted queries, GET; through HTTP/1
and HTTP/2, and the sample capture against tshark's count of GraphQL requests."""

from __future__ import annotations

import subprocess
from pathlib import Path
from urllib.parse import urlencode

import orjson
import pytest

from dpi.api import scan_engine
from protocols.base import Direction, Event, Limits, Location, Message
from protocols.graphql import summarize
from protocols.http1 import Http1Dissector
from protocols.http2 import Http2Dissector
from protocols.payload import field_pairs
from tests.builders.http1 import json_request, json_response, request
from tests.builders.http2 import PREFACE, Hpack, data, headers, settings
from tests.recording import MessageRecorder

REQ, RESP = Direction.REQUEST, Direction.RESPONSE
GET_PATIENT = "query GetPatient($id: ID!) { patient(id: $id) { name email } }"


def _messages(events: list[Event]) -> list[Message]:
    return [e for e in events if isinstance(e, Message)]


def _body_fields(message: Message) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in message.parts:
        if part.location is Location.BODY:
            out.update(field_pairs(part, Limits()))
    return out


def _exchange(body: object, reply: object) -> list[Message]:
    http = Http1Dissector()
    events = http.feed(REQ, json_request("POST", "/graphql", body), 1)
    events += http.feed(RESP, json_response(reply), 2)
    return _messages(events)


def test_named_query_api_variables_and_data_paths() -> None:
    request_msg, response_msg = _exchange(
        {"query": GET_PATIENT, "operationName": "GetPatient", "variables": {"id": "42"}},
        {"data": {"patient": {"name": "Jane Roe", "email": "jane@example.com"}}},
    )
    assert request_msg.api == response_msg.api == "POST /graphql query GetPatient"
    assert _body_fields(request_msg) == {"variables.id": "42"}  # the query text is no field
    assert _body_fields(response_msg) == {
        "data.patient.name": "Jane Roe",
        "data.patient.email": "jane@example.com",
    }
    # headers stay with the request
    assert any(p.location is Location.HEADER for p in request_msg.parts)


def test_anonymous_mutation_named_by_first_root_field_with_inline_arguments() -> None:
    query = (
        'mutation { createUser(input: {email: "sam@example.net", tags: ["a", "b"], '
        'address: {zip: "94105"}, admin: false, role: ADMIN}) { id } '
        'audit(note: "x", by: $who) { ok } }'
    )
    request_msg, response_msg = _exchange(
        {"query": query, "variables": {"who": "me"}}, {"data": {"createUser": {"id": "7"}}}
    )
    assert request_msg.api == "POST /graphql mutation createUser"
    assert response_msg.api == "POST /graphql mutation createUser"
    assert _body_fields(request_msg) == {
        "variables.who": "me",
        "arguments.createUser.input.email": "sam@example.net",
        "arguments.createUser.input.tags[]": "b",
        "arguments.createUser.input.address.zip": "94105",
        "arguments.audit.note": "x",
    }


def test_nested_and_fragment_arguments_follow_field_names_not_aliases() -> None:
    query = """
      query { me: user(id: "42") { ...F posts(first: 10) { id } } }
      fragment F on User { card(last4: "1111") { brand } }
    """
    [operation] = summarize(query) or ()
    assert operation.kind == "query"
    assert operation.name == "user"
    assert operation.arguments == {
        "user": {"id": "42", "card": {"last4": "1111"}, "posts": {"first": "10"}}
    }


def test_operation_name_picks_among_several_operations() -> None:
    query = "query A { a } mutation B { b(x: 1) }"
    request_msg, _ = _exchange({"query": query, "operationName": "B"}, {"data": {"b": 1}})
    assert request_msg.api == "POST /graphql mutation B"


def test_batch_splits_request_and_response_per_operation() -> None:
    batch = [
        {"query": GET_PATIENT, "variables": {"id": "1"}},
        {"query": 'mutation { createUser(input: {email: "a@b.io"}) { id } }'},
    ]
    reply = [{"data": {"patient": {"email": "p@q.io"}}}, {"data": {"createUser": {"id": "9"}}}]
    messages = _exchange(batch, reply)
    assert [(m.direction, m.api) for m in messages] == [
        (REQ, "POST /graphql query GetPatient"),
        (REQ, "POST /graphql mutation createUser"),
        (RESP, "POST /graphql query GetPatient"),
        (RESP, "POST /graphql mutation createUser"),
    ]
    assert _body_fields(messages[1]) == {"arguments.createUser.input.email": "a@b.io"}
    assert _body_fields(messages[2]) == {"data.patient.email": "p@q.io"}
    # headers once per HTTP message: on the first operation only
    assert [any(p.location is Location.HEADER for p in m.parts) for m in messages] == [
        True, False, True, False,
    ]  # fmt: skip


def test_persisted_query_named_from_the_document_seen_earlier_on_the_connection() -> None:
    apq = {"persistedQuery": {"version": 1, "sha256Hash": "ab" * 32}}
    http = Http1Dissector()
    events: list[Event] = []
    for body in (
        {"variables": {"id": "1"}, "extensions": apq},  # miss: nothing learned yet
        {"query": GET_PATIENT, "variables": {"id": "1"}, "extensions": apq},
        {"variables": {"id": "2"}, "extensions": apq},
    ):
        events += http.feed(REQ, json_request("POST", "/graphql", body), 1)
        events += http.feed(RESP, json_response({"data": {}}), 2)
    apis = [m.api for m in _messages(events) if m.direction is REQ]
    assert apis == [
        "POST /graphql (unknown) (unknown)",
        "POST /graphql query GetPatient",
        "POST /graphql query GetPatient",
    ]
    last = [m for m in _messages(events) if m.direction is REQ][-1]
    assert _body_fields(last) == {"variables.id": "2"}  # the hash is no field


def test_get_with_query_parameter() -> None:
    target = "/graphql?" + urlencode(
        {"query": 'query Lookup { patient(id: "42") { email } }', "trace": "t-1"}
    )
    http = Http1Dissector()
    events = http.feed(REQ, request("GET", target), 1)
    events += http.feed(RESP, json_response({"data": {"patient": {"email": "a@b.io"}}}), 2)
    request_msg, response_msg = _messages(events)
    assert request_msg.api == response_msg.api == "GET /graphql query Lookup"
    assert _body_fields(request_msg) == {"arguments.patient.id": "42"}
    queries = [p for p in request_msg.parts if p.location is Location.QUERY]
    assert [field_pairs(p, Limits()) for p in queries] == [[("trace", "t-1")]]


def test_application_graphql_body_is_an_operation_a_text_body_is_not() -> None:
    # The last Content-Type header decides for a body that is not JSON; a query string
    # next to the body is not looked at.
    document = b'query Lookup { patient(id: "42") { email } }'
    for content_types, api in (
        (["application/graphql"], "POST /graphql query Lookup"),
        (["text/plain"], "POST /graphql"),
        (["text/plain", "application/graphql; charset=utf-8"], "POST /graphql query Lookup"),
        (["application/graphql", "text/plain"], "POST /graphql"),
    ):
        http = Http1Dissector()
        headers = [("Content-Type", ctype) for ctype in content_types]
        events = http.feed(REQ, request("POST", "/graphql?query=x", headers, document), 1)
        events += http.feed(RESP, json_response({"data": {"patient": {"email": "a@b.io"}}}), 2)
        request_msg, response_msg = _messages(events)
        assert request_msg.api == response_msg.api == api, content_types
        if api.endswith("Lookup"):
            assert _body_fields(request_msg) == {"arguments.patient.id": "42"}


def test_errors_with_extensions_stay_body_fields() -> None:
    _, response_msg = _exchange(
        {"query": GET_PATIENT, "variables": {"id": "0"}},
        {"errors": [{"message": "boom", "extensions": {"code": "INTERNAL", "stack": "at x"}}]},
    )
    assert response_msg.api == "POST /graphql query GetPatient"
    assert _body_fields(response_msg) == {
        "errors[].message": "boom",
        "errors[].extensions.code": "INTERNAL",
        "errors[].extensions.stack": "at x",
    }


def test_plain_json_and_broken_documents_are_left_alone() -> None:
    for body in ({"query": "not graphql {{{"}, {"query": "fragment F on X { a }"}, {"name": "x"}):
        request_msg, response_msg = _exchange(body, {"ok": True})
        assert request_msg.api == response_msg.api == "POST /graphql"


def test_responses_pair_in_order_around_non_graphql_requests() -> None:
    http = Http1Dissector()
    wire = json_request("POST", "/graphql", {"query": "{ a }"}) + request("GET", "/health")
    events = http.feed(REQ, wire, 1)
    events += http.feed(RESP, json_response({"data": {"a": 1}}) + json_response({"up": 1}), 2)
    assert [m.api for m in _messages(events) if m.direction is RESP] == [
        "POST /graphql query a",
        "GET /health",
    ]


def test_http2_stream_pairs_by_stream_id() -> None:
    hpack = Hpack()
    body = orjson.dumps({"query": GET_PATIENT, "variables": {"id": "42"}})
    reply = b'{"data":{"patient":{"email":"a@b.io"}}}'
    request_block = hpack.req(
        [(":method", "POST"), (":scheme", "http"), (":path", "/graphql"),
         (":authority", "api.example"), ("content-type", "application/json")]
    )  # fmt: skip
    response_block = hpack.resp([(":status", "200"), ("content-type", "application/json")])
    h2 = Http2Dissector()
    events = h2.feed(REQ, PREFACE + settings() + headers(3, request_block) + data(3, body, end=True), 1)
    events += h2.feed(RESP, settings() + headers(3, response_block) + data(3, reply, end=True), 2)
    assert [(m.direction, m.api) for m in _messages(events)] == [
        (REQ, "POST /graphql query GetPatient"),
        (RESP, "POST /graphql query GetPatient"),
    ]


def _sample(samples_dir: Path) -> Path:
    capture = samples_dir / "graphql-patients.pcap"
    if not capture.is_file():
        pytest.skip("run python samples/make_websocket_graphql_samples.py")
    return capture


@pytest.mark.tshark
def test_sample_graphql_request_count_matches_tshark(tshark: str, samples_dir: Path) -> None:
    capture = _sample(samples_dir)
    out = subprocess.run(
        [tshark, "-r", str(capture), "-d", "tcp.port==61802,http", "-Y",
         'http.request && http.request.uri contains "/graphql"', "-T", "fields",
         "-e", "frame.number"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    expected = len(out.split())
    collect = MessageRecorder()
    engine = scan_engine(capture, strict=True, observers=[collect])
    assert engine.stats.bugs == 0
    graphql = [
        m for m in collect.messages
        if m.direction is REQ and m.api.split(" ")[1:2] == ["/graphql"] and len(m.api.split()) > 2
    ]  # fmt: skip
    # One HTTP request per header-carrying message: a batch's later operations carry none.
    http_requests = [m for m in graphql if any(p.location is Location.HEADER for p in m.parts)]
    assert len(http_requests) == expected == 8
    assert len(graphql) == 9  # the batch holds two operations
