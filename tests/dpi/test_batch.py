"""Incremental batch scans with a state: only new files, growing files wait, kill safety."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.runs.batch import BatchOptions, run_batch
from dpi.runs.state import STATE_NAME, read_state_document
from tests.builders.capture_sets import write_file, write_set

ROOT = Path(__file__).resolve().parents[2]


def _scan(paths: list[Path], state: Path | None, *extra: str) -> str:
    args = ["scan", *map(str, paths), "--no-progress", "-q", "--settle-seconds", "0", *extra]
    if state is not None:
        args += ["--state", str(state)]
    out = io.StringIO()
    old, sys.stdout = sys.stdout, out
    try:
        assert main(args) == 0
    finally:
        sys.stdout = old
    return out.getvalue()


def _rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _age(path: Path, seconds: float) -> None:
    past = time.time() - seconds
    os.utime(path, (past, past))


def test_second_run_reads_only_new_files_and_equals_one_full_run(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    write_set(captures, 4)
    state = tmp_path / "state"
    _scan([captures], state, "--jobs", "1")
    write_set(captures, 3, start=4)
    summary = tmp_path / "summary.json"
    incremental = _scan([captures], state, "--jobs", "1", "--summary-json", str(summary))
    batch = json.loads(summary.read_text())["batch"]
    assert (batch["listed"], batch["scanned"], batch["known"], batch["ledger_files"]) == (7, 3, 4, 7)
    assert json.loads(summary.read_text())["files"] == 3  # only the new files were read
    assert incremental == _scan([captures], None)  # counts, first/last seen, clients
    card = next(r for r in _rows(incremental) if r[6] == "card.number")
    assert (card[9], card[12], card[10][:16], card[11][:16]) == ("14", "14", "2026-01-15T09:00", "2026-01-15T09:06")


def test_file_still_being_written_waits_for_the_next_run(tmp_path: Path) -> None:
    captures = tmp_path / "c"
    old, new = write_set(captures, 2)
    _age(old, 600)
    options = BatchOptions(paths=(str(captures),), state=str(tmp_path / "s"), jobs=1, settle_seconds=60)
    first = run_batch(options)
    assert (first.scanned, first.deferred) == (1, 1)
    _age(new, 600)
    second = run_batch(options)
    assert (second.scanned, second.known, second.deferred) == (1, 1, 0)


def test_file_rotated_over_is_scanned_again_and_grown_file_is_read_on(tmp_path: Path) -> None:
    captures = tmp_path / "c"
    first, second = write_set(captures, 2)
    options = BatchOptions(paths=(str(captures),), state=str(tmp_path / "s"), jobs=1, settle_seconds=0)
    run_batch(options)
    write_file(first, 7)  # ring buffer (-W) reuses the name with other traffic
    extra = write_file(tmp_path / "extra.pcap", 9).read_bytes()[24:]
    with second.open("ab") as handle:  # appended after its scan
        handle.write(extra)
    outcome = run_batch(options)
    assert (outcome.scanned, outcome.grown, outcome.known) == (2, 1, 0)
    assert (outcome.rewritten, outcome.appended_read, outcome.grown_bytes) == (1, 1, len(extra))
    assert any(w.startswith(str(first)) and "scanned again whole" in w for w in outcome.warnings)
    assert not any(str(second) in w for w in outcome.warnings)


def test_compressed_captures_are_read_as_they_are(tmp_path: Path) -> None:
    plain = write_set(tmp_path / "plain", 2)
    packed = write_set(tmp_path / "gz", 1, compress="gz") + write_set(tmp_path / "zst", 1, start=1, compress="zst")
    assert _rows(_scan(plain, None, "--jobs", "2"))[1:] == _rows(_scan(packed, tmp_path / "s"))[1:]


def test_locked_state_is_exit_2_one_line(tmp_path: Path) -> None:
    from dpi.runs.state import State

    write_set(tmp_path / "c", 1)
    with State.open(tmp_path / "s"):
        result = subprocess.run(
            [sys.executable, "-m", "dpi", "scan", str(tmp_path / "c"), "--state", str(tmp_path / "s")],
            capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
        )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "in use" in result.stderr


def test_scan_defaults_come_from_dpi_toml(tmp_path: Path) -> None:
    write_set(tmp_path / "c", 2)
    config = tmp_path / "dpi.toml"
    config.write_text(f'[scan]\nstate = "{tmp_path / "s"}"\njobs = 1\nsettle_seconds = 0\nformat = "json"\n')
    out = io.StringIO()
    old, sys.stdout = sys.stdout, out
    try:
        assert main(["scan", str(tmp_path / "c"), "--config", str(config), "-q", "--no-progress"]) == 0
    finally:
        sys.stdout = old
    assert json.loads(out.getvalue())[0]["protocol"] == "http"
    assert (tmp_path / "s" / STATE_NAME).exists()
    config.write_text("[scan]\nbogus = 1\n")
    assert main(["scan", str(tmp_path / "c"), "--config", str(config), "-q"]) == 2


def _ledger(state: Path) -> int:
    try:
        return len(read_state_document(state / STATE_NAME)["files"])
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_scan_killed_several_times_then_finished_equals_one_uninterrupted_run(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    # Well past the last kill's 40 files: on a loaded machine the poll below can wake
    # late, and a faster scan finished all of 60 files before the kill landed.
    total = 120
    write_set(captures, total)
    config = tmp_path / "dpi.toml"
    config.write_text("[scan]\ncheckpoint_seconds = 0\nsettle_seconds = 0\n")  # save after every file
    state = tmp_path / "state"
    out = tmp_path / "killed.csv"
    cmd = [sys.executable, "-m", "dpi", "scan", str(captures), "--state", str(state),
           "--config", str(config), "-o", str(out), "-q", "--no-progress"]
    ledgers = []
    # Kill at different moments: while starting (nothing saved yet), and after the state
    # holds at least 10, 25 and 40 files; the runs alternate one and two workers.
    for target, jobs in ((0, "1"), (10, "2"), (25, "1"), (40, "2")):
        proc = subprocess.Popen([*cmd, "--jobs", jobs], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        if target == 0:
            time.sleep(0.3)
        while target and _ledger(state) < target and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        os.killpg(proc.pid, signal.SIGKILL)  # the run and its workers, at once
        proc.wait()
        ledgers.append(_ledger(state))
    assert ledgers[-1] < total, "the scan finished before the last kill: make it longer"
    assert any(0 < n < total for n in ledgers)
    finish = subprocess.run([*cmd, "--jobs", "2"], cwd=ROOT, check=False, capture_output=True, text=True, timeout=120)
    assert finish.returncode == 0, finish.stderr
    assert _ledger(state) == total
    reference = tmp_path / "reference.csv"
    once = subprocess.run(
        [sys.executable, "-m", "dpi", "scan", str(captures), "--state", str(tmp_path / "s2"),
         "--config", str(config), "-o", str(reference), "-q", "--no-progress", "--jobs", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )
    assert once.returncode == 0, once.stderr
    assert out.read_bytes() == reference.read_bytes()
    card = next(r for r in _rows(out.read_text()) if r[6] == "card.number")
    assert card[9] == str(2 * total)  # nothing counted twice, nothing lost


def test_sigterm_stops_after_the_current_file_with_the_state_saved(tmp_path: Path) -> None:
    captures = tmp_path / "captures"
    write_set(captures, 40)
    config = tmp_path / "dpi.toml"
    config.write_text("[scan]\ncheckpoint_seconds = 0\nsettle_seconds = 0\njobs = 1\n")
    state = tmp_path / "state"
    cmd = [sys.executable, "-m", "dpi", "scan", str(captures), "--state", str(state),
           "--config", str(config), "-o", str(tmp_path / "out.csv"), "-q", "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while _ledger(state) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGTERM)  # what systemd sends on stop or timeout
    _, err = proc.communicate(timeout=60)
    if proc.returncode == 0:
        pytest.skip("the scan finished before the signal")
    assert proc.returncode == 130 and "interrupted" in err
    saved = _ledger(state)
    assert 3 <= saved < 40
    assert (tmp_path / "out.csv").read_text().startswith("protocol,")  # what was done so far
    finish = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert finish.returncode == 0 and _ledger(state) == 40
