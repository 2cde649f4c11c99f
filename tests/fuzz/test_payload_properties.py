"""Hypothesis properties of payload decoding (protocols/payload.py) under its limits.

Any bytes in any media type: only strings, at most `max_fields_per_part` pairs, no value
over `max_value_chars` (`run_payload`, fuzz/_common.py). Any JSON document: every
value within `max_depth` is found, deeper ones are cut and the cut is counted.
"""

from __future__ import annotations

from collections import Counter

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from fuzz._common import PAYLOAD_MEDIA, run_payload
from protocols.base import Limits, Location, Part
from protocols.payload import field_pairs

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=40,
)


def _depth(obj: object) -> int:
    if isinstance(obj, dict):
        return 1 + max((_depth(v) for v in obj.values()), default=0)
    if isinstance(obj, list):
        return 1 + max((_depth(v) for v in obj), default=0)
    return 0


@settings(max_examples=300)
@given(media=st.integers(0, len(PAYLOAD_MEDIA) - 1), data=st.binary(max_size=2048))
def test_any_bytes_in_any_media_type_stay_in_bounds(media: int, data: bytes) -> None:
    run_payload(bytes([media]) + data)


@settings(max_examples=200)
@given(doc=_JSON, max_depth=st.integers(1, 6))
def test_json_depth_limit_cuts_and_is_counted(doc: object, max_depth: int) -> None:
    limits = Limits(max_depth=max_depth)
    part = Part(location=Location.BODY, name="", data=orjson.dumps(doc), media_type="application/json")
    hits: Counter[str] = Counter()
    pairs = field_pairs(part, limits, None, hits)
    unbounded = field_pairs(part, Limits(max_depth=1000), None)
    assert set(pairs) <= set(unbounded)
    if _depth(doc) <= max_depth:
        assert pairs == unbounded and not hits["json_depth_limit"]
    elif len(pairs) < len(unbounded):
        assert hits["json_depth_limit"] == 1


@settings(max_examples=100)
@given(n=st.integers(1, 300), limit=st.integers(1, 100))
def test_fields_limit_cuts_and_is_counted(n: int, limit: int) -> None:
    body = orjson.dumps({f"k{i}": str(i) for i in range(n)})
    part = Part(location=Location.BODY, name="", data=body, media_type="application/json")
    hits: Counter[str] = Counter()
    pairs = field_pairs(part, Limits(max_fields_per_part=limit), None, hits)
    assert len(pairs) == min(n, limit)
    assert hits["fields_limit"] == (1 if n >= limit else 0)
