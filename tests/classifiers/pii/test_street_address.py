"""STREET_ADDRESS: hint plus house number and street words in several languages."""

from __future__ import annotations

import pytest

from classifiers.base import REPORT_THRESHOLD
from classifiers.pii.street_address import StreetAddressClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLF = StreetAddressClassifier()


POSITIVES = [
    ("742 Evergreen Terrace", "address", 0.85),
    ("12 Fake Street Apt 4B", "street", 0.85),
    ("1 Sample Ave", "shipping.address.line1", 0.85),
    ("Musterstraße 12a", "adresse", 0.85),
    ("Beispielstr. 5", "strasse", 0.6),
    ("12 rue de l'Exemple", "address", 0.85),
    ("Calle Ficticia 23, 2º", "direccion", 0.85),
    ("Via Inventata 7", "addr", 0.85),
    ("Voorbeeldstraat 101", "address_line_1", 0.85),
    ("Flat 3, Block B7", "address", 0.6),  # hint alone, letters and digits
    ("742 Evergreen Terrace", "location", 0.45),  # shape alone stays weak
]

NEGATIVES = [
    ("742 Evergreen Terrace", "description_x"),  # reported only weakly, see threshold
    ("10.0.0.5", "ip_address"),
    ("jane@mail-host.io", "email_address"),
    ("00:1a:2b:3c:4d:5e", "mac_address"),
    ("Springfield", "address"),  # no digits: a city, not a street address
    ("12345", "address"),  # no letters
    ("0x7ffdf2a0", "memory_address"),
    ("3 items in cart", "note"),
    ("Release 2 Way", "title"),
]


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_address_is_found(value: str, path: str, minimum: float) -> None:
    assert_reported(CLF.score(value, ctx(path)), minimum)


@pytest.mark.parametrize(("value", "path"), NEGATIVES)
def test_near_miss_is_not_reported(value: str, path: str) -> None:
    assert_not_reported(CLF.score(value, ctx(path)))


def test_shape_without_hint_stays_under_threshold() -> None:
    found = CLF.score("742 Evergreen Terrace", ctx("location"))
    assert found is not None and found.confidence < REPORT_THRESHOLD


@pytest.mark.parametrize(("value", "path", "minimum"), POSITIVES)
def test_reason_never_quotes_value(value: str, path: str, minimum: float) -> None:
    words = [word for word in value.split() if len(word) > 3]
    assert_reason_hides(CLF.score(value, ctx(path)), *words)
