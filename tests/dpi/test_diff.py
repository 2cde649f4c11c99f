"""`dpi diff`: new APIs, fields and types, gone fields; --fail-on for cron and CI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.inventory import COLUMNS
from dpi.outputs.diff import diff_rows

BASE = {
    "protocol": "http", "server": "10.0.0.5:8080", "host": "api.shop.example", "direction": "request",
    "location": "body", "category": "PII", "count": "1", "first_seen": "", "last_seen": "",
    "clients": "1", "sample": "****", "confidence": "0.9",
}


def _row(api: str, field: str, data_type: str, category: str = "PII", server: str = "10.0.0.5:8080") -> dict[str, str]:
    return BASE | {"api": api, "field": field, "data_type": data_type, "category": category, "server": server}


OLD = [
    _row("POST /v1/users/{id}", "email", "EMAIL_ADDRESS"),
    _row("POST /v1/users/{id}", "patients[].zip", "POSTAL_CODE"),
    _row("GET /v1/orders", "card", "CARD_NUMBER", "PCI"),
]
NEW = [
    _row("POST /v1/users/{uuid}", "Email", "EMAIL_ADDRESS"),  # same: placeholders, case
    _row("POST /v1/users/{uuid}", "email", "PHONE_NUMBER"),  # new type on a known field
    _row("POST /v1/users/{id}", "patients.zip", "POSTAL_CODE"),  # same: [] ignored
    _row("POST /v1/users/{id}", "ssn", "US_SSN"),  # new field
    _row("POST /v1/pay", "token", "BEARER_TOKEN", "SECRET"),  # new API
]


def _write(path: Path, rows: list[dict[str, str]]) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_diff_finds_new_apis_fields_types_and_gone_fields() -> None:
    kinds = [(c.kind, c.api, c.field, c.data_types) for c in diff_rows(OLD, NEW).changes]
    assert kinds == [
        ("new_api", "POST /v1/pay", "", ("BEARER_TOKEN",)),
        ("new_field", "POST /v1/users/{id}", "ssn", ("US_SSN",)),
        ("new_type", "POST /v1/users/{uuid}", "Email", ("PHONE_NUMBER",)),
        ("gone_field", "GET /v1/orders", "card", ("CARD_NUMBER",)),
    ]


def test_same_inventory_has_no_changes_and_server_can_be_ignored() -> None:
    assert not diff_rows(OLD, OLD).changes
    moved = [r | {"server": "10.9.9.9:8080"} for r in OLD]
    assert {c.kind for c in diff_rows(OLD, moved).changes} == {"new_api", "gone_field"}
    assert not diff_rows(OLD, moved, ignore_server=True).changes


def test_cli_fail_on_new_exits_1_and_json_lists_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old, new = _write(tmp_path / "old.csv", OLD), _write(tmp_path / "new.csv", NEW)
    assert main(["diff", str(old), str(new), "--format", "json", "--fail-on", "new"]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["counts"] == {"new_api": 1, "new_field": 1, "new_type": 1, "gone_field": 1}
    assert "****" not in json.dumps(doc)  # samples are never read into a diff
    assert main(["diff", str(old), str(old), "--fail-on", "new"]) == 0
    assert "no changes" in capsys.readouterr().out
    only_gone = _write(tmp_path / "gone.csv", OLD[:2])
    assert main(["diff", str(old), str(only_gone), "--fail-on", "new"]) == 0
    assert main(["diff", str(old), str(only_gone), "--fail-on", "any"]) == 1
    table = capsys.readouterr().out
    assert "gone_field" in table and "GET /v1/orders" in table


def test_cli_not_an_inventory_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["diff", str(bad), str(bad)]) == 2
    assert main(["diff", str(tmp_path / "missing.csv"), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and "not an inventory" in err
