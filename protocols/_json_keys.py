"""Which object keys are data, not names (spec/inventory.md, "field": object keys that
are data are templated to `{key}`).

Two rules, both decided per object from its own keys alone (no state across messages,
so the same body always gives the same paths, in any scan order, in any worker):

- A key whose shape is data is templated wherever it appears: a number (`404`, `-1`,
  `0.5`), a version (`1.2.0`, `2.0.0-beta.3`, `v1.2`), an IPv4 or IPv6 address, a UUID,
  a date or time (`2024-01-31`, `2024-01-31T10:00:00Z`, `10:30`, `31/01/2024`), an e-mail
  address, a phone number (`+1 (555) 010-9999`), a hex id or hash of 8+ characters with
  a digit (`5f2b9c01`, a 40-hex commit id, `0x1f...`), 16+ hex characters, or a random
  id (`_random_id`: Elasticsearch's node ids `YsYS37z_QFm6_g_IacfMRw`, nanoids).
- A map keyed by ids: an object of at least `MAP_MIN_KEYS` keys, at least two thirds of
  which are data-shaped or id-like, has *all* its keys templated (the others are ids too
  that happen to look like words, or entries such as `created` beside the version keys
  of an npm `time` map). Id-like: 6+ characters of letters, digits and `_-.:` with at
  least two digits, other than a word with a short number after it (`line1`,
  `address_2`, `sha256`, `field12`: real field names), or a word with a long number
  (`user_12345`, `ord98765`).

A random id is 16+ characters of the base64url alphabet with upper case, lower case and
digits that reads as random, not as camelCase words: the character class (upper, lower,
digit, `_-`) changes at 45% or more of its adjacent pairs, and under half of it is words
(a capital and two or more lower-case letters, or three or more lower-case letters).
Field names that carry digits read the other way on both counts (`sha256Fingerprint`,
`oauth2ClientSecret`, `Ipv6CidrBlockAssociationSet`, `Tls12EcdheRsaAes128GcmSha256`:
at most 0.52 changes and at least 0.47 words); about 87% of random 16-32 character
base64url strings are caught (more of the longer ones), the rest stay raw as before.

Not caught here: maps keyed by words (`{"alice": ..., "bob": ...}`, package names):
nothing in one object tells those keys from field names. What does is that they keep
changing from message to message: `dpi/map_keys.py` counts them per API and parent path.
"""

from __future__ import annotations

import re
from itertools import pairwise
from typing import Final

# At least this many keys before an object can be judged a map by its key shapes.
MAP_MIN_KEYS: Final = 3

NAME: Final = 0  # an ordinary field name
ID_LIKE: Final = 1  # counts towards the map rule only
DATA: Final = 2  # templated on its own

_DATA_SHAPE: Final = re.compile(
    r"""
    [-+]?[0-9]+(?:[.,][0-9]+)*(?:[-+][0-9A-Za-z][0-9A-Za-z.+-]*)?  # number, version, IPv4, date
    | v[0-9]+(?:\.[0-9]+)+(?:[-+][0-9A-Za-z][0-9A-Za-z.+-]*)?       # v1.2.3
    | \{?[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\}?   # UUID
    | [0-9]{4}-[0-9]{2}-[0-9]{2}[T\ ][0-9:.]+(?:Z|[-+][0-9]{2}:?[0-9]{2})?  # date-time
    | [0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?                 # time
    | [0-9]{1,4}/[0-9]{1,2}/[0-9]{1,4}                               # 31/01/2024
    | [^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+                                # e-mail address
    | \+?\(?[0-9][0-9\ ().-]{5,}[0-9]                                # phone number
    | (?:0x)?(?=[a-fA-F]*[0-9])[0-9a-fA-F]{8,}                       # hex id with a digit
    | [0-9a-fA-F]{16,}                                               # long hex
    | [0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}                     # IPv6
    """,
    re.VERBOSE,
)
_ID_CHARS: Final = re.compile(r"[A-Za-z0-9_.:-]{6,}")
_DIGIT: Final = re.compile(r"[0-9]")
# A word (or words) with a short number after it: `line1`, `address_2`, `sha256`.
_NAME_WITH_NUMBER: Final = re.compile(r"[A-Za-z]+(?:[_-][A-Za-z]+)*[_-]?[0-9]{1,3}")
# Random ids (`_random_id`, module docstring): the alphabet and length, then class changes
# and words.
_RANDOM_ID_CHARS: Final = re.compile(r"[A-Za-z0-9_-]{16,}")
_UPPER: Final = re.compile(r"[A-Z]")
_LOWER: Final = re.compile(r"[a-z]")
_WORD: Final = re.compile(r"[A-Z][a-z]{2,}|[a-z]{3,}")
_CHAR_CLASS: Final = str.maketrans(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-",
    "U" * 26 + "L" * 26 + "D" * 10 + "SS",
)
MIN_RANDOM_CHANGES: Final = 0.45
MAX_RANDOM_WORDS: Final = 0.5
# Shapes are only tried on keys this short: longer ones are cut anyway (max_key_chars),
# and an e-mail address is at most 254 characters.
_MAX_SHAPED: Final = 320

