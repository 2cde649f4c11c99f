"""`dpi report`: the HTML page is self-contained, escapes what traffic wrote, and renders
in a real browser (Debian's headless Chromium: DOM dump and a screenshot, skipped where
Chromium is not installed)."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.findings import Finding, Severity
from dpi.inventory import COLUMNS, Row
from dpi.outputs.report import InventoryRow, read_inventory, render
from tests.dpi.test_findings import _exposure_capture

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# Generous: the first start of Chromium on a CI machine builds its caches.
CHROMIUM_TIMEOUT = 120


@pytest.fixture(scope="module")
def scanned_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """inventory.csv, findings.json and report.html of the crafted exposure capture."""
    base = tmp_path_factory.mktemp("report")
    capture = _exposure_capture(base / "exposure.pcap")
    inventory, found, page = base / "inventory.csv", base / "findings.json", base / "report.html"
    assert main(["scan", str(capture), "--no-progress", "-q", "-o", str(inventory), "--findings", str(found)]) == 0
    assert main(["report", str(inventory), "--findings", str(found), "--html", str(page), "-q"]) == 0
    return inventory, found, page


def _row(**overrides: object) -> InventoryRow:
    values: dict[str, object] = {
        "protocol": "http", "server": "10.0.0.5:8080", "host": "api.shop.example",
        "api": "GET /v1/users/{id}", "direction": "response", "location": "body",
        "field": "email", "data_type": "EMAIL_ADDRESS", "category": "PII", "count": 3,
        "first_seen": "", "last_seen": "", "clients": 2, "sample": "****@****.com",
        "confidence": 0.9,
    }
    values.update(overrides)
    return InventoryRow(row=Row(**values), egress="", auth_share="")  # type: ignore[arg-type]


def test_page_is_self_contained(scanned_files: tuple[Path, Path, Path]) -> None:
    html = scanned_files[2].read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # Nothing is fetched: no external scripts, styles, images or frames.
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.IGNORECASE)
    assert "<link" not in html and "@import" not in html and "<iframe" not in html
    assert "default-src 'none'" in html
    for element in ('id="findings"', 'id="apis"', 'id="inventory"', 'id="flow"', 'id="endpoints"'):
        assert element in html


def test_page_never_shows_values(scanned_files: tuple[Path, Path, Path]) -> None:
    from tests.dpi.test_findings import CARD, EMAIL, SSN, TOKEN

    html = scanned_files[2].read_text(encoding="utf-8")
    for value in (CARD, SSN, EMAIL, TOKEN.split()[1]):
        assert value not in html


def test_traffic_text_is_escaped() -> None:
    evil = "GET /<script>alert(1)</script>"
    html = render([_row(api=evil, host='"><img src=x onerror=alert(1)>')], [])
    assert "<script>alert(1)" not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_findings_by_severity_and_external_servers_marked() -> None:
    rows = [_row(), _row(server="203.0.113.7:443", api="POST /v1/charges", direction="request",
                         data_type="CARD_NUMBER", category="PCI", field="card")]
    found = [
        Finding(severity=Severity.HIGH, kind="egress_sensitive_data", protocol="http",
                server="203.0.113.7:443", host="pay.example", api="POST /v1/charges", field="",
                category="PCI", count=1, evidence="sent"),
        Finding(severity=Severity.LOW, kind="version_disclosure", protocol="http",
                server="10.0.0.5:8080", host="", api="", field="server", category="", count=1,
                evidence="x"),
    ]
    html = render(rows, found)
    assert html.index("egress_sensitive_data") < html.index("version_disclosure")
    assert 'class="server-node external"' in html and "203.0.113.7:443" in html


def test_inventory_reads_csv_with_or_without_extras_and_json(
    scanned_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    inventory = scanned_files[0]
    rows = read_inventory(inventory)
    assert rows and {r.egress for r in rows} == {"yes", "no"}
    assert any(r.auth_share == "0.50" for r in rows)
    as_json = tmp_path / "inv.json"
    records = [{name: getattr(r.row, name) for name in COLUMNS} for r in rows]
    as_json.write_text(json.dumps(records), encoding="utf-8")
    again = read_inventory(as_json)
    assert [r.row for r in again] == [r.row for r in rows] and {r.egress for r in again} == {""}


def test_report_without_findings_computes_them(scanned_files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    assert main(["report", str(scanned_files[0]), "--html", str(page), "-q"]) == 0
    html = page.read_text(encoding="utf-8")
    assert "egress_sensitive_data" in html and "response_overexposure" in html


def test_report_of_a_non_inventory_is_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bogus = tmp_path / "x.csv"
    bogus.write_text("a,b\n1,2\n", encoding="utf-8")
    assert main(["report", str(bogus), "--html", str(tmp_path / "r.html")]) == 2
    assert "not a dpi inventory" in capsys.readouterr().err


# -- headless Chromium ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def chromium() -> str:
    for name in CHROMIUM_NAMES:
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("chromium is not installed (Debian: apt-get install chromium)")


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-extensions",
         f"--user-data-dir={profile}", *args],
        capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT, check=False,
    )


def test_chromium_dom_has_tables_findings_and_ran_the_script(
    chromium: str, scanned_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    page = scanned_files[2]
    # A copy with a test-only script that sorts the findings table by count (two clicks:
    # descending) and records the resulting order: the page's own sort code runs.
    probe = tmp_path / "probe.html"
    click = (
        "<script>var th=[...document.querySelectorAll('#findings th')].find(t=>t.textContent=='count');"
        "th.click();th.click();document.body.setAttribute('data-sorted',"
        "[...document.querySelectorAll('#findings tbody tr')].map(r=>r.cells[9].textContent).join(','));"
        "</script></body>"
    )
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", click), encoding="utf-8")
    result = _chromium(chromium, tmp_path / "profile", "--dump-dom", probe.as_uri())
    dom = result.stdout
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'data-ready="1"' in dom
    for table in ("findings", "apis", "inventory", "endpoints"):
        assert re.search(rf'<table class="sortable" id="{table}">', dom)
    found = json.loads(scanned_files[1].read_text(encoding="utf-8"))
    for finding in found:
        assert finding["id"] in dom
    sorted_counts = re.search(r'data-sorted="([^"]*)"', dom)
    assert sorted_counts is not None
    counts = [int(c) for c in sorted_counts.group(1).split(",")]
    assert counts == sorted(counts, reverse=True) and len(counts) == len(found)


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """A minimal PNG reader (8-bit RGB/RGBA, non-interlaced: what Chromium writes):
    returns width, height and the unfiltered rows (RFC 2083 sections 4 and 6)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 0
    while pos < len(data):
        length, ctype = struct.unpack_from(">I4s", data, pos)
        body = data[pos + 8 : pos + 8 + length]
        if ctype == b"IHDR":
            width, height, depth, color, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0
            channels = 3 if color == 2 else 4
        elif ctype == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + b) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        rows.append(bytes(line))
        prev = line
    return width, height, [bytes(r) for r in rows]


def test_chromium_screenshot_renders_content(
    chromium: str, scanned_files: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    shot = tmp_path / "shot.png"
    result = _chromium(chromium, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1280,2000",
                       "--hide-scrollbars", scanned_files[2].as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert shot.is_file() and shot.stat().st_size > 20_000
    width, height, rows = _png_pixels(shot.read_bytes())
    assert (width, height) == (1280, 2000)
    channels = len(rows[0]) // width
    colors: dict[bytes, int] = {}
    for row in rows[::4]:  # every 4th row, every 4th pixel: plenty for "not blank"
        for x in range(0, width, 4):
            pixel = row[x * channels : x * channels + 3]
            colors[pixel] = colors.get(pixel, 0) + 1
    total = sum(colors.values())
    background = max(colors.values())
    assert len(colors) > 50  # text, badges, the flow picture: many colors
    assert total - background > total // 50  # more than 2% of the page is not background
    # The severity badges and external servers are drawn in red (#c0392b and near it).
    assert any(p[0] > 150 and p[1] < 90 and p[2] < 80 for p in colors)
