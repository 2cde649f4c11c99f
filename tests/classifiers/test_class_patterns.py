"""The parts of the required patterns a value's class string decides
(classifiers/_class_patterns.py), searched once per class string by the classifier set.

A decided part must answer alike for every ASCII value of one class string: values are
drawn from the pieces the patterns look for, then each character is swapped for another
of its class, and the decided part must find a match in both or in neither. The two
parts of a split pattern together find what the whole finds. What the analysis cannot
vouch for stays undecided.
"""

from __future__ import annotations

import random
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from classifiers._class_patterns import _alternatives, split_by_classes
from dpi.classify import _CLASSES, ClassifierSet
from dpi.registry import classifier_classes
from tests.classifiers.test_scan import PIECES

_NEEDS = [source for cls in classifier_classes() for source in cls.value_needs.values()]
_ASCII_PIECES = [piece for piece in PIECES if piece.isascii()]
# ASCII characters by class, to swap a character for another of its class.
_BY_CLASS: dict[int, list[str]] = {}
for _code in range(128):
    _BY_CLASS.setdefault(_CLASSES[_code], []).append(chr(_code))


def _split(source: str) -> tuple[str | None, str | None]:
    return split_by_classes(source, _CLASSES)


def test_the_built_in_patterns_split_as_expected() -> None:
    parts = {cls.data_type: _split(source) for cls in classifier_classes()
             for source in cls.value_needs.values()}
    for data_type in ("CARD_NUMBER", "CARD_TRACK_DATA", "DRUG_CODE", "IBAN", "US_SSN"):
        assert parts[data_type][1] is None, data_type  # wholly decided
    for data_type in ("API_KEY", "BEARER_TOKEN", "PHONE_NUMBER", "HEALTH_PLAN_ID"):
        assert parts[data_type][0] is None, data_type  # literal letters, digits 1-9
    decided, rest = parts["IP_ADDRESS"]
    assert decided is not None and rest is not None  # the dotted quad, and IPv6
    assert re.search(decided, "10.0.0.1") and not re.search(rest, "10.0.0.1")


def test_what_the_analysis_cannot_vouch_for_stays_undecided() -> None:
    for source in (r"(?i)[a-z]{2}", r"\bab", r"(?=\d)\d{3}", r"(\d)\1", "x", "[0-5]", "e",
                   r"[a-f]", "(unbalanced", r"\d{3}[^x]"):
        decided, rest = _split(source)
        assert decided is None and rest == source, source
    assert _split(r"[0-9]{3}|T3B|[A-Za-z][0-9]") == (r"[0-9]{3}|[A-Za-z][0-9]", "T3B")
    # Cut at the top-level `|` only: not in a set (`]` first is a member), an escape
    # or a group.
    pieces = _alternatives(r"[]|]|\||(?:a|b)|[^]|]")
    assert pieces is not None
    assert [piece for piece, _ in pieces] == ["[]|]", r"\|", "(?:a|b)", "[^]|]"]
    assert _split(r"^\s*-$") == (r"^\s*-$", None)


def _same_classes(value: str, rng: random.Random) -> str:
    """`value` with each character swapped for a random one of its class."""
    return "".join(rng.choice(_BY_CLASS[_CLASSES[ord(ch)]]) for ch in value)


@settings(max_examples=3000, deadline=None)
@given(pieces=st.lists(st.sampled_from(_ASCII_PIECES), max_size=10),
       seed=st.integers(0, 2**32 - 1))
def test_a_decided_part_answers_alike_for_one_class_string(pieces: list[str],
                                                          seed: int) -> None:
    value = "".join(pieces)
    other = _same_classes(value, random.Random(seed))
    assert value.encode().translate(_CLASSES) == other.encode().translate(_CLASSES)
    for source in _NEEDS:
        decided, rest = _split(source)
        whole = re.search(source, value) is not None
        parts = [part for part in (decided, rest) if part is not None]
        assert whole == any(re.search(part, value) for part in parts), source
        if decided is not None:
            assert (re.search(decided, value) is None) == (re.search(decided, other) is None)


def test_the_set_searches_a_decided_part_once_per_class_string() -> None:
    classifiers = ClassifierSet()
    ctx = classifiers.context("http", "body", "order.createdAt", "POST /v1/orders",
                              frozenset({"order", "created", "at"}))
    for second in range(10, 20):
        assert classifiers.score(f"2026-01-05T10:22:{second}.123Z", ctx) == []
    shape = b"2026-01-05T10:22:33.123Z".translate(_CLASSES)
    admitted, unsearched, hits = classifiers._by_shape[shape]
    assert admitted
    asked = classifiers._decided ^ unsearched
    assert asked and unsearched & classifiers._decided == unsearched and hits == 0
    assert len(classifiers._by_shape) == 1  # ten values, one class string
