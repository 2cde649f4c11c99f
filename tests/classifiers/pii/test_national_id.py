"""NATIONAL_ID: UK NINO prefix rules; Spanish DNI/NIE letter; Italian codice fiscale
check character; Indian Aadhaar Verhoeff; Brazilian CPF check digits; Canadian SIN Luhn."""

from __future__ import annotations

import pytest

from classifiers.pii.national_id import NationalIdClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = NationalIdClassifier()


POSITIVES = [
    ("AB123456C", "nino", 0.95),
    ("AB 12 34 56 C", "national_insurance_number", 0.95),
    ("AB123456C", "ref", 0.7),  # prefix rules make the shape distinctive
    ("12345678Z", "dni", 0.95),
    ("12345678Z", "document", 0.8),
    ("X1234567L", "nie", 0.95),
    ("RSSMRA80A01H501U", "codice_fiscale", 0.95),
    ("RSSMRA80A01H501U", "", 0.8),
    ("111.444.777-35", "cpf", 0.95),
    ("111.444.777-35", "", 0.8),  # formatted CPF with valid check digits
    ("11144477735", "cpf", 0.95),
    ("130 692 544", "sin", 0.9),
    ("130692544", "social_insurance_number", 0.9),
    ("2345 6789 0124", "aadhaar", 0.95),
    ("234567890124", "aadhaar_number", 0.95),
]

NEGATIVES = [
    ("BG123456C", "nino"),  # administrative prefix never issued
    ("GB123456C", "nino"),
    ("DA123456C", "nino"),  # D is not a valid first letter
    ("AO123456C", "nino"),  # O is not a valid second letter
    ("AB123456E", "nino"),  # suffix must be A-D
    ("12345678A", "dni"),  # wrong control letter
    ("X1234567A", "nie"),
    ("RSSMRA80A01H501A", "codice_fiscale"),  # wrong check character
    ("111.444.777-34", "cpf"),  # wrong check digits
    ("111.111.111-11", "cpf"),  # repeated digit passes the checksum but is invalid
    ("11144477735", "phone"),  # bare digits: CPF only with hint
    ("130692544", "order"),  # SIN only with hint
    ("046 454 286", "sin"),  # first digit 0: never assigned (ESDC's fictitious example)
    ("130692545", "sin"),  # Luhn fails
    ("2345 6789 0125", "aadhaar"),  # Verhoeff fails
    ("234567890124", "id"),  # bare twelve digits: Aadhaar only with hint
    ("123e4567-e89b-12d3-a456-426614174000", "national_id"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_valid_id_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_bad_checksum_or_unhinted_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_reason_names_the_scheme() -> None:
    found = CLF.score("12345678Z", ctx("dni"))
    assert found is not None and "dni" in found.reason.lower()


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    digits = "".join(c for c in value if c.isdigit())
    assert_reason_hides(CLF.score(value, ctx(path)), value, digits)
