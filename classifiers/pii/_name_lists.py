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
bytes plus a hash table of where each name starts (`NameList`): two frozensets of 59,000
str objects cost 6.7 MB of a scan's peak memory, this costs 1.6 MB, and a lookup (a
crc32, about one bytes comparison) answers exactly as set membership did. Written here
rather than taken from `marisa-trie`, which would hold the lists in less, because its
5.3 MB extension does not fit the core install's budget (tests/test_install_size.py).
"""

from __future__ import annotations

import gzip
import zlib
from array import array
from functools import lru_cache
from importlib.resources import files

# Given names that are also common words of labels and products: listed by some locale,
# but a `name` field starting with one says nothing about a person.
_AMBIGUOUS = frozenset({"sky", "rose", "paris", "april", "may", "june", "summer", "star",
                        "sun", "joy", "hope", "faith", "grace", "art", "bill", "page",
                        "river", "ocean", "autumn", "dawn", "angel", "king", "major",
                        "china", "india", "ireland", "london", "new", "big", "main"})


class NameList:
    """A set of names (one per line of `text`, UTF-8, each line ending in a newline)
    without a str object per name: a hash table over `text`. Names are bucketed by the
    top bits of their crc32, about one a bucket; bucket b's names start in `text` at
    `_starts[_first[b] : _first[b + 1]]`. Membership is exact: names are compared on
    their bytes."""

    __slots__ = ("_first", "_shift", "_starts", "_text")

    def __init__(self, text: bytes, leave_out: frozenset[str] = frozenset()) -> None:
        if text and not text.endswith(b"\n"):
            text += b"\n"
        left_out = {name.encode("utf-8") for name in leave_out}
        buckets = array("I")
        starts = array("I")
        start = 0
        while start < len(text):
            end = text.index(b"\n", start)
            name = text[start:end]
            if name and name not in left_out:
                buckets.append(zlib.crc32(name))
                starts.append(start)
            start = end + 1
        bits = max(1, len(starts).bit_length())
        self._shift = shift = 32 - bits
        for at, hashed in enumerate(buckets):
            buckets[at] = hashed >> shift
        order = sorted(range(len(starts)), key=buckets.__getitem__)
        self._starts = array("I", [starts[at] for at in order])
        # first[b + 1] counts the names of buckets up to b: where bucket b + 1 starts.
        first = array("I", bytes(4 * ((1 << bits) + 1)))
        for bucket in buckets:
            first[bucket + 1] += 1
        for bucket in range(1 << bits):
            first[bucket + 1] += first[bucket]
        self._first = first
        self._text = text

    def __len__(self) -> int:
        return len(self._starts)

    def __contains__(self, name: str) -> bool:
        if not name or "\n" in name:
            return False
        # surrogatepass: a lone surrogate (from lenient decoding) cannot raise here, and
        # its bytes are not UTF-8, so they match no listed name.
        encoded = name.encode("utf-8", "surrogatepass")
        bucket = zlib.crc32(encoded) >> self._shift
        first, starts, text = self._first, self._starts, self._text
        line = encoded + b"\n"
        for at in range(first[bucket], first[bucket + 1]):
            if text.startswith(line, starts[at]):
                return True
        return False


def _load(name: str) -> NameList:
    data = files("classifiers.pii").joinpath("data", name).read_bytes()
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
