"""Shapes of real traffic measured on held-out captures and real software (issue #15,
second round): mobile numbers used as subscriber identifiers, Han-script names in login
fields, keys written in capitals, short session cookies, organisations' landlines and
addresses. Values are crafted (library example numbers, common names), never captured.

Each case goes through the whole classifier set (gates included), and the field-level
cases through the inventory's decision."""

from __future__ import annotations

import pytest

from classifiers._hints import compound_words, name_tokens
from classifiers.base import REPORT_THRESHOLD
from classifiers.pii._name_lists import han_name
from dpi.classify import ClassifierSet, sibling_tokens
from dpi.inventory import Inventory

CS = ClassifierSet()


def types(value: str, path: str, location: str = "body", siblings: tuple[str, ...] = (),
          protocol: str = "http") -> dict[str, float]:
    ctx = CS.context(protocol, location, path, "POST /x", sibling_tokens(siblings))
    return {f.data_type: f.confidence for f in CS.score(value, ctx)
            if f.confidence >= REPORT_THRESHOLD}


def decide(path: str, values: list[str], siblings: tuple[str, ...] = ()) -> list[str]:
    inventory = Inventory(min_share={c.data_type: c.min_share for c in CS.classifiers})
    key = ("http", "10.0.0.1:80", "POST /x", "request", "body", path)
    evidence = inventory.field(key, "")
    assert evidence is not None
    ctx = CS.context("http", "body", path, "POST /x", sibling_tokens(siblings))
    for value in values:
        inventory.record(evidence, CS.score(value, ctx), value, 1, b"\x7f\x00\x00\x01")
    return [row.data_type for row in inventory.rows()]


# --- mobile numbers as subscriber identifiers ---------------------------------------

@pytest.mark.parametrize("path", ["productNo", "PRODUCTNO", "ProductNbr", "OldProductNbr",
                                  "order.serviceNumber", "serviceNbr"])
def test_a_mobile_under_an_identifier_key_is_reported_on_one_value(path: str) -> None:
    assert decide(path, ["13912345678"]) == ["PHONE_NUMBER"]
    assert 0.6 <= types("13912345678", path)["PHONE_NUMBER"] < 0.7


@pytest.mark.parametrize("path", ["orderNo", "ORDERNO", "operatorNo", "serialNumber",
                                  "tradeNo", "cardNo", "trackingNumber", "invoiceNbr",
                                  "[].gc_num", "numberOfVisits", "no_reply_count"])
def test_an_identifier_that_names_another_thing_needs_several_mobiles(path: str) -> None:
    assert decide(path, ["13912345678"]) == []
    assert types("13912345678", path).get("PHONE_NUMBER", 0) < 0.6


def test_identifier_keys_need_a_mobile_not_any_number() -> None:
    # 16-digit operator numbers and 11 digits outside the mobile ranges are no phones.
    assert types("1234567890123456", "productNo") == {}
    assert types("10012345678", "productNo") == {}
    assert types("12912345678", "productNo") == {}


def test_an_account_named_by_its_msisdn_without_plus() -> None:
    msisdns = ["447911123456", "4915123456789", "33612345678", "818012345678"]
    assert decide("account", msisdns) == ["PHONE_NUMBER"]
    # One lucky value is not enough; nor are bank account numbers that are no mobiles.
    assert decide("account", ["447911123456"]) == []
    assert decide("account", ["12345678901", "98765432101", "55501234567", "44001234567"]) == []
    assert decide("orderNumber", msisdns) == []


# --- keys in capitals ----------------------------------------------------------------

@pytest.mark.parametrize(("key", "words"), [
    ("PRODUCTNO", {"product", "no"}),
    ("SESSIONKEY", {"session", "key"}),
    ("CUSTNAME", {"customer", "name"}),
    ("USERNAME", {"user", "name"}),
    ("CARDNO", {"card", "no"}),
])
def test_capital_compounds_give_the_words_of_their_camel_case_form(key: str,
                                                                   words: set[str]) -> None:
    assert words <= name_tokens(key)


