"""TLS decryption is the optional `[tls]` extra (cryptography): without it, keys a user
names are refused up front with one line naming the extra, and keys found inside a
capture leave their flows encrypted with a reason and one warning, never a traceback."""

from __future__ import annotations

import csv
import subprocess
from pathlib import Path

from tests.missing_extra import run_dpi_without

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _dpi(*args: str) -> subprocess.CompletedProcess[str]:
    return run_dpi_without("cryptography", *args)


def test_a_keylog_without_the_extra_is_one_line_and_exit_2() -> None:
    done = _dpi("scan", str(SAMPLES / "kafka-tls.pcap"), "--keylog", str(SAMPLES / "kafka-tls.keylog"))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "--keylog needs cryptography: pip install 'dpi-inventory[tls]'" in done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_keys_inside_a_capture_leave_flows_encrypted_with_a_reason(tmp_path: Path) -> None:
    coverage = tmp_path / "coverage.csv"
    done = _dpi("scan", str(SAMPLES / "tls-13-python-http1.pcapng"), "--no-progress",
                "--tls-coverage", str(coverage))
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("pip install dpi-inventory[tls]") == 1
    with coverage.open(newline="") as handle:
        reasons = {row["reason"] for row in csv.DictReader(handle)}
    assert reasons == {"cryptography_not_installed"}
    # Nothing was decrypted: none of the sample's expected rows, only the header.
    assert done.stdout.splitlines()[1:] == []
    expected = (SAMPLES / "tls-13-python-http1.expected.csv").read_text().splitlines()
    assert len(expected) > 1  # the same scan with the extra finds rows
