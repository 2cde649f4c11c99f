"""Hypothesis properties of the capture reader (dpi/capture.py) on hostile files.

Any bytes: only `CaptureError` (from opening), warnings one printable line each and
bounded in number (`run_capture`, fuzz/_common.py). A valid pcap or pcapng cut at any
point, or damaged at any byte after its header, still yields every frame that lies
wholly before the damage, unchanged, and a warning says where reading stopped.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from dpi.capture import open_capture
from fuzz._common import run_capture
from tests.builders.frames import pcap_file, pcapng_file, tcp_frame

_FRAMES = st.lists(st.binary(min_size=0, max_size=200), min_size=1, max_size=12)
_HEADER = 24  # classic pcap file header
_RECORD = 16  # classic pcap record header


def _frames(payloads: list[bytes]) -> list[bytes]:
    return [tcp_frame(p, seq=1000 + 1000 * i) for i, p in enumerate(payloads)]


def _read(path: Path, data: bytes) -> tuple[list[bytes], list[str]]:
    path.write_bytes(data)
    with open_capture(path) as reader:
        frames = [f.data for f in reader.frames()]
        return frames, list(reader.warnings)


@settings(max_examples=300)
@given(st.binary(max_size=4096))
def test_any_bytes_only_capture_errors_and_clean_warnings(data: bytes) -> None:
    run_capture(data)


@settings(max_examples=200)
@given(
    magic=st.sampled_from(
        [b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4", b"\x4d\x3c\xb2\xa1", b"\x0a\x0d\x0d\x0a"]
    ),
    rest=st.binary(max_size=2048),
)
def test_garbage_after_a_valid_magic_never_raises(magic: bytes, rest: bytes) -> None:
    run_capture(magic + rest)


@settings(max_examples=150)
@given(payloads=_FRAMES, cut=st.integers(min_value=_HEADER, max_value=10_000))
def test_truncated_pcap_keeps_every_whole_frame(
    tmp_path_factory: object, payloads: list[bytes], cut: int
) -> None:
    frames = _frames(payloads)
    data = pcap_file(frames)
    cut = min(cut, len(data))
    whole, ends, pos = 0, [], _HEADER
    for frame in frames:
        pos += _RECORD + len(frame)
        ends.append(pos)
    whole = sum(1 for end in ends if end <= cut)
    path = tmp_path_factory.mktemp("cut") / "c.pcap"  # type: ignore[attr-defined]
    got, warnings = _read(path, data[:cut])
    assert got == frames[:whole]
    assert bool(warnings) == (cut not in (_HEADER, *ends))
    assert all("offset" in w for w in warnings)


@settings(max_examples=150)
@given(payloads=_FRAMES, cut=st.integers(min_value=28, max_value=10_000))
def test_truncated_pcapng_keeps_every_whole_frame(
    tmp_path_factory: object, payloads: list[bytes], cut: int
) -> None:
    frames = _frames(payloads)
    data = pcapng_file(frames)
    cut = min(cut, len(data))
    path = tmp_path_factory.mktemp("cutng") / "c.pcapng"  # type: ignore[attr-defined]
    got, warnings = _read(path, data[:cut])
    assert got == frames[: len(got)]
    if cut < len(data):
        assert len(got) < len(frames) or warnings
    else:
        assert got == frames and not warnings


@settings(max_examples=150)
@given(payloads=_FRAMES, at=st.integers(min_value=0), value=st.integers(0, 255))
def test_a_damaged_byte_never_loses_the_frames_before_it(
    tmp_path_factory: object, payloads: list[bytes], at: int, value: int
) -> None:
    frames = _frames(payloads)
    data = bytearray(pcap_file(frames))
    at = _HEADER + at % (len(data) - _HEADER)
    data[at] = value
    before, pos = 0, _HEADER
    for frame in frames:
        pos += _RECORD + len(frame)
        if pos > at:
            break
        before += 1
    path = tmp_path_factory.mktemp("dmg") / "d.pcap"  # type: ignore[attr-defined]
    got, _ = _read(path, bytes(data))
    assert got[:before] == frames[:before]
