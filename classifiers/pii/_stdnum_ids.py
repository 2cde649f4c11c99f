"""National identity numbers checked with `python-stdnum` (LGPL-2.1+, pure Python).

python-stdnum implements each country's published rule (check digits, embedded birth
dates, region codes) for some 200 number formats; the national identity numbers of
people are listed here with the field-name tokens that hint them. Each validator is
imported on first use. A bare number is never enough on its own unless its shape and
rule are strong: the Chinese resident identity number (18 characters, an embedded
birth date, a region code and an ISO 7064 check character) and the Mexican CURP (18
letters and digits in a fixed pattern with a check digit) count without a hint; the
others need the field name (a scheme hint or a generic one: `national_id`, `idcard`).

The hand-written schemes of `national_id.py` (UK NINO, ES DNI/NIE, IT codice fiscale,
IN Aadhaar, BR CPF, CA SIN) come first; these extend them.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any


@dataclass(frozen=True, slots=True)
class Scheme:
    label: str
    module: str  # under `stdnum.`
    hints: frozenset[str]
    lengths: frozenset[int]  # of the compact form (spaces, dashes and dots removed)
    # The longest form it is printed in (python-stdnum's `format`), digits as 9: the
    # classifier's length bound is taken from these.
    printed: str
    unhinted: float = 0.0  # confidence without a hint; 0: a hint is required


SCHEMES: tuple[Scheme, ...] = (
    Scheme("Chinese resident identity number", "cn.ric",
           frozenset({"ric", "sfz", "shenfenzheng", "resident"}), frozenset({18}),
           "999999999999999999", 0.85),
    Scheme("Mexican CURP", "mx.curp", frozenset({"curp"}), frozenset({18}), "AAAA999999AAAAAA99",
           0.85),
    Scheme("German tax identification number", "de.idnr",
           frozenset({"idnr", "steuerid", "steueridentifikationsnummer", "steuer"}),
           frozenset({11}), "99 999 999 999"),
    Scheme("French NIR", "fr.nir", frozenset({"nir", "insee", "secu"}), frozenset({15}),
           "9 99 99 99 999 999 99"),
    Scheme("Dutch BSN", "nl.bsn", frozenset({"bsn", "burgerservicenummer", "sofi"}),
           frozenset({8, 9}), "9999.99.999"),
    Scheme("Belgian national number", "be.nn",
           frozenset({"rijksregisternummer", "niss", "insz", "nn", "rrn"}), frozenset({11}),
           "99.99.99-999.99"),
    Scheme("Polish PESEL", "pl.pesel", frozenset({"pesel"}), frozenset({11}), "99999999999"),
    Scheme("Swedish personnummer", "se.personnummer",
           frozenset({"personnummer", "personnr"}), frozenset({10, 12}), "99999999-9999"),
    Scheme("Danish CPR", "dk.cpr", frozenset({"cpr"}), frozenset({10}), "999999-9999"),
    Scheme("Norwegian fodselsnummer", "no.fodselsnummer",
           frozenset({"fodselsnummer", "fnr", "fødselsnummer"}), frozenset({11}), "999999 99999"),
    # The century sign is `-`, `+` or a letter: a dash is removed from the compact form.
    Scheme("Finnish HETU", "fi.hetu", frozenset({"hetu", "henkilotunnus"}),
           frozenset({10, 11}), "999999-999A"),
    Scheme("South African ID number", "za.idnr", frozenset({"rsa"}), frozenset({13}),
           "999999 9999 99 9"),
    Scheme("Korean resident registration number", "kr.rrn", frozenset({"rrn"}),
           frozenset({13}), "999999-9999999"),
    Scheme("Chilean RUT", "cl.rut", frozenset({"rut", "run"}), frozenset({8, 9}), "99.999.999-9"),
)


# GB 2260 province codes (the first two digits of a resident identity number).
_CN_PROVINCES = frozenset({11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41,
                           42, 43, 44, 45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71,
                           81, 82, 83})


def _cn_ric_valid(value: str) -> bool:
    """python-stdnum's check character and birth date, and a province code: its
    district table (`get_birth_place`) lacks districts that issue numbers today, so the
    full `is_valid` misses real ones."""
    if value.isascii():
        # The shape test below, before importing python-stdnum (its `stdnum.util` pulls
        # in `ssl` and `pydoc`: tens of ms) for values that cannot pass it, such as the
        # 18 characters of `9999 WASHINGTON BLVD`: on ASCII text `ric.compact` only
        # turns a backtick into a quote, upper-cases and strips, none of which changes
        # the length, the digits or their places that the test reads.
        number = value.strip()
        if (len(number) != 18 or not number[:17].isdigit()
                or int(number[:2]) not in _CN_PROVINCES):
            return False
    return _cn_ric_checked(value)


def _cn_ric_checked(value: str) -> bool:
    """`_cn_ric_valid` without its shape test before the import (the tests compare
    the two)."""
    from stdnum.cn import ric
    from stdnum.exceptions import ValidationError

    number = ric.compact(value)
    if len(number) != 18 or not number[:17].isdigit() or int(number[:2]) not in _CN_PROVINCES:
        return False
    try:
        ric.get_birth_date(number)
    except ValidationError:
        return False
    return bool(number[-1] == ric.calc_check_digit(number))


# `stdnum.mx.curp.validate`'s format, which it tests first after `compact`.
_CURP = re.compile(r"[A-Z]{4}[0-9]{6}[A-Z]{6}[0-9A-Z][0-9]")


def _curp_shaped(value: str) -> bool:
    """False only for values `stdnum.mx.curp.is_valid` rejects by their format, told
    without importing python-stdnum (see `_cn_ric_valid`). On ASCII text `compact` drops
    `-`, `_` and spaces, turns a backtick into a quote (neither is in the format),
    upper-cases and strips (so `validate`'s `^...$` cannot match before a final newline:
    it is the `fullmatch` here)."""
    if not value.isascii():
        return True
    compact = value.replace("-", "").replace("_", "").replace(" ", "").upper().strip()
    return _CURP.fullmatch(compact) is not None


def _curp_valid(value: str) -> bool:
    if not _curp_shaped(value):
        return False
    from stdnum.mx import curp

    return bool(curp.is_valid(value))


@cache
def _validator(module: str) -> Any:
    if module == "cn.ric":
        return _cn_ric_valid
    if module == "mx.curp":
        return _curp_valid
    try:
        return importlib.import_module(f"stdnum.{module}").is_valid
    except ImportError:
        return None


Candidates = dict[int, tuple[tuple[Scheme, bool], ...]]
"""Per length of the compact form, the schemes `match_among` tries for a field, in order, and
whether the field hints each (`candidates`)."""


def candidates(tokens: frozenset[str], generic: bool) -> Candidates:
    """What `match_among` tries in a field of these name tokens (`generic`: a generic hint),
    worked out once per field: only schemes that are hinted or strong enough alone."""
    found: dict[int, list[tuple[Scheme, bool]]] = {}
    for scheme in SCHEMES:
        hinted = generic or not scheme.hints.isdisjoint(tokens)
        if not hinted and scheme.unhinted <= 0.0:
            continue
        for length in scheme.lengths:
            found.setdefault(length, []).append((scheme, hinted))
    return {length: tuple(schemes) for length, schemes in found.items()}


def match_among(value: str, schemes: tuple[tuple[Scheme, bool], ...]
                ) -> tuple[Scheme, bool] | None:
    """The first of `schemes` (`candidates` for the compact form's length) that
    validates `value`, and whether the field hints it."""
    for scheme, hinted in schemes:
        is_valid = _validator(scheme.module)
        if is_valid is not None and is_valid(value):
            return scheme, hinted
    return None
