"""HEALTH_PLAN_ID: US Medicare Beneficiary Identifier and insurers' member ids.

MBI: CMS "Medicare Beneficiary Identifier (MBI) format specification" (2017): 11
characters, no check digit, positions

    1 C: 1-9            5 A          9 A
    2 A                 6 AN        10 N: 0-9
    3 AN                7 N: 0-9    11 N: 0-9
    4 N: 0-9            8 A

where A is an upper-case letter other than S, L, O, I, B, Z (easily confused with
digits) and AN is such a letter or a digit. Printed forms group it 4-3-4 with dashes;
the dashes are not part of the identifier. The pattern is specific enough to report
without a hint (a random 11-character id matches it with a probability under 1e-5).

Commercial member/subscriber/policy ids (HIPAA 45 CFR 164.514(b)(2)(i)(I), health plan
beneficiary numbers) have no common format: they are reported only when the field name
says so and the message is about health insurance, because `member_id` and `policy_id`
are just as common in loyalty programs and IAM APIs.

Not covered: the retired Medicare HICN (SSN-based; US_SSN finds its digits), Medicaid
ids (state-specific formats) and ids outside the US.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    BLANK,
    DIGIT,
    LETTERS,
    Category,
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    ValueGate,
)
from classifiers.phi._clinical import CLINICAL_TOKENS, clinical_context

# CMS MBI specification, positions as in the docstring; `[AC-HJKMNP-RT-Y]` is A-Z
# without B, I, L, O, S, Z. The optional dashes are the 4-3-4 print grouping.
_A = "[AC-HJKMNP-RT-Y]"
_AN = "[AC-HJKMNP-RT-Y0-9]"
_MBI = re.compile(
    rf"[1-9]{_A}{_AN}[0-9]-?{_A}{_AN}[0-9]-?{_A}{_A}[0-9][0-9]"
)
# Insurer member ids: letters and digits, 5-20 characters, optional dash or space
# groups (`H12345678-01`, `XYZ 123456789`).
_MEMBER_SHAPE = re.compile(r"[A-Za-z0-9]+(?:[- ][A-Za-z0-9]+){0,3}")
_MEMBER_MIN, _MEMBER_MAX = 5, 20
_MIN_DIGITS = 3  # an id carries digits; words and enums do not
_MBI_MIN = 11
_ID_CLASSES = LETTERS | BLANK | {DIGIT, "-"}

# Field-name tokens that say "health plan" on their own ...
_PLAN_TOKENS = frozenset({"medicare", "medicaid", "insurance", "insurer", "beneficiary",
                          "subscriber", "healthplan"})
# ... and the ones that need a health context (`member_id` of a loyalty program).
_WEAK_TOKENS = frozenset({"member", "policy", "plan", "group"})
_ID_TOKENS = frozenset({"id", "number", "no", "num", "nr", "identifier"})
# Context that makes `member`/`policy` mean health insurance.
_INSURANCE_CONTEXT = frozenset({"insurance", "insurer", "payer", "coverage", "health",
                                "medical", "plan", "medicare", "medicaid", "beneficiary"})


def _plan_named(ctx: FieldContext) -> bool:
    return not _PLAN_TOKENS.isdisjoint(ctx.name_tokens)


def _id_named(ctx: FieldContext) -> bool:
    return not _ID_TOKENS.isdisjoint(ctx.name_tokens) or "mbi" in ctx.name_tokens


def _insurance_context(ctx: FieldContext) -> bool:
    if not _INSURANCE_CONTEXT.isdisjoint(ctx.path_tokens | ctx.sibling_tokens):
        return True
    return clinical_context(ctx)


def _member_in_insurance(ctx: FieldContext) -> bool:
    return (_id_named(ctx) and not _WEAK_TOKENS.isdisjoint(ctx.name_tokens)
            and _insurance_context(ctx))


def _mbi(upper: bool) -> Callable[[str], bool]:
    """An MBI (upper-cased first in a field named for a health plan, as users type)."""
    def match(value: str) -> bool:
        if not (11 <= len(value) <= 13 and value[0].isdigit()):
            return False
        return _MBI.fullmatch(value.upper() if upper else value) is not None
    return match


def _member_id(value: str) -> bool:
    if _MEMBER_SHAPE.fullmatch(value) is None:
        return False
    alnum = sum(ch.isalnum() for ch in value)
    if not _MEMBER_MIN <= alnum <= _MEMBER_MAX:
        return False
    return sum(ch.isdigit() for ch in value) >= _MIN_DIGITS


class HealthPlanIdClassifier(DeclarativeClassifier):
    data_type = "HEALTH_PLAN_ID"
    category = Category.PHI
    # Sibling tokens asked about: an insurance or clinical word beside the field.
    context_words = _INSURANCE_CONTEXT | CLINICAL_TOKENS
    gate_reads_server = False
    hints = _PLAN_TOKENS | _WEAK_TOKENS
    min_len = 5
    max_len = 24  # 20 characters plus separators
    # An MBI is unambiguous; member ids come from hints. Half the values suffice.
    min_share = 0.3

    # A member id: letters, digits, dashes and spaces, with digits; an MBI has letters
    # too and 11 characters at least. Member ids need the field.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"member": lambda n, classes: DIGIT in classes and classes <= _ID_CLASSES,
         "mbi": lambda n, classes: n >= _MBI_MIN and DIGIT in classes
         and not classes.isdisjoint(LETTERS) and classes <= _ID_CLASSES}
    )
    # Where only the MBI shapes are open, the value is `prepare`'s `strip` away (ASCII
    # whitespace `[\t-\r\x1c-\x20]`: the scan sees ASCII values only) from an MBI's
    # first four characters, upper-cased or not: `123 Main Street` and `GRP12345`, which
    # the gate admits, are turned away before `match`.
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"mbi": r"^[\t-\r\x1c-\x20]*[1-9][A-Za-z][A-Za-z0-9][0-9]"}
    )
    shapes = (
        Shape("pattern medicare_mbi", _mbi(upper=True), gate="mbi",
              ladder=(Rung(0.97, "field name hint", _plan_named),)),
        Shape("pattern medicare_mbi", _mbi(upper=False), gate="mbi",
              ladder=(Rung(None, when=_plan_named), Rung(0.8))),
        Shape("", _member_id, gate="member", ladder=(
            Rung(0.75, "field name hint: health plan id",
                 lambda ctx: _id_named(ctx) and _plan_named(ctx)),
            Rung(0.6, "member id in a health insurance context", _member_in_insurance),
        )),
    )

    def prepare(self, value: str) -> str | None:
        if not self.min_len <= len(value) <= self.max_len:
            return None
        return value.strip()
