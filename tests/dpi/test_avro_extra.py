"""Avro decoding is the optional `[avro]` extra (fastavro): without it Avro values are
read as binary (their printable runs still classified) with one warning, and the options
that only make sense with it are refused with one line naming the extra."""

from __future__ import annotations

import csv
import io
import subprocess
from pathlib import Path

from tests.missing_extra import run_dpi_without

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _dpi(*args: str) -> subprocess.CompletedProcess[str]:
    return run_dpi_without("fastavro", *args)


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
