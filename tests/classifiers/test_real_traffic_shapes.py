"""Shapes real APIs have (issue #15): phones and names without a telling field name,
organisations, test data, street lines, URL hosts, national ids, session cookies.

Each case goes through the whole classifier set (`ClassifierSet.score`, gates included),
and the field-level cases through the inventory's decision, so that weak evidence is
seen to need several values."""

from __future__ import annotations

import pytest

from classifiers.base import REPORT_THRESHOLD
from dpi.classify import ClassifierSet, sibling_tokens
from dpi.inventory import Inventory

CS = ClassifierSet()


def types(value: str, path: str, location: str = "body", siblings: tuple[str, ...] = (),
          protocol: str = "http") -> dict[str, float]:
    ctx = CS.context(protocol, location, path, "POST /x", sibling_tokens(siblings))
    return {f.data_type: f.confidence for f in CS.score(value, ctx)
            if f.confidence >= REPORT_THRESHOLD}


@pytest.mark.parametrize(("value", "path", "siblings"), [
    ("13812345678", "login", ()),
    ("13812345678", "手机号", ()),
    ("612345678", "telefono", ()),
    ("+33 6 12 34 56 78", "téléphone", ()),
    ("0612345678", "celular", ()),
])
def test_phones_without_an_english_phone_key(value: str, path: str, siblings: tuple[str, ...]) -> None:
    assert "PHONE_NUMBER" in types(value, path, siblings=siblings)


def test_a_bare_mobile_is_weak_evidence_and_a_random_id_is_none() -> None:
    assert types("13812345678", "value") == {"PHONE_NUMBER": 0.55}
    assert types("1700000000", "ts") == {}  # epoch seconds
    assert types("9876543210", "order_id") == {}  # ten digits, no account name


@pytest.mark.parametrize(("value", "path"), [
    ("Peter", "patient.name[].given[]"),
    ("Chalmers", "name[].family"),
    ("Ana", "customer.name.first"),
    ("Jane Doe", "recipient"),
    ("Jane Doe", "account_holder"),
    ("王小明", "姓名"),
    ("Иван", "имя"),
])
def test_names_split_in_parts_roles_and_scripts(value: str, path: str) -> None:
    assert types(value, path).get("PERSON_NAME", 0) >= 0.7


@pytest.mark.parametrize(("value", "path", "siblings"), [
    ("Jane Doe", "merchant.name", ("email", "phone")),
    ("Central", "pharmacy.name", ("phone",)),
    ("Acme Corp", "name", ("email", "phone")),
    ("Walgreens Pharmacy", "customer.name", ()),
    ("Müller GmbH", "name", ("card_number", "cvv")),
    ("St Mary Hospital", "employer.name", ()),
])
def test_organisations_are_not_people(value: str, path: str, siblings: tuple[str, ...]) -> None:
    found = types(value, path, siblings=siblings)
    assert "PERSON_NAME" not in found and "CARDHOLDER_NAME" not in found


@pytest.mark.parametrize(("value", "path", "location", "protocol"), [
    ("sam@example.net", "login", "body", "http"),
    ("alice@shop.test", "", "key", "kafka"),
    ("bob@example.com", "2", "body", "grpc"),
])
def test_test_data_is_data(value: str, path: str, location: str, protocol: str) -> None:
    assert "EMAIL_ADDRESS" in types(value, path, location, protocol=protocol)


def test_example_addresses_in_prose_stay_under_the_threshold() -> None:
    assert types("write to alice@example.com for access", "description") == {}


@pytest.mark.parametrize(("value", "path", "siblings"), [
    ("742 Evergreen Terrace", "address.lines[]", ()),
    ("Apt 4B", "shipping.address.lines[]", ()),
    ("1 Main St", "street1", ()),
    ("Flat 3, Block B7", "addressLine1", ()),
    ("742 Evergreen Terrace", "billing.line1", ("city", "postal_code", "line2")),
])
def test_street_address_lines(value: str, path: str, siblings: tuple[str, ...]) -> None:
    assert "STREET_ADDRESS" in types(value, path, siblings=siblings)


@pytest.mark.parametrize(("value", "path"), [
    ("http://203.0.113.7/app/login", "referer"),
    ("http://198.51.100.20:8080", "origin"),
    ("https://203.0.113.7/next", "location"),
])
def test_url_hosts_are_routing(value: str, path: str) -> None:
    assert "IP_ADDRESS" not in types(value, path, "header")


