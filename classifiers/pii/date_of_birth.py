"""DATE_OF_BIRTH: a birth date, from a birth hint plus a plausible past date.

Formats: ISO 8601 calendar dates (`1985-04-12`, `1985/04/12`, compact `19850412`, and a
date-time whose date part is taken, as JSON serializers write dates), US `MM/DD/YYYY`,
European `DD/MM/YYYY`, `DD.MM.YYYY`, `DD-MM-YYYY`, and English month names
(`12 April 1985`, `Apr 12, 1985`). An ambiguous `04/05/1985` counts when either reading
is a real date.

Plausible: a real calendar date between 120 years before and the fixed `REFERENCE_DATE`
(no clock: convention 1; results never drift between runs). The reference is a
constant: bump it with releases, or derive it from the capture time if the engine ever
passes one in `FieldContext`.

Without a birth hint (`dob`, `birthDate`, `geburtsdatum`, `fecha_nacimiento`...) a date
is never a birth date: created/updated/order dates are far more common.

Not covered: epoch numbers, two-digit years, month-year or year-only values
(`birth_year`), non-English month names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    DIGIT,
    Category,
    DeclarativeClassifier,
    Rung,
    Shape,
    ValueGate,
)

REFERENCE_DATE = date(2026, 12, 31)
MAX_AGE_YEARS = 120

_MONTHS = {
    name: i + 1
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        )
    )
    for name in names
}
# Year first: ISO 8601 (with `-`, `/` or nothing) and an optional time part, ignored.
_YMD = re.compile(r"(\d{4})([-/]?)(\d{2})\2(\d{2})(?:[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2})?)?")
# Year last: day and month in either order, one separator used twice.
_XXY = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
# `12 April 1985`, `12. April 1985`, `April 12, 1985`, `Apr 12 1985`.
_DMY_NAME = re.compile(r"(\d{1,2})\.? ([A-Za-z]{3,9})\.?,? (\d{4})")
_MDY_NAME = re.compile(r"([A-Za-z]{3,9})\.? (\d{1,2}),? (\d{4})")
_MAX_CHARS = 32  # the longest form, an ISO date-time with fraction and offset


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _plausible(when: date | None) -> bool:
    earliest = date(REFERENCE_DATE.year - MAX_AGE_YEARS, 1, 1)
    return when is not None and earliest <= when <= REFERENCE_DATE


def _iso(value: str) -> bool:
    m = _YMD.fullmatch(value)
    return m is not None and _plausible(_date(int(m.group(1)), int(m.group(3)),
                                              int(m.group(4))))


def _year_last(value: str) -> tuple[int, int, int, bool] | None:
    """Day and month in either order, the year, and whether the separator is `/`."""
    m = _XXY.fullmatch(value)
    if m is None:
        return None
    return int(m.group(1)), int(m.group(3)), int(m.group(4)), m.group(2) == "/"


def _us(value: str) -> bool:
    """US month-first, only with slashes."""
    parts = _year_last(value)
    return parts is not None and parts[3] and _plausible(_date(parts[2], parts[0], parts[1]))


def _european(value: str) -> bool:
    """Day-first, when the US reading is not a date."""
    parts = _year_last(value)
    if parts is None:
        return False
    a, b, year, slash = parts
    if slash and _date(year, a, b) is not None:
        return False
    return _plausible(_date(year, b, a))


def _named(regex: re.Pattern[str], day: int, month: int) -> Callable[[str], bool]:
    def match(value: str) -> bool:
        m = regex.fullmatch(value)
        if m is None:
            return False
        number = _MONTHS.get(m.group(month).lower())
        return number is not None and _plausible(_date(int(m.group(3)), number,
                                                       int(m.group(day))))
    return match


_HINTS = frozenset({"birth", "born", "nacimiento", "nascita"})
_LADDER = (Rung(0.9, "field name hint", lambda ctx: not _HINTS.isdisjoint(ctx.name_tokens)),)


class DateOfBirthClassifier(DeclarativeClassifier):
    data_type: ClassVar[str] = "DATE_OF_BIRTH"
    category: ClassVar[Category] = Category.PII
    # Reads no sibling or object-key tokens.
    context_words: ClassVar[frozenset[str] | None] = frozenset()
    gate_reads_server: ClassVar[bool] = False
    hints: ClassVar[frozenset[str]] = _HINTS
    min_len: ClassVar[int] = 8
    max_len: ClassVar[int] = _MAX_CHARS
    # Hint-gated: most values of a birth field are dates.
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"date": lambda n, classes: DIGIT in classes}
    )
    # An ambiguous `04/05/1985` is read month-first when that is a date.
    shapes = (
        Shape("ISO 8601 date, plausible age", _iso, gate="date", ladder=_LADDER),
        Shape("US date, plausible age", _us, gate="date", ladder=_LADDER),
        Shape("European date, plausible age", _european, gate="date", ladder=_LADDER),
        Shape("day month-name year date, plausible age", _named(_DMY_NAME, 1, 2),
              gate="date", ladder=_LADDER),
        Shape("month-name day year date, plausible age", _named(_MDY_NAME, 2, 1),
              gate="date", ladder=_LADDER),
    )

    def prepare(self, value: str) -> str | None:
        value = value.strip()
        if not 8 <= len(value) <= _MAX_CHARS or not value[:1].isalnum():
            return None
        return value
