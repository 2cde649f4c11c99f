"""DIAGNOSIS_CODE: ICD-10-CM codes checked against the real code list."""

from __future__ import annotations

import gzip
import random
import re

import pytest

from classifiers.base import Category, FieldContext
from classifiers.phi.diagnosis_code import _CODE_LIST, DiagnosisCodeClassifier, _code_list
from tests.builders.contexts import field_context as ctx
from tests.classifiers._support import assert_not_reported, assert_reason_hides, assert_reported

CLS = DiagnosisCodeClassifier()


HINTED = [
    ("E11.9", ctx("diagnosis_code")),
    ("E119", ctx("icd10")),
    ("J45.909", ctx("dx")),
    ("I10", ctx("diagnosis")),
    ("Z00.00", ctx("icd_code")),
    ("A01", ctx("diagnoses[].code")),  # path token hint
]

CONTEXT_ONLY = [
    ("E11.9", ctx("code", siblings=("patient_id",))),
    ("M54.5", ctx("code", api="POST /v1/encounters")),
]


@pytest.mark.parametrize(("value", "context"), HINTED)
def test_real_code_with_hint_high(value: str, context: FieldContext) -> None:
    found = CLS.score(value, context)
    assert_reported(found, 0.9, validated=True, kind=("DIAGNOSIS_CODE", Category.PHI))


@pytest.mark.parametrize(("value", "context"), CONTEXT_ONLY)
def test_real_code_in_clinical_message_reported(value: str, context: FieldContext) -> None:
    assert_reported(CLS.score(value, context))


@pytest.mark.parametrize("value", ["A01", "E11.9", "I10", "J45909"])
def test_real_code_without_context_low(value: str) -> None:
    assert_not_reported(CLS.score(value, ctx("code")))


@pytest.mark.parametrize(
    ("value", "context"),
    [
        ("B12.5", ctx("diagnosis_code")),  # SKU shaped like a code, not in the list
        ("B12.5", ctx("sku")),
        ("E11.99999", ctx("diagnosis_code")),  # too many characters after the dot
        ("A00-A09", ctx("diagnosis_code")),  # a block, not a code
        ("1", ctx("diagnosis_code")),  # a chapter number
        ("E1.19", ctx("diagnosis_code")),  # dot in the wrong place
        ("v1.2.3", ctx("diagnosis_code")),
        ("XYZ", ctx("diagnosis_code")),
    ],
)
def test_not_a_real_code_negative(value: str, context: FieldContext) -> None:
    assert CLS.score(value, context) is None


@pytest.mark.parametrize(("value", "context"), HINTED + CONTEXT_ONLY)
def test_reason_never_quotes_value(value: str, context: FieldContext) -> None:
    assert_reason_hides(CLS.score(value, context), value)


def test_code_list_holds_every_listed_code_and_nothing_else() -> None:
    # The list is read with one regex over the whole file: it must accept exactly the
    # lines that are codes (not the block ranges) and no other text of a code's shape.
    with gzip.open(_CODE_LIST, "rt", encoding="ascii") as handle:
        lines = [line.strip() for line in handle]
    codes = {line for line in lines if re.fullmatch("[0-9A-Z]{1,7}", line)}
    assert len(codes) > 90_000 and any("-" in line for line in lines)
    listed = _code_list()
    assert all(listed(code) for code in codes)
    rng = random.Random(3)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    others = {"".join(rng.choice(alphabet) for _ in range(rng.randint(1, 7)))
              for _ in range(50_000)} - codes
    others |= {code[:-1] for code in codes} - codes
    others |= {"0" + code for code in codes if len(code) < 7} - codes
    assert not any(listed(text) for text in others)
    assert not listed("e119") and not listed("A00-A09") and not listed("")
