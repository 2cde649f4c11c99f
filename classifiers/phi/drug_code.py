"""DRUG_CODE: FDA National Drug Code (21 CFR 207.35; FDA NDC Directory).

The 10-digit NDC is labeler-product-package in one of three layouts, 4-4-2, 5-3-2 or
5-4-1; HIPAA transactions use the 11-digit 5-4-2 form (zero-padded). There is no check
digit, so the dashed layouts are strong only with a hint (ndc, drug, medication) and
likely in a clinical message; bare 10- or 11-digit numbers are every other id, so they
are reported only in a field named for NDCs or drugs.

Not covered: the 2024 FDA 12-digit NDC format (not yet issued), NDCs in free text,
and other drug vocabularies (RxNorm CUIs, ATC, GTIN barcodes of drug packages).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    BLANK,
    DIGIT,
    Category,
    Classifier,
    FieldContext,
    Finding,
    ValueGate,
)
from classifiers.phi._clinical import clinical_context

# The four layouts of FDA's NDC Directory, dashes required (bare digits are below).
_DASHED = re.compile(r"[0-9]{4}-[0-9]{4}-[0-9]{2}|[0-9]{5}-[0-9]{3,4}-[0-9]{1,2}")
# 5-3-1 is not an NDC layout; the alternation above allows it, this rejects it.
_NOT_NDC = re.compile(r"[0-9]{5}-[0-9]{3}-[0-9]")

_NDC_TOKENS = frozenset({"ndc"})
_CODE_LEAVES = frozenset({"code", "id", "number", "identifier"})
_DRUG_TOKENS = frozenset({"drug", "drugs", "medication", "medications", "medicine", "rx",
                          "pharmacy", "prescription"})


class DrugCodeClassifier(Classifier):
    data_type = "DRUG_CODE"
    category = Category.PHI
    hints = _NDC_TOKENS | _DRUG_TOKENS
    min_len = 10
    max_len = 13  # 11 digits + 2 dashes
    min_share = 0.5

    DASHED_HINTED: ClassVar[float] = 0.95
    DASHED_CONTEXT: ClassVar[float] = 0.7
    DASHED_BARE: ClassVar[float] = 0.4
    DIGITS_NDC_HINT: ClassVar[float] = 0.85
    DIGITS_DRUG_HINT: ClassVar[float] = 0.65
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"ndc": lambda n, classes: DIGIT in classes and classes <= BLANK | {DIGIT, "-"}}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        # Reported only with a hint in the name or path (every token used below is one
        # of `hints`) or, for the dashed layouts, in a clinical message.
        if not self.hints.isdisjoint(ctx.name_tokens | ctx.path_tokens) or clinical_context(ctx):
            return "ndc"
        return None

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not self.min_len <= len(value) <= self.max_len or not value[0].isdigit():
            return None
        value = value.strip()
        names = ctx.name_tokens | ctx.path_tokens
        if "-" in value:
            if _DASHED.fullmatch(value) is None or _NOT_NDC.fullmatch(value):
                return None
            # Dashed 11-digit 5-4-2 is the HIPAA form; every layout is one labeler code.
            if not self.hints.isdisjoint(names):
                return self.finding(self.DASHED_HINTED, "pattern ndc_dashed, field name hint")
            if clinical_context(ctx):
                return self.finding(self.DASHED_CONTEXT, "pattern ndc_dashed, clinical context")
            return self.finding(self.DASHED_BARE, "pattern ndc_dashed")
        if len(value) not in (10, 11) or not value.isdigit():
            return None
        if not _NDC_TOKENS.isdisjoint(names):
            return self.finding(self.DIGITS_NDC_HINT, "pattern ndc_digits, field name hint")
        if not _DRUG_TOKENS.isdisjoint(ctx.name_tokens) or (
            not _DRUG_TOKENS.isdisjoint(ctx.path_tokens)
            and not _CODE_LEAVES.isdisjoint(ctx.name_tokens)
        ):
            # `drug_code`, or `medication.code`: the code of a drug object.
            return self.finding(self.DIGITS_DRUG_HINT, "pattern ndc_digits, drug field hint")
        return None
