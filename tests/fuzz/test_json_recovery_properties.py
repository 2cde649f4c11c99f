"""Hypothesis properties of damaged-JSON recovery (protocols/_json_recovery.py through
protocols/payload.py): a document cut anywhere, or followed by anything, still gives the
values that were whole before the damage, in bounds, and the damage is counted."""

from __future__ import annotations

from collections import Counter

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols.base import Limits, Location, Part
from protocols.payload import field_pairs

# Names only (letters): no key is data-shaped, so cutting an object never changes
# whether its keys are templated.
_NAMES = st.text(alphabet="abcdefghij", min_size=1, max_size=5)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_NAMES, children, max_size=4),
    max_leaves=30,
)
_LIMITS = Limits(max_fields_per_part=500)


def _pairs(data: bytes) -> tuple[list[tuple[str, str]], Counter[str]]:
    part = Part(location=Location.BODY, name="", data=data, media_type="application/json")
    damage: Counter[str] = Counter()
    return field_pairs(part, _LIMITS, None, Counter(), damage), damage


@settings(max_examples=200)
@given(doc=_JSON, cut=st.floats(0.0, 1.0))
def test_a_cut_document_keeps_its_whole_values(doc: object, cut: float) -> None:
    data = orjson.dumps(doc)
    whole, _ = _pairs(data)
    end = int(len(data) * cut)
    got, damage = _pairs(data[:end])
    # Every value but the last (which the cut may have shortened) is one of the whole
    # document's, in the same order.
    assert got[:-1] == whole[: max(len(got) - 1, 0)]
    if 0 < end < len(data) and data[:1] in b"[{":
        assert sum(damage.values()) >= 1  # a cut container never parses: counted


@settings(max_examples=100)
@given(doc=_JSON.filter(lambda d: isinstance(d, (dict, list))), tail=st.binary(min_size=1, max_size=40))
def test_trailing_bytes_keep_the_document(doc: object, tail: bytes) -> None:
    data = orjson.dumps(doc)
    whole, _ = _pairs(data)
    got, damage = _pairs(data + b" x" + tail)
    assert got[: len(whole)] == whole
    assert damage["json_trailing_data"] == 1
    assert all(len(value) <= _LIMITS.max_value_chars for _, value in got)
