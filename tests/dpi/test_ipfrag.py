"""The IP fragment reassembler: order, overlaps, and every limit."""

from __future__ import annotations

from dpi.ipfrag import MAX_DATAGRAM, FragmentReassembler

KEY = (4, b"\x0a\x00\x00\x01", b"\x0a\x00\x00\x02", 6, 1)
DATA = bytes(range(256)) * 4  # 1024 bytes


def test_in_order_fragments_complete_the_datagram() -> None:
    r = FragmentReassembler()
    assert r.add(KEY, 0, True, DATA[:512], 0, 6) is None
    assert r.add(KEY, 512, False, DATA[512:], 1, 6) == (6, DATA)
    assert len(r) == 0 and r.held_bytes == 0 and r.stats.reassembled == 1


def test_out_of_order_fragments_complete_the_datagram() -> None:
    r = FragmentReassembler()
    assert r.add(KEY, 768, False, DATA[768:], 0, 6) is None
    assert r.add(KEY, 256, True, DATA[256:768], 0, 6) is None
    assert r.add(KEY, 0, True, DATA[:256], 0, 6) == (6, DATA)


def test_duplicate_fragment_changes_nothing() -> None:
    r = FragmentReassembler()
    r.add(KEY, 0, True, DATA[:512], 0, 6)
    r.add(KEY, 0, True, DATA[:512], 0, 6)
    assert r.held_bytes == 512 and r.stats.overlaps == 1
    assert r.add(KEY, 512, False, DATA[512:], 0, 6) == (6, DATA)


def test_overlap_keeps_the_first_copy_of_each_byte() -> None:
    r = FragmentReassembler()
    r.add(KEY, 8, True, b"a" * 16, 0, 6)  # 8..24
    r.add(KEY, 0, True, b"b" * 40, 0, 6)  # 0..40: only 0..8 and 24..40 are new
    assert r.add(KEY, 40, False, b"c" * 8, 0, 6) == (6, b"b" * 8 + b"a" * 16 + b"b" * 16 + b"c" * 8)


def test_data_beyond_the_last_fragment_is_ignored() -> None:
    r = FragmentReassembler()
    r.add(KEY, 0, True, b"a" * 64, 0, 6)
    assert r.add(KEY, 32, False, b"b" * 8, 0, 6) == (6, b"a" * 40)


def test_second_last_fragment_does_not_move_the_end() -> None:
    r = FragmentReassembler()
    r.add(KEY, 16, False, b"z" * 8, 0, 6)  # ends at 24
    r.add(KEY, 24, False, b"y" * 8, 0, 6)  # a later "last" beyond: ignored
    assert r.add(KEY, 0, True, b"x" * 16, 0, 6) == (6, b"x" * 16 + b"z" * 8)


def test_ipv6_protocol_waits_for_the_offset_zero_fragment() -> None:
    r = FragmentReassembler()
    key6 = (6, b"\x00" * 16, b"\x01" * 16, 5)
    assert r.add(key6, 8, False, b"b" * 8, 0, -1) is None
    assert r.add(key6, 0, True, b"a" * 8, 0, 60) == (60, b"a" * 8 + b"b" * 8)


def test_timeout_in_capture_time_expires_pending() -> None:
    r = FragmentReassembler(timeout_ns=1000)
    r.add(KEY, 0, True, DATA[:512], 0, 6)
    assert r.add(KEY, 512, False, DATA[512:], 1001, 6) is None
    assert r.stats.expired == 1 and len(r) == 1  # the late fragment starts a new datagram


def test_max_pending_evicts_the_oldest() -> None:
    r = FragmentReassembler(max_pending=2)
    for ident in range(3):
        r.add((4, b"a", b"b", 6, ident), 0, True, b"x" * 8, ident, 6)
    assert len(r) == 2 and r.stats.evicted == 1
    assert r.add((4, b"a", b"b", 6, 0), 8, False, b"y" * 8, 5, 6) is None  # 0 was evicted


def test_max_bytes_evicts_until_under_the_bound() -> None:
    r = FragmentReassembler(max_bytes=1000)
    r.add((4, b"a", b"b", 6, 1), 0, True, b"x" * 600, 0, 6)
    r.add((4, b"a", b"b", 6, 2), 0, True, b"y" * 600, 0, 6)
    assert r.held_bytes <= 1000 and r.stats.evicted == 1 and len(r) == 1


def test_too_many_fragments_drops_the_datagram() -> None:
    r = FragmentReassembler(max_fragments=4)
    for i in range(5):
        r.add(KEY, i * 16, True, b"x" * 8, 0, 6)  # holes keep pieces apart
    assert len(r) == 0 and r.held_bytes == 0 and r.stats.dropped == 1


def test_fragment_beyond_the_ip_maximum_is_dropped() -> None:
    r = FragmentReassembler()
    assert r.add(KEY, MAX_DATAGRAM - 8, False, b"x" * 16, 0, 6) is None
    assert r.stats.dropped == 1 and len(r) == 0
