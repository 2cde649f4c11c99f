"""Given names and family names of many countries, as evidence that a value is a person's.

The lists are Faker's person providers (MIT licence; some 31,000 given names over 86
locales, Latin, Cyrillic, Greek, Arabic, Hebrew, CJK and Indic scripts): the largest
permissively licensed set of names per locale on PyPI. `gender-guesser` (about 40,000
given names) is GPLv3 and `probablepeople`/`nameparser` parse structure rather than
list names, at 200 microseconds a value (measured; see the README's Classifiers).

Loaded on first use, once per process (about 0.4 s), and only by a classifier that
has a field worth the look: a scan that meets no unhinted `name` field never pays it.
Without Faker installed the lists are empty and this evidence is simply absent.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import lru_cache

_ATTRIBUTES_GIVEN = ("first_names", "first_names_male", "first_names_female",
                     "first_names_nonbinary", "first_names_unisex")
_ATTRIBUTES_FAMILY = ("last_names", "last_names_male", "last_names_female")
# Given names that are also common words of labels and products: listed by some locale,
# but a `name` field starting with one says nothing about a person.
_AMBIGUOUS = frozenset({"sky", "rose", "paris", "april", "may", "june", "summer", "star",
                        "sun", "joy", "hope", "faith", "grace", "art", "bill", "page",
                        "river", "ocean", "autumn", "dawn", "angel", "king", "major",
                        "china", "india", "ireland", "london", "new", "big", "main"})


def _names(provider: object, attributes: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for attribute in attributes:
        listed = getattr(provider, attribute, None)
        if isinstance(listed, (dict, list, tuple, set, frozenset)):
            out.update(str(k) for k in listed)
    return out


@lru_cache(maxsize=1)
def name_lists() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, family names), case-folded; empty without Faker."""
    try:
        person = importlib.import_module("faker.providers.person")
    except ImportError:
        return frozenset(), frozenset()
    given: set[str] = set()
    family: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        except (ImportError, AttributeError):
            continue
        given |= {n.casefold() for n in _names(provider, _ATTRIBUTES_GIVEN)}
        family |= {n.casefold() for n in _names(provider, _ATTRIBUTES_FAMILY)}
    return frozenset(given - _AMBIGUOUS), frozenset(family - _AMBIGUOUS)


def known_given_name(word: str) -> bool:
    return word.casefold() in name_lists()[0]


def known_family_name(word: str) -> bool:
    return word.casefold() in name_lists()[1]
