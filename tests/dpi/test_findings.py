"""Exposure findings end to end: a crafted capture (egress with a DNS answer, APIs with
and without credentials, error pages, a response returning an SSN) scanned with the
findings observer, then the rules, outputs, CLI and real captures."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from scapy.utils import wrpcap

from dpi.cli import main
from dpi.engine import Engine
from dpi.findings import (
    FINDING_COLUMNS,
    Finding,
    FindingsObserver,
    Severity,
    finding_id,
    findings,
    findings_from_records,
    findings_to_csv,
    findings_to_json,
)
from dpi.findings.egress import EXTRA_COLUMNS, Networks
from dpi.inventory import COLUMNS, Row
from dpi.layers import Chunk, LayerFactory, StreamLayer
from dpi.reassembly import Side
from dpi.runs.scanner import expand, scan_inputs
from protocols.base import Probe
from tests.builders.conversation import T0, Conversation, http_request, http_response
from tests.builders.dns import dns_answer, dns_query

CARD = "4111111111111111"
SSN = "234-56-7891"
EMAIL = "lee.okafor@mail.shopper-demo.net"
TOKEN = "Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJsZWUifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
EXTERNAL = "203.0.113.7"
JAVA_TRACE = (
    b"java.lang.NullPointerException: order missing\n"
    b"\tat com.shop.orders.OrderService.load(OrderService.java:118)\n"
    b"\tat com.shop.orders.OrderController.get(OrderController.java:42)\n"
)
SQL_ERROR = (
    b'{"error":"You have an error in your SQL syntax; check the manual that corresponds '
    b"to your MySQL server version for the right syntax to use near ''' at line 1\"}"
)


Scanned = tuple[list[Row], FindingsObserver, list[Finding]]


def _exposure_capture(path: Path) -> Path:
    packets = [dns_query("api.payments.example", ts=T0 - 2), dns_answer(
        "api.payments.example", EXTERNAL, cname="edge.cdn.example", ts=T0 - 1
    )]
    # 1. Egress: a card number sent to an external payment API (with credentials).
    pay = Conversation(server=EXTERNAL, sport=80, cport=40001, ts=T0).handshake()
    pay.request(http_request("POST", "/v1/charges", json.dumps({"card": {"number": CARD}}).encode(),
                             host="api.payments.example", headers={"Authorization": TOKEN}))
    pay.response(http_response(b'{"status":"ok"}'))
    packets += pay.close().packets
    # 2. An internal API answering with an SSN, once without credentials.
    users = Conversation(cport=40002, ts=T0 + 10).handshake()
    body = json.dumps({"email": EMAIL, "ssn": SSN}).encode()
    users.request(http_request("GET", "/v1/users/42"))
    users.response(http_response(body))
    users.request(http_request("GET", "/v1/users/43", headers={"Authorization": TOKEN}))
    users.response(http_response(body))
    # 3. Uncredentialed requests carrying an e-mail, all rejected: not a finding.
    users.request(http_request("POST", "/v1/profile", json.dumps({"email": EMAIL}).encode()))
    users.response(http_response(b'{"error":"unauthorized"}', status="401 Unauthorized",
                                 headers={"WWW-Authenticate": "Bearer"}))
    # 4. Error pages: a Java stack trace and a MySQL error, with version headers.
    users.request(http_request("GET", "/v1/orders/7", headers={"Cookie": "JSESSIONID=" + "A1B2C3D4" * 4}))
    users.response(http_response(JAVA_TRACE, status="500 Internal Server Error", content_type="text/plain",
                                 headers={"Server": "Apache-Coyote/1.1", "X-Powered-By": "Servlet/3.0"}))
    users.request(http_request("GET", "/v1/search?q=x'&api_key=k-1234567890abcdef"))
    users.response(http_response(SQL_ERROR, status="500 Internal Server Error"))
    packets += users.close().packets
    wrpcap(str(path), packets)
    return path


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    path = _exposure_capture(tmp_path_factory.mktemp("findings") / "exposure.pcap")
    observer = FindingsObserver(Networks())
    engine = Engine(observers=[observer], strict=True)
    assert scan_inputs(engine, expand([path], [])) == 1
    rows = engine.inventory.rows()
    return rows, observer, findings(rows, observer)


def _kinds(found: list[Finding], kind: str) -> list[Finding]:
    return [f for f in found if f.kind == kind]


def test_external_server_with_card_number_is_high_egress_named_by_host_and_dns(scanned: Scanned) -> None:
    _, _, found = scanned
    (egress,) = _kinds(found, "egress_sensitive_data")
    assert egress.severity is Severity.HIGH
    assert egress.server == f"{EXTERNAL}:80"
    assert egress.api == "POST /v1/charges"
    assert "PCI" in egress.category
    names = egress.host.split()
    assert "api.payments.example" in names and "edge.cdn.example" in names
    assert CARD not in egress.evidence and "1111" in egress.evidence  # masked sample only


def test_only_credentials_sent_to_an_external_api_is_low(tmp_path: Path) -> None:
    conv = Conversation(server=EXTERNAL, sport=80, ts=T0).handshake()
    conv.request(http_request("GET", "/v1/rates", host="api.rates.example", headers={"Authorization": TOKEN}))
    conv.response(http_response(b'{"eur":1.08}'))
    _, _, found = _scan(conv.close().write(tmp_path / "c.pcap"))
    (egress,) = _kinds(found, "egress_sensitive_data")
    assert egress.severity is Severity.LOW and egress.evidence.startswith("only credentials")


def test_external_endpoint_lists_address_names_and_categories(scanned: Scanned) -> None:
    _, _, found = scanned
    (endpoint,) = _kinds(found, "external_endpoint")
    assert endpoint.server == EXTERNAL
    assert endpoint.severity is Severity.INFO
    dns = endpoint.evidence.split("DNS ", 1)[1].split(";", 1)[0].split()
    assert sorted(dns) == ["api.payments.example", "edge.cdn.example"]
    assert "PCI" in endpoint.category


def test_api_answering_uncredentialed_requests_with_ssn_is_a_finding(scanned: Scanned) -> None:
    _, observer, found = scanned
    stats = observer.apis[("http", "10.0.0.5:8080", "GET /v1/users/{id}")]
    assert (stats.requests, stats.credentialed, stats.uncredentialed_answered) == (2, 1, 1)
    assert stats.kinds["authorization_bearer"] == 1
    unauth = [f for f in _kinds(found, "unauthenticated_sensitive_api") if f.api == "GET /v1/users/{id}"]
    assert len(unauth) == 1
    assert "1 of 2 request(s) without credentials" in unauth[0].evidence
    assert "US_SSN" in unauth[0].evidence


def test_uncredentialed_requests_all_rejected_are_not_a_finding(scanned: Scanned) -> None:
    rows, observer, found = scanned
    stats = observer.apis[("http", "10.0.0.5:8080", "POST /v1/profile")]
    assert stats.uncredentialed_rejected == 1 and stats.statuses[401] == 1
    assert any(r.api == "POST /v1/profile" for r in rows)  # sensitive, yet rejected
    assert not [f for f in found if f.api == "POST /v1/profile"]


def test_session_cookie_and_query_key_count_as_credentials(scanned: Scanned) -> None:
    _, observer, _ = scanned
    assert observer.apis[("http", "10.0.0.5:8080", "GET /v1/orders/{id}")].kinds["session_cookie"] == 1
    assert observer.apis[("http", "10.0.0.5:8080", "GET /v1/search")].kinds["query_key"] == 1


def test_ssn_returned_but_never_sent_is_overexposure(scanned: Scanned) -> None:
    _, _, found = scanned
    over = _kinds(found, "response_overexposure")
    assert [(f.api, f.field, f.severity) for f in over] == [("GET /v1/users/{id}", "ssn", Severity.HIGH)]
    assert SSN not in over[0].evidence and "***-**-7891" in over[0].evidence


def test_stack_trace_and_sql_error_are_named_never_quoted(scanned: Scanned) -> None:
    _, _, found = scanned
    leaks = {(f.api, f.field): f for f in _kinds(found, "error_details_leak")}
    assert set(leaks) == {("GET /v1/orders/{id}", "java_stack_trace"), ("GET /v1/search", "mysql_error")}
    assert "status 500 x1" in leaks[("GET /v1/orders/{id}", "java_stack_trace")].evidence
    for finding in leaks.values():
        assert "OrderService" not in finding.evidence and "syntax to use" not in finding.evidence


def test_server_and_powered_by_headers_are_version_disclosure(scanned: Scanned) -> None:
    _, _, found = scanned
    versions = {f.field: f for f in _kinds(found, "version_disclosure")}
    assert set(versions) == {"server", "x-powered-by"}
    assert "Tomcat" in versions["server"].evidence and "1.1" not in versions["server"].evidence
    assert all(f.severity is Severity.LOW for f in versions.values())


def test_ids_are_stable_hashes_of_the_place(scanned: Scanned) -> None:
    _, _, found = scanned
    for finding in found:
        assert finding.id == finding_id(finding.kind, finding.protocol, finding.server, finding.api, finding.field)
        assert finding.id.startswith("F-") and len(finding.id) == 14
    assert len({f.id for f in found}) == len(found)
    assert finding_id("a", "b", "c", "d", "e") == finding_id("a", "b", "c", "d", "e")
    assert finding_id("ab", "", "c", "d", "e") != finding_id("a", "b", "c", "d", "e")


def test_outputs_round_trip_and_never_carry_values(scanned: Scanned) -> None:
    _, _, found = scanned
    text = findings_to_csv(found)
    records = list(csv.DictReader(io.StringIO(text)))
    assert tuple(records[0]) == FINDING_COLUMNS
    assert [r["severity"] for r in records] == sorted(
        (r["severity"] for r in records), key=lambda s: Severity(s).rank
    )
    assert {f.id for f in findings_from_records(records)} == {f.id for f in found}
    as_json = findings_to_json(found)
    assert {r["id"] for r in json.loads(as_json)} == {f.id for f in found}
    for value in (CARD, SSN, EMAIL, TOKEN, "A1B2C3D4A1B2", "k-1234567890abcdef"):
        assert value not in text and value not in as_json


def test_cli_writes_findings_extra_columns_and_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = _exposure_capture(tmp_path / "c.pcap")
    inventory, found = tmp_path / "inv.csv", tmp_path / "findings.json"
    status = main(["scan", str(capture), "--no-progress", "-o", str(inventory), "--findings", str(found)])
    err = capsys.readouterr().err
    assert status == 0
    assert "findings: " in err and " high" in err and "external endpoints: 1 (1 receiving" in err
    rows = list(csv.reader(io.StringIO(inventory.read_text(encoding="utf-8"))))
    assert tuple(rows[0]) == (*COLUMNS, *EXTRA_COLUMNS)
    by_api = {(r[3], r[16]) for r in rows[1:]}
    assert ("POST /v1/charges", "1.00") in by_api and ("GET /v1/users/{id}", "0.50") in by_api
    egress = {r[3]: r[15] for r in rows[1:]}
    assert egress["POST /v1/charges"] == "yes" and egress["GET /v1/users/{id}"] == "no"
    assert {r["kind"] for r in json.loads(found.read_text(encoding="utf-8"))} >= {
        "egress_sensitive_data", "unauthenticated_sensitive_api", "response_overexposure",
        "error_details_leak", "version_disclosure", "external_endpoint",
    }


def test_internal_flag_moves_a_server_inside(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = _exposure_capture(tmp_path / "c.pcap")
    found = tmp_path / "f.csv"
    status = main(["scan", str(capture), "--no-progress", "-q", "-o", str(tmp_path / "i.csv"),
                   "--internal", "10.0.0.0/8", "--internal", "203.0.113.0/24", "--findings", str(found)])
    assert status == 0
    kinds = {r["kind"] for r in csv.DictReader(io.StringIO(found.read_text(encoding="utf-8")))}
    assert "egress_sensitive_data" not in kinds and "external_endpoint" not in kinds


def test_without_findings_flags_the_inventory_keeps_the_contract_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = _exposure_capture(tmp_path / "c.pcap")
    assert main(["scan", str(capture), "--no-progress"]) == 0
    out = capsys.readouterr()
    assert out.out.splitlines()[0] == ",".join(COLUMNS)
    assert "findings:" not in out.err


def test_bad_internal_cidr_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capture = _exposure_capture(tmp_path / "c.pcap")
    assert main(["scan", str(capture), "--internal", "not-a-net"]) == 2
    assert "not an IP network" in capsys.readouterr().err


# -- real captures -----------------------------------------------------------------------


def _scan(path: Path) -> Scanned:
    observer = FindingsObserver()
    engine = Engine(observers=[observer])
    scan_inputs(engine, expand([path], []))
    rows = engine.inventory.rows()
    return rows, observer, findings(rows, observer)


def test_httpbin_is_an_external_named_endpoint(shared_captures: Path) -> None:
    _, _, found = _scan(shared_captures / "http" / "httpbin-gzip-json.pcap")
    (endpoint,) = _kinds(found, "external_endpoint")
    assert endpoint.server == "54.243.118.187" and "httpbin.org" in endpoint.host.split()
    assert _kinds(found, "external_sensitive_response")
    (version,) = _kinds(found, "version_disclosure")
    assert version.field == "server" and "gunicorn" in version.evidence


def test_rabbitmq_basic_auth_is_fully_credentialed(shared_captures: Path) -> None:
    _, observer, found = _scan(shared_captures / "http" / "rabbitmq-mgmt-api-json-gzip.pcap")
    shares = observer.auth_shares()
    assert shares and all(share == 1.0 for share in shares.values())
    assert all(s.kinds["authorization_basic"] == s.requests for s in observer.apis.values())
    assert not _kinds(found, "unauthenticated_sensitive_api")
    assert not _kinds(found, "external_endpoint")  # loopback only


def test_http_to_ssh_port_external_endpoint_without_rows(shared_captures: Path) -> None:
    rows, _, found = _scan(shared_captures / "robustness" / "nanosecond-http-to-ssh-server.pcap")
    (endpoint,) = _kinds(found, "external_endpoint")
    assert endpoint.server == "130.74.164.231" and "ports 22" in endpoint.evidence
    assert not rows or all(f.kind == "external_endpoint" for f in found)


# -- TLS flows (a stand-in layer: the real one reports the same info keys) ---------------


class _OpaqueTls(StreamLayer):
    """Never decrypts; counts wire bytes like the TLS layer's `info()`."""

    name = "tls"

    def __init__(self) -> None:
        self.wire = {Side.CLIENT: 0, Side.SERVER: 0}

    @property
    def decrypting(self) -> bool:
        return False

    def feed(self, side: Side, data: bytes, ts_ns: int) -> list[Chunk]:
        self.wire[side] += len(data)
        return []

    def gap(self, side: Side, size: int) -> list[Chunk]:
        return []

    def info(self) -> dict[str, object]:
        return {"sni": "vault.partner.example", "alpn": "h2", "decrypted": False,
                "reason": "no keys", "bytes_client": self.wire[Side.CLIENT],
                "bytes_server": self.wire[Side.SERVER]}


