"""Issue #15, the held-out misses that were dissection: shapes of real traffic that dpi
did not take apart, each as a crafted capture through the whole scan, inventory rows
out. An HTTP/0.9 request (a spam bot's `GET /cgi-bin/formmail.pl?email=...` with no
version, answered by the bare page), the QUERY method, `Authorization: Basic` holding a
JSON document instead of `user:password` (a mobile payment app), a SOAP envelope
whose element holds an escaped XML document with its own `encoding="GBK"` declaration
(a telecom order service), and a server's response overwritten at its start by a
middlebox's injected one (the same sequence numbers; reassembly keeps the first copy).
Values are synthetic; no row may carry one."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
import pytest

from dpi.api import scan_engine
from tests.builders.conversation import T0, Conversation, http_request, http_response

Key = tuple[str, str, str, str, str]  # api, direction, location, field, data_type

EMAIL = "jane.roe@webpost.example"
OTHER_EMAIL = "orders@shop.example"
TOKEN = "Zx81bQ4pLw0e7Rt2Yk9sVm3Nq6Hc"
PAGE = b"<HTML><HEAD><TITLE>404 Not Found</TITLE></HEAD><BODY>not here</BODY></HTML>\n"


def _http09(path: Path) -> Path:
    conv = Conversation(sport=80, cport=41000, ts=T0).handshake()
    conv.request(f"GET /cgi-bin/formmail.pl?email={EMAIL}&recipient={OTHER_EMAIL}&msg=w00t\r\n".encode())
    conv.response(PAGE)
    conv.close()
    # A second HTTP/0.9 exchange whose answer is a JSON document.
    conv2 = Conversation(sport=80, cport=41001, ts=T0 + 1).handshake()
    conv2.request(b"GET /whoami\r\n")
    conv2.response(orjson.dumps({"email": EMAIL}))
    conv2.close()
    conv.packets.extend(conv2.packets)
    return conv.write(path)


def _injected(path: Path) -> Path:
    conv = Conversation(sport=80, cport=41002, ts=T0).handshake()
    conv.request(http_request("GET", "/"))
    start = conv.sseq
    conv.response(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nBANG!")
    body = orjson.dumps({"about": "/about", "email": EMAIL})
    real = (
        b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Tue, 31 Mar 2015 14:37:46 GMT\r\n"
        b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    )
    # The server's own response, sent on the same sequence numbers as the injected one.
    conv.packets.append(conv._tcp(False, "PA", real, seq=start))
    conv.sseq = start + len(real)
    return conv.close().write(path)


def _soap() -> bytes:
    inner = (
        '&lt;?xml version="1.0" encoding="GBK"?&gt;&lt;ContractRoot&gt;&lt;SvcCont&gt;'
        f"&lt;BPMOrder&gt;&lt;Email&gt;{EMAIL}&lt;/Email&gt;&lt;CustName&gt;\u5f20\u4e09"
        "&lt;/CustName&gt;&lt;/BPMOrder&gt;&lt;/SvcCont&gt;&lt;/ContractRoot&gt;"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        f'<ns1:exchange xmlns:ns1="urn:dep"><ns1:in0>{inner}</ns1:in0></ns1:exchange>'
        "</soapenv:Body></soapenv:Envelope>"
    ).encode()


def _http11(path: Path) -> Path:
    document = orjson.dumps({"sessionKey": TOKEN, "contact": EMAIL, "appVersion": "10.2.30"})
    conv = Conversation(cport=42200, ts=T0).handshake()
    exchanges = [
        (http_request("QUERY", "/users", orjson.dumps({"select": ["email"]})),
         http_response(orjson.dumps([{"email": EMAIL}]))),
        (http_request("GET", "/api/v1/queryIsAntiMoney", headers={
            "Authorization": "Basic " + document.decode()}), http_response(b"{}")),
        (http_request("GET", "/api/v1/balance", headers={
            "Authorization": "Basic " + base64.b64encode(document).decode()}), http_response(b"{}")),
        (http_request("POST", "/vsopwebsvr/DEPServiceHttpPort", _soap(),
                      content_type="text/xml; charset=UTF-8"), http_response(b"{}")),
    ]  # fmt: skip
    for request, response in exchanges:
        conv.request(request).response(response)
    return conv.close().write(path)


def _rows(path: Path) -> tuple[set[Key], list[object]]:
    engine = scan_engine(path, strict=True)
    found = list(engine.inventory.rows())
    return {(r.api, r.direction, r.location, r.field, r.data_type) for r in found}, found


@pytest.fixture(scope="module")
def http09(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[Key], list[object]]:
    return _rows(_http09(tmp_path_factory.mktemp("http09") / "http09.pcap"))


@pytest.fixture(scope="module")
def injected(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[Key], list[object]]:
    return _rows(_injected(tmp_path_factory.mktemp("injected") / "injected.pcap"))


@pytest.fixture(scope="module")
def http11(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[Key], list[object]]:
    return _rows(_http11(tmp_path_factory.mktemp("shapes") / "shapes.pcap"))


def test_http09_query_fields_are_rows(http09: tuple[set[Key], list[object]]) -> None:
    keys, _ = http09
    api = "GET /cgi-bin/formmail.pl"
    assert (api, "request", "query", "email", "EMAIL_ADDRESS") in keys
    assert (api, "request", "query", "recipient", "EMAIL_ADDRESS") in keys
    # The headless JSON answer of the second exchange is read as a body.
    assert ("GET /whoami", "response", "body", "email", "EMAIL_ADDRESS") in keys


def test_query_method_is_an_api(http11: tuple[set[Key], list[object]]) -> None:
    keys, _ = http11
    assert ("QUERY /users", "response", "body", "[].email", "EMAIL_ADDRESS") in keys


@pytest.mark.parametrize("api", ["GET /api/v1/queryIsAntiMoney", "GET /api/v1/balance"])
def test_authorization_document_values_at_the_header(
    http11: tuple[set[Key], list[object]], api: str
) -> None:
    keys, _ = http11
    assert (api, "request", "header", "authorization", "BEARER_TOKEN") in keys
    assert (api, "request", "header", "authorization", "EMAIL_ADDRESS") in keys
    assert not [k for k in keys if k[0] == api and k[3].startswith("authorization.")]


def test_escaped_document_with_its_own_declaration(http11: tuple[set[Key], list[object]]) -> None:
    keys, _ = http11
    field = "Envelope.Body.exchange.in0.ContractRoot.SvcCont.BPMOrder.Email"
    assert ("POST /vsopwebsvr/DEPServiceHttpPort", "request", "body", field, "EMAIL_ADDRESS") in keys


def test_response_after_an_injected_one_is_read(injected: tuple[set[Key], list[object]]) -> None:
    keys, _ = injected
    assert ("GET /", "response", "body", "email", "EMAIL_ADDRESS") in keys


def test_no_row_carries_a_raw_value(
    http09: tuple[set[Key], list[object]],
    http11: tuple[set[Key], list[object]],
    injected: tuple[set[Key], list[object]],
) -> None:
    for _, found in (http09, http11, injected):
        for row in found:
            text = repr(row)
            for value in (EMAIL, OTHER_EMAIL, TOKEN, "webpost", "\u5f20\u4e09"):
                assert value not in text
