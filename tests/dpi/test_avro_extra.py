"""Avro decoding is the optional `[avro]` extra (fastavro): without it Avro values are
read as binary (their printable runs still classified) with one warning, and the options
that only make sense with it are refused with one line naming the extra."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
# fastavro made unimportable, as in an install without the extra.
WITHOUT_FASTAVRO = (
    "import sys; sys.modules['fastavro'] = None; "
    "from dpi.cli import main; sys.exit(main())"
)


def _dpi(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_FASTAVRO, *args],
        capture_output=True, text=True, timeout=120, check=False,
    )


def _types(text: str) -> set[tuple[str, str]]:
    return {(row["api"], row["data_type"]) for row in csv.DictReader(io.StringIO(text))}


def test_avro_values_fall_back_to_binary_with_one_warning() -> None:
    done = _dpi("scan", str(SAMPLES / "kafka-avro-registry.pcap"), "--no-progress")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.count("pip install dpi-inventory[avro]") == 1
    expected = _types((SAMPLES / "kafka-avro-registry.expected.csv").read_text())
    found = _types(done.stdout)
    # No field names without the schema, but the sensitive values are still found.
    assert {("customers", "CARD_NUMBER"), ("customers", "EMAIL_ADDRESS")} <= found <= expected
    assert all(row["field"] == "" for row in csv.DictReader(io.StringIO(done.stdout))
               if row["protocol"] == "kafka")


def test_avro_options_without_the_extra_are_one_line_and_exit_2(tmp_path: Path) -> None:
    done = _dpi("scan", str(SAMPLES / "kafka-avro-registry.pcap"), "--avro-schema", str(tmp_path))
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "--avro-schema needs fastavro: pip install 'dpi-inventory[avro]'" in done.stderr