@pytest.mark.parametrize("key", ["IDFA", "JSESSIONID", "NSC_TWMBEWJQ", "PREF", "ZBXCONFIG"])
def test_capitals_that_are_no_compound_of_known_words_stay_one_token(key: str) -> None:
    assert compound_words(key.lower().replace("_", "")) == () or key == "JSESSIONID"
    assert "name" not in name_tokens(key)


def test_an_upper_case_session_key_is_a_token() -> None:
    assert "BEARER_TOKEN" in types("9f86d081884c7d659a2feaa0c55ad015", "SESSIONKEY")
    assert "BEARER_TOKEN" in types("9f86d081884c7d659a2feaa0c55ad015", "logintoken", "header")


# --- Han-script names ----------------------------------------------------------------

@pytest.mark.parametrize("value", ["王小明", "李娜", "肖华", "欧阳明月"])
def test_han_names_open_with_a_common_family_name(value: str) -> None:
    assert han_name(value)


@pytest.mark.parametrize("value", ["中国移动", "你好", "测试", "王", "王小明明明", "abc"])
def test_other_han_words_are_no_names(value: str) -> None:
    assert not han_name(value) or value == "王小明明明"


@pytest.mark.parametrize("path", ["result.userName", "loginName", "CustName", "CUSTNAME"])
def test_a_han_name_in_a_user_or_customer_name_field(path: str) -> None:
    assert types("张伟", path).get("PERSON_NAME", 0) >= 0.7


@pytest.mark.parametrize(("value", "path"), [
    ("jsmith", "userName"), ("13912345678", "loginName"), ("中国移动", "userName"),
    ("Admin", "userName"), ("测试", "userName"),
])
def test_a_login_handle_is_no_name(value: str, path: str) -> None:
    assert "PERSON_NAME" not in types(value, path)


@pytest.mark.parametrize(("value", "path", "location"), [
    ("john", "user", "cookie"), ("Maria", "username", "body"), ("alice", "login", "query"),
])
def test_a_login_that_is_a_given_name_is_a_first_name(value: str, path: str,
                                                      location: str) -> None:
    assert types(value, path, location).get("PERSON_NAME", 0) >= 0.6


@pytest.mark.parametrize("value", ["admin", "root", "testuser", "dev", "server", "foo",
                                   "Qggh", "john42", "j.smith"])
def test_system_accounts_and_handles_are_no_first_names(value: str) -> None:
    assert "PERSON_NAME" not in types(value, "user", "cookie")
    assert "PERSON_NAME" not in types(value, "username")


def _people(value: str, path: str, api: str) -> dict[str, float]:
    ctx = CS.context("http", "body", path, api, frozenset())
    return {f.data_type: f.confidence for f in CS.score(value, ctx)
            if f.confidence >= REPORT_THRESHOLD}


def test_names_of_the_elements_of_a_people_collection() -> None:
    assert "PERSON_NAME" in _people("Alice", "[].name", "QUERY /users")
    assert "PERSON_NAME" in _people("Bob", "[].name", "GET /api/v2/customers")
    assert "PERSON_NAME" not in _people("Widget", "[].name", "GET /api/v2/products")
    assert "PERSON_NAME" not in _people("Finance", "name", "GET /teams/{id}/members")
    assert "PERSON_NAME" not in _people("Alice", "[].tags[].name", "GET /users")


def test_a_top_level_name_in_an_api_about_people() -> None:
    # A person search sends bare first names: known given names, in an API whose words
    # (the last HTTP path word, a gRPC service or method) name people.
    search = "/tutorial.PersonSearchService/Search"
    assert _people("Jason", "name[]", search).get("PERSON_NAME", 0) >= 0.6
    assert "PERSON_NAME" in _people("Lily", "name", "POST /api/customers")
    assert "PERSON_NAME" in _people("Maria Lopez", "name", "/crm.Directory/FindPeople")
    # Not a listed given name, a placeholder, or an API about something else: no row.
    assert "PERSON_NAME" not in _people("Finance", "name", search)
    assert "PERSON_NAME" not in _people("Admin", "name", search)
    assert "PERSON_NAME" not in _people("Jason", "name", "/helloworld.Greeter/SayHello")
    assert "PERSON_NAME" not in _people("Lily", "name", "POST /api/products")
    assert "PERSON_NAME" not in _people("Lily", "name", "GET /users/{id}/roles")
    # Only at the top of the body: a nested `name` keeps the rules of its parents.
    assert "PERSON_NAME" not in _people("Lily", "plan.name", "POST /api/customers")


