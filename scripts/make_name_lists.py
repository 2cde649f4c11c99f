"""Writes the person-name lists the name classifiers read (classifiers/pii/data/).

    pip install 'faker>=40' && python scripts/make_name_lists.py

The lists are Faker's person providers (MIT, see classifiers/pii/data/FAKER-LICENSE.txt):
given and family names of every locale Faker has, case-folded, sorted, one per line,
gzip-compressed (about 100 KB each). Shipping them as data instead of importing Faker at
scan time saves 25 MB of install and about 30 MB of memory (Faker's 130 locale modules)
and makes the lists fixed: a scan does not change when Faker is upgraded. Same Faker
version, same bytes (gzip mtime 0).
"""

from __future__ import annotations

import gzip
import importlib
import pkgutil
from pathlib import Path

DATA = Path(__file__).resolve().parents[1] / "classifiers" / "pii" / "data"
GIVEN = ("first_names", "first_names_male", "first_names_female", "first_names_nonbinary",
         "first_names_unisex")
FAMILY = ("last_names", "last_names_male", "last_names_female")


def _names(provider: object, attributes: tuple[str, ...]) -> set[str]:
    out: set[str] = set()
    for attribute in attributes:
        listed = getattr(provider, attribute, None)
        if isinstance(listed, (dict, list, tuple, set, frozenset)):
            out.update(str(k).casefold() for k in listed)
    return out


def main() -> int:
    person = importlib.import_module("faker.providers.person")
    given: set[str] = set()
    family: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        try:
            provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        except (ImportError, AttributeError):
            continue
        given |= _names(provider, GIVEN)
        family |= _names(provider, FAMILY)
    for name, names in (("given-names.txt.gz", given), ("family-names.txt.gz", family)):
        text = "\n".join(sorted(n for n in names if n and "\n" not in n)) + "\n"
        (DATA / name).write_bytes(gzip.compress(text.encode("utf-8"), 9, mtime=0))
        print(f"{name}: {len(names)} names")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
