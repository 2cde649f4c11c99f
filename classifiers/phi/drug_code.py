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
    DeclarativeClassifier,
    FieldContext,
    Rung,
    Shape,
    ValueGate,
)
from classifiers.phi._clinical import CLINICAL_TOKENS, clinical_context

# The four layouts of FDA's NDC Directory, dashes required (bare digits are below).
_DASHED = re.compile(r"[0-9]{4}-[0-9]{4}-[0-9]{2}|[0-9]{5}-[0-9]{3,4}-[0-9]{1,2}")
# 5-3-1 is not an NDC layout; the alternation above allows it, this rejects it.
_NOT_NDC = re.compile(r"[0-9]{5}-[0-9]{3}-[0-9]")

_NDC_TOKENS = frozenset({"ndc"})
_CODE_LEAVES = frozenset({"code", "id", "number", "identifier"})
_DRUG_TOKENS = frozenset({"drug", "drugs", "medication", "medications", "medicine", "rx",
                          "pharmacy", "prescription"})


_HINTS = _NDC_TOKENS | _DRUG_TOKENS


def _hinted(ctx: FieldContext) -> bool:
    return not (_HINTS.isdisjoint(ctx.name_tokens) and _HINTS.isdisjoint(ctx.path_tokens))


def _ndc_named(ctx: FieldContext) -> bool:
    return not (_NDC_TOKENS.isdisjoint(ctx.name_tokens)
                and _NDC_TOKENS.isdisjoint(ctx.path_tokens))


def _drug_field(ctx: FieldContext) -> bool:
    """`drug_code`, or `medication.code`: the code of a drug object."""
    return not _DRUG_TOKENS.isdisjoint(ctx.name_tokens) or (
        not _DRUG_TOKENS.isdisjoint(ctx.path_tokens)
        and not _CODE_LEAVES.isdisjoint(ctx.name_tokens))


def _dashed(value: str) -> bool:
    return _DASHED.fullmatch(value) is not None and _NOT_NDC.fullmatch(value) is None


def _digits(value: str) -> bool:
    return len(value) in (10, 11) and value.isdigit()


class DrugCodeClassifier(DeclarativeClassifier):
    data_type = "DRUG_CODE"
    category = Category.PHI
    # Sibling tokens asked about: a clinical word beside the field.
    context_words = CLINICAL_TOKENS
    gate_reads_server = False
    hints = _HINTS
    min_len = 10
    max_len = 13  # 11 digits + 2 dashes
    min_share = 0.5

    # "ndc" (either shape open) admits what either layout can be; "dashed" (only the
    # dashed layouts open: a clinical message without a drug-named field, where the
    # bare 10-digit NPIs and ids stay unscored) what `_dashed` can accept: a dash, and
    # 12 or 13 characters at least (4-4-2, 5-3-2, 5-4-1 and 5-4-2 with their two dashes:
    # an 11-character SSN or date is none of them; `prepare` strips, so the value is at
    # least that long). "ndc" admits every value "dashed" does: widest first.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"ndc": lambda n, classes: DIGIT in classes and classes <= BLANK | {DIGIT, "-"},
         "dashed": lambda n, classes: n >= 12 and "-" in classes and DIGIT in classes
         and classes <= BLANK | {DIGIT, "-"}}
    )
    # Every dashed layout holds four digits, a dash and three more (the labeler code's
    # last four digits and the product code's first three): `555-123-4567` has not.
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"dashed": r"[0-9]{4}-[0-9]{3}"}
    )
    # Dashed 11-digit 5-4-2 is the HIPAA form; every layout is one labeler code. Reported
    # only with a hint in the name or path or, for the dashed layouts, in a clinical
    # message (bare dashed codes stay under the threshold).
    shapes = (
        Shape("pattern ndc_dashed", _dashed, gate="dashed", ladder=(
            Rung(0.95, "field name hint", _hinted),
            Rung(0.7, "clinical context", clinical_context),
            Rung(0.4),
        )),
        Shape("pattern ndc_digits", _digits, gate="ndc", ladder=(
            Rung(0.85, "field name hint", _ndc_named),
            Rung(0.65, "drug field hint", _drug_field),
        )),
    )

    def prepare(self, value: str) -> str | None:
        if not self.min_len <= len(value) <= self.max_len or not value[0].isdigit():
            return None
        return value.strip()
