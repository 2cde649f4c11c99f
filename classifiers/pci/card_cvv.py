"""CARD_CVV: card verification codes (CVV2/CVC2/CID/CSC; PCI DSS v4.0 req. 3.3.1:
sensitive authentication data, never stored after authorization).

Three digits (four for Amex CID) are anything at all, so the value is only judged by
its field: a cvv/cvc/csc/cid/security-code name, or a code-like name (`code`,
`security`, `verification`) in a card object or next to card fields. `cid` alone is
also a client, correlation or content id: it needs a card nearby.

Not covered: codes in free text, dynamic CVVs, PIN blocks.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import DIGIT, Category, Classifier, FieldContext, Finding, ValueGate

_CVV_TOKENS = frozenset({"cvv"})
_CARD_TOKENS = frozenset({"card", "pan", "ccnum", "cardholder"})
_CODE_TOKENS = frozenset({"code", "security", "verification", "cvn", "verify"})


class CardCvvClassifier(Classifier):
    data_type = "CARD_CVV"
    category = Category.PCI
    hints = _CVV_TOKENS
    min_len = 3
    max_len = 4
    min_share = 0.5

    HINTED: ClassVar[float] = 0.95
    CARD_CONTEXT: ClassVar[float] = 0.7
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"digits": lambda n, classes: classes == {DIGIT}}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        # The field alone decides (`score` below): no cvv name and no card code, no call.
        names = ctx.name_tokens
        card = not _CARD_TOKENS.isdisjoint(names | ctx.path_tokens | ctx.sibling_tokens)
        if "cvv" in names:
            return None if "cid" in names and not card and len(names) <= 2 else "digits"
        return "digits" if card and not _CODE_TOKENS.isdisjoint(names) else None

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not 3 <= len(value) <= 4 or not value.isdigit() or not value.isascii():
            return None
        names = ctx.name_tokens
        card = not _CARD_TOKENS.isdisjoint(names | ctx.path_tokens | ctx.sibling_tokens)
        if "cvv" in names:
            # `cid` maps to cvv, but alone it is far more often some other id.
            if "cid" in names and not card and len(names) <= 2:
                return None
            return self.finding(self.HINTED, "field name hint")
        if card and not _CODE_TOKENS.isdisjoint(names):
            return self.finding(self.CARD_CONTEXT, "code field of a card")
        return None
