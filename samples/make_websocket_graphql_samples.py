"""Generates the WebSocket and GraphQL sample captures and their expected inventories.

Run `python samples/make_websocket_graphql_samples.py [--out-dir DIR]` as root (dumpcap
on `lo`).

`websocket-chat.pcap`: a real `websockets` server and client over 127.0.0.1:61801, two
connections, both with permessage-deflate (RFC 7692): `/v1/chat/42` with context
takeover, then `/v2/feed/7` with `server_no_context_takeover` and
`client_no_context_takeover`. The client sends typed JSON messages (`type`, `action`),
a MessagePack binary message (`op`); the server answers with typed JSON, a message sent
in fragments, NDJSON and a binary blob of no known format whose printable run holds a card
number (reported with an empty field: the binary fallback).

`graphql-patients.pcap`: graphql-core executing a small schema behind `http.server`
(HTTP/1.1 keep-alive) on 127.0.0.1:61802, one `http.client` connection: a named query
with variables, an anonymous mutation with inline arguments, a named mutation with
variables, a GET with `query=`, a batch of two operations, and an Automatic Persisted
Query (hash only, the server's PersistedQueryNotFound error with `extensions`, the
retry with the document, then hash only again).

Every packet of step k gets the time T0 + k seconds (the handshake: T0), so first/last
seen follow from the ground truth. Expected CSVs (spec/inventory.md) list the values
`SENSITIVE_*` says a correct classifier flags, computed from what the script sent, never
from dpi; confidence is the floor 0.5 (tests/samples/test_golden.py).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import http.client
import json
import os
import struct
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SAMPLES_DIR = Path(__file__).resolve().parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import msgpack
from graphql import GraphQLError, build_schema, graphql_sync
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve
from websockets.extensions.permessage_deflate import ServerPerMessageDeflateFactory

from samples._capture_tools import (
    dumpcap_loopback,
    expected_row,
    pcap_is_nanosecond,
    pcap_linktype,
    pcap_records,
    sort_rows,
    write_csv,
)

HOST = "127.0.0.1"
WS_PORT = 61801
GQL_PORT = 61802
T0 = 1_768_467_600  # 2026-01-15T09:00:00Z
CATEGORY = {
    "EMAIL_ADDRESS": "PII", "PHONE_NUMBER": "PII", "PERSON_NAME": "PII", "US_SSN": "PII", "CARD_NUMBER": "PCI",
}  # fmt: skip

# Synthetic values only (the SSN follows the SSA rules and is no published fake; the
# card is a test PAN; e-mail addresses at reserved example domains).
EMAIL = "jane.roe@example.com"
EMAIL_2 = "sam.lee@example.net"
PHONE = "+1 415 555 0134"
PHONE_2 = "+1 415 555 0199"
SSN = "512-44-3187"
CARD = "4111111111111111"
CARD_2 = "5555555555554444"


@dataclass
class Sent:
    """Ground truth: one message's leaves, at step `step`."""

    step: int
    api: str
    direction: str
    values: list[tuple[str, str]] = field(default_factory=list)


