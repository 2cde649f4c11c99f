"""`dpi report --summary-json`: the report's header names the captures behind the
inventory, from the scan's own summary (issue #17, "The report")."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from dpi.cli import main
from tests.conftest import SAMPLES


def test_header_names_the_scanned_captures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inv, summary, page = tmp_path / "inv.csv", tmp_path / "summary.json", tmp_path / "r.html"
    capture = SAMPLES / "rest-shop.pcap"
    assert main(["scan", str(capture), "-o", str(inv), "--summary-json", str(summary), "-q"]) == 0
    assert json.loads(summary.read_text())["paths"] == [str(capture)]
    assert main(["report", str(inv), "--html", str(page), "--summary-json", str(summary), "-q"]) == 0
    html = page.read_text(encoding="utf-8")
    files = re.search(r'<dd id="meta-files">(.*?)</dd>', html)
    assert files is not None
    assert "1 capture file(s)" in files.group(1) and "rest-shop.pcap" in files.group(1)


def test_a_file_that_is_not_a_summary_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inv, page = tmp_path / "inv.csv", tmp_path / "r.html"
    assert main(["scan", str(SAMPLES / "rest-shop.pcap"), "-o", str(inv), "-q"]) == 0
    capsys.readouterr()
    assert main(["report", str(inv), "--html", str(page), "--summary-json", str(inv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("dpi: error:") and err.count("\n") == 1
