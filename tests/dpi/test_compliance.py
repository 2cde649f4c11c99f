"""Compliance views (dpi/outputs/compliance.py): `dpi report --compliance-dir` writes the PCI DSS
scope, HIPAA PHI flows and GDPR Article 30 CSVs of a scan of samples/rest-shop.pcap, and
the HTML report has the same three tables (checked in headless Chromium too).

Expectations come from samples/rest-shop.expected.csv (the contract's golden file),
not from the code under test."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from pathlib import Path

import pytest

from dpi.cli import main
from dpi.outputs.compliance import GDPR_COLUMNS, PCI_COLUMNS, PHI_COLUMNS
from tests.dpi.test_report import _chromium, chromium  # noqa: F401 - the fixture

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
# With only 10.0.0.0/24 internal, billing (10.0.1.20) and the clinic (10.0.2.30) are
# outside: transfers to them are what the views must flag.
INTERNAL = "10.0.0.0/24"
EXTERNAL_SERVERS = {"10.0.1.20:9000", "10.0.2.30:80"}

Scanned = tuple[Path, Path, Path]


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def expected() -> list[dict[str, str]]:
    return _read(SAMPLES / "rest-shop.expected.csv")


@pytest.fixture(scope="module")
def scanned(tmp_path_factory: pytest.TempPathFactory) -> Scanned:
    """(inventory, report page, compliance directory)."""
    base = tmp_path_factory.mktemp("compliance")
    inventory, page, views = base / "inv.csv", base / "r.html", base / "d"
    assert main(["scan", str(SAMPLES / "rest-shop.pcap"), "--no-progress", "-q", "-o", str(inventory)]) == 0
    assert main(["report", str(inventory), "--html", str(page), "--compliance-dir", str(views),
                 "--internal", INTERNAL, "-q"]) == 0
    return inventory, page, views


def _types_by(rows: list[dict[str, str]], category: str, *key: str) -> dict[tuple[str, ...], set[str]]:
    out: dict[tuple[str, ...], set[str]] = defaultdict(set)
    for row in rows:
        if row["category"] == category:
            out[tuple(row[k] for k in key)].add(row["data_type"])
    return dict(out)


def test_writes_the_three_files_with_their_headers(scanned: Scanned) -> None:
    views = scanned[2]
    assert sorted(p.name for p in views.iterdir()) == ["gdpr-article30.csv", "hipaa-phi-flows.csv", "pci-scope.csv"]
    for name, columns in (("pci-scope.csv", PCI_COLUMNS), ("hipaa-phi-flows.csv", PHI_COLUMNS),
                          ("gdpr-article30.csv", GDPR_COLUMNS)):
        raw = (views / name).read_bytes()
        assert raw.startswith((",".join(columns) + "\r\n").encode())


def test_pci_scope_lists_every_card_flow(scanned: Scanned, expected: list[dict[str, str]]) -> None:
    got = _read(scanned[2] / "pci-scope.csv")
    want = _types_by(expected, "PCI", "server", "api", "direction")
    assert {(r["server"], r["api"]): set(r["card_data_types"].split(";")) for r in got} == {
        (server, api): types for (server, api, _), types in want.items()
    }
    # Both card flows in the sample go from the clients to the server.
    assert {d for (_, _, d) in want} == {"request"}
    assert {r["flow"] for r in got} == {"clients -> server"}
    for line in got:
        rows = [e for e in expected if e["category"] == "PCI" and e["api"] == line["api"]]
        assert int(line["fields"]) == len(rows)
        assert int(line["clients_at_least"]) == max(int(e["clients"]) for e in rows)
        assert line["first_seen"] == min(e["first_seen"] for e in rows)
        assert line["last_seen"] == max(e["last_seen"] for e in rows)
        assert line["external"] == ("yes" if line["server"] in EXTERNAL_SERVERS else "no")
    assert {r["host"] for r in got} == {"api.shop.example", "billing.internal.example"}


def test_phi_flows_with_their_identifiers(scanned: Scanned, expected: list[dict[str, str]]) -> None:
    got = _read(scanned[2] / "hipaa-phi-flows.csv")
    phi = _types_by(expected, "PHI", "server", "api", "direction")
    pii = _types_by(expected, "PII", "server", "api", "direction")
    assert len(got) == len(phi) == 1
    line = got[0]
    key = (line["server"], line["api"], line["direction"])
    assert key == ("10.0.2.30:80", "GET /api/v1/patients/{id}", "response")
    assert set(line["phi_data_types"].split(";")) == phi[key]
    assert set(line["with_identifiers"].split(";")) == pii[key] == {"PERSON_NAME", "US_SSN"}
    assert int(line["fields"]) == sum(1 for e in expected if e["category"] == "PHI")
    assert line["external"] == "yes"


def test_gdpr_article30_per_api(scanned: Scanned, expected: list[dict[str, str]]) -> None:
    got = {r["api"]: r for r in _read(scanned[2] / "gdpr-article30.csv")}
    pii = _types_by(expected, "PII", "api")
    phi = _types_by(expected, "PHI", "api")
    assert set(got) == {api for (api,) in pii} | {api for (api,) in phi}
    assert "POST /v1/users/{id}/cards" not in got  # card data and secrets only: not personal data here
    for api, line in got.items():
        assert set(filter(None, line["personal_data_categories"].split(";"))) == pii.get((api,), set())
        assert set(filter(None, line["special_categories"].split(";"))) == phi.get((api,), set())
        rows = [e for e in expected if e["api"] == api and e["category"] in ("PII", "PHI")]
        directions = {e["direction"] for e in rows}
        server, host = rows[0]["server"], rows[0]["host"]
        assert ("server " + f"{host} ({server})" in line["recipients"]) == ("request" in directions)
        assert ("clients (" in line["recipients"]) == ("response" in directions)
        outside = server in EXTERNAL_SERVERS
        assert line["transfer_outside_internal"] == ("yes" if outside else "no")
        assert line["egress_destinations"] == (f"{server} ({host})" if outside else "")
        assert line["first_seen"] == min(e["first_seen"] for e in rows)
        assert line["last_seen"] == max(e["last_seen"] for e in rows)


def test_views_carry_no_value_and_no_sample(scanned: Scanned, expected: list[dict[str, str]]) -> None:
    text = "".join(p.read_text(encoding="utf-8") for p in scanned[2].iterdir())
    for sample in {e["sample"] for e in expected}:
        assert sample not in text
    assert "*" not in text
    # Raw values of the sample capture (samples/make_samples.py): card and SSN digits.
    for digits in ("4111111111111111", "372-81-5526"):
        assert digits not in text


def test_default_networks_nothing_leaves(tmp_path: Path, scanned: Scanned) -> None:
    out = tmp_path / "d"
    assert main(["report", str(scanned[0]), "--html", str(tmp_path / "r.html"), "--compliance-dir", str(out), "-q"]) == 0
    assert {r["transfer_outside_internal"] for r in _read(out / "gdpr-article30.csv")} == {"no"}
    assert {r["external"] for r in _read(out / "pci-scope.csv")} == {"no"}


def test_unwritable_compliance_dir_is_a_one_line_error(
    tmp_path: Path, scanned: Scanned, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    code = main(["report", str(scanned[0]), "--html", str(tmp_path / "r.html"), "--compliance-dir", str(blocker / "d")])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0] and str(blocker / "d") in err[0]


def test_report_has_the_three_sections(scanned: Scanned) -> None:
    html = scanned[1].read_text(encoding="utf-8")
    for table_id, name in (("pci-scope", "pci-scope.csv"), ("phi-flows", "hipaa-phi-flows.csv"),
                           ("gdpr-article30", "gdpr-article30.csv")):
        assert f'<h2 id="h-{table_id}">' in html
        body = re.search(rf'<table class="sortable" id="{table_id}">.*?<tbody[^>]*>(.*?)</tbody>', html)
        assert body is not None
        assert body.group(1).count("<tr") == len(_read(scanned[2] / name))


_PROBE = """<script>
function counts(c){document.getElementById('f-category').value=c;
 document.getElementById('f-category').dispatchEvent(new Event('change'));
 return ['pci-scope','phi-flows','gdpr-article30'].map(function(t){var b=document.getElementById(t).tBodies[0];
  return [...b.rows].filter(r=>r.style.display!=='none').length;}).join('/');}
