"""PASSPORT_NUMBER: passport document numbers, from a passport hint plus the shape.

Standard: ICAO Doc 9303 part 4 (machine-readable passports): the document number is up
to 9 characters of `A-Z` and `0-9`. National series are 6-9 characters in practice (US 9
digits, or a letter and 8 digits; UK 9 digits; DE 9 characters of a restricted
alphabet; FR 2 digits, 2 letters, 5 digits...). The MRZ check digit covers the number
only inside the MRZ, which APIs rarely carry, so there is no checksum here.

Evidence: a passport hint on the field (`passportNumber`, `passport.no`) plus 6-9
alphanumerics with at least one digit. Never without the hint: 6-9 alphanumerics are
everywhere. Passport-related fields that are not the number (expiry, issue date,
country, type) are excluded by their name.

Not covered: MRZ lines (two 44-character lines; they contain the number and a name),
passport numbers inside free text.
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

_SHAPE = re.compile(r"[A-Z0-9]{6,9}")
# Leaf names that are about a passport but are not its number.
_NOT_NUMBER = frozenset(
    {
        "date",
        "expiry",
        "expires",
        "expiration",
        "issue",
        "issued",
        "issuing",
        "country",
        "type",
        "status",
        "place",
        "authority",
        "photo",
        "image",
        "url",
        "file",
        "valid",
        "nationality",
        "name",
        "scan",
        "verified",
        "check",
    }
)


_HINTS = frozenset({"passport", "reisepass", "pasaporte"})


def _passport_field(ctx: FieldContext) -> bool:
    tokens = ctx.name_tokens
    # `traveller.passport.number`: the parent names the document.
    parent_hinted = not _HINTS.isdisjoint(ctx.path_tokens) and not tokens.isdisjoint(
        {"number", "no", "num", "nr", "id"}
    )
    if _HINTS.isdisjoint(tokens) and not parent_hinted:
        return False
    return tokens.isdisjoint(_NOT_NUMBER)


def _number(value: str) -> bool:
    return (6 <= len(value) <= 9 and _SHAPE.fullmatch(value) is not None
            and any(ch.isdigit() for ch in value) and len(set(value)) > 1)


class PassportNumberClassifier(DeclarativeClassifier):
    data_type: ClassVar[str] = "PASSPORT_NUMBER"
    category: ClassVar[Category] = Category.PII
    # Reads no sibling or object-key tokens.
    context_words: ClassVar[frozenset[str] | None] = frozenset()
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = _HINTS
    min_len: ClassVar[int] = 6
    # Nine characters and some separators a user may type.
    max_len: ClassVar[int] = 12
    # Hint-gated, no checksum: most values of the field must look right.
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"passport": lambda n, classes: DIGIT in classes and classes <= LETTERS | BLANK | {DIGIT}}
    )
    # Digits only are common ids in any field: a little less sure than mixed.
    shapes = (
        Shape("passport number shape", lambda v: v.isdigit() and _number(v), gate="passport",
              ladder=(Rung(0.7, "field name hint", _passport_field),)),
        Shape("passport number shape", _number, gate="passport",
              ladder=(Rung(0.78, "field name hint", _passport_field),)),
    )

    def prepare(self, value: str) -> str | None:
        return value.strip().upper()
