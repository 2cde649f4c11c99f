"""IBAN: ISO 13616 shape, per-country length and the mod-97 check."""

from __future__ import annotations

import re

import pytest

from classifiers.pii.iban import IbanClassifier
from dpi.classify import ClassifierSet
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = IbanClassifier()


# The checksum-valid specimens published in the ISO 13616 / SWIFT registry (synthetic).
POSITIVES = [
    ("DE89370400440532013000", "iban", 0.97),
    ("DE89 3704 0044 0532 0130 00", "payee.iban", 0.97),
    ("GB82WEST12345698765432", "", 0.85),
    ("FR1420041010050500013M02606", "account", 0.85),
    ("NL91ABNA0417164300", "", 0.85),
    ("BE68539007547034", "", 0.85),
    ("gb82 west 1234 5698 7654 32", "iban", 0.9),  # lower case, as typed
    ("pay to DE89 3704 0044 0532 0130 00 please", "memo", 0.8),
]

NEGATIVES = [
    ("DE89370400440532013001", "iban"),  # mod-97 fails
    ("DE8937040044053201300", "iban"),  # wrong length for DE
    ("XX89370400440532013000", "iban"),  # unknown country
    ("GB82WEST1234569876543", "iban"),
    ("DE00370400440532013000", "iban"),
    ("123e4567-e89b-12d3-a456-426614174000", "iban"),
    ("ORDER2024011500001234", "order_id"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_valid_iban_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum, validated=True)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_bad_checksum_or_length_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_free_text_span_covers_iban() -> None:
    text = "pay to DE89 3704 0044 0532 0130 00 please"
    found = CLF.score(text, ctx("memo"))
    assert found is not None and found.span is not None
    assert text[found.span[0] : found.span[1]] == "DE89 3704 0044 0532 0130 00"


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    assert_reason_hides(CLF.score(value, ctx(path)), value, "0532")


def test_the_required_pattern_holds_the_shortest_iban_and_no_uuid() -> None:
    """`value_needs`: a Norwegian IBAN (15 characters, the shortest), spaced or not, holds
    the pattern the classifier set scans for; a UUID, an ISO timestamp and an HTTP date
    (digits and letters, so the value gate admits them) do not, and are never scored."""
    need = re.compile(CLF.value_needs["any"])
    for value in ("NO9386011117947", "no93 8601 1117 947", "to NO93 8601 1117 947."):
        assert need.search(value), value
        assert [f.data_type for f in ClassifierSet().score(value, ctx("iban"))] == ["IBAN"]
    for value in ("3f2b9c1e-ab12-4d5e-9f01-ab12cdef3456", "2026-03-04T12:34:56.789Z",
                  "Mon, 07 Dec 2026 12:34:56 GMT"):
        assert need.search(value) is None, value
