"""Issue #15 item 6, a document inside a value must not dilute the evidence of the values
inside it: crafted captures through the whole scan, inventory rows out.

The shape comes from a mobile payment app's mirrored traffic: `Authorization: Basic`
followed by a JSON document of some twenty keys (a session key, the device's address,
the subscriber's mobile number under `productNo`, device ids...). Its values are values
of the one field `authorization` (the spec reports HTTP credentials at the header), so
the phone was one value in twenty, under PHONE_NUMBER's share of a field's values; it is
one hit in one header value now, judged under its own key as a body field is. Beside it,
a document of ids and numbers that are no phones (a hard negative), a base64 wrapper
whose text is the field's one sensitive value, and JSON documents in a cookie and a
query value, whose keys are fields below the carrying one. Values are synthetic; no row
may carry one."""

from __future__ import annotations

import base64
from pathlib import Path
from urllib.parse import quote

import orjson
import pytest

from dpi.api import scan_engine
from dpi.inventory import Row
from tests.builders.conversation import T0, Conversation, http_request, http_response

Key = tuple[str, str, str, str, str]  # api, direction, location, field, data_type

PHONES = ("13912345678", "18612345670")  # Chinese mobiles, as the app sends them (no +86)
DEVICE_IPS = ("203.0.113.58", "198.51.100.23")
SESSION = "6b1f0e2c9d4a47e8b3c5a1f09e7d2c4b"
RESIDENT_ID = "11010519491231002X"  # a checksum-valid Chinese resident identity number
# Values no row may show whole (the phones' last four digits are the masked sample's).
RAW = (*PHONES, *DEVICE_IPS, SESSION, RESIDENT_ID, "12345678", "12345670")


def _session_document(phone: str, device_ip: str, n: int) -> dict[str, object]:
    """Twenty keys, one of them the subscriber's mobile number (`productNo`)."""
    return {
        "sessionKey": SESSION, "productNo": phone, "deviceIp": device_ip,
        "deviceId": f"8f3a2c1e-5b7d-4e9a-a1c3-00000000000{n}", "imei": f"86751203456789{n}",
        "appVersion": "10.2.30", "channel": "ANDROID", "osVersion": "11", "model": "M2011K2C",
        "lat": "31.2304", "lng": "121.4737", "networkType": "WIFI", "lang": "zh_CN",
        "timestamp": f"176846760000{n}", "requestSeq": f"2026011509000000{n}",
        "merchantNo": "102100012345", "provinceCode": "310000", "cityCode": "310100",
        "signType": "SHA256", "encryptKeyVersion": "3",
    }  # fmt: skip


def _id_document(n: int) -> dict[str, object]:
    """Twenty keys of ids, codes, times and amounts, none of them a phone number."""
    return {
        "orderNo": f"20260115090000123{n}", "merchantNo": "102100012345",
        "terminalNo": f"T00012{n}", "traceNo": f"00000{n}1234", "batchNo": "000123",
        "timestamp": f"176846760000{n}", "amount": f"{1250 + n}", "currency": "156",
        "deviceId": f"a1b2c3d4e5f6a7b{n}", "imei": f"35209900176148{n}", "appVersion": "10.2.30",
        "channel": "IOS", "osVersion": "17.2", "provinceCode": "310000", "cityCode": "310100",
        "serialNo": f"9{n}00000000001", "version": "3", "signType": "RSA2",
        "nonce": f"{n}f0e1d2c3b4a5968", "count": "20",
    }  # fmt: skip


def _capture(path: Path) -> Path:
    conv = Conversation(cport=42300, ts=T0).handshake()
    exchanges = []
    for n, (phone, device_ip) in enumerate(zip(PHONES, DEVICE_IPS, strict=True)):
        document = orjson.dumps(_session_document(phone, device_ip, n)).decode()
        exchanges.append(http_request("GET", "/zixun/api/v1/queryIsAntiMoney", headers={
            "Authorization": f"Basic {document}"}))  # fmt: skip
        # The same document in a cookie and in a query value (percent-encoded, as
        # browsers and apps send them).
        exchanges.append(http_request("GET", "/api/v1/profile", headers={
            "Cookie": f"appCtx={quote(document, safe='')}; lang=zh_CN"}))  # fmt: skip
        exchanges.append(http_request("GET", f"/api/v1/notice?ctx={quote(document, safe='')}"))
    for n in range(4):
        document = orjson.dumps(_id_document(n)).decode()
        exchanges.append(http_request("GET", "/api/v1/orders", headers={
            "Authorization": f"Basic {document}", "X-Order-Context": document}))  # fmt: skip
    # A base64 wrapper of the field's one value: the wrapper and its text are one value.
    for _ in range(3):
        exchanges.append(http_request("GET", "/api/v1/tax", headers={
            "X-National-Id": base64.b64encode(RESIDENT_ID.encode()).decode()}))  # fmt: skip
    for request in exchanges:
        conv.request(request).response(http_response(b"{}"))
    return conv.close().write(path)


