"""The engine's shortcut for text parts (`plain_text_pair`, issue #14): whenever it
answers, its pair is exactly what `field_pairs` gives for the part, and no limit is
counted; it declines (None) every part that `field_pairs` decodes or expands. Checked on
the text parts of real captures (headers, cookies, MySQL columns, credentials) and on
generated values."""

from __future__ import annotations

import base64
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dpi.api import scan_engine
from dpi.observer import Observer
from dpi.reassembly import Flow
from protocols._embedded import CarrierPairs, with_inside
from protocols.base import Limits, Location, MediaType, Message, Part
from protocols.payload import field_pairs, plain_text_pair

LIMITS = Limits()
ROOT = Path(__file__).resolve().parents[2]
CAPTURES = [
    ROOT / "tests/heldout/captures" / name
    for name in (
        "basic-auth-extra-space.pcap", "browserspy-basic-auth.pcap",
        "adserver-tracking-cookies.pcap", "x-forwarded-for.pcap", "zabbix-jsonrpc-auth.pcap",
        "h2-userinfo-authority.pcap", "mysql8-table-select.pcap",
    )
] + sorted((ROOT / "tests/captures/http").glob("*.pcap"))


class _TextParts(Observer):
    def __init__(self) -> None:
        self.parts: list[Part] = []

    def message(self, flow: Flow, message: Message) -> None:
        self.parts.extend(p for p in message.parts if p.media_type is MediaType.TEXT)


def _same_as_field_pairs(part: Part, limits: Limits = LIMITS) -> bool:
    """Asserts the shortcut's contract for one part; True when it answered."""
    hits: Counter[str] = Counter()
    damage: Counter[str] = Counter()
    expected = field_pairs(part, limits, None, hits, damage)
    pair = plain_text_pair(part, limits)
    if pair is None:
        return False
    assert [pair] == expected, part.name
    assert type(expected) is not CarrierPairs, part.name  # no value carried by it lost
    assert not hits and not damage, part.name
    return True


@pytest.fixture(scope="module")
def real_text_parts() -> list[Part]:
    observer = _TextParts()
    scan_engine(CAPTURES, observers=[observer])
    return observer.parts


def test_real_text_parts_get_what_field_pairs_gives(real_text_parts: list[Part]) -> None:
    answered = [part for part in real_text_parts if _same_as_field_pairs(part)]
    declined = {(p.location, p.name) for p in real_text_parts if p not in answered}
    # Most text parts are plain headers; cookies and credentials that may be documents
    # (base64 long enough to hold one) go the long way, a bearer token is taken as it is.
    assert len(answered) > len(real_text_parts) // 2
    assert {"user-agent", "host", "accept"} <= {p.name for p in answered}
    assert (Location.HEADER, "authorization") in declined
    assert any(location == Location.COOKIE for location, _ in declined)
    assert not any(p.location == Location.COOKIE for p in answered)
    assert any(p.name == "authorization" for p in answered)  # the bearer tokens


def _header(value: str, name: str = "x-data", location: Location = Location.HEADER) -> Part:
    return Part(location=location, name=name, data=value.encode())


@pytest.mark.parametrize(
    "part",
    [
        _header('{"email": "jane.roe@shop.example", "id": 7}'),  # JSON inside the value
        _header("Basic " + base64.b64encode(b'{"sessionKey": "k3y-0f-the-session"}').decode(),
                "authorization"),
        _header(base64.b64encode(b"jane.roe@shop.example").decode()),  # base64 of text
        _header("https://cdn.example/a.png?X-Amz-Signature=0f1e2d3c4b5a69788796a5b4c3d2e1f0"),
        _header("caf\\u00e9 cr\\u00e8me"),  # escapes decoded by field_pairs
        _header("jane.roe%40shop.example", "session_user", Location.COOKIE),
        _header(""),
    ],
    ids=["json", "authorization-json", "base64", "signed-url", "escape", "cookie", "empty"],
)
def test_parts_that_field_pairs_changes_are_declined(part: Part) -> None:
    assert plain_text_pair(part, LIMITS) is None
    # field_pairs expands, decodes or drops the value: taking it as it is would be wrong.
    assert with_inside(field_pairs(part, LIMITS)) != [(part.name, part.data.decode())]


def test_a_part_limit_of_one_field_is_left_to_field_pairs_which_counts_it() -> None:
    one = Limits(max_fields_per_part=1)
    part = _header("shop-app/3.1")
    assert plain_text_pair(part, one) is None
    hits: Counter[str] = Counter()
    assert field_pairs(part, one, None, hits) == [("x-data", "shop-app/3.1")]
    assert hits["fields_limit"] == 1


def test_long_values_are_cut_as_field_pairs_cuts_them() -> None:
    short = Limits(max_value_chars=8)
    part = _header("é" * 40)  # two bytes a character: the byte cut lands mid-character
    assert _same_as_field_pairs(part, short)
    assert plain_text_pair(part, short) == ("x-data", "é" * 8)


_VALUE = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 =+/_-{}[]?&:.\"@%\\u") + ["é", "\ufffd"]),
    max_size=40,
)


@given(value=_VALUE, name=st.sampled_from(["x-data", "authorization", "token", "sig"]),
       location=st.sampled_from([Location.HEADER, Location.METADATA, Location.COLUMN,
                                 Location.COOKIE]))
def test_generated_values_get_what_field_pairs_gives(value: str, name: str,
                                                     location: Location) -> None:
    _same_as_field_pairs(_header(value, name, location))
    # Raw bytes too: invalid UTF-8 is replaced alike.
    _same_as_field_pairs(Part(location=location, name=name, data=b"\xff" + value.encode()))
