"""The Python API scans as `dpi scan` does (dpi.toml classifiers and allow rules,
entry-point classifiers, limits, key logs, topic schemas, internal networks) and returns
typed DataFrames: the inventory, the findings and the TLS coverage."""

from __future__ import annotations

import csv
import io
import json
import sys
from pathlib import Path
from typing import Any, ClassVar

import pandas
import pytest
from scapy.utils import wrpcap

import dpi
from classifiers.base import Classifier, FieldContext, Finding
from dpi.build import BuildError
from dpi.cli import main
from dpi.runs.scanner import ScanError
from tests.builders.conversation import T0, Conversation, http_request, http_response
from tests.dpi.test_findings import _exposure_capture

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"


@pytest.fixture(scope="module")
def exposure(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _exposure_capture(tmp_path_factory.mktemp("api") / "exposure.pcap")


def _orders(path: Path) -> Path:
    """An HTTP API returning an order number and a big body."""
    conv = Conversation(cport=42000, ts=T0).handshake()
    body = json.dumps({"order": "ORD-2026-000042", "note": "x" * 3000,
                       "email": "ada.byron@mail.example.org"}).encode()  # past a 1k body limit
    conv.request(http_request("GET", "/v1/orders/42"))
    conv.response(http_response(body))
    wrpcap(str(path), conv.close().packets)
    return path


def _cli(*args: str) -> str:
    out = io.StringIO()
    old, sys.stdout = sys.stdout, out
    try:
        assert main(["scan", *args, "--no-progress", "-q"]) == 0
    finally:
        sys.stdout = old
    return out.getvalue()


def test_inventory_columns_are_typed(exposure: Path) -> None:
    frame = dpi.scan(exposure)
    assert list(frame.columns)[:15] == ["protocol", "server", "host", "api", "direction", "location",
                                        "field", "data_type", "category", "count", "first_seen",
                                        "last_seen", "clients", "sample", "confidence"]
    for name in ("first_seen", "last_seen"):
        assert isinstance(frame[name].dtype, pandas.DatetimeTZDtype) and str(frame[name].dt.tz) == "UTC"
    for name in ("count", "clients"):
        assert frame[name].dtype == "int64"
    for name in ("protocol", "direction", "location", "data_type", "category"):
        assert isinstance(frame[name].dtype, pandas.CategoricalDtype), name
    assert frame["confidence"].dtype == "float64"
    assert "egress" not in frame.columns  # only with findings, as on the command line
    card = frame[frame["data_type"] == "CARD_NUMBER"].iloc[0]
    # The capture's own clock (T0), not the time of the scan.
    assert abs(card["first_seen"] - pandas.Timestamp(T0, unit="s", tz="UTC")) < pandas.Timedelta(seconds=5)
    assert card["first_seen"] <= card["last_seen"] and card["count"] == 1


def test_inventory_equals_the_command_lines_rows(exposure: Path) -> None:
    frame = dpi.scan(exposure)
    rows = list(csv.DictReader(io.StringIO(_cli(str(exposure)))))
    assert len(rows) == len(frame)
    for row, (_, typed) in zip(rows, frame.iterrows(), strict=True):
        assert (row["api"], row["field"], row["data_type"]) == (typed["api"], typed["field"], typed["data_type"])
        assert int(row["count"]) == typed["count"] and int(row["clients"]) == typed["clients"]
        assert pandas.Timestamp(row["first_seen"]) == typed["first_seen"]


def test_scan_all_gives_findings_and_coverage_as_the_cli_writes_them(exposure: Path, tmp_path: Path) -> None:
    result = dpi.scan_all(exposure, internal=["10.0.0.0/8"])
    found = tmp_path / "f.json"
    inventory = _cli(str(exposure), "--findings", str(found), "--internal", "10.0.0.0/8")
    expected = json.loads(found.read_text(encoding="utf-8"))
    assert list(result.findings["id"]) == [f["id"] for f in expected]
    assert list(result.findings["kind"].astype(str)) == [f["kind"] for f in expected]
    assert result.findings["count"].dtype == "int64"
    assert isinstance(result.findings["severity"].dtype, pandas.CategoricalDtype)
    # The inventory carries egress (bool) and auth_share (float) like the CLI's columns.
    cli_rows = list(csv.DictReader(io.StringIO(inventory)))
    assert [r["egress"] == "yes" for r in cli_rows] == list(result.inventory["egress"])
    shares = [float(r["auth_share"]) if r["auth_share"] else None for r in cli_rows]
    assert [None if pandas.isna(s) else round(s, 2) for s in result.inventory["auth_share"]] == shares
    assert result.tls_coverage.empty and list(result.tls_coverage.columns) == ["server", "sni", "alpn", "version", "cipher", "bytes_client", "bytes_server", "decrypted", "reason"]
    assert result.stats["files"] == 1


def test_keylogs_decrypt_and_coverage_is_typed() -> None:
    without = dpi.scan_all(SAMPLES / "kafka-tls.pcap", findings=False)
    assert not without.tls_coverage["decrypted"].any() and without.findings.empty
    keyed = dpi.scan_all(SAMPLES / "kafka-tls.pcap", keylogs=[SAMPLES / "kafka-tls.keylog"])
    coverage = keyed.tls_coverage
    assert coverage["decrypted"].dtype == bool and coverage["decrypted"].all()
    assert coverage["bytes_client"].dtype == "int64" and (coverage["bytes_client"] > 0).all()
    assert len(keyed.inventory) > len(without.inventory)
    expected = list(csv.DictReader(io.StringIO((SAMPLES / "kafka-tls.expected.csv").read_text(encoding="utf-8"))))
    assert sorted(keyed.inventory["field"]) == sorted(r["field"] for r in expected)


def test_dpi_toml_classifiers_and_allow_rules_are_honoured(tmp_path: Path) -> None:
    capture = _orders(tmp_path / "orders.pcap")
    config = tmp_path / "dpi.toml"
    config.write_text(
        '[[classifiers]]\ndata_type = "ORDER_NUMBER"\ncategory = "PII"\n'
        "patterns = ['ORD-\\d{4}-\\d{6}']\nhints = [\"order\"]\nconfidence = 0.9\n\n"
        '[[allow]]\ndata_type = "EMAIL_ADDRESS"\n',
        encoding="utf-8",
    )
    plain = dpi.scan(capture)
    assert "EMAIL_ADDRESS" in set(plain["data_type"]) and "ORDER_NUMBER" not in set(plain["data_type"])
    configured = dpi.scan(capture, config=config)
    assert set(configured["data_type"]) == {"ORDER_NUMBER"}
    assert list(configured["field"]) == [r["field"] for r in csv.DictReader(io.StringIO(
        _cli(str(capture), "--config", str(config))))]


class _TicketClassifier(Classifier):
    data_type: ClassVar[str] = "SUPPORT_TICKET"
    category: ClassVar[Any] = "PII"

    def score(self, value: str, ctx: FieldContext) -> Finding | None:
        return self.finding(0.95, "ticket prefix") if value.startswith("ORD-") else None


class _EntryPoint:
    name = "tickets"

    def load(self) -> type[Classifier]:
        return _TicketClassifier


def test_entry_point_classifiers_are_honoured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    capture = _orders(tmp_path / "orders.pcap")
    assert "SUPPORT_TICKET" not in set(dpi.scan(capture)["data_type"])
    monkeypatch.setattr("dpi.config.entry_points", lambda group: [_EntryPoint()])
    assert "SUPPORT_TICKET" in set(dpi.scan(capture)["data_type"])


def test_limits_are_honoured_and_checked(tmp_path: Path) -> None:
    capture = _orders(tmp_path / "orders.pcap")
    assert "EMAIL_ADDRESS" in set(dpi.scan(capture)["data_type"])
    small = dpi.scan_all(capture, limits={"max_body_bytes": "1k"})
    assert "EMAIL_ADDRESS" not in set(small.inventory["data_type"])
    assert small.stats["limits_hit"]
    assert set(dpi.scan(capture, limits=["max_body_bytes=1k"])["data_type"]) == set(small.inventory["data_type"])
    with pytest.raises(BuildError, match="no_such_limit"):
        dpi.scan(capture, limits={"no_such_limit": 1})


def test_bad_options_are_one_line_errors(tmp_path: Path, exposure: Path) -> None:
    with pytest.raises(BuildError, match="not in the --proto/--descriptor-set schemas"):
        dpi.scan(exposure, topic_schemas={"orders": "shop.Order"})
    with pytest.raises(BuildError, match="not an IP network"):
        dpi.scan_all(exposure, internal=["ten"])
    with pytest.raises(ScanError, match="no capture to scan"):
        dpi.scan(tmp_path / "nothing-here")
    broken = tmp_path / "dpi.toml"
    broken.write_text("[[classifiers]]\ndata_type = 1\n", encoding="utf-8")
    with pytest.raises(BuildError):
        dpi.scan(exposure, config=broken)


def test_empty_scan_keeps_the_types(tmp_path: Path) -> None:
    conv = Conversation(cport=42001, ts=T0).handshake()
    conv.request(http_request("GET", "/health"))
    conv.response(http_response(b"ok", content_type="text/plain"))
    path = tmp_path / "health.pcap"
    wrpcap(str(path), conv.close().packets)
    result = dpi.scan_all(path)
    assert result.inventory.empty and result.findings.empty
    assert result.inventory["count"].dtype == "int64"
    assert isinstance(result.inventory["first_seen"].dtype, pandas.DatetimeTZDtype)
