"""Issue #15 shapes end to end, capture in, rows out: NDJSON sent as `application/json`
(an Elasticsearch `_bulk`), a JSON-RPC `auth` token, street address lines
(`address.lines[]`, `line1`/`line2`, `street1`), the HTTP/2 `:authority` with userinfo,
and national identity numbers (a Chinese resident identity number, a Polish PESEL, a
French NIR in its printed form) as MySQL prepared-statement parameters and in result
rows. Each with a lookalike that must stay quiet. Values are synthetic."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from dpi.api import scan_engine
from dpi.inventory import Row
from protocols.mysql._packets import FieldType
from tests.builders import http2 as h2
from tests.builders import mysql as mb
from tests.builders.conversation import T0, Conversation, http_request, http_response

Key = tuple[str, str, str, str, str]  # api, direction, location, field, data_type

JSONRPC_AUTH = "0424bd59b807674191e7d77572075f33"
PASSWORD = "Corr3ct-Horse-Battery"
CN_RIC = "11010519491231002X"
PESEL = "44051401359"
NIR_PRINTED = "1 84 12 76 451 089 46"
RAW = (JSONRPC_AUTH, PASSWORD, CN_RIC, PESEL, NIR_PRINTED, "jane.roe@shop.example",
       "1600 Pennsylvania", "221B Baker", "350 Fifth")


def _keys(rows: list[Row]) -> set[Key]:
    return {(r.api, r.direction, r.location, r.field, r.data_type) for r in rows}


def _no_raw_values(rows: list[Row]) -> None:
    for row in rows:
        text = repr(row)
        assert not any(raw in text for raw in RAW), row.field


# -- HTTP/1: NDJSON bulk, JSON-RPC, street address lines -----------------------------------


def _bulk() -> bytes:
    lines = [
        {"index": {"_index": "customers", "_id": "c-1"}},
        {"name": "Jane Roe", "email": "jane.roe@shop.example", "phone": "+1 202 555 0143"},
        {"create": {"_index": "customers", "_id": "c-2"}},
        {"name": "John Doe", "email": "john.doe@shop.example", "phone": "+1 202 555 0178"},
        {"update": {"_index": "customers", "_id": "c-3"}},
        {"doc": {"email": "ann.lee@shop.example"}},
        {"delete": {"_index": "customers", "_id": "c-4"}},
    ]
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


def _http1(path: Path) -> Path:
    conv = Conversation(cport=42500, sport=9200, ts=T0).handshake()
    exchanges = [
        # Elasticsearch's _bulk: NDJSON, sent as application/json by most clients.
        http_request("POST", "/_bulk", _bulk(), content_type="application/json"),
        # Zabbix API: the session is the JSON-RPC `auth` member.
        http_request("POST", "/api_jsonrpc.php", orjson.dumps({
            "jsonrpc": "2.0", "method": "host.get", "params": {"output": "extend"},
            "auth": JSONRPC_AUTH, "id": 2}), content_type="application/json-rpc"),
        # The same hex under `auth` of no JSON-RPC envelope: a setting, no row.
        http_request("POST", "/v1/settings", orjson.dumps(
            {"settings": {"auth": JSONRPC_AUTH, "theme": "dark"}})),
        http_request("POST", "/v1/shipments", orjson.dumps({
            "recipient": {"address": {
                "lines": ["1600 Pennsylvania Avenue NW", "Apartment 4B"],
                "city": "Washington", "postal_code": "20500", "country": "US"}},
            "billing": {"line1": "221B Baker Street", "line2": "Flat 2", "city": "London"},
            "origin": {"street1": "350 Fifth Avenue", "street2": "Suite 3300",
                       "city": "New York"},
        })),
        # Lines that are no address: a message's lines, an invoice's item lines.
        http_request("POST", "/v1/notes", orjson.dumps({
            "message": {"lines": ["Thank you for your order", "It ships on Monday"]},
            "invoice": {"line1": "Widget, blue", "line2": "Gift wrapping", "total": "12.50"},
        })),
    ]
    for request in exchanges:
        conv.request(request)
        conv.response(http_response(b'{"errors": false}'))
    return conv.close().write(path)


@pytest.fixture(scope="module")
def http1_rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    path = _http1(tmp_path_factory.mktemp("shapes") / "http1.pcap")
    return scan_engine(path, strict=True).inventory.rows()


def test_ndjson_bulk_sent_as_json_gives_its_documents_fields(http1_rows: list[Row]) -> None:
    bulk = {(r.field, r.data_type): r.count for r in http1_rows if r.api == "POST /_bulk"}
    assert bulk[("email", "EMAIL_ADDRESS")] == 2  # one per document line
    assert bulk[("phone", "PHONE_NUMBER")] == 2
    assert bulk[("doc.email", "EMAIL_ADDRESS")] == 1  # the update's partial document
    # The action lines (`index`, `create`, `update`, `delete` and their ids) are no data.
    assert not any(field.split(".")[0] in ("index", "create", "update", "delete")
                   for field, _ in bulk)


def test_jsonrpc_auth_is_a_bearer_token(http1_rows: list[Row]) -> None:
    keys = _keys(http1_rows)
    assert ("POST /api_jsonrpc.php", "request", "body", "auth", "BEARER_TOKEN") in keys
    assert not [r for r in http1_rows if r.api == "POST /v1/settings"]


def test_street_address_lines(http1_rows: list[Row]) -> None:
    shipments = {(r.field, r.data_type): r.count for r in http1_rows
                 if r.api == "POST /v1/shipments"}
    assert shipments[("recipient.address.lines[]", "STREET_ADDRESS")] == 2
    assert ("billing.line1", "STREET_ADDRESS") in shipments
    assert ("origin.street1", "STREET_ADDRESS") in shipments
    assert not [f for f, t in shipments if t == "STREET_ADDRESS" and f.endswith(".city")]
    assert not [r for r in http1_rows if r.api == "POST /v1/notes"]
    _no_raw_values(http1_rows)


# -- HTTP/2: `:authority` with userinfo ----------------------------------------------------


def test_http2_authority_userinfo_is_a_password_and_never_the_host(tmp_path: Path) -> None:
    hp = h2.Hpack()
    conv = Conversation(cport=42600, sport=8443, ts=T0).handshake()
    conv.request(h2.PREFACE + h2.settings())
    conv.response(h2.settings() + h2.settings(ack=True))
    for sid in (1, 3):
        request = [(":method", "POST"), (":scheme", "http"), (":path", "/v1/users"),
                   (":authority", f"deploy:{PASSWORD}@api.shop.example:8443"),
                   ("content-type", "application/json")]
        conv.request(h2.headers(sid, hp.req(request))
                     + h2.data(sid, orjson.dumps({"email": "jane.roe@shop.example"}), end=True))
        conv.response(h2.headers(sid, hp.resp([(":status", "201")]), end=True))
    rows = scan_engine(conv.close().write(tmp_path / "h2.pcap"), strict=True).inventory.rows()
    password = [r for r in rows if r.data_type == "PASSWORD"]
    assert [(r.api, r.location, r.field, r.count) for r in password] == [
        ("POST /v1/users", "header", ":authority", 2)]
    assert password[0].sample == "********"
    assert {r.host for r in rows} == {"api.shop.example:8443"}
    _no_raw_values(rows)


# -- MySQL: national identity numbers as statement parameters and in rows ------------------


def _mysql(path: Path) -> Path:
    caps = mb.SERVER_CAPS & ~mb.Cap.DEPRECATE_EOF & ~mb.Cap.QUERY_ATTRIBUTES & ~mb.Cap.COMPRESS
    param = mb.Col("?", table="", schema="")
    people = [mb.Col("uid", table="people", schema="crm"),
              mb.Col("nir", table="people", schema="crm"),
              mb.Col("note", table="people", schema="crm")]
    text = FieldType.VAR_STRING
    conv = Conversation(sport=3306, cport=42700, ts=T0).handshake()
    conv.response(mb.greeting(caps=caps, plugin="mysql_native_password"))
    conv.request(mb.login("app", "crm", plugin="mysql_native_password", auth=b"\x22" * 20))
    conv.response(mb.ok(2))
    conv.request(mb.prepare("INSERT INTO people (uid, pesel, note) VALUES (?, ?, ?)"))
    conv.response(mb.prepare_ok(1, [param, param, param], []))
    conv.request(mb.execute(1, [(text, CN_RIC, False), (text, PESEL, False),
                                (text, "call after 5", False)]))
    conv.response(mb.ok(1))
    conv.request(mb.prepare("SELECT uid, nir, note FROM people WHERE id = ?"))
    conv.response(mb.prepare_ok(2, [param], people))
    conv.request(mb.execute(2, [(FieldType.LONG, 7, False)]))
    conv.response(mb.result_set(people, [mb.binary_row(people, [CN_RIC, NIR_PRINTED, "vip"])],
                                binary=True))
    conv.request(mb.query("SELECT uid, nir, note FROM people"))
    conv.response(mb.result_set(people, [(CN_RIC, NIR_PRINTED, "x"),
                                         ("110105194912310021", "1 84 12 76 451 089 47", "y")]))
    return conv.close().write(path)


def test_national_ids_in_mysql_parameters_and_rows(tmp_path: Path) -> None:
    rows = scan_engine(_mysql(tmp_path / "mysql.pcap"), strict=True).inventory.rows()
    national = {(r.api, r.direction, r.location, r.field): r.count
                for r in rows if r.data_type == "NATIONAL_ID"}
    assert national == {
        # The Chinese number counts without a hint; the PESEL under its column's name.
        ("crm.people", "request", "param", "uid"): 1,
        ("crm.people", "request", "param", "pesel"): 1,
        # Binary and text rows; the second text row's numbers fail their checks.
        ("crm.people", "response", "column", "uid"): 2,
        ("crm.people", "response", "column", "nir"): 2,
    }
    _no_raw_values(rows)
