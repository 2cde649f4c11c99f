"""The engine's one-pass walk of JSON bodies (`json_groups`, issue #14): whenever it
answers, its values by path, pair count and carrier flag are exactly what `field_pairs`
and the field scorer's grouping give, with the same limit counts; it declines (None)
every body that `field_pairs` cuts, counts a limit in, or expands a lone authorization
value of. Checked on the JSON parts of real captures and on generated documents."""

from __future__ import annotations

import base64
import sys
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpi.api import scan_engine
from dpi.observer import Observer
from dpi.reassembly import Flow
from protocols._embedded import CarrierPairs, CarrierValue
from protocols.base import Limits, Location, MediaType, Message, Part
from protocols.payload import field_pairs, json_groups

LIMITS = Limits()
ROOT = Path(__file__).resolve().parents[2]
CAPTURES = sorted((ROOT / "tests/captures/http").glob("*.pcap")) + sorted(
    (ROOT / "samples").glob("*.pcap*")
)


class _JsonParts(Observer):
    def __init__(self) -> None:
        self.parts: list[Part] = []

    def message(self, flow: Flow, message: Message) -> None:
        self.parts.extend(p for p in message.parts if p.media_type is MediaType.JSON)


def _values(groups: dict[str, list[str]]) -> list[tuple[str, list[tuple[str, object]]]]:
    """Paths in order, each value with what it carries (a carrier's `inside`)."""
    return [
        (path, [(value, getattr(value, "inside", None)) for value in values])
        for path, values in groups.items()
    ]


def _same_as_field_pairs(part: Part, limits: Limits = LIMITS) -> bool:
    """Asserts `json_groups`' contract for one part; True when it answered."""
    hits: Counter[str] = Counter()
    damage: Counter[str] = Counter()
    pairs = field_pairs(part, limits, None, hits, damage)
    expected: defaultdict[str, list[str]] = defaultdict(list)
    for path, value in pairs:
        if value:
            expected[path].append(value)
    walk_hits: Counter[str] = Counter()
    found = json_groups(part, limits, walk_hits)
    if found is None:
        assert not walk_hits  # a declined body counts nothing: field_pairs will
        return False
    groups, count, carried = found
    assert _values(groups) == _values(expected)
    assert count == len(pairs)
    assert carried == (type(pairs) is CarrierPairs)
    assert walk_hits == hits and not damage
    return True


def _body(document: object, name: str = "", location: Location = Location.BODY) -> Part:
    return Part(location=location, name=name, media_type=MediaType.JSON,
                data=orjson.dumps(document))


@pytest.fixture(scope="module")
def real_json_parts() -> list[Part]:
    observer = _JsonParts()
    scan_engine(CAPTURES, observers=[observer])
    return observer.parts


def test_real_json_bodies_get_what_field_pairs_gives(real_json_parts: list[Part]) -> None:
    answered = [part for part in real_json_parts if _same_as_field_pairs(part)]
    assert len(real_json_parts) > 20
    assert len(answered) > len(real_json_parts) // 2  # most bodies take the one walk


_BASE64_DOC = base64.b64encode(b'{"email": "jane.roe@shop.example", "n": 1}').decode()


def test_values_that_carry_others_are_expanded_in_place() -> None:
    part = _body({
        "id": 7,
        "payload": '{"password": "s3cr3t-pass", "tags": ["a", "b"]}',  # JSON in a string
        "note": "[1]",  # short JSON: expanded only after a first candidate, as field_pairs does
        "wrapped": _BASE64_DOC,
        "link": "https://cdn.example/a.png?X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0",
        "items": [{"name": "x", "blob": base64.b64encode(b"hello there, friend").decode()}],
        "empty": "",
    })
    assert _same_as_field_pairs(part)
    groups, count, carried = json_groups(part, LIMITS)  # type: ignore[misc]
    assert groups["payload.password"] == ["s3cr3t-pass"]
    assert groups["note[]"] == ["1"]
    assert groups["wrapped.email"] == ["jane.roe@shop.example"]
    assert groups["link.X-Amz-Signature"] == ["0f1e2d3c4b5a69788796a5b4c3d2e1f0"]
    assert carried and type(groups["items[].blob"][0]) is CarrierValue


def test_short_json_strings_before_any_candidate_stay_as_they_are() -> None:
    part = _body({"note": "[1]", "id": 7})
    assert _same_as_field_pairs(part)
    assert json_groups(part, LIMITS)[0] == {"note": ["[1]"], "id": ["7"]}  # type: ignore[index]


