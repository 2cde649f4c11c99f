"""PASSPORT_NUMBER: passport hint plus 6-9 alphanumerics (ICAO 9303 document number)."""

from __future__ import annotations

import pytest

from classifiers.pii.passport_number import PassportNumberClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = PassportNumberClassifier()


POSITIVES = [
    ("X1234567", "passport_number", 0.7),
    ("C01X00T47", "passportNo", 0.7),
    ("123456789", "passport", 0.6),
    ("L8988901", "traveller.passport.number", 0.7),
    ("AB123456", "passport_id", 0.7),
]

NEGATIVES = [
    ("X1234567", "reference"),  # no hint: never
    ("X1234567", ""),
    ("DEU", "passport_country"),
    ("20300101", "passport_expiry"),
    ("2030-01-01", "passport_issue_date"),
    ("ABCDEFGH", "passport_number"),  # no digit
    ("00000000", "passport_number"),  # placeholder
    ("12345", "passport_number"),  # too short
    ("X123-4567-89", "passport_number"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_hinted_passport_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    assert_reason_hides(CLF.score(value, ctx(path)), value)
