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
the look: a scan that meets no unhinted `name` field never pays it. Held as the file's
bytes, sorted, with a sparse index of its lines (`NameList`): two frozensets of 59,000
str objects cost 6.7 MB of a scan's peak memory, the text and index cost 0.8 MB, loading
them is a decompression and a millisecond (the hash table of name starts built before
cost ~60 ms a process), and a lookup (about a microsecond, as before) answers exactly as
set membership did. Written here
rather than taken from `marisa-trie`, because its 5.3 MB extension does not fit the core
install's budget (tests/test_install_size.py).
"""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

from classifiers._sorted_lines import SortedLines

# Given names that are also common words of labels and products: listed by some locale,
# but a `name` field starting with one says nothing about a person.
_AMBIGUOUS = frozenset({"sky", "rose", "paris", "april", "may", "june", "summer", "star",
                        "sun", "joy", "hope", "faith", "grace", "art", "bill", "page",
                        "river", "ocean", "autumn", "dawn", "angel", "king", "major",
                        "china", "india", "ireland", "london", "new", "big", "main"})


class NameList:
    """A set of names (one per line of `text`, UTF-8, sorted by their bytes as the
    shipped lists are) without a str object per name: the text itself and a sparse
    index of its lines (`classifiers/_sorted_lines.py`). Membership is exact: names are compared
    on their bytes. The names of `leave_out` are not members."""

    __slots__ = ("_leave_out", "_lines")

    def __init__(self, text: bytes, leave_out: frozenset[str] = frozenset()) -> None:
        self._lines = SortedLines(text)
        self._leave_out = leave_out

    def __len__(self) -> int:
        lines = self._lines
        return len(lines) - sum(name.encode("utf-8") in lines for name in self._leave_out)

    def __contains__(self, name: str) -> bool:
        if not name or "\n" in name or name in self._leave_out:
            return False
        # surrogatepass: a lone surrogate (from lenient decoding) cannot raise here, and
        # its bytes are not UTF-8, so they match no listed name.
        return name.encode("utf-8", "surrogatepass") in self._lines


# Found beside this file, as the ICD-10-CM list is (importlib.resources, which the scan
# would import for this alone, costs more to import than the lists cost to load).
_DATA = Path(__file__).with_name("data")


def _load(name: str) -> NameList:
    data = (_DATA / name).read_bytes()
    # One name a line; a name may hold spaces (`de la cruz`).
    return NameList(gzip.decompress(data), _AMBIGUOUS)


@lru_cache(maxsize=1)
def name_lists() -> tuple[NameList, NameList]:
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
