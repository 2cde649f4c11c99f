"""One multi-pattern scan over a value: which of the classifiers' required patterns occur.

Classifiers declare, per value gate, a regex that every value they can report contains
(`Classifier.value_needs`); the classifier set asks this module, once per value, which of
the candidate classifiers' patterns occur, and calls only those. Two engines give the
same answer:

- `re` (the default, always there): each requested pattern searched with its compiled
  regex, in one loop;
- Hyperscan (`pip install 'dpi-inventory[fast]'` and `DPI_SCAN_ENGINE=hyperscan`): every
  pattern in one database, the value scanned once, each pattern reported at most once.
  Opt-in: the scan itself is faster (1.3 us a value instead of 2.3 us), but a whole scan
  was not (the scan is a small share of a value's cost) and the library adds ~8 MB of
  resident memory.

Scans are for ASCII values only (the caller sends the rest straight to the classifiers),
so the patterns are written over ASCII and both engines read them alike: byte-oriented
Hyperscan and Unicode `re` agree on ASCII text. Patterns must be in the subset both
engines know (no lookaround, no backreferences). `DPI_SCAN_ENGINE` picks the engine
(`re` or `hyperscan`; the benchmark uses it to measure both).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Mapping
from typing import Any

ENGINE_VARIABLE = "DPI_SCAN_ENGINE"
# Bound of the `re` scanner's table of searches per wanted set.
_MAX_WANTED_SETS = 1024


class _ReScanner:
    """`re`: one compiled regex per bit."""

    engine = "re"

    def __init__(self, patterns: Mapping[int, str]) -> None:
        self._compiled = tuple((bit, re.compile(source)) for bit, source in patterns.items())
        # Per set of wanted bits, the searches to run: few distinct sets occur (those of
        # the classifiers a context lets through), and each value asks for one of them.
        self._searches: dict[int, tuple[tuple[int, Callable[[str], object]], ...]] = {}

    def hits(self, value: str, wanted: int) -> int:
        searches = self._searches.get(wanted)
        if searches is None:
            if len(self._searches) >= _MAX_WANTED_SETS:
                self._searches.clear()
            searches = self._searches[wanted] = tuple(
                (bit, regex.search) for bit, regex in self._compiled if wanted & bit)
        found = 0
        for bit, search in searches:
            if search(value) is not None:
                found |= bit
        return found


class _HyperscanScanner:
    """Hyperscan: all patterns in one block-mode database, one scan per value. The
    database is compiled at the first scan (about 0.1 s: a run that never needs it
    does not pay) and shared by the scanners of the same patterns in one thread; the
    scanner itself stays in the thread that first scanned with it."""

    engine = "hyperscan"

    def __init__(self, patterns: Mapping[int, str], hyperscan: Any) -> None:
        self._patterns = tuple(patterns.items())
        self._bits = [bit for bit, _ in self._patterns]
        self._hyperscan = hyperscan
        self._db: Any = None

    def _compile(self) -> Any:
        # A database scans with its own scratch space: one per thread.
        key = (threading.get_ident(), self._patterns)
        db = _DATABASES.get(key)
        if db is None:
            hs = self._hyperscan
            db = hs.Database(mode=hs.HS_MODE_BLOCK)
            db.compile(
                expressions=[source.encode("ascii") for _, source in self._patterns],
                ids=list(range(len(self._patterns))),
                elements=len(self._patterns),
                flags=[hs.HS_FLAG_SINGLEMATCH] * len(self._patterns),
            )
            _DATABASES[key] = db
        self._db = db
        return db

    def hits(self, value: str, wanted: int) -> int:
        db = self._db or self._compile()
        found: list[int] = []
        db.scan(value.encode("ascii"), match_event_handler=_collect, context=found)
        bits = self._bits
        mask = 0
        for index in found:
            mask |= bits[index]
        return mask & wanted


# Compiled databases by thread and patterns (one or two per process).
_DATABASES: dict[tuple[int, tuple[tuple[int, str], ...]], Any] = {}


def _collect(index: int, start: int, end: int, flags: int, found: list[int]) -> None:
    found.append(index)


Scanner = _ReScanner | _HyperscanScanner


def scanner(patterns: Mapping[int, str], engine: str | None = None) -> Scanner:
    """A scanner over `patterns` (bit -> regex source): Hyperscan when asked for (`engine`
    or $DPI_SCAN_ENGINE = "hyperscan"; ImportError without the `[fast]` extra), else `re`."""
    choice = engine or os.environ.get(ENGINE_VARIABLE, "")
    if choice == "hyperscan" and patterns:
        import hyperscan

        return _HyperscanScanner(patterns, hyperscan)
    return _ReScanner(patterns)
