"""HEALTH_CONDITION: free-text diagnoses, conditions and prescriptions, only in context."""

from __future__ import annotations

import pytest

from classifiers._hints import name_tokens, path_tokens
from classifiers.base import REPORT_THRESHOLD, Category, FieldContext
from classifiers.phi.health_condition import HealthConditionClassifier

CLS = HealthConditionClassifier()


def ctx(path: str = "", siblings: tuple[str, ...] = (), api: str = "") -> FieldContext:
    last = path.rsplit(".", 1)[-1].replace("[]", "")
    sib: frozenset[str] = frozenset().union(*(name_tokens(s) for s in siblings))
    return FieldContext(
        path=path, api=api, name_tokens=name_tokens(last), path_tokens=path_tokens(path),
        sibling_tokens=sib,
    )


POSITIVES = [
    ("Type 2 diabetes mellitus", ctx("diagnosis")),
    ("chest pain and shortness of breath", ctx("symptoms")),
    ("Metformin 500 mg twice daily", ctx("prescription")),
    ("penicillin", ctx("allergies[]")),
    ("Hypertension", ctx("condition", siblings=("patient_id",))),
    ("Asthma", ctx("condition")),  # a lexicon word in a `condition` field
    ("Patient reports depression since March", ctx("note", siblings=("mrn",))),
    ("HIV positive", ctx("notes", api="POST /v1/patients/{id}/notes")),
    ("insulin glargine", ctx("medication_name")),
]

NEGATIVES = [
    ("Type 2 diabetes mellitus", ctx("description")),  # prose without context
    ("Great for asthma sufferers", ctx("product.description")),
    ("new", ctx("condition")),  # product condition
    ("Used - like new", ctx("item.condition")),
    ("Ready", ctx("status.conditions[].type")),  # Kubernetes-style status condition
    ("none", ctx("allergies")),
    ("true", ctx("diagnosis")),
    ("12345", ctx("diagnosis")),  # a number is a code, not text
    ("E11.9", ctx("diagnosis")),  # a code is DIAGNOSIS_CODE's business
    ("", ctx("diagnosis")),
    ("Meeting notes from Tuesday", ctx("notes", siblings=("mrn",))),  # no lexicon term
]


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_clinical_text_in_context_reported(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert found is not None and found.confidence >= REPORT_THRESHOLD
    assert (found.data_type, found.category) == ("HEALTH_CONDITION", Category.PHI)


@pytest.mark.parametrize(("value", "context"), NEGATIVES)
def test_without_context_or_text_not_reported(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert found is None or found.confidence < REPORT_THRESHOLD


def test_lexicon_hit_in_prose_has_span() -> None:
    value = "Patient reports depression since March"
    found = CLS.score(value, ctx("note", siblings=("mrn",)))
    assert found is not None and found.span is not None
    start, end = found.span
    assert value[start:end].lower() == "depression"


@pytest.mark.parametrize(("value", "context"), POSITIVES)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert found is not None
    assert value.lower() not in found.reason.lower()
    for word in ("diabetes", "asthma", "depression", "metformin", "hiv", "penicillin"):
        assert word not in found.reason.lower()
