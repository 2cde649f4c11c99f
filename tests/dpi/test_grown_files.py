"""A capture still being written between two `--state` runs: the second run reads only the
records appended since the first, and every record counts once."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from dpi.cli import main
from dpi.runs.state import STATE_NAME, read_state_document
from tests.builders.capture_sets import write_file

PCAP_HEADER = 24


def _scan(tmp_path: Path, capture: Path, state: Path | None, *extra: str) -> tuple[str, dict[str, Any]]:
    """The inventory (CSV) and the summary, whose "stderr" is what the run printed there."""
    summary = tmp_path / "summary.json"
    args = ["scan", str(capture), "--no-progress", "-q", "--summary-json", str(summary), "--jobs", "1", *extra]
    if state is not None:
        args += ["--state", str(state), "--settle-seconds", "0"]
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    try:
        assert main(args) == 0
    finally:
        sys.stdout, sys.stderr = old
    return out.getvalue(), json.loads(summary.read_text()) | {"stderr": err.getvalue()}


def _records(pcap: bytes, offset: int = PCAP_HEADER) -> list[bytes]:
    """The records of a (little-endian, microsecond) pcap, from `offset` (past the header)."""
    out = []
    while offset < len(pcap):
        length = int.from_bytes(pcap[offset + 8 : offset + 12], "little")
        out.append(pcap[offset : offset + 16 + length])
        offset += 16 + length
    return out


def _count(text: str, field: str) -> int:
    rows = list(csv.DictReader(io.StringIO(text)))
    return sum(int(r["count"]) for r in rows if r["field"] == field)


def _two_steps(tmp_path: Path) -> tuple[bytes, bytes, Path]:
    """A whole capture of two minutes of traffic, cut in two on a record boundary."""
    first = write_file(tmp_path / "part1.pcap", 0).read_bytes()
    second = write_file(tmp_path / "part2.pcap", 1).read_bytes()[PCAP_HEADER:]
    whole = tmp_path / "whole.pcap"
    whole.write_bytes(first + second)
    return first, second, whole


def test_second_run_reads_exactly_the_appended_records_once(tmp_path: Path) -> None:
    first, second, whole = _two_steps(tmp_path)
    reference, _ = _scan(tmp_path, whole, None)
    growing = tmp_path / "captures" / "sensor.pcap"
    growing.parent.mkdir()
    state = tmp_path / "state"
    growing.write_bytes(first)
    one, summary = _scan(tmp_path, growing.parent, state)
    assert summary["frames"] == len(_records(first))
    entry = read_state_document(state / STATE_NAME)["files"][str(growing.resolve())]
    assert (entry["size"], entry["records"]) == (len(first), len(_records(first)))

    with growing.open("ab") as handle:  # tcpdump writes on
        handle.write(second)
    two, summary = _scan(tmp_path, growing.parent, state)
    batch = summary["batch"]
    assert (batch["grown"], batch["grown_bytes"], batch["appended_read"]) == (1, len(second), 1)
    assert batch["appended_records"] == len(_records(second, 0)) == summary["frames"]
    assert (batch["scanned"], batch["rewritten"], batch["pending_bytes"]) == (1, 0, 0)
    assert summary["bytes_read"] == len(second)
    assert "warning" not in summary["stderr"]  # an append loses nothing: nothing to warn about
    assert two == reference  # each record counted once: the inventory of the whole file
    assert _count(two, "card.number") == 2 * _count(one, "card.number") > 0

    three, summary = _scan(tmp_path, growing.parent, state)
    assert (summary["batch"]["known"], summary["frames"], three) == (1, 0, reference)


def test_a_record_cut_by_the_first_run_is_read_whole_by_the_next(tmp_path: Path) -> None:
    first, second, whole = _two_steps(tmp_path)
    reference, _ = _scan(tmp_path, whole, None)
    growing = tmp_path / "sensor.pcap"
    state = tmp_path / "state"
    cut = len(first) + 30  # inside the first appended record
    growing.write_bytes(whole.read_bytes()[:cut])
    _, summary = _scan(tmp_path, growing, state)
    assert any("cut short" in w for w in summary["warnings"])
    growing.write_bytes(whole.read_bytes())
    two, summary = _scan(tmp_path, growing, state)
    assert summary["batch"]["appended_records"] == len(_records(second, 0)) == summary["frames"]
    assert two == reference


def test_a_file_rewritten_past_its_head_is_scanned_again_whole(tmp_path: Path) -> None:
    # Longer than the 64 KiB head that is hashed: only the last record read tells.
    big = write_file(tmp_path / "big.pcap", 0, conversations=120).read_bytes()
    assert len(big) > 70_000
    records = _records(big)
    growing = tmp_path / "sensor.pcap"
    state = tmp_path / "state"
    growing.write_bytes(big)
    _scan(tmp_path, growing, state)
    last = bytearray(records[-1])
    last[-1] ^= 0xFF  # same length, other bytes: not an append
    extra = write_file(tmp_path / "extra.pcap", 5).read_bytes()[PCAP_HEADER:]
    growing.write_bytes(big[: len(big) - len(last)] + bytes(last) + extra)
    _, summary = _scan(tmp_path, growing, state)
    batch = summary["batch"]
    assert (batch["grown"], batch["rewritten"], batch["appended_read"]) == (1, 1, 0)
    assert summary["frames"] == len(records) + len(_records(extra, 0))  # all of it again
    assert f"{growing.resolve()}: grew, but its earlier records changed too; scanned again whole" in summary["stderr"]


def test_a_shrunk_file_is_scanned_again_whole_with_a_warning(tmp_path: Path) -> None:
    first, _, whole = _two_steps(tmp_path)
    growing = tmp_path / "sensor.pcap"
    state = tmp_path / "state"
    growing.write_bytes(whole.read_bytes())
    _scan(tmp_path, growing, state)
    growing.write_bytes(first)  # truncated: not an append
    _, summary = _scan(tmp_path, growing, state)
    assert (summary["batch"]["rewritten"], summary["frames"]) == (1, len(_records(first)))
    assert "changed since its last scan other than by appending records; scanned again whole" in summary["stderr"]
