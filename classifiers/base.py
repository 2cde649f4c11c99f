"""Classifier interface: one typed classifier per taxonomy data type (spec/inventory.md).

Shaped like Presidio's recognizers and detect-secrets' plugins: each classifier judges one
value in its context (`score`) and returns a `Finding` whose `reason` never quotes the
value. Deciding for a whole field, from all the values seen, is the inventory's job.

`DeclarativeClassifier` is the usual base of the built-in types: value shapes (a match
that may validate) and, per shape, the confidence ladder over the field's context as data
(`Rung`s), from which the gate follows. `PatternClassifier` is the simpler base of the
classifiers configured in dpi.toml: named regexes with base scores, an optional checksum
(`validate`), known fakes (`invalidate`) and a boost when the field name carries one of
the classifier's hint tokens. Weak patterns without a hint stay under the reporting
threshold.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import ClassVar, NamedTuple


class Category(StrEnum):
    PII = "PII"
    PHI = "PHI"
    PCI = "PCI"
    SECRET = "SECRET"


# A value-level finding at or above this confidence counts as a hit for its field.
REPORT_THRESHOLD = 0.5

# Character classes of a value, as value gates see them (`ValueGate`). Every ASCII
# character falls in exactly one class: `DIGIT` 0-9; `EXT` the letters of a phone
# extension (e, t, x, either case); `LETTER` every other ASCII letter; `SPACE` the space;
# `WHITESPACE` the other characters `str.isspace` accepts (tab, newlines, \x1c-\x1f...);
# the punctuation in `PUNCTUATION` stands for itself; `OTHER` is the remaining
# punctuation and control characters. A character outside ASCII counts, to stay on the
# safe side, as every role it can play in `str` methods and regexes: `DIGIT` when
# numeric (`\d`, `isdigit`), `LETTER` and `EXT` when a letter or number (`\w`,
# `isalpha`, `upper()` turning `ß` or `ﬁ` into ASCII letters), `WHITESPACE` when
# `isspace` (`strip`, `\s`), and `SYMBOL` otherwise (the `’` of `O’Brien`, `〒`).
DIGIT = "d"
LETTER = "L"
EXT = "e"
SPACE = " "
WHITESPACE = "w"
OTHER = "p"
SYMBOL = "u"
PUNCTUATION = "@.:-/+()=^_',"
LETTERS = frozenset({LETTER, EXT})
BLANK = frozenset({SPACE, WHITESPACE})
# Value gates compare lengths only up to this bound; longer values are told apart only by
# the classifiers' own `min_len`/`max_len`.
GATE_MAX_LEN = 64

ValueGate = Callable[[int, frozenset[str]], bool]
"""A necessary condition on a value, from its length and its character classes: False
only when the classifier cannot report the value (no finding at or above
REPORT_THRESHOLD). Gates are judged once per (length, classes) and cached, so they may
be plain Python."""


def _admit_all(length: int, classes: frozenset[str]) -> bool:
    return True


ANY = "any"
ALL_VALUES: Mapping[str, ValueGate] = MappingProxyType({ANY: _admit_all})


@dataclass(frozen=True, slots=True, kw_only=True)
class FieldContext:
    """What is known about where a value was found.

    `name_tokens` are the lower-cased tokens of the field's own name (last path segment,
    camelCase/snake_case/kebab split); `path_tokens` those of the whole path (parents
    too: `diagnosis.code` -> {diagnosis, code}); `sibling_tokens` those of every other
    field name in the same part (a `cvv` next to a card number); `object_tokens` those
    of the keys of the object the field belongs to (its parent's own keys, containers
    included: `items[].name` next to `items[].surname`, not the `email` of another
    object of the same body; empty when not known). `server` is the IP address of the
    flow's server as `ipaddress` writes it (no port; empty when not known): its own
    address in a payload is routing, not data about anyone.
    """

    protocol: str = ""
    location: str = ""
    path: str = ""
    api: str = ""
    name_tokens: frozenset[str] = frozenset()
    path_tokens: frozenset[str] = frozenset()
    sibling_tokens: frozenset[str] = frozenset()
    server: str = ""
    object_tokens: frozenset[str] = frozenset()

    @property
    def record_tokens(self) -> frozenset[str]:
        """The tokens of the fields beside this one in its record: its own object's keys
        when known (`items[].name` beside `items[].sku`, not the body's
        `payment.card_number`), else every field name of the part."""
        return self.object_tokens or self.sibling_tokens


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


Scorer = Callable[[str, FieldContext], Finding | None]
"""A classifier's judgement of values of one context (`Classifier.scorer`)."""


def bound_scorer(judge: Callable[..., Finding | None], *facts: object) -> Scorer:
    """A scorer that judges each value with `facts`: what a classifier's `scorer` worked
    out once for its context (the field's hints, the message's context), so that no
    value pays for it again."""

    def scored(value: str, ctx: FieldContext) -> Finding | None:
        return judge(value, *facts)

    return scored


