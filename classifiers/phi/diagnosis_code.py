"""DIAGNOSIS_CODE: ICD-10-CM diagnosis codes (CDC/NCHS ICD-10-CM, the US clinical
modification of WHO ICD-10).

A code is a letter, two characters (digit, then digit or letter), and optionally a dot
and one to four more characters (`E11.9`, `J45.909`, `S72.001A`); systems often store it
without the dot (`E119`). Every candidate is checked against the real code list (the one
the `simple_icd_10_cm` package bundles, shipped in `data/`), so SKU-like values such as
`B12.5` that are not codes are negative.

Real codes collide with product and part codes (`A01`, `I10`, `K20`), so a code without
any clinical context stays under the reporting threshold; a field-name hint
(diagnosis, icd, dx) or a path token makes it near certain, and a clinical message
(patient siblings, an `/encounters` API) makes it likely.

Not covered: ICD-10-PCS procedure codes, WHO ICD-10 codes absent from ICD-10-CM, ICD-9
and ICD-11, SNOMED CT, and codes inside free text.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import ClassVar

from classifiers._sorted_lines import SortedLines
from classifiers.base import (
    DIGIT,
    LETTERS,
    Category,
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    ValueGate,
    names,
)
from classifiers.phi._clinical import CLINICAL_TOKENS, clinical_context

# ICD-10-CM code layout: category (letter, digit, digit-or-letter), then an optional
# dot and up to four characters. Blocks (`A00-A09`) and chapter numbers, which the code
# list also contains, are excluded by this shape.
_CODE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?")

_HINT_TOKENS = frozenset({"diagnosis", "diagnoses", "icd", "dx"})
_CODE_LIST = Path(__file__).with_name("data") / "icd10cm-codes.txt.gz"


# Longest code without its dot (`S72.001A`).
_CODE_PLACES = 7


def _code_number(code: str) -> int:
    """A dotless code as one number: its base-36 value behind a leading `1`, which keeps
    leading zeros apart (`A01` and `A1` differ); -1 for text that is not made of a
    code's characters (the list's block ranges such as `A00-A09` included)."""
    if not 0 < len(code) <= _CODE_PLACES or not (code.isascii() and code.isalnum()):
        return -1
    if code != code.upper():
        return -1  # codes are upper case; int() would read lower case too
    return int("1" + code, 36)


@lru_cache(maxsize=1)
def _code_list() -> Callable[[str], bool]:
    """Membership in the ICD-10-CM code list shipped in `data/icd10cm-codes.txt.gz`.

    The list is the plain-text code list of the `simple_icd_10_cm` package (one code per
    line, no dots, sorted), written by scripts/make_icd10_list.py: shipped as data, the
    package and its 10 MB XML tabular list stay out of the core install (issue #17). The
    ~98,000 codes are kept as the file's text (0.7 MB) with a sparse index of its lines
    (`classifiers/_sorted_lines.py`): loading is a decompression and a millisecond, paid
    at the first code of a scan (parsing every line into a sorted array of numbers cost ~35 ms), and
    a frozenset of the strings held 10 MB. A code is looked up only when it has a
    code's characters (`_code_number`), so the list's block ranges (`A00-A09`) answer
    nothing.
    """
    lines = SortedLines(gzip.decompress(_CODE_LIST.read_bytes()))

    def listed(code: str) -> bool:
        dotless = code.replace(".", "")
        return _code_number(dotless) >= 0 and dotless.encode("ascii") in lines

    return listed


def _listed(value: str) -> bool:
    return _CODE.fullmatch(value) is not None and _code_list()(value)


def _path_hint(ctx: FieldContext) -> bool:
    return not _HINT_TOKENS.isdisjoint(ctx.path_tokens)


def _ladder(bare: float) -> tuple[Rung, ...]:
    # Real code, no clinical context: product codes collide. Under REPORT_THRESHOLD.
    return (Rung(0.97, "field name hint", names(_HINT_TOKENS)),
            Rung(0.92, "path hint", _path_hint),
            Rung(0.75, "clinical context", clinical_context),
            Rung(bare, "no clinical context"))


class DiagnosisCodeClassifier(DeclarativeClassifier):
    data_type = "DIAGNOSIS_CODE"
    category = Category.PHI
    # Sibling tokens asked about: a clinical word beside the field.
    context_words = CLINICAL_TOKENS
    gate_reads_server = False
    hints = frozenset({"diagnosis", "icd"})
    min_len = 3
    max_len = 8  # 3 + dot + 4
    min_share = 0.6

    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"code": lambda n, classes: DIGIT in classes and not classes.isdisjoint(LETTERS)
         and classes <= LETTERS | {DIGIT, "."}}
    )
    shapes = (
        Shape("ICD-10-CM code list", lambda v: "." in v and _listed(v), validated=True,
              gate="code", ladder=_ladder(0.4)),
        Shape("ICD-10-CM code list", lambda v: "." not in v and _listed(v), validated=True,
              gate="code", ladder=_ladder(0.3)),
    )

    def prepare(self, value: str) -> str | None:
        # Not stripped: codes are written without padding.
        if not self.min_len <= len(value) <= self.max_len or not value[0].isalpha():
            return None
        return value.upper()
