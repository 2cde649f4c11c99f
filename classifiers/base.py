"""Classifier interface: one typed classifier per taxonomy data type (spec/inventory.md).

Shaped like Presidio's recognizers and detect-secrets' plugins: each classifier judges one
value in its context (`score`) and returns a `Finding` whose `reason` never quotes the
value. Deciding for a whole field, from all the values seen, is the inventory's job.

`PatternClassifier` is the usual base: named regexes with base scores, an optional
checksum (`validate`), known fakes (`invalidate`) and a boost when the field name carries
one of the classifier's hint tokens. Weak patterns without a hint stay under the
reporting threshold.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from enum import StrEnum
from typing import ClassVar


class Category(StrEnum):
    PII = "PII"
    PHI = "PHI"
    PCI = "PCI"
    SECRET = "SECRET"


# A value-level finding at or above this confidence counts as a hit for its field.
REPORT_THRESHOLD = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldContext:
    """What is known about where a value was found.

    `name_tokens` are the lower-cased tokens of the field's own name (last path segment,
    camelCase/snake_case/kebab split); `path_tokens` those of the whole path (parents
    too: `diagnosis.code` -> {diagnosis, code}); `sibling_tokens` those of every other
    field name in the same part (a `cvv` next to a card number).
    """

    protocol: str = ""
    location: str = ""
    path: str = ""
    api: str = ""
    name_tokens: frozenset[str] = frozenset()
    path_tokens: frozenset[str] = frozenset()
    sibling_tokens: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One value judged as `data_type`. `span` locates the sensitive part inside the
    value (for free text) so that masking shows the right shape; `reason` says why
    without quoting anything."""

    data_type: str
    category: Category
    confidence: float
    reason: str
    span: tuple[int, int] | None = None
    validated: bool = False


class Classifier(ABC):
    """Subclasses set the class attributes and implement `score`.

    `hints` are field-name tokens that make the type likely; `max_len`/`min_len` bound
    the values worth looking at (checked by the engine before `score`, cheaply);
    `min_share` is the share of a field's values that must be hits before the inventory
    reports the field (a checksum passes by chance for some random numbers, so checksum
    types need most values to pass; an unambiguous pattern needs only one).
    """

    data_type: ClassVar[str]
    category: ClassVar[Category]
    hints: ClassVar[frozenset[str]] = frozenset()
    max_len: ClassVar[int] = 256
    min_len: ClassVar[int] = 1
    min_share: ClassVar[float] = 0.5

    @abstractmethod
    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        """Judge one value; None when it is not this type."""

    def finding(
        self,
        confidence: float,
        reason: str,
        span: tuple[int, int] | None = None,
        validated: bool = False,
    ) -> Finding:
        return Finding(
            data_type=self.data_type,
            category=self.category,
            confidence=max(0.0, min(1.0, confidence)),
            reason=reason,
            span=span,
            validated=validated,
        )

    def hinted(self, ctx: FieldContext) -> bool:
        return not self.hints.isdisjoint(ctx.name_tokens)


@dataclass(frozen=True, slots=True)
class Pattern:
    """A named regex and the confidence a bare match earns."""

    name: str
    regex: re.Pattern[str] = field(repr=False)
    score: float


class PatternClassifier(Classifier):
    """Regexes, then checksum, then known fakes, then the field-name boost.

    `validate` returns True (checksum passes: confidence raised to `validated_score`),
    False (fails: no finding) or None (no checksum for this type).
    """

    patterns: ClassVar[tuple[Pattern, ...]] = ()
    # Confidence added when the field name carries a hint token.
    hint_boost: ClassVar[float] = 0.35
    validated_score: ClassVar[float] = 0.95
    # Free-text search (True) or whole-value match only (False). Whole-value types are
    # the ones whose shape alone is too common inside prose (numbers, short codes).
    search_inside: ClassVar[bool] = False

    def validate(self, candidate: str) -> bool | None:
        return None

    def invalidate(self, candidate: str) -> bool:
        """True for known fakes and reserved ranges."""
        return False

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        best: Finding | None = None
        for pattern in self.patterns:
            if self.search_inside:
                m = pattern.regex.search(value)
            else:
                m = pattern.regex.fullmatch(value.strip())
            if m is None:
                continue
            candidate = m.group(0)
            if self.invalidate(candidate):
                continue
            valid = self.validate(candidate)
            if valid is False:
                continue
            confidence = pattern.score
            reasons = [f"pattern {pattern.name}"]
            if valid:
                confidence = max(confidence, self.validated_score)
                reasons.append("checksum valid")
            if self.hinted(ctx):
                confidence += self.hint_boost
                reasons.append("field name hint")
            span = m.span() if self.search_inside else None
            found = self.finding(confidence, ", ".join(reasons), span, bool(valid))
            if best is None or found.confidence > best.confidence:
                best = found
        return best
