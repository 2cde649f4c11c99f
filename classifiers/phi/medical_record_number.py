"""MEDICAL_RECORD_NUMBER: a patient's record number in a clinical system.

There is no MRN standard: every EHR (Epic, Cerner, MEDITECH...) issues its own
alphanumeric ids, usually 6-12 characters, sometimes grouped with dashes. The shape alone
is that of any order or customer id, so this classifier reports only when the field name
says MRN, medical record, or a patient's/chart's id (HIPAA 45 CFR 164.514(b)(2)(i)(H)
lists medical record numbers among the identifiers).

Not covered: MRNs in free text, MRNs in fields named only `id` outside a patient object,
and HL7 v2 PID-3 segments (the HL7 dissector is not part of this project).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    BLANK,
    DIGIT,
    LETTERS,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)

# Letters and digits, 6-12 of them, optionally grouped by dashes or one space
# (`12-345-678`); a leading letter prefix (`MRN00123456`) is common.
_SHAPE = re.compile(r"[A-Za-z0-9]+(?:[- ][A-Za-z0-9]+){0,3}")
_MIN_ALNUM = 6
_MAX_ALNUM = 12
# An id has digits; at least four keep words (`ABCDEFGH`) and enums out.
_MIN_DIGITS = 4

_ID_TOKENS = frozenset({"id", "number", "no", "num", "nr", "identifier"})
_PATIENT_TOKENS = frozenset({"patient", "chart"})
# Parents of an `id` leaf: a patient object or a collection of them (`patients[].id`).
_PATIENT_PARENTS = _PATIENT_TOKENS | {"patients", "charts"}


class MedicalRecordNumberClassifier(Classifier):
    data_type = "MEDICAL_RECORD_NUMBER"
    category = Category.PHI
    hints = frozenset({"mrn", "medical", "patient", "chart"})
    min_len = 6
    # 12 characters plus up to 3 separators.
    max_len = 15
    min_share = 0.5

    STRONG: ClassVar[float] = 0.9  # `mrn`, `medical_record_number`
    PATIENT_ID: ClassVar[float] = 0.75  # `patient_id`, `chart_number`
    PATIENT_PATH: ClassVar[float] = 0.6  # `patient.id`: the id of a patient object
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"id": lambda n, classes: DIGIT in classes and classes <= LETTERS | BLANK | {DIGIT, "-"}}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        return "id" if self._field(ctx) is not None else None

    def _field(self, ctx: FieldContext) -> tuple[float, str] | None:
        """The confidence and reason the field gives an id-shaped value, if any."""
        names = ctx.name_tokens
        if "mrn" in names or {"medical", "record"} <= names:
            return self.STRONG, "field name hint: medical record number"
        if self.hinted(ctx):
            return self.PATIENT_ID, "field name hint: patient id"
        if (
            names <= _ID_TOKENS | {"mrn"}
            and names
            and not _PATIENT_PARENTS.isdisjoint(ctx.path_tokens)
        ):
            return self.PATIENT_PATH, "id field of a patient object"
        return None

    def hinted(self, ctx: FieldContext) -> bool:
        # `record` or `patient` alone are no hint: `record_id`, `patient_name`.
        names = ctx.name_tokens
        return (
            "mrn" in names
            or {"medical", "record"} <= names
            or (not _PATIENT_TOKENS.isdisjoint(names) and not _ID_TOKENS.isdisjoint(names))
        )

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not self.min_len <= len(value) <= self.max_len:
            return None
        field = self._field(ctx)
        if field is None:
            return None
        confidence, reason = field
        value = value.strip()
        if _SHAPE.fullmatch(value) is None:
            return None
        alnum = sum(ch.isalnum() for ch in value)
        digits = sum(ch.isdigit() for ch in value)
        if not _MIN_ALNUM <= alnum <= _MAX_ALNUM or digits < _MIN_DIGITS:
            return None
        return self.finding(confidence, f"{reason}, alphanumeric id shape")
