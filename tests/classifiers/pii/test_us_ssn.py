"""US_SSN: SSA structure rules (area, group, serial) and known advertised fakes."""

from __future__ import annotations

import pytest

from classifiers.pii.us_ssn import UsSsnClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = UsSsnClassifier()


POSITIVES = [
    ("234-56-7891", "ssn", 0.95),
    ("234-56-7891", "customer_ref", 0.7),  # dashed form is distinctive on its own
    ("234567891", "ssn", 0.8),  # bare nine digits need the hint
    ("234 56 7891", "socialSecurityNumber", 0.9),
    ("665-12-3456", "taxpayer.ssn", 0.95),
    ("my number is 234-56-7891 ok", "notes", 0.6),
]

NEGATIVES = [
    ("000-12-3456", "ssn"),  # area 000
    ("666-12-3456", "ssn"),  # area 666
    ("912-34-5678", "ssn"),  # area 900-999 (ITIN range)
    ("234-00-5678", "ssn"),  # group 00
    ("234-56-0000", "ssn"),  # serial 0000
    ("078-05-1120", "ssn"),  # the Woolworth wallet card
    ("219-09-9999", "ssn"),  # the Social Security Board pamphlet
    ("123-45-6789", "ssn"),  # the classic placeholder
    ("111-11-1111", "ssn"),  # one repeated digit
    ("234567891", "order_id"),  # bare digits without hint
    ("234567891", ""),
    ("2345-67-891", "ssn"),
    ("1234-56-7891", "ref"),  # longer digit run around the shape
    ("2024-01-15", "ssn"),
    ("v234-56-7891", "build"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_valid_ssn_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_invalid_or_fake_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_free_text_span_covers_number() -> None:
    text = "my number is 234-56-7891 ok"
    found = CLF.score(text, ctx("notes"))
    assert found is not None and found.span is not None
    assert text[found.span[0] : found.span[1]] == "234-56-7891"


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    assert_reason_hides(CLF.score(value, ctx(path)), value, "7891")
