"""Every crash or unbounded growth that fuzzing, the pathological or the damaged-input
tests found, as a regression test (issue #9). Each says which target found it."""

from __future__ import annotations

import gzip
from pathlib import Path

from dpi.capture import open_capture
from fuzz._common import run_reassembly
from protocols.base import Anomaly, Direction, Message
from protocols.http1 import MAX_PENDING, Http1Dissector
from tests.builders.frames import pcap_file, tcp_frame


def test_http1_close_inside_a_chunk_emits_the_message_and_no_assertion() -> None:
    """Found by the mutation contract test (tests/protocols/test_dissector_contract.py,
    seed 43007): close() in CHUNK_DATA moved CHUNK_DATA -> START, which the transition
    table forbids (AssertionError, a bug, not a ProtocolError)."""
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for tail in (b"5\r\nab", b"5\r\nabcde", b"5", b"5\r\nabcde\r\n0\r\n"):
        d = Http1Dissector()
        d.feed(Direction.REQUEST, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n", 0)
        d.feed(Direction.RESPONSE, head + tail, 1)
        events = d.close(Direction.RESPONSE, 2)
        assert any(isinstance(e, Message) for e in events)
        assert isinstance(d.close(Direction.REQUEST, 3), list)


def test_http1_requests_never_answered_stay_bounded() -> None:
    """Found by tests/test_pathological.py: the request FIFO grew with every unanswered
    pipelined request (a one-sided capture or a flood); now bounded and counted."""
    dissector = Http1Dissector()
    events = dissector.feed(Direction.REQUEST, b"GET / HTTP/1.1\r\nHost: a\r\n\r\n" * (MAX_PENDING + 5), 0)
    assert len(dissector._fifo) == MAX_PENDING
    assert sum(isinstance(e, Anomaly) and e.kind == "pending_overflow" for e in events) == 5


def test_small_truncated_gzip_capture_yields_its_frames(tmp_path: Path) -> None:
    """Found by tests/test_damaged_inputs.py: a .gz capture cut short within the first
    1 MiB read raised EOFError from GzipFile.read and lost everything decompressed
    before it, so the file was 'not a capture' (exit 2) instead of scanned to the cut."""
    frames = [tcp_frame(b"x" * 100, seq=1000 + 100 * i) for i in range(50)]
    packed = gzip.compress(pcap_file(frames))
    path = tmp_path / "cut.pcap.gz"
    path.write_bytes(packed[: len(packed) // 2])
    with open_capture(path) as reader:
        got = [f.data for f in reader.frames()]
        warnings = list(reader.warnings)
    assert got and got == frames[: len(got)]
    assert len(warnings) == 1 and "gzip read error (EOFError)" in warnings[0]


def test_reassembly_harness_syn_payload_starts_after_the_syn() -> None:
    """Found by fuzz/fuzz_reassembly.py on its first run (a harness bug, kept as a seed):
    data on a SYN starts at ISN + 1. Input: SYN with 42 bytes, then segments far ahead."""
    run_reassembly(
        bytes.fromhex(
            "0200002a0000000100130000000001010010000100000101001001f41e000001"
            "00110009280212c8010802120000000100"
        )
    )
