"""The garbage collector's tuning (dpi/collector.py): applied by the `dpi` program, never
by a caller that passes its own argv (a test, a program that embeds dpi), and the same
inventory either way."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

import pytest

from dpi.cli import main

SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "rest-shop.pcap"

# The program's own entry (argv None), then what it left the collector with.
_PROGRAM = (
    "import gc, sys\n"
    "from dpi.cli import main\n"
    "sys.argv = ['dpi', 'scan', '--no-progress', sys.argv[1]]\n"
    "status = main()\n"
    "print(gc.get_threshold(), gc.get_freeze_count() > 0, status, file=sys.stderr)\n"
)


def test_the_program_tunes_the_collector_and_writes_the_same_inventory(
    capsys: pytest.CaptureFixture[str],
) -> None:
    before = gc.get_threshold()
    assert main(["scan", "--no-progress", str(SAMPLE)]) == 0
    in_process = capsys.readouterr().out
    assert gc.get_threshold() == before  # a caller's own argv: its process is left alone

    run = subprocess.run(
        [sys.executable, "-c", _PROGRAM, str(SAMPLE)],
        check=False, capture_output=True, text=True, timeout=120,
    )
    assert run.stderr.strip().splitlines()[-1] == "(50000, 20, 20) True 0"
    assert run.stdout.splitlines() == in_process.splitlines()  # text mode reads \r\n as \n
    assert in_process.count("\n") > 10  # rows, not just the header
