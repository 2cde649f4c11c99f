"""HEALTH_PLAN_ID: Medicare MBI by its character rules; insurer member ids by hint."""

from __future__ import annotations

import pytest

from classifiers.base import Category, FieldContext
from classifiers.phi.health_plan_id import HealthPlanIdClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = HealthPlanIdClassifier()


# 1EG4-TE5-MK73 is the example MBI that CMS publishes in its format specification.
MBI_EXAMPLE = "1EG4TE5MK73"

POSITIVES = [
    (MBI_EXAMPLE, ctx("mbi")),
    ("1EG4-TE5-MK73", ctx("medicare_id")),
    (MBI_EXAMPLE, ctx("")),  # the MBI rules are specific enough without a hint
    ("9AA0AA0AA00", ctx("beneficiary.mbi")),
    ("XYZ123456789", ctx("insurance.member_id")),
    ("W123456789", ctx("subscriber_id")),
    ("H12345678-01", ctx("policy_number", siblings=("insurance_provider",))),
    ("ABC1234567", ctx("member_id", api="GET /v1/patients/{id}/coverage")),
]

NEGATIVES = [
    ("0EG4TE5MK73", ctx("")),  # position 1 must be 1-9
    ("1SG4TE5MK73", ctx("")),  # S is excluded at position 2
    ("1EG4TO5MK73", ctx("")),  # O is excluded at position 5
    ("1EG4TE5MK7A", ctx("")),  # position 11 must be numeric
    ("1EG4TE5MK73X", ctx("")),  # twelve characters
    ("1eg4te5mk73", ctx("")),  # lower case without a hint: not an MBI as issued
    ("XYZ123456789", ctx("member_id")),  # loyalty member id: no health context
    ("XYZ123456789", ctx("order_id")),
    ("POL-123456", ctx("policy_id")),  # IAM policy: no health context
    ("ABCDEFGHIJ", ctx("insurance.member_id")),  # no digits
    ("true", ctx("insurance.member_id")),
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_mbi_or_hinted_member_id_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context), kind=("HEALTH_PLAN_ID", Category.PHI))


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_broken_rule_or_no_context_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_mbi_with_hint_near_certain() -> None:
    assert_reported(CLS.score(MBI_EXAMPLE, ctx("mbi")), 0.95)


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value)
