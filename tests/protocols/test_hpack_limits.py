"""HPACK amplification bounds (issue #16): one dynamic-table entry referenced by a
one-byte index thousands of times per header block. The block is cut at
`max_header_fields` fields or `max_header_bytes` of decoded size, the fields before the
cut are kept, the cut is an anomaly counted as a limit hit, and the table stays in step
with the encoder for the blocks that follow."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hpack import Encoder
from hpack.hpack import encode_integer
from hpack.huffman import HuffmanEncoder
from hpack.huffman_constants import REQUEST_CODES, REQUEST_CODES_LENGTH
from hypothesis import given, settings
from hypothesis import strategies as st

from dpi.api import scan_engine
from dpi.cli import main
from dpi.observer import Observer
from dpi.reassembly import Flow
from protocols.base import Anomaly, Direction, Limits, Location, Message
from protocols.http2 import Http2Dissector
from protocols.http2._hpack import FIELD_OVERHEAD, HeaderDecoder
from tests.builders import http2 as b
from tests.builders.conversation import Conversation

REQ = Direction.REQUEST
BIG_VALUE = "v" * 3900  # the 3.9 KB entry
FIRST_DYNAMIC = 0xBE  # 6.1 indexed field, index 62: the newest dynamic entry
GET_HTTP_ROOT = b"\x82\x86\x84"  # :method GET, :scheme http, :path / (static 2, 6, 4)


def _integer(value: int, prefix: int, flags: int) -> bytes:
    raw = encode_integer(value, prefix)
    raw[0] |= flags
    return bytes(raw)


def _string(text: str) -> bytes:
    raw = text.encode()
    return _integer(len(raw), 7, 0) + raw


def indexed_literal(name: str, value: str) -> bytes:
    """6.2.1 literal with incremental indexing, new name: inserts a dynamic entry."""
    return b"\x40" + _string(name) + _string(value)


def plain_literal(name: str, value: str) -> bytes:
    """6.2.2 literal without indexing, new name: changes no table."""
    return b"\x00" + _string(name) + _string(value)


def test_references_to_one_big_entry_stop_at_the_decoded_size() -> None:
    decoder = HeaderDecoder()
    block = decoder.decode(indexed_literal("x-big", BIG_VALUE) + bytes([FIRST_DYNAMIC]) * 60_000)
    per_field = len("x-big") + len(BIG_VALUE) + FIELD_OVERHEAD
    assert block.too_large and not block.too_many_fields and not block.broken
    assert len(block.headers) == 64 * 1024 // per_field == 16
    assert {(h.name, h.value) for h in block.headers} == {("x-big", BIG_VALUE.encode())}


def test_many_small_fields_stop_at_the_field_count() -> None:
    block = HeaderDecoder().decode(GET_HTTP_ROOT * 5000)
    assert block.too_many_fields and not block.too_large
    assert len(block.headers) == 1000
    assert [h.name for h in block.headers[:3]] == [":method", ":scheme", ":path"]


def test_bounds_come_from_the_limits() -> None:
    decoder = HeaderDecoder.for_limits(Limits(max_header_fields=10, max_header_bytes=1 << 20))
    assert len(decoder.decode(GET_HTTP_ROOT * 100).headers) == 10
    roomy = HeaderDecoder.for_limits(Limits(max_header_fields=100_000, max_header_bytes=1 << 30))
    block = roomy.decode(indexed_literal("x-big", BIG_VALUE) + bytes([FIRST_DYNAMIC]) * 1000)
    assert len(block.headers) == 1001 and not block.too_large


def test_the_table_stays_in_step_after_a_cut() -> None:
    """Past the cut the walk goes on without producing fields: an insertion made after
    the cut is the entry the next block's index 62 names, and literals without indexing
    after the cut (one Huffman-coded) are read past, not mistaken for representations."""
    huffman_name = HuffmanEncoder(REQUEST_CODES, REQUEST_CODES_LENGTH).encode(b"x-huffman")
    huffman_literal = b"\x00" + _integer(len(huffman_name), 7, 0x80) + huffman_name + _string("v")
    cut = (
        GET_HTTP_ROOT * 400
        + plain_literal("x-skipped", "value-after-the-cut")
        + huffman_literal
        + indexed_literal("x-after-cut", "still-inserted")
    )
    decoder = HeaderDecoder()
    first = decoder.decode(cut)
    assert first.too_many_fields and not first.broken and first.unknown == 0
    assert all(h.name != "x-after-cut" for h in first.headers)
    second = decoder.decode(GET_HTTP_ROOT + bytes([FIRST_DYNAMIC]))
    assert not second.too_many_fields and not second.broken and second.unknown == 0
    assert (second.headers[-1].name, second.headers[-1].value) == ("x-after-cut", b"still-inserted")


def test_the_dissector_reports_the_cut_and_keeps_the_message() -> None:
    block = indexed_literal("x-big", BIG_VALUE) + bytes([FIRST_DYNAMIC]) * 20_000
    dissector = Http2Dissector(Limits(max_header_fields=50))
    events = dissector.feed(REQ, b.PREFACE + b.settings() + _headers(1, block), 1)
    events += dissector.feed(REQ, _headers(3, b"\x82\x86\x84" + b"\x82" * 100), 2)
    events += dissector.close(REQ, 3) + dissector.close(Direction.RESPONSE, 3)
    kinds = [e.kind for e in events if isinstance(e, Anomaly)]
    assert kinds.count("header_too_large") == 1 and kinds.count("too_many_headers") == 1
    assert "hpack_error" not in kinds and "hpack_unknown_index" not in kinds
    messages = [e for e in events if isinstance(e, Message)]
    assert len(messages) == 2
    big = [p for p in messages[0].parts if p.location is Location.HEADER]
    assert len(big) == 16 and big[0].name == "x-big"


def _headers(sid: int, block: bytes) -> bytes:
    """One HEADERS frame and CONTINUATIONs of at most the default frame size."""
    chunks = [block[i : i + 16_384] for i in range(0, len(block), 16_384)]
    out = b.headers(sid, chunks[0], end=True, end_headers=len(chunks) == 1)
    for i, chunk in enumerate(chunks[1:], 1):
        out += b.continuation(sid, chunk, end_headers=i == len(chunks) - 1)
    return out


def amplification_capture(path: Path, blocks: int) -> Path:
    """The issue's attack: a 3.9 KB entry inserted once, then `blocks` requests whose
    header block references it 60,000 times (60 KB on the wire, 234 MB decoded each)."""
    conv = Conversation(sport=80).handshake()
    conv.request(b.PREFACE + b.settings())
    for i in range(blocks):
        insert = indexed_literal("x-big", BIG_VALUE) if i == 0 else b""
        conv.request(_headers(1 + 2 * i, GET_HTTP_ROOT + insert + bytes([FIRST_DYNAMIC]) * 60_000))
    return conv.close().write(path)


class _HeaderCount(Observer):
    def __init__(self) -> None:
        self.headers = 0
        self.messages = 0

    def message(self, flow: Flow, message: Message) -> None:
        self.messages += 1
        self.headers += sum(p.location is Location.HEADER for p in message.parts)


def test_an_amplification_capture_is_cut_and_cheap(tmp_path: Path) -> None:
    capture = amplification_capture(tmp_path / "amplify.pcap", blocks=10)
    counter = _HeaderCount()
    started = time.process_time()
    engine = scan_engine(capture, observers=[counter])
    cpu = time.process_time() - started
    assert counter.messages == 10
    # 16 copies of the entry fit in 64 KiB; unbounded it was 60,000 per request and
    # 0.5-1 s of CPU per request.
    assert counter.headers == 10 * 16
    assert engine.stats.limits_hit["header_too_large"] == 10
    assert cpu < 5.0


def test_the_summary_counts_the_limit_hit(tmp_path: Path) -> None:
    capture = amplification_capture(tmp_path / "amplify.pcap", blocks=3)
    summary = tmp_path / "summary.json"
    status = main(["scan", str(capture), "--no-progress", "-o", str(tmp_path / "inv.csv"),
                   "--summary-json", str(summary), "--limit", "max_header_fields=5"])  # fmt: skip
    assert status == 0
    hits = json.loads(summary.read_text())["limits_hit"]
    assert hits == {"too_many_headers": 3}


_NAMES = st.sampled_from(["x-a", "x-b", "authorization", "cookie", ":path", "x-long-name"])
_VALUES = st.text(alphabet="abcXYZ019-=/ ", min_size=0, max_size=300)
_BLOCKS = st.lists(
    st.lists(st.tuples(_NAMES, _VALUES, st.booleans()), min_size=1, max_size=30),
    min_size=1,
    max_size=12,
)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(blocks=_BLOCKS, max_fields=st.integers(1, 5), max_bytes=st.integers(40, 600))
def test_a_bounded_decoder_keeps_the_same_table_as_an_unbounded_one(
    blocks: list[list[tuple[str, str, bool]]], max_fields: int, max_bytes: int
) -> None:
    """Whatever is cut, each block's fields are a prefix of the full decoding and the
    dynamic table after it is the encoder's (the same as the unbounded decoder's)."""
    encoder = Encoder()
    bounded = HeaderDecoder(max_fields=max_fields, max_decoded_bytes=max_bytes)
    full = HeaderDecoder(max_fields=10_000, max_decoded_bytes=1 << 30)
    for pairs in blocks:
        raw = encoder.encode(pairs)  # a pair's third item: never indexed (6.2.3)
        cut, whole = bounded.decode(raw), full.decode(raw)
        assert not cut.broken and not whole.broken and not whole.too_many_fields
        assert cut.headers == whole.headers[: len(cut.headers)]
        assert len(cut.headers) <= max_fields
        assert (cut.too_many_fields or cut.too_large) == (len(cut.headers) < len(whole.headers))
        assert list(bounded._table.dynamic_entries) == list(full._table.dynamic_entries)
