"""CARDHOLDER_NAME: a name-shaped value where the field is the name on a card."""

from __future__ import annotations

import pytest

from classifiers.base import Category, FieldContext
from classifiers.pci.cardholder_name import CardholderNameClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = CardholderNameClassifier()


POSITIVES = [
    ("Jane Doe", ctx("cardholder_name")),
    ("JANE Q DOE", ctx("cardholderName")),
    ("Jane Doe", ctx("name_on_card")),
    ("Jane Doe", ctx("card.name")),
    ("Jean-Luc O'Neil", ctx("payment.card.holder")),
    ("Jane Doe", ctx("cc_name")),
    ("Jane Doe", ctx("payment_method.billing_name")),
    ("José Álvarez", ctx("card_holder")),
    ("Jane Doe", ctx("name", siblings=("card_number", "cvv"))),
]

NEGATIVES = [
    ("Jane Doe", ctx("name")),  # a person's name: PERSON_NAME's business
    ("Jane Doe", ctx("user.name")),
    ("Visa", ctx("card.brand_name")),
    ("Chase Sapphire", ctx("card.product_name")),
    ("Visa", ctx("payment.name")),  # one word in a card object: a brand, not a holder
    ("4111111111111111", ctx("cardholder_name")),
    ("jane.doe@example.com", ctx("cardholder_name")),
    ("", ctx("cardholder_name")),
    ("true", ctx("card.name")),
    ("A" * 80, ctx("cardholder_name")),
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_name_on_card_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context), kind=("CARDHOLDER_NAME", Category.PCI))


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_not_a_card_name_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_explicit_hint_beats_card_path() -> None:
    hinted = CLS.score("Jane Doe", ctx("cardholder_name"))
    path = CLS.score("Jane Doe", ctx("card.name"))
    assert hinted is not None and path is not None
    assert hinted.confidence > path.confidence


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value, value.split()[0])
