"""NATIONAL_ID: national identity numbers other than the US SSN.

Covered, each by its published rule:
- UK National Insurance number (HMRC NIM39110): two prefix letters (first not D F I Q
  U V, second not D F I O Q U V; BG GB KN NK NT TN ZZ never issued), six digits, suffix
  A-D. No check digit: the prefix rules make the shape distinctive.
- Spanish DNI and NIE (Real Decreto 1553/2005; Orden INT/2058/2008): 8 digits (NIE: X, Y
  or Z then 7 digits) and the control letter `TRWAGMYFPDXBNJZSQVHLCKE[n % 23]`.
- Italian codice fiscale (DM 23/12/1976): 16 characters `AAAAAA99A99A999A`, the last one
  the odd/even-table check character. Omocodia variants (digits replaced by letters)
  are not covered.
- Indian Aadhaar (UIDAI): 12 digits, first 2-9, Verhoeff check digit. Bare 12 digits need
  a hint; the `4 4 4` spaced print form counts alone at a medium confidence.
- Brazilian CPF (Receita Federal, IN RFB 1548/2015): 11 digits, two mod-11 check digits;
  one repeated digit is invalid. The `999.999.999-99` print form counts alone; bare
  digits need a hint (Brazilian phone numbers are 11 digits too).
- Canadian Social Insurance Number (ESDC): 9 digits, Luhn, first digit not 0 or 8;
  hint required (9 Luhn-valid digits are one in ten of all 9-digit numbers).

- Through `python-stdnum` (`_stdnum_ids.py`): the Chinese resident identity number and
  the Mexican CURP (strong enough alone), and, with a field-name hint, German IdNr,
  French NIR, Dutch BSN, Belgian national number, Polish PESEL, Swedish personnummer,
  Danish CPR, Norwegian fodselsnummer, Finnish HETU, South African and Korean ids,
  Chilean RUT.

Not covered: national ids without a cheap check (most of the world), the reverse (an id
that fails its check is dropped, never reported weakly).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar

from classifiers._checksums import luhn_valid
from classifiers.base import (
    ANY,
    BLANK,
    DIGIT,
    LETTERS,
    SPACE,
    WHITESPACE,
    Category,
    Classifier,
    FieldContext,
    Finding,
    Scorer,
    ValueGate,
    bound_scorer,
)
from classifiers.pii import _stdnum_ids

_NINO = re.compile(r"([A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]) ?\d{2} ?\d{2} ?\d{2} ?[A-D]")
_NINO_NEVER = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_DNI = re.compile(r"(\d{8})-?([A-Z])")
_NIE = re.compile(r"([XYZ])-?(\d{7})-?([A-Z])")
_DNI_LETTERS = "TRWAGMYFPDXBNJZSQVHLCKE"
_CF = re.compile(r"[A-Z]{6}\d{2}[ABCDEHLMPRST]\d{2}[A-Z]\d{3}[A-Z]")
_AADHAAR_SPACED = re.compile(r"[2-9]\d{3} \d{4} \d{4}")
_AADHAAR_BARE = re.compile(r"[2-9]\d{11}")
_CPF_PRINTED = re.compile(r"\d{3}\.\d{3}\.\d{3}-\d{2}")
_CPF_BARE = re.compile(r"\d{11}")
_SIN = re.compile(r"\d{3}[ -]?\d{3}[ -]?\d{3}")

# Codice fiscale: values of a character at an odd (1st, 3rd...) position; digits 0-9
# count like A-J. Even positions: digits 0-9, letters 0-25.
_CF_ODD = (
    1,
    0,
    5,
    7,
    9,
    13,
    15,
    17,
    19,
    21,
    2,
    4,
    18,
    20,
    11,
    3,
    6,
    8,
    12,
    14,
    16,
    10,
    22,
    25,
    24,
    23,
)

# Verhoeff (1969) dihedral group D5 tables.
_V_D = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
    (2, 3, 4, 0, 1, 7, 8, 9, 5, 6),
    (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
    (4, 0, 1, 2, 3, 9, 5, 6, 7, 8),
    (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
    (6, 5, 9, 8, 7, 1, 0, 4, 3, 2),
    (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
    (8, 7, 6, 5, 9, 3, 2, 1, 0, 4),
    (9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
)
_V_P = (
    (0, 1, 2, 3, 4, 5, 6, 7, 8, 9),
    (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
    (5, 8, 0, 3, 7, 9, 6, 1, 4, 2),
    (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
    (9, 4, 5, 3, 1, 2, 6, 8, 7, 0),
    (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
    (2, 7, 9, 3, 8, 0, 6, 4, 1, 5),
    (7, 0, 4, 6, 9, 1, 3, 2, 5, 8),
)

# Hints per scheme, plus generic ones that count for all.
_GENERIC = frozenset({"national", "nationalid", "identity", "citizen", "idcard", "personal",
                      "idnumber", "identification"})
_SCHEME_HINTS = {
    "NINO": frozenset({"nino", "insurance"}),
    "DNI": frozenset({"dni", "nie", "nif", "documento"}),
    "CF": frozenset({"codice", "fiscale", "codicefiscale", "cf"}),
    "AADHAAR": frozenset({"aadhaar", "aadhar", "uidai"}),
    "CPF": frozenset({"cpf"}),
    "SIN": frozenset({"sin"}),
}
# The longest printed form of each hand-written scheme (digits as 9); with the stdnum
# schemes' own (`Scheme.printed`) they bound the value length: the longest is the French
# NIR as printed on the carte Vitale, `9 99 99 99 999 999 99` (21 characters). Here: UK
# NINO, Spanish NIE and DNI, codice fiscale, Aadhaar, CPF, SIN.
_PRINTED = ("AA 99 99 99 A", "A-9999999-A", "99999999-A", "AAAAAA99A99A999A",
            "9999 9999 9999", "999.999.999-99", "999-999-999")
_MAX_CHARS = max(len(form) for form in (*_PRINTED, *(s.printed for s in _stdnum_ids.SCHEMES)))
_ID_CLASSES = LETTERS | BLANK | {DIGIT, "-", "."}
_UNHINTED_MARKS = LETTERS | {SPACE, "."}
# Digits alone are judged without a hint at this length only (a Chinese resident
# identity number; `_stdnum_ids.py`).
_STRONG_DIGITS = 18
# Digits and dots with no letter, space or dash (`555.123.4567`, an IP address) are no
# scheme a field without a hint reports: the printed CPF has a dash, the Aadhaar a
# space, the rest letters, hints or 18 digits (`_STRONG_DIGITS`), and python-stdnum's
# `cn.ric.compact` keeps dots, which are neither digits nor a check character, while
# `mx.curp` needs letters. (Tabs and other non-space whitespace do not help either:
# `strip` takes them off the ends, and inside a value they leave it no digits-only
# compact form.)
_DOTTED_DIGITS = frozenset({DIGIT, ".", WHITESPACE})


def verhoeff_valid(number: str) -> bool:
    # `isdigit` also accepts other scripts' digits, which the tables cannot index.
    if not number.isascii():
        return False
    c = 0
    for i, ch in enumerate(reversed(number)):
        c = _V_D[c][_V_P[i % 8][ord(ch) - 48]]
    return c == 0


def _dni_letter_ok(digits: str, letter: str) -> bool:
    return _DNI_LETTERS[int(digits) % 23] == letter


def _cf_valid(code: str) -> bool:
    total = 0
    for i, ch in enumerate(code[:15]):
        n = ord(ch) - 48 if ch.isdigit() else ord(ch) - 65
        total += _CF_ODD[n] if i % 2 == 0 else n
    return chr(65 + total % 26) == code[15]


def _cpf_valid(digits: str) -> bool:
    if len(set(digits)) == 1:
        return False
    nums = [ord(c) - 48 for c in digits]
    for n in (9, 10):
        total = sum(d * w for d, w in zip(nums[:n], range(n + 1, 1, -1)))
        check = total * 10 % 11 % 10
        if check != nums[n]:
            return False
    return True


class NationalIdClassifier(Classifier):
    data_type: ClassVar[str] = "NATIONAL_ID"
    category: ClassVar[Category] = Category.PII
    # Reads no sibling or object-key tokens.
    context_words: ClassVar[frozenset[str] | None] = frozenset()
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = _GENERIC.union(
        *_SCHEME_HINTS.values(), *(scheme.hints for scheme in _stdnum_ids.SCHEMES))
    min_len: ClassVar[int] = 9
    max_len: ClassVar[int] = _MAX_CHARS
    # Checksums pass by chance for some random values: most of a field must pass.
    min_share: ClassVar[float] = 0.6
    # Every scheme has digits; letters, spaces, dashes and dots are the only company.
    # Without a hint, digits alone or with dashes are nothing (bare CPF, bare Aadhaar
    # and SIN need one): a letter, a space or a dot must be there.
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {ANY: lambda n, classes: DIGIT in classes and classes <= _ID_CLASSES,
         "unhinted": lambda n, classes: DIGIT in classes and classes <= _ID_CLASSES
         and (not classes.isdisjoint(_UNHINTED_MARKS) or n == _STRONG_DIGITS)
         and not ("." in classes and classes <= _DOTTED_DIGITS)}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        tokens = ctx.name_tokens
        hinted = not self.hints.isdisjoint(tokens) or "sin" in tokens or (
            {"social", "insurance"} <= tokens
        )
        return ANY if hinted else "unhinted"

    def scorer(self, ctx: FieldContext) -> Scorer:
        # The field name's hints, worked out once per context.
        tokens = ctx.name_tokens
        generic = not _GENERIC.isdisjoint(tokens)

        def hint(scheme: str) -> bool:
            return generic or not _SCHEME_HINTS[scheme].isdisjoint(tokens)

        # Canada: `sin` or `social insurance` (`social` alone is the US SSN's hint).
        sin_hinted = "sin" in tokens or {"social", "insurance"} <= tokens
        # The python-stdnum schemes this field can report, by compact length: most
        # fields have a hint of none, and only 18 characters are tried there.
        schemes = _stdnum_ids.candidates(tokens, generic)
        return bound_scorer(self._judge, hint, sin_hinted, schemes)

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        return self.scorer(ctx)(value, ctx)

    def _judge(self, value: str, hint: Callable[[str], bool], sin_hinted: bool,
               schemes: _stdnum_ids.Candidates) -> Finding | None:
        v = value.strip().upper()
        if not 9 <= len(v) <= _MAX_CHARS:
            return None
        compact = v.replace(" ", "").replace("-", "").replace(".", "")
        found = self._hand_written(v, compact, hint, sin_hinted)
        if found is not None:
            return found
        candidates = schemes.get(len(compact))
        if candidates is None:
            return None
        if len(compact) == _STRONG_DIGITS and compact.isdigit() and compact[6:8] not in (
            "19", "20"
        ):
            return None  # no birth year where a resident identity number has one
        matched = _stdnum_ids.match_among(v, candidates)
        if matched is None:
            return None
        scheme, hinted = matched
        return self._result(f"{scheme.label} check valid (python-stdnum)", hinted,
                            scheme.unhinted)

    def _hand_written(
        self, v: str, compact: str, hint: Callable[[str], bool], sin_hinted: bool
    ) -> Finding | None:
        """The schemes written here; `compact`: `v` without spaces, dashes and dots."""
        first = v[0]
        if first.isalpha():
            return self._lettered(v, hint)
        if not first.isdigit():
            return None
        if v[-1].isalpha():
            m = _DNI.fullmatch(v)
            if m and _dni_letter_ok(m.group(1), m.group(2)):
                return self._result("Spanish DNI control letter valid", hint("DNI"), 0.8)
            return None
        # Digits and separators only from here.
        if not compact.isdigit():
            return None
        if len(compact) == 11 and _cpf_valid(compact):
            if _CPF_PRINTED.fullmatch(v):
                return self._result("Brazilian CPF check digits valid", hint("CPF"), 0.85)
            if _CPF_BARE.fullmatch(v) and hint("CPF"):
                return self._result("Brazilian CPF check digits valid", True, 0.0)
            return None
        if len(compact) == 12 and compact[0] in "23456789" and verhoeff_valid(compact):
            if _AADHAAR_SPACED.fullmatch(v):
                return self._result("Aadhaar Verhoeff check valid", hint("AADHAAR"), 0.6)
            if _AADHAAR_BARE.fullmatch(v) and hint("AADHAAR"):
                return self._result("Aadhaar Verhoeff check valid", True, 0.0)
            return None
        if (
            len(compact) == 9
            and sin_hinted
            and compact[0] not in "08"
            and _SIN.fullmatch(v)
            and luhn_valid(compact)
        ):
            return self.finding(0.92, "Canadian SIN Luhn valid, field name hint", validated=True)
        return None

    def _lettered(self, v: str, hint: Callable[[str], bool]) -> Finding | None:
        m = _NINO.fullmatch(v)
        if m:
            if m.group(1) in _NINO_NEVER:
                return None
            return self._result("UK NINO prefix rules", hint("NINO"), 0.75, False)
        m = _NIE.fullmatch(v)
        if m:
            digits = str("XYZ".index(m.group(1))) + m.group(2)
            if _dni_letter_ok(digits, m.group(3)):
                return self._result("Spanish NIE control letter valid", hint("DNI"), 0.8)
            return None
        if len(v) == 16 and _CF.fullmatch(v) and _cf_valid(v):
            return self._result("Italian codice fiscale check character valid", hint("CF"), 0.85)
        return None

    def _result(
        self, reason: str, hinted: bool, unhinted: float, validated: bool = True
    ) -> Finding | None:
        if hinted:
            return self.finding(0.97, reason + ", field name hint", validated=validated)
        if unhinted <= 0.0:
            return None
        return self.finding(unhinted, reason, validated=validated)
