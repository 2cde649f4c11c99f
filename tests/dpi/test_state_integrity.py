"""A state file is used whole or not at all: checksum, refusal with a way out, one lock
per state whatever its spelling."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import zstandard

from dpi.runs.state import (
    HEADER_LEN,
    STATE_NAME,
    LedgerEntry,
    State,
    StateError,
    decode_state,
    state_paths,
)
from dpi.runs.worker import EngineSpec, FileTask, decode, scan_file
from tests.builders.capture_sets import write_file, write_set

ROOT = Path(__file__).resolve().parents[2]


def _small_state(tmp_path: Path) -> Path:
    """A real state: one scanned capture's evidence and its ledger entry."""
    where = tmp_path / "state"
    capture = write_file(tmp_path / "one.pcap", 0, conversations=1)
    st = capture.stat()
    with State.open(where) as state:
        result = scan_file(
            EngineSpec(salt_hex=state.salt.hex()),
            FileTask(index=0, location=str(capture), size=st.st_size, mtime_ns=st.st_mtime_ns),
        )
        state.inventory.merge(decode(result)[0])
        state.files[str(capture)] = LedgerEntry(
            size=st.st_size, mtime_ns=st.st_mtime_ns, head_len=st.st_size, head_sha256="0" * 64,
            status="scanned", scanned_at="2026-01-15T09:00:00Z", records=result["files"][0]["records"],
            last_record=result["files"][0]["last_record"],
        )
        state.save()
    assert state.inventory.fields  # something an undetected flip could rename
    return where / STATE_NAME


def test_every_single_bit_flip_of_a_state_is_refused(tmp_path: Path) -> None:
    path = _small_state(tmp_path)
    data = path.read_bytes()
    assert decode_state(data, path)["format"] == "dpi-state"
    accepted = []
    messages = set()
    for bit in range(len(data) * 8):
        damaged = bytearray(data)
        damaged[bit // 8] ^= 1 << (bit % 8)
        try:
            decode_state(bytes(damaged), path)
        except StateError as exc:
            messages.add(str(exc))
        else:
            accepted.append(bit)
    assert accepted == [], f"{len(accepted)} of {len(data) * 8} flips accepted"
    for message in messages:
        assert message.startswith(str(path)) and "--rebuild-state" in message and "\n" not in message


def test_a_cut_or_extended_state_is_refused(tmp_path: Path) -> None:
    path = _small_state(tmp_path)
    data = path.read_bytes()
    for length in range(len(data)):
        with pytest.raises(StateError, match="--rebuild-state"):
            decode_state(data[:length], path)
    with pytest.raises(StateError, match="checksum"):
        decode_state(data + b"\0", path)


def test_state_of_an_older_dpi_without_checksum_is_refused(tmp_path: Path) -> None:
    path = _small_state(tmp_path)
    # The layout before checksums: the compressed document alone.
    path.write_bytes(path.read_bytes()[HEADER_LEN:])
    assert zstandard.ZstdDecompressor().decompress(path.read_bytes(), max_output_size=1 << 24)
    with pytest.raises(StateError, match="older dpi, without a checksum.*--rebuild-state"):
        State.open(path.parent)


def _dpi(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dpi", *args], capture_output=True, text=True, timeout=timeout,
        cwd=ROOT, check=False,
    )


def test_damaged_state_is_exit_2_never_used_and_rebuild_state_starts_over(tmp_path: Path) -> None:
    captures = tmp_path / "c"
    write_set(captures, 2)
    state = tmp_path / "s"
    common = ["scan", str(captures), "--state", str(state), "--settle-seconds", "0", "--no-progress", "-q", "--jobs", "1"]
    first = _dpi(*common)
    assert first.returncode == 0, first.stderr
    path = state / STATE_NAME
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x04  # one bit, in the compressed document
    path.write_bytes(bytes(data))
    refused = _dpi(*common)
    assert refused.returncode == 2 and refused.stdout == ""  # no inventory from a damaged state
    assert refused.stderr.count("\n") == 1
    assert str(path) in refused.stderr and "damaged" in refused.stderr and "--rebuild-state" in refused.stderr
    assert path.read_bytes() == bytes(data)  # left as it was
    rebuilt = _dpi(*common, "--rebuild-state")
    assert rebuilt.returncode == 0, rebuilt.stderr
    assert rebuilt.stdout == first.stdout  # every capture scanned again, nothing twice
    again = _dpi(*common)
    assert again.returncode == 0 and again.stdout == first.stdout
    assert _dpi("scan", str(captures), "--rebuild-state", "--no-progress").returncode == 2  # needs --state


# -- one lock per state ------------------------------------------------------------------

HOLDER = """
import sys
from dpi.runs.state import State
with State.open(sys.argv[1]):
    print("locked", flush=True)
    sys.stdin.read()
"""


def test_every_spelling_of_a_state_names_one_file_and_one_lock(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "s")
    spellings = [tmp_path / "s", tmp_path / "s" / STATE_NAME, tmp_path / "link",
                 tmp_path / "link" / STATE_NAME, tmp_path / "x" / ".." / "s"]
    assert len({state_paths(s) for s in spellings}) == 1
    file, lock = state_paths(tmp_path / "s")
    assert (file, lock) == ((tmp_path / "s" / STATE_NAME).resolve(), (tmp_path / "s" / f"{STATE_NAME}.lock").resolve())


@pytest.mark.parametrize(("held", "other"), [("s", f"s/{STATE_NAME}"), (f"s/{STATE_NAME}", "s"), ("s", "link")])
def test_a_second_process_on_another_spelling_of_a_locked_state_is_refused(tmp_path: Path, held: str, other: str) -> None:
    captures = tmp_path / "c"
    write_set(captures, 1)
    (tmp_path / "s").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "s")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path / held)], cwd=ROOT, stdin=subprocess.PIPE,
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        second = _dpi("scan", str(captures), "--state", str(tmp_path / other), "--settle-seconds", "0",
                      "--no-progress", "-q", "--jobs", "1")
        assert second.returncode == 2 and "in use by another dpi run" in second.stderr
        assert second.stderr.count("\n") == 1 and second.stdout == ""
    finally:
        holder.communicate("", timeout=30)  # EOF on stdin: the holder lets go
    assert holder.returncode == 0
    after = _dpi("scan", str(captures), "--state", str(tmp_path / other), "--settle-seconds", "0",
                 "--no-progress", "-q", "--jobs", "1")
    assert after.returncode == 0, after.stderr
    assert sorted(p.name for p in (tmp_path / "s").iterdir()) == [STATE_NAME, f"{STATE_NAME}.lock"]


def test_state_file_behind_a_symlink_is_saved_through_it(tmp_path: Path) -> None:
    real = tmp_path / "real"
    real.mkdir()
    with State.open(real / "kept.zst") as state:
        state.save()
    (tmp_path / "alias.zst").symlink_to(real / "kept.zst")
    with State.open(tmp_path / "alias.zst") as state:
        assert state.path == (real / "kept.zst").resolve()
        state.save()
    assert (tmp_path / "alias.zst").is_symlink()  # the atomic rename did not replace the link
    assert os.path.exists(real / "kept.zst.lock") and not os.path.exists(tmp_path / "alias.zst.lock")
