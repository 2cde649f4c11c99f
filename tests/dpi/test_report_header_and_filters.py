"""`dpi report`: the header names the scan (inventory date, traffic span, scope, files,
dpi version), the inventory table shows first and last seen, every format `dpi scan`
writes is read, and the search box and filters (category, protocol, external only)
narrow the tables in a real browser (headless Chromium, skipped where not installed)."""

from __future__ import annotations

import csv
import json
import re
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.outputs.report import InventoryRow, ReportError, read_inventory, write_report
from tests.dpi.test_findings import CARD, EMAIL, SSN, _exposure_capture
from tests.dpi.test_report import _chromium, chromium  # noqa: F401 - the fixture

Scanned = tuple[Path, Path, Path, Path]


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    """inventory.csv (with egress), findings.json, summary.json and the report page."""
    base = tmp_path_factory.mktemp("report-header")
    capture = _exposure_capture(base / "exposure.pcap")
    inventory, found, summary, page = (base / "inventory.csv", base / "findings.json",
                                       base / "summary.json", base / "report.html")
    assert main(["scan", str(capture), "--no-progress", "-q", "-o", str(inventory),
                 "--findings", str(found), "--summary-json", str(summary)]) == 0
    write_report(inventory, page, findings_path=found, summary_path=summary)
    return inventory, found, summary, page


def _rows(inventory: Path) -> list[dict[str, str]]:
    with inventory.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _meta(html: str, key: str) -> str:
    match = re.search(rf'<dd id="meta-{key}">([^<]*)</dd>', html)
    assert match is not None, key
    return match.group(1)


def test_header_names_date_span_scope_files_and_version(scanned: Scanned) -> None:
    inventory, _, summary, page = scanned
    html = page.read_text(encoding="utf-8")
    rows = _rows(inventory)
    assert re.fullmatch(r"inventory inventory\.csv written \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", _meta(html, "scan"))
    first = min(r["first_seen"] for r in rows)
    last = max(r["last_seen"] for r in rows)
    assert _meta(html, "traffic") == f"{first} to {last}"
    apis = {(r["protocol"], r["server"], r["api"]) for r in rows}
    servers = {r["server"] for r in rows}
    assert _meta(html, "scope").startswith(f"{len(apis)} APIs on {len(servers)} servers; protocols: http;")
    stats = json.loads(summary.read_text(encoding="utf-8"))
    assert _meta(html, "files").startswith(f"1 capture file(s), {stats['bytes_read'] / 1e6:.1f} MB, "
                                           f"{stats['frames']} packets, {stats['flows']} TCP flows")
    try:
        expected = version("dpi-inventory")
    except PackageNotFoundError:
        expected = "(not installed)"
    assert _meta(html, "dpi").startswith(f"version {expected}; page made ")


def test_header_without_summary_says_how_to_get_the_files(scanned: Scanned, tmp_path: Path) -> None:
    page = tmp_path / "r.html"
    write_report(scanned[0], page)
    assert _meta(page.read_text(encoding="utf-8"), "files").startswith("not given (pass --summary-json of the scan")
    bogus = tmp_path / "s.json"
    bogus.write_text('{"x": 1}', encoding="utf-8")
    with pytest.raises(ReportError, match="not a dpi scan summary"):
        write_report(scanned[0], page, summary_path=bogus)


def test_inventory_table_shows_first_and_last_seen(scanned: Scanned) -> None:
    html = scanned[3].read_text(encoding="utf-8")
    table = html[html.index('id="inventory"'):]
    assert "<th>first seen</th><th>last seen</th>" in table
    for row in _rows(scanned[0]):
        assert f"<td>{row['first_seen']}</td><td>{row['last_seen']}</td>" in table


def test_page_stays_self_contained_and_value_free(scanned: Scanned) -> None:
    html = scanned[3].read_text(encoding="utf-8")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", html, re.IGNORECASE)
    assert "default-src 'none'" in html and "<link" not in html
    for value in (CARD, SSN, EMAIL):
        assert value not in html
    for control in ('id="q"', 'id="f-category"', 'id="f-protocol"', 'id="f-external"'):
        assert control in html


