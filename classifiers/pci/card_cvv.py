"""CARD_CVV: card verification codes (CVV2/CVC2/CID/CSC; PCI DSS v4.0 req. 3.3.1:
sensitive authentication data, never stored after authorization).

Three digits (four for Amex CID) are anything at all, so the value is only judged by
its field: a cvv/cvc/csc/cid/security-code name, or a code-like name (`code`,
`security`, `verification`) in a card object or next to card fields whose own name says
nothing else: a merchant's `category_code` (MCC, four digits) or a `postal_code` next to
a card is no CVV. `cid` alone is also a client, correlation or content id: it needs a
card nearby.

Not covered: codes in free text, dynamic CVVs, PIN blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._organisations import organisation_path
from classifiers.base import (
    DIGIT,
    Category,
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    ValueGate,
    nearby,
)

_CVV_TOKENS = frozenset({"cvv"})
_CARD_TOKENS = frozenset({"card", "pan", "ccnum", "cardholder"})
_CODE_TOKENS = frozenset({"code", "security", "verification", "cvn", "verify"})
# Other words a card code's own name may hold (`card_verification_value`, `check_code`).
_CARD_CODE_WORDS = frozenset({"value", "check", "number", "num", "no"})
_near_card = nearby(_CARD_TOKENS)


def _lone_cid(ctx: FieldContext) -> bool:
    """`cid` maps to cvv, but alone it is far more often some other id."""
    names = ctx.name_tokens
    return "cvv" in names and "cid" in names and not _near_card(ctx) and len(names) <= 2


def _card_code(ctx: FieldContext) -> bool:
    """A code field of a card (`card.code`, `security_code` next to a card number): its
    own name says only code and card, and no organisation owns it (a merchant's
    `category_code`, the MCC, is four digits too)."""
    names = ctx.name_tokens
    return (_near_card(ctx) and not _CODE_TOKENS.isdisjoint(names)
            and names <= _CODE_TOKENS | _CARD_TOKENS | _CARD_CODE_WORDS
            and not organisation_path(ctx.path_tokens))


def _digits(value: str) -> bool:
    return 3 <= len(value) <= 4 and value.isdigit() and value.isascii()


class CardCvvClassifier(DeclarativeClassifier):
    data_type = "CARD_CVV"
    category = Category.PCI
    # Sibling tokens asked about: the card words `nearby` looks for.
    context_words = _CARD_TOKENS
    gate_reads_server = False
    hints = _CVV_TOKENS
    min_len = 3
    max_len = 4
    min_share = 0.5

    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"digits": lambda n, classes: classes == {DIGIT}}
    )
    # The field alone decides: no cvv name and no card code, no call.
    shapes = (
        Shape("", _digits, gate="digits", ladder=(
            Rung(None, when=_lone_cid),
            Rung(0.95, "field name hint", lambda ctx: "cvv" in ctx.name_tokens),
            Rung(0.7, "code field of a card", _card_code),
        )),
    )

    def prepare(self, value: str) -> str | None:
        return value