def _leaves(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """JSON leaves as (path, text): keys joined by `.`, array elements `[]`."""
    out: list[tuple[str, str]] = []
    if isinstance(obj, dict):
        for key, value in obj.items():
            out += _leaves(value, f"{prefix}.{key}" if prefix else key)
    elif isinstance(obj, list):
        for item in obj:
            out += _leaves(item, f"{prefix}[]")
    elif isinstance(obj, str):
        out.append((prefix, obj))
    return out


# -- WebSocket -------------------------------------------------------------------------

WS_CHAT = "/v1/chat/42"
WS_FEED = "/v2/feed/7"


@dataclass
class WsStep:
    """One exchange: what the client sends, what the server answers. A payload is a JSON
    document (text), `("msgpack", doc)`, `("ndjson", [docs])`, `("fragments", doc)` or
    `("blob", bytes, [(path, value)])`."""

    path: str
    client: list[Any]
    server: list[Any]


WS_STEPS = [
    WsStep(WS_CHAT, [{"type": "message.send", "recipient_email": EMAIL, "text": "hello"}],
           [{"type": "message.ack", "id": 1}]),
    WsStep(WS_CHAT, [{"action": "payment.create", "card": {"number": CARD}, "amount": 12}],
           [{"event": "profile", "user": {"email": EMAIL, "phone": PHONE, "ssn": SSN}}]),
    WsStep(WS_CHAT, [("msgpack", {"op": "kyc.submit", "ssn": SSN, "phone": PHONE_2})],
           [("fragments", {"event": "contacts", "contacts": [{"email": EMAIL_2}] * 40})]),
    WsStep(WS_CHAT, [{"type": "feed.more"}],
           [("ndjson", [{"email": EMAIL}, {"email": EMAIL_2}])]),
    WsStep(WS_FEED, [{"type": "subscribe", "email": EMAIL_2}],
           [{"type": "update", "card": {"number": CARD_2}}, {"type": "update", "card": {"number": CARD}}]),
    WsStep(WS_FEED, [{"type": "blob.get"}],
           [("blob", b"\x00\x07\x01\x92" + CARD_2.encode() + b"\x00\x9a\xff\x02ok\x00\x01",
             [("", CARD_2)])]),
]  # fmt: skip

# field path -> type, what a correct classifier says of each value the messages carry.
SENSITIVE_WS = {
    "recipient_email": "EMAIL_ADDRESS", "card.number": "CARD_NUMBER", "user.email": "EMAIL_ADDRESS",
    "user.phone": "PHONE_NUMBER", "user.ssn": "US_SSN", "ssn": "US_SSN",
    "phone": "PHONE_NUMBER", "contacts[].email": "EMAIL_ADDRESS", "email": "EMAIL_ADDRESS",
}  # fmt: skip
BLOB_TYPES = {CARD_2: "CARD_NUMBER"}


def _ws_type(doc: Any) -> str:
    if isinstance(doc, dict):
        for member in ("type", "event", "action", "op"):
            if isinstance(doc.get(member), str):
                return str(doc[member])
    return ""


def _ws_api(path: str, doc: Any) -> str:
    template = path.rsplit("/", 1)[0] + "/{id}"
    kind = _ws_type(doc)
    return f"WS {template} {kind}" if kind else f"WS {template}"


def _ws_truth(step: int, path: str, direction: str, payload: Any) -> list[Sent]:
    if isinstance(payload, tuple) and payload[0] == "ndjson":
        kinds = {_ws_type(d) for d in payload[1]}
        api = _ws_api(path, payload[1][0] if len(kinds) == 1 else None)
        return [Sent(step, api, direction, [v for d in payload[1] for v in _leaves(d)])]
    if isinstance(payload, tuple) and payload[0] == "blob":
        return [Sent(step, _ws_api(path, None), direction, list(payload[2]))]
    doc = payload[1] if isinstance(payload, tuple) else payload
    return [Sent(step, _ws_api(path, doc), direction, _leaves(doc))]


def _ws_wire(payload: Any) -> Any:
    if isinstance(payload, dict):
        return json.dumps(payload)
    kind = payload[0]
    if kind == "msgpack":
        return msgpack.packb(payload[1])
    if kind == "ndjson":
        return "\n".join(json.dumps(d) for d in payload[1]) + "\n"
    if kind == "fragments":
        text = json.dumps(payload[1])
        return [text[i : i + 200] for i in range(0, len(text), 200)]
    return payload[1]


async def _ws_session(windows: list[tuple[float, float]]) -> list[Sent]:
    sent: list[Sent] = []
    replies = {id(s.client[0]): s.server for s in WS_STEPS}

    async def handler(ws: ServerConnection) -> None:
        async for message in ws:
            step = _step_of_client_message(message)
            for payload in replies[id(step.client[0])]:
                await ws.send(_ws_wire(payload))

    for path, extensions in (
        (WS_CHAT, None),
        (WS_FEED, [ServerPerMessageDeflateFactory(
            server_no_context_takeover=True, client_no_context_takeover=True)]),
    ):  # fmt: skip
        kwargs: dict[str, Any] = {"ping_interval": None}
        if extensions is not None:
            kwargs.update(extensions=extensions, compression=None)
        async with serve(handler, HOST, WS_PORT, **kwargs):
            async with connect(f"ws://{HOST}:{WS_PORT}{path}", ping_interval=None) as ws:
                await asyncio.sleep(0.3)
                for step in (s for s in WS_STEPS if s.path == path):
                    index = len(windows) + 1
                    start = time.time()
                    await asyncio.sleep(0.2)
                    for payload in step.client:
                        await ws.send(_ws_wire(payload))
                        sent += _ws_truth(index, path, "request", payload)
                    for payload in step.server:
                        await ws.recv()
                        sent += _ws_truth(index, path, "response", payload)
                    await asyncio.sleep(0.3)
                    windows.append((start, time.time()))
            await asyncio.sleep(0.3)
    return sent


def _step_of_client_message(message: str | bytes) -> WsStep:
    for step in WS_STEPS:
        wire = _ws_wire(step.client[0])
        if wire == message:
            return step
    raise SystemExit("unknown client message")


def _ws_rows(sent: list[Sent]) -> list[dict[str, str]]:
    server = f"{HOST}:{WS_PORT}"
    host = server

    def kind(path: str, value: str) -> str | None:
        return BLOB_TYPES.get(value) if path == "" else SENSITIVE_WS.get(path)

    return _rows(sent, "http", server, host, kind)


# -- GraphQL ---------------------------------------------------------------------------

SCHEMA = build_schema("""
    type Patient { id: ID! name: String email: String phone: String ssn: String }
    type User { id: ID! email: String phone: String }
    type Card { last4: String }
    input UserInput { email: String! phone: String }
    input CardInput { number: String! holderEmail: String }
    type Query { patient(id: ID!): Patient }
    type Mutation {
      createUser(input: UserInput!): User
      updateCard(card: CardInput!): Card
    }
""")
PATIENT = {"id": "42", "name": "Jane Roe", "email": EMAIL, "phone": PHONE, "ssn": SSN}


class _Root:
    def patient(self, info: Any, id: str) -> dict[str, str]:
        if id != "42":
            raise GraphQLError("patient not found", extensions={"code": "NOT_FOUND"})
        return PATIENT

    def createUser(self, info: Any, input: dict[str, str]) -> dict[str, str]:
        return {"id": "7", **input}

    def updateCard(self, info: Any, card: dict[str, str]) -> dict[str, str]:
        return {"last4": card["number"][-4:]}


GET_PATIENT = "query GetPatient($id: ID!) { patient(id: $id) { name email phone ssn } }"
GET_PATIENT_HASH = hashlib.sha256(GET_PATIENT.encode()).hexdigest()
_PERSISTED: dict[str, str] = {}


def _execute(request: dict[str, Any]) -> dict[str, Any]:
    query = request.get("query")
    digest = (request.get("extensions") or {}).get("persistedQuery", {}).get("sha256Hash")
    if query is None and digest:
        query = _PERSISTED.get(digest)
        if query is None:
            return {"errors": [{"message": "PersistedQueryNotFound",
                                "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"}}]}
    elif digest:
        _PERSISTED[digest] = query
    result = graphql_sync(SCHEMA, query, root_value=_Root(),
                          variable_values=request.get("variables"),
                          operation_name=request.get("operationName"))  # fmt: skip
    return result.formatted


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        out = [_execute(b) for b in body] if isinstance(body, list) else _execute(body)
        self._reply(out)

    def do_GET(self) -> None:
        params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        request: dict[str, Any] = {"query": params.get("query"),
                                   "operationName": params.get("operationName")}  # fmt: skip
        if "variables" in params:
            request["variables"] = json.loads(params["variables"])
        self._reply(_execute(request))

    def _reply(self, document: Any) -> None:
        data = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


