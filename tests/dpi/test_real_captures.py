"""Real captures from public projects (tests/captures), scanned end to end.

Each expectation comes from reading the capture with tshark (see MANIFEST.md): what a
correct inventory must hold, and what it must not (ordinary data, protocol plumbing).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dpi.api import scan_engine
from dpi.engine import Engine
from dpi.inventory import Row


def _scan(path: Path) -> tuple[Engine, list[Row]]:
    engine = scan_engine(path, strict=True)
    assert engine.stats.bugs == 0
    return engine, engine.inventory.rows()


def _keys(rows: list[Row]) -> set[tuple[str, str, str, str, str]]:
    return {(r.api, r.direction, r.location, r.field, r.data_type) for r in rows}


def test_mattermost_login_password_and_user_email(shared_captures: Path) -> None:
    _, rows = _scan(shared_captures / "http/mattermost-api-login-upload.pcap")
    keys = _keys(rows)
    assert ("POST /api/v4/users/login", "request", "body", "password", "PASSWORD") in keys
    assert ("POST /api/v4/users/login", "response", "body", "email", "EMAIL_ADDRESS") in keys
    # the session token the server hands out, and the client sending it back
    assert ("POST /api/v4/users/login", "response", "header", "token", "BEARER_TOKEN") in keys
    assert ("POST /api/v4/uploads", "request", "header", "authorization", "BEARER_TOKEN") in keys
    login = next(r for r in rows if r.field == "password")
    assert (login.server, login.host, login.sample) == ("[::1]:8065", "localhost:8065", "********")
    # upload ids in paths are templated, never fields
    assert all("{param}" in r.api or not r.api.startswith("POST /api/v4/uploads/") for r in rows)


def test_createorder_phone_and_address_but_not_the_masked_contact(shared_captures: Path) -> None:
    _, rows = _scan(shared_captures / "http/createorder-json-keepalive.pcap")
    keys = _keys(rows)
    assert ("POST /createOrder", "request", "body", "phone", "PHONE_NUMBER") in keys
    assert ("POST /createOrder", "request", "body", "address", "STREET_ADDRESS") in keys
    phone = next(r for r in rows if r.field == "phone")
    assert phone.count == 3 and phone.sample.endswith("3957") and phone.sample.count("*") == 7
    fields = {r.field for r in rows}
    assert not fields & {"contact", "userId", "items[].price", "items[].itemId", "host"}


def test_basic_auth_is_a_password_in_the_authorization_header(shared_captures: Path) -> None:
    _, rows = _scan(shared_captures / "http/rabbitmq-mgmt-api-json-gzip.pcap")
    auth = [r for r in rows if r.field == "authorization"]
    assert {r.data_type for r in auth} == {"PASSWORD"}
    assert {r.api for r in auth} == {"GET /api/nodes", "GET /api/queues", "GET /api/vhosts"}
    # log file paths like /var/log/rabbitmq/rabbit@HOST.log are not e-mail addresses
    assert not [r for r in rows if r.data_type == "EMAIL_ADDRESS"]


def test_bearer_token_header(shared_captures: Path) -> None:
    _, rows = _scan(shared_captures / "robustness/null-loopback-http-bearer.pcap")
    assert [(r.location, r.field, r.data_type, r.sample) for r in rows] == [
        ("header", "authorization", "BEARER_TOKEN", "********")
    ]


def test_npm_registry_maintainer_emails_in_chunked_gzip_json(shared_captures: Path) -> None:
    engine, rows = _scan(shared_captures / "http/npm-registry-json-chunked-gzip.pcap")
    assert engine.stats.messages["http"] == 22
    emails = [r for r in rows if r.data_type == "EMAIL_ADDRESS"]
    assert {r.field for r in emails} >= {"maintainers[].email", "author.email"}
    assert sum(r.count for r in emails) >= 100
    # `git+ssh://git@github.com/...` repository URLs are not e-mail addresses
    assert not [r for r in emails if "repository" in r.field or r.field.endswith(".url")]


def test_host_header_holding_an_ip_is_addressing_not_personal_data(shared_captures: Path) -> None:
    for name in ("http/docker-api-json-upgrade.pcap", "robustness/sll2-http.pcap",
                 "robustness/nanosecond-http-to-ssh-server.pcap"):
        _, rows = _scan(shared_captures / name)
        assert not [r for r in rows if r.field == "host"], name


def test_client_ip_echoed_in_a_body_is_personal_data(shared_captures: Path) -> None:
    _, rows = _scan(shared_captures / "http/httpbin-gzip-json.pcap")
    assert _keys(rows) == {("GET /gzip", "response", "body", "origin", "IP_ADDRESS")}


def test_version_numbers_are_not_ip_addresses(shared_captures: Path) -> None:
    _, rows = _scan(shared_captures / "http/nuget-api-json-gzip.pcap.gz")
    assert not [r for r in rows if r.data_type == "IP_ADDRESS"]


def test_api_key_in_a_query_string(shared_captures: Path) -> None:
    _, rows = _scan(shared_captures / "http/quickplay-rest-json-gzip-sll.pcap")
    keys = [r for r in rows if r.location == "query" and r.field == "apiKey"]
    assert keys and {r.data_type for r in keys} == {"API_KEY"}
    assert all(r.api.startswith("GET /solr/") for r in keys)


@pytest.mark.parametrize(
    "name",
    ["http/mozilla-pipelined-keepalive.pcap", "http/openai-chat-json.pcap",
     "robustness/http-206-out-of-order-retrans.pcap.gz", "robustness/qinq-http.pcap",
     "robustness/nflog-http.pcap"],
)
def test_traffic_without_sensitive_data_gives_no_rows(shared_captures: Path, name: str) -> None:
    engine, rows = _scan(shared_captures / name)
    assert engine.stats.messages["http"] >= 2
    assert rows == []


def test_pipelined_and_dropped_responses_pair_correctly(shared_captures: Path) -> None:
    engine, _ = _scan(shared_captures / "robustness/http-1000-requests-one-dropped.pcap.gz")
    assert engine.stats.messages["http"] == 1999  # 1000 requests + 999 responses
    engine, _ = _scan(shared_captures / "http/mozilla-pipelined-keepalive.pcap")
    assert engine.stats.messages["http"] == 10


def test_port_22_carrying_http_is_dissected_as_http(shared_captures: Path) -> None:
    engine, _ = _scan(shared_captures / "robustness/nanosecond-http-to-ssh-server.pcap")
    assert engine.stats.messages["http"] == 1


def test_midstream_flow_gets_roles_from_the_payload(shared_captures: Path) -> None:
    engine, _ = _scan(shared_captures / "robustness/http-no-syn-midstream.pcap")
    assert engine.stats.partial_flows == 1 and engine.stats.messages["http"] == 2


@pytest.mark.parametrize(
    ("name", "frames"),
    [("robustness/cut-short-nanosecond-null.pcap", 1), ("robustness/damaged-record-fuzz.pcap", 1)],
)
def test_damaged_captures_scan_what_was_read_and_warn(shared_captures: Path, name: str, frames: int) -> None:
    engine, _ = _scan(shared_captures / name)
    assert engine.stats.frames == frames
    assert engine.stats.warnings and all(name.split("/")[1] in w for w in engine.stats.warnings)


def test_snaplen_cut_packets_are_gaps_not_errors(shared_captures: Path) -> None:
    engine, rows = _scan(shared_captures / "robustness/snaplen96-http.pcap")
    assert engine.stats.gaps >= 2 and engine.stats.protocol_errors == 0 and rows == []


def test_every_real_capture_scans_without_internal_errors(shared_captures: Path) -> None:
    for path in sorted(shared_captures.rglob("*")):
        if path.suffix in (".pcap", ".pcapng", ".gz"):
            engine = scan_engine(path, strict=True)
            assert engine.stats.bugs == 0, path.name
