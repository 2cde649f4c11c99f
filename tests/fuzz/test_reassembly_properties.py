"""Hypothesis properties of TCP reassembly (dpi/reassembly.py) on hostile segment streams.

`run_reassembly` (fuzz/_common.py) checks, for any segment sequence, that delivered
bytes are in order and continuous across gaps, that held bytes stay in budget and that
flush leaves nothing. Here also: any order of the segments of one stream, with
duplicates, gives back exactly that stream when nothing is lost and limits are not hit.
"""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from dpi.decode import ACK, FIN, SYN
from dpi.reassembly import Data, Gap, Reassembler
from fuzz._common import run_reassembly
from tests.builders.segments import segment


@settings(max_examples=300)
@given(st.binary(max_size=8 * 64))
def test_any_segment_sequence_keeps_streams_ordered_and_bounded(data: bytes) -> None:
    run_reassembly(data)


@settings(max_examples=200)
@given(
    stream=st.binary(min_size=1, max_size=3000),
    cuts=st.lists(st.integers(1, 2999), max_size=30),
    order=st.randoms(use_true_random=False),
    dups=st.lists(st.integers(0, 40), max_size=5),
)
def test_segments_in_any_order_give_back_the_stream(
    stream: bytes, cuts: list[int], order: object, dups: list[int]
) -> None:
    bounds = sorted({0, len(stream), *(c for c in cuts if c < len(stream))})
    isn = 0xFFFFFF00  # wraps within the stream
    pieces = [
        segment(seq=isn + 1 + a, ack=1, flags=ACK, payload=stream[a:b])
        for a, b in itertools.pairwise(bounds)
    ]
    pieces += [pieces[i % len(pieces)] for i in dups]
    order.shuffle(pieces)  # type: ignore[attr-defined]
    reassembler = Reassembler()
    events = reassembler.feed(segment(seq=isn, flags=SYN), 0)
    for i, seg in enumerate(pieces, 1):
        events += reassembler.feed(seg, i)
    events += reassembler.feed(segment(seq=isn + 1 + len(stream), ack=1, flags=FIN | ACK), 999)
    events += reassembler.flush(1000)
    assert not [e for e in events if isinstance(e, Gap)]
    assert b"".join(e.data for e in events if isinstance(e, Data)) == stream
