"""CARD_CVV: 3-4 digits, only with a cvv/cvc/csc hint or in a card object."""

from __future__ import annotations

import pytest

from classifiers.base import Category, FieldContext
from classifiers.pci.card_cvv import CardCvvClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = CardCvvClassifier()


POSITIVES = [
    ("123", ctx("cvv")),
    ("1234", ctx("card.cvc")),
    ("000", ctx("csc")),
    ("987", ctx("cvv2")),
    ("456", ctx("security_code")),  # `securitycode` is a cvv synonym
    ("456", ctx("verification_code", siblings=("card_number",))),
    ("456", ctx("card.code")),
    ("4567", ctx("cid", siblings=("pan",))),
]

NEGATIVES = [
    ("123", ctx("")),  # three digits are anything
    ("123", ctx("quantity", siblings=("card_number",))),  # card object, not a code field
    ("12", ctx("cvv")),  # too short
    ("12345", ctx("cvv")),
    ("12a", ctx("cvv")),
    ("", ctx("cvv")),
    ("404", ctx("code")),  # a status code
    ("4567", ctx("cid")),  # `cid` without a card: client/correlation/content id
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_code_in_card_context_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context), kind=("CARD_CVV", Category.PCI))


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_near_miss_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_explicit_hint_beats_sibling_context() -> None:
    hinted = CLS.score("123", ctx("cvv"))
    sibling = CLS.score("123", ctx("verification_code", siblings=("card_number",)))
    assert hinted is not None and sibling is not None
    assert hinted.confidence > sibling.confidence


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value)
