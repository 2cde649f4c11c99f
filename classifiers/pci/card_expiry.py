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
from classifiers.base import (
    DIGIT,
    Category,
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    ValueGate,
)

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


def _context(ctx: FieldContext) -> tuple[bool, bool]:
    """(expiry named, card context) of the field; the last context's answer is kept,
    as the five rung tests below ask it one after the other."""
    last = _LAST_CONTEXT
    if last[0] is ctx:
        return last[1]
    names = ctx.name_tokens
    expiry = not _EXPIRY_TOKENS.isdisjoint(names) and _NOT_CARD.isdisjoint(names)
    card = not (_CARD_TOKENS.isdisjoint(names) and _CARD_TOKENS.isdisjoint(ctx.path_tokens)
                and _CARD_TOKENS.isdisjoint(ctx.sibling_tokens))
    if expiry and not card and ctx.api:
        card = not _API_CARD_TOKENS.isdisjoint(name_tokens(ctx.api[:_MAX_API]))
    _remember(ctx, (expiry, card))
    return expiry, card


# One tuple, replaced whole: a reader sees a context with its own answer.
_LAST_CONTEXT: tuple[FieldContext | None, tuple[bool, bool]] = (None, (False, False))


def _remember(ctx: FieldContext, answer: tuple[bool, bool]) -> None:
    global _LAST_CONTEXT
    _LAST_CONTEXT = (ctx, answer)


def _card_expiry(ctx: FieldContext) -> bool:
    return all(_context(ctx))


def _expiry_only(ctx: FieldContext) -> bool:
    return _context(ctx)[0]


def _card_date(ctx: FieldContext) -> bool:
    return _context(ctx)[1] and ("date" in ctx.name_tokens or "valid" in ctx.name_tokens)


def _split(part: str) -> Rung:
    """A split field (`exp_month`, `exp_year`) of a card."""
    return Rung(0.8, "card expiry hint",
                lambda ctx: part in ctx.name_tokens and _card_expiry(ctx))


def _year(value: str) -> bool:
    return _YEAR4.fullmatch(value) is not None or _YEAR2.fullmatch(value) is not None


class CardExpiryClassifier(DeclarativeClassifier):
    data_type = "CARD_EXPIRY"
    category = Category.PCI
    # Sibling tokens asked about: a card word beside the field.
    context_words = _CARD_TOKENS
    gate_reads_server = False
    hints = frozenset({"expiry"})
    min_len = 1
    max_len = 11  # `12 / 2030` with spaces
    min_share = 0.5

    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"digit": lambda n, classes: DIGIT in classes}
    )
    # Every finding needs an expiry name, or a card context and a date name. The shapes
    # exclude each other (a separator, four digits, a month, a year), so their order
    # only matters for a bare month that is also a two-digit year: month first.
    shapes = (
        Shape("pattern mm_yy", _SEPARATED.fullmatch, gate="digit", ladder=(
            Rung(0.95, "card expiry hint", _card_expiry),
            Rung(0.55, "expiry hint", _expiry_only),
            Rung(0.6, "card object", _card_date),
        )),
        Shape("pattern mmyy", lambda v: len(v) == 4 and _MMYY.fullmatch(v) is not None,
              gate="digit", ladder=(Rung(0.95, "card expiry hint", _card_expiry),)),
        Shape("expiry month", _MONTH.fullmatch, gate="digit", ladder=(_split("month"),)),
        Shape("expiry year", _year, gate="digit", ladder=(_split("year"),)),
    )

    def prepare(self, value: str) -> str | None:
        if not 1 <= len(value) <= self.max_len or not value[0].isdigit():
            return None
        return value.strip()
