"""Form and query strings without `%` or `+` are split without `parse_qsl`'s per-item
unquoting (issue #14): the fields they give are exactly `parse_qsl`'s, whatever the
string, and a form body's fields are named and valued as before."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st

from protocols.base import Limits, Location, MediaType, Part
from protocols.payload import _query_pairs, field_pairs


@given(st.text(alphabet=st.sampled_from(list("ab=&;%+2 é")), max_size=30))
def test_query_pairs_are_parse_qsl_s(text: str) -> None:
    assert [tuple(pair) for pair in _query_pairs(text)] == parse_qsl(text)


def test_a_plain_query_gives_its_fields() -> None:
    part = Part(location=Location.QUERY, name="", media_type=MediaType.FORM,
                data=b"status=shipped&page=10&&empty=&flag&=anonymous")
    assert field_pairs(part, Limits()) == [
        ("status", "shipped"), ("page", "10"), ("", "anonymous"),
    ]
