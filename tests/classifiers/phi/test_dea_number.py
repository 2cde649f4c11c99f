"""DEA_NUMBER: registrant letter, name letter, six digits and a check digit (21 CFR 1301)."""

from __future__ import annotations

import pytest

from classifiers.base import Category, FieldContext
from classifiers.phi.dea_number import DeaNumberClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_reason_hides, assert_reported

CLS = DeaNumberClassifier()


# Synthetic registrations built with the check-digit rule.
POSITIVES = [
    ("AB1234563", ctx("dea")),
    ("BJ1234563", ctx("prescriber.dea_number")),
    ("FM7654329", ctx("")),
    ("fm7654329", ctx("dea")),
]

NEGATIVES = [
    ("AB1234567", ctx("dea")),  # check digit wrong
    ("ZB1234563", ctx("dea")),  # Z is no registrant type
    ("AB123456", ctx("dea")),  # too short
    ("A11234563", ctx("dea")),  # second character must be a letter here
    ("AB1234563X", ctx("dea")),
    ("AB-1234563", ctx("")),
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_valid_check_digit_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context), validated=True, kind=("DEA_NUMBER", Category.PHI))


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_bad_check_or_shape_not_reported(value: str, context: FieldContext) -> None:
    assert CLS.score(value, context) is None


def test_hint_raises_confidence() -> None:
    hinted = CLS.score("AB1234563", ctx("dea"))
    bare = CLS.score("AB1234563", ctx("sku"))
    assert hinted is not None and bare is not None
    assert hinted.confidence >= 0.95 > bare.confidence


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value, ignore_case=True)
