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
    Classifier,
    FieldContext,
    Finding,
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


class PassportNumberClassifier(Classifier):
    data_type: ClassVar[str] = "PASSPORT_NUMBER"
    category: ClassVar[Category] = Category.PII
    hints: ClassVar[frozenset[str]] = frozenset({"passport", "reisepass", "pasaporte"})
    min_len: ClassVar[int] = 6
    # Nine characters and some separators a user may type.
    max_len: ClassVar[int] = 12
    # Hint-gated, no checksum: most values of the field must look right.
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"passport": lambda n, classes: DIGIT in classes and classes <= LETTERS | BLANK | {DIGIT}}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        return "passport" if self._hinted(ctx) else None

    def _hinted(self, ctx: FieldContext) -> bool:
        tokens = ctx.name_tokens
        # `traveller.passport.number`: the parent names the document.
        parent_hinted = not self.hints.isdisjoint(ctx.path_tokens) and not tokens.isdisjoint(
            {"number", "no", "num", "nr", "id"}
        )
        if self.hints.isdisjoint(tokens) and not parent_hinted:
            return False
        return tokens.isdisjoint(_NOT_NUMBER)

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not self._hinted(ctx):
            return None
        v = value.strip().upper()
        if not 6 <= len(v) <= 9 or _SHAPE.fullmatch(v) is None:
            return None
        if not any(ch.isdigit() for ch in v) or len(set(v)) == 1:
            return None
        # Digits only are common ids in any field: a little less sure than mixed.
        confidence = 0.7 if v.isdigit() else 0.78
        return self.finding(confidence, "passport number shape, field name hint")
