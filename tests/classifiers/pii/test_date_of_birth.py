"""DATE_OF_BIRTH: birth hint plus a plausible past date (age 0-120 at a fixed reference)."""

from __future__ import annotations

import pytest

from classifiers.pii.date_of_birth import DateOfBirthClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = DateOfBirthClassifier()


POSITIVES = [
    ("1985-04-12", "dob", 0.85),
    ("1985-04-12T00:00:00Z", "birthDate", 0.85),
    ("1985/04/12", "date_of_birth", 0.85),
    ("19850412", "geburtsdatum", 0.8),
    ("04/12/1985", "birthday", 0.85),  # US
    ("25/12/1985", "dob", 0.85),  # EU with slashes (day > 12)
    ("12.04.1985", "geburtsdatum", 0.85),  # DE
    ("12-04-1985", "fecha_nacimiento", 0.85),
    ("12 April 1985", "dob", 0.85),
    ("Apr 12, 1985", "dob", 0.85),
    ("2019-02-28", "child.birth_date", 0.85),
    ("1910-01-01", "dob", 0.85),
]

NEGATIVES = [
    ("1985-04-12", "created_at"),  # no birth hint: never
    ("1985-04-12", ""),
    ("2099-01-01", "dob"),  # in the future
    ("1850-01-01", "dob"),  # older than 120 years
    ("1985-02-30", "dob"),  # no such day
    ("13/13/1985", "dob"),
    ("1700000000", "dob"),  # epoch seconds are not supported as dates of birth
    ("yesterday", "dob"),
    ("1985", "birth_year"),  # a year alone is not a date
    ("12345678", "dob"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_hinted_date_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_same_value_twice_gives_same_answer() -> None:
    # No clock: the reference date is fixed, so results never drift.
    a = CLF.score("2019-02-28", ctx("dob"))
    b = CLF.score("2019-02-28", ctx("dob"))
    assert a == b


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    assert_reason_hides(CLF.score(value, ctx(path)), value, "1985")
