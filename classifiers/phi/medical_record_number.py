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
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
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


def _strong(ctx: FieldContext) -> bool:
    """`mrn`, `medical_record_number`."""
    return "mrn" in ctx.name_tokens or {"medical", "record"} <= ctx.name_tokens


def _patient_id(ctx: FieldContext) -> bool:
    """`patient_id`, `chart_number`: `record` or `patient` alone are no hint."""
    names = ctx.name_tokens
    return not _PATIENT_TOKENS.isdisjoint(names) and not _ID_TOKENS.isdisjoint(names)


def _patient_path(ctx: FieldContext) -> bool:
    """`patient.id`: the id of a patient object."""
    names = ctx.name_tokens
    return bool(names) and names <= _ID_TOKENS | {"mrn"} and not _PATIENT_PARENTS.isdisjoint(
        ctx.path_tokens)


def _id_shape(value: str) -> bool:
    if _SHAPE.fullmatch(value) is None:
        return False
    alnum = sum(ch.isalnum() for ch in value)
    digits = sum(ch.isdigit() for ch in value)
    return _MIN_ALNUM <= alnum <= _MAX_ALNUM and digits >= _MIN_DIGITS


class MedicalRecordNumberClassifier(DeclarativeClassifier):
    data_type = "MEDICAL_RECORD_NUMBER"
    category = Category.PHI
    # Reads no sibling or object-key tokens.
    context_words = frozenset()
    gate_reads_server = False
    hints = frozenset({"mrn", "medical", "patient", "chart"})
    min_len = 6
    # 12 characters plus up to 3 separators.
    max_len = 15
    min_share = 0.5

    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"id": lambda n, classes: DIGIT in classes and classes <= LETTERS | BLANK | {DIGIT, "-"}}
    )
    rung_first = True
    shapes = (
        Shape("alphanumeric id shape", _id_shape, gate="id", ladder=(
            Rung(0.9, "field name hint: medical record number", _strong),
            Rung(0.75, "field name hint: patient id", _patient_id),
            Rung(0.6, "id field of a patient object", _patient_path),
        )),
    )

    def hinted(self, ctx: FieldContext) -> bool:
        return _strong(ctx) or _patient_id(ctx)

    def prepare(self, value: str) -> str | None:
        if not self.min_len <= len(value) <= self.max_len:
            return None
        return value.strip()
