"""IBAN: international bank account numbers, checksum-valid.

Standard: ISO 13616-1:2020 (structure: 2-letter country code, 2 check digits, a
country-specific BBAN of up to 30 alphanumerics; printed in groups of four) and the
ISO 7064 MOD 97-10 check (`_checksums.iban_valid`). The per-country lengths come from
the SWIFT IBAN Registry (release 2024); a country not in the table is not an IBAN.

Whole values and free text (`pay to DE89 3704 ...`) are searched; in text the span marks
the IBAN. Lower-case input is accepted (typed by users); the check digits `00`, `01` and
`99` are never issued.

Not covered: the BBAN's national check digits and bank-code validation; IBAN-like
national formats of countries outside the registry.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._checksums import iban_valid
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

# SWIFT IBAN Registry: country -> IBAN length.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24,
    "AE": 23,
    "AL": 28,
    "AT": 20,
    "AZ": 28,
    "BA": 20,
    "BE": 16,
    "BG": 22,
    "BH": 22,
    "BI": 27,
    "BR": 29,
    "BY": 28,
    "CH": 21,
    "CR": 22,
    "CY": 28,
    "CZ": 24,
    "DE": 22,
    "DJ": 27,
    "DK": 18,
    "DO": 28,
    "EE": 20,
    "EG": 29,
    "ES": 24,
    "FI": 18,
    "FK": 18,
    "FO": 18,
    "FR": 27,
    "GB": 22,
    "GE": 22,
    "GI": 23,
    "GL": 18,
    "GR": 27,
    "GT": 28,
    "HR": 21,
    "HU": 28,
    "IE": 22,
    "IL": 23,
    "IQ": 23,
    "IS": 26,
    "IT": 27,
    "JO": 30,
    "KW": 30,
    "KZ": 20,
    "LB": 28,
    "LC": 32,
    "LI": 21,
    "LT": 20,
    "LU": 20,
    "LV": 21,
    "LY": 25,
    "MC": 27,
    "MD": 24,
    "ME": 22,
    "MK": 19,
    "MN": 20,
    "MR": 27,
    "MT": 31,
    "MU": 30,
    "NI": 28,
    "NL": 18,
    "NO": 15,
    "OM": 23,
    "PK": 24,
    "PL": 28,
    "PS": 29,
    "PT": 25,
    "QA": 29,
    "RO": 24,
    "RS": 22,
    "RU": 33,
    "SA": 24,
    "SC": 31,
    "SD": 18,
    "SE": 24,
    "SI": 19,
    "SK": 24,
    "SM": 27,
    "SO": 23,
    "ST": 25,
    "SV": 28,
    "TL": 23,
    "TN": 24,
    "TR": 26,
    "UA": 29,
    "VA": 22,
    "VG": 24,
    "XK": 20,
    "YE": 30,
}
# Country, check digits, then the BBAN in groups of up to four, optionally separated by
# single spaces; not touching other letters or digits. 34 characters at most (ISO 13616).
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,3})?"
    r"(?![A-Za-z0-9])"
)
_MAX_CANDIDATES = 8  # bounded work per value
_MAX_CHARS = 8192  # free text is searched up to this length


class IbanClassifier(Classifier):
    data_type: ClassVar[str] = "IBAN"
    category: ClassVar[Category] = Category.PII
    # Reads no sibling or object-key tokens.
    context_words: ClassVar[frozenset[str] | None] = frozenset()
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = frozenset({"iban", "bank", "account", "payee", "sepa"})
    min_len: ClassVar[int] = 15  # Norway, the shortest
    max_len: ClassVar[int] = _MAX_CHARS
    # Mod 97 passes for 1 in 97 random strings of the right shape: country length and
    # shape already make that rare, so a few hits in a free-text field are enough.
    min_share: ClassVar[float] = 0.1
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: DIGIT in classes and not classes.isdisjoint(LETTERS)}
    )
    # A reportable match of `_IBAN` is two letters, two digits and at least 11 more
    # letters or digits (15 in all, the shortest country length), single spaces between
    # groups: values without such a run (ISO timestamps, HTTP dates, UUIDs, whose longest
    # run is 12: most of those the gate admits) are turned away by the classifier set's
    # one scan, cheaper than a call of `score`. The match also starts the value or
    # follows a character that is no ASCII letter or digit (`_IBAN`'s lookbehind; the
    # scan sees ASCII values only, where `\d` is `[0-9]`): the letters and digits
    # inside a token, a hash or an order number (`ORD12AB34CD...`: 6 in 10 of the
    # values the run alone let through on the shared sample) are no IBAN's opening.
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {ANY: r"(?:^|[^A-Za-z0-9])[A-Za-z]{2}[0-9]{2}(?: ?[A-Za-z0-9]){11}"}
    )

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not 15 <= len(value) <= _MAX_CHARS:
            return None
        stripped = value.strip()
        for n, m in enumerate(_IBAN.finditer(value)):
            if n >= _MAX_CANDIDATES:
                break
            text = m.group(0)
            compact = text.replace(" ", "").upper()
            if IBAN_LENGTHS.get(compact[:2]) != len(compact):
                continue
            if compact[2:4] in ("00", "01", "99") or not iban_valid(compact):
                continue
            whole = text == stripped
            span = None if whole else m.span()
            if self.hinted(ctx):
                return self.finding(
                    0.99, "IBAN country length, mod-97 valid, field name hint", span, True
                )
            return self.finding(
                0.9 if whole else 0.85, "IBAN country length, mod-97 valid", span, True
            )
        return None
