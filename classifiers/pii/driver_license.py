"""DRIVER_LICENSE: driver's licence numbers, from a driver-licence hint plus the shape.

Standards: AAMVA DL/ID Card Design Standard (US/Canada: each jurisdiction has its own
format, 1-3 letters or none, then 4-14 digits, e.g. California a letter and 7 digits,
New York 9 digits, Florida a letter and 12 digits often written with dashes), the UK
DVLA driving licence number (16 characters: 5 of surname, 6 digits of birth date
encoding, 2 initials, 1 digit, 2 check letters), and EU directive 2006/126/EC (numbers are
national, free-form within the card's field 5).

Evidence: the field must name a driver's licence (`driverLicense`, `dl_number`,
`driving_licence`): `license` alone is usually a software licence (`license_key`,
`license: MIT`). Shape: 5-20 characters of letters, digits, spaces and dashes, at least 4
digits. The UK DVLA shape is the most specific and scores highest.

Not covered: per-state validation (the AAMVA formats are numerous and not checksummed),
licence numbers in free text or without a hint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    DIGIT,
    Category,
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    ValueGate,
)

# DVLA: surname (padded with 9s), decade digit, month (+5 for women), day, year digit,
# two initials (9 padded), an arbitrary digit, two check letters.
_DVLA = re.compile(r"[A-Z9]{5}\d[0156]\d[0-3]\d\d[A-Z9]{2}\d[A-Z0-9]{2}")
# AAMVA-style: up to 3 letters then digits, optionally grouped by dashes or spaces.
_AAMVA = re.compile(r"[A-Z]{0,3}[ -]?\d{3,14}(?:[ -]\d{1,6}){0,4}")
# Leaf names that are about a licence but are not its number.
_NOT_NUMBER = frozenset(
    {
        "class",
        "state",
        "country",
        "expiry",
        "expires",
        "expiration",
        "date",
        "issue",
        "issued",
        "type",
        "status",
        "category",
        "endorsements",
        "restrictions",
        "photo",
        "image",
        "url",
        "file",
        "points",
        "valid",
        "verified",
    }
)
_MAX_CHARS = 20  # Florida with dashes is 17, DVLA 16


_HINTS = frozenset({"driver", "drivers", "driving", "fuhrerschein", "führerschein", "permis"})


def _licence_field(ctx: FieldContext) -> bool:
    tokens = ctx.name_tokens
    if not tokens.isdisjoint(_NOT_NUMBER):
        return False
    licensed = "license" in ctx.path_tokens or "licence" in ctx.path_tokens
    if not _HINTS.isdisjoint(tokens):
        # `driver_license`, `driving_licence`; `driver.id` alone is not a licence.
        return licensed or "fuhrerschein" in tokens or "führerschein" in tokens
    # `driver.license.number`, `license_no` under a driver parent.
    return licensed and not _HINTS.isdisjoint(ctx.path_tokens)


class DriverLicenseClassifier(DeclarativeClassifier):
    data_type: ClassVar[str] = "DRIVER_LICENSE"
    category: ClassVar[Category] = Category.PII
    # Reads no sibling or object-key tokens.
    context_words: ClassVar[frozenset[str] | None] = frozenset()
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = _HINTS
    min_len: ClassVar[int] = 5
    max_len: ClassVar[int] = _MAX_CHARS
    # Hint-gated, no checksum: most values of the field must look right.
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"licence": lambda n, classes: DIGIT in classes}
    )
    # The UK DVLA shape is the most specific and scores highest.
    shapes = (
        Shape("UK DVLA licence shape", _DVLA.fullmatch, gate="licence",
              ladder=(Rung(0.85, "field name hint", _licence_field),)),
        Shape("licence number shape", _AAMVA.fullmatch, gate="licence",
              ladder=(Rung(0.75, "field name hint", _licence_field),)),
    )

    def prepare(self, value: str) -> str | None:
        v = value.strip().upper()
        if not 5 <= len(v) <= _MAX_CHARS or sum(ch.isdigit() for ch in v) < 4:
            return None
        if len(set(v.replace("-", "").replace(" ", ""))) == 1:
            return None  # `0000000`: a placeholder
        return v
