"""DEA_NUMBER: US Drug Enforcement Administration registration (21 CFR 1301).

Two letters (registrant type, then the first letter of the registrant's last name) and
seven digits, the last a check digit: (d1 + d3 + d5) + 2 * (d2 + d4 + d6), units digit.

The check passes for one random value in ten, and two letters plus seven digits is a
plausible product or licence code, so without a hint the finding is moderate and the
inventory needs most of a field's values to pass.

Not covered: the `9` in second position used by some business registrants, and
registrations inside free text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._checksums import dea_valid
from classifiers.base import (
    ANY,
    DIGIT,
    LETTERS,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)
from classifiers.phi._clinical import clinical_context

_PRESCRIBER_TOKENS = frozenset({"prescriber", "physician", "practitioner", "doctor",
                                "provider", "pharmacy", "pharmacist"})


class DeaNumberClassifier(Classifier):
    data_type = "DEA_NUMBER"
    category = Category.PHI
    hints = frozenset({"dea"})
    min_len = 9
    max_len = 9
    min_share = 0.6

    HINTED: ClassVar[float] = 0.97
    CONTEXT: ClassVar[float] = 0.85
    BARE: ClassVar[float] = 0.7
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: DIGIT in classes and not classes.isdisjoint(LETTERS)
         and classes <= LETTERS | {DIGIT}}
    )

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if len(value) != 9 or not value[2:].isdigit() or not value[:2].isalpha():
            return None
        # `isalpha` accepts any script; DEA letters are ASCII.
        if not value[:2].isascii() or not dea_valid(value):
            return None
        if self.hinted(ctx):
            return self.finding(self.HINTED, "checksum valid, field name hint", validated=True)
        if not _PRESCRIBER_TOKENS.isdisjoint(
            ctx.name_tokens | ctx.path_tokens | ctx.sibling_tokens
        ) or clinical_context(ctx):
            return self.finding(self.CONTEXT, "checksum valid, clinical context", validated=True)
        return self.finding(self.BARE, "checksum valid", validated=True)
