"""The CSV and JSON exports are written in plain Python (no pandas on the scan path) and
give the same bytes the DataFrame writers gave before, on real scan rows and on rows
with quotes, commas, line breaks, NULs and odd confidences."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas
import pytest

from dpi.api import scan_engine
from dpi.inventory import COLUMNS, Row
from dpi.outputs.contract import to_dataframe
from dpi.outputs.export import export_bytes

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def _odd_rows() -> list[Row]:
    return [
        Row(protocol="http", server="10.0.0.9:80", host='h"q,\r\n', api="GET /a,b",
            direction="request", location="body", field="é\x00x;\"", data_type="EMAIL_ADDRESS",
            category="PII", count=3, first_seen="", last_seen="2026-01-15T09:00:00.000Z",
            clients=0, sample="", confidence=confidence)
        for confidence in (0.0, 1.0, 0.1, 0.33, 1e-05, 0.95)
    ]


@pytest.fixture(scope="module")
def rows() -> list[Row]:
    scanned = scan_engine(
        [SAMPLES / "rest-shop.pcap", SAMPLES / "rest-edge-cases.pcap", SAMPLES / "mysql-customers.pcap"]
    ).inventory.rows()
    assert len(scanned) > 20
    return scanned + _odd_rows()


def _frame_csv(frame: pandas.DataFrame) -> bytes:
    return str(frame.to_csv(index=False, lineterminator="\r\n")).encode("utf-8")


def _frame_json(frame: pandas.DataFrame) -> bytes:
    def native(value: Any) -> Any:
        return value.item() if hasattr(value, "item") else value

    records = [
        {name: native(value) for name, value in zip(COLUMNS, row, strict=True)}
        for row in frame[list(COLUMNS)].itertuples(index=False, name=None)
    ]
    return (json.dumps(records, indent=2) + "\n").encode("utf-8")


def test_csv_export_equals_the_dataframe_csv(rows: list[Row]) -> None:
    assert export_bytes(rows, "csv") == _frame_csv(to_dataframe(rows))
    assert export_bytes([], "csv") == _frame_csv(to_dataframe([]))


def test_json_export_equals_the_dataframe_json(rows: list[Row]) -> None:
    assert export_bytes(rows, "json") == _frame_json(to_dataframe(rows))
    assert export_bytes([], "json") == b"[]\n"
