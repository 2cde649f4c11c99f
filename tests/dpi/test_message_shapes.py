"""The per-message work hoisted out of the hot path (issue 14, item 2): message shapes
cached per API, the clean-field sampling as a slice, HTTP/1 header parts shared. Each is
checked against what the uncached computation gives on real bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import dpi.field_scoring as scoring_module
from dpi.api import scan_engine
from dpi.engine import Engine
from dpi.inventory import (
    RECHECK_BACKOFF,
    RECHECK_EVERY,
    SETTLE_CLEAN_AFTER,
    FieldEvidence,
    TypeEvidence,
)
from protocols.base import Direction, Location, Message
from protocols.http1 import Http1Dissector, http1
from tests.builders.conversation import Conversation, http_request, http_response

EMAILS = [f"user{i}.whitfield@mail.shopper-demo.net" for i in range(6)]


def _shop(path: Path) -> Path:
    """Six requests of one body shape (varied e-mails), then one of another shape."""
    conv = Conversation().handshake()
    for i, email in enumerate(EMAILS):
        body = json.dumps({"email": email, "qty": i, "tags": ["a", "b"]}).encode()
        conv = conv.request(http_request("POST", "/v1/orders", body, headers={"Accept": "*/*"}))
        conv = conv.response(http_response(json.dumps({"id": i}).encode()))
    odd = json.dumps({"email": EMAILS[0], "note": "gift"}).encode()
    conv = conv.request(http_request("POST", "/v1/orders", odd)).response(http_response(b"{}"))
    return conv.close().write(path)


def _outputs(engine: Engine) -> tuple[object, object, int]:
    return engine.inventory.rows(), engine.inventory.explain(), engine.stats.values


def test_repeated_shapes_are_cached_and_give_what_the_uncached_path_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = _shop(tmp_path / "shop.pcap")
    cached = scan_engine(capture, strict=True)
    rows, explain, values = _outputs(cached)
    email = [r for r in rows if r.data_type == "EMAIL_ADDRESS"]
    assert [(r.field, r.count) for r in email] == [("email", 7)]
    shapes = cached.scorer._shapes[("http", "10.0.0.5:8080", "POST /v1/orders", "request")]
    # Two body shapes (and the header parts): the six alike share one entry.
    body_shapes = {paths for location, paths in shapes if location == "body"}
    assert body_shapes == {("email", "qty", "tags[]"), ("email", "note")}
    monkeypatch.setattr(scoring_module, "MAX_SHAPE_WIDTH", 0)  # nothing cached
    uncached = scan_engine(capture, strict=True)
    assert not any(uncached.scorer._shapes.values())
    assert _outputs(uncached) == (rows, explain, values)


def test_the_shape_cache_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    capture = _shop(tmp_path / "shop.pcap")
    reference = _outputs(scan_engine(capture, strict=True))
    monkeypatch.setattr(scoring_module, "MAX_SHAPE_PATHS", 3)
    bounded = scan_engine(capture, strict=True)
    cached = sum(len(paths) for shapes in bounded.scorer._shapes.values() for _, paths in shapes)
    # Dropped whenever a part would take it over the bound (no part here is wider).
    assert bounded.scorer._shaped_paths == cached <= 3
    assert cached > 0  # still caching: the bound empties it, it does not stop it
    assert 0 < len(bounded.scorer._known) <= cached  # known fields go with their shapes
    assert _outputs(bounded) == reference
    monkeypatch.setattr(scoring_module, "MAX_SHAPE_APIS", 1)
    one_api = scan_engine(capture, strict=True)
    assert len(one_api.scorer._shapes) == 1 and _outputs(one_api) == reference


def _sampled_reference(start: int, values: list[str]) -> list[str]:
    """The values a clean field's sample takes, as first written (`to_score`, now
    `FieldEvidence.due`): one comprehension over every value."""
    if start + len(values) <= SETTLE_CLEAN_AFTER:
        return values
    every = RECHECK_EVERY
    for threshold, interval in RECHECK_BACKOFF:
        if start >= threshold:
            every = interval
            break
    return [v for i, v in enumerate(values, start + 1) if i <= SETTLE_CLEAN_AFTER or i % every == 0]


@given(
    start=st.one_of(
        st.integers(0, 600), st.integers(3_900, 4_400), st.integers(65_000, 66_000),
        st.integers(0, 10**7),
    ),
    count=st.integers(1, 700),
)
def test_clean_field_sampling_picks_the_same_values(start: int, count: int) -> None:
    values = [f"v{i}" for i in range(count)]
    evidence = FieldEvidence(seen=start)
    assert [values[at] for at in evidence.due(count)] == _sampled_reference(start, values)
    assert evidence.seen == start + count


@given(
    start=st.one_of(
        st.integers(0, 600), st.integers(3_900, 4_400), st.integers(65_000, 66_000),
        st.integers(0, 10**7),
    ),
    count=st.integers(1, 700),
    hit_at=st.integers(0, 40),
)
def test_a_hit_while_sampling_makes_every_later_value_due(
    start: int, count: int, hit_at: int
) -> None:
    """A value found sensitive mid-array (recorded before the next is asked for) makes
    the field's later values all due, as the one-by-one sample did: the sample steps
    over the values between two due ones only while the field stays clean."""
    values = [f"v{i}" for i in range(count)]
    sampled = _sampled_reference(start, values)
    assume(hit_at < len(sampled))
    evidence = FieldEvidence(seen=start)
    due = []
    for at in evidence.due(count):
        due.append(values[at])
        if len(due) == hit_at + 1:
            evidence.types["EMAIL_ADDRESS"] = TypeEvidence("PII")
    hit = values.index(sampled[hit_at])
    assert due == sampled[: hit_at + 1] + values[hit + 1:]


@given(
    start=st.one_of(
        st.integers(SETTLE_CLEAN_AFTER, 600), st.integers(3_900, 4_400),
        st.integers(65_000, 66_000), st.integers(SETTLE_CLEAN_AFTER, 10**7),
    ),
    count=st.integers(1, 2 * RECHECK_EVERY),
)
def test_clean_values_between_multiples_of_recheck_every_are_never_due(
    start: int, count: int
) -> None:
    """The field scorer counts these without `due` (dpi/field_scoring.py)."""
    assume((start + count) // RECHECK_EVERY == start // RECHECK_EVERY)
    assert _sampled_reference(start, [f"v{i}" for i in range(count)]) == []


def _request(headers: str) -> bytes:
    return f"GET /v1/items HTTP/1.1\r\nHost: api.example\r\n{headers}\r\n".encode()


def test_descriptive_header_parts_are_shared_and_credentials_never_kept() -> None:
    token = "Bearer eyJhbGciOiJIUzI1NiJ9.c2VjcmV0.c2lnbmF0dXJl"
    head = (
        f"Accept: application/json\r\nAuthorization: {token}\r\nX-Request-Id: 7f3a\r\n"
        "User-Agent: shop-app/3.1 (device 5f2c91; user 1042)\r\n"
    )
    d = Http1Dissector()
    first, second = (
        next(e for e in d.feed(Direction.REQUEST, _request(head), ts) if isinstance(e, Message))
        for ts in (1, 2)
    )
    by_name = [{p.name: p for p in m.parts if p.location is Location.HEADER} for m in (first, second)]
    assert by_name[0]["accept"] is by_name[1]["accept"]  # made once
    assert by_name[0]["accept"].data == b"application/json"
    assert by_name[0]["authorization"] is not by_name[1]["authorization"]
    assert by_name[1]["authorization"].data == token.encode()
    kept = {name for name, _ in http1._SHARED_PARTS}
    assert "accept" in kept
    assert not kept & {"authorization", "x-request-id", "cookie", "user-agent"}


def _field_table(engine: Engine) -> dict[object, tuple[int, int, dict[str, int]]]:
    return {
        key: (e.seen, e.scored, {t: typed.hits for t, typed in e.types.items()})
        for key, e in engine.inventory.fields.items()
    }


def test_evicted_fields_are_not_fed_through_a_cached_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A repeated shape of clean fields, interleaved with one-off keys that fill a small
    # field table: the shape's fields are evicted and come back; what the shape cached
    # must follow the table, exactly as the uncached lookups do.
    conv = Conversation().handshake()
    for i in range(12):
        repeated = json.dumps({"note": f"hello {i}", "ref": f"r{i}"}).encode()
        conv = conv.request(http_request("POST", "/v1/notes", repeated)).response(http_response())
        one_off = json.dumps({f"k{i}a": "x", f"k{i}b": "y", "email": EMAILS[i % 6]}).encode()
        conv = conv.request(http_request("POST", "/v1/misc", one_off)).response(http_response())
    capture = conv.close().write(tmp_path / "churn.pcap")
    limits = ["max_fields=12"]
    cached = scan_engine(capture, limits=limits)
    assert cached.inventory.evicted_fields > 0
    monkeypatch.setattr(scoring_module, "MAX_SHAPE_WIDTH", 0)
    uncached = scan_engine(capture, limits=limits)
    assert _field_table(cached) == _field_table(uncached)
    assert _outputs(cached) == _outputs(uncached)
    assert cached.inventory.evicted_fields == uncached.inventory.evicted_fields
