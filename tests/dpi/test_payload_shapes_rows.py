"""Issue #15 items 6, 7, 9 and 11 end to end: crafted HTTP/1.1 conversations through the
engine, inventory rows out. XML and SOAP bodies, multipart/related, plain text, JSON in
strings and headers, signed URLs, upper-case form keys, base64 wrappers and names that
embed data each give the rows the spec names (docs/spec/inventory.md, "field").
Values are synthetic; no row may carry a raw value."""

from __future__ import annotations

import base64
import random
import string
from pathlib import Path

import orjson
import pytest

from dpi.api import scan_engine
from tests.builders.conversation import T0, Conversation, http_request, http_response

Key = tuple[str, str, str, str, str]  # api, direction, location, field, data_type

PASSWORD = "Corr3ct-Horse-Battery"
EMAIL = "jane.roe@shop.example"
CARD = "4111111111111111"
TOKEN = "Zx81bQ4pLw0e7Rt2Yk9sVm3Nq6Hc"


def _soap() -> bytes:
    inner = (f"&lt;profile&gt;&lt;email&gt;{EMAIL}&lt;/email&gt;&lt;/profile&gt;").encode()
    return (
        b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b'<soap:Body><m:order xmlns:m="urn:shop"><m:customer><m:name>Jane Roe</m:name>'
        b"<m:contact>" + inner + b"</m:contact></m:customer>"
        b'<m:card number="' + CARD.encode() + b'"/></m:order></soap:Body></soap:Envelope>'
    )


def _related() -> bytes:
    return (
        "--b1\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
        f'{{"title": "scan.pdf", "owner": {{"email": "{EMAIL}"}}}}\r\n'
        "--b1\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4 binary\r\n--b1--\r\n"
    ).encode()


def _capture(path: Path) -> Path:
    conv = Conversation(cport=42100, ts=T0).handshake()
    exchanges = [
        http_request("POST", "/soap/orders", _soap(), content_type="text/xml; charset=utf-8"),
        http_request("POST", "/upload", _related(),
                     content_type='multipart/related; boundary="b1"; type="application/json"'),
        http_request("POST", "/notes", b"Call me back: jane.roe@webpost.de", content_type="text/plain"),
        http_request("POST", "/events", orjson.dumps(
            {"type": "login", "payload": orjson.dumps({"user": "amy", "password": PASSWORD}).decode()})),
        http_request("GET", "/profile", headers={
            "X-User-Context": orjson.dumps({"email": EMAIL}).decode(),
            "Cookie": "prefs=" + base64.urlsafe_b64encode(orjson.dumps({"email": EMAIL})).decode()
                      + "; remember=" + base64.b64encode(f"amy:{PASSWORD}".encode()).decode()
                      + "; jupyterhub-user-amy=" + TOKEN + "; SESS" + "0f1e2d3c" * 4 + "=" + TOKEN,
        }),
        http_request("POST", "/login", f"USERNAME=amy&PASSWORD={PASSWORD}&USER_PASSWORD={PASSWORD}".encode(),
                     content_type="application/x-www-form-urlencoded"),
    ]
    for request in exchanges:
        conv.request(request)
        conv.response(http_response(b"{}"))
    conv.request(http_request("GET", "/files/7"))
    conv.response(http_response(orjson.dumps({
        "download": f"https://files.example/7?expires=9&access_token={TOKEN}",
    })))
    return conv.close().write(path)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> tuple[set[Key], list[object]]:
    path = _capture(tmp_path_factory.mktemp("shapes") / "shapes.pcap")
    engine = scan_engine(path, strict=True)
    found = list(engine.inventory.rows())
    keys = {(r.api, r.direction, r.location, r.field, r.data_type) for r in found}
    return keys, found


def test_soap_body_fields_are_element_paths(rows: tuple[set[Key], list[object]]) -> None:
    keys, _ = rows
    api = "POST /soap/orders"
    assert (api, "request", "body", "Envelope.Body.order.card.@number", "CARD_NUMBER") in keys
    # Escaped XML inside an element: its fields below the element.
    assert (api, "request", "body", "Envelope.Body.order.customer.contact.profile.email",
            "EMAIL_ADDRESS") in keys


def test_multipart_related_and_plain_text_bodies(rows: tuple[set[Key], list[object]]) -> None:
    keys, _ = rows
    assert ("POST /upload", "request", "body", "owner.email", "EMAIL_ADDRESS") in keys
    assert ("POST /notes", "request", "body", "", "EMAIL_ADDRESS") in keys


def test_json_inside_a_string_and_a_header(rows: tuple[set[Key], list[object]]) -> None:
    keys, _ = rows
    assert ("POST /events", "request", "body", "payload.password", "PASSWORD") in keys
    assert ("GET /profile", "request", "header", "x-user-context.email", "EMAIL_ADDRESS") in keys


