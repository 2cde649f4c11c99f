"""NPI: ten digits, Luhn over 80840 + NPI; a hint makes it near certain."""

from __future__ import annotations

import pytest

from classifiers.base import REPORT_THRESHOLD, Category, FieldContext
from classifiers.phi.npi import NpiClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = NpiClassifier()


# Synthetic, Luhn-valid with the 80840 prefix (1234567893 is CMS's own example).
VALID = "1234567893"
VALID_2 = "2000000002"


def test_hinted_valid_npi_near_certain() -> None:
    assert_reported(CLS.score(VALID, ctx("npi")), 0.95, validated=True, kind=("NPI", Category.PHI))


@pytest.mark.parametrize(
    "context",
    [ctx("prescriber_id"), ctx("provider.npi"), ctx("number", siblings=("prescriber",))],
)
def test_provider_context_reported(context: FieldContext) -> None:
    assert_reported(CLS.score(VALID_2, context), 0.8)


def test_no_hint_only_moderate() -> None:
    found = CLS.score(VALID, ctx(""))
    assert found is not None
    assert REPORT_THRESHOLD <= found.confidence < 0.8
    assert CLS.min_share >= 0.6


@pytest.mark.parametrize(
    ("value", "context"),
    [
        ("1234567890", ctx("npi")),  # check digit wrong
        ("3234567893", ctx("npi")),  # NPIs start with 1 or 2
        ("123456789", ctx("npi")),  # nine digits
        ("12345678931", ctx("npi")),
        ("1700000007", ctx("created_at")),  # epoch seconds that happen to pass Luhn
        ("1700000007", ctx("timestamp")),
        ("1234567893", ctx("order_id")),  # a Luhn-lucky order number
        ("12345-67893", ctx("npi")),
    ],
)
def test_near_miss_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_reason_never_quotes_value() -> None:
    for context in (ctx("npi"), ctx("")):
        assert_reason_hides(CLS.score(VALID, context), VALID)
