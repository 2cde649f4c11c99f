"""CARD_CVV: 3-4 digits, only with a cvv/cvc/csc hint or in a card object."""

from __future__ import annotations

import pytest

from classifiers._hints import name_tokens, path_tokens
from classifiers.base import REPORT_THRESHOLD, Category, FieldContext
from classifiers.pci.card_cvv import CardCvvClassifier

CLS = CardCvvClassifier()


def ctx(path: str = "", siblings: tuple[str, ...] = ()) -> FieldContext:
    last = path.rsplit(".", 1)[-1].replace("[]", "")
    sib: frozenset[str] = frozenset().union(*(name_tokens(s) for s in siblings))
    return FieldContext(
        path=path, name_tokens=name_tokens(last), path_tokens=path_tokens(path),
        sibling_tokens=sib,
    )


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
    found = CLS.score(value, context)
    assert found is not None and found.confidence >= REPORT_THRESHOLD
    assert (found.data_type, found.category) == ("CARD_CVV", Category.PCI)


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_near_miss_not_reported(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert found is None or found.confidence < REPORT_THRESHOLD


def test_explicit_hint_beats_sibling_context() -> None:
    hinted = CLS.score("123", ctx("cvv"))
    sibling = CLS.score("123", ctx("verification_code", siblings=("card_number",)))
    assert hinted is not None and sibling is not None
    assert hinted.confidence > sibling.confidence


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert found is not None and value not in found.reason
