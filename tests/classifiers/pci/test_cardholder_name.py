"""CARDHOLDER_NAME: a name-shaped value where the field is the name on a card."""

from __future__ import annotations

import pytest

from classifiers._hints import name_tokens, path_tokens
from classifiers.base import REPORT_THRESHOLD, Category, FieldContext
from classifiers.pci.cardholder_name import CardholderNameClassifier

CLS = CardholderNameClassifier()


def ctx(path: str = "", siblings: tuple[str, ...] = ()) -> FieldContext:
    last = path.rsplit(".", 1)[-1].replace("[]", "")
    sib: frozenset[str] = frozenset().union(*(name_tokens(s) for s in siblings))
    return FieldContext(
        path=path, name_tokens=name_tokens(last), path_tokens=path_tokens(path),
        sibling_tokens=sib,
    )


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
    found = CLS.score(value, context)
    assert found is not None and found.confidence >= REPORT_THRESHOLD
    assert (found.data_type, found.category) == ("CARDHOLDER_NAME", Category.PCI)


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_not_a_card_name_not_reported(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert found is None or found.confidence < REPORT_THRESHOLD


def test_explicit_hint_beats_card_path() -> None:
    hinted = CLS.score("Jane Doe", ctx("cardholder_name"))
    path = CLS.score("Jane Doe", ctx("card.name"))
    assert hinted is not None and path is not None
    assert hinted.confidence > path.confidence


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert found is not None
    assert value not in found.reason and value.split()[0] not in found.reason
