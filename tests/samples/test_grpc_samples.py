"""The gRPC sample captures scan to their expected inventories (golden test).

Each `samples/grpc-patients*.pcap` is scanned by the engine with the schema of
`samples/grpc/patients.proto` loaded (as `dpi scan --proto samples/grpc` does) and must
give exactly the rows of its `.expected.csv` in every column but `confidence`, which must
reach at least the expected value (the generator writes the minimum it accepts).

The midstream capture has no SYN and a server port above Linux's ephemeral range, so the
port guess starts with the roles reversed: its rows must still name the real server, the
right directions and the calls whose `:path` was sent after the capture began.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from dpi.api import scan_engine
from dpi.inventory import COLUMNS, Row
from protocols.protobuf import SchemaRegistry

NAMES = ["grpc-patients", "grpc-patients-midstream"]
SERVICE = "/clinic.v1.PatientService"


@pytest.fixture(scope="module")
def schemas(samples_dir: Path) -> SchemaRegistry:
    registry = SchemaRegistry()
    registry.load_proto_dirs([samples_dir / "grpc"])
    return registry


def _scan(samples_dir: Path, name: str, schemas: SchemaRegistry) -> list[Row]:
    capture = samples_dir / f"{name}.pcap"
    if not capture.is_file():
        pytest.skip("run python samples/make_grpc_samples.py")
    return scan_engine(capture, schemas=schemas, strict=True).inventory.rows()


def _expected(samples_dir: Path, name: str) -> list[dict[str, str]]:
    with open(samples_dir / f"{name}.expected.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        assert reader.fieldnames == list(COLUMNS)
        return list(reader)


@pytest.mark.parametrize("name", NAMES)
def test_sample_scan_equals_expected_csv(
    samples_dir: Path, schemas: SchemaRegistry, name: str
) -> None:
    expected = _expected(samples_dir, name)
    rows = _scan(samples_dir, name, schemas)
    got = [{c: str(v) for c, v in zip(COLUMNS, r.as_list(), strict=True)} for r in rows]
    exact = [c for c in COLUMNS if c != "confidence"]
    assert [[g[c] for c in exact] for g in got] == [[e[c] for c in exact] for e in expected]
    for g, e in zip(got, expected, strict=True):
        assert float(g["confidence"]) >= float(e["confidence"]), (g["api"], g["field"])


def test_midstream_sample_has_real_server_directions_and_apis(
    samples_dir: Path, schemas: SchemaRegistry
) -> None:
    rows = _scan(samples_dir, "grpc-patients-midstream", schemas)
    full = _scan(samples_dir, "grpc-patients", schemas)
    assert {r.server for r in rows} == {r.server for r in full}  # the SYN's server
    assert {(r.api, r.direction, r.field) for r in rows} == {
        (f"{SERVICE}/ListVisits", "request", "patient_id"),
        (f"{SERVICE}/ListVisits", "response", "clinician_email"),
        (f"{SERVICE}/ListVisits", "response", "diagnosis_code"),
        (f"{SERVICE}/UploadVitals", "request", "patient_id"),
        (f"{SERVICE}/UploadVitals", "response", "contact_phone"),
        (f"{SERVICE}/Chat", "request", "sender_email"),
        (f"{SERVICE}/Chat", "response", "sender_email"),
    }
    assert all(r.host == "" for r in rows)  # :authority was indexed before the capture