def test_base64_cookies_are_opened(rows: tuple[set[Key], list[object]]) -> None:
    keys, _ = rows
    assert ("GET /profile", "request", "cookie", "prefs.email", "EMAIL_ADDRESS") in keys
    assert ("GET /profile", "request", "cookie", "remember.password", "PASSWORD") in keys


def test_upper_case_form_keys_are_passwords(rows: tuple[set[Key], list[object]]) -> None:
    keys, _ = rows
    assert ("POST /login", "request", "body", "PASSWORD", "PASSWORD") in keys
    assert ("POST /login", "request", "body", "USER_PASSWORD", "PASSWORD") in keys


def test_signed_url_token_is_a_sub_field(rows: tuple[set[Key], list[object]]) -> None:
    keys, _ = rows
    assert ("GET /files/{id}", "response", "body", "download.access_token", "BEARER_TOKEN") in keys


def test_cookie_names_that_embed_data_are_templated(rows: tuple[set[Key], list[object]]) -> None:
    keys, found = rows
    fields = {k[3] for k in keys if k[2] == "cookie"}
    assert not any("amy" in f or "0f1e2d3c" in f for f in fields)
    assert all(r.field != "jupyterhub-user-amy" for r in found)  # type: ignore[attr-defined]


def test_no_row_carries_a_raw_value(rows: tuple[set[Key], list[object]]) -> None:
    _, found = rows
    for row in found:
        text = repr(row)
        for secret in (PASSWORD, EMAIL, CARD, TOKEN, "Jane Roe", "webpost"):
            assert secret not in text


def test_drupal_session_cookies_give_a_token_row_whatever_the_hash(tmp_path: Path) -> None:
    # Random `SESS<md5>` names (seeded): about half of them read as random ids as a whole;
    # every one must still be the field `SESS{key}`, and its session id a bearer token.
    rng = random.Random(15)
    sessions = 40
    conv = Conversation(cport=42200, ts=T0).handshake()
    for _ in range(sessions):
        name = "SESS" + "".join(rng.choice("0123456789abcdef") for _ in range(32))
        token = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(43))
        conv.request(http_request("GET", "/node/7", headers={"Cookie": f"{name}={token}"}))
        conv.response(http_response(b"{}"))
    engine = scan_engine(conv.close().write(tmp_path / "drupal.pcap"), strict=True)
    cookie_rows = [r for r in engine.inventory.rows() if r.location == "cookie"]
    assert [(r.field, r.data_type) for r in cookie_rows] == [("SESS{key}", "BEARER_TOKEN")]
    assert cookie_rows[0].count == sessions


SAS = ("https://acct.blob.core.windows.net/c/b?sv=2020-08-04&se=2031-01-01T00%3A00%3A00Z"
       "&sr=b&sp=r&sig=Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh%3D")
CLOUDFRONT = ("https://d111111abcdef8.cloudfront.example/image.jpg?Expires=1900000000"
              "&Signature=Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4zAb7cDe0fGh~Zx81bQ4pLw0e7Rt2Yk9sVm3Nq6Hc"
              "&Key-Pair-Id=K2JCJMDEHXQW5F")
SIGNATURE = "Zx81bQ4pLw0e7Rt2Yk9sVm3Nq6HcAb3dEf6hIj9k"


def test_signed_urls_in_fields_of_any_name(tmp_path: Path) -> None:
    # The expiry and signer in the signature's own URL make it a credential, whatever the
    # field holding the URL is called; a signature without them, or a document's own
    # signature beside an expiry, stays quiet.
    conv = Conversation(cport=42300, ts=T0).handshake()
    conv.request(http_request("POST", "/links", orjson.dumps({
        "az1": SAS, "cf": CLOUDFRONT, "attachments": [{"ref": SAS}],
        "track": f"https://click.example/r?url=https%3A%2F%2Fshop.example&sig={SIGNATURE}",
        "doc": {"title": "contract", "signature": SIGNATURE, "expires": "2031-01-01"},
        "note": "https://shop.example/a?sig=ok&se=2031-01-01&sp=r",
    })))
    conv.response(http_response(b"{}"))
    engine = scan_engine(conv.close().write(tmp_path / "signed.pcap"), strict=True)
    found = {(r.field, r.data_type) for r in engine.inventory.rows()}
    assert found == {("az1.sig", "BEARER_TOKEN"), ("cf.Signature", "BEARER_TOKEN"),
                     ("attachments[].ref.sig", "BEARER_TOKEN")}
    for row in engine.inventory.rows():
        assert SIGNATURE not in repr(row) and "Ab3dEf6h" not in repr(row)
