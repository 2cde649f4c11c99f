"""Golden inventories: each generated sample scanned end to end equals its expected CSV,
which the sample scripts compute from what they put in the capture (never from dpi)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dpi.api import scan_engine
from tests.samples.golden import assert_matches_expected

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
# gRPC samples need their .proto files and have a test of their own.
GOLDEN = sorted(p for p in SAMPLES.glob("*.expected.csv") if not p.name.startswith("grpc-"))


def _capture(expected: Path) -> Path:
    stem = expected.name.removesuffix(".expected.csv")
    matches = [p for p in SAMPLES.glob(stem + ".pcap*") if not p.name.endswith(".csv")]
    assert len(matches) == 1, stem
    return matches[0]


@pytest.mark.parametrize("expected", GOLDEN, ids=lambda p: p.name.removesuffix(".expected.csv"))
def test_sample_scan_equals_expected_inventory(expected: Path) -> None:
    # A sample of TLS traffic comes with its key log (`<name>.keylog`).
    keylog = expected.with_name(expected.name.removesuffix(".expected.csv") + ".keylog")
    engine = scan_engine(_capture(expected), strict=True, keylogs=[keylog] if keylog.exists() else [])
    assert engine.stats.bugs == 0
    assert_matches_expected(engine.inventory.rows(), expected)


def test_every_rest_and_kafka_sample_is_pinned() -> None:
    names = {p.name for p in GOLDEN}
    assert {"rest-shop.expected.csv", "rest-edge-cases.expected.csv"} <= names
    assert any(n.startswith("kafka-") for n in names)
