"""Which alternatives of a required pattern a value's string of character classes decides.

The classifier set (`dpi/classify.py`) reads an ASCII value as its string of character
classes (`classifiers/base.py`: `2024-01-05` is `dddd-dd-dd`), and many values share one:
timestamps, dates, phone numbers in one layout. A required pattern
(`Classifier.value_needs`, `classifiers/_scan.py`) whose every character test (a
literal, a set, `.`, `\\d`...) accepts whole classes or none of each finds a match in a
value exactly when it finds one in any other value of the same class string: `re` takes
the same path through both, position by position. Such a pattern is searched once per
class string and its answer kept; the others are searched in every value.

`split_by_classes` splits a pattern at its top-level `|` into the alternatives the class
string decides and the rest: a search of the whole finds a match exactly when a search
of one of the two parts does. Anything the analysis does not know (flags, lookaround,
backreferences, word boundaries, an alternative that does not parse alone) counts as
not decided, which is always safe.
"""

from __future__ import annotations

import re
from functools import cache

# `re`'s own parser: the patterns are parsed once, when a classifier set is made.
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

_ASCII = frozenset(range(128))
_LEAVES = frozenset({sre.LITERAL, sre.NOT_LITERAL, sre.ANY, sre.IN, sre.CATEGORY})
_REPEATS = frozenset({sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT})
_ANCHORS = frozenset({sre.AT_BEGINNING, sre.AT_END, sre.AT_BEGINNING_STRING,
                      sre.AT_END_STRING})
# The escapes of `re`'s categories, to read their ASCII members from `re` itself.
_CATEGORY_ESCAPES = {
    sre.CATEGORY_DIGIT: r"\d", sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s", sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w", sre.CATEGORY_NOT_WORD: r"\W",
}


def split_by_classes(source: str, table: bytes) -> tuple[str | None, str | None]:
    """(decided, rest): the top-level alternatives of `source` whose search in an ASCII
    value its class string decides (`table`: byte -> class, as `bytes.translate` reads
    it), joined with `|`, and the other alternatives; None for an empty part."""
    decided: list[str] = []
    rest: list[str] = []
    pieces = _alternatives(source)
    if pieces is None:
        return None, source
    members = _class_members(table)
    for piece, parsed in pieces:
        (decided if _decided(parsed, members) else rest).append(piece)
    return ("|".join(decided) if decided else None), ("|".join(rest) if rest else None)


def _alternatives(source: str) -> list[tuple[str, Any]] | None:
    """`source` cut at its top-level `|` (outside groups, sets and escapes), each piece
    with its parse, or None for a piece that holds a literal letter or digit (outside
    sets, escapes and `{m,n}`): such a character accepts part of a class only, so the
    piece is undecided without parsing it (`AKIA|ASIA|...`; a misread errs towards
    undecided). None when the cut is in doubt (unbalanced brackets, or a piece that
    does not parse)."""
    pieces: list[tuple[str, bool]] = []  # (piece, holds a literal letter or digit)
    depth = start = i = 0
    in_set = literal = False
    while i < len(source):
        ch = source[i]
        if ch == "\\":
            i += 2
            continue
        if in_set:
            in_set = ch != "]"
        elif ch == "[":
            in_set = True
            i += 1
            # `]` right after `[` or `[^` is a member, not the end of the set.
            if source[i:i + 1] == "^":
                i += 1
            if source[i:i + 1] == "]":
                i += 1
            continue
        elif ch == "{":
            end = source.find("}", i)
            i = end + 1 if end > 0 else i + 1
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "|" and depth == 0:
            pieces.append((source[start:i], literal))
            start = i + 1
            literal = False
        elif ch.isascii() and ch.isalnum():
            literal = True
        i += 1
    if depth or in_set:
        return None
    pieces.append((source[start:], literal))
    try:
        return [(piece, None if literal else sre_parse.parse(piece))
                for piece, literal in pieces]
    except re.error:
        return None


@cache
def _class_members(table: bytes) -> tuple[frozenset[int], ...]:
    """The ASCII codes of each class of `table`."""
    by_class: dict[int, set[int]] = {}
    for code in range(128):
        by_class.setdefault(table[code], set()).add(code)
    return tuple(frozenset(codes) for codes in by_class.values())


def _decided(parsed: Any, members: tuple[frozenset[int], ...]) -> bool:
    if parsed is None:
        return False
    # A plain `str` pattern carries the UNICODE flag only; IGNORECASE and the like
    # change what a character test accepts.
    if parsed.state.flags & ~sre.SRE_FLAG_UNICODE:
        return False
    return _items_decided(parsed, members)


def _items_decided(items: Any, members: tuple[frozenset[int], ...]) -> bool:
    for op, av in items:
        if op in _LEAVES:
            chars = _chars(op, av)
            if chars is None or any(not (chars >= codes or chars.isdisjoint(codes))
                                    for codes in members):
                return False
        elif op in _REPEATS:
            if not _items_decided(av[2], members):
                return False
        elif op is sre.SUBPATTERN:
            _group, add_flags, del_flags, sub = av
            if add_flags or del_flags or not _items_decided(sub, members):
                return False
        elif op is sre.BRANCH:
            if not all(_items_decided(sub, members) for sub in av[1]):
                return False
        elif op is sre.AT:
            if av not in _ANCHORS:
                return False
        else:
            return False
    return True


def _chars(op: Any, av: Any) -> frozenset[int] | None:
    """The ASCII codes one character test accepts; None when not known here."""
    if op is sre.LITERAL:
        return frozenset({av}) & _ASCII
    if op is sre.NOT_LITERAL:
        return _ASCII - {av}
    if op is sre.ANY:
        return _ASCII - {ord("\n")}
    if op is sre.CATEGORY:
        return _category(av)
    accepted: set[int] = set()
    negated = False
    for item_op, item in av:
        if item_op is sre.LITERAL:
            accepted.add(item)
        elif item_op is sre.RANGE:
            accepted.update(range(item[0], item[1] + 1))
        elif item_op is sre.NEGATE:
            negated = True
        elif item_op is sre.CATEGORY:
            found = _category(item)
            if found is None:
                return None
            accepted |= found
        else:
            return None
    chars = frozenset(accepted) & _ASCII
    return _ASCII - chars if negated else chars


@cache
def _category(category: Any) -> frozenset[int] | None:
    escape = _CATEGORY_ESCAPES.get(category)
    if escape is None:
        return None
    test = re.compile(escape)
    return frozenset(code for code in range(128) if test.fullmatch(chr(code)))