class _OpaqueTlsFactory(LayerFactory):
    name = "tls"

    def probe(self, client_data: bytes, server_data: bytes) -> Probe:
        return Probe.YES if client_data.startswith(b"\x16\x03") else Probe.NO

    def create(self) -> StreamLayer:
        return _OpaqueTls()


def test_undecrypted_tls_endpoint_shows_server_name_and_volumes(tmp_path: Path) -> None:
    conv = Conversation(server="198.51.100.9", sport=443, ts=T0).handshake()
    conv.request(b"\x16\x03\x01" + b"\x00" * 997)
    conv.response(b"\x16\x03\x03" + b"\x00" * 2997)
    conv.request(b"\x17\x03\x03" + b"\x00" * 500)
    path = conv.close().write(tmp_path / "tls.pcap")
    observer = FindingsObserver()
    engine = Engine(observers=[observer], layers=[_OpaqueTlsFactory()], strict=True)
    scan_inputs(engine, expand([path], []))
    (endpoint,) = _kinds(findings(engine.inventory.rows(), observer), "external_endpoint")
    assert endpoint.server == "198.51.100.9" and endpoint.host == "vault.partner.example"
    assert "TLS 1 flow(s), 1 not decrypted, 1503 bytes sent, 3000 bytes received" in endpoint.evidence
    assert observer.endpoints[bytes([198, 51, 100, 9])].flows == 1