# Shared findings by (data type, category, confidence, reason, span, validated); bounded.
_FINDINGS: dict[tuple[str, str, float, str, tuple[int, int] | None, bool], Finding] = {}
MAX_SHARED_FINDINGS = 4096


class Classifier(ABC):
    """Subclasses set the class attributes and implement `score`.

    `hints` are field-name tokens that make the type likely; `max_len`/`min_len` bound
    the values worth looking at (checked by the engine before `score`, cheaply);
    `min_share` is the share of a field's values that must be hits before the inventory
    reports the field (a checksum passes by chance for some random numbers, so checksum
    types need most values to pass; an unambiguous pattern needs only one).

    `gate` and `value_gates` let the classifier set skip calls that cannot report
    anything (`dpi/classify.py`): `gate(ctx)`, asked once per field context, names the
    value gate that applies there, or None when no value can earn a finding at or above
    REPORT_THRESHOLD in that context; the named `ValueGate` then rules values out by
    length and character classes. Both must be necessary conditions of `score` (a test
    compares the gated set with calling every classifier on every value); the defaults
    rule nothing out. `score` must depend on the value and the context only: the set
    scores the same value in the same context once.
    """

    data_type: ClassVar[str]
    category: ClassVar[Category]
    hints: ClassVar[frozenset[str]] = frozenset()
    max_len: ClassVar[int] = 256
    min_len: ClassVar[int] = 1
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = ALL_VALUES
    # Gate name -> a regex that `search` finds in every ASCII value the classifier can
    # report under that gate (classifiers/_scan.py: ASCII, no lookaround or
    # backreferences, so that `re` and Hyperscan read it alike). Gates not listed need
    # nothing.
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType({})
    # The sibling and object-key tokens (`FieldContext.sibling_tokens`, `object_tokens`)
    # that `gate` and `scorer` ask about: those two sets are read only by testing these
    # words (and whether a set is empty), so that contexts differing in other tokens only
    # share one plan and memo in the classifier set (`dpi/classify.py`). None (the
    # default): they may be read otherwise, and no plan is shared.
    context_words: ClassVar[frozenset[str] | None] = None
    # Whether `gate` may read `FieldContext.server`. When no classifier's does (and
    # every one declares `context_words`), contexts that differ only in their server
    # (the same API served by another host) get the gates' answers of the first of them
    # (`dpi/classify.py`); `scorer` is still made per context and may read it. True,
    # the default, is always safe.
    gate_reads_server: ClassVar[bool] = True

    @abstractmethod
    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        """Judge one value; None when it is not this type."""

    def gate(self, ctx: FieldContext) -> str | None:
        """The name of the value gate that applies in `ctx`; None: nothing reportable."""
        return ANY

    def scorer(self, ctx: FieldContext) -> Scorer:
        """What the classifier set calls as `scorer(value, ctx)` for values of `ctx`, made
        once per context: `score` itself, unless a subclass can decide part of its work
        from the context alone and does it here, once, instead of for every value."""
        return self.score

    def finding(
        self,
        confidence: float,
        reason: str,
        span: tuple[int, int] | None = None,
        validated: bool = False,
    ) -> Finding:
        # Findings are immutable and few distinct ones exist (reasons are fixed texts):
        # equal ones are shared instead of built again for every value.
        key = (self.data_type, self.category, confidence, reason, span, validated)
        found = _FINDINGS.get(key)
        if found is None:
            found = Finding(
                data_type=self.data_type,
                category=self.category,
                confidence=max(0.0, min(1.0, confidence)),
                reason=reason,
                span=span,
                validated=validated,
            )
            if len(_FINDINGS) >= MAX_SHARED_FINDINGS:
                _FINDINGS.clear()
            _FINDINGS[key] = found
        return found

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


ContextTest = Callable[[FieldContext], bool]
"""A question about a field context (its name, path, siblings, API), asked once per
context by the classifier set."""


@dataclass(frozen=True, slots=True)
class Rung:
    """One step of a confidence ladder: when `when` holds for the context (None: in any
    context), a value of the shape earns `confidence`, and `reason` names the context's
    part of the evidence. `confidence` None closes the ladder there: no finding in such
    a field (a time field for a 10-digit checksum)."""

    confidence: float | None
    reason: str = ""
    when: ContextTest | None = None


@dataclass(frozen=True, slots=True)
class Shape:
    """One form a value of the type takes: `match` (a regex's `fullmatch`, or any test
    that also validates: a checksum, a code list, a calendar date) judges the value as
    the classifier's `prepare` leaves it; `ladder` prices it by context, first rung that
    holds; `reason` names the value's part of the evidence; `validated` marks findings
    whose match includes a checksum or list lookup; `gate` names the value gate
    (`Classifier.value_gates`) its values pass."""

    reason: str
    match: Callable[[str], object]
    ladder: tuple[Rung, ...]
    validated: bool = False
    gate: str = ANY


def names(tokens: frozenset[str]) -> ContextTest:
    """The field's own name carries one of `tokens`."""
    return lambda ctx: not tokens.isdisjoint(ctx.name_tokens)


