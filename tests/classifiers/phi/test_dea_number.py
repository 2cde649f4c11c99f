"""DEA_NUMBER: registrant letter, name letter, six digits and a check digit (21 CFR 1301)."""

from __future__ import annotations

import pytest

from classifiers._hints import name_tokens, path_tokens
from classifiers.base import REPORT_THRESHOLD, Category, FieldContext
from classifiers.phi.dea_number import DeaNumberClassifier

CLS = DeaNumberClassifier()


def ctx(path: str = "", siblings: tuple[str, ...] = ()) -> FieldContext:
    last = path.rsplit(".", 1)[-1].replace("[]", "")
    sib: frozenset[str] = frozenset().union(*(name_tokens(s) for s in siblings))
    return FieldContext(
        path=path, name_tokens=name_tokens(last), path_tokens=path_tokens(path),
        sibling_tokens=sib,
    )


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
    found = CLS.score(value, context)
    assert found is not None and found.validated
    assert found.confidence >= REPORT_THRESHOLD
    assert (found.data_type, found.category) == ("DEA_NUMBER", Category.PHI)


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
    found = CLS.score(value, context)
    assert found is not None and value.upper() not in found.reason.upper()