var out={all:counts(''),pci:counts('PCI'),phi:counts('PHI'),
 headings:[...document.querySelectorAll('h2')].map(h=>h.textContent)};
document.body.setAttribute('data-compliance',JSON.stringify(out));
</script></body>"""


def test_chromium_shows_the_sections_and_filters_them(
    chromium: str, scanned: Scanned, tmp_path: Path  # noqa: F811 - the fixture
) -> None:
    probe = tmp_path / "probe.html"
    probe.write_text(scanned[1].read_text(encoding="utf-8").replace("</body>", _PROBE), encoding="utf-8")
    result = _chromium(chromium, tmp_path / "profile", "--dump-dom", probe.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'data-ready="1"' in result.stdout
    match = re.search(r'data-compliance="([^"]*)"', result.stdout)
    assert match is not None, "the probe did not run"
    got = json.loads(match.group(1).replace("&quot;", '"'))
    pci, phi, gdpr = (_read(scanned[2] / n) for n in ("pci-scope.csv", "hipaa-phi-flows.csv", "gdpr-article30.csv"))
    assert got["all"] == f"{len(pci)}/{len(phi)}/{len(gdpr)}"
    assert got["pci"] == f"{len(pci)}/0/0"
    with_phi = [r for r in gdpr if r["special_categories"]]
    assert got["phi"] == f"0/{len(phi)}/{len(with_phi)}" and with_phi
    for heading in ("PCI DSS scope", "HIPAA PHI flows", "GDPR Article 30 records"):
        assert heading in got["headings"]