# key -> NAME, for the names among the keys of the bodies seen: field names repeat in
# every object of a body, so the regexes run once per distinct name. Bounded, and only
# short keys. Keys that are data (an e-mail address, an id) are never kept: they are
# values from the traffic, judged again each time.
_CACHE: dict[str, int] = {}
_CACHE_MAX: Final = 65_536
# Keys up to this long are cached, and the NAME ones are also in PLAIN_NAMES.
CACHE_KEY_CHARS: Final = 64
# The short keys known to be names: `PLAIN_NAMES.issuperset(obj)` (one C loop) tells the
# walk that an object needs no templating and no key cut, the common case.
PLAIN_NAMES: set[str] = set()


def key_class(key: str) -> int:
    """NAME, ID_LIKE or DATA for one object key."""
    cls = _CACHE.get(key)
    if cls is not None:
        return cls
    cls = _classify(key)
    if cls == NAME and len(key) <= CACHE_KEY_CHARS:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.clear()
            PLAIN_NAMES.clear()
        _CACHE[key] = cls
        PLAIN_NAMES.add(key)
    return cls


def _classify(key: str) -> int:
    if not key or len(key) > _MAX_SHAPED:
        return NAME
    if "@" not in key and _DIGIT.search(key) is None:
        return NAME  # every data shape has a digit or an `@`; most names have neither
    if _DATA_SHAPE.fullmatch(key) or _random_id(key):
        return DATA
    if (
        _ID_CHARS.fullmatch(key)
        and len(_DIGIT.findall(key)) >= 2
        and not _NAME_WITH_NUMBER.fullmatch(key)
    ):
        return ID_LIKE
    return NAME


def _random_id(key: str) -> bool:
    """16+ base64url characters with upper, lower and digits that read as random: many
    class changes, few words (module docstring). The caller has seen a digit."""
    if (_RANDOM_ID_CHARS.fullmatch(key) is None or _UPPER.search(key) is None
            or _LOWER.search(key) is None):
        return False
    classes = key.translate(_CHAR_CLASS)
    changes = sum(1 for a, b in pairwise(classes) if a != b)
    if changes < MIN_RANDOM_CHANGES * (len(key) - 1):
        return False
    words = sum(len(word) for word in _WORD.findall(key))
    return words < MAX_RANDOM_WORDS * len(key)


def templated_keys(obj: dict[str, object]) -> frozenset[str] | bool:
    """The keys of `obj` to template: True for all of them (a map keyed by ids), a set
    of data-shaped keys, or an empty set (the common case: every key is a name)."""
    data: list[str] = []
    id_like = 0
    classify = key_class
    for key in obj:
        cls = classify(key)
        if cls:
            id_like += 1
            if cls == DATA:
                data.append(key)
    if not id_like:
        return _NONE
    if len(obj) >= MAP_MIN_KEYS and id_like * 3 >= len(obj) * 2:
        return True
    return frozenset(data)


_NONE: Final[frozenset[str]] = frozenset()