CREATE_USER = (
    'mutation { createUser(input: {email: "' + EMAIL_2 + '", phone: "' + PHONE_2 + '"}) '
    "{ id email } }"
)
UPDATE_CARD = "mutation UpdateCard($card: CardInput!) { updateCard(card: $card) { last4 } }"
LOOKUP = 'query Lookup { patient(id: "42") { email } }'
APQ = {"version": 1, "sha256Hash": GET_PATIENT_HASH}
# (method, request document, operation api suffix per operation)
GQL_STEPS: list[tuple[str, Any, list[str]]] = [
    ("POST", {"query": GET_PATIENT, "operationName": "GetPatient", "variables": {"id": "42"}},
     ["query GetPatient"]),
    ("POST", {"query": CREATE_USER}, ["mutation createUser"]),
    ("POST", {"query": UPDATE_CARD, "variables": {"card": {"number": CARD, "holderEmail": EMAIL}}},
     ["mutation UpdateCard"]),
    ("GET", {"query": LOOKUP}, ["query Lookup"]),
    ("POST", [{"query": GET_PATIENT, "variables": {"id": "42"}},
              {"query": 'mutation { createUser(input: {email: "' + EMAIL + '"}) { id } }'}],
     ["query GetPatient", "mutation createUser"]),
    ("POST", {"operationName": "GetPatient", "variables": {"id": "42"},
              "extensions": {"persistedQuery": APQ}}, ["query GetPatient"]),
    ("POST", {"query": GET_PATIENT, "operationName": "GetPatient", "variables": {"id": "42"},
              "extensions": {"persistedQuery": APQ}}, ["query GetPatient"]),
    ("POST", {"variables": {"id": "42"}, "extensions": {"persistedQuery": APQ}},
     ["query GetPatient"]),
]  # fmt: skip

