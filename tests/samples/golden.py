"""Compare a scan's rows with a sample's `.expected.csv` (samples/README.md).

Every column must be equal except `confidence`, where the expected column is the
minimum the scan must reach.
"""

from __future__ import annotations

import csv
from pathlib import Path

from dpi.inventory import COLUMNS, Row
from dpi.outputs.contract import to_csv


def expected_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames or ()) == COLUMNS
        return list(reader)


def assert_matches_expected(rows: list[Row], expected_csv: Path) -> None:
    actual = list(csv.DictReader(to_csv(rows).splitlines()))
    expected = expected_rows(expected_csv)
    exact = [c for c in COLUMNS if c != "confidence"]
    got = [tuple(r[c] for c in exact) for r in actual]
    want = [tuple(r[c] for c in exact) for r in expected]
    missing = sorted(set(want) - set(got))
    extra = sorted(set(got) - set(want))
    assert not missing and not extra, f"missing rows: {missing}\nunexpected rows: {extra}"
    assert got == want  # same order: the contract's sort
    for a, e in zip(actual, expected):
        assert float(a["confidence"]) >= float(e["confidence"]), (a["field"], a["data_type"])
