"""BANK_ACCOUNT: bank account and routing numbers other than IBANs.

- US ABA routing transit numbers (ABA / Federal Reserve, "Routing Number Policy"): nine
  digits, the 3-7-1 weighted checksum (`_checksums.aba_routing_valid`) and a first two
  digits in the Federal Reserve ranges (00-12, 21-32, 61-72, 80). Only with a routing
  hint: one in ten nine-digit numbers pass the checksum.
- UK sort codes (Pay.UK): `12-34-56`, with a sort-code hint.
- Account numbers: 4-17 digits (US accounts run to 17; UK 8), optionally grouped by
  dashes or spaces. No checksum is public, so only with an account hint *and* a bank
  context: `bank_account_number`, `accountNumber` next to a `routingNumber`, `acct_no`
  next to `bank_name`. A bare `account_id` is a SaaS account, not a bank's.

IBANs are the IBAN classifier's (a value shaped like one is skipped here).

Not covered: national account formats with check digits (DE Kontonummer methods,
FR RIB key), BIC/SWIFT codes (they identify banks, not people), card numbers (PCI).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._checksums import aba_routing_valid
from classifiers.base import (
    BLANK,
    DIGIT,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)

_ROUTING = re.compile(r"\d{9}")
# Federal Reserve routing symbol ranges: 00-12 (banks), 21-32 (thrifts), 61-72
# (electronic), 80 (traveler's cheques).
_ROUTING_PREFIXES = frozenset(
    [f"{i:02d}" for i in range(13)]
    + [str(i) for i in range(21, 33)]
    + [str(i) for i in range(61, 73)]
    + ["80"]
)
_SORT_CODE = re.compile(r"\d{2}-?\d{2}-?\d{2}")
_ACCOUNT = re.compile(r"\d{2,17}(?:[ -]\d{1,17}){0,3}")
_ACCOUNT_TOKENS = frozenset({"account", "acct", "konto", "cuenta", "compte"})
# Evidence of a bank in the field's own name, its parents or its siblings.
_BANK_TOKENS = frozenset(
    {
        "bank",
        "routing",
        "banking",
        "checking",
        "savings",
        "ach",
        "sort",
        "bic",
        "swift",
        "payout",
        "deposit",
        "wire",
        "kontonummer",
    }
)
_MIN_ACCOUNT_DIGITS = 4  # shorter are counters and PINs
_MAX_ACCOUNT_DIGITS = 17  # US accounts run to 17 digits
_MAX_CHARS = 24  # 17 digits with some separators


class BankAccountClassifier(Classifier):
    data_type: ClassVar[str] = "BANK_ACCOUNT"
    category: ClassVar[Category] = Category.PII
    hints: ClassVar[frozenset[str]] = frozenset({"routing", "account", "sort", "kontonummer"})
    min_len: ClassVar[int] = 4
    max_len: ClassVar[int] = _MAX_CHARS
    # Hint-gated, and routing numbers pass a checksum by chance: most values must hit.
    min_share: ClassVar[float] = 0.6
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"bank": lambda n, classes: DIGIT in classes and classes <= BLANK | {DIGIT, "-"}}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        routing, sort_code, account = self._hints(ctx)
        return "bank" if routing or sort_code or account else None

    @staticmethod
    def _hints(ctx: FieldContext) -> tuple[bool, bool, bool]:
        """(routing, sort code, account) hints of the field."""
        tokens = ctx.name_tokens
        routing = "routing" in tokens or "transit" in tokens
        sort_code = "sort" in tokens and ("code" in tokens or "sortcode" in tokens)
        # `bank_account_number`, or `bank.account.number`: the parent names the account.
        account = (
            not _ACCOUNT_TOKENS.isdisjoint(tokens)
            or "kontonummer" in tokens
            or (
                not _ACCOUNT_TOKENS.isdisjoint(ctx.path_tokens)
                and not tokens.isdisjoint({"number", "no", "num", "nr"})
            )
        )
        return routing, sort_code, account

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        # The hint test is a set intersection: run it before touching the value.
        routing, sort_code, account = self._hints(ctx)
        if not (routing or sort_code or account):
            return None
        v = value.strip()
        if not 4 <= len(v) <= _MAX_CHARS or not v[0].isdigit():
            return None  # an IBAN starts with letters: not this type
        if routing and _ROUTING.fullmatch(v):
            if v[:2] in _ROUTING_PREFIXES and aba_routing_valid(v):
                return self.finding(
                    0.95, "ABA routing checksum valid, field name hint", validated=True
                )
            return None
        if sort_code:
            if _SORT_CODE.fullmatch(v):
                return self.finding(0.8, "sort code shape, field name hint")
            return None
        if account and self._bank_context(ctx) and _ACCOUNT.fullmatch(v):
            digits = sum(ch.isdigit() for ch in v)
            if _MIN_ACCOUNT_DIGITS <= digits <= _MAX_ACCOUNT_DIGITS and len(set(v)) > 1:
                return self.finding(0.75, "account number shape, bank context, field name hint")
        return None

    @staticmethod
    def _bank_context(ctx: FieldContext) -> bool:
        return not (
            _BANK_TOKENS.isdisjoint(ctx.name_tokens)
            and _BANK_TOKENS.isdisjoint(ctx.path_tokens)
            and _BANK_TOKENS.isdisjoint(ctx.sibling_tokens)
        )
