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
from collections.abc import Mapping
from datetime import date
from types import MappingProxyType
from typing import ClassVar

from classifiers.base import (
    DIGIT,
    Category,
    Classifier,
    FieldContext,
    Finding,
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


class DateOfBirthClassifier(Classifier):
    data_type: ClassVar[str] = "DATE_OF_BIRTH"
    category: ClassVar[Category] = Category.PII
    hints: ClassVar[frozenset[str]] = frozenset({"birth", "born", "nacimiento", "nascita"})
    min_len: ClassVar[int] = 8
    max_len: ClassVar[int] = _MAX_CHARS
    # Hint-gated: most values of a birth field are dates.
    min_share: ClassVar[float] = 0.5
    value_gates: ClassVar[Mapping[str, ValueGate]] = MappingProxyType(
        {"date": lambda n, classes: DIGIT in classes}
    )

    def gate(self, ctx: FieldContext) -> str | None:
        return "date" if self.hinted(ctx) else None

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        if not self.hinted(ctx):
            return None
        value = value.strip()
        if not 8 <= len(value) <= _MAX_CHARS or not value[:1].isalnum():
            return None
        found = self._parse(value)
        if found is None:
            return None
        fmt, when = found
        earliest = date(REFERENCE_DATE.year - MAX_AGE_YEARS, 1, 1)
        if not earliest <= when <= REFERENCE_DATE:
            return None
        return self.finding(0.9, f"{fmt} date, plausible age, field name hint")

    @staticmethod
    def _parse(value: str) -> tuple[str, date] | None:
        m = _YMD.fullmatch(value)
        if m:
            d = _date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
            return ("ISO 8601", d) if d else None
        m = _XXY.fullmatch(value)
        if m:
            a, b, year = int(m.group(1)), int(m.group(3)), int(m.group(4))
            # US month-first, else European day-first.
            d = _date(year, a, b) if m.group(2) == "/" else None
            if d:
                return ("US", d)
            d = _date(year, b, a)
            return ("European", d) if d else None
        m = _DMY_NAME.fullmatch(value)
        if m:
            month = _MONTHS.get(m.group(2).lower())
            d = _date(int(m.group(3)), month, int(m.group(1))) if month else None
            return ("day month-name year", d) if d else None
        m = _MDY_NAME.fullmatch(value)
        if m:
            month = _MONTHS.get(m.group(1).lower())
            d = _date(int(m.group(3)), month, int(m.group(2))) if month else None
            return ("month-name day year", d) if d else None
        return None
