"""Values in identifier columns (issue #16): an API path segment, a Kafka topic, a MySQL
schema, table or column name, a header name or a Host that holds a value is stored as
`{param}` and counted as a row, and the raw value reaches no output (CSV, JSON,
`--explain`, findings, TLS coverage, state, summary, logs at -vv).

Every capture here is crafted with the builders (tests/builders/) and scanned for real.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from dpi.api import scan_engine
from dpi.cli import main
from dpi.identifiers import PLACEHOLDER, Identifiers
from dpi.inventory import Row
from tests.builders import kafka as kb
from tests.builders import mysql as mb
from tests.builders.conversation import Conversation, http_request, http_response
from tests.builders.tls import client_hello, record

SSN = "536-22-8877"
CARD = "4111-1111-1111-1111"
TOPIC_EMAIL = "jane.roe@corp-mail.io"
COLUMN_EMAIL = "li.wei@corp-mail.io"
HEADER_EMAIL = "sam.poe@corp-mail.io"
TABLE_EMAIL = "ana.silva@corp-mail.io"
HOST_PASSWORD = "hunter2secret"
SNI_CARD = "5500000000000004"
# Every raw value that must stay out of every output (the bare SNI card number too).
RAW = (SSN, CARD, TOPIC_EMAIL, COLUMN_EMAIL, HEADER_EMAIL, TABLE_EMAIL, HOST_PASSWORD,
       SNI_CARD, "536228877", "8877/profile")


def _http(path: Path) -> Path:
    conv = Conversation(sport=8080).handshake()
    host = f"deploy:{HOST_PASSWORD}@api.shop.example"
    for target in (f"/ssn/{SSN}/profile", "/ssn/536-22-8878/profile", f"/cards/{CARD}"):
        conv.request(http_request("GET", target, host=host))
        conv.response(http_response(b'{"ok": true}'))
    return conv.close().write(path)


def _kafka(path: Path) -> Path:
    record = json.dumps({"note": "hello"}).encode()
    batch = kb.batch_v2([(b"k", record, [(HEADER_EMAIL, b"1")])])
    conv = Conversation(sport=9092, cport=40001).handshake()
    conv.request(kb.produce_request(3, [(TOPIC_EMAIL, [(0, batch)])], 1))
    conv.response(kb.produce_response(3, [TOPIC_EMAIL], 1))
    return conv.close().write(path)


def _mysql(path: Path) -> Path:
    caps = mb.SERVER_CAPS & ~mb.Cap.DEPRECATE_EOF & ~mb.Cap.QUERY_ATTRIBUTES & ~mb.Cap.COMPRESS
    columns = (mb.Col("name"), mb.Col(COLUMN_EMAIL), mb.Col("city", table=TABLE_EMAIL))
    rows = (("Ana Silva", "ana@corp-mail.io", "Lisbon"), ("Li Wei", "li@corp-mail.io", "Porto"))
    conv = Conversation(sport=3306, cport=40002).handshake()
    conv.response(mb.greeting(caps=caps, plugin="mysql_native_password"))
    conv.request(mb.login("app", "shop", plugin="mysql_native_password", auth=b"\x22" * 20))
    conv.response(mb.ok(2))
    conv.request(mb.query("SELECT * FROM customers"))
    conv.response(mb.result_set(columns, rows))
    return conv.close().write(path)


def _tls(path: Path) -> Path:
    conv = Conversation(sport=443, cport=40003).handshake()
    hello = client_hello(bytes(32), suites=[0x1301], sni=f"{SNI_CARD}.shop.example")
    conv.request(record(22, hello, 0x0301))
    return conv.close().write(path)


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("identifiers")
    _http(folder / "http.pcap")
    _kafka(folder / "kafka.pcap")
    _mysql(folder / "mysql.pcap")
    _tls(folder / "tls.pcap")
    return folder


def _rows(captures: Path) -> list[Row]:
    return scan_engine(captures).inventory.rows()


def test_path_segments_holding_values_become_placeholders_and_rows(captures: Path) -> None:
    rows = _rows(captures)
    ssn = [r for r in rows if r.data_type == "US_SSN"]
    assert [(r.api, r.direction, r.location, r.field, r.count) for r in ssn] == [
        ("GET /ssn/{param}/profile", "request", "path", "/ssn/{param}", 2)
    ]
    assert ssn[0].sample == "***-**-8877"
    (card,) = [r for r in rows if r.data_type == "CARD_NUMBER"]
    assert (card.api, card.location, card.field) == ("GET /cards/{param}", "path", "/cards/{param}")
    assert card.sample.endswith("1111") and "4111" not in card.sample


def test_host_userinfo_is_dropped_and_its_password_is_a_row(captures: Path) -> None:
    rows = [r for r in _rows(captures) if r.protocol == "http"]
    assert {r.host for r in rows} == {"api.shop.example"}
    password = [r for r in rows if r.data_type == "PASSWORD"]
    assert {(r.location, r.field, r.direction) for r in password} == {("header", "host", "request")}
    assert all(r.sample == "********" for r in password)


def test_a_host_password_counts_once_per_request(tmp_path: Path) -> None:
    # One value, one hit: the Host header's value is judged by the classifiers; the host
    # column never holds the userinfo, so it adds no second hit (it gave 2 per request).
    capture = _http(tmp_path / "http.pcap")
    engine = scan_engine(capture)
    password = {r.api: r.count for r in engine.inventory.rows() if r.data_type == "PASSWORD"}
    assert password == {"GET /ssn/{param}/profile": 2, "GET /cards/{param}": 1}
    explained = [e for e in engine.inventory.explain() if e["data_type"] == "PASSWORD"]
    assert {(e["values_seen"], e["hits"], e["hit_share"]) for e in explained} == {(2, 2, 1.0),
                                                                                  (1, 1, 1.0)}
    found = tmp_path / "findings.csv"
    assert main(["scan", str(capture), "--no-progress", "-q", "-o", str(tmp_path / "i.csv"),
                 "--findings", str(found)]) == 0
    cleartext = {f["api"]: (f["count"], f["evidence"].rsplit(": ", 1)[1])
                 for f in csv.DictReader(found.open()) if f["kind"] == "cleartext_credentials"}
    assert cleartext == {"GET /ssn/{param}/profile": ("2", "PASSWORD in request header host (2x)"),
                         "GET /cards/{param}": ("1", "PASSWORD in request header host (1x)")}
    assert HOST_PASSWORD not in found.read_text()


@pytest.mark.parametrize(("label", "data_type"), [
    ("4111111111111111", "CARD_NUMBER"),  # found in the label and in the header's value
    ("536-22-8877", "US_SSN"),
    ("+12025550143", "PHONE_NUMBER"),  # found in the label only: still counted
])
def test_a_host_label_counts_once_per_request(tmp_path: Path, label: str, data_type: str) -> None:
    conv = Conversation(sport=8080, cport=40004).handshake()
    for _ in range(3):
        conv.request(http_request("GET", "/x", host=f"{label}.shop.example"))
        conv.response(http_response(b"{}"))
    engine = scan_engine(conv.close().write(tmp_path / "label.pcap"))
    rows = engine.inventory.rows()
    assert [(r.host, r.location, r.field, r.data_type, r.count) for r in rows] == [
        ("{param}.shop.example", "header", "host", data_type, 3)]
    (explained,) = engine.inventory.explain()
    assert (explained["values_seen"], explained["hits"]) == (3, 3)
    assert label not in repr(rows)


def test_kafka_topic_and_header_name_holding_emails(captures: Path) -> None:
    rows = [r for r in _rows(captures) if r.protocol == "kafka"]
    assert rows, "the Kafka capture must give rows"
    assert {r.api for r in rows} == {PLACEHOLDER}
    got = {(r.direction, r.location, r.field, r.data_type) for r in rows}
    assert ("request", "path", "topic", "EMAIL_ADDRESS") in got
    assert ("request", "path", "header", "EMAIL_ADDRESS") in got


def test_mysql_table_and_column_names_holding_emails(captures: Path) -> None:
    rows = [r for r in _rows(captures) if r.protocol == "mysql"]
    got = {(r.api, r.location, r.field, r.data_type) for r in rows}
    assert ("shop.customers", "path", "column", "EMAIL_ADDRESS") in got
    assert ("shop.{param}", "path", "table", "EMAIL_ADDRESS") in got
    # The values under the sanitized column are still a field of their own.
    assert ("shop.customers", "column", PLACEHOLDER, "EMAIL_ADDRESS") in got


def test_raw_names_that_sanitize_alike_share_a_row() -> None:
    from dpi.inventory import Inventory

    inventory = Inventory({"EMAIL_ADDRESS": 0.5})
    first = inventory.field(("mysql", "s:1", "db.t", "response", "column", "a.b@corp-mail.io"), "")
    second = inventory.field(("mysql", "s:1", "db.t", "response", "column", "c.d@corp-mail.io"), "")
    assert first is not None and first is second
    assert [k[5] for k in inventory.fields] == ["column", PLACEHOLDER]  # name row, value field
    (row,) = inventory.rows()
    assert (row.location, row.field, row.count) == ("path", "column", 2)


def test_plain_identifiers_are_left_alone() -> None:
    identifiers = Identifiers()
    for protocol, api in (
        ("http", "GET /v1/users/{id}/orders"),
        ("http", "POST /graphql query GetPatient"),
        ("grpc", "/shop.v1.Orders/GetOrder"),
        ("kafka", "orders.created"),
        ("mysql", "shop.customers"),
    ):
        assert identifiers.api(protocol, api) == (api, ())
    for host in ("api.shop.example", "10.0.0.5:8080", "[2001:db8::1]:443", "api.shop.example:8443"):
        assert identifiers.host(host) == (host, ())
    for name in ("authorization", "x-request-id", "content-type", "email", "card_number"):
        assert identifiers.field_name("header", name) == (name, ())


def _readable(data: bytes) -> bytes:
    """A file's bytes, with the zstd frame inside (a state file, after any header of its
    own) decompressed."""
    at = data.find(b"\x28\xb5\x2f\xfd")
    if at < 0:
        return data
    import zstandard

    return data + zstandard.ZstdDecompressor().decompressobj().decompress(data[at:])


def test_no_raw_identifier_value_in_any_output(captures: Path, tmp_path: Path) -> None:
    outputs = {
        "csv": tmp_path / "inv.csv",
        "json": tmp_path / "inv.json",
        "explain": tmp_path / "explain.json",
        "findings": tmp_path / "findings.csv",
        "findings_json": tmp_path / "findings.json",
        "tls": tmp_path / "tls.csv",
        "summary": tmp_path / "summary.json",
    }
    state = tmp_path / "state"
    base = [sys.executable, "-m", "dpi", "scan", str(captures), "--no-progress", "-vv"]
    runs = [
        [*base, "-o", str(outputs["csv"]), "--explain", str(outputs["explain"]),
         "--findings", str(outputs["findings"]), "--tls-coverage", str(outputs["tls"]),
         "--summary-json", str(outputs["summary"])],
        [*base, "--format", "json", "-o", str(outputs["json"]), "--state", str(state), "-j", "1"],
        [*base, "-o", str(tmp_path / "again.csv"), "--findings", str(outputs["findings_json"])],
    ]
    texts = []
    for argv in runs:
        done = subprocess.run(argv, capture_output=True, timeout=300, check=False)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
        texts += [done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")]
    for path in [*outputs.values(), *sorted(p for p in state.rglob("*") if p.is_file())]:
        texts.append(_readable(path.read_bytes()).decode("utf-8", errors="replace"))
    assert len(texts) > 8
    for text in texts:
        for raw in RAW:
            assert raw not in text
    inventory = list(csv.DictReader(io.StringIO(outputs["csv"].read_text())))
    assert any(r["field"] == "/ssn/{param}" for r in inventory)
    tls = outputs["tls"].read_text()
    assert "{param}.shop.example" in tls