SENSITIVE_GQL = {
    "data.patient.name": "PERSON_NAME",
    "data.patient.email": "EMAIL_ADDRESS", "data.patient.phone": "PHONE_NUMBER",
    "data.patient.ssn": "US_SSN", "data.createUser.email": "EMAIL_ADDRESS",
    "arguments.createUser.input.email": "EMAIL_ADDRESS",
    "arguments.createUser.input.phone": "PHONE_NUMBER",
    "variables.card.number": "CARD_NUMBER", "variables.card.holderEmail": "EMAIL_ADDRESS",
}  # fmt: skip


def _arguments_truth(request: dict[str, Any]) -> list[tuple[str, str]]:
    """The inline arguments the script wrote into its own documents."""
    query = request.get("query") or ""
    if query == CREATE_USER:
        return [("arguments.createUser.input.email", EMAIL_2),
                ("arguments.createUser.input.phone", PHONE_2)]  # fmt: skip
    if query.startswith("mutation { createUser"):
        return [("arguments.createUser.input.email", EMAIL)]
    return []


def _gql_session(windows: list[tuple[float, float]]) -> list[Sent]:
    server = ThreadingHTTPServer((HOST, GQL_PORT), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    sent: list[Sent] = []
    try:
        conn = http.client.HTTPConnection(HOST, GQL_PORT)
        for index, (method, request, operations) in enumerate(GQL_STEPS, 1):
            start = time.time()
            time.sleep(0.2)
            if method == "GET":
                conn.request("GET", "/graphql?" + urlencode(request))
            else:
                conn.request("POST", "/graphql", body=json.dumps(request),
                             headers={"Content-Type": "application/json"})  # fmt: skip
            response = json.loads(conn.getresponse().read())
            requests = request if isinstance(request, list) else [request]
            responses = response if isinstance(response, list) else [response]
            for op, req, resp in zip(operations, requests, responses, strict=True):
                api = f"{method} /graphql {op}"
                values = _leaves({"variables": req.get("variables", {})}) + _arguments_truth(req)
                sent.append(Sent(index, api, "request", values))
                sent.append(Sent(index, api, "response", _leaves(resp)))
            time.sleep(0.3)
            windows.append((start, time.time()))
        conn.close()
        time.sleep(0.3)
    finally:
        server.shutdown()
        server.server_close()
    return sent


def _gql_rows(sent: list[Sent]) -> list[dict[str, str]]:
    server = f"{HOST}:{GQL_PORT}"
    return _rows(sent, "http", server, server, lambda path, value: SENSITIVE_GQL.get(path))


# -- shared ----------------------------------------------------------------------------


def _rows(
    sent: list[Sent], protocol: str, server: str, host: str,
    kind: Callable[[str, str], str | None],
) -> list[dict[str, str]]:  # fmt: skip
    agg: dict[tuple[str, ...], list[Any]] = {}
    for item in sent:
        for path, value in item.values:
            data_type = kind(path, value)
            if data_type is None:
                continue
            key = (item.api, item.direction, path, data_type)
            row = agg.setdefault(key, [0, item.step, item.step, value])
            row[0] += 1
            row[2] = max(row[2], item.step)
    rows = []
    for (api, direction, path, data_type), (count, first, last, value) in agg.items():
        rows.append(expected_row(
            protocol=protocol, server=server, host=host, api=api, direction=direction,
            location="body", field=path, data_type=data_type,
            category=CATEGORY[data_type], count=count,
            first_us=(T0 + first) * 1_000_000, last_us=(T0 + last) * 1_000_000, value=value,
        ))  # fmt: skip
    return sort_rows(rows)


def _record(raw: Path, port: int, run: Callable[[list[tuple[float, float]]], list[Sent]]
            ) -> tuple[bytes, list[tuple[int, bytes]], list[Sent]]:  # fmt: skip
    windows: list[tuple[float, float]] = []
    with dumpcap_loopback(raw, port):
        sent = run(windows)
        time.sleep(0.5)
    data = raw.read_bytes()
    scale = 1e9 if pcap_is_nanosecond(data) else 1e6
    header = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 262144, pcap_linktype(data))
    frames = []
    for sec, frac, _incl, _orig, frame in pcap_records(data):
        ts = sec + frac / scale
        step = 0
        for index, (start, _end) in enumerate(windows, 1):
            if ts >= start:
                step = index
        frames.append((step, frame))
    return header, frames, sent


