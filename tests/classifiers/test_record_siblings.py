"""Fields judged by the record they belong to (issue #15, measured on traffic from real
software): the keys of a field's own object (`object_tokens`), MySQL columns of one row
as each other's siblings, account holders beside an IBAN, a merchant's category code,
postal codes of more countries. Values are crafted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from classifiers.base import REPORT_THRESHOLD
from dpi.api import scan_engine
from dpi.classify import ClassifierSet, object_tokens, sibling_tokens
from tests.builders import mysql as my
from tests.builders.conversation import Conversation, http_request, http_response

CS = ClassifierSet()


def found(body_paths: dict[str, str], path: str, api: str = "GET /x") -> dict[str, float]:
    """The findings of `body_paths[path]` when the part holds all of `body_paths`, its
    contexts built as the field scorer builds them."""
    paths = tuple(body_paths)
    objects = dict(zip(paths, object_tokens(paths), strict=True))
    ctx = CS.context("http", "body", path, api, sibling_tokens(paths), "", objects[path])
    return {f.data_type: f.confidence for f in CS.score(body_paths[path], ctx)
            if f.confidence >= REPORT_THRESHOLD}


def test_object_tokens_are_the_keys_of_the_fields_own_object() -> None:
    paths = ("teamId", "name", "members.{key}.email", "items[].name", "items[].surname")
    teams, name, member, item, surname = object_tokens(paths)
    assert teams == name == {"team", "id", "name", "members", "items"}
    assert member == {"email"}
    assert item == surname >= {"name", "surname"}


def test_a_page_of_people_under_items_is_people() -> None:
    page = {"items[].customerId": "4411", "items[].name": "Ingrid", "items[].surname": "Holm",
            "total": "40", "page": "1"}
    assert "PERSON_NAME" in found(page, "items[].name")
    assert "PERSON_NAME" in found(page, "items[].surname")


def test_a_product_list_under_items_stays_products() -> None:
    order = {"customer.email": "ingrid@example.org", "customer.name": "Ingrid Holm",
             "items[].name": "Garden Chair", "items[].sku": "GC-1", "items[].price": "19.90"}
    assert "PERSON_NAME" not in found(order, "items[].name")
    assert "PERSON_NAME" in found(order, "customer.name")


def test_a_teams_name_beside_its_members_is_no_person() -> None:
    team = {"teamId": "12", "name": "Finance", "members.{key}.displayName": "Ingrid Holm",
            "members.{key}.email": "ingrid@example.org"}
    assert "PERSON_NAME" not in found(team, "name")
    # The same `name` with the person's own e-mail beside it is a person's.
    person = {"name": "Ingrid", "email": "ingrid@example.org", "teamId": "12"}
    assert "PERSON_NAME" in found(person, "name")


IBAN = "DE89370400440532013000"


def test_an_account_holder_beside_an_iban_is_a_person() -> None:
    accounts = {"accounts[].value.iban": IBAN, "accounts[].value.holder_name": "Ingrid Holm",
                "accounts[].value.balance.units": "120", "customer_id": "cus_1"}
    assert found(accounts, "accounts[].value.holder_name").keys() == {"PERSON_NAME"}


def test_the_account_holder_of_a_record_with_a_card_is_no_cardholder() -> None:
    payment = {"accountHolder": "Ingrid Holm", "iban": IBAN, "card.pan": "4111111111111111",
               "card.holderName": "INGRID HOLM", "merchant.name": "Acme Corp"}
    assert found(payment, "accountHolder").keys() == {"PERSON_NAME"}
    assert found(payment, "card.holderName").keys() == {"CARDHOLDER_NAME"}


@pytest.mark.parametrize("path", ["merchant.category_code", "category_code", "postal_code",
                                  "country_code", "currency_code"])
def test_codes_that_name_something_else_beside_a_card_are_no_cvv(path: str) -> None:
    auth = {"card.number": "4111111111111111", "card.expiry": "12/29", path: "5411"}
    assert "CARD_CVV" not in found(auth, path)


@pytest.mark.parametrize("path", ["card.code", "security_code", "card.verification_code"])
def test_a_cards_own_code_is_still_a_cvv(path: str) -> None:
    auth = {"card.number": "4111111111111111", path: "123"}
    assert "CARD_CVV" in found(auth, path)


@pytest.mark.parametrize("code", ["114 55", "105 57", "D02 X285", "A65 F4E2", "D6W 1234",
                                  "GA-543-0125", "050000", "010000"])
def test_postal_codes_of_more_countries(code: str) -> None:
    assert "POSTAL_CODE" in found({"address.postalCode": code}, "address.postalCode")


@pytest.mark.parametrize(("code", "path"), [("114 55", "amount"), ("D02 X285", "ref"),
                                            ("050000", "count"), ("B02 X285", "postalCode")])
def test_those_shapes_need_a_postal_field_and_a_valid_layout(code: str, path: str) -> None:
    assert "POSTAL_CODE" not in found({path: code}, path)


def _contacts(tmp_path: Path, columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> Path:
    conv = Conversation(sport=3306).handshake()
    conv.response(my.greeting("5.7.25", caps=my.SERVER_CAPS & ~my.Cap.DEPRECATE_EOF))
    conv.request(my.login("app", "crm")).response(my.ok(2))
    conv.request(my.query(f"SELECT {', '.join(columns)} FROM contacts"))
    cols = [my.Col(c, table="contacts", schema="crm") for c in columns]
    conv.response(my.result_set(cols, rows))
    return conv.request(my.quit_()).close().write(tmp_path / "contacts.pcap")


def test_mysql_columns_of_one_row_are_siblings(tmp_path: Path) -> None:
    rows = [("Ingrid", "Holm", "7"), ("Oskar", "Lind", "9"), ("Maja", "Berg", "4")]
    engine = scan_engine(_contacts(tmp_path, ("name", "surname", "visits"), rows))
    found_types = {(r.field, r.data_type) for r in engine.inventory.rows()}
    assert ("name", "PERSON_NAME") in found_types  # only its `surname` sibling says so
    assert ("surname", "PERSON_NAME") in found_types
    assert not any(field == "visits" for field, _ in found_types)


def test_a_name_column_without_person_columns_is_not_a_person(tmp_path: Path) -> None:
    rows = [("Garden Chair", "19"), ("Blue Lamp", "25"), ("Oak Table", "240")]
    engine = scan_engine(_contacts(tmp_path, ("name", "price"), rows))
    assert engine.inventory.rows() == []


def test_product_names_of_an_order_paid_by_card_are_no_cardholders() -> None:
    # The shared benchmark's orders: `items[].name` beside `payment.card_number` in the
    # same body. Judged by the whole body's names, every product name ("standing desk")
    # was a CARDHOLDER_NAME; the card fields of the name's own object decide.
    order = {"order_id": "9f1c", "customer.name": "Ingrid Holm",
             "customer.email": "ingrid@example.org", "items[].sku": "SKU-12345",
             "items[].name": "standing desk", "items[].qty": "2",
             "payment.card_number": "4111111111111111", "payment.brand": "visa"}
    assert "CARDHOLDER_NAME" not in found(order, "items[].name")
    assert "CARDHOLDER_NAME" not in found(order, "customer.name")
    # A name in the card's own object, or in a flat body beside the card number, still is.
    on_card = {**order, "payment.name": "Ingrid Holm"}
    assert "CARDHOLDER_NAME" in found(on_card, "payment.name")
    flat = {"name": "Ingrid Holm", "card_number": "4111111111111111", "cvv": "123"}
    assert "CARDHOLDER_NAME" in found(flat, "name")


def test_an_order_capture_reports_the_card_but_no_cardholder_for_its_products(
    tmp_path: Path,
) -> None:
    conv = Conversation(sport=8080).handshake()
    for n, product in enumerate(("standing desk", "wireless mouse", "desk lamp") * 3):
        order = {"order_id": f"o-{n}", "customer": {"name": "Ingrid Holm"},
                 "items": [{"sku": f"SKU-1000{n}", "name": product, "qty": 1}],
                 "payment": {"card_number": "4111111111111111", "brand": "visa"}}
        conv.request(http_request("POST", "/orders", json.dumps(order).encode()))
        conv.response(http_response(b'{"ok": true}'))
    engine = scan_engine(conv.close().write(tmp_path / "orders.pcap"))
    found_types = {(r.field, r.data_type) for r in engine.inventory.rows()}
    assert ("payment.card_number", "CARD_NUMBER") in found_types
    assert ("customer.name", "PERSON_NAME") in found_types
    assert not any(field == "items[].name" for field, _ in found_types)
