"""CARD_EXPIRY: the expiry date of a payment card (ISO/IEC 7813; PCI DSS v4.0 req. 3
lists it among cardholder data when stored with the PAN).

Formats: MM/YY, MM/YYYY, MM-YY, MMYY, and split month/year fields (`exp_month`,
`exp_year`, as in card APIs). A month and year alone look like any date, so a value is
only reported in a card context: an expiry hint together with a card token in the
field, the path or a sibling (`card.exp`, `exp` next to `pan`/`cvv`), or a slash-written
expiry in a field named for expiry alone (moderate). Bare MMYY digits and split fields
need the card context.

Not covered: dates written as YYYY-MM or with day, expiry inside track data (that is
CARD_TRACK_DATA's), and expiries in free text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._hints import name_tokens
from classifiers.base import DIGIT, Category, Classifier, FieldContext, Finding, ValueGate

# MM, separator, YY or 20YY; the month 01-12 (one-digit month allowed with a separator).
_SEPARATED = re.compile(r"(0?[1-9]|1[0-2])\s?[/-]\s?(20[0-9]{2}|[0-9]{2})")
# MMYY as printed on the card, no separator.
_MMYY = re.compile(r"(0[1-9]|1[0-2])[0-9]{2}")
_MONTH = re.compile(r"0?[1-9]|1[0-2]")
# A 4-digit expiry year in a plausible range of issued cards.
_YEAR4 = re.compile(r"20[0-9]{2}")
_YEAR2 = re.compile(r"[0-9]{2}")

_EXPIRY_TOKENS = frozenset({"expiry", "expiration", "thru", "through"})
_CARD_TOKENS = frozenset({"card", "cvv", "cardholder", "pan", "ccnum"})
# An API or table about cards (`POST /v1/customers/{id}/cards`, `billing.cards`) is card
# context too. Templates are short; a longer one would not add tokens worth the work.
_API_CARD_TOKENS = frozenset({"card", "cards", "payment", "payments"})
_MAX_API = 256
# Time-to-live and token-lifetime names: `expires_in`, `expires_at`.
_NOT_CARD = frozenset({"in", "at", "ttl", "seconds", "token"})


class CardExpiryClassifier(Classifier):
    data_type = "CARD_EXPIRY"
    category = Category.PCI
    hints = frozenset({"expiry"})
    min_len = 1
    max_len = 11  # `12 / 2030` with spaces
    min_share = 0.5

    CARD: ClassVar[float] = 0.95
    CARD_SPLIT: ClassVar[float] = 0.8
    CARD_SIBLING_ONLY: ClassVar[float] = 0.6
    EXPIRY_ONLY: ClassVar[float] = 0.55
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"digit": lambda n, classes: DIGIT in classes}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        # Every finding below needs an expiry name, or a card context and a date name.
        expiry, card = self._context(ctx)
        names = ctx.name_tokens
        return "digit" if expiry or (card and ("date" in names or "valid" in names)) else None

    @staticmethod
    def _context(ctx: FieldContext) -> tuple[bool, bool]:
        names = ctx.name_tokens
        expiry = not _EXPIRY_TOKENS.isdisjoint(names) and _NOT_CARD.isdisjoint(names)
        card = not _CARD_TOKENS.isdisjoint(names | ctx.path_tokens | ctx.sibling_tokens)
        if expiry and not card and ctx.api:
            card = not _API_CARD_TOKENS.isdisjoint(name_tokens(ctx.api[:_MAX_API]))
        return expiry, card

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not 1 <= len(value) <= self.max_len or not value[0].isdigit():
            return None
        names = ctx.name_tokens
        expiry, card = self._context(ctx)
        if not expiry and not card:
            return None
        value = value.strip()
        if _SEPARATED.fullmatch(value):
            if expiry and card:
                return self.finding(self.CARD, "pattern mm_yy, card expiry hint")
            if expiry:
                return self.finding(self.EXPIRY_ONLY, "pattern mm_yy, expiry hint")
            if "date" in names or "valid" in names:
                return self.finding(self.CARD_SIBLING_ONLY, "pattern mm_yy, card object")
            return None
        if not (expiry and card):
            return None
        if len(value) == 4 and _MMYY.fullmatch(value):
            return self.finding(self.CARD, "pattern mmyy, card expiry hint")
        if "month" in names and _MONTH.fullmatch(value):
            return self.finding(self.CARD_SPLIT, "expiry month, card expiry hint")
        if "year" in names and (_YEAR4.fullmatch(value) or _YEAR2.fullmatch(value)):
            return self.finding(self.CARD_SPLIT, "expiry year, card expiry hint")
        return None
