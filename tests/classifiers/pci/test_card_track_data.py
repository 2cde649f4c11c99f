"""CARD_TRACK_DATA: ISO/IEC 7813 track 1 and track 2, Luhn on the PAN."""

from __future__ import annotations

import pytest

from classifiers.base import Category, FieldContext
from classifiers.pci.card_track_data import CardTrackDataClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = CardTrackDataClassifier()


# Synthetic track data around a brand test PAN.
TRACK1 = "%B4111111111111111^DOE/JANE^2712101000000000000000000000000?"
TRACK2 = ";4111111111111111=27121010000000000000?"
TRACK2_BARE = "4111111111111111=27121010000000000000"

POSITIVES = [
    (TRACK1, ctx("")),
    (TRACK2, ctx("")),
    (TRACK1 + TRACK2, ctx("swipe")),
    ("B4111111111111111^DOE/JANE^27121010000?", ctx("track1")),
    (TRACK2_BARE, ctx("track2")),
    (TRACK2_BARE, ctx("")),
]

NEGATIVES = [
    ("%B4111111111111112^DOE/JANE^2712101000000?", ctx("")),  # Luhn fails
    (";4111111111111112=27121010000000000000?", ctx("")),
    ("%B1234^DOE/JANE^2712101?", ctx("")),  # PAN too short
    ("a=b&c=d", ctx("")),  # query string
    ("x^2 + y^2 = z^2", ctx("")),
    ("4111111111111111", ctx("track2")),  # just a PAN: CARD_NUMBER's business
    ("1234567890123456=abc", ctx("")),
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_track_with_valid_pan_reported(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert_reported(found, validated=True, kind=("CARD_TRACK_DATA", Category.PCI))


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_near_miss_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_track_inside_text_has_span() -> None:
    text = f"reader=7 raw={TRACK2} ok"
    found = CLS.score(text, ctx("log"))
    assert found is not None and found.span is not None
    assert text[found.span[0]:found.span[1]] == TRACK2


def test_sentinels_more_confident_than_bare() -> None:
    with_sentinels = CLS.score(TRACK2, ctx(""))
    bare = CLS.score(TRACK2_BARE, ctx(""))
    assert with_sentinels is not None and bare is not None
    assert with_sentinels.confidence > bare.confidence


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), "4111", "DOE")
