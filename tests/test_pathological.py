"""Pathological inputs stay linear and bounded (issue #9, "Bounds").

Each case runs at size n and 10n and compares the CPU time of this process (best of a
few runs): linear work gives a ratio near 10, quadratic near 100; the bound below (25)
leaves room for noise without letting super-linear behaviour through. No absolute
wall-clock threshold. Each case also checks that the state it builds stays within its
limit, and that the limit hit is counted.
"""

from __future__ import annotations

import gc
import time
from collections import Counter
from collections.abc import Callable

import pytest

from dpi.decode import SYN
from dpi.reassembly import Data, Reassembler, ReassemblyLimits
from protocols.base import Anomaly, Direction, Limits, Location, Part
from protocols.http1 import MAX_PENDING, Http1Dissector
from protocols.http2 import Http2Dissector
from protocols.payload import field_pairs
from tests.builders.http2 import PREFACE, Hpack, headers, settings
from tests.builders.segments import segment

# 10x the input may cost at most this many times the CPU time (quadratic would be ~100).
MAX_RATIO = 25.0


def _cpu(work: Callable[[int], object], n: int, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        work(n)
        best = min(best, time.process_time() - start)
    return best


def assert_linear(work: Callable[[int], object], n: int) -> None:
    work(n)  # warm-up: imports, caches
    # What earlier tests left alive is moved out of the collector's sight: a full
    # collection walks every live object, so a large heap left by the rest of the suite
    # would make the 10n run's collections cost more than the work being measured.
    gc.collect()
    gc.freeze()
    try:
        small = max(_cpu(work, n, 3), 0.005)
        large = _cpu(work, 10 * n, 1)
    finally:
        gc.unfreeze()
    assert large / small < MAX_RATIO, f"{large:.3f}s for 10n vs {small:.3f}s for n"


# -- TCP reassembly ----------------------------------------------------------------------


def _tiny_segments_reversed(n: int, block: int) -> tuple[Reassembler, int]:
    """n one-byte segments, each block of `block` arriving in reverse order."""
    reassembler = Reassembler()
    delivered = 0
    reassembler.feed(segment(seq=0, flags=SYN), 0)
    for start in range(0, n, block):
        for i in reversed(range(start, min(start + block, n))):
            for event in reassembler.feed(segment(seq=1 + i, ack=1, payload=b"x"), i):
                if isinstance(event, Data):
                    delivered += len(event.data)
        assert reassembler.held_bytes <= block
    reassembler.flush(n)
    return reassembler, delivered


def test_tiny_out_of_order_segments_are_linear() -> None:
    assert_linear(lambda n: _tiny_segments_reversed(n, 64), 10_000)


def test_a_million_tiny_out_of_order_segments_all_arrive() -> None:
    reassembler, delivered = _tiny_segments_reversed(1_000_000, 64)
    assert delivered == 1_000_000 and reassembler.stats.gaps == 0


def _reverse_flood(n: int) -> Reassembler:
    """Every segment ahead of a hole that is never filled: the per-flow segment bound."""
    limits = ReassemblyLimits()
    reassembler = Reassembler(limits)
    reassembler.feed(segment(seq=0, flags=SYN), 0)
    for i in range(n, 0, -1):
        reassembler.feed(segment(seq=1 + 2 * i, ack=1, payload=b"x"), n - i)
        assert reassembler.held_bytes <= limits.max_ooo_segments_per_flow
    reassembler.flush(n)
    return reassembler


def test_segments_behind_a_hole_that_never_fills_are_linear_and_counted() -> None:
    assert_linear(_reverse_flood, 10_000)
    assert _reverse_flood(5000).stats.ooo_overflow > 0


def _many_flows(n: int) -> Reassembler:
    reassembler = Reassembler(ReassemblyLimits(max_flows=1000))
    for i in range(n):
        port = 1024 + i % 60000
        src = bytes([10, 1, (i >> 16) & 0xFF, (i >> 8) & 0xFF])
        reassembler.feed(segment(src=src, sport=port, seq=i, flags=SYN), i)
        assert reassembler.active_flows <= 1000
    return reassembler


def test_a_flood_of_new_flows_is_linear_and_evictions_are_counted() -> None:
    assert_linear(_many_flows, 10_000)
    assert _many_flows(5000).stats.evicted_flows == 4000


# -- payload: JSON ------------------------------------------------------------------------


def _nested_json(n: int) -> Counter[str]:
    """n documents nested 200 deep in one array: each is cut at max_depth."""
    doc = b"[" * 200 + b'"x"' + b"]" * 200
    body = b"[" + b",".join([doc] * n) + b"]"
    part = Part(location=Location.BODY, name="", data=body, media_type="application/json")
    hits: Counter[str] = Counter()
    # orjson refuses documents deeper than 1024 levels; this one is 201 deep.
    field_pairs(part, Limits(max_fields_per_part=10**9), None, hits)
    return hits


def test_deeply_nested_json_is_linear_and_counted() -> None:
    assert_linear(_nested_json, 1000)
    assert _nested_json(10)["json_depth_limit"] == 1


def test_json_nested_beyond_the_parser_limit_gives_nothing_quickly() -> None:
    body = b"[" * 100_000 + b"]" * 100_000
    part = Part(location=Location.BODY, name="", data=body, media_type="application/json")
    assert field_pairs(part, Limits()) == []


def _wide_json(n: int) -> int:
    body = b"{" + b",".join(b'"k%d":"v"' % i for i in range(n)) + b"}"
    part = Part(location=Location.BODY, name="", data=body, media_type="application/json")
    return len(field_pairs(part, Limits()))


def test_wide_json_is_cut_at_the_field_limit() -> None:
    assert _wide_json(100_000) == Limits().max_fields_per_part


# -- HTTP/2 ---------------------------------------------------------------------------------


def _h2_streams(n: int) -> tuple[Http2Dissector, Counter[str]]:
    """n request streams opened and never ended."""
    hp = Hpack()
    block = hp.req([(":method", "GET"), (":scheme", "http"), (":path", "/x"), (":authority", "a")])
    again = hp.req([(":method", "GET"), (":scheme", "http"), (":path", "/x"), (":authority", "a")])
    frames = [PREFACE + settings(), headers(1, block)]
    frames += [headers(2 * i + 1, again) for i in range(1, n)]
    dissector = Http2Dissector()
    kinds: Counter[str] = Counter()
    for chunk in frames:
        for event in dissector.feed(Direction.REQUEST, chunk, 0):
            if isinstance(event, Anomaly):
                kinds[event.kind] += 1
    # The streams are the connection's session's (`protocols/http2/_session.py`).
    assert len(dissector._session._streams) <= dissector.limits.max_streams
    dissector.close(Direction.REQUEST, 1)
    return dissector, kinds


def test_100k_http2_streams_are_linear_and_bounded() -> None:
    assert_linear(_h2_streams, 10_000)  # the 10n run opens 100 000 streams
    _, kinds = _h2_streams(5_000)
    assert kinds["stream_limit"] == 5_000 - Limits().max_streams


# -- HTTP/1 -----------------------------------------------------------------------------


def _pipelined(n: int) -> tuple[Http1Dissector, Counter[str]]:
    """n requests in one segment stream, never answered."""
    dissector = Http1Dissector()
    kinds: Counter[str] = Counter()
    request = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
    for start in range(0, n, 1000):
        chunk = request * (min(start + 1000, n) - start)
        for event in dissector.feed(Direction.REQUEST, chunk, start):
            if isinstance(event, Anomaly):
                kinds[event.kind] += 1
    assert len(dissector._fifo) <= MAX_PENDING
    return dissector, kinds


def test_requests_never_answered_are_linear_and_bounded() -> None:
    assert_linear(_pipelined, 5_000)
    _, kinds = _pipelined(10_000)
    assert kinds["pending_overflow"] == 10_000 - MAX_PENDING


@pytest.mark.parametrize("size", [10**6])
def test_one_huge_header_line_is_refused_not_buffered(size: int) -> None:
    dissector = Http1Dissector()
    dissector.feed(Direction.REQUEST, b"GET / HTTP/1.1\r\nHost: a\r\n", 0)
    try:
        for _ in range(size // 65536 + 2):
            dissector.feed(Direction.REQUEST, b"X" * 65536, 1)
    except Exception as exc:  # noqa: BLE001 (only ProtocolError is allowed)
        assert type(exc).__name__ == "ProtocolError"
