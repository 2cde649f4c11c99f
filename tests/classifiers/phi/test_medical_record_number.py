"""MEDICAL_RECORD_NUMBER: an alphanumeric id, only where the field says it is a patient's."""

from __future__ import annotations

import pytest

from classifiers.base import Category, FieldContext
from classifiers.phi.medical_record_number import MedicalRecordNumberClassifier
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = MedicalRecordNumberClassifier()


POSITIVES = [
    ("MRN00123456", ctx("mrn")),
    ("00123456", ctx("medical_record_number")),
    ("A1234567", ctx("patientId")),
    ("12-345-678", ctx("patient.mrn")),
    ("987654321", ctx("patient_chart_number")),
    ("AB12345", ctx("patient.id")),
]

NEGATIVES = [
    ("00123456", ctx("order_id")),  # no clinical hint
    ("00123456", ctx("")),  # bare value
    ("123456", ctx("record_id")),  # `record` alone is not a medical record
    ("true", ctx("mrn")),  # boolean
    ("ABCDEFGH", ctx("mrn")),  # no digits: a word, not an id
    ("12345", ctx("mrn")),  # too short
    ("1234567890123", ctx("mrn")),  # too long
    ("550e8400-e29b-41d4-a716-446655440000", ctx("patient_id")),  # UUID
    ("", ctx("mrn")),
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_clinical_hint_with_id_shape_reported(value: str, context: FieldContext) -> None:
    found = assert_reported(CLS.score(value, context))
    assert found.data_type == "MEDICAL_RECORD_NUMBER"
    assert found.category is Category.PHI


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_near_miss_not_reported(value: str, context: FieldContext) -> None:
    assert_not_reported(CLS.score(value, context))


def test_mrn_hint_more_confident_than_patient_path() -> None:
    strong = CLS.score("00123456", ctx("mrn"))
    weak = CLS.score("00123456", ctx("patient.id"))
    assert strong is not None and weak is not None
    assert strong.confidence > weak.confidence


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value)