@pytest.fixture(scope="module")
def rows(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    path = _capture(tmp_path_factory.mktemp("inside") / "inside.pcap")
    return list(scan_engine(path, strict=True).inventory.rows())


def _keys(rows: list[Row]) -> set[Key]:
    return {(r.api, r.direction, r.location, r.field, r.data_type) for r in rows}


def _row(rows: list[Row], api: str, field: str, data_type: str) -> Row:
    (row,) = [r for r in rows if (r.api, r.field, r.data_type) == (api, field, data_type)]
    return row


def test_phone_inside_an_authorization_document_is_reported(rows: list[Row]) -> None:
    api = "GET /zixun/api/v1/queryIsAntiMoney"
    keys = _keys(rows)
    for data_type in ("PHONE_NUMBER", "IP_ADDRESS", "BEARER_TOKEN"):
        assert (api, "request", "header", "authorization", data_type) in keys
    # Reported at the header, never below it (spec: credentials at their header).
    assert not [k for k in keys if k[3].startswith("authorization.")]
    phone = _row(rows, api, "authorization", "PHONE_NUMBER")
    # count: header values that carried a phone (two requests), not inner values.
    assert phone.count == 2
    assert phone.category == "PII"
    assert phone.sample.endswith("5678") and set(phone.sample[:-4]) == {"*"}
    assert _row(rows, api, "authorization", "IP_ADDRESS").count == 2


def test_documents_of_ids_give_no_phone(rows: list[Row]) -> None:
    found = {(r.location, r.field, r.data_type) for r in rows if r.api == "GET /api/v1/orders"}
    assert not [k for k in found if k[2] == "PHONE_NUMBER"], found


def test_base64_text_counts_once_with_its_wrapper(rows: list[Row]) -> None:
    # The wrapper and its text were two values of `x-national-id`, one hit in two, under
    # NATIONAL_ID's share (0.6); they are one value now, a hit in each of three requests.
    row = _row(rows, "GET /api/v1/tax", "x-national-id", "NATIONAL_ID")
    assert row.count == 3


def test_documents_in_cookies_and_queries_are_fields_below_the_value(rows: list[Row]) -> None:
    keys = _keys(rows)
    assert ("GET /api/v1/profile", "request", "cookie", "appCtx.productNo", "PHONE_NUMBER") in keys
    assert ("GET /api/v1/notice", "request", "query", "ctx.productNo", "PHONE_NUMBER") in keys
    assert ("GET /api/v1/notice", "request", "query", "ctx.deviceIp", "IP_ADDRESS") in keys


def _late_phones(path: Path) -> Path:
    """70 documents with a session key only, then 40 that carry a phone as well."""
    conv = Conversation(cport=42301, ts=T0).handshake()
    for n in range(110):
        document: dict[str, object] = {"sessionKey": f"{SESSION[:-3]}{n:03d}", "channel": "IOS"}
        if n >= 70:
            document["productNo"] = f"139{n:08d}"
        conv.request(http_request("GET", "/api/v1/balance", headers={
            "Authorization": f"Basic {orjson.dumps(document).decode()}"}))  # fmt: skip
        conv.response(http_response(b"{}"))
    return conv.close().write(path)


def test_a_field_of_carriers_does_not_settle(tmp_path: Path) -> None:
    # Every one of the first 70 values is a BEARER_TOKEN hit; a field of plain values
    # would settle on that type after 64 and stop scoring. The phones of the last 40
    # (40 of 110 values, above PHONE_NUMBER's share) are found.
    engine = scan_engine(_late_phones(tmp_path / "late.pcap"), strict=True)
    keys = _keys(list(engine.inventory.rows()))
    assert ("GET /api/v1/balance", "request", "header", "authorization", "PHONE_NUMBER") in keys


def test_no_row_carries_a_raw_value(rows: list[Row]) -> None:
    for row in rows:
        text = repr(row)
        for value in RAW:
            assert value not in text, row.field
