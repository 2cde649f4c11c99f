"""CARD_TRACK_DATA: magnetic stripe track 1 and track 2 data (ISO/IEC 7813; PCI DSS
v4.0 req. 3.3.1: sensitive authentication data, never stored after authorization).

Track 1 (IATA, alphanumeric): `%B<PAN>^<NAME>^<YYMM><service code><discretionary>?`.
Track 2 (ABA, numeric): `;<PAN>=<YYMM><service code><discretionary>?`.
The PAN must pass Luhn. Readers and payment APIs often strip the sentinels (`%`, `;`,
`?`); those forms are reported too, with less confidence for a bare track 2 (a digit
run, `=` and digits could be other data). Matches are searched inside the value, and
the span covers the track only.

Not covered: track 3, encrypted/tokenized track data (that is the point of it), EMV
tag 57 (track 2 equivalent) inside TLV blobs, and the LRC character after the end
sentinel.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._checksums import luhn_valid
from classifiers.base import ANY, DIGIT, Category, Classifier, FieldContext, Finding, ValueGate

# Track 1: format code B, PAN 13-19, name 2-26 characters, then the expiry YYMM (or the
# `^` field separator when absent) and the rest up to the end sentinel.
_TRACK1 = re.compile(
    r"(%?)B([0-9]{13,19})\^[A-Za-z0-9 /.'-]{2,26}\^(?:[0-9]{4}|\^)[0-9]{0,60}(\??)"
)
# Track 2: PAN 13-19, `=`, expiry YYMM (or `=`), service code and discretionary digits.
_TRACK2 = re.compile(r"(;?)(?<![0-9])([0-9]{13,19})=(?:[0-9]{4}|=)[0-9]{3,40}(\??)")
# Regex input limit (convention 5): 4 KiB holds both tracks many times over.
_MAX_TEXT = 4096

_HINT_TOKENS = frozenset({"track", "track1", "track2", "swipe", "magstripe", "stripe"})


class CardTrackDataClassifier(Classifier):
    data_type = "CARD_TRACK_DATA"
    category = Category.PCI
    # Reads no sibling or object-key tokens.
    context_words = frozenset()
    gate_reads_server = False
    hints = _HINT_TOKENS
    min_len = 21  # shortest track 2: 13 + `=` + 4 + 3
    max_len = 65536
    # Track data with a valid PAN is unambiguous: one value is enough.
    min_share = 0.1

    SENTINELS: ClassVar[float] = 0.97
    TRACK1_BARE: ClassVar[float] = 0.9
    TRACK2_BARE: ClassVar[float] = 0.8
    HINT_BOOST: ClassVar[float] = 0.15
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: DIGIT in classes and ("^" in classes or "=" in classes)}
    )
    # The end of either track's PAN field: 13 digits, then `^` (track 1) or `=` (track 2).
    value_needs: ClassVar[Mapping[str, str]] = MappingProxyType(
        {ANY: r"[0-9]{13}[=^]"}
    )

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if len(value) < self.min_len:
            return None
        has_t1 = "^" in value
        has_t2 = "=" in value
        if not (has_t1 or has_t2):
            return None
        text = value[:_MAX_TEXT]
        hinted = not _HINT_TOKENS.isdisjoint(ctx.name_tokens)
        if has_t1:
            for m in _TRACK1.finditer(text):
                if luhn_valid(m.group(2)):
                    sentinels = bool(m.group(1) and m.group(3))
                    base = self.SENTINELS if sentinels else self.TRACK1_BARE
                    return self._found(base, "pattern track1", hinted, m.span())
        if has_t2:
            for m in _TRACK2.finditer(text):
                if luhn_valid(m.group(2)):
                    sentinels = bool(m.group(1) and m.group(3))
                    base = self.SENTINELS if sentinels else self.TRACK2_BARE
                    return self._found(base, "pattern track2", hinted, m.span())
        return None

    def _found(self, base: float, reason: str, hinted: bool, span: tuple[int, int]) -> Finding:
        reason += ", pan checksum valid"
        if hinted:
            base += self.HINT_BOOST
            reason += ", field name hint"
        return self.finding(base, reason, span, validated=True)
