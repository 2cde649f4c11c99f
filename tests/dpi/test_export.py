"""Exports from one DataFrame: contract CSV and JSON unchanged, Parquet, Excel per category."""

from __future__ import annotations

import argparse
import io
import json
from pathlib import Path

import pandas
import pytest

from dpi.api import scan_engine
from dpi.cli import build_parser, main
from dpi.inventory import COLUMNS, Row
from dpi.outputs.contract import to_csv, to_json
from dpi.outputs.export import export_bytes
from dpi.outputs.formats import BINARY_FORMATS, FORMATS

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    return scan_engine([SAMPLES / "rest-shop.pcap", SAMPLES / "grpc-patients.pcap"]).inventory.rows()


def _hostile_row() -> Row:
    return Row(protocol="http", server="10.0.0.9:80", host="h", api="POST /=HYPERLINK(\"x\")",
               direction="request", location="body", field="=1+1\x07", data_type="EMAIL_ADDRESS",
               category="PII", count=1, first_seen="2026-01-15T09:00:00.000Z",
               last_seen="2026-01-15T09:00:00.000Z", clients=1, sample="****@****.com", confidence=0.9)


def test_csv_and_json_exports_equal_the_contract_writers(rows: list[Row]) -> None:
    assert export_bytes(rows, "csv").decode() == to_csv(rows)
    assert export_bytes(rows, "json").decode() == to_json(rows)
    assert export_bytes([], "csv").decode() == to_csv([])


def test_parquet_round_trips_the_frame(rows: list[Row]) -> None:
    frame = pandas.read_parquet(io.BytesIO(export_bytes(rows, "parquet")))
    assert list(frame.columns) == list(COLUMNS) and len(frame) == len(rows)
    assert frame["count"].sum() == sum(r.count for r in rows)


def test_excel_has_one_sheet_per_category_and_no_formulas(rows: list[Row]) -> None:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(export_bytes([*rows, _hostile_row()], "xlsx")))
    assert book.sheetnames == ["PII", "PHI", "PCI", "SECRET"]
    for sheet in book.worksheets:
        values = list(sheet.iter_rows(values_only=True))
        assert values[0] == COLUMNS
        assert all(v[COLUMNS.index("category")] == sheet.title for v in values[1:])
        assert all(cell.data_type != "f" for line in sheet.iter_rows() for cell in line)
    pii = [v for v in book["PII"].iter_rows(values_only=True)][1:]
    assert len(pii) == sum(r.category == "PII" for r in rows) + 1
    assert ("=1+1\ufffd") in {v[COLUMNS.index("field")] for v in pii}


def test_cli_writes_binary_formats_only_to_a_file(tmp_path: Path) -> None:
    capture = str(SAMPLES / "rest-shop.pcap")
    assert main(["scan", capture, "--format", "xlsx", "-q", "--no-progress"]) == 2
    out = tmp_path / "inv.parquet"
    assert main(["scan", capture, "--format", "parquet", "-o", str(out), "-q", "--no-progress"]) == 0
    assert len(pandas.read_parquet(out)) > 0
    summary = tmp_path / "s.json"
    out = tmp_path / "inv.xlsx"
    assert main(["scan", capture, "--jobs", "1", "--format", "xlsx", "-o", str(out), "-q",
                 "--no-progress", "--summary-json", str(summary)]) == 0
    assert out.read_bytes()[:2] == b"PK" and json.loads(summary.read_text())["batch"]["scanned"] == 1


def test_cli_format_list_matches_the_exporter(rows: list[Row]) -> None:
    """`--format` of scan, check and spec offers exactly the formats the exporter writes;
    the binary ones are Parquet and Excel files, the others UTF-8 text."""
    subcommands = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name in ("scan", "check", "spec"):
        option = next(a for a in subcommands.choices[name]._actions if a.dest == "format")
        assert tuple(option.choices) == FORMATS
    for fmt in FORMATS:
        data = export_bytes(rows, fmt)
        if fmt in BINARY_FORMATS:
            assert data[:4] in (b"PAR1", b"PK\x03\x04")
        else:
            assert data.decode("utf-8").startswith(("protocol,", "["))
