"""Outputs are written whole (a rename) but never over a device or a pipe: `-o /dev/null`
once replaced the machine's /dev/null with a regular file. A FIFO stands in for the device
here (replacing /dev/null in a test would break the machine the way the bug did)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from dpi.outputs.files import replaceable, write_atomic

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "rest-shop.pcap"


def _drain(fifo: Path, into: list[bytes]) -> threading.Thread:
    def read() -> None:
        with fifo.open("rb") as handle:
            into.append(handle.read())

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return reader


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_scan_output_to_a_fifo_keeps_the_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "out.csv"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = _drain(fifo, received)
    done = subprocess.run(
        [sys.executable, "-m", "dpi", "scan", str(SAMPLE), "--no-progress", "-o", str(fifo)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    reader.join(timeout=30)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISFIFO(fifo.stat().st_mode)  # still a pipe, not a regular file
    assert received and received[0].startswith(b"protocol,server,host,api,")
    assert list(tmp_path.iterdir()) == [fifo]  # no temporary file left beside it


def test_regular_files_are_replaced_whole(tmp_path: Path) -> None:
    target = tmp_path / "inventory.csv"
    target.write_bytes(b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new"
    assert replaceable(target) and replaceable(tmp_path / "missing.csv")
    assert not replaceable(Path(os.devnull))
