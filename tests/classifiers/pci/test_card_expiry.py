"""CARD_EXPIRY: MM/YY, MM/YYYY, MMYY only where the field is about a card."""

from __future__ import annotations

import pytest

from classifiers.base import Category, FieldContext
from classifiers.pci.card_expiry import CardExpiryClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = CardExpiryClassifier()


POSITIVES = [
    ("12/27", ctx("card.exp")),
    ("01/2030", ctx("card_expiry")),
    ("0927", ctx("exp", siblings=("pan", "cvv"))),
    ("09-27", ctx("expiry", siblings=("card_number",))),
    ("12/27", ctx("expires", siblings=("cvc",))),
    ("12/27", ctx("valid_thru", siblings=("card_number",))),
    ("7", ctx("card.exp_month")),  # Stripe-style split month/year
    ("2030", ctx("card.exp_year")),
]

NEGATIVES = [
    ("12/27", ctx("date")),  # no expiry hint, no card
    ("0927", ctx("expiry")),  # bare MMYY without card context
    ("13/27", ctx("card.exp")),  # month 13
    ("00/27", ctx("card.exp")),  # month 0
    ("12/1999", ctx("card.exp")),  # four-digit year out of range
    ("3600", ctx("expires_in", siblings=("access_token",))),  # OAuth lifetime
    ("1700000000", ctx("exp")),  # JWT exp claim
    ("2027-12-31T00:00:00Z", ctx("expires_at")),
    ("13", ctx("card.exp_month")),
    ("true", ctx("card.exp")),
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_expiry_in_card_context_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context), kind=("CARD_EXPIRY", Category.PCI))


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_near_miss_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_mmyy_digits_valid_month_in_card_context_reported() -> None:
    # 1234 reads as December 2034: in a card object's `exp` field, that is an expiry.
    assert_reported(CLS.score("1234", ctx("exp", siblings=("pan",))))


def test_slash_expiry_with_hint_but_no_card_is_moderate() -> None:
    found = CLS.score("12/27", ctx("expiry"))
    assert found is not None
    strong = CLS.score("12/27", ctx("card.expiry"))
    assert strong is not None and strong.confidence > found.confidence


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value)
