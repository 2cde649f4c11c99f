"""POSTAL_CODE: national formats, only in an address context (hint or parent path)."""

from __future__ import annotations

import pytest

from classifiers.pii.postal_code import PostalCodeClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = PostalCodeClassifier()


POSITIVES = [
    ("12345", "zip", 0.85),  # US ZIP
    ("12345-6789", "zipCode", 0.85),  # ZIP+4
    ("SW1A 1AA", "postcode", 0.85),  # UK
    ("EC1A1BB", "postal_code", 0.85),
    ("K1A 0B1", "postalCode", 0.85),  # CA
    ("10115", "plz", 0.85),  # DE
    ("75008", "cp", 0.85),  # FR
    ("1012 AB", "postcode", 0.85),  # NL
    ("100-0001", "zip", 0.85),  # JP
    ("100000", "postal_code", 0.85),  # CN
    ("01310-100", "cep_zip", 0.85),  # BR
    ("8001", "zip", 0.7),  # CH/AT/DK/AU four digits
    ("SW1A 1AA", "customer.address.code", 0.6),  # address path, distinctive format
    ("12345", "patient.address.zip", 0.85),
]

NEGATIVES = [
    ("12345", "quantity"),  # no address context: never
    ("12345", ""),
    ("SW1A 1AA", "ref"),
    ("00000", "zip"),  # placeholder
    ("ABCDE", "zip"),
    ("123", "zip"),
    ("12345", "address.house_number"),
    ("2024-01-15", "zip"),
    ("1234567890", "postal"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_postal_code_in_context_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    assert_reason_hides(CLF.score(value, ctx(path)), value)
