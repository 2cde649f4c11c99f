"""DRUG_CODE: FDA NDC in its 10-digit (4-4-2, 5-3-2, 5-4-1) and 11-digit (5-4-2) forms."""

from __future__ import annotations

import pytest

from classifiers.base import Category, FieldContext
from classifiers.phi.drug_code import DrugCodeClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = DrugCodeClassifier()


DASHED_HINTED = [
    ("1234-5678-90", ctx("ndc")),
    ("12345-678-90", ctx("ndc_code")),
    ("12345-6789-0", ctx("drug_code")),
    ("12345-6789-01", ctx("medication.ndc")),
]


@pytest.mark.parametrize(("value", "context"), DASHED_HINTED)
def test_dashed_with_hint_strong(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context), 0.9, kind=("DRUG_CODE", Category.PHI))


def test_dashed_in_clinical_message_reported() -> None:
    assert_reported(CLS.score("12345-6789-01", ctx("code", siblings=("prescription_id",))))


@pytest.mark.parametrize(("value", "path"), [("1234567890", "ndc"), ("12345678901", "drug_ndc")])
def test_bare_digits_with_ndc_hint_reported(value: str, path: str) -> None:
    assert_reported(CLS.score(value, ctx(path)))


@pytest.mark.parametrize(
    ("value", "context"),
    [
        ("1234567890", ctx("")),  # bare digits without hint
        ("12345678901", ctx("order_id")),
        ("1234567890", ctx("code", siblings=("patient_id",))),  # bare: needs ndc/drug hint
        ("12345-6789-01", ctx("")),  # dashed but no context at all
        ("123-4567-890", ctx("ndc")),  # 3-4-3 is no NDC layout
        ("1234-5678-901", ctx("ndc")),  # 4-4-3
        ("2024-01-15", ctx("ndc")),  # a date
        ("1234-5678-9A", ctx("ndc")),
    ],
)
def test_near_miss_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


@pytest.mark.parametrize(("value", "context"), DASHED_HINTED)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value)
