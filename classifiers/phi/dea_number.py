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
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    ValueGate,
    names,
    nearby,
)
from classifiers.phi._clinical import CLINICAL_TOKENS, clinical_context

_PRESCRIBER_TOKENS = frozenset({"prescriber", "physician", "practitioner", "doctor",
                                "provider", "pharmacy", "pharmacist"})


def _dea(value: str) -> bool:
    # `isalpha` accepts any script; DEA letters are ASCII.
    return (len(value) == 9 and value[2:].isdigit() and value[:2].isalpha()
            and value[:2].isascii() and dea_valid(value))


def _prescriber_or_clinical(ctx: FieldContext) -> bool:
    return nearby(_PRESCRIBER_TOKENS)(ctx) or clinical_context(ctx)


class DeaNumberClassifier(DeclarativeClassifier):
    data_type = "DEA_NUMBER"
    category = Category.PHI
    # Sibling tokens asked about: a prescriber or clinical word beside the field.
    context_words = _PRESCRIBER_TOKENS | CLINICAL_TOKENS
    gate_reads_server = False
    hints = frozenset({"dea"})
    min_len = 9
    max_len = 9
    min_share = 0.6

    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: DIGIT in classes and not classes.isdisjoint(LETTERS)
         and classes <= LETTERS | {DIGIT}}
    )
    shapes = (
        Shape("checksum valid", _dea, validated=True, ladder=(
            Rung(0.97, "field name hint", names(hints)),
            Rung(0.85, "clinical context", _prescriber_or_clinical),
            Rung(0.7),
        )),
    )

    def prepare(self, value: str) -> str | None:
        return value