@pytest.mark.parametrize(("value", "path", "location"), [
    ("203.0.113.9, 198.51.100.2", "x-forwarded-for", "header"),
    ("203.0.113.9", "clientIp", "body"),
])
def test_client_addresses_carried_as_data_stay(value: str, path: str, location: str) -> None:
    assert "IP_ADDRESS" in types(value, path, location)


@pytest.mark.parametrize(("value", "path", "location", "protocol"), [
    ("11010519491231002X", "?1", "param", "mysql"),  # no hint: shape and rule are strong
    ("11010519491231002X", "id_card", "column", "mysql"),
    ("111222333", "bsn", "body", "http"),
    ("36574261809", "steuer_id", "body", "http"),
    ("BOXW310820HNERXN09", "curp", "body", "http"),
])
def test_national_ids_beyond_the_us(value: str, path: str, location: str, protocol: str) -> None:
    assert "NATIONAL_ID" in types(value, path, location, protocol=protocol)


@pytest.mark.parametrize(("value", "path"), [
    ("111222333", "amount"),  # a BSN-valid number without a hint
    ("36574261809", "order_id"),
    ("123456789012345678", "id"),
])
def test_bare_short_numbers_are_no_national_id(value: str, path: str) -> None:
    assert "NATIONAL_ID" not in types(value, path)


@pytest.mark.parametrize(("value", "path"), [
    ("51234987", "CFTOKEN"),
    ("1234567", "CFID"),
    (("2|1:0|10:1596000000|25:jupyterhub-user-ann|44:ZGQ3YjZkNWVjYjI0NGE4Nzg0ZjFhZDcy"
      "OTgyNGNiMTQ=|a4b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1"),
     "jupyterhub-user-ann"),
    ("admin|1600000000|AbCdEfGhIjKlMnOpQrStUvWxYz123456|9f8e7d6c5b4a39281706f5e4d3c2b1a0",
     "wordpress_logged_in_5c9a2f1e"),
    ("AbC9dEf8GhI7jKl6M", "hsid"),
])
def test_session_cookies_by_value_and_context(value: str, path: str) -> None:
    assert "BEARER_TOKEN" in types(value, path, "cookie")


@pytest.mark.parametrize(("value", "path", "location"), [
    ("Xk3jf9Lm2Pq8Rs7Tu6Vw5Yz4Ab3Cd2Ef1Gh0Ij", "_token", "body"),
    ("Xk3jf9Lm2Pq8Rs7Tu6Vw5Yz4Ab3Cd2Ef1Gh0Ij", "authenticity_token", "body"),
    ("Xk3jf9Lm2Pq8Rs7Tu6Vw5Yz4Ab3Cd2Ef1Gh0Ij", "XSRF-TOKEN", "cookie"),
    ("0b6a1c3e-9f2d-4b8a-a1c2-3d4e5f6a7b8c", "session_id", "query"),
    ("9a8b7c6d5e4f3a2b1c0d9e8f", "cUserId", "cookie"),
])
def test_nonces_and_messaging_sessions_are_no_bearer_tokens(value: str, path: str,
                                                            location: str) -> None:
    assert "BEARER_TOKEN" not in types(value, path, location)


def _decide(path: str, values: list[str]) -> list[str]:
    inventory = Inventory(min_share={c.data_type: c.min_share for c in CS.classifiers})
    key = ("http", "10.0.0.1:80", "POST /x", "request", "body", path)
    evidence = inventory.field(key, "")
    assert evidence is not None
    ctx = CS.context("http", "body", path, "POST /x", frozenset())
    for value in values:
        inventory.record(evidence, CS.score(value, ctx), value, 1, b"\x7f\x00\x00\x01")
    return [row.data_type for row in inventory.rows()]


def test_weak_evidence_needs_several_values() -> None:
    # One lucky value in a field with no telling name is no row; several are.
    assert _decide("value", ["13812345678"]) == []
    assert _decide("value", ["13812345678", "15912345678", "18612345678"]) == ["PHONE_NUMBER"]
    assert _decide("name", ["Emma Smith"]) == []
    assert _decide("name", ["Emma Smith", "Liam Jones", "Olivia Brown"]) == ["PERSON_NAME"]
    assert _decide("name", ["Widget Pro", "Gadget Max", "Blue Lamp"]) == []