@pytest.mark.parametrize("fmt", ["json", "parquet", "xlsx"])
def test_report_reads_every_format_scan_writes(scanned: Scanned, tmp_path: Path, fmt: str) -> None:
    if fmt == "parquet":
        pytest.importorskip("pyarrow")
    if fmt == "xlsx":
        pytest.importorskip("openpyxl")
    capture = _exposure_capture(tmp_path / "exposure.pcap")
    out = tmp_path / f"inventory.{fmt}"
    assert main(["scan", str(capture), "--no-progress", "-q", "-o", str(out), "--format", fmt]) == 0
    rows = read_inventory(out)
    csv_rows = read_inventory(scanned[0])
    def key(item: InventoryRow) -> tuple[str, str, str, int, str, str]:
        r = item.row
        return (r.api, r.field, r.data_type, r.count, r.first_seen, r.last_seen)

    assert sorted(map(key, rows)) == sorted(map(key, csv_rows))
    assert {r.row.first_seen for r in rows} == {r.row.first_seen for r in csv_rows}
    page = tmp_path / "r.html"
    assert main(["report", str(out), "--html", str(page), "-q"]) == 0
    assert "CARD_NUMBER" in page.read_text(encoding="utf-8")


# -- headless Chromium: the filters run ------------------------------------------------


_PROBE = """<script>
function setf(q,c,p,e){document.getElementById('q').value=q;document.getElementById('f-category').value=c;
 document.getElementById('f-protocol').value=p;document.getElementById('f-external').checked=e;
 document.getElementById('q').dispatchEvent(new Event('input'));
 return ['inventory','apis','findings'].map(function(t){return document.getElementById(t).tBodies[0].getAttribute('data-shown');}).join('/')
  +'/'+[...document.querySelectorAll('#inventory tbody tr')].filter(r=>r.style.display!=='none').length;}
var out={all:setf('','','',false),pci:setf('','PCI','',false),ext:setf('','','',true),
 search:setf('charges','','',false),none:setf('no-such-text-anywhere','','',false),combo:setf('users','PII','http',false),
 shown:(setf('','PCI','',false),document.getElementById('shown').textContent)};
document.body.setAttribute('data-filters',JSON.stringify(out));
</script></body>"""


def test_chromium_filters_narrow_every_table(
    chromium: str, scanned: Scanned, tmp_path: Path  # noqa: F811 - the fixture
) -> None:
    inventory, found_path, _, page = scanned
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", _PROBE), encoding="utf-8")
    result = _chromium(chromium, tmp_path / "profile", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r'data-filters="([^"]*)"', result.stdout)
    assert match is not None, "the probe did not run"
    got = json.loads(match.group(1).replace("&quot;", '"'))
    rows = _rows(inventory)
    found = json.loads(found_path.read_text(encoding="utf-8"))
    apis = {(r["protocol"], r["server"], r["api"]) for r in rows}

    def counts(inv: list[dict[str, str]], api_keys: set[tuple[str, str, str]], finds: list[dict[str, str]]) -> str:
        return f"{len(inv)}/{len(api_keys)}/{len(finds)}/{len(inv)}"

    assert got["all"] == counts(rows, apis, found)
    pci = [r for r in rows if r["category"] == "PCI"]
    pci_apis = {(r["protocol"], r["server"], r["api"]) for r in pci}
    assert got["pci"] == counts(pci, pci_apis, [f for f in found if "PCI" in f["category"].split(";")])
    external = [r for r in rows if r["egress"] == "yes"]
    assert external and len(external) < len(rows)
    assert got["ext"].split("/")[0] == str(len(external))
    assert got["ext"].split("/")[1] == str(len({(r["protocol"], r["server"], r["api"]) for r in external}))
    charges = [r for r in rows if "charges" in r["api"]]
    assert charges and got["search"].split("/")[0] == str(len(charges))
    assert got["none"] == "0/0/0/0"
    combo = [r for r in rows if r["category"] == "PII" and r["protocol"] == "http" and "users" in r["api"]]
    assert got["combo"].split("/")[0] == str(len(combo)) and combo
    assert re.fullmatch(r"showing \d+ of \d+ rows", got["shown"])
