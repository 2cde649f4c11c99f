"""Formula cells (issue #16): names seen in traffic that start with `=`, `+`, `-` or `@`
reach findings, TLS coverage and `dpi diff`. Their CSV, JSON and table outputs stay
literal, like the inventory's; an `.xlsx` file name (or `dpi diff --format xlsx`) writes
a workbook in which every such name is a text cell (openpyxl `data_type == "s"`), never
a formula."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from dpi.cli import main
from tests.builders.conversation import Conversation, http_request, http_response
from tests.builders.tls import Tls13Session

FORMULA = "=cmd|' /C calc'!A0"
PLUS = "+SUM(1,2)"
CARD = "4111 1111 1111 1111"


def _external_post(path: Path, key: str) -> Path:
    """A card number in a JSON member named `key`, POSTed to an external server whose
    Host header is the formula."""
    body = json.dumps({key: CARD}).encode()
    conv = Conversation(server="203.0.113.7", sport=80).handshake()
    conv.request(http_request("POST", "/v1/pay", body, host=FORMULA))
    conv.response(http_response(b"{}")).close()
    return conv.write(path)


def _cells(path: Path) -> list[tuple[object, str]]:
    book = load_workbook(path)
    return [(cell.value, cell.data_type) for sheet in book for row in sheet.iter_rows() for cell in row]


def _formula_cells(path: Path, *names: str) -> list[tuple[object, str]]:
    """Cells that contain one of `names` (a host cell may list several names)."""
    return [(v, t) for v, t in _cells(path) if isinstance(v, str) and any(n in v for n in names)]


def _no_formula_anywhere(path: Path) -> None:
    for value, kind in _cells(path):
        assert kind != "f", value
        if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
            assert kind == "s", value


def test_findings_xlsx_keeps_a_formula_host_as_text(tmp_path: Path) -> None:
    capture = _external_post(tmp_path / "t.pcap", PLUS)
    findings = tmp_path / "findings.xlsx"
    status = main(["scan", str(capture), "--no-progress", "-q", "-o", str(tmp_path / "inv.csv"),
                   "--findings", str(findings)])  # fmt: skip
    assert status == 0
    hits = _formula_cells(findings, FORMULA)
    assert any(str(value).startswith(FORMULA) for value, _ in hits), "the host reaches findings"
    assert all(kind == "s" for _, kind in hits)
    _no_formula_anywhere(findings)
    header = next(load_workbook(findings)["findings"].iter_rows(max_row=1, values_only=True))
    assert header[:3] == ("id", "severity", "kind")


def test_findings_csv_stays_literal(tmp_path: Path) -> None:
    capture = _external_post(tmp_path / "t.pcap", "amount")
    findings = tmp_path / "findings.csv"
    assert main(["scan", str(capture), "--no-progress", "-q", "-o", str(tmp_path / "inv.csv"),
                 "--findings", str(findings)]) == 0  # fmt: skip
    assert FORMULA.replace('"', '""') in findings.read_text()  # as seen: CSV is not for Excel


def test_tls_coverage_xlsx_keeps_a_formula_server_name_as_text(tmp_path: Path) -> None:
    session = Tls13Session(sni=FORMULA)
    conv = Conversation(sport=443).handshake()
    conv.request(session.client_hello()).response(session.server_flight()).close()
    capture = conv.write(tmp_path / "t.pcap")
    coverage = tmp_path / "coverage.xlsx"
    status = main(["scan", str(capture), "--no-progress", "-q", "-o", str(tmp_path / "inv.csv"),
                   "--tls-coverage", str(coverage)])  # fmt: skip
    assert status == 0
    rows = list(load_workbook(coverage)["tls_coverage"].iter_rows(values_only=True))
    assert rows[0][:2] == ("server", "sni") and len(rows) == 2
    assert _formula_cells(coverage, FORMULA) == [(FORMULA, "s")]
    _no_formula_anywhere(coverage)
    assert rows[1][5] > 0 and rows[1][7] is False  # bytes stay numbers, flags booleans


def _inventory(tmp_path: Path, name: str, key: str) -> Path:
    out = tmp_path / name
    capture = _external_post(tmp_path / f"{name}.pcap", key)
    assert main(["scan", str(capture), "--no-progress", "-q", "-o", str(out)]) == 0
    return out


@pytest.mark.parametrize("how", [["--format", "xlsx"], []])
def test_diff_xlsx_keeps_a_formula_field_as_text(tmp_path: Path, how: list[str]) -> None:
    old = _inventory(tmp_path, "old.csv", "amount")
    new = _inventory(tmp_path, "new.csv", FORMULA)
    assert FORMULA.replace('"', '""') in new.read_text()  # the inventory stays literal (contract)
    out = tmp_path / "diff.xlsx"
    status = main(["diff", str(old), str(new), "-o", str(out), *how])
    assert status == 0
    hits = _formula_cells(out, FORMULA)
    assert (FORMULA, "s") in hits and all(kind == "s" for _, kind in hits)
    _no_formula_anywhere(out)
    changes = list(load_workbook(out)["changes"].iter_rows(values_only=True))
    assert changes[0][:4] == ("kind", "protocol", "server", "api")
    assert {row[0] for row in changes[1:]} == {"new_field", "gone_field"}


def test_diff_xlsx_needs_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    old = _inventory(tmp_path, "old.csv", "amount")
    capsys.readouterr()
    assert main(["diff", str(old), str(old), "--format", "xlsx"]) == 2
    assert capsys.readouterr().err.strip() == "dpi: error: --format xlsx needs --out FILE"