def _write(path: Path, header: bytes, frames: list[tuple[int, bytes]]) -> None:
    out = bytearray(header)
    for step, frame in frames:
        out += struct.pack("<IIII", T0 + step, 0, len(frame), len(frame)) + frame
    path.write_bytes(bytes(out))
    os.chmod(path, 0o644)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out-dir", type=Path, default=SAMPLES_DIR)
    args = parser.parse_args()
    out: Path = args.out_dir
    with tempfile.TemporaryDirectory(prefix="dpi-ws-gql-samples-") as tmp_name:
        tmp = Path(tmp_name)
        header, frames, sent = _record(
            tmp / "ws.pcap", WS_PORT, lambda w: asyncio.run(_ws_session(w))
        )
        _write(out / "websocket-chat.pcap", header, frames)
        write_csv(out / "websocket-chat.expected.csv", _ws_rows(sent))
        header, frames, sent = _record(tmp / "gql.pcap", GQL_PORT, _gql_session)
        _write(out / "graphql-patients.pcap", header, frames)
        write_csv(out / "graphql-patients.expected.csv", _gql_rows(sent))
    for name in ("websocket-chat.pcap", "graphql-patients.pcap"):
        print(f"{name}: {(out / name).stat().st_size} bytes")


if __name__ == "__main__":
    main()