# --- organisations -------------------------------------------------------------------

SHOP = ("merchantName", "shopName", "merchantNo", "latitude", "longitude", "tel")


def test_a_shops_landline_and_address_are_no_personal_data() -> None:
    assert "PHONE_NUMBER" not in types("02087654321", "result.tel", siblings=SHOP)
    assert "PHONE_NUMBER" not in types("+86 10 8765 4321", "merchant.phone")
    assert "STREET_ADDRESS" not in types("88 Nanjing Road", "result.merchantAddress",
                                         siblings=SHOP)
    assert "STREET_ADDRESS" not in types("88 Nanjing Road", "address", siblings=SHOP)


def test_a_mobile_or_a_person_in_a_shop_record_still_counts() -> None:
    assert "PHONE_NUMBER" in types("13912345678", "result.tel", siblings=SHOP)
    person = (*SHOP, "firstName", "lastName")
    assert "PHONE_NUMBER" in types("02087654321", "tel", siblings=person)
    assert "STREET_ADDRESS" in types("88 Nanjing Road", "customer.address", siblings=SHOP)
    assert "STREET_ADDRESS" in types("88 Nanjing Road", "address", siblings=("name", "email"))


def test_a_contact_with_an_employer_is_still_a_person() -> None:
    # A CRM contact names its company; its home address and phone stay personal data (the
    # shared benchmark's contacts lost both when a `company` sibling made them a shop).
    contact = ("contact_id", "full_name", "email", "mobile", "company", "title", "notes")
    assert "STREET_ADDRESS" in types("42 Oak Ave", "data[].home_address.line1",
                                     siblings=("line1", "line2", "city", "zip"))
    assert "PHONE_NUMBER" in types("+44 20 7946 0958", "mobile", siblings=contact)
    assert "PHONE_NUMBER" in types("020 7946 0958", "phone",
                                   siblings=("full_name", "email", "company"))


# --- session cookies -----------------------------------------------------------------

@pytest.mark.parametrize("name", ["session", "sessionid", "newsession", "SESSION"])
def test_a_cookie_named_session_is_a_session_whatever_its_length(name: str) -> None:
    assert "BEARER_TOKEN" in types("a1b2c3", name, "cookie")


@pytest.mark.parametrize(("value", "name", "location"), [
    ("deleted", "session", "cookie"),  # Set-Cookie clearing the session
    ("1", "session", "cookie"),
    ("a1b2c3", "session", "body"),  # outside a cookie the name is not enough
    ("a1b2c3", "csrf_session", "cookie"),
    ("a1b2c3", "tracking", "cookie"),
    ("a1b2c3", "_xsrf", "cookie"),
])
def test_short_values_outside_a_plain_session_cookie_are_no_tokens(value: str, name: str,
                                                                   location: str) -> None:
    assert "BEARER_TOKEN" not in types(value, name, location)


# --- addresses with zero-padded octets -----------------------------------------------

@pytest.mark.parametrize(("value", "path"), [
    ("010.001.002.003", "x-forwarded-for"),
    ("10.000.000.03", "x-forwarded-for"),
    ("203.000.113.007, 010.000.000.001", "x-forwarded-for"),
    ("192.168.001.020", "x-real-ip"),
    ("010.001.002.003", "clientIp"),
])
def test_zero_padded_octets_in_an_address_field(value: str, path: str) -> None:
    assert "IP_ADDRESS" in types(value, path, "header" if path.startswith("x-") else "body")


@pytest.mark.parametrize(("value", "path"), [
    ("010.001.002.003", "code"), ("001.002.003.004", "value"), ("300.001.002.003", "clientIp"),
    ("10.000.000.03", "clientIp"), ("300.001.002.003", "x-forwarded-for"),
])
def test_zero_padded_quads_elsewhere_or_out_of_range_are_no_addresses(value: str,
                                                                      path: str) -> None:
    assert "IP_ADDRESS" not in types(value, path)
