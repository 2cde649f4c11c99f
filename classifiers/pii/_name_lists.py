"""Given names and family names of many countries, as evidence that a value is a person's.

The lists are Faker's person providers (MIT licence, `data/FAKER-LICENSE.txt`; some 31,000
given and 28,500 family names over 86 locales, Latin, Cyrillic, Greek, Arabic, Hebrew,
CJK and Indic scripts): the largest permissively licensed set of names per locale on
PyPI. `gender-guesser` (about 40,000 given names) is GPLv3 and `probablepeople`/
`nameparser` parse structure rather than list names, at 200 microseconds a value
(measured; see the README's Classifiers). They ship as data (`data/*.txt.gz`, written by
`scripts/make_name_lists.py`): importing Faker's 130 locale modules at scan time cost
about 30 MB of memory and 0.2 s, and the lists would change with every Faker release.

Loaded on first use, once per process, and only by a classifier that has a field worth
the look: a scan that meets no unhinted `name` field never pays it.
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from importlib.resources import files

# Given names that are also common words of labels and products: listed by some locale,
# but a `name` field starting with one says nothing about a person.
_AMBIGUOUS = frozenset({"sky", "rose", "paris", "april", "may", "june", "summer", "star",
                        "sun", "joy", "hope", "faith", "grace", "art", "bill", "page",
                        "river", "ocean", "autumn", "dawn", "angel", "king", "major",
                        "china", "india", "ireland", "london", "new", "big", "main"})


def _load(name: str) -> frozenset[str]:
    data = files("classifiers.pii").joinpath("data", name).read_bytes()
    # One name a line; a name may hold spaces (`de la cruz`).
    return frozenset(n for n in gzip.decompress(data).decode("utf-8").split("\n") if n) - _AMBIGUOUS


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names), case-folded."""
    return _load("given-names.txt.gz"), _load("family-names.txt.gz")


def known_given_name(word: str) -> bool:
    return word.casefold() in name_lists()[0]


def known_family_name(word: str) -> bool:
    return word.casefold() in name_lists()[1]
