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


# The hundred most common Chinese family names (single characters, simplified script; the
# national census ranking, public knowledge as the Hundred Family Surnames are): Faker's
# lists miss a few of them (肖, 付, 闫).
COMMON_CHINESE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任"
    "沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)


def known_family_name(word: str) -> bool:
    return word in COMMON_CHINESE_SURNAMES or word.casefold() in name_lists()[1]


def han_name(word: str) -> bool:
    """A Chinese personal name as written: 2-4 Han characters, the first one (or two,
    for compound surnames such as 欧阳) a known family name."""
    if not 2 <= len(word) <= 4 or not all("\u4e00" <= ch <= "\u9fff" for ch in word):
        return False
    return known_family_name(word[0]) or (len(word) >= 3 and known_family_name(word[:2]))
