"""Out-of-range capture times (issue 16): a pcapng `if_tsoffset` of 2**62 or a timestamp
of 2**64-1 once ended `dpi scan` with exit 2 and no inventory (and every later `--state`
run the same way). Now such a record keeps the previous record's time, the offset is
ignored, one warning names the file and record, and the rest of the run is kept."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dpi.capture import MAX_TIMESTAMP_NS, open_capture
from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response
from tests.builders.frames import Pcapng, tcp_frame

SSN = "536-22-8877"
EMAIL = "alice.smith@example.com"
T0_US = 1_768_467_600_000_000  # 2026-01-15T09:00:00Z, in microseconds


def _frames(tmp_path: Path) -> list[bytes]:
    """The frames of one HTTP exchange that carries an SSN and an e-mail address."""
    body = json.dumps({"ssn": SSN, "email": EMAIL}).encode()
    conv = Conversation().handshake()
    conv.request(http_request("POST", "/v1/users", body)).response(http_response(b"{}")).close()
    with open_capture(conv.write(tmp_path / "plain.pcap")) as reader:
        return [frame.data for frame in reader.frames()]


def _pcapng(
    path: Path, frames: list[bytes], *, tsoffset: int | None = None, bad: dict[int, int] | None = None
) -> Path:
    """Microsecond pcapng; record i (0-based) at T0 + i ms unless `bad` gives its raw
    timestamp."""
    ng = Pcapng().section().interface(linktype=1, tsresol=6, tsoffset=tsoffset)
    for i, data in enumerate(frames):
        ng.packet(data, ts=(bad or {}).get(i, T0_US + i * 1000))
    path.write_bytes(ng.bytes())
    return path


def _scan(*args: str | Path) -> tuple[int, list[dict[str, str]], dict[str, object]]:
    out = Path(str(args[-1]))
    status = main(["scan", *map(str, args[:-1]), "-o", str(out / "inv.csv"), "--no-progress",
                   "--summary-json", str(out / "summary.json")])
    with (out / "inv.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    return status, rows, json.loads((out / "summary.json").read_text())


def _types(rows: list[dict[str, str]]) -> set[tuple[str, str]]:
    return {(row["field"], row["data_type"]) for row in rows}


@pytest.fixture
def out(tmp_path: Path) -> Path:
    path = tmp_path / "out"
    path.mkdir()
    return path


def test_tsoffset_of_2_pow_62_is_ignored_with_a_warning(tmp_path: Path, out: Path) -> None:
    capture = _pcapng(tmp_path / "offset.pcapng", _frames(tmp_path), tsoffset=1 << 62)
    status, rows, summary = _scan(capture, out)
    assert status == 0
    assert {("ssn", "US_SSN"), ("email", "EMAIL_ADDRESS")} <= _types(rows)
    assert {row["first_seen"][:16] for row in rows} == {"2026-01-15T09:00"}
    warnings = summary["warnings"]
    assert isinstance(warnings, list) and len(warnings) == 1
    assert warnings[0].startswith("offset.pcapng: interface 0 (block 2): if_tsoffset beyond")
    assert str(1 << 62) not in warnings[0]  # says what, never the value


@pytest.mark.parametrize("raw", [(1 << 64) - 1, 1 << 63], ids=["2**64-1", "2**63"])
def test_timestamp_beyond_any_clock_takes_the_previous_time(
    tmp_path: Path, out: Path, raw: int
) -> None:
    frames = _frames(tmp_path)
    request = 3  # handshake (3 frames), then the request
    capture = _pcapng(tmp_path / "late.pcapng", frames, bad={request: raw, request + 1: raw})
    status, rows, summary = _scan(capture, out)
    assert status == 0
    assert {("ssn", "US_SSN"), ("email", "EMAIL_ADDRESS")} <= _types(rows)
    # The request's time is the handshake's last record's: T0 + 2 ms.
    assert {row["first_seen"] for row in rows} == {"2026-01-15T09:00:00.002Z"}
    assert summary["warnings"] == [
        (
            "late.pcapng: 2 records (the first: record 4) with a timestamp outside "
            "1970-01-01..2262-04-11: the previous record's time is used"
        )
    ]


def test_bad_file_in_a_directory_loses_nothing_else_and_state_runs_again(
    tmp_path: Path, out: Path
) -> None:
    frames = _frames(tmp_path)
    captures = tmp_path / "captures"
    captures.mkdir()
    _pcapng(captures / "a-bad.pcapng", frames, bad={3: (1 << 64) - 1}, tsoffset=1 << 62)
    good = Conversation(client="10.0.0.9", cport=41000, sport=9090).handshake()
    good.request(http_request("POST", "/v1/cards", b'{"pan": "5555555555554444"}'))
    good.response(http_response(b"{}")).close().write(captures / "b-good.pcap")
    state = tmp_path / "state"
    for run in range(2):  # the second run must not fail on the state the first wrote
        status, rows, summary = _scan(captures, "--state", state, "--settle-seconds", "0", out)
        assert status == 0, run
        assert {("ssn", "US_SSN"), ("pan", "CARD_NUMBER")} <= _types(rows), run
        assert all(row["first_seen"].startswith("2026-01-15") for row in rows), run
    assert summary["files"] == 0  # second run: nothing new to read


@settings(max_examples=60, deadline=None)
@given(
    ts=st.integers(min_value=0, max_value=(1 << 64) - 1),
    tsresol=st.sampled_from([0, 6, 9, 12, 0x80, 0x80 | 10, 0x80 | 63]),
    tsoffset=st.one_of(st.none(), st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1)),
)
def test_every_pcapng_time_is_within_range(ts: int, tsresol: int, tsoffset: int | None) -> None:
    import tempfile

    data = tcp_frame(b"x")
    ng = Pcapng().section().interface(linktype=1, tsresol=tsresol, tsoffset=tsoffset)
    ng.packet(data, ts=ts).simple(data).obsolete(data, ts=ts)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.pcapng"
        path.write_bytes(ng.bytes())
        with open_capture(path) as reader:
            times = [frame.ts_ns for frame in reader.frames()]
    assert len(times) == 3
    assert all(0 <= t <= MAX_TIMESTAMP_NS for t in times)
