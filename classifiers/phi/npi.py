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
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)
from classifiers.phi._clinical import clinical_context

_PROVIDER_TOKENS = frozenset({"provider", "prescriber", "physician", "practitioner",
                              "doctor", "referring", "rendering", "billing", "attending"})
# Names of time fields: their 10-digit epoch values pass Luhn one time in ten.
_TIME_TOKENS = frozenset({"at", "time", "timestamp", "ts", "date", "epoch", "created",
                          "updated", "expires", "expiry", "since", "until", "modified",
                          "iat", "nbf", "exp"})
_OTHER_ID_TOKENS = frozenset({"order", "invoice", "transaction", "account", "phone",
                              "customer", "user", "tracking", "sku"})


class NpiClassifier(Classifier):
    data_type = "NPI"
    category = Category.PHI
    hints = frozenset({"npi"})
    min_len = 10
    max_len = 10
    # Luhn-lucky numbers are 10% of any numeric field: most values must pass.
    min_share = 0.8

    HINTED: ClassVar[float] = 0.97
    PROVIDER: ClassVar[float] = 0.9
    BARE: ClassVar[float] = 0.55
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"npi": lambda n, classes: classes == {DIGIT}}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        # Time and other-id fields without an NPI or provider hint: never reported.
        names = ctx.name_tokens
        if "npi" in names or not _PROVIDER_TOKENS.isdisjoint(
            names | ctx.path_tokens | ctx.sibling_tokens
        ):
            return "npi"
        if not _TIME_TOKENS.isdisjoint(names) or not _OTHER_ID_TOKENS.isdisjoint(names):
            return None
        return "npi"

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if len(value) != 10 or value[0] not in "12" or not value.isdigit():
            return None
        if not npi_valid(value):
            return None
        names = ctx.name_tokens
        if "npi" in names:
            return self.finding(self.HINTED, "checksum valid, field name hint", validated=True)
        if not _PROVIDER_TOKENS.isdisjoint(names | ctx.path_tokens | ctx.sibling_tokens):
            return self.finding(self.PROVIDER, "checksum valid, provider context", validated=True)
        if not _TIME_TOKENS.isdisjoint(names) or not _OTHER_ID_TOKENS.isdisjoint(names):
            return None
        if clinical_context(ctx):
            return self.finding(self.PROVIDER, "checksum valid, clinical context", validated=True)
        return self.finding(self.BARE, "checksum valid", validated=True)
