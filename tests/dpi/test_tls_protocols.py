"""Kafka and MySQL over TLS from real stacks (samples/make_kafka_tls_samples.py,
samples/make_mysql_tls_samples.py): with the key log, the decrypted application data
goes to the same dissectors as cleartext (Kafka from the first byte, MySQL after its
SSLRequest upgrade), so the inventory equals the expected CSV and the cleartext
sample's inventory of the same traffic; without it, the flows are encrypted and give
no rows."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dpi.api import scan_engine
from dpi.cli import main
from dpi.findings.coverage import TlsCoverage
from dpi.inventory import COLUMNS
from dpi.outputs.contract import to_csv
from tests.samples.golden import assert_matches_expected

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
# TLS sample -> (protocol, cleartext sample of the same traffic, TLS connections)
CASES = {
    "mysql-tls": ("mysql", "mysql-customers", 1),
    "kafka-tls": ("kafka", "kafka-flexible-lz4-zstd", 6),
}
# What differs between two recordings of the same traffic: the packet times.
TIMES = ("first_seen", "last_seen")


def _files(name: str) -> tuple[Path, Path, Path]:
    return SAMPLES / f"{name}.pcap", SAMPLES / f"{name}.keylog", SAMPLES / f"{name}.expected.csv"


def _without_times(text: str) -> list[tuple[str, ...]]:
    keep = [c for c in COLUMNS if c not in TIMES]
    return [tuple(row[c] for c in keep) for row in csv.DictReader(text.splitlines())]


def test_the_samples_are_there_and_small() -> None:
    for name in CASES:
        for path in _files(name):
            assert path.stat().st_size < 1_000_000, path.name


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_keylog_equals_expected(name: str) -> None:
    pcap, keylog, expected = _files(name)
    protocol, _, connections = CASES[name]
    coverage = TlsCoverage()
    engine = scan_engine(pcap, strict=True, keylogs=[keylog], observers=[coverage])
    assert engine.stats.bugs == 0 and engine.stats.protocol_errors == 0
    assert engine.stats.decrypted_flows == connections and engine.stats.encrypted_flows == 0
    assert engine.stats.flows_by_protocol[protocol] == connections
    assert_matches_expected(engine.inventory.rows(), expected)
    assert {r.protocol for r in engine.inventory.rows()} == {protocol}
    tls = coverage.rows()
    assert len(tls) == connections and all(r["decrypted"] is True for r in tls)
    assert {r["version"] for r in tls} == {"TLS 1.3"}


@pytest.mark.parametrize("name", sorted(CASES))
def test_with_keylog_equals_the_cleartext_sample(name: str) -> None:
    """The claim itself: the same traffic in clear and in TLS gives the same inventory
    (every column but the packet times, which belong to each recording)."""
    pcap, keylog, _ = _files(name)
    _, cleartext, _ = CASES[name]
    tls = scan_engine(pcap, strict=True, keylogs=[keylog])
    clear = scan_engine(SAMPLES / f"{cleartext}.pcap", strict=True)
    assert tls.inventory.rows() and clear.inventory.rows()
    assert _without_times(to_csv(tls.inventory.rows())) == _without_times(
        to_csv(clear.inventory.rows())
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_without_keylog_is_encrypted_and_gives_no_rows(name: str) -> None:
    pcap, _, _ = _files(name)
    protocol, _, connections = CASES[name]
    coverage = TlsCoverage()
    engine = scan_engine(pcap, strict=True, observers=[coverage])
    assert engine.stats.bugs == 0
    assert [r for r in engine.inventory.rows() if r.protocol == protocol] == []
    assert engine.stats.messages[protocol] == 0
    assert engine.stats.encrypted_flows == connections >= 1 and engine.stats.decrypted_flows == 0
    tls = coverage.rows()
    assert len(tls) == connections and {r["reason"] for r in tls} == {"no_key"}


def test_cli_keylog_scans_mysql_over_tls(tmp_path: Path) -> None:
    pcap, keylog, expected = _files("mysql-tls")
    out = tmp_path / "inventory.csv"
    status = main(["scan", str(pcap), "--keylog", str(keylog), "--no-progress", "--out", str(out)])
    assert status == 0

    def exact(path: Path) -> list[tuple[str, ...]]:
        return [
            tuple(r[c] for c in COLUMNS if c != "confidence") for r in csv.DictReader(path.open())
        ]

    assert exact(out) == exact(expected) != []
