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
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._checksums import aba_routing_valid
from classifiers.base import (
    BLANK,
    DIGIT,
    Category,
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
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


def _routing_named(ctx: FieldContext) -> bool:
    return "routing" in ctx.name_tokens or "transit" in ctx.name_tokens


def _sort_code_named(ctx: FieldContext) -> bool:
    tokens = ctx.name_tokens
    return "sort" in tokens and ("code" in tokens or "sortcode" in tokens)


def _account_named(ctx: FieldContext) -> bool:
    """`bank_account_number`, or `bank.account.number`: the parent names the account."""
    tokens = ctx.name_tokens
    return (
        not _ACCOUNT_TOKENS.isdisjoint(tokens)
        or "kontonummer" in tokens
        or (
            not _ACCOUNT_TOKENS.isdisjoint(ctx.path_tokens)
            and not tokens.isdisjoint({"number", "no", "num", "nr"})
        )
    )


def _bank_account(ctx: FieldContext) -> bool:
    return _account_named(ctx) and not (
        _BANK_TOKENS.isdisjoint(ctx.name_tokens)
        and _BANK_TOKENS.isdisjoint(ctx.path_tokens)
        and _BANK_TOKENS.isdisjoint(ctx.sibling_tokens)
    )


def _routing(value: str) -> bool:
    return (_ROUTING.fullmatch(value) is not None and value[:2] in _ROUTING_PREFIXES
            and aba_routing_valid(value))


def _account(value: str) -> bool:
    if _ACCOUNT.fullmatch(value) is None:
        return False
    digits = sum(ch.isdigit() for ch in value)
    return _MIN_ACCOUNT_DIGITS <= digits <= _MAX_ACCOUNT_DIGITS and len(set(value)) > 1


def _account_ladder(*closed_when: Callable[[FieldContext], bool]) -> tuple[Rung, ...]:
    return (*(Rung(None, when=test) for test in closed_when),
            Rung(0.75, "bank context, field name hint", _bank_account))


class BankAccountClassifier(DeclarativeClassifier):
    data_type: ClassVar[str] = "BANK_ACCOUNT"
    category: ClassVar[Category] = Category.PII
    # Sibling tokens asked about: a bank word beside the field.
    context_words: ClassVar[frozenset[str] | None] = _BANK_TOKENS
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = frozenset({"routing", "account", "sort", "kontonummer"})
    min_len: ClassVar[int] = 4
    max_len: ClassVar[int] = _MAX_CHARS
    # Hint-gated, and routing numbers pass a checksum by chance: most values must hit.
    min_share: ClassVar[float] = 0.6
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"bank": lambda n, classes: DIGIT in classes and classes <= BLANK | {DIGIT, "-"}}
    )
    # A routing field's nine digits are a routing number or nothing, and a sort-code
    # field holds sort codes only: neither falls back to an account number.
    shapes = (
        Shape("ABA routing checksum valid", _routing, validated=True, gate="bank",
              ladder=(Rung(0.95, "field name hint", _routing_named),)),
        Shape("sort code shape", _SORT_CODE.fullmatch, gate="bank",
              ladder=(Rung(0.8, "field name hint", _sort_code_named),)),
        Shape("account number shape", lambda v: _account(v) and not _ROUTING.fullmatch(v),
              gate="bank", ladder=_account_ladder(_sort_code_named)),
        Shape("account number shape", lambda v: _account(v) and _ROUTING.fullmatch(v),
              gate="bank", ladder=_account_ladder(_sort_code_named, _routing_named)),
    )

    def prepare(self, value: str) -> str | None:
        v = value.strip()
        if not 4 <= len(v) <= _MAX_CHARS or not v[0].isdigit():
            return None  # an IBAN starts with letters: not this type
        return v
