"""Runs the classifiers over the field values of one part (the first, per-value stage).

The inventory makes the second, per-field decision from all the evidence gathered here.
Each classifier sees only values within its length bounds; among the findings of one
value the best whole-value finding wins, while findings on separate spans of free text
(an e-mail and a phone number in one comment) are all kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import islice

from classifiers._hints import last_segment, name_tokens, path_tokens
from classifiers.base import REPORT_THRESHOLD, Classifier, FieldContext, Finding
from dpi.registry import classifier_classes
from protocols.base import FieldValue

# Sibling tokens are the names of the other fields of the same part; a part with more
# fields than this (a huge JSON array) contributes only its first names, which is enough
# to give context and keeps the work per part bounded.
MAX_SIBLING_NAMES = 256
# Value lengths with a precomputed list of applicable classifiers.
_LEN_TABLE = 512


@dataclass(slots=True)
class Classification:
    value: FieldValue = field(repr=False)
    ctx: FieldContext
    findings: list[Finding]


def _overlaps(a: Finding, b: Finding) -> bool:
    if a.span is None or b.span is None:
        return True
    return a.span[0] < b.span[1] and b.span[0] < a.span[1]


def pick_findings(findings: list[Finding]) -> list[Finding]:
    """The best finding per region of the value, most confident first."""
    kept: list[Finding] = []
    for finding in sorted(findings, key=lambda f: -f.confidence):
        if all(not _overlaps(finding, k) for k in kept):
            kept.append(finding)
    return kept


class ClassifierSet:
    """All registered classifiers (or a given list), ready to score values."""

    def __init__(self, classifiers: list[Classifier] | None = None) -> None:
        if classifiers is None:
            classifiers = [cls() for cls in classifier_classes()]
        self.classifiers = classifiers
        self.by_type = {c.data_type: c for c in classifiers}
        # Classifiers applicable to each value length, so that scoring a value loops
        # only over those whose bounds admit it (lengths above the table are rare and
        # filtered on the fly).
        self._by_len = [
            [c for c in classifiers if c.min_len <= n <= c.max_len] for n in range(_LEN_TABLE)
        ]
        self._long = [(c, c.min_len, c.max_len) for c in classifiers]
        self._ctx_cache: dict[tuple[str, str, str, str, frozenset[str]], FieldContext] = {}

    @classmethod
    def with_extra(cls, extra: list[Classifier]) -> ClassifierSet:
        """The registered classifiers plus user ones (config file, entry points)."""
        return cls([c() for c in classifier_classes()] + extra)

    def context(
        self, protocol: str, location: str, path: str, api: str, siblings: frozenset[str]
    ) -> FieldContext:
        key = (protocol, location, path, api, siblings)
        ctx = self._ctx_cache.get(key)
        if ctx is None:
            if len(self._ctx_cache) > 100_000:
                # Bounded: contexts are cheap to rebuild, memory is not free.
                self._ctx_cache.clear()
            ctx = FieldContext(
                protocol=protocol,
                location=location,
                path=path,
                api=api,
                name_tokens=name_tokens(last_segment(path)),
                path_tokens=path_tokens(path),
                sibling_tokens=siblings,
            )
            self._ctx_cache[key] = ctx
        return ctx

    def score(self, value: str, ctx: FieldContext) -> list[Finding]:
        n = len(value)
        if n < _LEN_TABLE:
            applicable = self._by_len[n]
        else:
            applicable = [c for c, low, high in self._long if low <= n <= high]
        found: list[Finding] = []
        for classifier in applicable:
            finding = classifier.score(value, ctx)
            if finding is not None and finding.confidence >= REPORT_THRESHOLD:
                found.append(finding)
        if len(found) > 1:
            return pick_findings(found)
        return found


def sibling_tokens(paths: Iterable[str]) -> frozenset[str]:
    """Tokens of the names of the fields of one part (their last path segments)."""
    names = {last_segment(p) for p in islice(paths, MAX_SIBLING_NAMES)}
    tokens: set[str] = set()
    for name in names:
        tokens |= name_tokens(name)
    return frozenset(tokens)
