"""NPI: US National Provider Identifier (45 CFR 162.406; CMS "NPI check digit").

Ten digits, the first 1 or 2; the last is a Luhn check digit computed over the NPI
prefixed with 80840 (the ISO/IEC 7812 issuer prefix for US health applications).

Luhn passes for one random number in ten, and every 10-digit epoch second in this
century starts with 1: so without a field-name hint a valid NPI is only a moderate
finding, fields named like times are excluded, and the inventory needs most of a
field's values to pass (`min_share`).

Not covered: the 15-digit form with the 80840 prefix (card-issuer form) and NPIs inside
free text.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._checksums import npi_valid
from classifiers.base import (
    DIGIT,
    Category,
    DeclarativeClassifier,
    Rung,
    Shape,
    ValueGate,
    names,
    nearby,
)
from classifiers.phi._clinical import CLINICAL_TOKENS, clinical_context

_PROVIDER_TOKENS = frozenset({"provider", "prescriber", "physician", "practitioner",
                              "doctor", "referring", "rendering", "billing", "attending"})
# Names of time fields: their 10-digit epoch values pass Luhn one time in ten.
_TIME_TOKENS = frozenset({"at", "time", "timestamp", "ts", "date", "epoch", "created",
                          "updated", "expires", "expiry", "since", "until", "modified",
                          "iat", "nbf", "exp"})
_OTHER_ID_TOKENS = frozenset({"order", "invoice", "transaction", "account", "phone",
                              "customer", "user", "tracking", "sku"})


def _npi(value: str) -> bool:
    return len(value) == 10 and value[0] in "12" and value.isdigit() and npi_valid(value)


class NpiClassifier(DeclarativeClassifier):
    data_type = "NPI"
    category = Category.PHI
    # Sibling tokens asked about: a provider or clinical word beside the field.
    context_words = _PROVIDER_TOKENS | CLINICAL_TOKENS
    gate_reads_server = False
    hints = frozenset({"npi"})
    min_len = 10
    max_len = 10
    # Luhn-lucky numbers are 10% of any numeric field: most values must pass.
    min_share = 0.8

    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"npi": lambda n, classes: classes == {DIGIT}}
    )
    # Time and other-id fields without an NPI or provider hint: never reported.
    shapes = (
        Shape("checksum valid", _npi, validated=True, gate="npi", ladder=(
            Rung(0.97, "field name hint", names(hints)),
            Rung(0.9, "provider context", nearby(_PROVIDER_TOKENS)),
            Rung(None, when=names(_TIME_TOKENS | _OTHER_ID_TOKENS)),
            Rung(0.9, "clinical context", clinical_context),
            Rung(0.55),
        )),
    )

    def prepare(self, value: str) -> str | None:
        return value  # ten digits exactly: no padding is stripped
