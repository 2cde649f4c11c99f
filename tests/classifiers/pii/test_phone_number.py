"""PHONE_NUMBER: validated with phonenumbers (ITU E.164 numbering plans). Values are the
library's own example numbers or fictitious ranges, never real subscribers."""

from __future__ import annotations

import pytest

from classifiers.pii.phone_number import PhoneNumberClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = PhoneNumberClassifier()


POSITIVES = [
    ("+12015550123", "phone", 0.95),
    ("+12015550123", "contact", 0.8),  # E.164 with +: valid without a hint
    ("+44 7400 123456", "", 0.8),
    ("+49 1512 3456789", "msisdn", 0.95),
    ("+33 6 12 34 56 78", "tel", 0.95),
    ("+81 90-1234-5678", "", 0.8),
    ("+55 11 96123-4567", "", 0.8),
    ("0049 1512 3456789", "", 0.8),  # 00 international prefix
    # National forms need a hint (or a distinctive national format).
    ("(201) 555-0123", "mobile", 0.9),
    ("201-555-0123", "phoneNumber", 0.9),
    ("2015550123", "cell_phone", 0.9),
    ("07400 123456", "telephone", 0.9),
    ("06 12 34 56 78", "telefono", 0.9),
    ("090-1234-5678", "phone", 0.9),
    ("(201) 555-0123", "", 0.5),
]

NEGATIVES = [
    ("+1 555 012 3456", "phone"),  # phonenumbers rejects: 555 area code
    ("+1 123 456 7890", "phone"),  # invalid NANP area code
    ("+1 200 555 0100", "phone"),
    ("+999 1234567", "phone"),  # no such country code
    ("2015550123", "amount"),  # bare digits, no hint
    ("1700000000", "ts"),  # epoch seconds
    ("1700000000123", "created"),  # epoch milliseconds
    ("201-555-0123", "order_id"),  # dashed digits without hint stay quiet
    ("2024-01-15", "phone"),  # a date
    ("12:30:45", "phone"),
    ("1.2.3.4", "phone"),
    ("$1,234.56", "phone"),
    ("123e4567-e89b-12d3-a456-426614174000", "phone"),
    ("+1", "phone"),
    ("call me", "phone"),
    ("12345", "phone"),  # too short for any plan
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_valid_number_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum, validated=True)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_invalid_or_unhinted_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_hint_raises_confidence() -> None:
    plain = CLF.score("+12015550123", ctx("contact"))
    hinted = CLF.score("+12015550123", ctx("phone"))
    assert plain is not None and hinted is not None
    assert hinted.confidence > plain.confidence


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    digits = "".join(c for c in value if c.isdigit())
    assert_reason_hides(CLF.score(value, ctx(path)), value, digits[-6:])
