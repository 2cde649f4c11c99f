"""CARD_NUMBER: payment card PANs (ISO/IEC 7812-1; PCI DSS v4.0 req. 3).

A PAN is 13-19 digits, written plain or in groups separated by single spaces or dashes,
whose Luhn check digit is valid and whose leading digits fall in a known brand range
with that brand's length (`_cards.py`). Requiring the brand range as well as Luhn keeps
Luhn-lucky order numbers, 16-digit ids and nanosecond timestamps quiet; the inventory
still needs most of a field's values to pass (`min_share`) because 10% of random numbers
in a brand range pass Luhn.

Brands' published test PANs (4111111111111111 ...) are reported like any other: traffic
carrying them is still card data handling, and the scan cannot know the environment.

Values longer than a grouped PAN are searched for one (a log line, a free-text note),
and the finding's span covers only the PAN.

Not covered: PANs split over several fields, PANs inside longer digit runs (an
unbounded digit run is never taken apart), and 8-12 digit PANs of closed-loop schemes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._checksums import luhn_valid
from classifiers.base import (
    BLANK,
    DIGIT,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)
from classifiers.pci._cards import card_brand

# A whole value: 13-19 digits, optionally in groups of 3-6 separated by one space or
# one dash (4-4-4-4, 4-6-5, 4-4-4-4-3). Mixed or doubled separators are not cards.
_WHOLE = re.compile(r"[0-9]{13,19}|[0-9]{3,6}(?:([ -])[0-9]{3,6}){2,5}")
# Inside text: a PAN-shaped run not glued to other digits, letters, identifiers
# (`tgz_1627466063421`) or digit groups, not the fraction or integer part of a decimal
# number (`0.5136185135...`), and not the PAN field of magnetic-stripe data
# (`;PAN=YYMM...`, `%BPAN^NAME^...`): a whole track is CARD_TRACK_DATA's finding, which
# a PAN finding over part of it would hide.
_INSIDE = re.compile(r"(?<![0-9A-Za-z_-])(?<![0-9]\.)(?:[0-9]{13,19}|[0-9]{4}(?:[ -][0-9]{3,6}){2,4})"
                     r"(?![0-9A-Za-z_]|\.[0-9]|=[0-9=]|\^)")
# Cheap pre-scan for free text: a run of 13+ digits, spaces and dashes between digits.
# It starts with a plain character class, which the regex engine skips to quickly; the
# exact `_INSIDE` (its leading lookbehind defeats that skip) runs only where it hits.
_RUN = re.compile(r"[0-9][0-9 -]{11,30}[0-9]")
# 19 digits plus four separators.
_MAX_WHOLE = 23
# Character classes of a whole PAN with the whitespace `strip` removes.
_WHOLE_CLASSES = frozenset({DIGIT, "-"}) | BLANK
# Regex input limit for the free-text search (convention 5).
_MAX_TEXT = 4096

_HINT_TOKENS = frozenset({"card", "pan", "credit", "debit", "ccnum"})
# Fields named for other numbers: a Luhn-lucky value there stays under the threshold.
_OTHER_NUMBER_TOKENS = frozenset({"order", "invoice", "transaction", "tracking", "shipment",
                                  "sku", "product", "reference", "ref", "confirmation",
                                  "imei", "serial", "phone", "timestamp", "ts"})


class CardNumberClassifier(Classifier):
    data_type = "CARD_NUMBER"
    category = Category.PCI
    # Reads no sibling or object-key tokens.
    context_words = frozenset()
    gate_reads_server = False
    hints = _HINT_TOKENS
    min_len = 13
    max_len = 65536
    # 10% of random in-range numbers pass Luhn: most of a field's values must pass.
    min_share = 0.6

    BARE: ClassVar[float] = 0.85
    OTHER_NUMBER: ClassVar[float] = 0.4
    HINTED: ClassVar[float] = 0.99
    IN_TEXT: ClassVar[float] = 0.8

    def gate(self, ctx: FieldContext) -> str | None:
        # A field named for another number, without a card hint, gets OTHER_NUMBER at
        # most: under the reporting threshold.
        hinted = not _HINT_TOKENS.isdisjoint(ctx.name_tokens | ctx.path_tokens)
        if not hinted and not _OTHER_NUMBER_TOKENS.isdisjoint(ctx.name_tokens):
            return None
        return "pan"

    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        # Digits; up to _MAX_WHOLE characters only a whole grouped PAN can match.
        {"pan": lambda n, classes: DIGIT in classes
         and (n > _MAX_WHOLE or classes <= _WHOLE_CLASSES)}
    )
    # A brand range needs 13 digits at least (`_cards.MIN_PAN`): with the separators
    # `_WHOLE` and `_INSIDE` allow, a run of 13 digits, spaces and dashes from a digit.
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType({"pan": r"[0-9][0-9 -]{12}"})

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        n = len(value)
        if n < self.min_len:
            return None
        if n <= _MAX_WHOLE + 2:
            candidate = value.strip()
            if candidate[:1].isdigit() and _WHOLE.fullmatch(candidate):
                return self._judge(candidate, ctx, None)
            if n <= _MAX_WHOLE:
                return None
        # Free text: only when some digit run is long enough to be a PAN.
        text = value[:_MAX_TEXT]
        if _RUN.search(text) is None:
            return None
        for m in _INSIDE.finditer(text):
            found = self._judge(m.group(0), ctx, m.span())
            if found is not None:
                return found
        return None

    def _judge(
        self, candidate: str, ctx: FieldContext, span: tuple[int, int] | None
    ) -> Finding | None:
        pan = candidate.replace(" ", "").replace("-", "")
        brand = card_brand(pan)
        if brand is None or not luhn_valid(pan):
            return None
        reason = f"checksum valid, brand range {brand}"
        hinted = not _HINT_TOKENS.isdisjoint(ctx.name_tokens | ctx.path_tokens)
        if hinted:
            return self.finding(self.HINTED, reason + ", field name hint", span, validated=True)
        if not _OTHER_NUMBER_TOKENS.isdisjoint(ctx.name_tokens):
            return self.finding(self.OTHER_NUMBER, reason + ", field named for another number",
                                span, validated=True)
        if span is not None:
            return self.finding(self.IN_TEXT, reason + ", inside text", span, validated=True)
        return self.finding(self.BARE, reason, span, validated=True)
