"""CARD_NUMBER: 13-19 digits, Luhn and a known brand range (ISO/IEC 7812)."""

from __future__ import annotations

import pytest

from classifiers.base import Category
from classifiers.pci.card_number import CardNumberClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = CardNumberClassifier()


# Brands' published test PANs: synthetic, and still card data when seen in traffic.
TEST_PANS = [
    "4111111111111111",  # Visa
    "4000056655665556",  # Visa debit
    "5555555555554444",  # Mastercard 51-55
    "2223003122003222",  # Mastercard 2-series
    "378282246310005",  # Amex 37
    "371449635398431",  # Amex
    "6011111111111117",  # Discover
    "3530111333300000",  # JCB
    "30569309025904",  # Diners 305
    "36227206271667",  # Diners 36
    "6200000000000005",  # UnionPay
    "6759649826438453",  # Maestro
    "2200000000000004",  # Mir
]


@pytest.mark.parametrize("pan", TEST_PANS)
def test_test_pan_without_hint_reported(pan: str) -> None:
    found = CLS.score(pan, ctx(""))
    assert found is not None and found.validated
    assert 0.8 <= found.confidence < 0.95
    assert (found.data_type, found.category) == ("CARD_NUMBER", Category.PCI)


@pytest.mark.parametrize("path", ["card.number", "pan", "cc_num", "cardNumber", "payment.card"])
def test_valid_pan_with_hint_near_certain(path: str) -> None:
    assert_reported(CLS.score("4111111111111111", ctx(path)), 0.97)


@pytest.mark.parametrize("value", ["4111 1111 1111 1111", "4111-1111-1111-1111",
                                   "3782 822463 10005", " 5555555555554444 "])
def test_grouped_digits_reported(value: str) -> None:
    assert_reported(CLS.score(value, ctx("card_number")), 0.95)


@pytest.mark.parametrize(
    "value",
    [
        "4111111111111112",  # Luhn fails
        "1234567812345670",  # Luhn valid, no brand starts with 1
        "9111111111111119",  # no brand range
        "3782822463100050",  # Amex prefix, but 16 digits (Amex is 15)
        "555555555555444",  # Mastercard prefix, 15 digits
        "411111111111",  # too short
        "41111111111111111111",  # too long
        "4111 1111 1111 111x",
        "4111--1111--1111--1111",  # not a card grouping
        "1700000000000000000",  # nanosecond timestamp
        "550e8400-e29b-41d4-a716-446655440000",  # UUID
        "19.99",
    ],
)
def test_near_miss_not_reported(value: str) -> None:
    assert CLS.score(value, ctx("card_number")) is None


def test_luhn_failing_16_digit_order_id_quiet() -> None:
    assert CLS.score("4000123412341235", ctx("order_id")) is None


def test_luhn_lucky_order_id_under_threshold() -> None:
    # One in ten order numbers in a brand range passes Luhn; the field name says id.
    assert_not_reported(CLS.score("4000123412341234", ctx("order_id")))


def test_pan_inside_free_text_has_span() -> None:
    text = "charge failed for card 4111 1111 1111 1111 at gateway"
    found = CLS.score(text, ctx("message"))
    assert found is not None and found.span is not None
    start, end = found.span
    assert text[start:end] == "4111 1111 1111 1111"


def test_min_share_high() -> None:
    assert CLS.min_share >= 0.6


@pytest.mark.parametrize("pan", TEST_PANS)
def test_reason_never_quotes_value(pan: str) -> None:
    assert_reason_hides(CLS.score(pan, ctx("card.number")), pan, pan[-4:])


def test_digits_of_decimals_and_identifiers_in_text_are_not_cards() -> None:
    # npm's `_npmOperationalInternal.tmp`: a file name with an epoch and a random fraction.
    for text in ("tmp/pkg-11.1.1.tgz_1627466063421_0.4111111111111111",
                 "ratio 0.4111111111111111 of total", "id_4111111111111111"):
        assert_not_reported(CLS.score(text, ctx("tmp")))
    assert_reported(CLS.score("paid with 4111 1111 1111 1111.", ctx("note")))
