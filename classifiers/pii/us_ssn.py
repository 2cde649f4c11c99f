"""US_SSN: US social security numbers, by the SSA's structure rules.

Standard: SSA, "Social Security Number Randomization" (2011) and POMS RM 10201: area
(first three digits) never 000, 666 or 900-999 (900-999 are ITINs, not SSNs); group
(middle two) never 00; serial (last four) never 0000. Known advertised or published
fakes are invalid: 078-05-1120 (the Woolworth wallet card), 219-09-9999 (the 1940 Social
Security Board pamphlet), 123-45-6789 and numbers of one repeated digit (placeholders).
There is no check digit.

Evidence: the dashed form `AAA-GG-SSSS` is distinctive and counts without a hint, also
inside free text (with the span). Spaced `AAA GG SSSS` and nine bare digits are too
common as other numbers (ids, amounts, Canadian SINs, routing numbers): they count only
with a hint (`ssn`, `socialSecurityNumber`...).

Not covered: ITINs (900-999, a different type), SSNs with other separators.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    DIGIT,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)

# Dashed, not touching other digits, dashes or letters (`1234-56-7891`, `v234-56-7891`).
_DASHED = re.compile(r"(?<![\w-])(\d{3})-(\d{2})-(\d{4})(?![\w-])")
# Whole value only: spaced or bare.
_PLAIN = re.compile(r"(\d{3}) ?(\d{2}) ?(\d{4})")
_FAKES = frozenset({"078051120", "219099999", "123456789", "987654320"})
_MAX_CHARS = 4096  # free text is searched for the dashed form up to this length


def _valid(area: str, group: str, serial: str) -> bool:
    if area == "000" or area == "666" or area[0] == "9":
        return False
    if group == "00" or serial == "0000":
        return False
    digits = area + group + serial
    return digits not in _FAKES and len(set(digits)) > 1


class UsSsnClassifier(Classifier):
    data_type: ClassVar[str] = "US_SSN"
    category: ClassVar[Category] = Category.PII
    # Reads no sibling or object-key tokens.
    context_words: ClassVar[frozenset[str] | None] = frozenset()
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = frozenset({"ssn", "ssan", "social"})
    min_len: ClassVar[int] = 9
    max_len: ClassVar[int] = _MAX_CHARS
    # No checksum: random 9-digit numbers pass the range rules; most values must pass.
    min_share: ClassVar[float] = 0.6
    # Without a hint only the dashed form counts.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"hinted": lambda n, classes: DIGIT in classes,
         "dashed": lambda n, classes: DIGIT in classes and "-" in classes}
    )
    # The tail of the dashed form: a pattern that starts with a literal is the one `re`
    # finds fastest.
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"dashed": r"-[0-9]{2}-[0-9]{4}"}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        return "hinted" if self._hinted(ctx) else "dashed"

    def _hinted(self, ctx: FieldContext) -> bool:
        return self.hinted(ctx) and "insurance" not in ctx.name_tokens  # Canadian SIN

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not 9 <= len(value) <= _MAX_CHARS:
            return None
        hinted = self._hinted(ctx)
        if "-" in value:
            for m in _DASHED.finditer(value):
                if not _valid(m.group(1), m.group(2), m.group(3)):
                    continue
                whole = m.group(0) == value.strip()
                span = None if whole else m.span()
                if hinted:
                    return self.finding(
                        0.97, "pattern dashed SSN, SSA rules, field name hint", span
                    )
                return self.finding(0.75 if whole else 0.65, "pattern dashed SSN, SSA rules", span)
            return None
        if not hinted or len(value) > 16:
            return None
        plain = _PLAIN.fullmatch(value.strip())
        if plain is None or not _valid(plain.group(1), plain.group(2), plain.group(3)):
            return None
        return self.finding(0.9, "pattern nine digits, SSA rules, field name hint")
