"""CARDHOLDER_NAME: the name printed on a payment card (PCI DSS v4.0 req. 3: cardholder
data when stored with the PAN; ISO/IEC 7813 track 1 name field, up to 26 characters).

The value must be name-shaped: two to five words of letters (any script), with the
apostrophes, hyphens and dots of real names, and no digits. The field decides whether
it is the card's name: `cardholder`, `name_on_card`, `card_holder`, `cc_name`; or a
name-like field (`name`, `holder`, `billing_name`) inside a card or payment object or
next to card fields (a card number or a CVV) in its own object. Names anywhere else are
PERSON_NAME's business: an order's `items[].name` is a product's even when the order's
`payment.card_number` is in the same body.

An account holder (`accountHolder`, `account_holder_name`) is a bank account's holder,
a PERSON_NAME even next to card fields: the cardholder is the holder under `card`.

Organisations are not card holders (`_organisations.py`): a `merchant.name` next to card
fields, or a value with a legal form or institution word (`Acme Corp`), is no row.

Not covered: names inside track data (CARD_TRACK_DATA reports the whole track) and
single-word names in card objects (too often a brand or a nickname).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._organisations import organisation_path, organisation_shaped
from classifiers.base import (
    BLANK,
    LETTERS,
    SYMBOL,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)

# Words of letters separated by one space, with name punctuation inside words
# (O'Neil, Jean-Luc, Q.). `[^\W\d_]` is a letter in any script.
_NAME = re.compile(r"[^\W\d_][^\W\d_'’.-]*(?:['’.-][^\W\d_]+)*\.?"
                   r"(?: [^\W\d_][^\W\d_'’.-]*(?:['’.-][^\W\d_]+)*\.?){0,4}")
_MAX_NAME = 64  # longer than any printed name with room for a middle name
# Character classes `_NAME` allows (letters, name punctuation with `’` a SYMBOL,
# spaces), plus the whitespace `strip` removes.
_NAME_CLASSES = LETTERS | BLANK | {"'", ".", "-", SYMBOL}

_HOLDER_TOKENS = frozenset({"cardholder", "holder"})
_CARD_TOKENS = frozenset({"card", "cardholder", "pan", "ccnum"})
_PAYMENT_TOKENS = frozenset({"card", "payment", "cards"})
# Sibling fields that say the object is a card: a card number, or its security code.
_CARD_SIBLINGS = _CARD_TOKENS | {"cvv"}
# Name-like fields of a card object that are not the holder's.
_OTHER_NAMES = frozenset({"brand", "bank", "issuer", "product", "network", "type", "nick",
                          "nickname", "file", "user", "username", "display", "scheme",
                          "merchant", "company", "business"})
# Qualifiers that make a holder a bank account's, not a card's.
_ACCOUNT_TOKENS = frozenset({"account", "iban", "bank", "acct"})
_EMPTY = frozenset({"true", "false", "null", "none", "n/a", "unknown", "tbd", "redacted",
                    "anonymous", "test"})


class CardholderNameClassifier(Classifier):
    data_type = "CARDHOLDER_NAME"
    category = Category.PCI
    # Sibling tokens asked about: a card field beside the name.
    context_words = _CARD_SIBLINGS
    gate_reads_server = False
    hints = frozenset({"cardholder", "holder"})
    min_len = 2
    max_len = _MAX_NAME
    min_share = 0.5

    HINTED: ClassVar[float] = 0.9
    CARD_NAME: ClassVar[float] = 0.85  # `cc_name`, `card_name`
    CARD_OBJECT: ClassVar[float] = 0.75  # `card.name`, `payment.billing_name`
    SIBLINGS: ClassVar[float] = 0.6  # `name` next to `card_number`
    ONE_WORD_HINTED: ClassVar[float] = 0.6
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"name": lambda n, classes: not classes.isdisjoint(LETTERS) and classes <= _NAME_CLASSES}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        return "name" if self._field(ctx) is not None else None

    def _field(self, ctx: FieldContext) -> tuple[float, str] | None:
        """The confidence and reason the field gives a name-shaped value, if any."""
        names = ctx.name_tokens
        if not _OTHER_NAMES.isdisjoint(names) or organisation_path(ctx.path_tokens):
            return None
        if not _ACCOUNT_TOKENS.isdisjoint(names) and "card" not in names:
            # `accountHolder`, `account_holder_name`: a bank account's holder (PERSON_NAME),
            # even in a record that also carries a card.
            return None
        holder = not _HOLDER_TOKENS.isdisjoint(names)
        card_name = "name" in names and not _CARD_TOKENS.isdisjoint(names)
        in_card = not _PAYMENT_TOKENS.isdisjoint(ctx.path_tokens)
        # Card fields of the name's own object (`card.number` beside `card.name`), not
        # anywhere in the body: an order's `items[].name` ("standing desk") is no
        # cardholder because the order also carries `payment.card_number`.
        near_card = not _CARD_SIBLINGS.isdisjoint(ctx.record_tokens)
        if holder and ("cardholder" in names or "card" in names or in_card or near_card):
            confidence, reason = self.HINTED, "field name hint: cardholder"
        elif card_name or ({"name", "on", "card"} <= names):
            confidence, reason = self.CARD_NAME, "field name hint: name on card"
        elif "name" in names and in_card:
            confidence, reason = self.CARD_OBJECT, "name field of a card object"
        elif "name" in names and near_card:
            confidence, reason = self.SIBLINGS, "name field next to card fields"
        else:
            return None
        return confidence, reason

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not self.min_len <= len(value) <= self.max_len or not value[0].isalpha():
            return None
        field = self._field(ctx)
        if field is None:
            return None
        confidence, reason = field
        text = value.strip()
        if text.lower() in _EMPTY or _NAME.fullmatch(text) is None or organisation_shaped(text):
            return None
        if " " not in text:
            if confidence < self.HINTED:
                return None
            confidence = self.ONE_WORD_HINTED
        return self.finding(confidence, reason + ", name-shaped value")