def nearby(tokens: frozenset[str]) -> ContextTest:
    """The field's name, a parent's or a sibling's carries one of `tokens`."""
    return lambda ctx: not (tokens.isdisjoint(ctx.name_tokens)
                            and tokens.isdisjoint(ctx.path_tokens)
                            and tokens.isdisjoint(ctx.sibling_tokens))


class _Climb(NamedTuple):
    """A declarative classifier's answer for a kind of context: the value gate (None:
    closed) and, per open shape in order, its match and the finding it earns."""

    gate: str | None
    table: tuple[tuple[Callable[[str], object], Finding], ...]


class DeclarativeClassifier(Classifier):
    """A data type as a table: value shapes, each with its confidence ladder.

    `score` prepares the value (`prepare`: strip, upper-case, cheap length tests; None
    rules it out), then tries the shapes in order: the first whose ladder is open in the
    context and whose `match` accepts the value gives the finding, with the confidence
    of the first rung that holds and the reason "<shape reason>, <rung reason>" (rung
    first when `rung_first`). Shapes whose rung is closed, or prices below
    REPORT_THRESHOLD, in a context are skipped there; when none is left, `gate` closes
    the classifier for the context, so the classifier set never calls it. The set binds
    `scorer(ctx)` once per context: a context costs one call of each distinct rung test
    (tests are pure functions of the context), the ladders are climbed once per
    combination of their answers, and a value costs `prepare` and the shapes' matches
    only.
    """

    shapes: ClassVar[tuple[Shape, ...]] = ()
    rung_first: ClassVar[bool] = False

    def __init__(self) -> None:
        # Each rung's finding is the same in every context: built once here, so that
        # climbing a ladder for a new context is a few set tests. Per shape: its match,
        # the rank of its gate in `value_gates` (widest first), and (test, finding) per
        # rung; the gate of a context is that of the widest shape whose finding there is
        # reportable.
        self._gate_names = tuple(self.value_gates)
        rank = {name: i for i, name in enumerate(self._gate_names)}
        self._ladders = tuple(
            (shape.match, rank[shape.gate],
             tuple((rung.when, self._rung_finding(shape, rung)) for rung in shape.ladder))
            for shape in self.shapes
        )
        # The distinct context tests, one bit each: a context's climb depends only on
        # which of them hold, so it is worked out once per combination of answers
        # (`_climbs`), and a new context costs one call per test.
        tests: list[ContextTest] = []
        for shape in self.shapes:
            for rung in shape.ladder:
                if rung.when is not None and rung.when not in tests:
                    tests.append(rung.when)
        self._tests = tuple((1 << i, test) for i, test in enumerate(tests))
        self._bits = {test: bit for bit, test in self._tests}
        self._climbs: dict[int, _Climb] = {}
        self._climbed: tuple[FieldContext | None, _Climb | None] = (None, None)

    def _rung_finding(self, shape: Shape, rung: Rung) -> Finding | None:
        if rung.confidence is None:
            return None
        parts = (rung.reason, shape.reason) if self.rung_first else (shape.reason, rung.reason)
        return self.finding(rung.confidence, ", ".join(p for p in parts if p),
                            validated=shape.validated)

    def prepare(self, value: str) -> str | None:
        """The value as the shapes read it; None when no shape can accept it."""
        return value.strip()

    def _climb(self, ctx: FieldContext) -> _Climb:
        """The shapes open in `ctx`, with the finding their values earn there, and the
        gate (the last context's answer is kept: the classifier set asks `gate` and
        `scorer` one after the other)."""
        last, climb = self._climbed
        if last is ctx and climb is not None:
            return climb
        answers = 0
        for bit, test in self._tests:
            if test(ctx):
                answers |= bit
        climb = self._climbs.get(answers)
        if climb is None:
            climb = self._climbs[answers] = self._climb_answers(answers)
        self._climbed = (ctx, climb)
        return climb

    def _climb_answers(self, answers: int) -> _Climb:
        """The climb of a context whose tests answer `answers` (bits of `_tests`)."""
        table: list[tuple[Callable[[str], object], Finding]] = []
        best = len(self._gate_names)
        for match, rank, rungs in self._ladders:
            for when, found in rungs:
                if when is not None and not answers & self._bits[when]:
                    continue
                if found is not None:
                    table.append((match, found))
                    if rank < best and found.confidence >= REPORT_THRESHOLD:
                        best = rank
                break
        gate = self._gate_names[best] if best < len(self._gate_names) else None
        return _Climb(gate, tuple(table))

    def gate(self, ctx: FieldContext) -> str | None:
        return self._climb(ctx).gate

    def scorer(self, ctx: FieldContext) -> Scorer:
        table = self._climb(ctx).table
        prepare = self.prepare

        def scored(value: str, ctx: FieldContext = ctx) -> Finding | None:
            prepared = prepare(value)
            if prepared is None:
                return None
            for match, found in table:
                if match(prepared):
                    return found
            return None

        return scored

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        return self.scorer(ctx)(value, ctx)
