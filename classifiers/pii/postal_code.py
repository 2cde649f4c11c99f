"""POSTAL_CODE: ZIP or postal codes, only in an address context.

Formats (UPU postcode formats as published by each postal operator):
US ZIP and ZIP+4 (USPS Pub 28), UK (Royal Mail PAF: `SW1A 1AA`), Canada (Canada Post:
`K1A 0B1`, letters D F I O Q U never used), Germany and France (5 digits, shared with
the US ZIP), Netherlands (`1234 AB`), Japan (`100-0001`), China/India/Russia (6 digits),
Brazil CEP (`01310-100`), Poland (`00-950`), Sweden/Greece/Czechia/Slovakia (`114 55`),
Ireland's Eircode (`D02 X285`), Ghana's GhanaPost GPS code (`GA-543-0125`), Kazakhstan
(6 digits, a leading zero allowed), and the 4-digit codes of Austria, Belgium,
Denmark, Switzerland, Norway, Australia and others.

A postal code is a short number or code: on its own it is an id, a quantity, a year. So
a value counts only in an address context:
- the field name hints postal/zip/postcode/plz (`_hints` maps those to `postal`): strong;
- or the path has `address` and the leaf is a code-like name: distinctive formats (UK,
  CA, NL, JP, ZIP+4, BR) medium, digits-only formats weak-but-reported.
Never without context.

Not covered: validating that a code exists (no postal database here), countries whose
codes contain free text, the rest of the address (STREET_ADDRESS).
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
    names,
)

# Distinctive formats: letters and digits in a fixed layout, or separators that other
# numbers rarely use. Matched on the upper-cased, stripped value.
_DISTINCTIVE: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("UK postcode", re.compile(r"[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2}")),
    (
        "CA postal code",
        re.compile(r"[ABCEGHJ-NPRSTVXY]\d[ABCEGHJ-NPRSTV-Z] ?\d[ABCEGHJ-NPRSTV-Z]\d"),
    ),
    ("NL postcode", re.compile(r"[1-9]\d{3} ?(?!SA|SD|SS)[A-Z]{2}")),
    ("US ZIP+4", re.compile(r"\d{5}-\d{4}")),
    ("JP postal code", re.compile(r"〒?\d{3}-\d{4}")),
    ("BR CEP", re.compile(r"\d{5}-\d{3}")),
    ("PL postal code", re.compile(r"\d{2}-\d{3}")),
    # Sweden, Greece, Czechia, Slovakia: `NNN NN` (the space is part of the format).
    ("SE/GR/CZ/SK postal code", re.compile(r"[1-9]\d{2} \d{2}")),
    # Ireland's Eircode: routing key (a letter, two digits, or `D6W`) and a unique
    # identifier of four characters from a reduced alphabet.
    ("IE Eircode", re.compile(r"[AC-FHKNPRTV-Y]\d[\dW] ?[0-9AC-FHKNPRTV-Y]{4}")),
    # Ghana Post GPS digital address: region and district letters, then two numbers.
    ("GH GhanaPost GPS code", re.compile(r"[A-Z]{2}-?\d{3,4}-?\d{4}")),
)
# Digit-only formats, ambiguous with any short number: context decides.
_DIGITS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("5-digit postal code (US ZIP, DE, FR, ES, IT)", re.compile(r"\d{5}")),
    # Kazakhstan's codes start with a zero (`050000`, Almaty).
    ("6-digit postal code (CN, IN, RU, KZ)", re.compile(r"\d{3} ?\d{3}")),
    ("4-digit postal code (AT, AU, BE, CH, DK, NO)", re.compile(r"[1-9]\d{3}")),
)
# Leaves under an `address` parent that are something other than the code.
_NOT_CODE = frozenset(
    {
        "number",
        "house",
        "street",
        "line",
        "city",
        "country",
        "phone",
        "id",
        "unit",
        "flat",
        "apartment",
        "floor",
        "building",
        "state",
        "province",
        "lat",
        "lon",
        "lng",
        "latitude",
        "longitude",
        "suite",
        "type",
        "region",
        "county",
    }
)
_CODE_LEAVES = frozenset({"code", "postal"})
_MAX_CHARS = 12  # `SW1A 1AA`, `12345-6789`, `〒100-0001`, `GA-5430-0125`


_HINTS = frozenset({"postal", "pincode", "cep", "postalcode"})


def _in_address(ctx: FieldContext) -> bool:
    return (
        "address" in ctx.path_tokens
        and ctx.name_tokens.isdisjoint(_NOT_CODE)
        and not ctx.name_tokens.isdisjoint(_CODE_LEAVES)
    )


_hinted = names(_HINTS)


def _ladder(hinted: float, in_address: float) -> tuple[Rung, ...]:
    return (Rung(hinted, "field name hint", _hinted),
            Rung(in_address, "address context in path", _in_address))


class PostalCodeClassifier(DeclarativeClassifier):
    data_type: ClassVar[str] = "POSTAL_CODE"
    category: ClassVar[Category] = Category.PII
    # Reads no sibling or object-key tokens.
    context_words: ClassVar[frozenset[str] | None] = frozenset()
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = _HINTS
    min_len: ClassVar[int] = 4
    max_len: ClassVar[int] = _MAX_CHARS
    # Context-gated already; most values of a zip field are zips.
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"postal": lambda n, classes: DIGIT in classes}
    )
    # Distinctive formats first; four digits are also years and PINs: a little less sure.
    shapes = (
        *(Shape(f"pattern {name}", regex.fullmatch, gate="postal", ladder=_ladder(0.95, 0.75))
          for name, regex in _DISTINCTIVE),
        *(Shape(f"pattern {name}", regex.fullmatch, gate="postal",
                ladder=_ladder(0.75 if name.startswith("4-digit") else 0.9, 0.55))
          for name, regex in _DIGITS),
    )

    def prepare(self, value: str) -> str | None:
        code = value.strip().upper()
        if not 4 <= len(code) <= _MAX_CHARS or not any(ch.isdigit() for ch in code):
            return None
        if code.strip("0- ") == "":
            return None  # `00000`: a placeholder
        return code