@pytest.mark.parametrize(
    ("part", "limits"),
    [
        (_body({"authorization": "Basic " + _BASE64_DOC}), LIMITS),  # a lone auth value
        (_body({"a": {"b": {"c": 1}}}), Limits(max_depth=2)),
        (_body({"k" * 40: 1}), Limits(max_key_chars=32)),
        (_body({"a": [{"b": 1}]}), Limits(max_key_chars=4, max_path_chars=6)),
        (_body({"user-1@example.com": {"n": 1}, "user-2@example.com": {"n": 2}}), LIMITS),
        (_body(list(range(10))), Limits(max_fields_per_part=10)),
        (Part(location=Location.BODY, name="", media_type=MediaType.JSON,
              data=b'{"a": 1} {"b": 2}'), LIMITS),  # damaged: recovered by field_pairs
        (_body("just a string"), LIMITS),
    ],
    ids=["authorization", "depth", "long-key", "long-path", "data-keys", "field-limit",
         "damaged", "scalar"],
)
def test_bodies_field_pairs_cuts_or_recovers_are_declined(part: Part, limits: Limits) -> None:
    assert json_groups(part, limits) is None
    assert not _same_as_field_pairs(part, limits)


_SCALAR = st.one_of(
    st.sampled_from(["", "x", "[1]", "{}", '{"a": 1}', '["p", "q"]', _BASE64_DOC,
                     "https://h.example/x?sig=abc&se=2030-01-01", "?sig=1",
                     "jane.roe@shop.example", "0f1e2d3c4b5a69788796a5b4c3d2e1f0"]),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
_KEY = st.sampled_from(["a", "b", "name", "authorization", "", "a[]", "id", "k" * 40])
_DOCUMENT = st.recursive(
    _SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEY, inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300)
@given(document=_DOCUMENT, name=st.sampled_from(["", "x-user", "authorization"]),
       location=st.sampled_from([Location.BODY, Location.HEADER, Location.COOKIE]),
       limits=st.sampled_from([LIMITS, Limits(max_fields_per_part=6), Limits(max_depth=3),
                               Limits(max_key_chars=20, max_path_chars=30),
                               Limits(max_value_chars=5)]))
def test_generated_documents_get_what_field_pairs_gives(
    document: object, name: str, location: Location, limits: Limits
) -> None:
    _same_as_field_pairs(_body(document, name, location), limits)


def test_a_body_declined_midway_leaves_nothing_to_the_next() -> None:
    # The walk is kept between bodies (one per limits and thread): a body declined in
    # the middle of its walk (here at the depth limit, after `a` was grouped) must not
    # leave values or counts to the next.
    limits = Limits(max_depth=2)
    assert json_groups(_body({"a": "x", "b": {"c": {"d": 1}}}), limits) is None
    assert json_groups(_body({"e": "y", "f": ""}), limits) == ({"e": ["y"]}, 2, False)


def test_threads_walk_their_own_bodies() -> None:
    parts = [_body({"n": i, "items": [{"v": str(i), "w": [i] * 5}] * 200}) for i in range(40)]
    expected = [json_groups(part, LIMITS) for part in parts]
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads switch in the middle of walks
    try:
        with ThreadPoolExecutor(4) as pool:
            for _ in range(5):
                assert list(pool.map(lambda part: json_groups(part, LIMITS), parts)) == expected
    finally:
        sys.setswitchinterval(switch)


def test_values_that_carry_nothing_are_decoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Hex ids pass for base64 by their looks; decoded they are no text and stay as they
    # are. The walker remembers that, so the same id at the same path is not decoded
    # again: the groups stay what field_pairs gives.
    from protocols import payload

    ids = ["c4647159c324c985", "b0ffdc9a933bad5e"]
    part = _body({"items": [{"id": i, "n": 1} for i in ids * 3], "note": '{"a": "x"}'})
    decoded: list[str] = []
    expanded_value = payload.expanded_value

    def counting(path: str, value: str, *args: object) -> list[tuple[str, str]]:
        decoded.append(value)
        return expanded_value(path, value, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(payload, "expanded_value", counting)
    limits = Limits(max_depth=31)  # a walker of its own: nothing remembered yet
    for _ in range(2):
        assert _same_as_field_pairs(part, limits)
    assert sorted(decoded) == sorted([*ids, '{"a": "x"}', '{"a": "x"}'])
